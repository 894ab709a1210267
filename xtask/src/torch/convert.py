"""Kokoro on PyTorch from the int8 ONNX model: dequantize every initializer, map it onto the state
dict of the `kokoro` package's model (KModel's modules, built from config.json's values, no
checkpoint loaded), and export the two halves chorus runs as TorchScript.

usage: convert.py SOURCE.onnx VOCAB.json OUTDIR            convert; writes OUTDIR/{front,decoder}.pt
       convert.py SOURCE.onnx VOCAB.json OUTDIR --check-only    map and verify, write nothing

The mapping fails loudly: an initializer that no rule maps, a model parameter left without a value,
a shape that does not match, or one parameter given two different values all stop the conversion
with their names. The halves are cut where chorus cuts the ONNX graph (plugins/kokoro/src/split.rs):

  front:   tokens i64 [1, T+2], style f32 [1, 256], speed f32 [1]
           -> durations i64 [T+2], asr [1, 512, F], F0 [1, 2F], N [1, 2F], phase [1, 2F, 9]
  decoder: asr, F0, N, phase (any number of frames), style -> audio f32 [600 F]

As in the ONNX graph, the harmonic source has no random initial phase and no additive noise, so
both halves are deterministic.
"""
import json, math, os, sys, types

import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn.functional as F

# Kokoro-82M's config.json (hexgrad/Kokoro-82M), less the vocabulary, which comes from vocab.json.
CONFIG = {
    "istftnet": {
        "upsample_kernel_sizes": [20, 12], "upsample_rates": [10, 6], "gen_istft_hop_size": 5,
        "gen_istft_n_fft": 20, "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
        "resblock_kernel_sizes": [3, 7, 11], "upsample_initial_channel": 512,
    },
    "dim_in": 64, "dropout": 0.2, "hidden_dim": 512, "max_conv_dim": 512, "max_dur": 50,
    "multispeaker": True, "n_layer": 3, "n_mels": 80, "n_token": 178, "style_dim": 128,
    "text_encoder_kernel_size": 5,
    "plbert": {"hidden_size": 768, "num_attention_heads": 12, "intermediate_size": 2048,
               "max_position_embeddings": 512, "num_hidden_layers": 12, "dropout": 0.1},
}


class MappingError(Exception):
    pass


def import_kokoro():
    """The kokoro package's model modules, without its __init__ (which imports the G2P pipeline)."""
    if "kokoro" not in sys.modules:
        for base in sys.path:
            path = os.path.join(base, "kokoro")
            if os.path.isfile(os.path.join(path, "model.py")):
                pkg = types.ModuleType("kokoro")
                pkg.__path__ = [path]
                sys.modules["kokoro"] = pkg
                break
        else:
            raise MappingError("the kokoro package (kokoro==0.9.4) is not installed in this Python")
    from kokoro.model import KModel
    from kokoro.modules import CustomAlbert, ProsodyPredictor, TextEncoder
    from kokoro.istftnet import Decoder
    from transformers import AlbertConfig
    return KModel, CustomAlbert, ProsodyPredictor, TextEncoder, Decoder, AlbertConfig


def build_kmodel(vocab):
    """KModel's modules as KModel.__init__ builds them, with no weights loaded and weight norm
    removed (the ONNX graph holds the folded weights)."""
    KModel, CustomAlbert, ProsodyPredictor, TextEncoder, Decoder, AlbertConfig = import_kokoro()
    c = CONFIG
    model = KModel.__new__(KModel)
    torch.nn.Module.__init__(model)
    model.repo_id = "hexgrad/Kokoro-82M"
    model.vocab = vocab
    model.bert = CustomAlbert(AlbertConfig(vocab_size=c["n_token"], **c["plbert"]))
    model.bert_encoder = torch.nn.Linear(model.bert.config.hidden_size, c["hidden_dim"])
    model.context_length = model.bert.config.max_position_embeddings
    model.predictor = ProsodyPredictor(style_dim=c["style_dim"], d_hid=c["hidden_dim"], nlayers=c["n_layer"],
                                       max_dur=c["max_dur"], dropout=c["dropout"])
    model.text_encoder = TextEncoder(channels=c["hidden_dim"], kernel_size=c["text_encoder_kernel_size"],
                                     depth=c["n_layer"], n_symbols=c["n_token"])
    model.decoder = Decoder(dim_in=c["hidden_dim"], style_dim=c["style_dim"], dim_out=c["n_mels"],
                            disable_complex=False, **c["istftnet"])
    for module in model.modules():
        if hasattr(module, "weight_g"):
            torch.nn.utils.remove_weight_norm(module)
    return model.eval()


