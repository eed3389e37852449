#!/usr/bin/env bash
# Runs one program of the DJL peer (DjlHeads, DjlWordLm, DjlCheck) offline: libtorch comes from the
# pytorch-native-cpu jar in target/lib (unpacked once into target/djl-cache), never from the network.
#   mvn -f peers/djl/pom.xml package            # once: target/lmhead-djl-peer.jar + target/lib/
#   peers/djl/run.sh DjlHeads --vocab 33278 --dim 512 --threads 2
#   peers/djl/run.sh DjlWordLm --data data/wikitext-2 --tied --threads 2
#   peers/djl/run.sh DjlCheck src/test/resources/fixtures
# Java: $JAVA_HOME/bin/java, else java on PATH (17 or newer).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ $# -ge 1 ]] || { echo "usage: $0 DjlHeads|DjlWordLm|DjlCheck [ARGS...]" >&2; exit 2; }
PROGRAM="$1"; shift
[[ -f "$HERE/target/lmhead-djl-peer.jar" && -d "$HERE/target/lib" ]] \
  || { echo "$0: peers/djl not built: run \`mvn -f peers/djl/pom.xml package\`" >&2; exit 2; }
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
export PYTORCH_FLAVOR=cpu DJL_OFFLINE=true
exec "$JAVA" --enable-native-access=ALL-UNNAMED -Dai.djl.offline=true -DENGINE_CACHE_DIR="$HERE/target/djl-cache" \
  -cp "$HERE/target/lmhead-djl-peer.jar:$HERE/target/lib/*" "dev.lmhead.djl.$PROGRAM" "$@"
