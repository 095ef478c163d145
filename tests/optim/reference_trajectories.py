"""Reference optimizer trajectories for tests/optim/test_{sgd,adam}.cpp.

Run with Debian's python (it has numpy):  /usr/bin/python3 tests/optim/reference_trajectories.py
It prints the C++ arrays pasted into the tests. The updates are written from
PyTorch's documented algorithms (torch.optim.SGD / Adam / AdamW pseudo-code;
for amsgrad the max is taken over the raw second moment, as torch's code does),
independently of tapegrad's implementation.

Problem: one parameter p of 4 values, loss = 0.5 * sum(a * p^2) + sum(b * tanh(p)),
so grad = a * p + b * (1 - tanh(p)^2).
"""
import numpy as np

P0 = np.array([0.5, -1.5, 2.0, -0.25])
A = np.array([1.0, 2.0, 0.5, 3.0])
B = np.array([0.3, -0.7, 1.1, 0.2])
STEPS = 5


def grad(p):
    return A * p + B * (1 - np.tanh(p) ** 2)


def sgd(lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
    p, buf, out = P0.copy(), None, []
    for _ in range(STEPS):
        g = grad(p)
        if weight_decay:
            g = g + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
        out.append(p.copy())
    return out


def adam(lr, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False, decoupled=False):
    p, m, v, vmax, out = P0.copy(), np.zeros(4), np.zeros(4), np.zeros(4), []
    for t in range(1, STEPS + 1):
        g = grad(p)
        if weight_decay and decoupled:
            p = p * (1 - lr * weight_decay)
        elif weight_decay:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        if amsgrad:
            vmax = np.maximum(vmax, v)
            vhat = vmax / (1 - b2 ** t)
        else:
            vhat = v / (1 - b2 ** t)
        mhat = m / (1 - b1 ** t)
        p = p - lr * mhat / (np.sqrt(vhat) + eps)
        out.append(p.copy())
    return out


def show(name, trajectory):
    rows = ",\n    ".join("{" + ", ".join(f"{x:.17g}" for x in p) + "}" for p in trajectory)
    print(f"// {name}\n{{\n    {rows}\n}}")


show("sgd lr=0.1", sgd(0.1))
show("sgd lr=0.1 momentum=0.9 dampening=0.5 weight_decay=0.01", sgd(0.1, 0.9, 0.5, False, 0.01))
show("sgd lr=0.05 momentum=0.9 nesterov weight_decay=1e-4", sgd(0.05, 0.9, 0.0, True, 1e-4))
show("adam lr=0.1", adam(0.1))
show("adam lr=0.1 betas=(0.8,0.99) weight_decay=0.1 amsgrad", adam(0.1, 0.8, 0.99, 1e-8, 0.1, True))
show("adamw lr=0.1 weight_decay=0.01", adam(0.1, weight_decay=0.01, decoupled=True))
