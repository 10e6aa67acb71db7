"""PoetVAE: the GCNN text VAE of the poetry robot.

Encoder: character embedding + position embedding -> n_layers residual GatedConv1d blocks
(Dauphin et al. 2017) -> mean and max pooling -> Linear to mu and logvar. Decoder: n_heads
parallel MLP heads read z, each writing its slice of every position's features (diverse views of
one z) -> position embedding -> n_dec_layers GatedConv1d blocks that let neighbouring positions
agree -> one D -> V projection shared by all positions (tied to the input embedding), i.e. one
softmax per character position. Loss: summed cross-entropy + KL (Kingma & Welling 2014), in nats
per poem, with optional free bits (Kingma et al. 2016).

`decoder` picks what the decoder reads besides z:
- "parallel": nothing; p(x | z) = prod_i p(x_i | z).
- "mask-predict": also a draft of the poem in which some positions are masked (a conditional
  masked language model, Ghazvininejad et al. 2019). With every position masked it is exactly
  the parallel likelihood p(x | z) = prod_i p(x_i | z), on which the ELBO and IWAE bounds are
  computed; training adds the cross-entropy of randomly masked positions given the rest (and
  a z that this term does not train), so that decoding can re-predict its least confident
  characters in a few parallel passes.
- "causal": the characters to the left, through causal convolutions (Yang et al. 2017);
  p(x | z) = prod_i p(x_i | x_<i, z), decoded one position at a time.

`refiner_layers` > 0 (mask-predict only) adds a refiner on top of the draft path: self-attention
layers over every position, so that a re-masked character reads every line of the draft, not
only its neighbours. It reads drafts only: the fully masked pass, p(x | z), and the bounds are
the same with and without it. Its layers start as the identity, so it can be grown on a trained
model and trained alone (`poetvae train --init-from RUN --set refiner_layers=2 --train-only
refiner`). `keywords` > 0 makes it a conditional VAE (Sohn et al. 2015) on a set
of up to that many keywords c, each read through its characters (the mean of their tied
embeddings, then an MLP), the set pooled by a masked mean: the encoder reads c (q(z | x, c)),
each decoder head reads it beside z, and p(z | c) is `core.priors`' conditional prior (the
mixture reweighted and moved by c, or a Gaussian N(mu(c), sigma(c)) over a standard-normal
model). Every layer that reads c is linear in it without a bias, zero-initialised, so that
c = ∅ (the zero vector) is exactly the unconditional model and a conditional model
warm-started from an unconditional one begins as it. Training gives each poem a random
non-empty subset of its keywords, or none with probability `keyword_drop`. `prior` is p(z)
(core.priors): "normal", or "mixture" with `prior_components` Gaussians, fitted after training
(`train.fit_prior`) or trained jointly, its KL then taken by Monte Carlo.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core import checkpoint
from ..core.config import from_dict, from_preset, to_dict
from ..core.latent import gaussian_kl, reparameterize
from ..core.layers import GatedConv1d
from ..core.objectives import Output, elbo
from ..core.priors import DiagonalGaussian, FlowPrior, GaussianMixture, build_prior
from .decoding import NAMED, Decoding
from .forms import FORMS, Shape, bundled_model
from .vocab import FILENAME as VOCAB_FILE
from .vocab import PAD_ID, Vocab

MODEL_TYPE = "poetvae"
DECODERS = ("parallel", "mask-predict", "causal")
MASK = -1  # a masked (unknown) position in a draft


@dataclass(frozen=True)
class PoetVAEConfig:
    """Architecture of a PoetVAE; stored in every checkpoint's config.json."""

    DATA_FIELDS: ClassVar[tuple[str, ...]] = ("vocab_size", "n_lines", "chars_per_line")

    vocab_size: int = 0
    n_lines: int = 4
    chars_per_line: int = 5
    d_model: int = 192
    n_layers: int = 3
    n_heads: int = 4
    head_dim: int = 256
    n_dec_layers: int = 2
    latent_dim: int = 64
    kernel_size: int = 3
    dropout: float = 0.1
    free_bits: float = 0.5
    decoder: str = "parallel"
    refiner_layers: int = 0
    prior: str = "normal"
    prior_components: int = 0
    keywords: int = 0
    keyword_drop: float = 0.3  # training: the share of poems given no keyword

    @property
    def seq_len(self) -> int:
        return self.n_lines * self.chars_per_line

    @property
    def shape(self) -> Shape:
        """The shape of the poems the model writes: the one place it is rebuilt from a config."""
        return Shape(self.n_lines, self.chars_per_line)

    @classmethod
    def preset(cls, name: str, **fields) -> "PoetVAEConfig":
        """Named sizes: "tiny" for tests, "base" for the bundled model."""
        presets = {
            "tiny": dict(
                d_model=32,
                n_layers=1,
                n_heads=2,
                head_dim=32,
                n_dec_layers=1,
                latent_dim=8,
                dropout=0.0,
            ),
            "base": {},
        }
        return from_preset(cls, presets, name, **fields)


