#!/bin/bash
# svg.sh MODEL CACHE_MB LABEL
cd /work/main
./lmhead serve --model runs/$1 --port 18790 --warmup 30 --max-batch 64 --max-wait-ms 2 --input-gate-cache-mb $2 > /tmp/wu/serve-$3.log 2>&1 &
for i in $(seq 1 120); do curl -s http://127.0.0.1:18790/health >/dev/null && break; sleep 1; done
/usr/lib/jvm/temurin-25-jdk-amd64/bin/java bench/ServeLoad.java --url http://127.0.0.1:18790 --clients 64 --seconds 5 --warmup 5 --repeat 3 --max-requests 100000 --label $3 2>&1 | grep '"label"' >> /tmp/wu/ratio-windows.jsonl
pkill -f "lmhead.jar serve" ; sleep 2
