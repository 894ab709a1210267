"""Experiment (session 4): how loud a short decoder window comes out against the same frames decoded
with the whole chunk, for several amounts of context before and after it. The graph is cut as the
plugin cuts it (src/split.rs) with onnx's extractor; phonemes from kokoro-onnx's tokenizer.
Result in docs/BENCHMARKS.md ("Decoder windows").

usage (evaluation venv, with onnx): preview_level.py MODEL.onnx VOICES.npz SENTENCES.txt
"""
import sys, numpy as np, onnx, onnxruntime as ort
from onnx.utils import Extractor
from kokoro_onnx.tokenizer import Tokenizer

FEATURES = ["/encoder/MatMul_1_output_0", "/encoder/Reshape_output_0", "/encoder/Reshape_1_output_0",
            "/decoder/decoder/generator/m_source/l_sin_gen/CumSum_output_0"]
AXES = [2, 1, 1, 1]; PER_FRAME = [1, 2, 2, 2]
model_path, voices_path, sentences = sys.argv[1:4]
e = Extractor(onnx.load(model_path))
front = ort.InferenceSession(e.extract_model(["tokens", "style", "speed"], ["/encoder/Cast_output_0"] + FEATURES).SerializeToString())
decoder = ort.InferenceSession(e.extract_model(FEATURES + ["style"], ["audio"]).SerializeToString())
voices, tok = np.load(voices_path), Tokenizer()

def decode(style, feats, s, t):
    feed = {"style": style}
    for name, x, axis, k in zip(FEATURES, feats, AXES, PER_FRAME):
        feed[name] = np.take(x, range(s * k, t * k), axis=axis)
    return decoder.run(None, feed)[0]

W = 16
lines = [l.strip() for l in open(sentences) if l.strip()][:8]
data = []
for text in lines:
    ids = tok.tokenize(tok.phonemize(text, "en-us"))
    style = voices["jf_alpha"][len(ids)].astype(np.float32)
    d, *feats = front.run(None, {"tokens": np.array([[0, *ids, 0]], np.int64), "style": style, "speed": np.array([1.0], np.float32)})
    data.append((style, d[0], feats))
for before, after in [(0, 8), (2, 8), (8, 8), (8, 24), (100, 8), (100, 16)]:
    ratios = []
    for style, d, feats in data:
        F = int(d.sum()); head, tail = int(d[0]) - 1, F - int(d[-1]) + 2
        s = max(0, head - 8)
        whole = decode(style, feats, s, min(F, tail + 8))[(head - s) * 600:][:W * 600]
        s = max(0, head - before)
        window = decode(style, feats, s, min(F, head + W + after))[(head - s) * 600:][:W * 600]
        ratios.append(np.sqrt((window ** 2).mean() / (whole ** 2).mean()))
    print(f"context before {before:3d} after {after:2d}: window/whole RMS {np.mean(ratios):.2f} "
          f"(min {min(ratios):.2f}, max {max(ratios):.2f})")
