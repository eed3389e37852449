#!/usr/bin/python3
"""Copies a finished or interrupted run so that `lmhead train --resume` continues it at another lr.

    bench/resume_lr.py RUN_DIR NEW_DIR LR

The run's files are copied to NEW_DIR (which must not exist) and the learning rate stored in the trainer
state of NEW_DIR/last.safetensors is replaced by LR; nothing else changes (the checkpoint's checksum
covers the tensors only). Used for the convergence study's "one more epoch at lr / 4" rows: continue
with `./lmhead train --resume --output NEW_DIR --epochs N+1 --time-budget 0 ...` and the run's own
model flags. Only the standard library.
"""
import json
import shutil
import struct
import sys


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: bench/resume_lr.py RUN_DIR NEW_DIR LR")
    src, dst, lr = sys.argv[1], sys.argv[2], float(sys.argv[3])
    if not lr > 0:
        sys.exit(f"resume_lr.py: LR must be > 0, got {sys.argv[3]}")
    shutil.copytree(src, dst)  # refuses an existing NEW_DIR
    path = f"{dst}/last.safetensors"
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    state = json.loads(header["__metadata__"]["lmhead.trainer"])
    old = state["lr"]
    state["lr"] = lr
    header["__metadata__"]["lmhead.trainer"] = json.dumps(state, separators=(",", ":"))
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # safetensors pads the header to 8 bytes
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        f.write(data)
    shutil.move(path + ".tmp", path)
    print(f"{dst}: resumes at epoch {state['epoch']}, {state['tokens']:,} tokens, lr {old:g} -> {lr:g}")


if __name__ == "__main__":
    main()