# ONNX node scopes whose path differs from the parameter's (the exporter flattened F0Ntrain).
SCOPES = [("encoder/F0.", "predictor.F0."), ("encoder/N.", "predictor.N."), ("encoder/F0_proj", "predictor.F0_proj"),
          ("encoder/N_proj", "predictor.N_proj"), ("encoder/shared", "predictor.shared"),
          ("encoder/", ""), ("decoder/decoder/", "decoder.")]
NAMES = [("encoder.", ""), ("decoder.decoder.", "decoder.")]

# ONNX LSTM gate blocks are (input, output, forget, cell); PyTorch's are (input, forget, cell, output).
LSTM_ORDER = [0, 2, 3, 1]


def rename(name, table):
    for old, new in table:
        if name.startswith(old):
            return new + name[len(old):]
    return None


def module_of(node_name):
    """`/decoder/decoder/generator/resblocks.0/convs1.0/Conv_quant` -> `decoder.generator.resblocks.0.convs1.0`."""
    parts = []
    for p in node_name.strip("/").split("/")[:-1]:
        if parts and p.startswith(parts[-1] + "."):
            parts[-1] = p  # nn.Sequential scopes repeat their parent: cnn.0/cnn.0.0 is cnn.0.0
        else:
            parts.append(p)
    scope = "/".join(parts)
    mapped = rename(scope + "/", SCOPES)
    if mapped is None:
        return None
    mapped = mapped.rstrip("/").replace("/", ".")
    # ALBERT's one shared layer is called 12 times: attention_3, ffn_output_11, LayerNorm_2 ... are calls of it.
    return ".".join(p.rsplit("_", 1)[0] if p.rsplit("_", 1)[-1].isdigit() and "albert" not in p else p
                    for p in mapped.split("."))


class Onnx:
    def __init__(self, path):
        self.model = onnx.load(path)
        g = self.model.graph
        self.inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        self.consumers, self.producer = {}, {}
        for n in g.node:
            for i in n.input:
                self.consumers.setdefault(i, []).append(n)
            for o in n.output:
                self.producer[o] = n
        self.used = set()

    def take(self, name):
        self.used.add(name)
        return self.inits[name]

    def dequant(self, q, scale, zero):
        q, s, z = self.take(q).astype(np.float32), self.take(scale), self.take(zero).astype(np.float32)
        return q, s, z

    def weight_scale(self, node):
        """The float scale of an integer matmul/conv's weight: the initializer multiplied with the
        activation's scale in the Mul that rescales this node's output."""
        out = node.output[0]
        for _ in range(4):
            nxt = self.consumers.get(out, [])
            if len(nxt) != 1:
                break
            n = nxt[0]
            if n.op_type == "Mul":
                other = [i for i in n.input if i != out][0]
                if other in self.inits:
                    return other
                mul = self.producer[other]
                names = [i for i in mul.input if i in self.inits]
                if mul.op_type == "Mul" and len(names) == 1:
                    return names[0]
                break
            out = n.output[0]
        raise MappingError(f"{node.name}: cannot find its weight's scale")


