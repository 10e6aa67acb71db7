"""Test-set metrics of image models, in nats per image (summed over pixels).

VAE / CVAE: ELBO (one sample per image), IWAE bound on log p(x) with k samples (Burda et al.
2016), KL and active units. AE: reconstruction NLL only. VQ-VAE: reconstruction NLL and squared
error, the bound -(recon + prior NLL of the codes), code perplexity and usage over the whole set.
With dynamic binarization the test images are binarized once, by a fixed seed.
"""

import functools
import math
from typing import Any

import torch
from torch import Tensor

from ..core.latent import active_units, reparameterize
from ..core.metrics import fit_proposal, iwae_nll
from ..core.quantize import perplexity
from .models import VAE, VQVAE, ImageModel

WEIGHT_BUDGET = 2**15  # (K x B) decoder outputs per IWAE chunk: ~100 MB of 28x28 float logits


@torch.no_grad()
def evaluate(
    model: ImageModel,
    test: tuple[Tensor, Tensor],
    device: torch.device,
    iw_samples: int = 100,
    batch_size: int = 500,
    seed: int = 0,
    proposal_steps: int = 0,
) -> dict[str, Any]:
    """Metrics of `model` on (uint8 (N, H, W) images, (N,) labels).

    Args:
        iw_samples: k for the IWAE bound (0 = skip; VAE and CVAE only).
        batch_size: images per forward pass.
        proposal_steps: fit each image's IWAE proposal for this many Adam steps on its ELBO,
            from the encoder's (`core.metrics.fit_proposal`; 0 = the encoder's).
        seed: fixes posterior samples and any binarization.

    Returns:
        A flat dict of floats/ints; every NLL-like value is in nats per image.
    """
    model.eval()
    x_all, y_all = (t.to(device) for t in test)
    n = len(x_all)
    sums: dict[str, float] = {}
    mus, counts = [], None
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        for start in range(0, n, batch_size):
            xb, yb = x_all[start : start + batch_size], y_all[start : start + batch_size]
            x = model.pixels(xb)
            part: dict[str, Tensor] = {}
            if isinstance(model, VQVAE):
                vq = model.quantizer(model.encode(x))
                logits = model.decode(vq.quantized)
                part["recon"] = model.recon_nll(logits, x)
                part["prior_nll"] = model.prior.nll(vq.indices.flatten(1))
                part["mse"] = (model.mean(logits) - x).pow(2).flatten(1).mean(1)
                hist = torch.bincount(vq.indices.flatten(), minlength=model.cfg.codebook_size)
                counts = hist if counts is None else counts + hist
            elif isinstance(model, VAE):
                y = model.onehot(yb)
                mu, logvar = (t.float() for t in model.encode(x, y))
                mus.append(mu)
                z = reparameterize(mu, logvar)
                part["kl"] = model.prior.kl(mu, logvar, z)  # as in training
                part["recon"] = model.recon_nll(model.decode(z, y), x)
                part["elbo"] = -(part["recon"] + part["kl"])  # one z sample per image
                if iw_samples > 0:  # (K x B) decoder outputs per chunk within WEIGHT_BUDGET
                    chunk = max(1, WEIGHT_BUDGET // len(x))
                    log_px = functools.partial(model.log_px, x=x, y=y)
                    log_prior = model.prior.log_prob
                    q = fit_proposal(mu, logvar, log_px, proposal_steps, log_prior)
                    part["nll_iwae"] = iwae_nll(*q, log_px, iw_samples, chunk, log_prior)
            else:
                logits = model.decode(model.encode(x)[0])
                part["recon"] = model.recon_nll(logits, x)
                part["mse"] = (model.mean(logits) - x).pow(2).flatten(1).mean(1)
            for key, value in part.items():
                sums[key] = sums.get(key, 0.0) + value.double().sum().item()
    likelihood = model.cfg.likelihood + (" (binarized)" if model.cfg.binarize else "")
    out: dict[str, Any] = {
        "model": model.cfg.model,
        "n_images": n,
        "units": "nats per image",
        "likelihood": likelihood,
    }
    out.update({k: v / n for k, v in sums.items()})
    if isinstance(model, VAE):
        out["nll_elbo"] = -out.pop("elbo")  # upper bound on -log p(x)
        if "nll_iwae" in out:
            out["iw_samples"], out["proposal_steps"] = iw_samples, proposal_steps
        out["active_units"] = active_units(torch.cat(mus))
        out["latent_dim"] = model.cfg.latent_dim
    if isinstance(model, VQVAE):
        out["nll_bound"] = out["recon"] + out["prior_nll"]
        out["perplexity"] = perplexity(counts)
        out["codes_used"], out["codebook_size"] = int((counts > 0).sum()), model.cfg.codebook_size
    best = out.get("nll_iwae", out.get("nll_elbo", out.get("nll_bound")))
    if best is not None:  # the tightest bound, per pixel in bits
        out["bits_per_dim"] = best / (math.log(2) * model.cfg.height * model.cfg.width)
    return out
