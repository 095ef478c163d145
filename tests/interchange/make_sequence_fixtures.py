#!/usr/bin/python3
"""Makes the PyTorch side of the sequence-module fixtures (torch 1.13, numpy),
for tests/interchange/test_sequence_modules.cpp: Embedding, LSTM, GRU,
LSTMCell and GRUCell, all in float64.

PyTorch is needed only to run this script, by hand, never to build or test
tapegrad. From the repository root:

    build/tests/interchange/write_sequence_fixtures tests/interchange/fixtures   # tapegrad's weights
    /usr/bin/python3 tests/interchange/make_sequence_fixtures.py tests/interchange/fixtures

For each case in CASES it writes

  seq_<case>.npz     the module's state_dict, saved the natural way
  seq_<case>_io.npz  `config` (how to build the module, see config_of),
                     `input` (token ids for Embedding), `h0` and `c0` when
                     the case gives initial states, what PyTorch computes
                     (`output`, `h_n`, `c_n`), random weights `r_<result>`
                     for the loss sum(output * r_output) + sum(h_n * r_h_n)
                     + ..., and the loss's gradients `grad.<name>` for every
                     parameter, for `input` (not for ids) and the initial states.

Then, for tapegrad -> PyTorch, when tapegrad's weights are there
(tapegrad_seq_<net>.npz and tapegrad_seq_<net>_io.npz with `config` and
`input`, from write_sequence_fixtures), it loads them with load_state_dict
(strict: every name and shape) and adds PyTorch's `torch_output` (and
`torch_h_n`, `torch_c_n`) to tapegrad_seq_<net>_io.npz.
"""
import os

import numpy as np
import torch
from torch import nn

from make_fixtures import add_members, load_npz_state, output_dir, tapegrad_files

# name: (module, its arguments, input shape, whether initial states are given)
CASES = {}
for _kind in ("LSTM", "GRU"):
    _prefix = _kind.lower()
    CASES.update({
        _prefix: (_kind, dict(input_size=3, hidden_size=4), (5, 2, 3), False),
        _prefix + "_deep_batch_first_states": (_kind, dict(input_size=3, hidden_size=4, num_layers=2, batch_first=True),
                                               (2, 5, 3), True),
        _prefix + "_bidirectional": (_kind, dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True),
                                     (4, 3, 3), True),
        _prefix + "_bidirectional_batch_first": (_kind, dict(input_size=2, hidden_size=3, bidirectional=True,
                                                             batch_first=True), (3, 4, 2), False),
        _prefix + "_no_bias_one_step_one_row": (_kind, dict(input_size=3, hidden_size=4, num_layers=2, bias=False),
                                                (1, 1, 3), True),
        _prefix + "_unbatched": (_kind, dict(input_size=3, hidden_size=4, num_layers=2), (5, 3), True),
        _prefix + "_cell": (_kind + "Cell", dict(input_size=3, hidden_size=4), (2, 3), True),
        _prefix + "_cell_unbatched_zero_state": (_kind + "Cell", dict(input_size=3, hidden_size=4, bias=False), (3,),
                                                 False),
    })
CASES.update({
    # ids of shape (2, 4) with the padding id 2 three times and a repeated id
    "embedding_padding": ("Embedding", dict(num_embeddings=7, embedding_dim=3, padding_idx=2), (2, 4), False),
    "embedding": ("Embedding", dict(num_embeddings=5, embedding_dim=2), (3,), False),
})

# Weights tapegrad writes (write_sequence_fixtures.cpp), loaded into PyTorch.
TAPEGRAD_NETS = ["lstm", "gru", "embedding"]


def config_of(kind, args):
    """The module as numbers, for the C++ test to build the same one:
    [kind (0 LSTM, 1 GRU, 2 LSTMCell, 3 GRUCell, 4 Embedding), size0, size1,
    num_layers, bias, batch_first, bidirectional, padding_idx or -1]."""
    kinds = ["LSTM", "GRU", "LSTMCell", "GRUCell", "Embedding"]
    if kind == "Embedding":
        pad = args.get("padding_idx")
        return np.array([4, args["num_embeddings"], args["embedding_dim"], 1, 1, 0, 0, -1 if pad is None else pad],
                        dtype=np.int64)
    return np.array([kinds.index(kind), args["input_size"], args["hidden_size"], args.get("num_layers", 1),
                     int(args.get("bias", True)), int(args.get("batch_first", False)),
                     int(args.get("bidirectional", False)), -1], dtype=np.int64)