def collect(src):
    """Every parameter value the ONNX graph holds, keyed by KModel state-dict name."""
    found = {}

    def put(key, value, origin):
        value = np.ascontiguousarray(value, dtype=np.float32)
        if key in found and not (found[key][0].shape == value.shape and np.array_equal(found[key][0], value)):
            raise MappingError(f"{key} gets two different values: from {found[key][1]} and from {origin}")
        found[key] = (value, origin)

    for n in src.model.graph.node:
        ins = list(n.input)
        if n.op_type in ("ConvInteger", "MatMulInteger") and ins[1] in src.inits:
            module = module_of(n.name)
            if module is None:
                raise MappingError(f"{n.name}: no rule maps its scope to a module")
            scale = src.weight_scale(n)
            q, s, z = src.dequant(ins[1], scale, ins[3])
            if n.op_type == "ConvInteger":
                w = (q - z.reshape(-1, *[1] * (q.ndim - 1))) * s.reshape(-1, *[1] * (q.ndim - 1))
            else:
                w = ((q - z) * s).T  # MatMul holds [in, out]; nn.Linear [out, in]
            put(module + ".weight", w, ins[1])
        elif n.op_type in ("Conv", "ConvTranspose") and ins[1] in src.inits:
            module = module_of(n.name)
            if module is None or module.endswith("stft"):
                continue  # the iSTFT's basis: a function of n_fft, checked in constants()
            put(module + ".weight", src.take(ins[1]), ins[1])
        elif n.op_type == "MatMul" and ins[1] in src.inits:
            module = module_of(n.name)
            put(module + ".weight", src.take(ins[1]).T, ins[1])
        elif n.op_type == "DequantizeLinear" and ins[0] not in src.inits:
            # An embedding gathered then dequantized: the table is the Gather's data.
            gather = src.producer[ins[0]]
            table = gather.input[0]
            key = rename(table.replace("_quantized", ""), NAMES)
            q, s, z = src.dequant(table, ins[1], ins[2])
            put(key, (q - z) * s, table)
        elif n.op_type == "DynamicQuantizeLSTM":
            module = module_of(n.name)
            hidden = next(a.i for a in n.attribute if a.name == "hidden_size")
            for d, suffix in enumerate(["", "_reverse"]):
                for which, (q_in, s_in, z_in) in (("ih", (1, 8, 9)), ("hh", (2, 10, 11))):
                    q, s, z = src.dequant(ins[q_in], ins[s_in], ins[z_in])
                    w = ((q[d] - z[d]) * s[d]).T.reshape(4, hidden, -1)[LSTM_ORDER].reshape(4 * hidden, -1)
                    put(f"{module}.weight_{which}_l0{suffix}", w, ins[q_in])
                b = src.take(ins[3])[d].reshape(2, 4, hidden)[:, LSTM_ORDER].reshape(2, 4 * hidden)
                put(f"{module}.bias_ih_l0{suffix}", b[0], ins[3])
                put(f"{module}.bias_hh_l0{suffix}", b[1], ins[3])
    # Float initializers that keep their parameter's name (biases, norms, Snake alphas).
    for name, value in src.inits.items():
        key = rename(name, NAMES)
        if key is not None and value.dtype == np.float32 and not name.endswith(("_scale", "_zero_point")) and ".stft." not in key:
            put(key, src.take(name), name)
    return found


def constants(src, model):
    """Initializers that are not parameters: shapes, axes, zero points and scales already used,
    and the float constants the exporter made from the config; each is checked, not trusted."""
    unexplained = []
    n_fft = CONFIG["istftnet"]["gen_istft_n_fft"]
    for name, value in src.inits.items():
        if name in src.used:
            continue
        if value.dtype != np.float32:
            continue  # int64 shapes, axes, pads, splits; uint8 zero points of activations
        if value.size == 1:
            continue  # scalar factors of the traced code: 2, pi, 300, 24000, eps, leaky slopes
        if name.endswith("inverse_basis") and value.shape == (n_fft + 2, 1, n_fft):
            continue  # the iSTFT's basis: torch.istft computes it from n_fft and the Hann window
        if name.endswith("window_sum") and value.shape == (n_fft,):
            continue
        flat = value.reshape(-1)
        if np.all(flat == 1) or np.all(flat == 0):
            continue  # LayerNorm's unit gain and zero shift of AdaLayerNorm; masks
        if name == "/decoder/decoder/generator/m_source/l_sin_gen/Constant_output_0" and np.array_equal(flat, np.arange(1, 10)):
            continue  # harmonic numbers 1..9
        if all(c.op_type == "Resize" for c in src.consumers.get(name, [])) and value.shape == (3,):
            continue  # scale factors of Resize (upsampling by 2 or 300, downsampling by 1/300)
        if value.shape == (n_fft,) and np.allclose(flat, torch.hann_window(n_fft).numpy(), atol=1e-6):
            continue  # the STFT's Hann window
        snake = reciprocal_of(name, value, model)
        if snake is not None:
            if snake:
                continue  # 1 / alpha of a Snake activation, checked against the alpha mapped
            unexplained.append((name + " (not 1/alpha of its Snake)", value.shape))
            continue
        unexplained.append((name, value.shape))
    return unexplained


