"""Sum ONNX Runtime profiles by operator: where a session's time went.

Run the plugin with CHORUS_KOKORO_PROFILE=/tmp/prof (each session writes /tmp/prof_<date>.json when
it is dropped; the decoder's is the largest), e.g.
  CHORUS_KOKORO_PROFILE=/tmp/prof target/release/examples/kokoro_bench SENTENCES.txt OUT jf_alpha
then: python3 profile_ops.py /tmp/prof_*.json [TOP]
"""
import collections, json, sys

paths = [p for p in sys.argv[1:] if p.endswith(".json")]
top = int(next((a for a in sys.argv[1:] if a.isdigit()), "15"))
for path in paths:
    time, count = collections.Counter(), collections.Counter()
    for event in json.load(open(path)):
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            time[event["args"]["op_name"]] += event["dur"]
            count[event["args"]["op_name"]] += 1
    total = sum(time.values())
    print(f"{path}: {total / 1000:.1f} ms in nodes")
    for op, us in time.most_common(top):
        print(f"  {op:24s} {us / total * 100:5.1f} %  {us / 1000:9.1f} ms  {count[op]:6d} runs")
