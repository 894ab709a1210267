"""Derive a float-convolution Kokoro model from the int8 one: every dynamically quantized convolution
(DynamicQuantizeLinear -> ConvInteger [-> Add of the bias quantized at run time] -> Cast -> Mul by
the scales) becomes a float Conv on the dequantized weights, fed by the same quantized activations (DequantizeLinear) and the same rounded
bias, so it computes nearly the sums ConvInteger did. The quantized MatMul/LSTM parts are left as
they are. An experiment: on the AVX2 CPU measured, ConvInteger is the faster kernel.

usage: derive.py SOURCE.onnx DEST.onnx     (writes DEST atomically; prints a one-line summary)
"""
import os, sys
import numpy as np
import onnx
from onnx import helper, numpy_helper

KEEP = "/encoder/Cast_output_0"  # the per-token durations the plugin exposes for word timestamps


def main():
    src, dest = sys.argv[1:3]
    model = onnx.load(src)
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    consumers = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    producer = {out: node for node in graph.node for out in node.output}

    def const(name):
        if name in inits:
            return numpy_helper.to_array(inits[name])
        node = producer.get(name)
        if node is not None and node.op_type == "Constant":
            return numpy_helper.to_array(node.attribute[0].t)
        return None

    remove, add, new_inits, rewritten = set(), [], [], 0
    for node in list(graph.node):
        if node.op_type != "ConvInteger":
            continue
        x_q, w_name = node.input[0], node.input[1]
        w_zp_name = node.input[3] if len(node.input) > 3 else ""
        dql = producer.get(x_q)
        users = consumers.get(node.output[0], [])
        if dql is None or dql.op_type != "DynamicQuantizeLinear" or len(users) != 1:
            continue
        # With a bias, the int32 sum adds Reshape(Cast(Floor(Div(bias, scale)))) before the Cast.
        bias, bias_add = None, None
        if users[0].op_type == "Add":
            bias_add = users[0]
            other = bias_add.input[1] if bias_add.input[0] == node.output[0] else bias_add.input[0]
            chain = producer.get(other)
            for op in ("Reshape", "Cast", "Floor", "Div"):
                if chain is None or chain.op_type != op:
                    chain = None
                    break
                if op != "Div":
                    chain = producer.get(chain.input[0])
            bias = const(chain.input[0]) if chain is not None else None
            if bias is None:
                continue
            users = consumers.get(bias_add.output[0], [])
            if len(users) != 1:
                continue
        if users[0].op_type != "Cast":
            continue
        cast = users[0]
        muls = consumers.get(cast.output[0], [])
        if len(muls) != 1 or muls[0].op_type != "Mul":
            continue
        mul = muls[0]
        scale_name = mul.input[1] if mul.input[0] == cast.output[0] else mul.input[0]
        scale_mul = producer.get(scale_name)
        if scale_mul is None or scale_mul.op_type != "Mul":
            continue
        # scale = x_scale * w_scale: the operand that is not the DynamicQuantizeLinear scale is w_scale.
        w_scale_name = scale_mul.input[1] if scale_mul.input[0] == dql.output[1] else scale_mul.input[0]
        w, w_scale = const(w_name), const(w_scale_name)
        w_zp = const(w_zp_name) if w_zp_name else np.zeros((), dtype=np.int32)
        if w is None or w_scale is None or w_zp is None:
            continue
        shape = (-1,) + (1,) * (w.ndim - 1)
        w_float = (w.astype(np.float32) - np.asarray(w_zp, dtype=np.float32).reshape(shape if np.ndim(w_zp) else ())) \
            * np.asarray(w_scale, dtype=np.float32).reshape(shape if np.ndim(w_scale) else ())
        w_float_name = w_name + "_dequantized"
        new_inits.append(numpy_helper.from_array(w_float.astype(np.float32), w_float_name))
        # The activations stay quantized exactly as before (DequantizeLinear of the same uint8
        # values), so the float Conv computes the same sums as ConvInteger; only its kernel changes.
        base = node.name + "_float"
        x_deq = base + "_x"
        new_nodes = [helper.make_node("DequantizeLinear", [dql.output[0], dql.output[1], dql.output[2]], [x_deq], name=base + "_dq")]
        conv_out = mul.output[0] if bias_add is None else base + "_out"
        conv = helper.make_node("Conv", [x_deq, w_float_name], [conv_out], name=base)
        conv.attribute.extend(node.attribute)
        new_nodes.append(conv)
        if bias_add is not None:
            # The bias as the int8 graph applied it: its int32 rounding, times the same scale.
            bias_q = bias_add.input[1] if bias_add.input[0] == node.output[0] else bias_add.input[0]
            new_nodes += [
                helper.make_node("Cast", [bias_q], [base + "_bias_f"], to=onnx.TensorProto.FLOAT, name=base + "_bias_cast"),
                helper.make_node("Mul", [base + "_bias_f", scale_name], [base + "_bias"], name=base + "_bias_scale"),
                helper.make_node("Add", [conv_out, base + "_bias"], [mul.output[0]], name=base + "_bias_add"),
            ]
            remove.add(id(bias_add))
        add.append((mul, new_nodes))
        remove.update([id(node), id(cast), id(mul)])
        rewritten += 1

    if rewritten == 0:
        sys.exit("derive: no DynamicQuantizeLinear -> ConvInteger -> Cast -> Mul chain found; is this the int8 Kokoro model?")
    # Put each Conv where its Mul was, so the node order stays topological.
    replacement = {id(mul): new_nodes for mul, new_nodes in add}
    nodes = []
    for node in graph.node:
        if id(node) in replacement:
            nodes.extend(replacement[id(node)])
        elif id(node) not in remove:
            nodes.append(node)
    graph.ClearField("node")
    graph.node.extend(nodes)
    graph.initializer.extend(new_inits)
    prune(graph)
    if not any(KEEP in n.output for n in graph.node):
        sys.exit(f"derive: the rewrite lost {KEEP}, which word timestamps need")
    tmp = dest + ".tmp"
    onnx.save(model, tmp)
    onnx.checker.check_model(tmp)
    os.replace(tmp, dest)
    print(f"derive: {rewritten} ConvInteger -> Conv, {os.path.getsize(dest) / 1e6:.0f} MB written to {dest}")


def prune(graph):
    """Drop nodes and initializers nothing uses any more (scale multiplies, quantizers, int8 weights)."""
    outputs = {o.name for o in graph.output}
    while True:
        used = set(outputs)
        for node in graph.node:
            used.update(node.input)
        keep = [n for n in graph.node if any(o in used for o in n.output)]
        if len(keep) == len(graph.node):
            break
        graph.ClearField("node")
        graph.node.extend(keep)
    used = set(outputs)
    for node in graph.node:
        used.update(node.input)
    inits = [i for i in graph.initializer if i.name in used]
    graph.ClearField("initializer")
    graph.initializer.extend(inits)


main()
