"""Image models: AE, MLP / conv VAE, CVAE and VQ-VAE with an autoregressive code prior.

- AE: deterministic encoder/decoder; its latent space is not regularised, so decoding z ~ N(0, I)
  shows what a VAE's KL buys (the baseline of the comparison).
- VAE: Kingma & Welling (2014); the MLP is their 784-400-Z net ("mlp"), or a small conv net.
- CVAE: Sohn, Lee & Yan (2015); a one-hot label is concatenated to the encoder input and to z.
- VQVAE: van den Oord et al. (2017): conv encoder -> (H/4, W/4) grid of codes -> conv decoder, plus
  a tiny causal transformer over the raster-ordered code grid as its prior, so it can sample.
  The prior is trained jointly on the (integer, hence gradient-free) codes: one run, one checkpoint.

Likelihoods (nats per image, summed over pixels, averaged over the batch): Bernoulli on [0, 1]
pixels (BCE; with `binarize`, pixels are resampled as {0, 1} each batch: dynamic binarization) or
a Gaussian whose one shared variance is learned (Rybkin et al. 2021, sigma-VAE).
"""

import math
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core import checkpoint
from ..core.config import from_dict, from_preset, to_dict
from ..core.latent import log_normal, reparameterize
from ..core.objectives import Output, elbo
from ..core.priors import build_prior
from ..core.quantize import VectorQuantizer
from .data import to_unit

KINDS = ("ae", "vae", "conv-vae", "cvae", "vqvae")
TYPE_PREFIX = "image-"  # model_type in config.json is "image-" + kind


@dataclass(frozen=True)
class ImageConfig:
    """Architecture of an image model; stored in every checkpoint's config.json."""

    DATA_FIELDS: ClassVar[tuple[str, ...]] = ("model", "height", "width", "n_classes")

    model: str = "vae"
    height: int = 28
    width: int = 28
    n_classes: int = 10
    latent_dim: int = 20
    hidden: int = 400
    channels: int = 32
    likelihood: str = "bernoulli"
    binarize: bool = False
    codebook_size: int = 128
    code_dim: int = 16
    vq_beta: float = 0.25
    ema: bool = True
    ema_decay: float = 0.99
    dead_threshold: float = 1.0
    prior_d_model: int = 64
    prior_layers: int = 2
    prior_heads: int = 4
    prior: str = "normal"
    prior_components: int = 0

    @classmethod
    def preset(cls, name: str, **fields) -> "ImageConfig":
        """Named sizes: "tiny" for tests, "base" for real runs."""
        presets = {
            "tiny": dict(
                latent_dim=4,
                hidden=32,
                channels=4,
                codebook_size=16,
                code_dim=4,
                prior_d_model=16,
                prior_layers=1,
                prior_heads=2,
            ),
            "base": {},
        }
        return from_preset(cls, presets, name, **fields)

    def check(self) -> "ImageConfig":
        if self.model not in KINDS:
            raise ValueError(f"unknown model {self.model!r}: use {', '.join(KINDS)}")
        if self.prior != "normal" and self.model not in ("vae", "conv-vae", "cvae"):
            raise ValueError(f"a learned prior needs a VAE (vae, conv-vae, cvae), not {self.model}")
        if self.prior == "vamp" and self.model == "cvae":
            raise ValueError("the vamp prior's pseudo-inputs carry no label: use vae or conv-vae")
        if self.likelihood not in ("bernoulli", "gaussian"):
            raise ValueError(f"unknown likelihood {self.likelihood!r}: use bernoulli or gaussian")
        if self.model in ("conv-vae", "vqvae") and (self.height % 4 or self.width % 4):
            raise ValueError(
                f"{self.model} needs image sides divisible by 4, got {self.height}x{self.width}"
            )
        return self


