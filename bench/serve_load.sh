#!/usr/bin/env bash
# Load test of 'lmhead serve' (issue 18): requests/s and p50/p99 latency of POST /v1/next (k = 10, contexts of
# 5-20 WikiText-2 validation words) at 1, 8 and 64 concurrent clients, for the full and the adaptive head at
# V = 33,278 (2x200 LSTM trained briefly on WikiText-2) and V = 267,735 (untrained, bench/UntrainedModel.java),
# with dynamic batching (--max-batch 64 --max-wait-ms 2) and one request at a time (--max-batch 1). The servers run
# without their state cache (--state-cache-mb 0): the 4,096 contexts are cycled, and a cache would find most of them
# whole, measuring the cache instead of the model (--typing below measures the cache on typing traffic).
#
#   bench/serve_load.sh [OUT_DIR] [SECONDS_PER_WINDOW]        # default runs/serve-load 5; writes table.md and load.png
#   bench/serve_load.sh --typing [OUT_DIR] [SECONDS_PER_WINDOW] [ROUNDS]         # default runs/serve-typing 5 2 (~15 minutes)
#   bench/serve_load.sh --typing-batch [OUT_DIR] [SECONDS_PER_WINDOW] [ROUNDS]   # default runs/serve-typing-batch 5 2
#
# --typing: the server's state cache on typing traffic: POST /v1/next from 64 clients that each type through the
# validation text (contexts of 5, 6, ... 20 words from a random start, one request per word: ServeLoad's
# --workload typing), every model above, batched (the defaults), with the state cache off (--state-cache-mb 0) and on
# (64 MB, the default), alternating per model ROUNDS times, each a fresh server after its warm-up.
# --typing-batch: the same traffic with the state cache on (the default), batched (the defaults) against one request
# at a time (--max-batch 1 --max-wait-ms 0), alternating per model ROUNDS times.
#
# Loopback only; every run is bounded. Each server first runs 30 s of lmhead serve's synthetic warm-up (--warmup 30,
# SERVE_WARMUP to change: the JIT needs 20-40 s of traffic to reach its final code for the V = 267,735 full softmax,
# whose slow passes run the LSTM code rarely); then per level a 5 s warm-up and 3 measured windows of SECONDS (at
# most 100,000 requests each); the table gives the median window and the range. The load client is ServeLoad's
# default raw-socket client (about 0.1-0.2 of a core here; --client jdk, java.net.http, took about 0.55).
# Missing models are created first (about 3 + 1 minutes of training, then the untrained V = 267,735 ones).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TYPING=0
# the two server variants a typing run alternates: label and flags
VARIANT_A=(cache0 --state-cache-mb 0) VARIANT_B=(cache64 --state-cache-mb 64) NAME=serve-typing
case "${1:-}" in
  --typing) TYPING=1; shift ;;
  --typing-batch) TYPING=1; shift; VARIANT_A=(batch --max-batch 64 --max-wait-ms 2) VARIANT_B=(one --max-batch 1 --max-wait-ms 0) NAME=serve-typing-batch ;;
esac
OUT="${1:-runs/$([[ $TYPING == 1 ]] && echo $NAME || echo serve-load)}"
SECS="${2:-5}"
ROUNDS="${3:-2}"
WARMUP="${SERVE_WARMUP:-30}"
PORT="${SERVE_LOAD_PORT:-18731}"
mkdir -p "$OUT"
./lmhead build
# the JDK >= 25 that ./lmhead uses (its own finder, sourced)
source <(sed -n '/^jdk_major()/,/^}/p; /^find_jdk()/,/^}/p' ./lmhead)
JAVA="$(find_jdk)/bin/java"
CP="target/lmhead.jar:target/lib/*"

[[ -f runs/serve-full/model.safetensors ]] || ./lmhead train --max-tokens 20000 --time-budget 0 --epochs 1 --head full -o runs/serve-full --quiet
[[ -f runs/serve-adaptive/model.safetensors ]] || ./lmhead train --max-tokens 20000 --time-budget 0 --epochs 1 --head adaptive -o runs/serve-adaptive --quiet
for head in full adaptive; do
  [[ -f runs/serve-$head-267k/model.safetensors ]] || "$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "$CP" \
      bench/UntrainedModel.java --like runs/serve-full --vocab 267735 --head $head -o runs/serve-$head-267k
