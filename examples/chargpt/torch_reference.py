#!/usr/bin/python3
"""PyTorch's run of `chargpt`, for the parity figures of docs/cli.md (issue #20).

The same data, split, models, optimizer and test loss as the tapegrad
program (examples/chargpt); only the random streams of the initialisation
and of the batches are PyTorch's own, so single runs differ by seed noise,
not by design. Needs torch (1.13) and numpy; tapegrad never needs it.
From the repository root:

    /usr/bin/python3 examples/chargpt/torch_reference.py --seed 1
    /usr/bin/python3 examples/chargpt/torch_reference.py --model lstm --save lstm.npz
    /usr/bin/python3 examples/chargpt/torch_reference.py --load chargpt.npz   # weights chargpt saved

Data: the lines of Debian's word list (package wamerican) that are one or
more of a-z and nothing else, at most BLOCK - 1 = 22 letters (63,875 words,
the longest 22). Tokens: '.' = 0, 'a'..'z' = 1..26. A word w gives the row
x = [0] + w, y = w + [0], both padded to BLOCK = 23: x with 0 (the model
never looks ahead, so what follows the end does not matter), y with -1, the
ignore_index of the loss. The test set is the first 1,000 entries of
tapegrad::permutation(63875, TEST_SPLIT_SEED), reimplemented bit for bit
below (permutation()), the training set the rest in that order; the split
does not depend on --seed, so every seed and both programs are measured on
the same 1,000 words. The test loss is the mean cross-entropy in nats per
character over every non-ignored position of the test words (each word's
letters and its end), printed last.

Models (float32, PyTorch's default initialisation), and their state_dict
names, which are also the .npz keys that chargpt writes and reads:
  gpt   makemore's Transformer (karpathy/makemore, makemore.py) at n_embd 64,
        4 heads of 16, 2 pre-LN blocks, MLP 64-256-64 with tanh GELU:
          transformer.wte.weight (27, 64), transformer.wpe.weight (23, 64),
          transformer.h.{0,1}.ln_1.{weight,bias} (64),
          transformer.h.{0,1}.attn.c_attn.weight (192, 64) and .bias (192)  (q, k, v in that order),
          transformer.h.{0,1}.attn.c_proj.weight (64, 64) and .bias,
          transformer.h.{0,1}.ln_2.{weight,bias} (64),
          transformer.h.{0,1}.mlp.c_fc.weight (256, 64) and .bias,
          transformer.h.{0,1}.mlp.c_proj.weight (64, 256) and .bias,
          transformer.ln_f.{weight,bias} (64), lm_head.weight (27, 64) (no bias).
        makemore's causal-mask buffer is not persistent here, so the state_dict
        holds the parameters only.
  lstm, gru  Embedding 64, one nn.LSTM / nn.GRU layer of hidden 128
        (batch_first, zero initial state), Linear 128 -> 27:
          wte.weight (27, 64), rnn.weight_ih_l0 (4*128 or 3*128, 64),
          rnn.weight_hh_l0 (4*128 or 3*128, 128), rnn.bias_ih_l0, rnn.bias_hh_l0,
          lm_head.weight (27, 128), lm_head.bias (27).

Training: AdamW (lr 5e-4, betas (0.9, 0.99), eps 1e-8, weight decay 0.01 on
every parameter, as makemore), --steps steps of --batch-size words drawn
from the training set with replacement (torch.randint on a generator seeded
by --seed), each step's loss the mean cross-entropy over the batch's
non-ignored positions.
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

WORDS = "/usr/share/dict/american-english"
BLOCK = 23          # the longest word (22 letters) plus the start or end token
VOCAB = 27          # '.' and a..z
TEST_WORDS = 1000
TEST_SPLIT_SEED = 20  # issue #20; fixed, not --seed (see the docstring)
MASK64 = (1 << 64) - 1


# --- tapegrad::permutation (autograd/random.cpp), bit for bit ---------------
# SplitMix64: state += 0x9e3779b97f4a7c15, then z = state; z = (z ^ z >> 30) *
# 0xbf58476d1ce4e5b9; z = (z ^ z >> 27) * 0x94d049bb133111eb; out z ^ z >> 31,
# all modulo 2^64. below(bound): draw x until x < 2^64-1 - (2^64-1) % bound,
# return x % bound. permutation(n, seed): order = 0..n-1, then for i = n down
# to 2, j = below(i), swap order[i-1] and order[j] (Fisher-Yates), one
# generator started at `seed`.
def permutation(n, seed):
    state = seed & MASK64

    def below(bound):
        nonlocal state
        limit = MASK64 - MASK64 % bound
        while True:
            state = (state + 0x9E3779B97F4A7C15) & MASK64
            z = state
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
            z ^= z >> 31
            if z < limit:
                return z % bound

    order = list(range(n))
    for i in range(n, 1, -1):
        j = below(i)
        order[i - 1], order[j] = order[j], order[i - 1]
    return order


# --- data -----------------------------------------------------------------
def read_words(path):
    """The lines of `path` (split at '\\n' only) that are 1 to BLOCK - 1 bytes
    of a-z; every other line is skipped."""
    if not os.path.exists(path):
        raise SystemExit(f"torch_reference: no word list at {path}; install it with "
                         f"`sudo apt-get install wamerican` (or run scripts/setup-data.sh as root)")
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    return [line.decode() for line in lines
            if 0 < len(line) < BLOCK and all(ord("a") <= c <= ord("z") for c in line)]


def encode(word):
    return [ord(c) - ord("a") + 1 for c in word]


def decode(tokens):
    """The word the tokens spell up to the first end token (0)."""
    word = []
    for t in tokens:
        if t == 0:
            break
        word.append(chr(t - 1 + ord("a")))
    return "".join(word)


def rows(words):
    """(x, y) int64 tensors of shape (len(words), BLOCK), as the docstring says."""
    x = torch.zeros((len(words), BLOCK), dtype=torch.int64)
    y = torch.full((len(words), BLOCK), -1, dtype=torch.int64)
    for i, w in enumerate(words):
        t = torch.tensor(encode(w), dtype=torch.int64)
        x[i, 1:1 + len(t)] = t
        y[i, :len(t)] = t
        y[i, len(t)] = 0
    return x, y


def split(words, test_count=TEST_WORDS):
    """(training words, test words): words[p[test_count:]] and words[p[:test_count]],
    p = permutation(len(words), TEST_SPLIT_SEED)."""
    order = permutation(len(words), TEST_SPLIT_SEED)
    return [words[i] for i in order[test_count:]], [words[i] for i in order[:test_count]]


# --- models ---------------------------------------------------------------
class NewGELU(nn.Module):
    """makemore's (and GPT-2's) tanh approximation of GELU."""
    def forward(self, x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, block):
        super().__init__()
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)
        # makemore's mask, not part of the state_dict (persistent=False)
        self.register_buffer("bias", torch.tril(torch.ones(block, block)).view(1, 1, block, block), persistent=False)
        self.n_head, self.n_embd = n_head, n_embd

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class Block(nn.Module):
    def __init__(self, n_embd, n_head, block):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head, block)
        self.ln_2 = nn.LayerNorm(n_embd)
        self.mlp = nn.ModuleDict(dict(c_fc=nn.Linear(n_embd, 4 * n_embd), c_proj=nn.Linear(4 * n_embd, n_embd),
                                      act=NewGELU()))

    def forward(self, x):
        m = self.mlp
        x = x + self.attn(self.ln_1(x))
        return x + m.c_proj(m.act(m.c_fc(self.ln_2(x))))


class Transformer(nn.Module):
    def __init__(self, n_embd=64, n_head=4, n_layer=2, block=BLOCK, vocab=VOCAB):
        super().__init__()
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab, n_embd), wpe=nn.Embedding(block, n_embd),
            h=nn.ModuleList([Block(n_embd, n_head, block) for _ in range(n_layer)]), ln_f=nn.LayerNorm(n_embd)))
        self.lm_head = nn.Linear(n_embd, vocab, bias=False)

    def forward(self, idx):
        t = idx.size(1)
        pos = torch.arange(0, t, dtype=torch.long, device=idx.device).unsqueeze(0)
        x = self.transformer.wte(idx) + self.transformer.wpe(pos)
        for block in self.transformer.h:
            x = block(x)
        return self.lm_head(self.transformer.ln_f(x))


class Recurrent(nn.Module):
    def __init__(self, kind, n_embd=64, hidden=128, vocab=VOCAB):
        super().__init__()
        self.wte = nn.Embedding(vocab, n_embd)
        self.rnn = (nn.LSTM if kind == "lstm" else nn.GRU)(n_embd, hidden, num_layers=1, batch_first=True)
        self.lm_head = nn.Linear(hidden, vocab)

    def forward(self, idx):
        out, _ = self.rnn(self.wte(idx))
        return self.lm_head(out)


def make_model(kind):
    return Transformer() if kind == "gpt" else Recurrent(kind)


def make_optimizer(model):
    return torch.optim.AdamW(model.parameters(), lr=5e-4, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.01)


def loss_of(model, x, y):
    logits = model(x)
    return F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1), ignore_index=-1)


def train_step(model, optimizer, x, y):
    loss = loss_of(model, x, y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.item()


def test_loss(model, x, y):
    """Nats per character: the mean over every non-ignored position of all test words at once."""
    model.eval()
    with torch.no_grad():
        return loss_of(model, x, y).item()


def save_npz(model, path):
    np.savez(path, **{k: v.detach().numpy() for k, v in model.state_dict().items()})


def load_npz(model, path):
    with np.load(path) as f:
        state = {k: torch.from_numpy(f[k]) for k in f.files}
    model.load_state_dict(state, strict=True)  # a missing, extra or misshapen array is an error


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=["gpt", "lstm", "gru"], default="gpt")
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--words", default=WORDS)
    parser.add_argument("--save", metavar="FILE.npz")
    parser.add_argument("--load", metavar="FILE.npz", help="evaluate these parameters, no training")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)

    words = read_words(args.words)
    train_words, test_words = split(words)
    train_x, train_y = rows(train_words)
    test_x, test_y = rows(test_words)
    print(f"{len(words)} words (longest {max(map(len, words))}): training on {len(train_words)}, "
          f"testing on {len(test_words)}", flush=True)
    model = make_model(args.model)
    print(f"{args.model}: {sum(p.numel() for p in model.parameters())} parameters", flush=True)
    if args.load:
        load_npz(model, args.load)
    else:
        optimizer = make_optimizer(model)
        generator = torch.Generator().manual_seed(args.seed)
        model.train()
        start, running = time.perf_counter(), 0.0
        for step in range(1, args.steps + 1):
            batch = torch.randint(len(train_words), (args.batch_size,), generator=generator)
            running += train_step(model, optimizer, train_x[batch], train_y[batch])
            if step % 500 == 0 or step == args.steps:
                n = step % 500 or 500
                print(f"step {step}/{args.steps}  train loss {running / n:.4f}  "
                      f"{(time.perf_counter() - start) / step * 1e3:.2f} ms/step", flush=True)
                running = 0.0
        if args.save:
            save_npz(model, args.save)
    print(f"test loss: {test_loss(model, test_x, test_y):.6f} nats per character")


if __name__ == "__main__":
    sys.exit(main())
