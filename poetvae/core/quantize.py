"""Vector quantization: the only nearest-code lookup, straight-through estimator and VQ loss.

van den Oord, Vinyals & Kavukcuoglu (2017), "Neural Discrete Representation Learning", eq. 3:
loss = ||sg[z_e] - e||^2 + beta * ||z_e - sg[e]||^2, gradients copied straight through the
quantizer. Options: exponential-moving-average codebook updates instead of the codebook loss
(Appendix A.1), and restarting dead codes at random encoder outputs (Dhariwal et al. 2020,
"Jukebox", Sec. 3.2). Units: squared distances summed over the code vectors of an item (the
same "summed over dims, per item" reduction as every other loss here).
"""

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass
class Quantized:
    """What `VectorQuantizer.forward` returns.

    quantized: (B, ..., D) codebook vectors, with straight-through gradients to the input.
    indices: (B, ...) code ids.
    loss: (B,) codebook + beta * commitment loss per item (commitment only with EMA).
    perplexity: exp(entropy) of this batch's code histogram, in [1, min(N, #vectors)].
    usage: fraction of the N codes used in this batch.
    """

    quantized: Tensor
    indices: Tensor
    loss: Tensor
    perplexity: float
    usage: float


def perplexity(counts: Tensor) -> float:
    """exp(entropy) of a code histogram: (N,) counts -> 1 when one code is used, N when all are
    used equally."""
    probs = counts.double() / counts.sum()
    return math.exp(-(probs * probs.clamp_min(1e-30).log()).sum().item())


class VectorQuantizer(nn.Module):
    """Nearest-neighbour codebook of N vectors of size D.

    Args:
        codebook_size: N codes.
        dim: D, the size of each code (the last axis of the input).
        beta: commitment weight (0.25 in the paper).
        ema: update the codebook by EMA of assigned vectors instead of by gradient.
        decay: EMA decay of code counts (and of the codebook with `ema`).
        dead_threshold: codes whose EMA count per batch falls below this are restarted at
            random encoder outputs of the current batch (0 = never).
    """

    def __init__(
        self,
        codebook_size: int,
        dim: int,
        beta: float = 0.25,
        ema: bool = False,
        decay: float = 0.99,
        dead_threshold: float = 0.0,
        eps: float = 1e-5,
    ):
        super().__init__()
        self.codebook_size, self.dim, self.beta = codebook_size, dim, beta
        self.ema, self.decay, self.dead_threshold, self.eps = ema, decay, dead_threshold, eps
        init = torch.empty(codebook_size, dim).uniform_(-1 / codebook_size, 1 / codebook_size)
        if ema:  # the codebook is a running average, not a gradient-trained parameter
            self.register_buffer("codebook", init)
            self.register_buffer("embed_sum", init.clone())
        else:
            self.codebook = nn.Parameter(init)
        self.register_buffer("cluster_size", torch.ones(codebook_size))  # EMA counts per batch

    @torch.no_grad()
    def codes(self, z: Tensor) -> Tensor:
        """Nearest code ids, no side effects. (B, ..., D) -> (B, ...)."""
        flat = z.detach().reshape(-1, self.dim).float()  # (M, D)
        cb = self.codebook.float()  # (N, D)
        # ||z - e||^2 = ||z||^2 - 2 z.e + ||e||^2; ||z||^2 is constant per row, so argmin skips it
        dist = cb.pow(2).sum(1) - 2 * flat @ cb.T  # (M, N)
        return dist.argmin(1).view(z.shape[:-1])

    def lookup(self, indices: Tensor) -> Tensor:
        """Code vectors for ids. (B, ...) -> (B, ..., D)."""
        return F.embedding(indices, self.codebook)

    def forward(self, z: Tensor) -> Quantized:
        """Quantize z (B, ..., D); in training mode also update EMA statistics and restart codes."""
        indices = self.codes(z)  # (B, ...)
        q = self.lookup(indices).to(z.dtype)  # (B, ..., D)
        commit = (z - q.detach()).pow(2).flatten(1).sum(1)  # (B,)
        loss = self.beta * commit
        if not self.ema:
            loss = loss + (z.detach() - q).pow(2).flatten(1).sum(1)
        counts = torch.bincount(indices.flatten(), minlength=self.codebook_size).float()  # (N,)
        if self.training and torch.is_grad_enabled():
            self._update(z.detach().reshape(-1, self.dim).float(), indices.flatten(), counts)
        usage = (counts > 0).float().mean().item()
        # straight-through: forward q, backward identity (without a graph, q itself, exactly)
        quantized = z + (q - z).detach() if z.requires_grad and torch.is_grad_enabled() else q
        return Quantized(quantized, indices, loss, perplexity(counts), usage)

    @torch.no_grad()
    def _update(self, flat: Tensor, idx: Tensor, counts: Tensor) -> None:
        dist = torch.distributed.is_available() and torch.distributed.is_initialized()
        sums = None
        if self.ema:
            sums = torch.zeros_like(self.embed_sum).index_add_(0, idx, flat)  # (N, D)
        if dist:  # every rank applies the same update from the global batch statistics
            torch.distributed.all_reduce(counts)
            if sums is not None:
                torch.distributed.all_reduce(sums)
        self.cluster_size.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        if self.ema:
            self.embed_sum.mul_(self.decay).add_(sums, alpha=1 - self.decay)
            # Laplace smoothing keeps an unused code's denominator away from zero
            n = self.cluster_size.sum()
            size = (self.cluster_size + self.eps) / (n + self.codebook_size * self.eps) * n
            self.codebook.copy_(self.embed_sum / size.unsqueeze(1))
        if self.dead_threshold > 0:
            self._restart(flat)

    def _restart(self, flat: Tensor) -> None:
        dead = self.cluster_size < self.dead_threshold  # (N,)
        n_dead = int(dead.sum())
        if n_dead == 0:
            return
        pick = torch.randint(0, flat.shape[0], (n_dead,), device=flat.device)
        fresh = flat[pick].to(self.codebook.dtype)  # (n_dead, D)
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.broadcast(fresh, src=0)  # all ranks restart to rank 0's picks
        self.codebook.data[dead] = fresh
        self.cluster_size[dead] = self.dead_threshold  # one batch of grace before the next check
        if self.ema:
            self.embed_sum[dead] = fresh * self.dead_threshold
