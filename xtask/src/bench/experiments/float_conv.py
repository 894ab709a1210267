"""Speed experiment (not used by chorus): every DynamicQuantizeLinear -> ConvInteger -> Cast -> Mul
chain of the int8 Kokoro model becomes a float Conv on dequantized weights with float activations;
with mode float2d the 1-D convolutions are also rewritten as 2-D (Unsqueeze/Squeeze around a
[1, k] kernel) so ONNX Runtime's NCHWc kernels can take them; fq1d/fq2d keep the activations'
quantization (DequantizeLinear of DynamicQuantizeLinear's output before the float Conv).
Results in docs/BENCHMARKS.md.

usage (evaluation venv, which has onnx): float_conv.py SOURCE.onnx DEST.onnx float1d|float2d|fq1d|fq2d
then compare_models.py SOURCE.onnx DEST.onnx ...
"""
import sys, numpy as np, onnx
from onnx import helper, numpy_helper
src, dest, mode = sys.argv[1], sys.argv[2], sys.argv[3]  # mode: float1d | float2d | fq1d | fq2d
model = onnx.load(src); g = model.graph
print("opset", [(o.domain, o.version) for o in model.opset_import])
inits = {i.name: i for i in g.initializer}
cons = {}
for n in g.node:
    for i in n.input: cons.setdefault(i, []).append(n)
prod = {o: n for n in g.node for o in n.output}
def const(name):
    if name in inits: return numpy_helper.to_array(inits[name])
    n = prod.get(name)
    if n is not None and n.op_type == "Constant": return numpy_helper.to_array(n.attribute[0].t)
axes = numpy_helper.from_array(np.array([2], dtype=np.int64), "axes_2"); g.initializer.append(axes)
remove, repl, new_inits, cnt = set(), {}, [], 0
for node in list(g.node):
    if node.op_type != "ConvInteger": continue
    dql = prod.get(node.input[0]); users = cons.get(node.output[0], [])
    if dql is None or dql.op_type != "DynamicQuantizeLinear" or len(users) != 1: continue
    bias_add = None; bias = None
    if users[0].op_type == "Add":
        bias_add = users[0]; other = bias_add.input[1] if bias_add.input[0] == node.output[0] else bias_add.input[0]
        ch = prod.get(other)
        for op in ("Reshape", "Cast", "Floor", "Div"):
            if ch is None or ch.op_type != op: ch = None; break
            if op != "Div": ch = prod.get(ch.input[0])
        bias = const(ch.input[0]) if ch is not None else None
        if bias is None: continue
        users = cons.get(bias_add.output[0], [])
    if len(users) != 1 or users[0].op_type != "Cast": continue
    cast = users[0]; muls = cons.get(cast.output[0], [])
    if len(muls) != 1 or muls[0].op_type != "Mul": continue
    mul = muls[0]; sname = mul.input[1] if mul.input[0] == cast.output[0] else mul.input[0]
    sm = prod.get(sname)
    wsn = sm.input[1] if sm.input[0] == dql.output[1] else sm.input[0]
    w = const(node.input[1]); ws = const(wsn); wzp = const(node.input[3]) if len(node.input) > 3 and node.input[3] else np.zeros(())
    shape = (-1,) + (1,) * (w.ndim - 1)
    wf = (w.astype(np.float32) - np.asarray(wzp, np.float32).reshape(shape if np.ndim(wzp) else ())) * np.asarray(ws, np.float32).reshape(shape if np.ndim(ws) else ())
    base = node.name + "_f"; x = dql.input[0]; nn = []
    if mode.startswith("fq"):
        nn.append(helper.make_node("DequantizeLinear", [dql.output[0], dql.output[1], dql.output[2]], [base + "_xdq"])); x = base + "_xdq"
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    two = mode.endswith("2d") and w.ndim == 3
    if two:
        wf = wf[:, :, None, :]
        nn.append(helper.make_node("Unsqueeze", [x, "axes_2"], [base + "_x4"])); x = base + "_x4"
        for k in ("kernel_shape", "strides", "dilations"):
            if k in attrs: attrs[k] = [1] + list(attrs[k])
        if "pads" in attrs: p = list(attrs["pads"]); attrs["pads"] = [0, p[0], 0, p[1]]
    wn = node.input[1] + "_deq"; new_inits.append(numpy_helper.from_array(wf.astype(np.float32), wn))
    ins = [x, wn]
    if bias is not None:
        bn = base + "_b"; new_inits.append(numpy_helper.from_array(bias.astype(np.float32).reshape(-1), bn)); ins.append(bn)
    out = mul.output[0] if not two else base + "_y4"
    nn.append(helper.make_node("Conv", ins, [out], name=base, **attrs))
    if two: nn.append(helper.make_node("Squeeze", [out, "axes_2"], [mul.output[0]]))
    repl[id(mul)] = nn; remove.update([id(node), id(cast), id(mul)]); cnt += 1
    if bias_add is not None: remove.add(id(bias_add))
nodes = []
for n in g.node:
    if id(n) in repl: nodes.extend(repl[id(n)])
    elif id(n) not in remove: nodes.append(n)
g.ClearField("node"); g.node.extend(nodes); g.initializer.extend(new_inits)
outs = {o.name for o in g.output}
while True:
    used = set(outs)
    for n in g.node: used.update(n.input)
    keep = [n for n in g.node if any(o in used for o in n.output)]
    if len(keep) == len(g.node): break
    g.ClearField("node"); g.node.extend(keep)
used = set(outs)
for n in g.node: used.update(n.input)
ii = [i for i in g.initializer if i.name in used]; g.ClearField("initializer"); g.initializer.extend(ii)
onnx.save(model, dest); print(mode, cnt, "rewritten")
