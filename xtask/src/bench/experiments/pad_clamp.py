"""Experiment (not used by chorus): cap the pad tokens' predicted durations (first and last of a
run) at K units with a Min after /encoder/Cast_output_0. Result in docs/BENCHMARKS.md.

usage (evaluation venv, which has onnx): pad_clamp.py SOURCE.onnx DEST.onnx K
then pad_compare.py SOURCE.onnx DEST.onnx SENTENCES.txt VOICES.npz
"""
import sys, numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto
src, dest, K = sys.argv[1], sys.argv[2], int(sys.argv[3])
m = onnx.load(src); g = m.graph
D = "/encoder/Cast_output_0"; RAW = D + "_unclamped"
for n in g.node:
    for i, o in enumerate(n.output):
        if o == D: n.output[i] = RAW
def c(name, v): g.initializer.append(numpy_helper.from_array(np.array(v, dtype=np.int64), name))
c("pc_k", K); c("pc_big", np.iinfo(np.int64).max); c("pc_zero", 0); c("pc_one", 1)
nodes = [
    helper.make_node("Shape", [RAW], ["pc_shape"]),
    helper.make_node("Gather", ["pc_shape", "pc_one"], ["pc_T"], axis=0),
    helper.make_node("Range", ["pc_zero", "pc_T", "pc_one"], ["pc_r"]),
    helper.make_node("Sub", ["pc_T", "pc_one"], ["pc_last"]),
    helper.make_node("Equal", ["pc_r", "pc_zero"], ["pc_is0"]),
    helper.make_node("Equal", ["pc_r", "pc_last"], ["pc_isL"]),
    helper.make_node("Or", ["pc_is0", "pc_isL"], ["pc_edge"]),
    helper.make_node("Where", ["pc_edge", "pc_k", "pc_big"], ["pc_cap"]),
    helper.make_node("Min", [RAW, "pc_cap"], [D]),
]
# insert right after the producer of RAW to keep topological order
idx = next(i for i, n in enumerate(g.node) if RAW in n.output)
for j, n in enumerate(nodes): g.node.insert(idx + 1 + j, n)
if D not in [o.name for o in g.output]: g.output.append(helper.make_tensor_value_info(D, TensorProto.INT64, None))
onnx.save(m, dest)
