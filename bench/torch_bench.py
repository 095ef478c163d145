#!/usr/bin/python3
"""PyTorch's side of the benchmark: the same measurements as tapegrad_bench,
printed as the same JSON lines (bench/run.sh runs both, bench/report.py
makes the table).

  torch_bench.py train DATA_DIR BATCH EPOCHS   one warm-up epoch, then EPOCHS timed
  torch_bench.py tape LENGTH REPS              per-op cost of autograd on tiny tensors

The label ("torch" or "torch-best") comes from $BENCH_LABEL: run.sh starts this
script once as installed and once with OPENBLAS_CORETYPE set, which OpenBLAS
reads only when it loads.
"""
import gzip
import json
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch

LABEL = os.environ.get("BENCH_LABEL", "torch")


def read_idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(data_dir, stem):
    for name in (stem, stem + ".gz"):
        if os.path.exists(os.path.join(data_dir, name)):
            return os.path.join(data_dir, name)
    raise SystemExit(f"torch_bench: no {stem}[.gz] in {data_dir}")


def current_rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def train(data_dir, batch, epochs):
    images = read_idx(find(data_dir, "train-images-idx3-ubyte"))
    labels = read_idx(find(data_dir, "train-labels-idx1-ubyte"))
    x = torch.from_numpy(images.reshape(len(images), -1).astype(np.float32) / 255.0)
    y = torch.from_numpy(labels.astype(np.int64))
    del images
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(784, 100), torch.nn.Sigmoid(),
                              torch.nn.Linear(100, 100), torch.nn.Sigmoid(),
                              torch.nn.Linear(100, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = len(y)
    times, rss = [], []
    for epoch in range(epochs + 1):  # epoch 0 is the warm-up
        g = torch.Generator().manual_seed(epoch)
        order = torch.randperm(n, generator=g)
        t0 = time.perf_counter()
        loss_sum, steps = 0.0, 0
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            xb, yb = x.index_select(0, idx), y.index_select(0, idx)  # a gather, as BatchLoader does
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(xb), yb)
            loss.backward()
            opt.step()
            loss_sum += loss.item()
            steps += 1
        t = time.perf_counter() - t0
        if epoch > 0:
            times.append(t)
        rss.append(current_rss_mb())
    print(json.dumps({"kind": "train", "impl": LABEL, "batch": batch, "median_s": statistics.median(times),
                      "epoch_s": times, "loss": loss_sum / steps,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "rss_after_epoch_mb": rss, "dataset_mb": x.numel() * 4 / 2**20}), flush=True)


def tape(length, reps):
    for side in (1, 16):
        fwd, bwd = [], []
        for _ in range(reps):
            w = torch.full((side, side), 0.5, requires_grad=True)
            x = torch.full((side, side), 0.1)
            t0 = time.perf_counter()
            yv = x
            for _ in range(0, length, 3):
                yv = torch.tanh(yv * w + w)
            loss = yv.sum()
            tf = time.perf_counter() - t0
            t1 = time.perf_counter()
            loss.backward()
            tb = time.perf_counter() - t1
            ops = (length + 2) // 3 * 3 + 1
            fwd.append(tf / ops * 1e9)
            bwd.append(tb / ops * 1e9)
        print(json.dumps({"kind": "tape", "impl": LABEL, "side": side,
                          "fwd_ns_per_op": statistics.median(fwd), "bwd_ns_per_op": statistics.median(bwd)}),
              flush=True)


def main():
    threads = int(os.environ.get("BENCH_THREADS", "2"))
    torch.set_num_threads(threads)
    args = sys.argv[1:]
    if len(args) == 4 and args[0] == "train":
        train(args[1], int(args[2]), int(args[3]))
    elif len(args) == 3 and args[0] == "tape":
        tape(int(args[1]), int(args[2]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