def reciprocal_of(name, value, model):
    """None when `name` is not a folded Snake reciprocal; else whether it equals 1/alpha."""
    parts = name.strip("/").split("/")
    if len(parts) != 5 or not parts[4].startswith("Reciprocal"):
        return None
    k = parts[4][len("Reciprocal"):].split("_output")[0].lstrip("_")
    k = int(k or 0)
    key = f"decoder.generator.{parts[3]}.alpha{1 + k % 2}.{k // 2}"
    alpha = model.state_dict().get(key)
    return alpha is not None and np.allclose(value, 1 / alpha.numpy(), rtol=1e-5)


def load(onnx_path, vocab_path):
    vocab = json.load(open(vocab_path, encoding="utf-8"))
    vocab = vocab.get("vocab", vocab)
    model = build_kmodel(vocab)
    src = Onnx(onnx_path)
    found = collect(src)
    state = model.state_dict()
    # InstanceNorm's affine terms: KModel keeps them at 1 and 0 (the checkpoint has none).
    defaults = {k for k in state if ".norm.weight" in k or ".norm.bias" in k}
    # ALBERT's position ids and token type ids are buffers, not weights.
    buffers = {k for k in state if k.endswith(("position_ids", "token_type_ids"))}
    # ALBERT's pooler: CustomAlbert returns the last hidden state, so no graph computes it.
    buffers |= {"bert.pooler.weight", "bert.pooler.bias"}
    unknown = sorted(k for k in found if k not in state)
    if unknown:
        raise MappingError("values for no parameter of KModel: " + ", ".join(f"{k} (from {found[k][1]})" for k in unknown[:20]))
    missing = sorted(k for k in state if k not in found and k not in defaults | buffers)
    if missing:
        raise MappingError("KModel parameters the ONNX model gives no value: " + ", ".join(missing[:20]))
    for k, (value, origin) in found.items():
        if tuple(state[k].shape) != value.shape:
            raise MappingError(f"{k}: shape {tuple(state[k].shape)} but {origin} gives {value.shape}")
        state[k] = torch.from_numpy(value)
    model.load_state_dict(state)
    unexplained = constants(src, model)
    if unexplained:
        raise MappingError("initializers no rule maps: " + ", ".join(f"{n} {list(s)}" for n, s in unexplained[:40]))
    return model, len(found)


class Front(torch.nn.Module):
    """Tokens, style, speed -> durations and the decoder's frame-rate inputs (KModel.forward_with_tokens
    up to the decoder, plus the harmonic source's phase)."""

    def __init__(self, m):
        super().__init__()
        self.bert, self.bert_encoder, self.predictor, self.text_encoder = m.bert, m.bert_encoder, m.predictor, m.text_encoder
        self.generator_scale = 300  # samples per F0 step: prod(upsample_rates) * hop
        self.sr = 24000

    def forward(self, tokens, style, speed):
        T = tokens.shape[1]
        input_lengths = torch.full((1,), T, dtype=torch.long)
        text_mask = torch.zeros((1, T), dtype=torch.bool)
        bert_dur = self.bert(tokens, attention_mask=(~text_mask).int())
        d_en = self.bert_encoder(bert_dur).transpose(-1, -2)
        s = style[:, 128:]
        d = self.predictor.text_encoder(d_en, s, input_lengths, text_mask)
        x, _ = self.predictor.lstm(d)
        duration = self.predictor.duration_proj(x)
        duration = torch.sigmoid(duration).sum(dim=-1) / speed
        durations = torch.round(duration).clamp(min=1).long().reshape(-1)
        indices = torch.repeat_interleave(torch.arange(T), durations)
        aln = torch.zeros((T, indices.shape[0]))
        aln[indices, torch.arange(indices.shape[0])] = 1
        aln = aln.unsqueeze(0)
        en = d.transpose(-1, -2) @ aln
        f0, n = self.predictor.F0Ntrain(en, s)
        t_en = self.text_encoder(tokens, input_lengths, text_mask)
        asr = t_en @ aln
        # The harmonic source's phase (SineGen._f02sine up to its cumsum), at F0's rate.
        up = F.interpolate(f0.unsqueeze(1), scale_factor=float(self.generator_scale), mode="nearest").transpose(1, 2)
        harmonics = torch.arange(1, 10, dtype=torch.float32).reshape(1, 1, 9)
        rad = (up * harmonics / self.sr) % 1
        rad = F.interpolate(rad.transpose(1, 2), scale_factor=1.0 / self.generator_scale, mode="linear").transpose(1, 2)
        phase = torch.cumsum(rad, dim=1)
        return durations, asr, f0, n, phase


