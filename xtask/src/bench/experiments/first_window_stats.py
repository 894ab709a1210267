"""Experiment (session 13): where a first decoder window's audio departs from the whole sentence's.

`extract` cuts the original int8 graph (needs the `onnx` package) into DIR/front.onnx,
DIR/dec.onnx (the decoder), DIR/pre.onnx (the decoder's frame-rate half: encode, decode.0-3) and
DIR/gen.onnx (the generator). `probe` and `split` run in the evaluation venv (onnxruntime and
kokoro-onnx's tokenizer) on the first N sentences, pads trimmed to 8 frames as chorus does, and
print the SNR and level of the first W frames against the same frames decoded with the whole
sentence:
- `probe`: the decoder on the first W + C frames, plus K probes of P frames spread over the rest
  of the sentence (for the norms' statistics; K = 0 for none);
- `split`: the frame-rate half on the whole sentence, the generator on the first W + C frames.
Result in docs/BENCHMARKS.md ("Session 13 ... longer first windows").

usage: first_window_stats.py extract MODEL DIR
       first_window_stats.py probe DIR VOICES SENTENCES W C K P N
       first_window_stats.py split DIR VOICES SENTENCES W C N
"""
import sys

FEATURES = ["/encoder/MatMul_1_output_0", "/encoder/Reshape_output_0", "/encoder/Reshape_1_output_0",
            "/decoder/decoder/generator/m_source/l_sin_gen/CumSum_output_0"]
AXES, PER_FRAME = [2, 1, 1, 1], [1, 2, 2, 2]
DURATIONS = "/encoder/Cast_output_0"
GENERATOR_INPUT = "/decoder/decoder/decode.3/Div_4_output_0"
SAMPLES_PER_FRAME = 600


def extract(model, out):
    import onnx
    from onnx.utils import Extractor
    e = Extractor(onnx.load(model))
    for name, ins, outs in [("front", ["tokens", "style", "speed"], [DURATIONS] + FEATURES),
                            ("dec", FEATURES + ["style"], ["audio"]),
                            ("pre", FEATURES + ["style"], [GENERATOR_INPUT]),
                            ("gen", [GENERATOR_INPUT] + FEATURES + ["style"], ["audio"])]:
        onnx.save(e.extract_model(ins, outs), f"{out}/{name}.onnx")


def cut(a, axis, lo, hi):
    idx = [slice(None)] * a.ndim
    idx[axis] = slice(lo, hi)
    return a[tuple(idx)]


def pieces(feats, ranges):
    import numpy as np
    return {n: np.concatenate([cut(f, ax, lo * pf, hi * pf) for lo, hi in ranges], axis=ax)
            for n, f, ax, pf in zip(FEATURES, feats, AXES, PER_FRAME)}


def measure(mode, d, voices, sentences, w, c, k, p, n):
    import numpy as np, onnxruntime as ort
    from kokoro_onnx.tokenizer import Tokenizer
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    s = {m: ort.InferenceSession(f"{d}/{m}.onnx", so) for m in ["front", "dec", "pre", "gen"]}
    voice = np.load(voices)["jf_alpha"]
    tok = Tokenizer()
    rows = []
    for line in [l.strip() for l in open(sentences) if l.strip()][:n]:
        ids = tok.tokenize(tok.phonemize(line, "en-us"))
        style = voice[len(ids)].astype(np.float32).reshape(1, -1)
        out = s["front"].run(None, {"tokens": np.array([[0, *ids, 0]], dtype=np.int64), "style": style,
                                    "speed": np.ones(1, np.float32)})
        dur, feats = out[0].reshape(-1), out[1:]
        frames = feats[0].shape[2]
        lo, hi = max(int(dur[0]) - 8, 0), frames - max(int(dur[-1]) - 8, 0)
        feats = [cut(f, ax, lo * pf, hi * pf) for f, ax, pf in zip(feats, AXES, PER_FRAME)]
        frames = hi - lo
        whole = pieces(feats, [(0, frames)])
        ref = s["dec"].run(None, {**whole, "style": style})[0].reshape(-1)
        if mode == "probe":
            ranges = [(0, w + c)]
            if k:
                ranges += [(a, a + p) for a in np.linspace(w + c, frames - p, k).astype(int)]
            got = s["dec"].run(None, {**pieces(feats, ranges), "style": style})[0].reshape(-1)
        else:
            x = s["pre"].run(None, {**whole, "style": style})[0]
            steps = x.shape[2] // frames
            got = s["gen"].run(None, {GENERATOR_INPUT: x[:, :, :(w + c) * steps], **pieces(feats, [(0, w + c)]),
                                      "style": style})[0].reshape(-1)
        m = w * SAMPLES_PER_FRAME
        r, g = ref[:m], got[:m]
        rows.append((10 * np.log10(np.sum(r ** 2) / max(np.sum((r - g) ** 2), 1e-12)),
                     np.sqrt(np.mean(g ** 2) / np.mean(r ** 2))))
        print("%d frames: %.1f dB, level %.2f" % (frames, *rows[-1]), flush=True)
    print("median: %.1f dB, level %.2f" % tuple(np.median(np.array(rows), axis=0)))


if __name__ == "__main__":
    a = sys.argv[1:]
    if a[0] == "extract":
        extract(a[1], a[2])
    elif a[0] == "probe":
        measure("probe", a[1], a[2], a[3], *map(int, a[4:9]))
    else:
        w, c, n = map(int, a[4:7])
        measure("split", a[1], a[2], a[3], w, c, 0, 0, n)
