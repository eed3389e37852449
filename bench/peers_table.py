#!/usr/bin/python3
"""One table of `lmhead bench heads` runs against PyTorch and DJL (issue 19), from their --json files.

    bench/peers_table.py HEADS.json [HEADS.json ...] [--train TRAIN.json ...] > table.md

Each heads file is one `lmhead bench heads --json` run; every peer in it (pytorch, djl) is compared with
lmhead's figure *of the same run* (a ratio is never formed across runs). Per (V, d, head, op): lmhead's
tokens/s and % of its machine limit in each run, each peer's tokens/s and lmhead/peer. Train files are
`lmhead bench train --json` runs (end to end, with their peers). Only the standard library.
"""
import json
import sys

heads, trains = [], []
dest = heads
for a in sys.argv[1:]:
    if a == "--train":
        dest = trains
        continue
    dest.append(json.load(open(a)))

PEERS = {"pytorch": "PyTorch", "djl": "DJL"}
measured = lambda run, p: isinstance(run.get(p), list) and any(c.get("status") == "ok" for c in run[p])
fmt = lambda x: f"{x:,.0f}"
cols, rows = [], {}
for i, run in enumerate(heads):
    ours = {(r["head"], r["vocab"], r["dim"], r["op"]): r for r in run["results"] if r["status"] == "ok"}
    peers = [p for p in PEERS if measured(run, p)]
    for p in peers:
        cols.append((i, p))
        for cell in run[p]:
            if cell.get("status") != "ok":
                continue
            for r in cell["results"]:
                key = (r["head"], cell["vocab"], cell["dim"], r["op"])
                if key in ours:
                    rows.setdefault(key, {})[(i, p)] = (ours[key], r["tokens_per_s"])
    if not peers:
        cols.append((i, None))
        for key, o in ours.items():
            rows.setdefault(key, {})[(i, None)] = (o, None)

print("Output layers alone, N = 2,048 rows; tokens/s = N / median seconds per call; each ratio within one run.\n")
for i, run in enumerate(heads):
    peers = ", ".join(f"{PEERS[p]} {run[p][0].get('torch', '')} (sgemm {min(c['gemm_gflops'] for c in run[p])}–"
                      f"{max(c['gemm_gflops'] for c in run[p])} GFLOP/s)" for p in PEERS if measured(run, p))
    print(f"- run {i + 1}: {run['date'][:16].replace('T', ' ')} UTC, {run['cpu']}, {run['threads']} threads, lmhead sgemm "
          f"{run['gemm_gflops']:.0f} GFLOP/s on the logits shape, {run['sgemm_square_gflops']:.0f} on 2048³; "
          f"up to {run['options']['repeats']} timed calls per cell; peers: {peers or 'none'}")
head = "| V | d | head | op |"
sep = "|---:|---:|---|---|"
for i, p in cols:
    if p:
        head += f" lmhead (run {i + 1}) | % of limit | {PEERS[p]} | lmhead / {PEERS[p]} |"
        sep += "---:|---:|---:|---:|"
    else:
        head += f" lmhead (run {i + 1}) | % of limit |"
        sep += "---:|---:|"
print()
print(head)
print(sep)
order = {"train": 0, "loss": 1, "logprob": 2, "top1": 3, "top10": 4}
for key in sorted(rows, key=lambda k: (k[1], k[2], k[0] != "full", k[0], order.get(k[3], 9))):
    h, v, d, op = key
    line = f"| {v:,} | {d} | {h} | {op} |"
    for c in cols:
        if c not in rows[key]:
            line += " | | | |" if c[1] else " | |"
            continue
        o, t = rows[key][c]
        line += f" {fmt(o['tokens_per_s'])} | {100 * o['limit_fraction']:.0f}% |"
        if c[1]:
            line += f" {fmt(t)} | {o['tokens_per_s'] / t:.2f}x |"
    print(line)

if trains:
    print("\nEnd to end (`lmhead bench train`): forward + backward + clip + SGD over bptt windows, median of the repeats.\n")
    print("| config | lmhead tokens/s | % of limit | limit tokens/s | PyTorch | lmhead / PyTorch | DJL | lmhead / DJL |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for t in trains:
        py = t.get("pytorch_tokens_per_s")
        dj = t.get("djl_tokens_per_s")
        ours = t["lmhead_tokens_per_s"]
        line = f"| {t['config']} | {fmt(ours)} | {100 * t['limit_fraction']:.0f}% | {fmt(t['limit_tokens_per_s'])} |"
        for peer in (py, dj):
            line += f" {fmt(peer)} | {ours / peer:.2f}x |" if peer else " - | - |"
        print(line)
