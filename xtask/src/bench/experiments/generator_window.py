"""Experiment (session 4): decode the frame-rate part of Kokoro's decoder on the whole chunk and only
the generator on a 16-frame window, against the whole decoder on the window: how loud each comes
out against the same frames decoded with the whole chunk. Result in docs/BENCHMARKS.md.

usage (evaluation venv, with onnx): generator_window.py MODEL.onnx VOICES.npz SENTENCES.txt
"""
import onnx, numpy as np, onnxruntime as ort, time
from onnx.utils import Extractor
from kokoro_onnx.tokenizer import Tokenizer
import sys
V_MODEL, V_VOICES, SENTENCES = sys.argv[1:4]
ASR, F0, N = "/encoder/MatMul_1_output_0", "/encoder/Reshape_output_0", "/encoder/Reshape_1_output_0"
PH = "/decoder/decoder/generator/m_source/l_sin_gen/CumSum_output_0"
X = "/decoder/decoder/decode.3/Div_4_output_0"
e = Extractor(onnx.load(V_MODEL))
so = ort.SessionOptions(); so.intra_op_num_threads = 2
A = ort.InferenceSession(e.extract_model(["tokens", "style", "speed"], ["/encoder/Cast_output_0", ASR, F0, N, PH]).SerializeToString(), so)
C = ort.InferenceSession(e.extract_model([ASR, F0, N, "style"], [X]).SerializeToString(), so)
G = ort.InferenceSession(e.extract_model([X, F0, PH, "style"], ["audio"]).SerializeToString(), so)
B = ort.InferenceSession(e.extract_model([ASR, F0, N, PH, "style"], ["audio"]).SerializeToString(), so)
voices, tok = np.load(V_VOICES), Tokenizer()
lines = [l.strip() for l in open(SENTENCES) if l.strip()][:8]
W = 16
for L in (8, 100):
  r1, r2, tc, tg = [], [], 0, 0
  for text in lines:
    ids = tok.tokenize(tok.phonemize(text, "en-us"))
    style = voices["jf_alpha"][len(ids)].astype(np.float32)
    d, asr, f0, n, ph = A.run(None, {"tokens": np.array([[0, *ids, 0]], np.int64), "style": style, "speed": np.array([1.0], np.float32)})
    d = d[0]; F = int(d.sum()); head, tail = int(d[0]) - 1, F - int(d[-1]) + 2
    s0, e0 = max(0, head - 8), min(F, tail + 8)
    whole = B.run(None, {ASR: asr[:, :, s0:e0], F0: f0[:, 2*s0:2*e0], N: n[:, 2*s0:2*e0], PH: ph[:, 2*s0:2*e0], "style": style})[0][(head - s0) * 600:][:W * 600]
    t = time.perf_counter()
    x = C.run(None, {ASR: asr[:, :, s0:e0], F0: f0[:, 2*s0:2*e0], N: n[:, 2*s0:2*e0], "style": style})[0]
    tc += time.perf_counter() - t
    # window on the generator only: x sliced at 80 Hz (relative to s0)
    w0, w1 = max(s0, head - L), min(e0, head + W + 8)
    t = time.perf_counter()
    win = G.run(None, {X: x[:, :, 2*(w0-s0):2*(w1-s0)], F0: f0[:, 2*w0:2*w1], PH: ph[:, 2*w0:2*w1], "style": style})[0][(head - w0) * 600:][:W * 600]
    tg += time.perf_counter() - t
    full = G.run(None, {X: x, F0: f0[:, 2*s0:2*e0], PH: ph[:, 2*s0:2*e0], "style": style})[0][(head - s0) * 600:][:W * 600]
    plain = B.run(None, {ASR: asr[:, :, w0:w1], F0: f0[:, 2*w0:2*w1], N: n[:, 2*w0:2*w1], PH: ph[:, 2*w0:2*w1], "style": style})[0][(head - w0) * 600:][:W * 600]
    rms = lambda a: np.sqrt((a**2).mean())
    assert np.abs(full - whole).max() < 1e-5, np.abs(full - whole).max()
    r1.append(rms(win) / rms(whole)); r2.append(rms(plain) / rms(whole))
  print(f"L={L} generator-only window {np.mean(r1):.2f} ({min(r1):.2f}-{max(r1):.2f}); whole-decoder window {np.mean(r2):.2f} ({min(r2):.2f}-{max(r2):.2f}); C time {tc:.2f}s G-window time {tg:.2f}s")
