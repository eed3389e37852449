#!/usr/bin/env bash
# Correctness of the DJL peer (peers/djl): its heads (the code DjlHeads times) against
#   - PyTorch 1.13's numbers: the parity fixtures in src/test/resources/fixtures and ../shared/fixtures;
#   - lmhead's own FullSoftmax and AdaptiveSoftmax: fixtures written by bench/DjlFixture.java;
# target log-probs, loss, full log-probs, argmax, top-10 and the gradients of the mean loss (also with
# the full head's rows in blocks). Takes a few seconds of CPU.
#   bench/djl_check.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
mvn -B -q -Dstyle.color=never -f "$ROOT/peers/djl/pom.xml" package >"$TMP/build.log" 2>&1 \
  || { tail -n 30 "$TMP/build.log" >&2; echo "djl_check.sh: building peers/djl failed" >&2; exit 2; }
"$ROOT/lmhead" --version >/dev/null   # builds the jar when missing or stale
JDK=""   # a JDK >= 25 for the lmhead side (the script imports lmhead's classes), as ./lmhead finds one
for cand in "${JAVA_HOME:-}" /usr/lib/jvm/*; do
  [[ -n "$cand" && -x "$cand/bin/java" ]] || continue
  v=$("$cand/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p')
  [[ "$v" =~ ^[0-9]+$ ]] && (( v >= 25 )) && { JDK="$cand"; break; }
done
[[ -n "$JDK" ]] || { echo "djl_check.sh: no JDK >= 25 found (set JAVA_HOME)" >&2; exit 2; }
"$JDK/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "$ROOT/target/lmhead.jar:$ROOT/target/lib/*" \
  "$ROOT/bench/DjlFixture.java" "$TMP/lmhead-fixtures" 2> >(grep -v "incubator" >&2)
dirs=("$ROOT/src/test/resources/fixtures" "$TMP/lmhead-fixtures")
[[ -d "$ROOT/../shared/fixtures" ]] && dirs+=("$ROOT/../shared/fixtures")
JAVA_HOME="$JDK" "$ROOT/peers/djl/run.sh" DjlCheck "${dirs[@]}"