done

RESULTS="$OUT/results.jsonl"
: > "$RESULTS"
SERVER_PID=""
cleanup() { [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null || true; }
trap cleanup EXIT
# start_server LOG SERVE-FLAGS...: one server in the background after its warm-up (ServeLoad waits for /health)
start_server() { local log=$1; shift; ./lmhead serve --port "$PORT" --warmup "$WARMUP" "$@" 2> "$log" & SERVER_PID=$!; }
stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; }
if [[ $TYPING == 1 ]]; then
for round in $(seq 1 "$ROUNDS"); do
  for model in serve-full serve-adaptive serve-full-267k serve-adaptive-267k; do
    for v in A B; do
      if [[ $v == A ]]; then variant=("${VARIANT_A[@]}"); else variant=("${VARIANT_B[@]}"); fi
      start_server "$OUT/$model-${variant[0]}-r$round.server.log" --model "runs/$model" "${variant[@]:1}"
      echo "== round $round, $model, ${variant[*]}, server pid $SERVER_PID" >&2
      "$JAVA" bench/ServeLoad.java --url "http://127.0.0.1:$PORT" --clients 64 --seconds "$SECS" --warmup 5 --repeat 3 \
          --max-requests 100000 --workload typing --label "$model/${variant[0]}" | tee -a "$RESULTS"
      stop_server
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
names = {"cache0": "state cache off", "cache64": "state cache on, 64 MB", "batch": "batched (64, 2 ms), cache on", "one": "one at a time, cache on"}
print("| model | server | requests/s (median window) | range | p50 ms | p99 ms | contexts continued | contexts per pass | model busy | errors |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for label, ws in w.items():
    rps = [x["rps"] for x in ws]
    print(f"| {label.split('/')[0]} | {names[label.split('/')[1]]} | {med(rps):,.1f} | "
          f"{min(rps):,.0f}–{max(rps):,.0f} | {med([x['p50_ms'] for x in ws]):.1f} | {med([x['p99_ms'] for x in ws]):.1f} | "
          f"{med([x['cache_prefix'] + x['cache_whole'] for x in ws]):.0%} | {med([x['contexts_per_pass'] for x in ws]):.1f} | "
          f"{med([x['model_busy'] for x in ws]):.0%} | {sum(x['errors'] for x in ws)} |")
m = {label: med([x["rps"] for x in ws]) for label, ws in w.items()}
for v in ["", "-267k"]:
    size = '267,735' if v else '33,278'
    for c in ["cache0", "cache64", "batch", "one"]:
        a, f = m.get(f"serve-adaptive{v}/{c}"), m.get(f"serve-full{v}/{c}")
        if a and f: print(f"\nadaptive / full at V = {size}, {names[c]}: {a / f:.2f}x", end="")
    for head in ["full", "adaptive"]:
        b, o = m.get(f"serve-{head}{v}/batch"), m.get(f"serve-{head}{v}/one")
        if b and o: print(f"\n{head} at V = {size}: batched / one at a time = {b / o:.2f}x", end="")
print()
PY
cat "$OUT/table.md"
exit 0
fi
for model in serve-full serve-adaptive serve-full-267k serve-adaptive-267k; do
  for mode in batch one; do
    if [[ $mode == batch ]]; then flags=(--max-batch 64 --max-wait-ms 2); else flags=(--max-batch 1 --max-wait-ms 0); fi
    flags+=(--state-cache-mb 0)
    start_server "$OUT/$model-$mode.server.log" --model "runs/$model" "${flags[@]}"
    echo "== $model, $mode (${flags[*]}), server pid $SERVER_PID" >&2
    "$JAVA" bench/ServeLoad.java --url "http://127.0.0.1:$PORT" --clients 1,8,64 --seconds "$SECS" --warmup 5 \
        --repeat 3 --max-requests 100000 --label "$model/$mode" | tee -a "$RESULTS"
    stop_server
  done
done

# the engine alone, no HTTP (64 in-process clients, batched vs one at a time)
ENGINE="$OUT/engine.jsonl"
: > "$ENGINE"
for model in serve-full serve-adaptive serve-full-267k serve-adaptive-267k; do
  for mb in 64 1; do
    "$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "$CP" bench/ServeEngineBench.java "runs/$model" 64 $mb 2>/dev/null | tee -a "$ENGINE"
  done
done

# markdown table
python3 - "$RESULTS" "$ENGINE" > "$OUT/table.md" <<'PY'
import json, sys
windows = {}
for l in open(sys.argv[1]):
    if l.strip():
        r = json.loads(l)
        windows.setdefault((r["label"], r["clients"]), []).append(r)
# per level: the median window by requests/s (its latencies and shares), and the range over the windows
rows, spread = [], {}
for key, ws in windows.items():
    ws = sorted(ws, key=lambda r: r["rps"])
    rows.append(ws[len(ws) // 2])
    spread[key] = (ws[0]["rps"], ws[-1]["rps"], sum(w["errors"] for w in ws), len(ws))
eng = {(r["label"], r["max_batch"]): r["rps"] for r in (json.loads(l) for l in open(sys.argv[2]) if l.strip())}
by = {(r["label"], r["clients"]): r for r in rows}
print("| V | head | mode | clients | requests/s (median window) | range | p50 ms | p99 ms | contexts per pass | model busy | head share | errors |")
print("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    lo, hi, errs, n = spread[(r["label"], r["clients"])]
    model, mode = r["label"].split("/")
    v = "267,735" if model.endswith("267k") else "33,278"
    head = "adaptive" if "adaptive" in model else "full"
    print(f"| {v} | {head} | {'batched (64, 2 ms)' if mode == 'batch' else 'one at a time'} | {r['clients']} | {r['rps']:,.1f} | {lo:,.0f}–{hi:,.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['contexts_per_pass']:.1f} | {100 * r.get('model_busy', 0):.0f}% | {100 * r.get('head_share', float('nan')):.0f}% | {errs} |")
print()
for v, suf in (("33,278", ""), ("267,735", "-267k")):
    for c in (1, 8, 64):
        a, f = by.get((f"serve-adaptive{suf}/batch", c)), by.get((f"serve-full{suf}/batch", c))
        if a and f: print(f"- V = {v}, {c} clients, batched: adaptive / full = {a['rps'] / f['rps']:.2f}x")
        # model time per context, split into the LSTM over the context and the head's top-k: what a cheaper head can win
        if a and f and 'head_share' in a and 'head_share' in f:
            ms = lambda r, part: 1000 * r['model_busy'] * (r['head_share'] if part else 1 - r['head_share']) / r['rps']
            print(f"  model time per context: full {ms(f, 0):.2f} ms LSTM + {ms(f, 1):.2f} ms head, adaptive {ms(a, 0):.2f} ms LSTM + {ms(a, 1):.2f} ms head;"
                  f" with the adaptive run's LSTM time and a free head: at most {(ms(f, 0) + ms(f, 1)) / ms(a, 0):.2f}x")
    for head in ("full", "adaptive"):
        b, o = by.get((f"serve-{head}{suf}/batch", 64)), by.get((f"serve-{head}{suf}/one", 64))
        if b and o: print(f"- V = {v}, {head}, 64 clients: batched / one at a time = {b['rps'] / o['rps']:.2f}x")
print()
print("| engine alone, 64 clients | batched (64) req/s | one at a time req/s | batched / one |")
print("|---|---:|---:|---:|")
for m in ("serve-full", "serve-adaptive", "serve-full-267k", "serve-adaptive-267k"):
    b, o = eng.get((m, 64)), eng.get((m, 1))
    if b and o: print(f"| {m} | {b:,.1f} | {o:,.1f} | {b / o:.2f}x |")
PY
cat "$OUT/table.md"
"$JAVA" -cp "$CP" bench/ServePlot.java "$RESULTS" "$OUT/load.png"   # requests/s and p99 against clients, as a PNG
