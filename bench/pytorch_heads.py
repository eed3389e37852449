#!/usr/bin/env python3
"""PyTorch peer for `lmhead bench heads`: the output layer alone, on exactly the hidden states and
targets lmhead measured (read from the files it wrote), same shapes, cutoffs, div_value and threads.

Heads: `full` = nn.Linear(d, V) + F.cross_entropy / F.log_softmax; `adaptive` =
nn.AdaptiveLogSoftmaxWithLoss(d, V, cutoffs, div_value, head_bias=False). Operations, timed separately
with the same warm-up / repeat / time-budget rules as lmhead:
  train   zero_grad + forward + backward (mean loss over the N rows; dL/dhidden computed)
  loss    no_grad target log-probs (cross_entropy(reduction='none') / asm(h, y).output)
  logprob no_grad full [N, V] log-prob matrix (log_softmax / asm.log_prob)
  top1    full: log_softmax + topk(1); adaptive: asm.predict (PyTorch's own top-1)
  top10   log-probs + topk(10)
Where a [rows, V] tensor is formed, rows are processed in equal blocks so that one such tensor stays
below --max-block-bytes (the rule lmhead's harness uses for its logprob output); the train step then
accumulates the gradients of the blocks (loss = sum of the blocks' summed NLL / N).

Before measuring, the script times one sgemm ([2048,512] x [512,33278]) and looks for OpenBLAS among
the libraries the process loaded. Debian's python3-torch goes through the system libblas.so.3; with
only the reference BLAS it runs ~60x slower and a comparison would be meaningless, so the script then
prints {"refused": reason} instead of results (install libopenblas0-pthread).

Run with Debian's torch: /usr/bin/python3 bench/pytorch_heads.py --vocab 33278 --dim 512 --rows 2048 \
    --targets t.bin --hidden h.bin --cutoffs 2000,10000 --threads 2
(targets: int32 little-endian [N]; hidden: float32 little-endian [N, d]; without the files the script
draws its own Zipf targets and gaussian hidden states). Prints one JSON line.
"""
import argparse, json, os, sys, time


def parse():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vocab", type=int, required=True)
    ap.add_argument("--dim", type=int, required=True)
    ap.add_argument("--rows", type=int, default=2048)
    ap.add_argument("--targets", help="int32 LE [rows] target ids")
    ap.add_argument("--hidden", help="float32 LE [rows, dim] hidden states")
    ap.add_argument("--heads", default="full,adaptive")
    ap.add_argument("--ops", default="train,loss,logprob,top1,top10")
    ap.add_argument("--cutoffs", default="")
    ap.add_argument("--div-value", type=float, default=4.0)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--warmup-seconds", type=float, default=0.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--max-seconds", type=float, default=20.0)
    ap.add_argument("--max-block-bytes", type=int, default=1 << 30)
    ap.add_argument("--min-gflops", type=float, default=20.0, help="refuse to compare below this sgemm speed")
    ap.add_argument("--seed", type=int, default=1)
    return ap.parse_args()


