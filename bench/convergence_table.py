#!/usr/bin/python3
"""The README's convergence tables from the rows bench/convergence.sh has finished so far.

    bench/convergence_table.py [OUT_DIR]      # default runs/wt2-convergence

Reads OUT_DIR/*/result.json (written by `lmhead compare` when a head finishes) and the lr of each epoch
from its metrics.jsonl; prints the 6-epoch table (test ppl relative to the tied full softmax, and valid ppl
relative to it at the last epoch end where neither had had an lr cut yet) and the
equal-time table (each head's best model after 12 and 20 minutes of training). Heads still running are
listed as such. Only the standard library: runs where the convergence study ran.
"""
import glob
import json
import math
import os
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else "runs/wt2-convergence"

NAMES = {
    "adaptive/input=adaptive": "adaptive input + tied adaptive softmax (div 4)",
    "adaptive/input=adaptive/div-value=1": "adaptive input + tied adaptive softmax, div 1",
    "adaptive": "adaptive softmax (div 4)",
    "full": "full softmax (tied)",
    "full/tie=false": "full softmax (untied)",
    "class": "class (√V frequency bins)",
    "sampled": "sampled softmax (tied, 1,024 log-uniform)",
    "nce": "NCE (tied, k 1,024, log Z = ln V)",
    "hsm/tree=huffman": "hsm, Huffman tree",
    "hsm/tree=balanced": "hsm, balanced tree",
    "dsoftmax": "differentiated softmax",
}


def minutes(s):
    return f"{s / 60:.1f} min"


def lrs(run):
    """The lr of each epoch, e.g. '20 → 5 (ep 5)' when the plateau schedule cut it."""
    out, last = [], None
    path = os.path.join(run, "metrics.jsonl")
    if not os.path.exists(path):
        return ""
    for line in open(path):
        o = json.loads(line)
        if o.get("event") == "epoch":
            if o["lr"] != last:
                out.append(f"{o['lr']:g}" + (f" (ep {o['epoch']})" if last is not None else ""))
                last = o["lr"]
    return " → ".join(out)


def epochs(run):
    """[(epoch, lr, valid ppl)] of a run's epoch ends."""
    path = os.path.join(run, "metrics.jsonl")
    if not os.path.exists(path):
        return []
    return [(o["epoch"], o["lr"], o["valid_ppl"]) for o in map(json.loads, open(path)) if o.get("event") == "epoch"]


def uncut(run, full_run):
    """Valid ppl against the full softmax's at the last epoch both ran at their first lr: '+20.1% (ep 5)'."""
    mine, ref = epochs(run), {e: v for e, lr, v in epochs(full_run) if lr == epochs(full_run)[0][1]}
    if not mine:
        return ""
    last = [(e, v) for e, lr, v in mine if lr == mine[0][1] and e in ref]
    if not last:
        return ""
    e, v = last[-1]
    return f"{(v / ref[e] - 1) * 100:+.1f}% (ep {e})"


def main():
    rows = {}
    for f in glob.glob(os.path.join(OUT, "*", "result.json")):
        r = json.load(open(f))
        rows[r["head"]] = (r, os.path.dirname(f))
    full = next((r for h, (r, _) in rows.items() if h.startswith("full/")), None)
    full_run = next((d for h, (_, d) in rows.items() if h.startswith("full/")), "")
    ref = full["test_ppl"] if full else math.nan

    def key(h):
        base = h.rpartition("/lr=")[0]
        order = list(NAMES)
        return order.index(base) if base in order else len(order)

    print("| head | lr (epoch of a cut) | parameters | valid ppl | test ppl | test vs full | valid vs full before any cut | train time | train tokens/s | peak heap MB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for h in sorted(rows, key=key):
        r, run = rows[h]
        base = h.rpartition("/lr=")[0]
        rel = (r["test_ppl"] / ref - 1) * 100
        print(f"| {NAMES.get(base, base)} | {lrs(run)} | {r['parameters']:,} | {r['valid_ppl']:.2f} | {r['test_ppl']:.2f} | "
              f"{rel:+.1f}% | {uncut(run, full_run)} | {minutes(r['train_seconds'])} | {r['train_tokens_per_s']:,.0f} | {r['peak_heap_mb']:,.0f} |")
    print()
    print("| head | valid / test at 12 min | tokens by 12 min | valid / test at 20 min | tokens by 20 min |")
    print("|---|---:|---:|---:|---:|")
    for h in sorted(rows, key=key):
        r, _ = rows[h]
        base = h.rpartition("/lr=")[0]
        cells = []
        for at in ("12m", "20m"):
            s = next((s for s in r.get("snapshots", []) if s["at"] == at), None)
            if s is None:
                cells += ["", ""]
                continue
            # a run that ended before the snapshot time: its final model, at its own end
            tokens = min(s["train_tokens"], r["train_tokens"])
            cells += [f"{s['valid_ppl']:.2f} / {s['test_ppl']:.2f}", f"{tokens:,}"]
        print(f"| {NAMES.get(base, base)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