class Back(torch.nn.Module):
    """asr, F0, N, phase (a window of frames), style -> audio: KModel's decoder with the source's
    phase given."""

    def __init__(self, m):
        super().__init__()
        self.decoder = m.decoder
        g = m.decoder.generator
        self.g = g
        self.scale = 300
        self.n_fft = CONFIG["istftnet"]["gen_istft_n_fft"]
        self.hop = CONFIG["istftnet"]["gen_istft_hop_size"]
        self.register_buffer("window", torch.hann_window(self.n_fft), persistent=False)

    def generator(self, x, s, f0, phase):
        g = self.g
        up = F.interpolate(f0.unsqueeze(1), scale_factor=float(self.scale), mode="nearest").transpose(1, 2)
        uv = (up > 10).float()
        ph = F.interpolate(phase.transpose(1, 2) * 2 * math.pi * self.scale, scale_factor=float(self.scale), mode="linear").transpose(1, 2)
        sines = torch.sin(ph) * 0.1 * uv
        har_source = torch.tanh(g.m_source.l_linear(sines)).transpose(1, 2).squeeze(1)
        spec = torch.stft(har_source, self.n_fft, self.hop, self.n_fft, window=self.window, return_complex=True)
        har = torch.cat([spec.abs(), torch.angle(spec)], dim=1)
        for i in range(2):
            x = F.leaky_relu(x, negative_slope=0.1)
            x_source = g.noise_convs[i](har)
            x_source = g.noise_res[i](x_source, s)
            x = g.ups[i](x)
            if i == 1:
                x = g.reflection_pad(x)
            x = x + x_source
            xs = g.resblocks[i * 3](x, s) + g.resblocks[i * 3 + 1](x, s) + g.resblocks[i * 3 + 2](x, s)
            x = xs / 3
        x = F.leaky_relu(x)
        x = g.conv_post(x)
        mag = torch.exp(x[:, : self.n_fft // 2 + 1, :])
        ang = torch.sin(x[:, self.n_fft // 2 + 1 :, :])
        return torch.istft(torch.polar(mag, ang), self.n_fft, self.hop, self.n_fft, window=self.window)

    def forward(self, asr, f0_curve, n, phase, style):
        dec = self.decoder
        s = style[:, :128]
        f0 = dec.F0_conv(f0_curve.unsqueeze(1))
        nn_ = dec.N_conv(n.unsqueeze(1))
        x = torch.cat([asr, f0, nn_], dim=1)
        x = dec.encode(x, s)
        asr_res = dec.asr_res(asr)
        res = True
        for block in dec.decode:
            if res:
                x = torch.cat([x, asr_res, f0, nn_], dim=1)
            x = block(x, s)
            if block.upsample_type != "none":
                res = False
        return self.generator(x, s, f0_curve, phase).reshape(-1)


def export(model, outdir):
    front, back = Front(model).eval(), Back(model).eval()
    tokens = torch.tensor([[0] + [43, 102, 56, 16, 156, 47, 83, 68, 16, 102, 44, 51, 158] + [0]], dtype=torch.long)
    style = torch.randn(1, 256) * 0.1
    speed = torch.tensor([1.0])
    with torch.no_grad():
        traced_front = torch.jit.trace(front, (tokens, style, speed), check_trace=False)
        _, asr, f0, n, phase = front(tokens, style, speed)
        traced_back = torch.jit.trace(back, (asr, f0, n, phase, style), check_trace=False)
    os.makedirs(outdir, exist_ok=True)
    for name, module in (("front.pt", traced_front), ("decoder.pt", traced_back)):
        tmp = os.path.join(outdir, name + ".partial")
        module.save(tmp)
        os.replace(tmp, os.path.join(outdir, name))


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 3:
        sys.exit(__doc__)
    src, vocab, outdir = args
    try:
        model, mapped = load(src, vocab)
    except MappingError as e:
        sys.exit(f"convert.py: {e}")
    if "--check-only" in sys.argv:
        print(f"convert.py: {mapped} parameters mapped, every initializer accounted for")
        return
    torch.set_grad_enabled(False)
    export(model, outdir)
    print(f"convert.py: {mapped} parameters mapped; wrote {outdir}/front.pt and {outdir}/decoder.pt")


if __name__ == "__main__":
    main()
