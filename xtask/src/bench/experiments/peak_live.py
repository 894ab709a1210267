"""The decoder's peak live set: which tensors are alive together when a run holds the most.

Run the plugin with CHORUS_KOKORO_PROFILE=/tmp/prof (see profile_ops.py), then
  python peak_live.py /tmp/prof_<decoder>.json <data>/kokoro/derived/<...>.decoder-optimized.onnx [TOP]
with the evaluation environment's python (it needs the `onnx` package). Sizes are ONNX Runtime's
per-node `output_size` from the profile's last run; a value dies after the last node reading it,
in the profile's execution order.
"""
import json, sys

import onnx

profile, model_path = sys.argv[1:3]
top = int(sys.argv[3]) if len(sys.argv) > 3 else 10
events = [e for e in json.load(open(profile)) if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")]
names = [e["name"][: -len("_kernel_time")] for e in events]
run_start = max(i for i, n in enumerate(names) if n == names[0])  # the last run
order = names[run_start:]
size = {n: int(e["args"].get("output_size", 0)) for n, e in zip(order, events[run_start:])}

graph = onnx.load(model_path, load_external_data=False).graph
nodes = {n.name: n for n in graph.node}
graph_outputs = {o.name for o in graph.output}
last_read, producer = {}, {}
for i, name in enumerate(order):
    node = nodes.get(name)
    if node is None:
        continue
    for value in node.input:
        last_read[value] = i
    for value in node.output:
        producer[value] = node.op_type

live, peak = {}, (0, -1, {})
for i, name in enumerate(order):
    node = nodes.get(name)
    if node is None:
        continue
    outputs = [o for o in node.output if o]
    for value in outputs:
        live[value] = size.get(name, 0) / max(len(outputs), 1)
    total = sum(live.values())
    if total > peak[0]:
        peak = (total, i, dict(live))
    for value in [v for v in live if last_read.get(v, -1) <= i and v not in graph_outputs]:
        del live[value]

total, at, values = peak
print(f"{len(order)} nodes; peak live {total / 1e6:.1f} MB at node {at} ({order[at]})")
for value, bytes_ in sorted(values.items(), key=lambda kv: -kv[1])[:top]:
    print(f"  {bytes_ / 1e6:7.1f} MB  {producer.get(value, '?'):14s} {value}")
