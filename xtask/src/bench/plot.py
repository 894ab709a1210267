"""Plots for docs/BENCHMARKS.md from the results JSON written by `cargo xtask bench`.

usage: plot.py RESULTS.json OUTDIR   -> OUTDIR/bench_ttfa.png, OUTDIR/bench_throughput.png
"""
import json, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

results, outdir = json.load(open(sys.argv[1])), sys.argv[2]
series = [("peer (kokoro-onnx)", results["peer_dev"], "tab:red"),
          ("chorus serve (first pcm byte)", results["serve_dev"], "tab:blue"),
          ("chorus library", results["library_dev"], "tab:green")]

fig, ax = plt.subplots(figsize=(9, 4.5))
for label, s, color in series:
    ax.plot(range(len(s["first_ms"])), s["first_ms"], marker="o", label=label, color=color)
ax.set_xlabel("sentence of dev_en.txt")
ax.set_ylabel("time to first audio (ms)")
ax.set_title("Time to first audio per sentence (lower is better)")
ax.set_ylim(bottom=0)
ax.grid(alpha=0.3)
ax.legend()
fig.tight_layout()
fig.savefig(f"{outdir}/bench_ttfa.png", dpi=110)

fig, ax = plt.subplots(figsize=(8, 4.5))
groups = [("dev set", "dev"), ("long passage", "long")]
width = 0.25
for i, (label, key, color) in enumerate([("peer", "peer", "tab:red"), ("chorus serve", "serve", "tab:blue"), ("chorus library", "library", "tab:green")]):
    values = [(results.get(f"{key}_{g}") or {}).get("x_realtime", 0) for _, g in groups]
    bars = ax.bar([x + (i - 1) * width for x in range(len(groups))], values, width, label=label, color=color)
    ax.bar_label(bars, fmt="%.1f")
ax.set_xticks(range(len(groups)), [g for g, _ in groups])
ax.set_ylabel("audio seconds per wall second")
ax.set_title("Throughput (higher is better)")
ax.legend()
fig.tight_layout()
fig.savefig(f"{outdir}/bench_throughput.png", dpi=110)
print(f"plots written to {outdir}")