class ImageModel(nn.Module):
    """What all image models share: pixel preparation, the likelihood and config.json meta."""

    conditional = False

    def __init__(self, cfg: ImageConfig):
        super().__init__()
        self.cfg = cfg.check()
        if cfg.likelihood == "gaussian":
            self.logvar_x = nn.Parameter(torch.zeros(()))  # one learned pixel variance

    def pixels(self, x: Tensor) -> Tensor:
        """uint8 (B, H, W) -> float (B, 1, H, W) in [0, 1], or {0, 1} samples with `binarize`."""
        x = to_unit(x)
        return torch.bernoulli(x) if self.cfg.binarize else x

    def onehot(self, y: Tensor | None) -> Tensor | None:
        """(B,) labels -> (B, C) one-hot for a conditional model, else None."""
        if not self.conditional:
            return None
        if y is None:
            raise ValueError(f"{self.cfg.model} needs labels")
        return F.one_hot(y, self.cfg.n_classes).float()

    def recon_nll(self, logits: Tensor, x: Tensor) -> Tensor:
        """-log p(x | z) in nats per image: (..., 1, H, W) logits and pixels -> (...)."""
        if self.cfg.likelihood == "bernoulli":
            return (
                F.binary_cross_entropy_with_logits(
                    logits.float(), x.expand_as(logits), reduction="none"
                )
                .flatten(-3)
                .sum(-1)
            )
        mean = torch.sigmoid(logits.float()).flatten(-3)  # (..., HW)
        return -log_normal(x.flatten(-3), mean, self.logvar_x.expand_as(mean))

    @staticmethod
    def mean(logits: Tensor) -> Tensor:
        """Decoder output -> expected pixel values in [0, 1]."""
        return torch.sigmoid(logits.float())

    def meta(self) -> dict:
        """config.json content for checkpoints."""
        return {"model_type": TYPE_PREFIX + self.cfg.model, "model": to_dict(self.cfg)}


def _conv_down(c: int) -> nn.Sequential:  # (B, 1, H, W) -> (B, 2c, H/4, W/4)
    return nn.Sequential(
        nn.Conv2d(1, c, 4, 2, 1), nn.ReLU(), nn.Conv2d(c, 2 * c, 4, 2, 1), nn.ReLU()
    )


