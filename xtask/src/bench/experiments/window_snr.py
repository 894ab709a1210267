"""Experiment (session 10): how far a windowed decoding is from the whole-sentence one. For each
NN.wav in DIR against REFERENCE/NN.wav (the same sentence, front and decoder on it at once; the
front is the same, so the samples line up): SNR in dB over the first FIRST_S seconds and over the
rest, and the first stretch's level against the reference's. Prints per file and the medians.
Result in docs/BENCHMARKS.md ("Session 10").

usage (evaluation venv): window_snr.py REFERENCE DIR [FIRST_S]
"""
import sys, glob, os, wave
import numpy as np

def read(path):
    with wave.open(path) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768.0

def snr(ref, x):
    noise = np.sum((ref - x) ** 2)
    return 10 * np.log10(np.sum(ref ** 2) / max(noise, 1e-12))

ref_dir, test_dir = sys.argv[1:3]
first = int(float(sys.argv[3] if len(sys.argv) > 3 else 0.6) * 24000)
rows = []
for path in sorted(glob.glob(os.path.join(test_dir, "*.wav"))):
    ref, x = read(os.path.join(ref_dir, os.path.basename(path))), read(path)
    n = min(len(ref), len(x))
    if len(ref) != len(x):
        print(f"{os.path.basename(path)}: lengths differ ({len(x)} against {len(ref)})")
    ref, x = ref[:n], x[:n]
    head = (snr(ref[:first], x[:first]), snr(ref[first:], x[first:]),
            np.sqrt(np.mean(x[:first] ** 2) / max(np.mean(ref[:first] ** 2), 1e-12)))
    rows.append(head)
    print(f"{os.path.basename(path)}: first {head[0]:6.1f} dB  rest {head[1]:6.1f} dB  first level {head[2]:.2f}")
a = np.array(rows)
print(f"median: first {np.median(a[:, 0]):.1f} dB, rest {np.median(a[:, 1]):.1f} dB, first level {np.median(a[:, 2]):.2f}")
