"""Compare a pad-clamped model (pad_clamp.py) with its source: SNR over the aligned speech and time.

usage (evaluation venv): pad_compare.py SOURCE.onnx CLAMPED.onnx SENTENCES.txt VOICES.npz
"""
import sys, time, numpy as np, onnxruntime as ort
from kokoro_onnx.tokenizer import Tokenizer
orig, clamped, sentences = sys.argv[1], sys.argv[2], sys.argv[3]
so = ort.SessionOptions(); so.intra_op_num_threads = 2
A = ort.InferenceSession(orig, so); B = ort.InferenceSession(clamped, so)
tok = Tokenizer(); voices = np.load(sys.argv[4]); v = voices["jf_alpha"]
snrs = []; ta = tb = 0
for line in open(sentences):
    line = line.strip()
    if not line: continue
    ids = tok.tokenize(tok.phonemize(line, "en-us"))
    ids = np.array([[0, *ids, 0]], dtype=np.int64)
    style = v[ids.shape[1] - 2].reshape(1, 256).astype(np.float32)
    feed = {"tokens": ids, "style": style, "speed": np.ones(1, np.float32)}
    t = time.time(); a, da = A.run(None, feed)[:2]; ta += time.time() - t
    t = time.time(); b, db = B.run(None, feed)[:2]; tb += time.time() - t
    da = da.reshape(-1); db = db.reshape(-1)
    shift = int(da[0] - db[0]) * 600
    n = int(da[1:-1].sum()) * 600  # speech region
    x = a[int(da[0]) * 600: int(da[0]) * 600 + n]; y = b[int(db[0]) * 600: int(db[0]) * 600 + n]
    snr = 10 * np.log10((x ** 2).sum() / max(((x - y) ** 2).sum(), 1e-12))
    snrs.append(snr)
    print(f"pad {da[0]}->{db[0]} end {da[-1]}->{db[-1]} len {len(a)}->{len(b)} snr {snr:.1f} dB")
print(f"median SNR {np.median(snrs):.1f} dB min {min(snrs):.1f}; time orig {ta:.2f}s clamped {tb:.2f}s")
