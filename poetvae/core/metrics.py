"""Estimators over a trained latent-variable model, in nats: importance weights, the IWAE
log-likelihood bound (with the encoder's proposal or one fitted per item) and the mutual
information I(x; z) under q. Model-agnostic: callers pass functions of their model.

Burda, Grosse & Salakhutdinov (2016) for the importance-weighted bound; Hoffman & Johnson
(2016) for I(x; z) = E_x KL(q(z|x) || p(z)) - KL(q(z) || p(z)), estimated as in He et al. (2019),
"Lagging Inference Networks", with the aggregate posterior q(z) a mixture over the data set.
"""

import math
from collections.abc import Callable

import torch
from torch import Tensor

from .latent import log_normal, reparameterize
from .objectives import iwae_bound


def log_weights(
    mu: Tensor,
    logvar: Tensor,
    log_px_given_z: Callable[[Tensor], Tensor],
    k: int,
    log_prior: Callable[[Tensor], Tensor] = log_normal,
) -> Tensor:
    """log p(x, z_k) - log q(z_k | x) for K samples z_k ~ q(z | x) (Burda et al. 2016, eq. 8).

    Args:
        mu, logvar: (B, Z) posterior parameters for a batch x.
        log_px_given_z: maps (K, B, Z) latents to (K, B) log p(x | z) for the same batch.
        k: samples per item.
        log_prior: log p(z) of (K, B, Z) latents -> (K, B); the standard normal by default.

    Returns:
        (K, B) log importance weights in nats.
    """
    z = reparameterize(mu.expand(k, *mu.shape), logvar.expand(k, *logvar.shape))  # (K, B, Z)
    return log_px_given_z(z) + log_prior(z) - log_normal(z, mu, logvar)


def fit_proposal(
    mu: Tensor,
    logvar: Tensor,
    log_px_given_z: Callable[[Tensor], Tensor],
    steps: int,
    log_prior: Callable[[Tensor], Tensor] = log_normal,
    samples: int = 8,
    lr: float = 0.05,
) -> tuple[Tensor, Tensor]:
    """A proposal N(mu, diag(exp(logvar))) per item, started at the encoder's and moved by
    `steps` of Adam on the item's ELBO with the model fixed (the amortization gap of Cremer et
    al. 2018, "Inference Suboptimality in Variational Autoencoders").

    Any proposal gives a valid IWAE bound on the same log p(x); one closer to the true
    posterior gives a tighter one. Items are independent: each one's gradient is its own.

    Args:
        mu, logvar: (B, Z) the encoder's posterior parameters.
        log_px_given_z, log_prior: as for `iwae_nll`.
        steps: Adam steps (0 returns the encoder's proposal).
        samples: z samples per item and step.

    Returns:
        (B, Z) mu and logvar, detached.
    """
    mu, logvar = mu.detach().clone(), logvar.detach().clone()
    if steps == 0:
        return mu, logvar
    mu.requires_grad_(True)
    logvar.requires_grad_(True)
    opt = torch.optim.Adam([mu, logvar], lr=lr)
    with torch.enable_grad():
        for _ in range(steps):
            elbo = log_weights(mu, logvar, log_px_given_z, samples, log_prior).mean(0)  # (B,)
            # only the proposal's gradients: the model's parameters keep no .grad
            opt.zero_grad(set_to_none=True)
            mu.grad, logvar.grad = torch.autograd.grad(-elbo.sum(), [mu, logvar])
            opt.step()
    return mu.detach(), logvar.detach()


@torch.no_grad()
def iwae_nll(
    mu: Tensor,
    logvar: Tensor,
    log_px_given_z: Callable[[Tensor], Tensor],
    k: int,
    chunk: int = 10,
    log_prior: Callable[[Tensor], Tensor] = log_normal,
) -> Tensor:
    """-log p(x) upper bound from K importance samples of q(z|x) (the IWAE bound, negated).

    Args:
        mu, logvar: (B, Z) posterior parameters for a batch x.
        log_px_given_z: maps (C, B, Z) latents to (C, B) log p(x | z) for the same batch.
        k: importance samples per item (k = 1 gives a one-sample ELBO).
        chunk: samples decoded at once (memory vs speed).
        log_prior: log p(z) of (C, B, Z) latents -> (C, B); the standard normal by default.

    Returns:
        (B,) NLL bounds in nats.
    """
    log_w = [
        log_weights(mu, logvar, log_px_given_z, min(chunk, k - start), log_prior)  # (C, B)
        for start in range(0, k, chunk)
    ]
    return -iwae_bound(torch.cat(log_w))


@torch.no_grad()
def mutual_information(mu: Tensor, logvar: Tensor) -> float:
    """I(x; z) under q(z|x) p_data(x) with one z sample per x, in nats.

    Args:
        mu, logvar: (N, Z) posterior parameters over a data set (N >= 2).
    """
    n = mu.shape[0]
    z = reparameterize(mu, logvar)  # (N, Z)
    log_q_all = torch.stack([log_normal(z, mu[j], logvar[j]) for j in range(n)], dim=1)  # (N, N)
    log_qz = torch.logsumexp(log_q_all, dim=1) - math.log(n)  # log of the aggregate posterior
    # the same z in both terms: the estimate is exactly 0 when q(z|x) ignores x
    return float((log_q_all.diagonal() - log_qz).mean())
