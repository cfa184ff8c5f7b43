#!/usr/bin/env python3
"""Interleaved before/after fastrel-bench runs for bench/results/dropfast-2026-11-21.md.

usage: dropfast-2026-11-21-compare.py OUT.jsonl ROUNDS BATCHES LABEL=BENCH_BINARY... -- MODEL_DIR...
Each model dir holds a variants.textproto (full + the LAT configs); every round
runs each binary on each model with --all_variants --workers -1 --json, in
alternating order, and appends one JSON line per run. Prints the median over
rounds of each variant's CPU-time speedup over the same run's full variant.
"""
import json, os, statistics, subprocess, sys

out, rounds, batches = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sep = sys.argv.index("--")
bins = [a.split("=", 1) for a in sys.argv[4:sep]]
models = sys.argv[sep + 1:]
speed = {}  # (label, model, variant) -> [speedup_cpu]
pps = {}
with open(out, "a") as f:
    for r in range(rounds):
        order = bins if r % 2 == 0 else bins[::-1]
        for m in models:
            for label, b in order:
                cmd = [b, "--model", m, "--all_variants", "--workers", "-1",
                       "--batches", batches, "--json"]
                res = json.loads(subprocess.run(cmd, check=True, capture_output=True,
                                                text=True, env=dict(os.environ)).stdout)
                f.write(json.dumps({"label": label, "round": r, "model": m,
                                    "env_cpu_max": os.environ.get("FASTREL_CPU_MAX", ""),
                                    "results": res["results"]}) + "\n")
                base = res["results"][0]["pairs_per_s_cpu"]
                for v in res["results"]:
                    key = (label, m, v["variant"])
                    speed.setdefault(key, []).append(v["pairs_per_s_cpu"] / base)
                    pps.setdefault(key, []).append(v["pairs_per_s_cpu"])
for m in models:
    print(m)
    variants = [k[2] for k in speed if k[0] == bins[0][0] and k[1] == m]
    for v in variants:
        cells = []
        for label, _ in bins:
            s = speed[(label, m, v)]
            cells.append("%s %.2fx (%s) %.0f pairs/s" % (
                label, statistics.median(s), "/".join("%.2f" % x for x in s),
                statistics.median(pps[(label, m, v)])))
        print("  %-6s " % v + " | ".join(cells))
