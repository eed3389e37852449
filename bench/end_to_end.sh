#!/usr/bin/env bash
# End-to-end LSTM LM training speed, lmhead vs PyTorch on CPU, in one command (issue 6):
# 2x200 and 2x650 LSTMs (tied embeddings, WikiText-2 vocabulary of 33,278 words), full and adaptive heads.
# Each configuration runs `lmhead bench train --peer pytorch` (lmhead first, then PyTorch's
# bench/pytorch_word_lm.py, same threads, same data, same batch/bptt), median of --repeats.
#
#   bench/end_to_end.sh [OUT_DIR] [extra `bench train` flags, e.g. --steps 20 --repeats 3]
#
# Writes OUT_DIR/<config>.json and OUT_DIR/end_to_end.md (default OUT_DIR: runs/bench-end-to-end).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/runs/bench-end-to-end}"
shift || true
mkdir -p "$OUT"
MD="$OUT/end_to_end.md"
{
  echo "End-to-end training tokens/s (forward + backward + clip + SGD), WikiText-2, batch 20, bptt 35;"
  echo "$(nproc) threads each; $(date -u '+%Y-%m-%d %H:%M UTC'); flags: ${*:-defaults}"
  echo
  echo "| model | head | lmhead tokens/s | PyTorch tokens/s | lmhead/PyTorch | PyTorch sgemm GFLOP/s |"
  echo "|---|---|---:|---:|---:|---:|"
} > "$MD"
for size in 200 650; do
  dropout=0.2; [[ $size == 650 ]] && dropout=0.5
  for head in full adaptive; do
    name="${size}-${head}"
    echo "== 2x$size LSTM, $head head ==" >&2
    "$ROOT/lmhead" bench train --data wikitext-2 --emb "$size" --hidden "$size" --layers 2 --dropout "$dropout" \
      --tied --head "$head" --json "$@" > "$OUT/$name.json"
    /usr/bin/env python3 - "$OUT/$name.json" "$size" "$head" >> "$MD" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ours = r["lmhead_tokens_per_s"]
if "ratio" in r:
    print(f"| 2x{sys.argv[2]} | {sys.argv[3]} | {ours:,.0f} | {r['pytorch_tokens_per_s']:,.0f} | {r['ratio']:.2f}x | {r['pytorch_gemm_gflops']:.0f} |")
else:
    print(f"| 2x{sys.argv[2]} | {sys.argv[3]} | {ours:,.0f} | - | - | {r.get('pytorch', '')} |")
PY
  done
done
cat "$MD"
