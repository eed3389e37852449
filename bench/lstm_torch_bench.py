#!/usr/bin/env python3
"""PyTorch peer for LstmBench: nn.LSTM(200, 200, 2, dropout=0.2) forward + backward (with input gradient) on
batch 20, bptt 35, state carried and detached, on CPU; prints tokens/s (median of several timed runs) and the
sgemm GFLOP/s torch gets in this process (needs libopenblas0-pthread: see shared/notes/pytorch-peer.md).

  /usr/bin/python3 bench/lstm_torch_bench.py [threads] [hidden] [layers]
"""
import statistics
import sys
import time

import torch

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
H = int(sys.argv[2]) if len(sys.argv) > 2 else 200
L = int(sys.argv[3]) if len(sys.argv) > 3 else 2
T, B = 35, 20
torch.set_num_threads(threads)
torch.manual_seed(0)

a, b = torch.randn(2048, 512), torch.randn(512, 4096)
for _ in range(2):
  a @ b
t0 = time.perf_counter()
for _ in range(5):
  a @ b
gflops = 5 * 2 * 2048 * 512 * 4096 / (time.perf_counter() - t0) / 1e9

lstm = torch.nn.LSTM(H, H, L, dropout=0.2)
lstm.train()
x = torch.rand(T, B, H, requires_grad=True)
g = torch.rand(T, B, H) * 1e-3
state = (torch.zeros(L, B, H), torch.zeros(L, B, H))


def step():
  global state
  lstm.zero_grad()
  x.grad = None
  out, (h, c) = lstm(x, state)
  state = (h.detach(), c.detach())
  out.backward(g)


for _ in range(20):
  step()
times, cpus = [], []
for _ in range(7):
  n = 20
  t0, c0 = time.perf_counter(), time.process_time()
  for _ in range(n):
    step()
  times.append((time.perf_counter() - t0) / n)
  cpus.append((time.process_time() - c0) / n)
med, cpu = statistics.median(times), statistics.median(cpus)
# CPU seconds (all threads of the process) are the fairer figure on a loaded machine
print("torch %s threads %d  sgemm %.0f GFLOP/s  LSTM %dx%d B=%d T=%d fwd+bwd: %.2f ms/step wall (%.0f tokens/s), "
      "%.2f ms CPU (%.0f tokens per CPU-second)"
      % (torch.__version__, threads, gflops, L, H, B, T, med * 1e3, T * B / med, cpu * 1e3, T * B / cpu))
