#!/usr/bin/env python3
"""PyTorch peer for lmhead's end-to-end training speed: the pytorch/examples word_language_model
model (Embedding -> dropout -> nn.LSTM -> dropout -> Linear or AdaptiveLogSoftmaxWithLoss, optionally
tied), trained with SGD + clip_grad_norm_ on the same data layout (batchify columns, bptt windows,
state detached between windows). Prints one JSON line with tokens/s.

Run with Debian's torch:  /usr/bin/python3 bench/pytorch_word_lm.py --data data/wikitext-2 --threads 2
This is a comparison tool, not a dependency of lmhead. PyTorch's speed on CPU depends on the BLAS behind
it: Debian's python3-torch uses the system libblas.so.3, so install libopenblas0-pthread first (the
script measures and prints its GEMM GFLOP/s so a slow reference BLAS is visible).
"""
import argparse, gzip, json, math, os, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F


def read_tokens(path):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rt", encoding="utf-8") as f:
        for line in f:
            for w in line.split():
                yield w
            yield "<eos>"


def find(folder, split):
    for name in (f"{split}.txt.gz", f"{split}.txt"):
        p = os.path.join(folder, name)
        if os.path.exists(p):
            return p
    sys.exit(f"pytorch_word_lm.py: error: no {split}.txt[.gz] in {folder}")


class RNNModel(nn.Module):
    def __init__(self, ntoken, ninp, nhid, nlayers, dropout, tie, head, cutoffs, div_value):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=dropout)
        self.head = head
        if head == "adaptive":
            self.decoder = nn.AdaptiveLogSoftmaxWithLoss(nhid, ntoken, cutoffs, div_value=div_value)
        else:
            self.decoder = nn.Linear(nhid, ntoken)
            if tie:
                self.decoder.weight = self.encoder.weight
        initrange = 0.1
        nn.init.uniform_(self.encoder.weight, -initrange, initrange)
        if head != "adaptive":
            nn.init.zeros_(self.decoder.bias)
            nn.init.uniform_(self.decoder.weight, -initrange, initrange)

    def loss(self, x, y, hidden):
        emb = self.drop(self.encoder(x))
        out, hidden = self.rnn(emb, hidden)
        out = self.drop(out).view(-1, out.size(2))
        if self.head == "adaptive":
            return self.decoder(out, y.view(-1)).loss, hidden
        return F.cross_entropy(self.decoder(out), y.view(-1)), hidden


def gemm_gflops():
    a, b = torch.randn(2048, 512), torch.randn(33278, 512)
    for _ in range(2):
        a @ b.t()
    t = time.perf_counter()
    reps = 3
    for _ in range(reps):
        a @ b.t()
    return 2 * 2048 * 512 * 33278 * reps / (time.perf_counter() - t) / 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/wikitext-2")
    ap.add_argument("--emb", type=int, default=200)
    ap.add_argument("--hidden", type=int, default=200)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--tied", action="store_true")
    ap.add_argument("--head", default="full", choices=["full", "adaptive"])
    ap.add_argument("--cutoffs", default="2000,10000")
    ap.add_argument("--div-value", type=float, default=4.0)
    ap.add_argument("--bptt", type=int, default=35)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--lr", type=float, default=20.0)
    ap.add_argument("--clip", type=float, default=0.25)
    ap.add_argument("--steps", type=int, default=60, help="timed training windows")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--seed", type=int, default=1111)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    counts = {}
    order = []
    for w in read_tokens(find(a.data, "train")):
        if w not in counts:
            counts[w] = 0
            order.append(w)
        counts[w] += 1
    first = {w: i for i, w in enumerate(order)}
    vocab = sorted(order, key=lambda w: (-counts[w], first[w]))
    ids = {w: i for i, w in enumerate(vocab)}
    n_needed = (a.steps + a.warmup + 2) * a.bptt * a.batch
    stream = []
    for w in read_tokens(find(a.data, "train")):
        stream.append(ids[w])
        if len(stream) >= n_needed:
            break
    data = torch.tensor(stream, dtype=torch.long)
    nb = data.size(0) // a.batch
    data = data[: nb * a.batch].view(a.batch, -1).t().contiguous()

    cutoffs = [int(c) for c in a.cutoffs.split(",")]
    model = RNNModel(len(vocab), a.emb, a.hidden, a.layers, a.dropout, a.tied, a.head, cutoffs, a.div_value)
    model.train()
    hidden = None
    params = list(model.parameters())

    def window(i):
        seq = min(a.bptt, data.size(0) - 1 - i)
        return data[i:i + seq], data[i + 1:i + 1 + seq]

    pos, tokens, t0 = 0, 0, None
    for step in range(a.warmup + a.steps):
        if step == a.warmup:
            t0 = time.perf_counter()
        x, y = window(pos)
        pos += a.bptt
        if hidden is not None:
            hidden = tuple(h.detach() for h in hidden)
        model.zero_grad()
        loss, hidden = model.loss(x, y, hidden)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, a.clip)
        with torch.no_grad():
            for p in params:
                p.add_(p.grad, alpha=-a.lr)
        if step >= a.warmup:
            tokens += x.numel()
    dt = time.perf_counter() - t0
    print(json.dumps({
        "peer": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(),
        "gemm_gflops": round(gemm_gflops(), 1), "vocab": len(vocab), "head": a.head, "tied": a.tied,
        "emb": a.emb, "hidden": a.hidden, "layers": a.layers, "batch": a.batch, "bptt": a.bptt,
        "steps": a.steps, "tokens": tokens, "seconds": round(dt, 3), "tokens_per_s": round(tokens / dt, 1),
        "last_loss": round(loss.item(), 4)}))


if __name__ == "__main__":
    main()
