#!/usr/bin/env python3
"""Writes the PyTorch reference for lmhead's Lstm: src/test/resources/lstm/lstm_l2.safetensors.

A torch.nn.LSTM(in, H, layers) in float32 with a fixed seed, a random time-major input x [T, B, in] and
initial state (h0, c0) [layers, B, H], the linear loss  loss = sum(out * R)  with a random R [T, B, H],
and what PyTorch computes from them:

  <state_dict names>      weight_ih_l{k} [4H, in_k], weight_hh_l{k} [4H, H], bias_ih_l{k}, bias_hh_l{k} [4H]
  input [T, B, in], h0, c0 [layers, B, H], loss_weight (= R) [T, B, H]
  expected.output [T, B, H], expected.h_n, expected.c_n [layers, B, H], expected.loss []
  expected.grad.input [T, B, in], expected.grad.<param> for every parameter

Dropout is 0 (PyTorch's masks cannot be reproduced); lmhead's dropout is checked by finite differences.
Run with Debian's torch:  /usr/bin/python3 bench/make_lstm_fixture.py [out_path]
The file is written with plain struct/json in the safetensors format (no safetensors package needed).
"""
import json
import os
import struct
import sys

import torch

IN, H, LAYERS, T, B = 12, 20, 2, 6, 3  # H = 20 exercises both the vector loop and the scalar tail


def write_safetensors(path, tensors, metadata):
  header, blobs, offset = {"__metadata__": metadata}, [], 0
  for name, t in tensors.items():
    t = t.detach().contiguous().to(torch.float32).cpu()
    data = struct.pack("<%df" % t.numel(), *t.reshape(-1).tolist())
    header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
    blobs.append(data)
    offset += len(data)
  hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
  hb += b" " * ((8 - len(hb) % 8) % 8)  # align the data section as the reference writer does
  tmp = path + ".tmp"
  with open(tmp, "wb") as f:
    f.write(struct.pack("<Q", len(hb)))
    f.write(hb)
    for b in blobs:
      f.write(b)
  os.replace(tmp, path)


def main():
  out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
      os.path.dirname(os.path.abspath(__file__)), "..", "src", "test", "resources", "lstm", "lstm_l2.safetensors")
  torch.manual_seed(1234)
  lstm = torch.nn.LSTM(IN, H, LAYERS).float()
  x = torch.randn(T, B, IN, requires_grad=True)
  h0 = 0.5 * torch.randn(LAYERS, B, H)
  c0 = 0.5 * torch.randn(LAYERS, B, H)
  r = torch.randn(T, B, H)
  output, (h_n, c_n) = lstm(x, (h0, c0))
  loss = (output.double() * r.double()).sum()
  loss.backward()

  tensors = {name: p for name, p in lstm.state_dict().items()}
  tensors.update({"input": x, "h0": h0, "c0": c0, "loss_weight": r,
                  "expected.output": output, "expected.h_n": h_n, "expected.c_n": c_n,
                  "expected.loss": loss.float().reshape(()),
                  "expected.grad.input": x.grad})
  for name, p in lstm.named_parameters():
    tensors["expected.grad." + name] = p.grad
  meta = {"input_size": str(IN), "hidden_size": str(H), "num_layers": str(LAYERS), "seq_len": str(T),
          "batch": str(B), "loss": "sum(output * loss_weight)", "torch_version": torch.__version__}
  write_safetensors(out, tensors, meta)
  print("wrote", os.path.normpath(out), "loss", float(loss))


if __name__ == "__main__":
  main()
