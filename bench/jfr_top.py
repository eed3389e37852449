#!/usr/bin/env python3
"""Summarise a JFR recording of `lmhead bench heads`: where each head spends its time.

  LMHEAD_JAVA_OPTS="-XX:StartFlightRecording=filename=/tmp/full.jfr,settings=profile" \
      ./lmhead bench heads --heads full --vocab 33278 --dim 512 --peer none
  python3 bench/jfr_top.py /tmp/full.jfr [--top 8]

Reads `$JAVA_HOME/bin/jfr print --json --events jdk.ExecutionSample,jdk.NativeMethodSample` and, per
operation (the outermost dev.lmhead.head frame: forwardBackward, targetLogProb, logProb, topK), prints
the share of samples per "self" frame: the innermost frame after skipping method-handle / lambda /
vector-API plumbing, so a native OpenBLAS call is attributed to OpenBlas.sgemm and a vectorised
loop to its Vec method. Lambdas are named after their enclosing method (lambda$forwardBackward$0 ->
forwardBackward.lambda).
"""
import collections, json, os, re, subprocess, sys

PLUMBING = ("java/lang/invoke/", "jdk/internal/", "jdk/incubator/vector/", "java/util/concurrent/",
            "java/lang/Thread", "LambdaForm$", "$$Lambda")


def frame_name(f):
    t = f["method"]["type"]["name"]
    m = f["method"]["name"]
    lm = re.match(r"lambda\$(\w+?)\$\d+", m)
    if lm:
        m = lm.group(1) + ".lambda"
    return t, t.split("/")[-1] + "." + m


def main():
    rec = sys.argv[1]
    top = int(sys.argv[sys.argv.index("--top") + 1]) if "--top" in sys.argv else 8
    jfr = os.path.join(os.environ.get("JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64"), "bin", "jfr")
    out = subprocess.run([jfr, "print", "--json", "--stack-depth", "96", "--events",
                          "jdk.ExecutionSample,jdk.NativeMethodSample", rec],
                         check=True, capture_output=True, text=True).stdout
    per_op = collections.defaultdict(collections.Counter)
    total, overall = collections.Counter(), collections.Counter()
    for e in json.loads(out)["recording"]["events"]:
        frames = (e["values"].get("stackTrace") or {}).get("frames") or []
        named = [frame_name(f) for f in frames]
        if not named:
            continue
        heads = [n for t, n in named if t.startswith("dev/lmhead/head/") and ".lambda" not in n]
        if heads:
            op = heads[-1]
        elif any(n == "HeadBench.gemmGflops" for t, n in named):
            op = "(the benchmark's own sgemm speed check)"
        else:
            op = "(no head method on the stack: pool worker or setup)"
        self_name = next((n for t, n in named if not any(p in t for p in PLUMBING) and "0x" not in t),
                         named[0][1])
        if any(n == "OpenBlas.sgemm" for t, n in named[:8]) and self_name in ("OpenBlas.sgemm", named[0][1]):
            self_name = "OpenBlas.sgemm"
        if self_name == "OpenBlas.sgemm":
            self_name = "OpenBlas.sgemm (native GEMM)"
        per_op[op][self_name] += 1
        total[op] += 1
        overall[self_name] += 1
    n = sum(total.values())
    print(f"{n} samples; self time over all threads:")
    for k, v in overall.most_common(top):
        print(f"  {100 * v / n:5.1f}%  {k}")
    print("by operation (outermost head method; samples on pool workers have none):")
    for op, c in total.most_common(top):
        print(f"{100 * c / n:5.1f}%  {op}")
        for k, v in per_op[op].most_common(4):
            print(f"          {100 * v / c:5.1f}%  {k}")


if __name__ == "__main__":
    main()
