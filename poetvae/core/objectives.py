"""Model outputs and the bounds they are trained and evaluated with: ELBO and IWAE.

Units: nats, summed over data and latent dimensions, averaged over the batch.
Burda, Grosse & Salakhutdinov (2016), "Importance Weighted Autoencoders", eq. 8.
"""

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor


@dataclass
class Output:
    """What every model's forward returns: the loss to minimise and named parts for logging.

    `parts` holds detached Python floats (batch means, nats) such as recon, kl and elbo.
    """

    loss: Tensor
    parts: dict[str, float] = field(default_factory=dict)


def elbo(recon_nll: Tensor, kl: Tensor, beta: float = 1.0) -> Tensor:
    """Negative (beta-weighted) ELBO per example: recon_nll + beta * kl.

    Args:
        recon_nll: (B,) reconstruction negative log-likelihood in nats.
        kl: (B,) KL(q(z|x) || p(z)) in nats.
        beta: KL weight; 1 gives the true bound, other values a beta-VAE objective.

    Returns:
        (B,) the loss to minimise (equals -ELBO when beta == 1).
    """
    return recon_nll + beta * kl


def iwae_bound(log_w: Tensor) -> Tensor:
    """Importance-weighted lower bound on log p(x): logsumexp_k(log w_k) - log K.

    Args:
        log_w: (K, B) log importance weights log p(x, z_k) - log q(z_k | x), z_k ~ q(z | x).

    Returns:
        (B,) the bound in nats (K = 1 gives the ELBO sample).
    """
    return torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])
