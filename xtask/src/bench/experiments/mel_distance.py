"""Experiment (session 16): how far each variant's WAVs are from the reference's (the same
sentences spoken whole), as the mean absolute difference of log10 mel power (80 bands, 1024-point
frames, hop 256) over the first SEC seconds and over the rest, and the first SEC seconds' level.
Unlike a sample-by-sample SNR it ignores phase, which the decoder scrambles on any last-bit
change. Needs numpy only (the evaluation venv). Result in docs/BENCHMARKS.md ("Session 16").

usage: mel_distance.py REF_DIR SEC VARIANT_DIR...   (NN.wav in each, as kokoro_bench writes)"""
import sys, glob, os, wave
import numpy as np

def read(p):
    with wave.open(p) as w:
        return np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768

def melbank(sr=24000, n_fft=1024, n=80):
    hz = lambda m: 700 * (10 ** (m / 2595) - 1)
    mel = lambda f: 2595 * np.log10(1 + f / 700)
    pts = hz(np.linspace(mel(0), mel(sr / 2), n + 2))
    bins = np.fft.rfftfreq(n_fft, 1 / sr)
    fb = np.zeros((n, len(bins)))
    for i in range(n):
        l, c, r = pts[i], pts[i + 1], pts[i + 2]
        fb[i] = np.clip(np.minimum((bins - l) / (c - l), (r - bins) / (r - c)), 0, None)
    return fb

FB = melbank()
def logmel(x):
    hop, n = 256, 1024
    if len(x) < n: x = np.pad(x, (0, n - len(x)))
    frames = np.lib.stride_tricks.sliding_window_view(x, n)[::hop] * np.hanning(n)
    p = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    return np.log10(FB @ p.T + 1e-6)

ref, sec = sys.argv[1], float(sys.argv[2])
cut = int(sec * 24000)
for var in sys.argv[3:]:
    a, b, lv = [], [], []
    for p in sorted(glob.glob(f"{ref}/*.wav")):
        q = f"{var}/{os.path.basename(p)}"
        x, y = read(p), read(q)
        m = min(len(x), len(y))
        x, y = x[:m], y[:m]
        a.append(np.mean(np.abs(logmel(x[:cut]) - logmel(y[:cut]))))
        b.append(np.mean(np.abs(logmel(x[cut:]) - logmel(y[cut:]))))
        lv.append(np.sqrt(np.mean(y[:cut] ** 2) / np.mean(x[:cut] ** 2)))
    print(f"{var}: first {sec}s {np.mean(a):.3f}  rest {np.mean(b):.3f}  level {np.median(lv):.2f}")
