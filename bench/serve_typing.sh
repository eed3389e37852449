#!/usr/bin/env bash
# The server's state cache on typing traffic (issue 18): POST /v1/next from 64 clients that each type through the
# WikiText-2 validation text (contexts of 5, 6, ... 20 words from a random start, one request per word:
# bench/ServeLoad.java --workload typing), for the full and the adaptive head at V = 33,278 and V = 267,735 (the
# models of bench/serve_load.sh, which creates them), with the state cache off (--state-cache-mb 0) and on (64 MB,
# the default), batched (the defaults). The two settings alternate per model, ROUNDS times, each a fresh server
# after its synthetic warm-up (SERVE_WARMUP, default 30 s); per server a 5 s warm-up and 3 windows of SECONDS.
#
#   bench/serve_typing.sh [OUT_DIR] [SECONDS_PER_WINDOW] [ROUNDS]        # default runs/serve-typing 5 2 (~15 minutes)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="${1:-runs/serve-typing}"
SECS="${2:-5}"
ROUNDS="${3:-2}"
WARMUP="${SERVE_WARMUP:-30}"
PORT="${SERVE_LOAD_PORT:-18732}"
mkdir -p "$OUT"
./lmhead build
source <(sed -n '/^jdk_major()/,/^}/p; /^find_jdk()/,/^}/p' ./lmhead)
JAVA="$(find_jdk)/bin/java"
for model in serve-full serve-adaptive serve-full-267k serve-adaptive-267k; do
  [[ -f runs/$model/model.safetensors ]] || { echo "runs/$model missing: run bench/serve_load.sh first (it creates the models)" >&2; exit 1; }
done
RESULTS="$OUT/results.jsonl"
: > "$RESULTS"
SERVER_PID=""
cleanup() { [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null || true; }
trap cleanup EXIT
for round in $(seq 1 "$ROUNDS"); do
  for model in serve-full serve-adaptive serve-full-267k serve-adaptive-267k; do
    for mb in 0 64; do
      ./lmhead serve --model "runs/$model" --port "$PORT" --warmup "$WARMUP" --state-cache-mb "$mb" 2> "$OUT/$model-cache$mb-r$round.server.log" &
      SERVER_PID=$!
      echo "== round $round, $model, state cache $mb MB, server pid $SERVER_PID" >&2
      "$JAVA" bench/ServeLoad.java --url "http://127.0.0.1:$PORT" --clients 64 --seconds "$SECS" --warmup 5 --repeat 3 \
          --max-requests 100000 --workload typing --label "$model/cache$mb" | tee -a "$RESULTS"
      kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
    done
  done
done
python3 - "$RESULTS" > "$OUT/table.md" <<'PY'
import json, statistics, sys
w = {}
for l in open(sys.argv[1]):
    if l.strip():
        r = json.loads(l)
        w.setdefault(r["label"], []).append(r)
med = lambda xs: statistics.median(xs)
print("| model | state cache | requests/s (median window) | range | p50 ms | p99 ms | contexts continued | contexts per pass | model busy | errors |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for label, ws in w.items():
    rps = [x["rps"] for x in ws]
    print(f"| {label.split('/')[0]} | {label.split('/')[1].replace('cache0', 'off').replace('cache64', 'on, 64 MB')} | {med(rps):,.1f} | "
          f"{min(rps):,.0f}–{max(rps):,.0f} | {med([x['p50_ms'] for x in ws]):.1f} | {med([x['p99_ms'] for x in ws]):.1f} | "
          f"{med([x['cache_prefix'] + x['cache_whole'] for x in ws]):.0%} | {med([x['contexts_per_pass'] for x in ws]):.1f} | "
          f"{med([x['model_busy'] for x in ws]):.0%} | {sum(x['errors'] for x in ws)} |")
m = {label: med([x["rps"] for x in ws]) for label, ws in w.items()}
for v in ["", "-267k"]:
    for c in ["cache0", "cache64"]:
        a, f = m.get(f"serve-adaptive{v}/{c}"), m.get(f"serve-full{v}/{c}")
        if a and f: print(f"\nadaptive / full{v or ' (V = 33,278)'}, {c}: {a / f:.2f}x", end="")
print()
PY
cat "$OUT/table.md"
