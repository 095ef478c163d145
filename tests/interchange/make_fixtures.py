#!/usr/bin/python3
"""Makes the PyTorch side of tests/interchange's fixtures (torch 1.13, numpy).

PyTorch is needed only to run this script, by hand, never to build or test
tapegrad. From the repository root:

    build/tests/interchange/write_tapegrad_fixtures tests/interchange/fixtures   # tapegrad's weights
    /usr/bin/python3 tests/interchange/make_fixtures.py tests/interchange/fixtures

It writes, for two networks (the mnist example's CNN, and a small network
with BatchNorm2d and BatchNorm1d whose running statistics are not the
defaults):

  torch_<net>.npz     the state_dict, saved the natural way
                      (np.savez(f, **{k: v.numpy() for k, v in sd.items()}))
  torch_<net>_io.npz  `inputs` (a few images, pixels in [0, 1]) and `logits`,
                      what PyTorch computes for them in eval mode

and, when tapegrad's weights are there (tapegrad_<net>.npz and
tapegrad_<net>_io.npz with `inputs`, from write_tapegrad_fixtures), loads
them with load_state_dict (strict) and adds `torch_logits`, PyTorch's eval
logits for those inputs, to tapegrad_<net>_io.npz. The test then checks that
tapegrad reproduces both sets of logits.
"""
import os
import sys

import numpy as np
import torch
from torch import nn


def cnn():
    """The mnist example's --model cnn (examples/mnist/cnn.hpp), 28x28 inputs."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 100), nn.ReLU(), nn.Dropout(0.25), nn.Linear(100, 10))


def batchnorm_net():
    """A small network with both batch norms, 8x8 inputs (tests/interchange/nets.hpp)."""
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(4 * 4 * 4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))


NETS = {"cnn": (cnn, 28), "bn": (batchnorm_net, 8)}


def save_state_dict(path, model):
    np.savez(path, **{k: v.numpy() for k, v in model.state_dict().items()})


def eval_logits(model, inputs):
    model.eval()
    with torch.no_grad():
        return model(torch.from_numpy(inputs)).numpy()


def make_torch_fixtures(out, name, seed):
    build, side = NETS[name]
    torch.manual_seed(seed)
    model = build()
    if name == "bn":
        # Non-default affine parameters and running statistics: a few
        # training-mode batches whose mean and spread are far from 0 and 1.
        for module in model.modules():
            if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
                nn.init.uniform_(module.weight, 0.5, 1.5)
                nn.init.uniform_(module.bias, -0.5, 0.5)
        model.train()
        with torch.no_grad():
            for _ in range(5):
                model(0.5 + 0.3 * torch.randn(16, 1, side, side))
    inputs = torch.rand(3, 1, side, side).numpy()  # pixels scaled to [0, 1]
    save_state_dict(os.path.join(out, f"torch_{name}.npz"), model)
    np.savez(os.path.join(out, f"torch_{name}_io.npz"), inputs=inputs, logits=eval_logits(model, inputs))


def tapegrad_files(out, name, writer):
    """The paths of tapegrad's weights <name>.npz and <name>_io.npz in `out`,
    or None (said on stderr) when `writer` has not made them yet."""
    weights, io_path = os.path.join(out, f"{name}.npz"), os.path.join(out, f"{name}_io.npz")
    if not os.path.exists(weights):
        print(f"{weights} is missing: run {writer} first; skipped", file=sys.stderr)
        return None
    return weights, io_path


def load_npz_state(model, path):
    """load_state_dict (strict: every name and shape) from an .npz."""
    with np.load(path) as saved:
        model.load_state_dict({k: torch.from_numpy(saved[k]) for k in saved.files})


def record_torch_logits_of_tapegrad_weights(out, name):
    paths = tapegrad_files(out, f"tapegrad_{name}", "write_tapegrad_fixtures")
    if paths is None:
        return
    weights, io_path = paths
    model = NETS[name][0]()
    load_npz_state(model, weights)
    with np.load(io_path) as io:
        inputs = io["inputs"]
    add_members(io_path, {"torch_logits": eval_logits(model, inputs)})


def add_members(path, new):
    """Adds the arrays of the dict `new` to the .npz at `path`, replacing those of the same names."""
    with np.load(path) as io:
        members = {k: io[k] for k in io.files}
    members.update(new)
    np.savez(path, **members)


def output_dir():
    """The directory given on the command line, else fixtures/ beside this script."""
    return sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "fixtures")


def main():
    out = output_dir()
    torch.set_num_threads(1)
    for seed, name in enumerate(NETS):
        make_torch_fixtures(out, name, seed)
        record_torch_logits_of_tapegrad_weights(out, name)


if __name__ == "__main__":
    main()
