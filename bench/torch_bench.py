#!/usr/bin/python3
"""PyTorch's side of the benchmark: the same measurements as tapegrad_bench,
printed as the same JSON lines (bench/run.sh runs both, bench/report.py
makes the table).

  torch_bench.py probe                         this configuration: threads, OpenBLAS's kernel (after one sgemm)
  torch_bench.py train DATA_DIR BATCH EPOCHS [GATHER]
                                               one warm-up epoch, then EPOCHS timed; GATHER: batch (default,
                                               each batch's rows gathered in the loop, as a DataLoader does)
                                               or epoch (the shuffled epoch gathered at once, X[perm], then sliced)
  torch_bench.py cnn DATA_DIR BATCH EPOCHS     the CNN of issue #12: WARMUP steps, then EPOCHS timed
  torch_bench.py tape LENGTH REPS              per-op cost of autograd on tiny tensors
  torch_bench.py tiny REPS                     micrograd's case: ten scalar ops built and differentiated REPS times
  torch_bench.py chargpt WORDS BATCH STEPS [MODEL]
                                               issue #20's character-level model (examples/chargpt, MODEL gpt by
                                               default, or lstm, gru): WARMUP steps, then STEPS steps timed one by one

The label ("torch", "torch-threads", ...) comes from $BENCH_LABEL: run.sh
starts this script in each of PyTorch's configurations, which differ only in
their environment (OPENBLAS_NUM_THREADS and OPENBLAS_CORETYPE, which
OpenBLAS reads only when it loads; BENCH_THREADS).
torch.set_num_threads($BENCH_THREADS) only when that is set: without it
PyTorch keeps its own default.
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


def load(data_dir, sample_shape):
    images = read_idx(find(data_dir, "train-images-idx3-ubyte"))
    labels = read_idx(find(data_dir, "train-labels-idx1-ubyte"))
    x = torch.from_numpy(images.reshape((len(images),) + sample_shape).astype(np.float32) / 255.0)
    return x, torch.from_numpy(labels.astype(np.int64))


def train(data_dir, batch, epochs, gather="batch"):
    if gather not in ("batch", "epoch"):
        raise SystemExit(f"torch_bench: GATHER is batch or epoch, not {gather}")
    x, y = load(data_dir, (784,))
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
        if gather == "epoch":
            xe, ye = x[order], y[order]  # timed: part of the epoch's cost
        for start in range(0, n, batch):
            if gather == "epoch":
                xb, yb = xe[start:start + batch], ye[start:start + batch]
            else:
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
                      "label": "epoch gathered at once" if gather == "epoch" else "gathered per batch",
                      "epoch_s": times, "loss": loss_sum / steps,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "rss_after_epoch_mb": rss, "dataset_mb": x.numel() * 4 / 2**20}), flush=True)


def cnn(data_dir, batch, epochs):
    """The CNN of issue #12: conv 5x5 1->16 pad 2, ReLU, max-pool 2, conv 5x5
    16->32 pad 2, ReLU, max-pool 2, flatten, Linear 1568-100, ReLU, dropout
    0.25, Linear 100-10; Adam lr 1e-3, cross-entropy, float32 images in [0, 1].
    WARMUP steps (env, default 50) first, untimed, then EPOCHS timed epochs."""
    x, y = load(data_dir, (1, 28, 28))
    torch.manual_seed(1)
    nn = torch.nn
    net = nn.Sequential(nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(1568, 100), nn.ReLU(), nn.Dropout(0.25), nn.Linear(100, 10))
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    n = len(y)

    def step(idx):
        xb, yb = x.index_select(0, idx), y.index_select(0, idx)  # a gather, as BatchLoader does
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(xb), yb)
        loss.backward()
        opt.step()
        return loss.item()

    warm_order = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    for s in range(int(os.environ.get("WARMUP", "50"))):
        step(warm_order[(s * batch) % n:(s * batch) % n + batch])
    times, cpu, rss = [], [], []
    for epoch in range(1, epochs + 1):
        order = torch.randperm(n, generator=torch.Generator().manual_seed(epoch))
        c0 = time.process_time()  # CPU seconds of all threads: steadier than the wall clock under load
        t0 = time.perf_counter()
        loss_sum, steps = 0.0, 0
        for start in range(0, n, batch):
            loss_sum += step(order[start:start + batch])
            steps += 1
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        rss.append(current_rss_mb())
    print(json.dumps({"kind": "cnn", "impl": LABEL, "batch": batch, "threads": torch.get_num_threads(),
                      "median_s": statistics.median(times), "epoch_s": times, "cpu_s": cpu, "loss": loss_sum / steps,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "rss_after_epoch_mb": rss, "dataset_mb": x.numel() * 4 / 2**20}), flush=True)


def probe():
    """One line on this configuration: PyTorch's intra-op threads, and the
    kernel and threads of the OpenBLAS it loaded (threadpoolctl reads them
    from the library). One float32 product first, so that a kernel this CPU
    cannot run dies here ("Illegal instruction") and run.sh records the
    configuration as failed before timing anything."""
    a = torch.full((256, 256), 0.5)
    torch.mm(a, a)
    blas = {}
    try:
        import threadpoolctl
        blas = next((i for i in threadpoolctl.threadpool_info() if i.get("internal_api") == "openblas"), {})
    except ImportError:  # python3-threadpoolctl missing: the kernel stays unknown
        pass
    env = {k: os.environ[k] for k in ("OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "OMP_NUM_THREADS", "BENCH_THREADS")
           if k in os.environ}
    print(json.dumps({"kind": "torch_config", "impl": LABEL, "env": env, "torch": torch.__version__,
                      "torch_threads": torch.get_num_threads(), "openblas_kernel": blas.get("architecture"),
                      "openblas_threads": blas.get("num_threads"), "openblas_version": blas.get("version")}),
          flush=True)


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


def tiny(reps):
    """micrograd's case, as tapegrad_bench's: h = tanh(x1 w1 + x2 w2 + b1),
    o = tanh(h w3 + b2), loss = (o - y)^2 (ten recorded ops) on 0-d float64
    tensors, built and differentiated `reps` times; the gradients accumulate."""
    def scalar(v, requires_grad=False):
        return torch.tensor(v, dtype=torch.float64, requires_grad=requires_grad)
    x1, x2, y = scalar(2.0), scalar(0.0), scalar(0.5)
    w1, w2, w3 = scalar(-3.0, True), scalar(1.0, True), scalar(0.7, True)
    b1, b2 = scalar(6.8813735870195432, True), scalar(0.1, True)
    t0 = time.perf_counter()
    for _ in range(reps):
        h = torch.tanh(x1 * w1 + x2 * w2 + b1)
        o = torch.tanh(h * w3 + b2)
        d = o - y
        loss = d * d
        loss.backward()
    s = time.perf_counter() - t0
    print(json.dumps({"kind": "tiny", "impl": LABEL, "ops": 10, "reps": reps, "us_per_step": s / reps * 1e6,
                      "w1_grad": w1.grad.item()}), flush=True)


def chargpt(words_path, batch, steps, model_kind="gpt"):
    """One training step of issue #20's character-level model, exactly as
    examples/chargpt/torch_reference.py trains it (batch words drawn with
    replacement from the training words, their rows gathered, forward,
    cross-entropy, backward, AdamW), timed one step at a time after WARMUP
    (env, default 50) untimed steps: the best step (what the model costs
    when nothing else runs) and the median."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "chargpt"))
    import torch_reference as ref
    train_words, _ = ref.split(ref.read_words(words_path))
    x, y = ref.rows(train_words)
    torch.manual_seed(1)
    model = ref.make_model(model_kind)
    model.train()
    opt = ref.make_optimizer(model)
    generator = torch.Generator().manual_seed(1)

    def step():
        idx = torch.randint(len(train_words), (batch,), generator=generator)
        return ref.train_step(model, opt, x[idx], y[idx])

    for _ in range(int(os.environ.get("WARMUP", "50"))):
        step()
    times, loss = [], 0.0
    for _ in range(steps):
        t0 = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - t0)
    print(json.dumps({"kind": "chargpt", "impl": LABEL, "model": model_kind, "batch": batch,
                      "threads": torch.get_num_threads(), "steps": steps,
                      "best_ms": min(times) * 1e3, "median_ms": statistics.median(times) * 1e3, "loss": loss}),
          flush=True)


def main():
    if os.environ.get("BENCH_THREADS"):
        torch.set_num_threads(int(os.environ["BENCH_THREADS"]))
    args = sys.argv[1:]
    if args == ["probe"]:
        probe()
    elif len(args) in (4, 5) and args[0] == "train":
        train(args[1], int(args[2]), int(args[3]), *args[4:])
    elif len(args) == 4 and args[0] == "cnn":
        cnn(args[1], int(args[2]), int(args[3]))
    elif len(args) == 3 and args[0] == "tape":
        tape(int(args[1]), int(args[2]))
    elif len(args) == 2 and args[0] == "tiny":
        tiny(int(args[1]))
    elif len(args) in (4, 5) and args[0] == "chargpt":
        chargpt(args[1], int(args[2]), int(args[3]), *args[4:])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
