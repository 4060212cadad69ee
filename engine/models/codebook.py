"""The VQ-VAE's codebook (van den Oord et al. 2017): nearest-code lookup, codes that learn from exponential moving
averages of the encoder outputs assigned to them rather than from gradients (Appendix A.1; Razavi et al. 2019),
re-seeding of codes left unused for a while (the "random restarts" of Jukebox, Dhariwal et al. 2020, §2.2), and
how much of the codebook is in use."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Quantizer(nn.Module):
    """The codebook: nearest-code lookup, moving-average updates (Appendix A.1), dead-code restarts, usage.

    All of its state is buffers, so checkpoints carry it and a resumed run continues it exactly.
    """

    def __init__(self, codebook_size: int, code_dim: int, decay: float, restart_after: int, usage_window: int):
        super().__init__()
        K, D = codebook_size, code_dim
        self.decay, self.restart_after, self.usage_window = decay, restart_after, usage_window
        self.register_buffer("embedding", torch.randn(K, D))  # e_i = m_i / N_i
        self.register_buffer("cluster_size", torch.ones(K))  # N_i: moving average of the vectors assigned to code i
        self.register_buffer("embed_sum", self.embedding.clone())  # m_i: moving average of their sum
        self.register_buffer("last_used", torch.full((K,), -(2**62), dtype=torch.long))  # step code i was last chosen
        # the step code i was (re)seeded; "born" one restart period ago, so the first step seeds every code that
        # the first batch leaves unused from that batch's encoder outputs (a data-dependent start)
        self.register_buffer("born", torch.full((K,), -max(1, restart_after), dtype=torch.long))

    def forward(self, z_e: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """N x D x G x G encoder outputs -> (N x D x G x G nearest codebook vectors, N x G x G codes)."""
        N, D, G, _ = z_e.shape
        flat = z_e.float().permute(0, 2, 3, 1).reshape(-1, D)  # (N G G) x D
        with torch.autocast(z_e.device.type, enabled=False):  # half-precision distances would pick wrong codes
            # |z - e|^2 = |z|^2 - 2 z.e + |e|^2; |z|^2 is the same for every code
            distances = self.embedding.pow(2).sum(1) - 2 * flat @ self.embedding.T  # (N G G) x K
        codes = distances.argmin(1).view(N, G, G)
        return self.lookup(codes), codes

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        """N x G x G codes -> N x D x G x G codebook vectors."""
        return F.embedding(codes, self.embedding).permute(0, 3, 1, 2)

    @torch.no_grad()
    def update(self, z_e: torch.Tensor, codes: torch.Tensor, step: int, gen: torch.Generator,
               distributed: bool = False) -> dict[str, torch.Tensor]:
        """Move the codebook towards the encoder outputs assigned to it, re-seed dead codes; return usage."""
        K, D = self.embedding.shape
        flat = z_e.float().permute(0, 2, 3, 1).reshape(-1, D)
        codes = codes.flatten()
        counts = torch.bincount(codes, minlength=K).float()  # n_i
        sums = torch.zeros_like(self.embed_sum).index_add_(0, codes, flat)  # sum of the z_e assigned to code i
        if distributed:
            import torch.distributed as dist

            dist.all_reduce(counts)
            dist.all_reduce(sums)
        # Appendix A.1: N_i <- gamma N_i + (1 - gamma) n_i;  m_i <- gamma m_i + (1 - gamma) sum_j z_e;  e_i = m_i / N_i
        self.cluster_size.lerp_(counts, 1 - self.decay)
        self.embed_sum.lerp_(sums, 1 - self.decay)
        n = self.cluster_size.sum()
        smoothed = (self.cluster_size + 1e-5) / (n + K * 1e-5) * n  # Laplace smoothing: no division by zero
        self.embedding.copy_(self.embed_sum / smoothed[:, None])
        self.last_used.copy_(torch.where(counts > 0, step, self.last_used))
        if self.restart_after:
            # fixed shapes, no host sync: a candidate for every code, used where the code is dead
            candidates = flat[torch.randint(len(flat), (K,), generator=gen, device=flat.device)]
            dead = (step - torch.maximum(self.last_used, self.born) >= self.restart_after)
            self.reseed(dead, candidates, step)
            if distributed:  # each rank drew from its own shard: rank 0's codebook is everyone's
                for buffer in self.buffers():
                    dist.broadcast(buffer, 0)
        # the batch's perplexity exp(H) is the number of codes it effectively uses; logged as a share of the codebook
        # so that every logged figure stays near 1 (one loss plot, one divergence rule for all families)
        p = counts / counts.sum()
        perplexity = torch.exp(-(p * p.clamp_min(1e-12).log()).sum())
        return {"perplexity_share": perplexity / K, "usage": self.usage(step)}

    @torch.no_grad()
    def reseed(self, mask: torch.Tensor, vectors: torch.Tensor, step: int) -> None:
        """Put the codes in `mask` at `vectors` (K x D), as if each had been assigned one vector there."""
        m = mask[:, None]
        self.embedding.copy_(torch.where(m, vectors, self.embedding))
        self.embed_sum.copy_(torch.where(m, vectors, self.embed_sum))
        self.cluster_size.copy_(torch.where(mask, 1.0, self.cluster_size))
        self.born.copy_(torch.where(mask, step, self.born))

    def usage(self, step: int) -> torch.Tensor:
        """Fraction of the codes chosen at least once in the last `usage_window` steps (restarts do not count)."""
        return (step - self.last_used < self.usage_window).float().mean()
