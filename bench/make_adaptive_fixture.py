#!/usr/bin/python3
"""Generates small PyTorch parity fixtures for lmhead's adaptive (and full) softmax.

Same format as shared/fixtures/README.md: one safetensors file per configuration holding the module's
state_dict (PyTorch names), an input batch, targets hitting every cluster, and what PyTorch computes:
expected.output / loss / log_prob / predict / grad.input / grad.<param> (mean loss).

The configurations are chosen to exercise what a PyTorch user may pick beyond the shared fixtures:
three cutoffs, non-integer div_value (1.5, 2.5), div_value 1.0 and 3, head_bias on and off,
vocabulary sizes that are not round numbers, a one-word shortlist and one-word clusters.

Needs Debian's python3-torch (1.13) and libopenblas0-pthread:
    apt-get install -y python3-torch libopenblas0-pthread
    /usr/bin/python3 bench/make_adaptive_fixture.py [OUT_DIR]   # default src/test/resources/fixtures
The safetensors file is written by hand (struct + json), so the `safetensors` package is not needed.
"""
import json
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIGS = [
    # name, V, in_features, N, cutoffs, div_value, head_bias
    ("adaptive_v337_c20-75-190_div1.5_bias", 337, 12, 40, [20, 75, 190], 1.5, True),
    ("adaptive_v263_c7-50-51_div3", 263, 30, 40, [7, 50, 51], 3.0, False),
    ("adaptive_v101_c1_div1_bias", 101, 8, 24, [1], 1.0, True),
    ("adaptive_v150_c30-149_div2.5", 150, 20, 32, [30, 149], 2.5, False),
]
FULL_CONFIGS = [
    # name, V, in_features, N, bias
    ("full_v77_d6_nobias", 77, 6, 20, False),
]


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    blobs, offset = [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        dtype = {torch.float32: "F32", torch.int64: "I64"}[t.dtype]
        data = t.numpy().tobytes()  # little-endian on x86
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def targets_hitting_every_cluster(gen, n, bounds):
    """Zipf-like ids over [0, V), then one row forced into each cluster (and the shortlist)."""
    v = bounds[-1]
    u = torch.rand(n, generator=gen, dtype=torch.float64)
    t = (torch.exp(u * torch.log(torch.tensor(v + 1.0, dtype=torch.float64))) - 1).floor().long().clamp(0, v - 1)
    for i in range(len(bounds) - 1):
        lo, hi = bounds[i], bounds[i + 1]
        t[i] = lo + int(torch.randint(hi - lo, (1,), generator=gen))
    return t


def make_adaptive(out_dir, name, v, d, n, cutoffs, div_value, head_bias, seed):
    torch.manual_seed(seed)
    m = nn.AdaptiveLogSoftmaxWithLoss(d, v, cutoffs, div_value=div_value, head_bias=head_bias)
    gen = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(n, d, generator=gen).requires_grad_(True)
    t = targets_hitting_every_cluster(gen, n, [0] + cutoffs + [v])
    res = m(x, t)
    res.loss.backward()
    with torch.no_grad():
        log_prob = m.log_prob(x)
        predict = m.predict(x)
    tensors = dict(m.state_dict())
    tensors.update({"input": x, "target": t, "expected.output": res.output, "expected.loss": res.loss,
                    "expected.log_prob": log_prob, "expected.predict": predict, "expected.grad.input": x.grad})
    for pname, p in m.named_parameters():
        tensors["expected.grad." + pname] = p.grad
    meta = {"head": "adaptive", "in_features": d, "n_classes": v, "cutoffs": json.dumps(cutoffs),
            "div_value": float(div_value), "head_bias": "true" if head_bias else "false",
            "torch_version": torch.__version__}
    write_safetensors(os.path.join(out_dir, name + ".safetensors"), tensors, meta)


def make_full(out_dir, name, v, d, n, bias, seed):
    torch.manual_seed(seed)
    m = nn.Linear(d, v, bias=bias)
    gen = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(n, d, generator=gen).requires_grad_(True)
    t = targets_hitting_every_cluster(gen, n, [0, v])
    lp = F.log_softmax(m(x), dim=1)
    out = lp.gather(1, t.unsqueeze(1)).squeeze(1)
    loss = (-out).mean()
    loss.backward()
    tensors = dict(m.state_dict())
    tensors.update({"input": x, "target": t, "expected.output": out, "expected.loss": loss,
                    "expected.log_prob": lp, "expected.predict": lp.argmax(dim=1), "expected.grad.input": x.grad})
    for pname, p in m.named_parameters():
        tensors["expected.grad." + pname] = p.grad
    meta = {"head": "full", "in_features": d, "n_classes": v, "head_bias": "true" if bias else "false",
            "torch_version": torch.__version__}
    write_safetensors(os.path.join(out_dir, name + ".safetensors"), tensors, meta)


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "src", "test", "resources", "fixtures")
    os.makedirs(out_dir, exist_ok=True)
    for k, (name, v, d, n, cutoffs, div, hb) in enumerate(CONFIGS):
        make_adaptive(out_dir, name, v, d, n, cutoffs, div, hb, seed=1000 + k)
        print("wrote", name)
    for k, (name, v, d, n, bias) in enumerate(FULL_CONFIGS):
        make_full(out_dir, name, v, d, n, bias, seed=2000 + k)
        print("wrote", name)


if __name__ == "__main__":
    main()
