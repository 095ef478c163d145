#!/usr/bin/python3
"""PyTorch's run of `mnist --model cnn`, for the parity figures of docs/cli.md.

The same network (examples/mnist/cnn.hpp), data, split sizes (10% held out
for validation), optimizer (Adam, lr 1e-3), batch size (64), --shift (each
training image moved by up to N pixels, drawn anew every batch), early
stopping (patience 5 on the validation loss, then the best epoch's weights)
and evaluation as the tapegrad program; the random streams are PyTorch's own,
so single runs differ by seed noise, not by design. Needs torch (1.13) and
numpy; tapegrad never needs it. From the repository root:

    /usr/bin/python3 examples/mnist/torch_reference.py --data data/mnist --shift 1
    /usr/bin/python3 examples/mnist/torch_reference.py --data /usr/share/datasets/fashion-mnist
"""
import argparse
import copy
import gzip
import os
import time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_split(directory, prefix):
    def find(stem):
        for path in (os.path.join(directory, stem), os.path.join(directory, stem + ".gz")):
            if os.path.exists(path):
                return path
        raise FileNotFoundError(os.path.join(directory, stem))
    images = read_idx(find(prefix + "-images-idx3-ubyte")).astype(np.float32) / 255.0
    labels = read_idx(find(prefix + "-labels-idx1-ubyte")).astype(np.int64)
    return torch.from_numpy(images).unsqueeze(1), torch.from_numpy(labels)


def cnn():
    return nn.Sequential(
        nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 100), nn.ReLU(), nn.Dropout(0.25), nn.Linear(100, 10))


def random_shift(images, max_shift, generator):
    """Each image moved by its own (dy, dx) in [-max_shift, max_shift], zero-filled."""
    if max_shift == 0:
        return images
    n, _, h, w = images.shape
    padded = F.pad(images, (max_shift,) * 4)
    offsets = torch.randint(0, 2 * max_shift + 1, (n, 2), generator=generator)
    out = torch.empty_like(images)
    for i in range(n):
        y, x = (2 * max_shift - offsets[i]).tolist()
        out[i] = padded[i, :, y:y + h, x:x + w]
    return out


def evaluate(model, images, labels):
    model.eval()
    with torch.no_grad():
        logits = torch.cat([model(images[i:i + 2000]) for i in range(0, len(images), 2000)])
    return F.cross_entropy(logits, labels).item(), (logits.argmax(1) == labels).float().mean().item()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="data/mnist")
    parser.add_argument("--shift", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--early-stop", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(args.seed)

    train_x, train_y = load_split(args.data, "train")
    test_x, test_y = load_split(args.data, "t10k")
    order = torch.randperm(len(train_y), generator=generator)
    n_valid = len(train_y) // 10
    valid_idx, train_idx = order[:n_valid].sort().values, order[n_valid:].sort().values
    valid_x, valid_y = train_x[valid_idx], train_y[valid_idx]
    train_x, train_y = train_x[train_idx], train_y[train_idx]
    print(f"training {len(train_y)} samples, validating on {len(valid_y)}, testing on {len(test_y)}", flush=True)

    model = cnn()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    best_loss, best_state, best_epoch, waited = float("inf"), None, 0, 0
    for epoch in range(1, args.epochs + 1):
        model.train()
        start = time.perf_counter()
        perm = torch.randperm(len(train_y), generator=generator)
        loss_sum = 0.0
        for i in range(0, len(perm), 64):
            batch = perm[i:i + 64]
            x = random_shift(train_x[batch], args.shift, generator)
            loss = F.cross_entropy(model(x), train_y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(batch)
        seconds = time.perf_counter() - start
        valid_loss, valid_accuracy = evaluate(model, valid_x, valid_y)
        print(f"epoch {epoch:3d}/{args.epochs}  train loss {loss_sum / len(perm):.4f}  valid loss {valid_loss:.4f}  "
              f"valid accuracy {valid_accuracy:.4f}  {seconds:.2f}s", flush=True)
        if valid_loss < best_loss:
            best_loss, best_state, best_epoch, waited = valid_loss, copy.deepcopy(model.state_dict()), epoch, 0
        else:
            waited += 1
            if args.early_stop and waited >= args.early_stop:
                break
    if args.early_stop:
        model.load_state_dict(best_state)
        print(f"kept the weights of epoch {best_epoch} (best validation loss {best_loss:.4f})")
    print(f"test accuracy: {evaluate(model, test_x, test_y)[1]:.4f}")


if __name__ == "__main__":
    main()