a = parse()
# OpenBLAS (behind Debian's generic torch) reads its thread count from the environment at load time
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(a.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def gemm_gflops():
    x, w = torch.randn(2048, 512), torch.randn(33278, 512)
    for _ in range(2):
        x @ w.t()
    t = time.perf_counter()
    reps = 3
    for _ in range(reps):
        x @ w.t()
    return 2 * 2048 * 512 * 33278 * reps / (time.perf_counter() - t) / 1e9


def blas_libraries():
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
        return sorted(libs)
    except OSError:
        return []


def block_rows(n, v, max_bytes):
    limit = min(max_bytes // 4, 2**31 - 17)
    max_rows = max(1, limit // v)
    blocks = -(-n // max_rows)
    return -(-n // blocks)  # equal blocks, each <= max_rows (same rule as HeadBench.blockRows)


def zipf(v, n, gen):
    p = 1.0 / torch.arange(1, v + 1, dtype=torch.float64)
    return torch.multinomial(p / p.sum(), n, replacement=True, generator=gen)


def timed(fn, warmup, repeats, max_seconds, warmup_seconds=0.0):
    """lmhead's rule: the first call is a warm-up (or the only run when it alone exceeds the budget);
    more warm-up calls until there are `warmup` of them and they took `warmup_seconds`, while they used
    under half the budget; timed calls until the budget is used."""
    t = time.perf_counter()
    fn()
    first = time.perf_counter() - t
    note = ""
    if first > max_seconds:
        return [first], f"1 run: the first call took {first:.1f} s (> --max-seconds {max_seconds:.0f})"
    warm = first
    w = 1
    while (w < warmup or warm < warmup_seconds) and warm < max_seconds / 2:
        t = time.perf_counter()
        fn()
        warm += time.perf_counter() - t
        w += 1
    times, spent = [], 0.0
    for r in range(repeats):
        if r > 0 and spent >= max_seconds:
            note = f"{len(times)} of {repeats} runs (--max-seconds {max_seconds})"
            break
        t = time.perf_counter()
        fn()
        dt = time.perf_counter() - t
        times.append(dt)
        spent += dt
    return times, note


def main():
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    n, v, d = a.rows, a.vocab, a.dim
    gflops = gemm_gflops()
    libs = blas_libraries()
    info = {"peer": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(),
            "gemm_gflops": round(gflops, 1), "blas_libraries": libs}
    if not any("openblas" in lib.lower() or "mkl" in lib.lower() for lib in libs) and gflops < a.min_gflops:
        info["refused"] = (f"PyTorch's sgemm runs at {gflops:.1f} GFLOP/s through {libs or 'an unknown BLAS'} "
                           "(the reference BLAS?): a comparison would be meaningless; install libopenblas0-pthread")
        print(json.dumps(info))
        return
    if gflops < a.min_gflops:
        info["refused"] = (f"PyTorch's sgemm runs at only {gflops:.1f} GFLOP/s (< {a.min_gflops}); "
                           "the machine is busy or the BLAS is slow: not comparing")
        print(json.dumps(info))
        return

    if a.hidden:
        h = torch.from_numpy(np.fromfile(a.hidden, dtype="<f4").reshape(n, d).copy())
    else:
        h = torch.randn(n, d)
    if a.targets:
        y = torch.from_numpy(np.fromfile(a.targets, dtype="<i4").astype(np.int64))
    else:
        y = zipf(v, n, torch.Generator().manual_seed(a.seed))
    assert y.shape == (n,) and int(y.min()) >= 0 and int(y.max()) < v, "bad targets file"
    cutoffs = [int(c) for c in a.cutoffs.split(",") if c]
    rb = block_rows(n, v, a.max_block_bytes)
    blocks = [(r0, min(n, r0 + rb)) for r0 in range(0, n, rb)]
    block_note = (f"blocked: {len(blocks)} calls of <= {rb} rows ([rows, V] = {4 * rb * v / 2**20:.0f} MB)"
                  if len(blocks) > 1 else "")
    results = []
    for name in [s for s in a.heads.split(",") if s]:
        if name == "full":
            m = nn.Linear(d, v)
        elif name == "adaptive":
            m = nn.AdaptiveLogSoftmaxWithLoss(d, v, cutoffs, div_value=a.div_value, head_bias=False)
        else:
            continue
        hg = h.clone().requires_grad_(True)

        def train():
            m.zero_grad(set_to_none=False)
            hg.grad = None
            if name == "full":
                for r0, r1 in blocks:
                    (F.cross_entropy(m(hg[r0:r1]), y[r0:r1], reduction="sum") / n).backward()
            else:
                (m(hg, y).loss).backward()

        def loss():
            with torch.no_grad():
                if name == "full":
                    return [F.cross_entropy(m(h[r0:r1]), y[r0:r1], reduction="none") for r0, r1 in blocks]
                return m(h, y).output

        def logprob():
            with torch.no_grad():
                for r0, r1 in blocks:
                    (F.log_softmax(m(h[r0:r1]), dim=1) if name == "full" else m.log_prob(h[r0:r1]))

        def topk(k):
            def fn():
                with torch.no_grad():
                    if name == "adaptive" and k == 1:
                        return m.predict(h)
                    for r0, r1 in blocks:
                        lp = F.log_softmax(m(h[r0:r1]), dim=1) if name == "full" else m.log_prob(h[r0:r1])
                        lp.topk(k, dim=1)
            return fn

        ops = {"train": train, "loss": loss, "logprob": logprob, "top1": topk(1), "top10": topk(10)}
        for op in [s for s in a.ops.split(",") if s]:
            times, note = timed(ops[op], a.warmup, a.repeats, a.max_seconds, a.warmup_seconds)
            st = sorted(times)
            med = st[len(st) // 2] if len(st) % 2 else (st[len(st) // 2 - 1] + st[len(st) // 2]) / 2
            blocked = block_note if (name == "full" or op in ("logprob", "top10")) else ""
            if name == "adaptive" and op == "top1":
                note = "; ".join(x for x in ("predict()", note) if x)
            results.append({"head": name, "op": op, "runs": len(st), "median_s": med, "min_s": st[0],
                            "max_s": st[-1], "tokens_per_s": n / med,
                            "note": "; ".join(x for x in (blocked, note) if x)})
        del m, hg
    try:
        import resource
        info["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    except Exception:
        pass
    info.update({"vocab": v, "dim": d, "rows": n, "cutoffs": cutoffs, "div_value": a.div_value,
                 "results": results})
    print(json.dumps(info))


if __name__ == "__main__":
    main()