def _conv_up(c: int) -> nn.Sequential:  # (B, 2c, H/4, W/4) -> (B, 1, H, W) logits
    return nn.Sequential(
        nn.ConvTranspose2d(2 * c, c, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(c, 1, 4, 2, 1)
    )


class Encoder(nn.Module):
    """(B, 1, H, W) pixels [+ (B, C) condition] -> (B, out_dim); an MLP or a conv net."""

    def __init__(self, cfg: ImageConfig, out_dim: int, arch: str, cond: int = 0):
        super().__init__()
        self.arch = arch
        if arch == "mlp":  # the condition joins the flat pixels: the encoder *input*
            self.body, n_in = nn.Flatten(), cfg.height * cfg.width
        else:
            c = cfg.channels
            self.body = nn.Sequential(_conv_down(c), nn.Flatten())
            n_in = 2 * c * (cfg.height // 4) * (cfg.width // 4)
        self.head = nn.Sequential(
            nn.Linear(n_in + cond, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, out_dim)
        )

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        h = self.body(x)  # (B, F)
        return self.head(h if y is None else torch.cat([h, y], dim=1))


class Decoder(nn.Module):
    """(B, Z) latents [+ (B, C) condition] -> (B, 1, H, W) logits; an MLP or a conv net."""

    def __init__(self, cfg: ImageConfig, arch: str, cond: int = 0):
        super().__init__()
        h, w, c = cfg.height, cfg.width, cfg.channels
        if arch == "mlp":
            self.net = nn.Sequential(
                nn.Linear(cfg.latent_dim + cond, cfg.hidden),
                nn.ReLU(),
                nn.Linear(cfg.hidden, h * w),
                nn.Unflatten(1, (1, h, w)),
            )
        else:
            self.net = nn.Sequential(
                nn.Linear(cfg.latent_dim + cond, cfg.hidden),
                nn.ReLU(),
                nn.Linear(cfg.hidden, 2 * c * (h // 4) * (w // 4)),
                nn.ReLU(),
                nn.Unflatten(1, (2 * c, h // 4, w // 4)),
                _conv_up(c),
            )

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.net(z if y is None else torch.cat([z, y], dim=-1))


class AE(ImageModel):
    """Deterministic autoencoder: z = enc(x), loss = -log p(x | dec(z)) only."""

    n_stats = 1  # encoder outputs per latent dimension: z here, mu and logvar in the VAE

    def __init__(self, cfg: ImageConfig):
        super().__init__(cfg)
        arch = "conv" if cfg.model == "conv-vae" else "mlp"
        cond = cfg.n_classes if self.conditional else 0
        self.encoder = Encoder(cfg, self.n_stats * cfg.latent_dim, arch, cond)
        self.decoder = Decoder(cfg, arch, cond)
        shape = (1, cfg.height, cfg.width)
        self.prior = build_prior(cfg.prior, cfg.latent_dim, cfg.prior_components, shape)
        if cfg.prior == "vamp":
            self.prior.bind(self.encode)

    def encode(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """(B, 1, H, W) -> (z, None): the code, with no variance."""
        return self.encoder(x, y), None

    def decode(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        """(..., Z) [+ (..., C) or (B, C)] -> (..., 1, H, W) logits."""
        if y is not None and z.dim() > y.dim():
            y = y.expand(*z.shape[:-1], y.shape[-1])
        lead = z.shape[:-1]
        flat_y = None if y is None else y.reshape(-1, y.shape[-1])
        out = self.decoder(z.reshape(-1, z.shape[-1]), flat_y)
        return out.view(*lead, *out.shape[1:])

    def forward(self, batch: tuple[Tensor, ...], beta: float = 1.0) -> Output:
        """Reconstruction NLL averaged over the batch (nats per image); beta is unused."""
        x = self.pixels(batch[0])
        recon = self.recon_nll(self.decode(self.encode(x)[0]), x)  # (B,)
        return Output(recon.mean(), {"recon": recon.mean().item()})

    @torch.no_grad()
    def sample(self, n: int, y: Tensor | None = None) -> Tensor:
        """Decode z ~ p(z) [for labels y]: (n, 1, H, W) pixel means.

        For the AE (p(z) = N(0, I)) this shows its irregular latent space: nothing made its
        codes N(0, I).
        """
        z = self.prior.sample(n).to(self.decoder.net[0].weight.device)
        return self.mean(self.decode(z, self.onehot(y)))


class VAE(AE):
    """Gaussian-latent VAE; the MLP 784-400-Z net, or the conv net for kind "conv-vae"."""

    n_stats = 2

    def encode(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """(B, 1, H, W) [+ (B, C)] -> mu, logvar, each (B, Z)."""
        mu, logvar = self.encoder(x, y).chunk(2, dim=-1)
        return mu, logvar

    def forward(self, batch: tuple[Tensor, ...], beta: float = 1.0) -> Output:
        """Negative beta-ELBO averaged over the batch; parts recon, kl, elbo in nats per image."""
        x, y = self.pixels(batch[0]), self.onehot(batch[1] if len(batch) > 1 else None)
        mu, logvar = self.encode(x, y)
        z = reparameterize(mu, logvar)
        recon = self.recon_nll(self.decode(z, y), x)  # (B,)
        kl = self.prior.kl(mu.float(), logvar.float(), z.float())  # (B,): closed form or MC
        loss = elbo(recon, kl, beta).mean()
        r, k = recon.mean().item(), kl.mean().item()
        return Output(loss, {"recon": r, "kl": k, "elbo": -(r + k)})

    def log_px(self, z: Tensor, x: Tensor, y: Tensor | None = None) -> Tensor:
        """log p(x | z) in nats for (K, B, Z) latents, (B, 1, H, W) prepared pixels (see
        `pixels`) and (B, C) one-hot labels or None -> (K, B)."""
        return -self.recon_nll(self.decode(z, y), x)


class CVAE(VAE):
    """VAE conditioned on the class: one-hot y concatenated to the encoder input and to z."""

    conditional = True


class CodePrior(nn.Module):
    """Autoregressive categorical prior over a raster-ordered grid of L codes: a tiny causal
    transformer (start token + codes[:-1] -> logits for each position).

    Args:
        n_codes: N, the codebook size.
        seq_len: L = grid height * width.
        d_model, n_layers, n_heads: transformer size.
    """

    def __init__(self, n_codes: int, seq_len: int, d_model: int, n_layers: int, n_heads: int):
        super().__init__()
        self.n_codes, self.seq_len = n_codes, seq_len
        self.embed = nn.Embedding(n_codes + 1, d_model)  # id n_codes is the start token
        self.pos = nn.Parameter(torch.randn(seq_len, d_model) * 0.02)
        layer = nn.TransformerEncoderLayer(
            d_model,
            n_heads,
            4 * d_model,
            dropout=0.0,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.blocks = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, n_codes)
        self.register_buffer(
            "mask", nn.Transformer.generate_square_subsequent_mask(seq_len), persistent=False
        )

    def logits(self, codes: Tensor) -> Tensor:
        """(B, L) codes -> (B, L, N) logits of each code given the ones before it."""
        start = torch.full_like(codes[:, :1], self.n_codes)
        inp = torch.cat([start, codes[:, :-1]], dim=1)  # (B, L) shifted right
        L = inp.shape[1]
        h = self.blocks(self.embed(inp) + self.pos[:L], mask=self.mask[:L, :L], is_causal=True)
        return self.head(self.norm(h))

    def nll(self, codes: Tensor) -> Tensor:
        """-log p(codes) in nats: (B, L) -> (B,)."""
        logits = self.logits(codes).float()
        return F.cross_entropy(logits.transpose(1, 2), codes, reduction="none").sum(1)

    @torch.no_grad()
    def sample(self, n: int, temperature: float = 1.0) -> Tensor:
        """(n, L) codes drawn position by position."""
        codes = torch.zeros(n, 0, dtype=torch.long, device=self.pos.device)
        for _ in range(self.seq_len):
            # feed a dummy last code: logits() reads only codes[:, :-1]
            probe = torch.cat([codes, codes.new_zeros(n, 1)], dim=1)
            logits = self.logits(probe)[:, -1].float() / max(temperature, 1e-6)  # (n, N)
            nxt = torch.multinomial(logits.softmax(-1), 1)
            codes = torch.cat([codes, nxt], dim=1)
        return codes


class VQVAE(ImageModel):
    """Conv encoder -> (h, w) grid of codes -> conv decoder, with a `CodePrior` for sampling."""

    def __init__(self, cfg: ImageConfig):
        super().__init__(cfg)
        c, d = cfg.channels, cfg.code_dim
        self.grid = (cfg.height // 4, cfg.width // 4)
        self.encoder = nn.Sequential(
            _conv_down(c), nn.Conv2d(2 * c, 2 * c, 3, 1, 1), nn.ReLU(), nn.Conv2d(2 * c, d, 1)
        )
        self.quantizer = VectorQuantizer(
            cfg.codebook_size, d, cfg.vq_beta, cfg.ema, cfg.ema_decay, cfg.dead_threshold
        )
        self.decoder = nn.Sequential(nn.Conv2d(d, 2 * c, 3, 1, 1), nn.ReLU(), _conv_up(c))
        self.prior = CodePrior(
            cfg.codebook_size,
            self.grid[0] * self.grid[1],
            cfg.prior_d_model,
            cfg.prior_layers,
            cfg.prior_heads,
        )

    def encode(self, x: Tensor) -> Tensor:
        """(B, 1, H, W) -> (B, h, w, D) continuous encoder outputs z_e."""
        return self.encoder(x).permute(0, 2, 3, 1)

    def decode(self, zq: Tensor) -> Tensor:
        """(B, h, w, D) code vectors -> (B, 1, H, W) logits."""
        return self.decoder(zq.permute(0, 3, 1, 2))

    def decode_codes(self, codes: Tensor) -> Tensor:
        """(B, h, w) code ids -> (B, 1, H, W) logits."""
        return self.decode(self.quantizer.lookup(codes))

    def forward(self, batch: tuple[Tensor, ...], beta: float = 1.0) -> Output:
        """recon + VQ loss + prior NLL of the codes, averaged over the batch (beta unused).

        parts: recon, vq, prior (nats per image), elbo = -(recon + prior) (a bound on log p(x),
        as q(codes | x) is deterministic), perplexity and usage of the codes in the batch.
        """
        x = self.pixels(batch[0])
        vq = self.quantizer(self.encode(x))
        recon = self.recon_nll(self.decode(vq.quantized), x)  # (B,)
        prior = self.prior.nll(vq.indices.flatten(1))  # (B,); integer codes carry no gradient back
        loss = (recon + vq.loss + prior).mean()
        r, p = recon.mean().item(), prior.mean().item()
        return Output(
            loss,
            {
                "recon": r,
                "vq": vq.loss.mean().item(),
                "prior": p,
                "elbo": -(r + p),
                "perplexity": vq.perplexity,
                "usage": vq.usage,
            },
        )

    @torch.no_grad()
    def sample(self, n: int, y: Tensor | None = None, temperature: float = 1.0) -> Tensor:
        """Codes from the prior, decoded: (n, 1, H, W) pixel means."""
        codes = self.prior.sample(n, temperature).view(n, *self.grid)
        return self.mean(self.decode_codes(codes))


CLASSES = {"ae": AE, "vae": VAE, "conv-vae": VAE, "cvae": CVAE, "vqvae": VQVAE}


def build(cfg: ImageConfig) -> ImageModel:
    """A fresh model of kind `cfg.model`."""
    return CLASSES[cfg.check().model](cfg)


@torch.no_grad()
def reconstruct(model: ImageModel, x: Tensor, y: Tensor | None = None) -> Tensor:
    """uint8 (B, H, W) [+ (B,) labels] -> (B, 1, H, W) pixel means decoded from the mean z."""
    px = model.pixels(x)
    if isinstance(model, VQVAE):
        return model.mean(model.decode(model.quantizer(model.encode(px)).quantized))
    yy = model.onehot(y)
    return model.mean(model.decode(model.encode(px, yy)[0], yy))


def load(path: str | Path, device: torch.device | str = "cpu") -> ImageModel:
    """Rebuild an image model from a checkpoint folder or run directory, in eval mode.

    Raises:
        checkpoint.CheckpointError: missing, corrupt, or not an image-model checkpoint.
    """
    meta = checkpoint.read_meta(path)
    kind = str(meta.get("model_type", "unknown"))
    if not kind.startswith(TYPE_PREFIX):
        raise checkpoint.CheckpointError(
            f"{path} is a {kind!r} checkpoint, not a poetvae image model"
        )
    try:
        cfg = from_dict(ImageConfig, meta["model"]).check()
    except (KeyError, TypeError, ValueError) as e:
        raise checkpoint.CheckpointError(f"{path}: unusable image model config ({e})") from None
    model = checkpoint.load_weights(build(cfg), path)
    return model.to(device).eval()


def data_spec(path: str | Path) -> str | None:
    """The --data a checkpoint was trained on, as recorded in its config.json."""
    return checkpoint.read_meta(path).get("data")


def gaussian_quantiles(n: int) -> Tensor:
    """n evenly spaced quantiles of N(0, 1) in (0.05, 0.95): the axis of a latent-manifold grid."""
    p = torch.linspace(0.05, 0.95, n, dtype=torch.float64)
    return (math.sqrt(2) * torch.erfinv(2 * p - 1)).float()
