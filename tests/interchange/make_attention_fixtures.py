#!/usr/bin/python3
"""Makes tests/interchange/fixtures/attention.npz: PyTorch's (torch 1.13)
MultiheadAttention and TransformerEncoderLayer, and the formula of
torch.nn.functional.scaled_dot_product_attention (torch 2; 1.13 has none), in
float64 on fixed inputs, with their outputs and gradients.

PyTorch is needed only to run this script, by hand, never to build or test
tapegrad. From the repository root:

    /usr/bin/python3 tests/interchange/make_attention_fixtures.py tests/interchange/fixtures

Members are prefixed by case ("mha_sf/", "enc_pre/", ...): "param/<name>" the
module's state dict, "in/<name>" inputs and masks (masks as 0./1. in torch's
meaning for that function), "out/<name>" outputs, "grad/<name>" gradients of
sum(output * probe) (probe is "in/probe") with respect to parameters and inputs.
"""
import os
import sys

import numpy as np
import torch
from torch import nn

torch.set_default_dtype(torch.float64)
members = {}


def put(case, kind, name, t):
    members[f"{case}/{kind}/{name}"] = t.detach().numpy().astype(np.float64) if torch.is_tensor(t) else t


def record(case, module, inputs, run):
    """Runs `run(**inputs)` -> (output, extra outputs), records all, backprops sum(output * probe)."""
    for name, value in module.state_dict().items():
        put(case, "param", name, value)
    leaves = {k: v.clone().requires_grad_(v.dtype == torch.float64) for k, v in inputs.items()}
    for name, value in leaves.items():
        put(case, "in", name, value.double() if value.dtype == torch.bool else value)
    out, extra = run(**leaves)
    probe = torch.randn(out.shape)
    put(case, "in", "probe", probe)
    put(case, "out", "output", out)
    for name, value in extra.items():
        put(case, "out", name, value)
    (out * probe).sum().backward()
    for name, p in module.named_parameters():
        put(case, "grad", name, p.grad)
    for name, value in leaves.items():
        if value.requires_grad and value.grad is not None:
            put(case, "grad", name, value.grad)


def causal(length, keys):
    return torch.ones(length, keys, dtype=torch.bool).triu(1)  # True = may not attend


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "fixtures")
    torch.manual_seed(20)

    # Self-attention, sequence first, padding and causal masks, averaged weights.
    mha = nn.MultiheadAttention(8, 2)
    with torch.no_grad():
        mha.in_proj_bias.uniform_(-0.5, 0.5)
        mha.out_proj.bias.uniform_(-0.5, 0.5)
    padding = torch.tensor([[0, 0, 0, 0, 0], [0, 0, 0, 1, 1], [0, 0, 0, 0, 1]], dtype=torch.bool)
    x = torch.randn(5, 3, 8)
    record("mha_sf", mha, {"x": x, "key_padding_mask": padding, "attn_mask": causal(5, 5)},
           lambda x, key_padding_mask, attn_mask: (lambda o: (o[0], {"weights": o[1]}))(
               mha(x, x, x, key_padding_mask=key_padding_mask, attn_mask=attn_mask, need_weights=True)))

    # Cross-attention, batch first, no bias, per-head weights, a (N * H, L, S) mask.
    mha_bf = nn.MultiheadAttention(6, 3, bias=False, batch_first=True)
    mask = torch.rand(2 * 3, 4, 7) < 0.3
    mask[:, :, 0] = False  # every query sees at least one key (else NaN, tested on its own)
    record("mha_bf", mha_bf, {"query": torch.randn(2, 4, 6), "key": torch.randn(2, 7, 6),
                              "value": torch.randn(2, 7, 6), "attn_mask": mask},
           lambda query, key, value, attn_mask: (lambda o: (o[0], {"weights": o[1]}))(
               mha_bf(query, key, value, attn_mask=attn_mask, need_weights=True, average_attn_weights=False)))

    # Pre-LN encoder layer, batch first, gelu, causal and padding masks.
    pre = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, activation="gelu",
                                     batch_first=True, norm_first=True)
    with torch.no_grad():
        for norm in (pre.norm1, pre.norm2):
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.uniform_(-0.5, 0.5)
    record("enc_pre", pre, {"src": torch.randn(2, 5, 8), "src_mask": causal(5, 5),
                            "src_key_padding_mask": torch.tensor([[0, 0, 0, 0, 0], [0, 0, 0, 1, 1]], dtype=torch.bool)},
           lambda src, src_mask, src_key_padding_mask: (
               pre(src, src_mask=src_mask, src_key_padding_mask=src_key_padding_mask), {}))

    # Post-LN encoder layer (torch's default), sequence first, relu, no masks.
    post = nn.TransformerEncoderLayer(8, 4, dim_feedforward=12, dropout=0.0)
    record("enc_post", post, {"src": torch.randn(3, 2, 8)}, lambda src: (post(src), {}))

    # scaled_dot_product_attention's formula (torch 2's documentation), a
    # broadcast (L, S) mask with 1 = may attend, an explicit scale.
    q, k, v = torch.randn(2, 3, 4, 8), torch.randn(2, 3, 6, 8), torch.randn(2, 3, 6, 5)
    allowed = torch.rand(4, 6) > 0.3
    allowed[:, 0] = True
    scale = 0.3

    class Nothing(nn.Module):
        pass

    def sdpa(q, k, v, attn_mask):
        scores = q @ k.transpose(-2, -1) * scale
        scores = scores.masked_fill(~attn_mask.bool(), float("-inf"))
        return torch.softmax(scores, -1) @ v, {}
    record("sdpa", Nothing(), {"q": q, "k": k, "v": v, "attn_mask": allowed.double()}, sdpa)

    np.savez(os.path.join(out, "attention.npz"), **members)


if __name__ == "__main__":
    main()
