#!/usr/bin/env bash
# lmhead against both peers in one command (issue 19): PyTorch 1.13 from Python (Debian's python3-torch)
# and libtorch 2.7.1 from Java through DJL 0.36.0 (peers/djl, built here first, offline).
#   1. `lmhead bench heads`: full and adaptive softmax alone, V = 33,278 and 267,735, d = 256 and 512,
#      every op; each (V, d) cell measured by lmhead, then PyTorch, then DJL, on the same inputs;
#   2. `lmhead bench train`: end-to-end training tokens/s of the 2x200 tied LSTM LM on WikiText-2.
#
#   bench/djl_peer.sh [OUT_DIR]        (default OUT_DIR: runs/bench-djl)
# Grid and extra flags can be changed through the environment, e.g. a smoke run:
#   HEADS_ARGS="--vocab 2000 --dim 32 --rows 64 --repeats 2 --max-seconds 2" \
#   TRAIN_ARGS="--steps 2 --warmup 1 --repeats 1" bench/djl_peer.sh /tmp/djl-smoke
# Writes OUT_DIR/heads.{json,md,png,txt} and OUT_DIR/train.{json,txt}.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/runs/bench-djl}"
HEADS_ARGS="${HEADS_ARGS:---vocab 33278,267735 --dim 256,512}"
TRAIN_ARGS="${TRAIN_ARGS:-}"
mkdir -p "$OUT"

echo "== building peers/djl (DJL 0.36.0, libtorch 2.7.1 cpu; Maven Central, once) ==" >&2
mvn -B -q -Dstyle.color=never -f "$ROOT/peers/djl/pom.xml" package >"$OUT/djl-build.log" 2>&1 \
  || { tail -n 30 "$OUT/djl-build.log" >&2; echo "djl_peer.sh: building peers/djl failed (log: $OUT/djl-build.log)" >&2; exit 2; }

echo "== lmhead bench heads --peer pytorch,djl $HEADS_ARGS ==" >&2
# shellcheck disable=SC2086
"$ROOT/lmhead" bench heads --heads full,adaptive $HEADS_ARGS --peer pytorch,djl \
  --markdown "$OUT/heads.md" --png "$OUT/heads.png" --json > "$OUT/heads.json"
/usr/bin/env python3 - "$OUT/heads.json" > "$OUT/heads.txt" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
ours = {(r["head"], r["vocab"], r["dim"], r["op"]): r["tokens_per_s"] for r in j["results"]}
print("tokens/s per op: lmhead | PyTorch | DJL (lmhead/PyTorch, lmhead/DJL)")
peers = {p: j.get(p) for p in ("pytorch", "djl")}
for p, v in peers.items():
    if isinstance(v, str):
        print(f"{p}: {v}")
def theirs(p, key):
    v = peers[p]
    if not isinstance(v, list): return None
    for c in v:
        if (c["vocab"], c["dim"]) == key[1:3]:
            for r in c["results"]:
                if (r["head"], r["op"]) == (key[0], key[3]): return r["tokens_per_s"]
    return None
fmt = lambda x: "-" if x is None else f"{x:,.0f}"
rat = lambda a, b: "-" if a is None or b is None else f"{a / b:.2f}x"
for key, t in ours.items():
    py, dj = theirs("pytorch", key), theirs("djl", key)
    print(f"V={key[1]} d={key[2]} {key[0]:9s} {key[3]:8s} {fmt(t):>10s} | {fmt(py):>10s} | {fmt(dj):>10s}  ({rat(t, py)}, {rat(t, dj)})")
PY
cat "$OUT/heads.txt"

echo "== lmhead bench train --peer pytorch,djl $TRAIN_ARGS ==" >&2
# shellcheck disable=SC2086
"$ROOT/lmhead" bench train --peer pytorch,djl $TRAIN_ARGS --json > "$OUT/train.json"
/usr/bin/env python3 - "$OUT/train.json" > "$OUT/train.txt" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
print(f"{j['data']}, {j['config']}; {j['threads']} threads")
print(f"lmhead : {j['lmhead_tokens_per_s']:,.0f} tokens/s")
for p, name in (("pytorch", "PyTorch"), ("djl", "DJL")):
    if f"{p}_tokens_per_s" in j:
        r = j["ratio" if p == "pytorch" else "ratio_" + p]
        print(f"{name:7s}: {j[p + '_tokens_per_s']:,.0f} tokens/s ({j[p + '_version']}, GEMM {j[p + '_gemm_gflops']:.0f} GFLOP/s); lmhead/{name} {r:.2f}x")
    else:
        print(f"{name:7s}: {j.get(p)}")
PY
cat "$OUT/train.txt"
echo "djl_peer.sh: results in $OUT" >&2