class PoetVAE(nn.Module):
    """GCNN encoder -> diagonal Gaussian z -> parallel-head decoder, one softmax per position.

    Args:
        cfg: architecture.
        vocab: the character vocabulary (kept with the model for encode/decode of text).
    """

    def __init__(self, cfg: PoetVAEConfig, vocab: Vocab | None = None):
        super().__init__()
        if cfg.vocab_size < 3:
            raise ValueError("vocab_size must be set (>= 3)")
        if cfg.decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {', '.join(DECODERS)}, got {cfg.decoder!r}")
        if cfg.d_model % cfg.n_heads:
            raise ValueError(f"d_model {cfg.d_model} is not divisible by n_heads {cfg.n_heads}")
        if cfg.keywords and cfg.prior not in ("normal", "mixture", "flow", "mixture-flow"):
            raise ValueError(f"keywords need a prior over z alone, not {cfg.prior}")
        if not 0 <= cfg.keyword_drop <= 1:
            raise ValueError(f"keyword_drop must be in [0, 1], got {cfg.keyword_drop}")
        self.cfg, self.vocab = cfg, vocab
        # the decoding settings its poems read best with (decoding.NAMED: temperature,
        # presence), from its checkpoint's config.json; see `Decoding.for_model`
        self.decoding: dict[str, float] = {}
        L, D, Z = cfg.seq_len, cfg.d_model, cfg.latent_dim
        self.prior = build_prior(cfg.prior, Z, cfg.prior_components)
        self.embed = nn.Embedding(cfg.vocab_size, D)
        self.enc_pos = nn.Parameter(torch.zeros(L, D))
        self.encoder = nn.Sequential(
            *[GatedConv1d(D, cfg.kernel_size, cfg.dropout) for _ in range(cfg.n_layers)]
        )
        self.enc_norm = nn.LayerNorm(2 * D)
        self.to_latent = nn.Linear(2 * D, 2 * Z)
        self.heads = nn.ModuleList(
            nn.Sequential(
                nn.Linear(Z, cfg.head_dim), nn.GELU(), nn.Linear(cfg.head_dim, L * D // cfg.n_heads)
            )
            for _ in range(cfg.n_heads)
        )
        self.dec_pos = nn.Parameter(torch.zeros(L, D))
        causal = cfg.decoder == "causal"
        self.decoder = nn.Sequential(
            *[
                GatedConv1d(D, cfg.kernel_size, cfg.dropout, causal=causal)
                for _ in range(cfg.n_dec_layers)
            ]
        )
        if cfg.decoder != "parallel":
            # a zero mask embedding leaves a fully masked pass as the parallel decoder computes
            # it, so a trained parallel model can be continued as a mask-predict one
            self.mask_embed = nn.Parameter(torch.zeros(D))
            # normalised: the tied embedding's rows are small beside the heads' features (norm
            # about 1.6 against 30 in the base model), and the draft must not be drowned
            self.draft_norm = nn.LayerNorm(D)
            self.draft_in = nn.Linear(D, D)
        if cfg.refiner_layers:
            if cfg.decoder != "mask-predict":
                raise ValueError("refiner_layers needs decoder=mask-predict (it reads a draft)")
            # self-attention over every position of the poem: each character reads all lines.
            # Each layer adds to its input and starts as the identity (its output projections
            # zero), so a grown refiner leaves the model it continues exactly as it was
            layer = nn.TransformerEncoderLayer(
                D,
                nhead=4,
                dim_feedforward=4 * D,
                dropout=cfg.dropout,
                batch_first=True,
                norm_first=True,
                activation="gelu",
            )
            self.refiner = nn.TransformerEncoder(
                layer, cfg.refiner_layers, enable_nested_tensor=False
            )
            for block in self.refiner.layers:
                for out in (block.self_attn.out_proj, block.linear2):
                    nn.init.zeros_(out.weight)
                    nn.init.zeros_(out.bias)
        if cfg.keywords:
            # a keyword: mean of its characters' (tied) embeddings -> norm -> MLP
            self.kw_norm = nn.LayerNorm(D)
            self.kw_mlp = nn.Sequential(nn.Linear(D, D), nn.GELU(), nn.Linear(D, D))
            # what reads c: zero and bias-free, so c = 0 (no keyword) changes nothing
            self.enc_cond = nn.Linear(D, 2 * D, bias=False)
            self.head_cond = nn.Linear(D, cfg.n_heads * cfg.head_dim, bias=False)
            # the mixture's logit shift and mean offset, or a Gaussian's mean and log variance
            # (the prior's own for a normal one, its base's for a flow)
            mixed = cfg.prior in ("mixture", "mixture-flow")
            width = cfg.prior_components + Z if mixed else 2 * Z
            self.prior_cond = nn.Linear(D, width, bias=False)
            for layer in (self.enc_cond, self.head_cond, self.prior_cond):
                nn.init.zeros_(layer.weight)
        self.out_norm = nn.LayerNorm(D)
        self.out_bias = nn.Parameter(torch.zeros(cfg.vocab_size))
        nn.init.normal_(self.embed.weight, std=0.02)
        nn.init.normal_(self.enc_pos, std=0.02)
        nn.init.normal_(self.dec_pos, std=0.02)

    def condition(self, kw: Tensor | None) -> Tensor | None:
        """(B, K, W) ids of up to K keywords of up to W characters each (PAD_ID where none) ->
        (B, D) condition vectors c, the zero vector for a poem without keywords; None for None.

        Raises:
            ValueError: the model is not conditional.
        """
        if kw is None:
            return None
        if not self.cfg.keywords:
            raise ValueError("this model was trained without keywords: use a conditional one")
        chars = (kw != PAD_ID).unsqueeze(-1)  # (B, K, W, 1)
        n = chars.sum(2)  # (B, K, 1) characters per keyword
        word = (self.embed(kw) * chars).sum(2) / n.clamp(min=1)  # (B, K, D)
        h = self.kw_mlp(self.kw_norm(word))  # (B, K, D)
        has = (n > 0).to(h.dtype)  # (B, K, 1)
        return (h * has).sum(1) / has.sum(1).clamp(min=1)  # (B, D): masked mean over keywords

    def prior_given(self, cond: Tensor | None):
        """p(z | c) for (B, D) conditions (or (1, D), broadcast); `prior` for None."""
        if cond is None:
            return self.prior
        shift = self.prior_cond(cond).float()  # (B, K + Z) or (B, 2Z)
        flow = self.prior if isinstance(self.prior, FlowPrior) else None
        base = self.prior if flow is None else flow.base
        k = self.cfg.prior_components
        # a mixture is reweighted and moved; a Gaussian (N(0, I), or a flow's) is moved, scaled
        if isinstance(base, GaussianMixture):
            base = base.reweighted(shift[:, :k], shift[:, k:])
        else:
            base = DiagonalGaussian(*shift.chunk(2, dim=-1))
        return base if flow is None else flow.over(base)

    def given(self, kw: Tensor | None) -> "PoetVAE | Given":
        """The model with a condition bound: (1, K, W) keyword ids (see `keyword_ids`), or
        itself for None."""
        return self if kw is None else Given(self, self.condition(kw))

    def keyword_ids(self, words: list[str]) -> Tensor:
        """(1, K, W) ids of keywords (W the longest keyword's length).

        Raises:
            ValueError: an unconditional model, too many keywords, or characters the
                vocabulary lacks (named).
        """
        if not self.cfg.keywords:
            raise ValueError(
                "this model was trained without keywords: keywords need a conditional model "
                "(one trained with --set keywords=4)"
            )
        if not 1 <= len(words) <= self.cfg.keywords:
            raise ValueError(f"give 1 to {self.cfg.keywords} keywords, got {len(words)}")
        missing = "".join(dict.fromkeys(c for w in words for c in w if c not in self.vocab))
        if missing:
            raise ValueError(f"keywords: not in the model's vocabulary: {missing}")
        width = max(map(len, words))
        ids = [self.vocab.encode(w) + [PAD_ID] * (width - len(w)) for w in words]
        return torch.tensor([ids], device=self.embed.weight.device)

    def encode(self, x: Tensor, cond: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """(B, L) char ids (and (B, D) or (1, D) conditions) -> mu, logvar, each (B, Z)."""
        h = self.encoder(self.embed(x) + self.enc_pos)  # (B, L, D)
        pooled = torch.cat([h.mean(1), h.amax(1)], dim=-1)  # (B, 2D)
        if cond is not None:
            pooled = pooled + self.enc_cond(cond)
        mu, logvar = self.to_latent(self.enc_norm(pooled)).chunk(2, dim=-1)
        return mu, logvar

    def decode(
        self,
        z: Tensor,
        draft: Tensor | None = None,
        at: int | Tensor | None = None,
        cond: Tensor | None = None,
    ) -> Tensor:
        """(B, Z) latents -> (B, L, V) logits, one distribution per character position.

        Args:
            z: (B, Z) latents.
            draft: (B, L) ids with MASK where unknown, read by the mask-predict decoder (all
                positions) and the causal one (positions left of each); None = all masked.
                Ignored by the parallel decoder.
            at: only this position's (B, V) logits (the causal decoder draws one at a time), or
                with a (B, L) bool mask only the (M, V) logits of its M positions, in row-major
                order (a re-masking pass needs no others).
            cond: (B, D) or (1, D) conditions (see `condition`); None = unconditional.
        """
        h = self._features(z, draft, cond)  # (B, L, D)
        if at is None:
            return self._project(h)
        return self._project(h[:, at] if isinstance(at, int) else h[at])

    def _features(self, z: Tensor, draft: Tensor | None, cond: Tensor | None = None) -> Tensor:
        B, L = z.shape[0], self.cfg.seq_len
        if cond is None:
            h = torch.cat([head(z).view(B, L, -1) for head in self.heads], dim=-1)  # (B, L, D)
        else:  # c enters each head's hidden layer beside z
            extra = self.head_cond(cond).chunk(self.cfg.n_heads, dim=-1)  # (B, H) each
            h = torch.cat(
                [
                    head[2](head[1](head[0](z) + e)).view(B, L, -1)
                    for head, e in zip(self.heads, extra)
                ],
                dim=-1,
            )  # (B, L, D)
        h = F.gelu(h) + self.dec_pos
        if self.cfg.decoder != "parallel":
            if draft is None:
                h = h + self.mask_embed
            else:
                known = (draft != MASK).unsqueeze(-1)  # (B, L, 1)
                e = self.draft_in(self.draft_norm(self.embed(draft.clamp(min=0))))  # (B, L, D)
                e = torch.where(known, e, self.mask_embed)
                if self.cfg.decoder == "causal":  # position i reads x_{i-1}; position 0 a start
                    e = torch.cat([self.mask_embed.expand(B, 1, -1), e[:, :-1]], dim=1)
                h = h + e
        h = self.out_norm(self.decoder(h))  # (B, L, D)
        if self.cfg.refiner_layers and draft is not None:  # a fully masked pass stays p(x | z)
            h = self.refiner(h)
        return h

    def _project(self, h: Tensor) -> Tensor:
        return F.linear(h, self.embed.weight, self.out_bias)  # (..., V), tied to the embedding

    def logits(self, z: Tensor, x: Tensor, cond: Tensor | None = None) -> Tensor:
        """(B, L, V) logits of p(x | z) for (B, Z) latents and (B, L) poems: one pass.

        The parallel and mask-predict decoders see no characters (every position masked); the
        causal one reads each position's left context from x (teacher forcing).
        """
        return self.decode(z, x if self.cfg.decoder == "causal" else None, cond=cond)

    def recon_nll(self, logits: Tensor, x: Tensor) -> Tensor:
        """Summed per-position cross-entropy, (B, L, V) logits and (B, L) ids -> (B,) nats."""
        ce = F.cross_entropy(logits.flatten(0, 1).float(), x.flatten(), reduction="none")
        return ce.view(x.shape).sum(1)

    def log_px(self, z: Tensor, x: Tensor, cond: Tensor | None = None) -> Tensor:
        """log p(x | z, c) in nats for (C, B, Z) latents, (B, L) poems and (B, D) or (1, D)
        conditions (None: unconditional) -> (C, B)."""
        c, b, _ = z.shape
        xs = x.repeat(c, 1)
        if cond is not None and cond.shape[0] != 1:
            cond = cond.repeat(c, 1)
        return -self.recon_nll(self.logits(z.reshape(c * b, -1), xs, cond), xs).view(c, b)

    def forward(self, batch: tuple[Tensor, ...], beta: float = 1.0) -> Output:
        """Negative ELBO (beta-weighted, with free bits) averaged over the batch.

        parts: recon and kl (nats per poem, true KL without free bits), elbo (nats per poem),
        ce (cross-entropy per character); the mask-predict decoder adds cmlm, the cross-entropy
        per masked character of a randomly masked draft (added to the loss per poem).
        """
        x = batch[0]
        kw = batch[1] if self.cfg.keywords and len(batch) > 1 else None
        if kw is not None and self.training:
            kw = self._some_keywords(kw)
        cond = self.condition(kw)  # (B, D) or None
        prior = self.prior_given(cond)
        mu, logvar = self.encode(x, cond)
        z = reparameterize(mu, logvar)
        h = self._features(z, x if self.cfg.decoder == "causal" else None, cond)  # (B, L, D)
        logits = self._project(h)  # (B, L, V)
        recon = self.recon_nll(logits, x)  # (B,)
        if self.cfg.prior == "normal":  # closed form, per dimension
            if cond is None:
                kl_dims = gaussian_kl(mu.float(), logvar.float())  # (B, Z)
            else:
                kl_dims = prior.kl_dims(mu.float(), logvar.float())  # (B, Z)
            kl = kl_dims.sum(1)
        else:  # one-sample Monte Carlo at the z the decoder reads
            kl = prior.kl(mu.float(), logvar.float(), z.float())  # (B,)
        if self.cfg.free_bits > 0 and self.cfg.prior == "normal":
            # floor on each dimension's batch-mean KL (a learned prior's KL has no dimensions)
            kl_term = kl_dims.mean(0).clamp(min=self.cfg.free_bits).sum().expand_as(kl)
        else:
            kl_term = kl
        loss = elbo(recon, kl_term, beta).mean()
        recon_m, kl_m = recon.mean().item(), kl.mean().item()
        parts = {
            "recon": recon_m,
            "kl": kl_m,
            "elbo": -(recon_m + kl_m),
            "ce": recon_m / x.shape[1],
        }
        if self.cfg.decoder == "mask-predict":
            # z is detached: otherwise the encoder learns to carry the masked characters in z
            # (measured: KL 36 -> 50 nats per poem in one epoch, -ELBO 128.8 -> 132.2), which
            # costs the bound and leaves the draft path little to learn
            cmlm, n_masked = self._masked_nll(z.detach(), x, cond)
            loss = loss + cmlm / len(x)
            parts["cmlm"] = cmlm.item() / n_masked
        return Output(loss, parts)

    def _some_keywords(self, kw: Tensor) -> Tensor:
        """(B, K, W) keyword ids with, per poem, none (probability `keyword_drop`) or a random
        subset of k of its n keywords, k uniform in 1..n, the others set to PAD_ID."""
        B, K, _ = kw.shape
        has = (kw != PAD_ID).any(-1)  # (B, K)
        rank = torch.rand(B, K, device=kw.device).masked_fill(~has, 2.0).argsort(-1).argsort(-1)
        k = (torch.rand(B, 1, device=kw.device) * has.sum(-1, keepdim=True)).long() + 1  # (B, 1)
        keep = has & (rank < k) & (torch.rand(B, 1, device=kw.device) >= self.cfg.keyword_drop)
        return kw.masked_fill(~keep.unsqueeze(-1), PAD_ID)

    def _mask_some(self, x: Tensor) -> Tensor:
        """(B, L) bool: k positions of each poem, k uniform in 1..L (as in Mask-Predict)."""
        B, L = x.shape
        k = torch.randint(1, L + 1, (B, 1), device=x.device)
        rank = torch.rand(B, L, device=x.device).argsort(-1).argsort(-1)  # a random order
        return rank < k

    def _masked_nll(self, z: Tensor, x: Tensor, cond: Tensor | None) -> tuple[Tensor, int]:
        """Summed cross-entropy of the masked positions of x given z (and c) and the rest of x."""
        masked = self._mask_some(x)  # (B, L)
        h = self._features(z, x.masked_fill(masked, MASK), cond)[masked]  # (M, D): masked ones only
        nll = F.cross_entropy(self._project(h).float(), x[masked], reduction="sum")
        return nll, int(masked.sum())

    def meta(self) -> dict:
        """config.json content for checkpoints."""
        return {"model_type": MODEL_TYPE, "model": to_dict(self.cfg)}


class Given:
    """A PoetVAE with one condition bound (see `PoetVAE.given`): `encode`, `decode`, `logits`,
    `log_px` and `prior` read it, everything else is the model's, so every decoder and search
    that takes a model takes this."""

    def __init__(self, model: PoetVAE, cond: Tensor):
        self.model, self.cond = model, cond  # (1, D) or (B, D)
        self.prior = model.prior_given(cond)

    def __getattr__(self, name: str):
        return getattr(self.model, name)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self.model.encode(x, self.cond)

    def decode(self, z: Tensor, draft: Tensor | None = None, at=None) -> Tensor:
        return self.model.decode(z, draft, at, self.cond)

    def logits(self, z: Tensor, x: Tensor) -> Tensor:
        return self.model.logits(z, x, self.cond)

    def log_px(self, z: Tensor, x: Tensor) -> Tensor:
        return self.model.log_px(z, x, self.cond)


def files(model: PoetVAE) -> dict[str, bytes]:
    """Extra checkpoint files: the vocabulary."""
    return {VOCAB_FILE: model.vocab.model_bytes}


def load(path: str | Path, device: torch.device | str = "cpu") -> PoetVAE:
    """Rebuild a PoetVAE (with its vocabulary) from a checkpoint folder or run directory, or
    load the bundled model of a form.

    Args:
        path: a run directory or checkpoint folder, or a form name ("wuyan", "wulu", ...; see
            `forms.FORMS`) where no such folder exists.
        device: where the model goes.

    Raises:
        checkpoint.CheckpointError: missing, corrupt, or not a PoetVAE checkpoint.
        ValueError: a form whose model is not shipped with this install.
    """
    if isinstance(path, str) and path in FORMS and not Path(path).exists():
        path = bundled_model(path)
    meta = checkpoint.read_meta(path)
    if meta.get("model_type") != MODEL_TYPE:
        raise checkpoint.CheckpointError(
            f"{path} is a {meta.get('model_type', 'unknown')!r} checkpoint, not a poetvae text one"
        )
    try:
        cfg = from_dict(PoetVAEConfig, meta["model"])
        vocab = Vocab((checkpoint.resolve(path) / VOCAB_FILE).read_bytes())
    except (KeyError, TypeError, ValueError, OSError, RuntimeError) as e:
        raise checkpoint.CheckpointError(f"{path}: unusable config or vocabulary ({e})") from None
    if len(vocab) != cfg.vocab_size:
        raise checkpoint.CheckpointError(
            f"{path}: vocabulary has {len(vocab)} entries but the model expects {cfg.vocab_size}"
        )
    model = checkpoint.load_weights(PoetVAE(cfg, vocab), path)
    model.decoding = named_decoding(meta, path)
    return model.to(device).eval()


def named_decoding(meta: dict, path) -> dict[str, float]:
    """The decoding settings a checkpoint's config.json names ("decoding": {"temperature": T,
    "presence": P}, written by scripts/export_model.py), each optional.

    Raises:
        checkpoint.CheckpointError: a setting that is unknown or out of its range.
    """
    named = meta.get("decoding", {})
    try:
        if not isinstance(named, dict):
            raise TypeError(f"not a table of settings: {named!r}")
        for key, value in named.items():
            if key not in NAMED:
                raise TypeError(f"unknown setting {key!r}: choose from {', '.join(NAMED)}")
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"{key} is not a number: {value!r}")
        Decoding(**named)
    except (TypeError, ValueError) as e:
        raise checkpoint.CheckpointError(f"{path}: unusable decoding settings ({e})") from None
    return dict(named)