def build(kind, args):
    return getattr(nn, kind)(**args).double()


def run(kind, module, x, states):
    """The module's results as a dict of tensors: output, h_n (and c_n)."""
    if kind == "Embedding":
        return {"output": module(x)}
    if kind == "LSTM":
        output, (h_n, c_n) = module(x, tuple(states) if states else None)
        return {"output": output, "h_n": h_n, "c_n": c_n}
    if kind == "GRU":
        output, h_n = module(x, states[0] if states else None)
        return {"output": output, "h_n": h_n}
    if kind == "LSTMCell":
        h, c = module(x, tuple(states) if states else None)
        return {"h_n": h, "c_n": c}
    return {"h_n": module(x, states[0] if states else None)}  # GRUCell


def state_shape(kind, args, shape):
    if kind in ("LSTMCell", "GRUCell"):
        return shape[:-1] + (args["hidden_size"],)
    layers = args.get("num_layers", 1) * (2 if args.get("bidirectional", False) else 1)
    batch = () if len(shape) == 2 else (shape[0] if args.get("batch_first", False) else shape[1],)
    return (layers,) + batch + (args["hidden_size"],)


def make_case(out, name, seed):
    kind, args, shape, with_states = CASES[name]
    torch.manual_seed(seed)
    module = build(kind, args)
    if kind == "Embedding":
        x = torch.randint(0, args["num_embeddings"], shape)
        if args.get("padding_idx") is not None:
            x.view(-1)[[0, 3, 6]] = args["padding_idx"]
    else:
        x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    states = []
    if with_states:
        count = 2 if kind in ("LSTM", "LSTMCell") else 1
        states = [torch.randn(state_shape(kind, args, shape), dtype=torch.float64, requires_grad=True)
                  for _ in range(count)]
    results = run(kind, module, x, states)
    weights = {k: torch.randn(v.shape, dtype=torch.float64) for k, v in results.items()}
    loss = sum((results[k] * weights[k]).sum() for k in results)
    loss.backward()

    np.savez(os.path.join(out, f"seq_{name}.npz"), **{k: v.detach().numpy() for k, v in module.state_dict().items()})
    members = {"config": config_of(kind, args), "input": x.detach().numpy()}
    for state_name, state in zip(["h0", "c0"], states):
        members[state_name] = state.detach().numpy()
        members["grad." + state_name] = state.grad.numpy()
    if kind != "Embedding":
        members["grad.input"] = x.grad.numpy()
    for k, v in results.items():
        members[k] = v.detach().numpy()
        members["r_" + k] = weights[k].numpy()
    for k, p in module.named_parameters():
        members["grad." + k] = p.grad.numpy()
    np.savez(os.path.join(out, f"seq_{name}_io.npz"), **members)


def record_torch_results_of_tapegrad_weights(out, name):
    paths = tapegrad_files(out, f"tapegrad_seq_{name}", "write_sequence_fixtures")
    if paths is None:
        return
    weights, io_path = paths
    with np.load(io_path) as io:
        config, inputs = io["config"], io["input"]
    kind = ["LSTM", "GRU", "LSTMCell", "GRUCell", "Embedding"][config[0]]
    if kind == "Embedding":
        args = dict(num_embeddings=int(config[1]), embedding_dim=int(config[2]))
        if config[7] >= 0:
            args["padding_idx"] = int(config[7])
    else:
        args = dict(input_size=int(config[1]), hidden_size=int(config[2]), num_layers=int(config[3]),
                    bias=bool(config[4]), batch_first=bool(config[5]), bidirectional=bool(config[6]))
    module = build(kind, args)
    load_npz_state(module, weights)
    with torch.no_grad():
        results = run(kind, module, torch.from_numpy(inputs), [])
    add_members(io_path, {"torch_" + k: v.numpy() for k, v in results.items()})


def main():
    out = output_dir()
    torch.set_num_threads(1)
    for seed, name in enumerate(CASES):
        make_case(out, name, seed)
    for name in TAPEGRAD_NETS:
        record_torch_results_of_tapegrad_weights(out, name)


if __name__ == "__main__":
    main()
