"""Diagonal-Gaussian latent math: the only place `randn_like`, `logvar.exp()` and the KL live.

Kingma & Welling (2014), "Auto-Encoding Variational Bayes": reparameterization (Sec. 2.4) and the
closed-form KL to a standard normal (Appendix B).
"""

import math

import torch
from torch import Tensor

_LOG_2PI = math.log(2 * math.pi)


def reparameterize(mu: Tensor, logvar: Tensor) -> Tensor:
    """Draw z = mu + sigma * eps with eps ~ N(0, I), differentiable in mu and logvar.

    Args:
        mu: (..., Z) posterior means.
        logvar: (..., Z) posterior log variances.

    Returns:
        (..., Z) samples.
    """
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


def gaussian_kl(
    mu: Tensor, logvar: Tensor, prior_mu: Tensor | None = None, prior_logvar: Tensor | None = None
) -> Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(prior_mu, diag(exp(prior_logvar)))) per latent
    dimension, in nats; to N(0, I) when the prior's parameters are None.

    Args:
        mu: (..., Z).
        logvar: (..., Z).
        prior_mu, prior_logvar: (..., Z), broadcastable to mu (both or neither).

    Returns:
        (..., Z) per-dimension KL; sum over the last axis for the KL of a sample.
    """
    if prior_mu is None:
        # Appendix B: -1/2 * (1 + log sigma^2 - mu^2 - sigma^2)
        return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)
    # 1/2 (log v_p - log v_q + (v_q + (m_q - m_p)^2) / v_p - 1)
    return 0.5 * (
        prior_logvar - logvar + (logvar.exp() + (mu - prior_mu).pow(2)) / prior_logvar.exp() - 1.0
    )


def log_normal(z: Tensor, mu: Tensor | None = None, logvar: Tensor | None = None) -> Tensor:
    """Log density of z under a diagonal Gaussian (standard normal by default), summed over Z.

    Args:
        z: (..., Z) points.
        mu: (..., Z) means, broadcastable to z; zeros if None.
        logvar: (..., Z) log variances, broadcastable to z; zeros if None.

    Returns:
        (...) log densities in nats.
    """
    if mu is None:
        return -0.5 * (z.pow(2) + _LOG_2PI).sum(-1)
    return -0.5 * ((z - mu).pow(2) / logvar.exp() + logvar + _LOG_2PI).sum(-1)


def active_units(mu: Tensor, threshold: float = 0.01) -> int:
    """Latent dimensions whose posterior mean varies with x (Burda et al. 2016, Sec. 5.2).

    A unit is active when Cov_x(E_q[z_u | x]) > threshold.

    Args:
        mu: (N, Z) posterior means over a data set.
        threshold: variance threshold.
    """
    return int((mu.double().var(dim=0, unbiased=False) > threshold).sum())
