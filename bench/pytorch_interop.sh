#!/usr/bin/env bash
# Acceptance of issue 18, sections 1 and 2, against PyTorch (Debian's python3-torch, run with /usr/bin/python3):
#  (a) PyTorch -> lmhead: train the word_language_model RNNModel on WikiText-2 for SECONDS (2x64 LSTM; tied full
#      softmax, and an nn.AdaptiveLogSoftmaxWithLoss decoder), save its state dict as torch.save zip and as
#      safetensors, `lmhead import` both, and compare test perplexity (lmhead's definition, eval batch 1).
#  (b) lmhead -> PyTorch: train small lmhead models (full tied; adaptive), `lmhead export`, evaluate in PyTorch.
#  (c) scoring speed: `lmhead score` vs the same per-line scoring in PyTorch, WikiText-2 test lines, same threads.
# usage: bench/pytorch_interop.sh [OUT_DIR] [SECONDS] [THREADS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${1:-runs/interop}; SECS=${2:-150}; THREADS=${3:-2}
PY=/usr/bin/python3; S=bench/pytorch_interop.py
TEST=data/wikitext-2/test.txt.gz
mkdir -p "$OUT"
zcat "$TEST" > "$OUT/test.txt"
export LMHEAD_JAVA_OPTS="${LMHEAD_JAVA_OPTS:-}"
rel() { $PY -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{abs(a-b)/b:.2e}')" "$1" "$2"; }
field() { $PY -c "import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])['$1'])"; }
echo "| direction | model | format | PyTorch test ppl | lmhead test ppl | relative difference | tokens |" > "$OUT/results.md"
echo "|---|---|---|---:|---:|---:|---:|" >> "$OUT/results.md"

# (a) PyTorch -> lmhead
for cfg in "full_tied --tied" "adaptive --head adaptive"; do
  name=${cfg%% *}; flags=${cfg#* }
  [[ -f "$OUT/$name.pt" ]] || $PY $S train --data data/wikitext-2 --out "$OUT" --name "$name" $flags --emb 64 --hidden 64 \
      --seconds "$SECS" --threads "$THREADS"
  pyj=$($PY $S eval --state-dict "$OUT/$name.pt" --vocab "$OUT/vocab.txt" "$TEST" --threads "$THREADS")
  py=$(echo "$pyj" | field ppl); n=$(echo "$pyj" | field tokens)
  for fmt in pt safetensors; do
    ./lmhead import --from pytorch --state-dict "$OUT/$name.$fmt" --vocab "$OUT/vocab.txt" -o "$OUT/lm-$name-$fmt" --data wikitext-2 --force
    lm=$(./lmhead eval --model "$OUT/lm-$name-$fmt" --split test --json --threads "$THREADS" 2>/dev/null | $PY -c "import json,sys; print(json.load(sys.stdin)['ppl'])")
    echo "| PyTorch -> lmhead | $name | .$fmt | $py | $lm | $(rel "$lm" "$py") | $n |" | tee -a "$OUT/results.md"
  done
done

# (b) lmhead -> PyTorch
for cfg in "native_full --head full --tied" "native_adaptive --head adaptive --no-tied"; do
  name=${cfg%% *}; flags=${cfg#* }
  [[ -f "$OUT/lm-$name/model.safetensors" ]] || ./lmhead train --data wikitext-2 $flags --emb 64 --hidden 64 --time-budget "${SECS}s" \
      --threads "$THREADS" -o "$OUT/lm-$name" > "$OUT/lm-$name.log" 2>&1
  ./lmhead export --model "$OUT/lm-$name" --to pytorch -o "$OUT/$name.safetensors" | tee "$OUT/$name.export.txt"
  lm=$(./lmhead eval --model "$OUT/lm-$name" --split test --json --threads "$THREADS" 2>/dev/null | $PY -c "import json,sys; print(json.load(sys.stdin)['ppl'])")
  pyj=$($PY $S eval --state-dict "$OUT/$name.safetensors" --vocab "$OUT/$name.vocab.txt" "$TEST" --threads "$THREADS")
  py=$(echo "$pyj" | field ppl); n=$(echo "$pyj" | field tokens)
  echo "| lmhead -> PyTorch | $name | .safetensors | $py | $lm | $(rel "$lm" "$py") | $n |" | tee -a "$OUT/results.md"
done

# (c) scoring throughput, WikiText-2 test lines (every line, empty ones too), each line independently; PyTorch
#     both with padded batches and with a PackedSequence (lmhead's scorer packs), the ratio against its faster way
echo >> "$OUT/results.md"
echo "| model | lmhead sentences/s | lmhead tokens/s | PyTorch padded tokens/s | PyTorch packed tokens/s | lmhead / faster PyTorch | total log-prob lmhead / PyTorch |" >> "$OUT/results.md"
echo "|---|---:|---:|---:|---:|---:|---|" >> "$OUT/results.md"
for name in full_tied adaptive; do
  lmj=$(./lmhead score --model "$OUT/lm-$name-pt" "$OUT/test.txt" --json --repeat 3 --threads "$THREADS" 2>&1 >/dev/null | grep '^{' | tail -n 1)
  pyj=$($PY $S score --state-dict "$OUT/$name.pt" --vocab "$OUT/vocab.txt" "$OUT/test.txt" --threads "$THREADS" --repeats 3)
  pkj=$($PY $S score --state-dict "$OUT/$name.pt" --vocab "$OUT/vocab.txt" "$OUT/test.txt" --threads "$THREADS" --repeats 3 --packed)
  echo "lmhead:  $lmj"; echo "PyTorch: $pyj"; echo "PyTorch packed: $pkj"
  ls=$(echo "$lmj" | field sentences_per_s); lt=$(echo "$lmj" | field tokens_per_s); llp=$(echo "$lmj" | field logprob)
  pt=$(echo "$pyj" | field tokens_per_s); plp=$(echo "$pyj" | field logprob); kt=$(echo "$pkj" | field tokens_per_s)
  ratio=$($PY -c "print(f'{$lt/max($pt, $kt):.2f}x')")
  printf "| %s | %.0f | %.0f | %.0f | %.0f | %s | %.2f / %.2f |\n" "$name" "$ls" "$lt" "$pt" "$kt" "$ratio" "$llp" "$plp" | tee -a "$OUT/results.md"
done
echo "PyTorch sgemm GFLOP/s in the scoring run: $(echo "$pyj" | field sgemm_gflops)" | tee -a "$OUT/results.md"
echo "load average: $(cat /proc/loadavg)" | tee -a "$OUT/results.md"
