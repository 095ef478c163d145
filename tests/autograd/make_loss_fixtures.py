#!/usr/bin/python3
"""Makes tests/autograd/fixtures/losses.npz: PyTorch's values and gradients of
its losses on fixed numbers, for test_loss_torch.cpp (torch 1.13, numpy).

PyTorch is needed only to run this script, by hand, never to build or test
tapegrad. From the repository root:

    /usr/bin/python3 tests/autograd/make_loss_fixtures.py tests/autograd/fixtures

tapegrad's nll_loss and cross_entropy take the classes along the LAST axis,
so PyTorch computes them on logits.view(-1, C) and targets.view(-1), the same
numbers. For each case <c> (float64 unless said):

  <c>_logits, <c>_targets (int64, or float64 for a distribution), <c>_v (the
  weights of reduction='none': its gradient is that of sum(loss * v)),
  <c>_options (float64: ignore_index, label_smoothing),
  <c>_<loss>_<reduction>        the loss, reduction in mean, sum, none
  <c>_<loss>_<reduction>_grad   its gradient with respect to the logits
  (and _tgrad: to the targets, for a target distribution)

<loss> is ce (cross_entropy) or nll (nll_loss, the logits taken as
log-probabilities), and mse, bce (binary_cross_entropy_with_logits), huber
(delta 0.5) on the elementwise cases.
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

REDUCTIONS = ("mean", "sum", "none")
out = {}


def grads_of(loss, reduction, v, *inputs):
    total = (loss * v).sum() if reduction == "none" else loss
    return torch.autograd.grad(total, inputs, allow_unused=True)


def class_case(name, logits, targets, ignore_index=-100, label_smoothing=0.0):
    logits = torch.tensor(logits, dtype=torch.float64)
    targets = torch.tensor(targets, dtype=torch.int64)
    classes = logits.shape[-1]
    g = torch.Generator().manual_seed(len(out))
    v = torch.rand(targets.shape, generator=g, dtype=torch.float64) + 0.5
    out[f"{name}_logits"] = logits.numpy()
    out[f"{name}_targets"] = targets.numpy()
    out[f"{name}_v"] = v.numpy()
    out[f"{name}_options"] = np.array([ignore_index, label_smoothing], dtype=np.float64)
    for reduction in REDUCTIONS:
        x = logits.clone().requires_grad_()
        flat = x.reshape(-1, classes)
        ce = F.cross_entropy(flat, targets.reshape(-1), ignore_index=ignore_index, reduction=reduction,
                             label_smoothing=label_smoothing)
        if reduction == "none":
            ce = ce.reshape(targets.shape)
        (grad,) = grads_of(ce, reduction, v, x)
        out[f"{name}_ce_{reduction}"] = ce.detach().numpy()
        out[f"{name}_ce_{reduction}_grad"] = grad.numpy()
        x = logits.clone().requires_grad_()
        nll = F.nll_loss(x.reshape(-1, classes), targets.reshape(-1), ignore_index=ignore_index, reduction=reduction)
        if reduction == "none":
            nll = nll.reshape(targets.shape)
        (grad,) = grads_of(nll, reduction, v, x)
        out[f"{name}_nll_{reduction}"] = nll.detach().numpy()
        out[f"{name}_nll_{reduction}_grad"] = grad.numpy()


def distribution_case(name, logits, targets, label_smoothing):
    logits = torch.tensor(logits, dtype=torch.float64)
    targets = torch.tensor(targets, dtype=torch.float64)
    classes = logits.shape[-1]
    g = torch.Generator().manual_seed(len(out))
    v = torch.rand(logits.shape[:-1], generator=g, dtype=torch.float64) + 0.5
    out[f"{name}_logits"] = logits.numpy()
    out[f"{name}_targets"] = targets.numpy()
    out[f"{name}_v"] = v.numpy()
    out[f"{name}_options"] = np.array([-100, label_smoothing], dtype=np.float64)
    for reduction in REDUCTIONS:
        x = logits.clone().requires_grad_()
        t = targets.clone().requires_grad_()
        ce = F.cross_entropy(x.reshape(-1, classes), t.reshape(-1, classes), reduction=reduction,
                             label_smoothing=label_smoothing)
        if reduction == "none":
            ce = ce.reshape(logits.shape[:-1])
        grad, tgrad = grads_of(ce, reduction, v, x, t)
        out[f"{name}_ce_{reduction}"] = ce.detach().numpy()
        out[f"{name}_ce_{reduction}_grad"] = grad.numpy()
        out[f"{name}_ce_{reduction}_tgrad"] = tgrad.numpy()


def elementwise_case(name, inputs, targets):
    inputs = torch.tensor(inputs, dtype=torch.float64)
    targets = torch.tensor(targets, dtype=torch.float64)
    g = torch.Generator().manual_seed(len(out))
    v = torch.rand(inputs.shape, generator=g, dtype=torch.float64) + 0.5
    out[f"{name}_logits"] = inputs.numpy()
    out[f"{name}_targets"] = targets.numpy()
    out[f"{name}_v"] = v.numpy()
    losses = {"mse": F.mse_loss, "bce": F.binary_cross_entropy_with_logits,
              "huber": lambda a, b, reduction: F.huber_loss(a, b, reduction=reduction, delta=0.5)}
    for key, loss in losses.items():
        for reduction in REDUCTIONS:
            x = inputs.clone().requires_grad_()
            value = loss(x, targets, reduction=reduction)
            (grad,) = grads_of(value, reduction, v, x)
            out[f"{name}_{key}_{reduction}"] = value.detach().numpy()
            out[f"{name}_{key}_{reduction}_grad"] = grad.numpy()


def main():
    torch.manual_seed(20)
    r = lambda *shape: torch.randn(*shape, dtype=torch.float64).mul(2).tolist()
    inf, nan = math.inf, math.nan
    class_case("rows", r(4, 5), [2, -100, 0, 4])
    class_case("rows_smooth", r(4, 5), [1, -1, 3, 0], ignore_index=-1, label_smoothing=0.1)
    class_case("seq", r(2, 3, 4), [[1, 3, -1], [0, -1, -1]], ignore_index=-1, label_smoothing=0.2)
    class_case("one", r(1, 3), [2])
    class_case("column", r(3, 1, 4), [[1], [-1], [3]], ignore_index=-1, label_smoothing=0.05)
    class_case("vector", r(5), 3, label_smoothing=0.1)
    class_case("full_smooth", r(3, 4), [0, 1, 2], label_smoothing=1.0)
    class_case("all_ignored", r(2, 3), [-1, -1], ignore_index=-1, label_smoothing=0.1)
    nonfinite = [[nan, 0.0, 1.0], [-inf, 0.5, 1.0], [inf, 0.0, 1.0], [-inf, 2.0, 0.0], [nan, 1.0, 2.0],
                 [-inf, -inf, -inf]]
    class_case("nonfinite", nonfinite, [0, 1, 2, 0, -100, 1])
    class_case("nonfinite_smooth", nonfinite, [0, 1, 2, 1, -100, 1], label_smoothing=0.1)
    class_case("minus_inf", [[-inf, 0.5, 1.0], [0.0, -inf, 2.0]], [1, 2])
    class_case("minus_inf_smooth", [[-inf, 0.5, 1.0], [0.0, -inf, 2.0]], [1, 2], label_smoothing=0.1)
    probs = torch.softmax(torch.randn(3, 4, dtype=torch.float64), -1).tolist()
    distribution_case("probs", r(3, 4), probs, 0.0)
    distribution_case("probs_smooth", r(3, 4), probs, 0.15)
    distribution_case("probs_seq", r(2, 2, 3), torch.softmax(torch.randn(2, 2, 3, dtype=torch.float64), -1).tolist(), 0.1)
    elementwise_case("elementwise", r(2, 3), torch.rand(2, 3, dtype=torch.float64).tolist())
    elementwise_case("elementwise_nan", [[nan, 1.0, -0.2]], [[0.5, nan, 0.0]])
    np.savez(os.path.join(sys.argv[1] if len(sys.argv) > 1 else ".", "losses.npz"), **out)


if __name__ == "__main__":
    main()
