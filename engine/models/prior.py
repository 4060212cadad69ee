"""A small causal Transformer over VQ-VAE code grids: the learned prior of a VQ-VAE.

van den Oord et al. 2017 (§3.2) fit a PixelCNN to the grids of codes; a GPT over the grid in raster order does the
same job (Esser et al. 2021, "Taming Transformers"). Written after karpathy/minGPT and nanoGPT: token and position
embeddings, pre-norm blocks of masked self-attention and an MLP, a head over codebook entries. A start token,
one past the last code, lets the first position be predicted too.

It knows codes, not pixels (vqvae.py turns images into code grids and back), and it draws no random numbers of
its own: `sample` is given one uniform number per position, so whoever holds those numbers can draw the same
grid again.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class PriorConfig:
    vocab_size: int  # codebook entries; the start token is index vocab_size
    block_size: int  # grid positions, the length of a sequence
    n_layer: int = 4  # Transformer blocks
    n_head: int = 4  # attention heads per block; n_embd must divide by it
    n_embd: int = 128  # width of the residual stream
    dropout: float = 0.0  # small artist datasets overfit, but dropout would make resumed runs draw differently


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where position t sees positions <= t (Vaswani et al. 2017; minGPT)."""

    def __init__(self, config: PriorConfig):
        super().__init__()
        assert config.n_embd % config.n_head == 0
        self.n_head, self.dropout = config.n_head, config.dropout
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd)  # query, key, value for all heads at once
        self.c_proj = nn.Linear(config.n_embd, config.n_embd)
        self.resid_drop = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape  # batch, sequence length, n_embd
        q, k, v = self.c_attn(x).split(C, dim=2)
        # (B, T, C) -> (B, n_head, T, head size)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                           dropout_p=self.dropout if self.training else 0.0)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # heads side by side again
        return self.resid_drop(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, config: PriorConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd)
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.c_proj(F.gelu(self.c_fc(x))))


class Block(nn.Module):
    """A pre-norm Transformer block, as in GPT-2: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, config: PriorConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Prior(nn.Module):
    def __init__(self, config: PriorConfig):
        super().__init__()
        self.config = config
        self.start = config.vocab_size  # the start token's index
        self.tok_emb = nn.Embedding(config.vocab_size + 1, config.n_embd)
        self.pos_emb = nn.Embedding(config.block_size, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList([Block(config) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):  # GPT-2: residual projections scaled down by depth
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """idx: B x t tokens (the start token, then codes) -> B x t x vocab_size logits of the next code."""
        t = idx.shape[1]
        assert t <= self.config.block_size, f"sequence of {t} is longer than the grid ({self.config.block_size})"
        pos = torch.arange(t, device=idx.device)
        x = self.drop(self.tok_emb(idx) + self.pos_emb(pos))  # B x t x n_embd
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))

    def inputs(self, codes: torch.Tensor) -> torch.Tensor:
        """B x T codes -> the B x T tokens that predict them: the start token, then the codes but the last."""
        return torch.cat([torch.full_like(codes[:, :1], self.start), codes[:, :-1]], dim=1)

    @torch.no_grad()
    def sample(self, u: torch.Tensor, temperature: float = 1.0, top_k: int = 0) -> torch.Tensor:
        """B x T uniforms in [0, 1] -> B x T codes, code t drawn by inverse CDF with u[:, t] (no KV cache, as in
        minGPT's `generate`: grids are short)."""
        idx = torch.full((u.shape[0], 1), self.start, dtype=torch.long, device=u.device)
        for t in range(u.shape[1]):
            logits = self(idx)[:, -1, :].float() / temperature  # B x vocab_size
            if top_k:
                kth = torch.topk(logits, min(top_k, logits.shape[1])).values[:, -1:]
                logits = logits.masked_fill(logits < kth, -math.inf)
            code = inverse_cdf(F.softmax(logits, dim=-1), u[:, t])
            idx = torch.cat([idx, code[:, None]], dim=1)
        return idx[:, 1:]


def inverse_cdf(probs: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Inverse transform sampling: the first index whose cumulative probability reaches u. B x V, B -> B.

    A code of probability zero (cut by top-k) is never chosen: its cumulative sum equals its predecessor's.
    """
    cdf = probs.cumsum(dim=-1)
    target = u.to(cdf.dtype).clamp(1e-7, 1.0) * cdf[:, -1]  # scaled to the sum, which rounding leaves near 1
    return torch.searchsorted(cdf, target[:, None]).squeeze(1).clamp_max(probs.shape[1] - 1)
