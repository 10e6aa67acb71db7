"""Priors p(z): the standard normal, a learned mixture, the VampPrior and a RealNVP flow, one
interface for every VAE here.

Every prior is an nn.Module with
- `log_prob(z)`: (..., Z) -> (...) log density in nats;
- `sample(n, generator)`: (n, Z) draws;
- `kl(mu, logvar, z)`: (B,) KL(q(z|x) || p(z)) in nats for q = N(mu, diag(exp(logvar))), in
  closed form where there is one (Kingma & Welling 2014, Appendix B) and otherwise the one-sample
  Monte Carlo estimate log q(z|x) - log p(z) at the reparameterized z that the decoder reads.

Conditional priors p(z | c) over these (a conditional VAE: Sohn et al. 2015): `DiagonalGaussian`
with per-row mean and variance over a standard-normal model, and `GaussianMixture.reweighted`,
the same components with per-row weights and moved together by a per-row offset, over a
mixture model.

`GaussianMixture` is K diagonal Gaussians with learned weights. Initialised on the posteriors of
K training items it is the VampPrior of Tomczak & Welling (2018, "VAE with a VampPrior") with
real items as its pseudo-inputs, i.e. a sample of the aggregate posterior q(z) = E_x q(z|x);
`fit_mixture` then fits it to that aggregate posterior after training (Ghosh et al. 2020; the
second stage of Dai & Wipf 2019): a standard normal cannot express the aggregate posterior's
clusters and correlations, so samples from N(0, I) land where no item's posterior lives.

`VampPrior` is the VampPrior itself: K learned pseudo-inputs u_k in the model's input space, and
p(z) = 1/K sum_k q(z | u_k) through the model's own encoder, trained jointly. It needs inputs
that a gradient can move (pixels), so it is for the image VAEs.

`FlowPrior` is a RealNVP (Dinh et al. 2017, "Density estimation using Real NVP"): z = f(u),
u ~ N(0, I), through affine coupling layers, each moving half the dimensions by a scale and a
shift computed from the other half; log p(z) = log N(f^-1(z)) + log |det d f^-1 / dz|, exact,
and sampling inverts the layers. It starts as the identity (N(0, I)) and is trained jointly.
"""

import math

import torch
from torch import Tensor, nn

from .latent import gaussian_kl, log_normal

LOG_2PI = math.log(2 * math.pi)

PRIORS = ("normal", "mixture", "vamp", "flow", "mixture-flow")
MIXTURE_FLOW_LAYERS = 8  # the coupling layers of a "mixture-flow" prior
PUSH_BLOCK = 256  # base draws a flow pushes at once (see `FlowPrior.push_blocks`)


def mixture_log_prob(z: Tensor, log_w: Tensor, means: Tensor, logvars: Tensor) -> Tensor:
    """log sum_k w_k N(z; m_k, diag(exp(v_k))) of (..., Z) latents: (...) nats.

    log_w: (K,) or (..., K) log weights; means, logvars: (K, Z).
    """
    # float64: the expansion below subtracts terms of order z^2 / v (hundreds of nats for a
    # narrow component) to get a difference of order one
    z, logvars = z.double(), logvars.double()
    m, inv = means.double(), (-logvars).exp()  # (K, Z) each
    # log N(z; m_k, v_k) = -1/2 sum_d (z^2 / v - 2 z m / v + m^2 / v + log v + log 2 pi), as
    # two (..., Z) @ (Z, K) products: no (..., K, Z) tensor, which is 0.7 GB for K = 4096
    const = (m.pow(2) * inv + logvars).sum(-1) + m.shape[-1] * LOG_2PI  # (K,)
    quad = z.pow(2) @ inv.T - 2 * z @ (m * inv).T  # (..., K)
    return torch.logsumexp(log_w.double() - 0.5 * (quad + const), dim=-1).float()


class StandardNormal(nn.Module):
    """p(z) = N(0, I)."""

    def __init__(self, latent_dim: int):
        super().__init__()
        self.latent_dim = latent_dim

    def log_prob(self, z: Tensor) -> Tensor:
        return log_normal(z)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return torch.randn(n, self.latent_dim, generator=generator)

    def kl(self, mu: Tensor, logvar: Tensor, z: Tensor | None = None) -> Tensor:
        return gaussian_kl(mu, logvar).sum(-1)


class GaussianMixture(nn.Module):
    """p(z) = sum_k w_k N(z; m_k, diag(exp(v_k))), K components.

    Args:
        latent_dim: Z.
        n_components: K. Until fitted or loaded: equal weights, unit variances and means drawn
            from N(0, I), so that components trained jointly with the model start apart.
    """

    def __init__(self, latent_dim: int, n_components: int):
        super().__init__()
        self.latent_dim = latent_dim
        self.logits = nn.Parameter(torch.zeros(n_components))  # (K,)
        self.means = nn.Parameter(torch.randn(n_components, latent_dim))  # (K, Z)
        self.logvars = nn.Parameter(torch.zeros(n_components, latent_dim))  # (K, Z)

    def log_prob(self, z: Tensor, logits: Tensor | None = None) -> Tensor:
        """log p(z) of (..., Z) latents; `logits` (..., K) replace the component weights' (see
        `reweighted`)."""
        logits = self.logits if logits is None else logits
        return mixture_log_prob(z, logits.double().log_softmax(-1), self.means, self.logvars)

    def sample(
        self, n: int, generator: torch.Generator | None = None, logits: Tensor | None = None
    ) -> Tensor:
        logits = self.logits if logits is None else logits.reshape(-1)
        w = logits.detach().float().softmax(0).cpu()
        k = torch.multinomial(w, n, replacement=True, generator=generator)  # (n,)
        eps = torch.randn(n, self.latent_dim, generator=generator)
        means, logvars = self.means.detach().float().cpu(), self.logvars.detach().float().cpu()
        return means[k] + (0.5 * logvars[k]).exp() * eps

    def kl(self, mu: Tensor, logvar: Tensor, z: Tensor) -> Tensor:
        return log_normal(z, mu, logvar) - self.log_prob(z)

    def reweighted(self, shift: Tensor, offset: Tensor | None = None) -> "Reweighted":
        """p(z | c) = sum_k w_k(c) N(z; m_k + offset(c), v_k), the weights' logits plus shift.

        The same components, weighed by a condition (they are where items live; a condition
        picks among them) and moved together by an offset.

        Args:
            shift: (B, K) or (1, K) added to the logits.
            offset: (B, Z) or (1, Z) added to every mean; None = 0.
        """
        return Reweighted(self, shift, offset)


class Reweighted(nn.Module):
    """A GaussianMixture with its weights' logits shifted and its means moved per row (see
    `reweighted`); its KL is a one-sample Monte Carlo estimate, as the mixture's."""

    def __init__(self, base: GaussianMixture, shift: Tensor, offset: Tensor | None = None):
        super().__init__()
        self.base, self.shift, self.offset = base, shift, offset
        self.latent_dim = base.latent_dim

    def log_prob(self, z: Tensor) -> Tensor:
        # every component moved by the offset: the mixture's density at z - offset
        z = z if self.offset is None else z - self.offset
        return self.base.log_prob(z, self.base.logits + self.shift)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        if self.shift.shape[0] != 1:
            raise ValueError("sample a reweighted mixture of one condition (shift of shape (1, K))")
        z = self.base.sample(n, generator, self.base.logits + self.shift[0])
        return z if self.offset is None else z + self.offset.detach().float().cpu()

    def kl(self, mu: Tensor, logvar: Tensor, z: Tensor) -> Tensor:
        return log_normal(z, mu, logvar) - self.log_prob(z)


class DiagonalGaussian(nn.Module):
    """p(z | c) = N(mu(c), diag(exp(logvar(c)))), parameters (B, Z) or (1, Z): a conditional
    prior over a standard-normal model, with its KL in closed form."""

    def __init__(self, mu: Tensor, logvar: Tensor):
        super().__init__()
        self.mu, self.logvar = mu, logvar
        self.latent_dim = mu.shape[-1]

    def log_prob(self, z: Tensor) -> Tensor:
        return log_normal(z, self.mu, self.logvar)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        if self.mu.shape[0] != 1:
            raise ValueError("sample a conditional Gaussian of one condition (mu of shape (1, Z))")
        eps = torch.randn(n, self.latent_dim, generator=generator)
        mu, logvar = self.mu.detach().float().cpu(), self.logvar.detach().float().cpu()
        return mu + (0.5 * logvar).exp() * eps

    def kl_dims(self, mu: Tensor, logvar: Tensor) -> Tensor:
        """(B, Z) closed-form KL per dimension."""
        return gaussian_kl(mu, logvar, self.mu, self.logvar)

    def kl(self, mu: Tensor, logvar: Tensor, z: Tensor | None = None) -> Tensor:
        return self.kl_dims(mu, logvar).sum(-1)


class VampPrior(nn.Module):
    """p(z) = 1/K sum_k q(z | u_k): K pseudo-inputs u_k = sigmoid(a_k) in [0, 1], pushed
    through the model's encoder (Tomczak & Welling 2018, "VAE with a VampPrior"). Its KL is the
    one-sample Monte Carlo estimate, as the mixture's.

    Args:
        latent_dim: Z.
        n_components: K.
        input_shape: the shape of one encoder input, e.g. (1, 28, 28) pixels.

    Call `bind(encode)` with the model's encoder, x -> (mu, logvar), before use. It is not a
    submodule: the encoder's weights are the model's, saved once.
    """

    def __init__(self, latent_dim: int, n_components: int, input_shape: tuple[int, ...]):
        super().__init__()
        self.latent_dim = latent_dim
        # random noise images: the components start apart, and training moves them
        self.pseudo = nn.Parameter(torch.randn(n_components, *input_shape))
        self._encode = None

    def bind(self, encode) -> "VampPrior":
        object.__setattr__(self, "_encode", encode)
        return self

    def components(self) -> tuple[Tensor, Tensor]:
        """(K, Z) means and log variances of q(z | u_k)."""
        if self._encode is None:
            raise RuntimeError("VampPrior.bind(encode) must be called before use")
        return self._encode(torch.sigmoid(self.pseudo))

    def log_prob(self, z: Tensor) -> Tensor:
        means, logvars = self.components()
        log_w = torch.full((means.shape[0],), -math.log(means.shape[0]), device=z.device)
        return mixture_log_prob(z, log_w, means, logvars)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        with torch.no_grad():
            means, logvars = (t.float().cpu() for t in self.components())
        k = torch.randint(means.shape[0], (n,), generator=generator)
        eps = torch.randn(n, self.latent_dim, generator=generator)
        return means[k] + (0.5 * logvars[k]).exp() * eps

    def kl(self, mu: Tensor, logvar: Tensor, z: Tensor) -> Tensor:
        return log_normal(z, mu, logvar) - self.log_prob(z)


class FlowPrior(nn.Module):
    """p(z) by a RealNVP: `n_layers` affine coupling layers over a base, N(0, I) or another
    prior (see the module docstring). Its KL is the one-sample Monte Carlo estimate, as the
    mixture's.

    Args:
        latent_dim: Z (at least 2).
        n_layers: coupling layers; they alternate which half of z they move.
        hidden: width of each layer's two-layer MLP.
        base: the prior the layers warp (e.g. a fitted GaussianMixture, whose clusters the warp
            keeps); None = N(0, I).
    """

    def __init__(
        self, latent_dim: int, n_layers: int, hidden: int = 256, base: nn.Module | None = None
    ):
        super().__init__()
        if latent_dim < 2:
            raise ValueError(f"a flow prior needs latent_dim >= 2, got {latent_dim}")
        self.latent_dim = latent_dim
        self.base = base  # None: N(0, I)
        half = latent_dim // 2
        self.splits = [
            (half, latent_dim - half) if i % 2 == 0 else (latent_dim - half, half)
            for i in range(n_layers)
        ]  # (kept, moved) sizes
        self.nets = nn.ModuleList(
            nn.Sequential(
                nn.Linear(kept, hidden),
                nn.GELU(),
                nn.Linear(hidden, hidden),
                nn.GELU(),
                nn.Linear(hidden, 2 * moved),
            )
            for kept, moved in self.splits
        )
        for net in self.nets:  # every layer starts as the identity: p(z) = N(0, I)
            nn.init.zeros_(net[-1].weight)
            nn.init.zeros_(net[-1].bias)

    def _layer(self, i: int, z: Tensor) -> tuple[Tensor, Tensor, tuple[Tensor, Tensor], bool]:
        """Layer i's kept and moved halves of z, its (log scale, shift), and whether it is
        flipped."""
        kept_n = self.splits[i][0]
        flip = i % 2 == 1  # odd layers keep the last dimensions and move the first
        kept, moved = (
            (z[..., -kept_n:], z[..., :-kept_n])
            if flip
            else z.split([kept_n, z.shape[-1] - kept_n], -1)
        )
        log_s, t = self.nets[i](kept).chunk(2, dim=-1)
        return kept, moved, (torch.tanh(log_s), t), flip

    @staticmethod
    def _join(kept: Tensor, moved: Tensor, flip: bool) -> Tensor:
        return torch.cat([moved, kept] if flip else [kept, moved], dim=-1)

    def pull(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """u = f^-1(z) and log |det d f^-1 / dz| (...), undoing the last layer first."""
        logdet = torch.zeros(z.shape[:-1], device=z.device)
        for i in reversed(range(len(self.nets))):
            kept, moved, (log_s, t), flip = self._layer(i, z)
            z = self._join(kept, (moved - t) * torch.exp(-log_s), flip)
            logdet = logdet - log_s.sum(-1)
        return z, logdet

    def log_prob(self, z: Tensor) -> Tensor:
        u, logdet = self.pull(z)
        return (log_normal(u) if self.base is None else self.base.log_prob(u)) + logdet

    def over(self, base: nn.Module) -> "Pushed":
        """The same layers over another base, e.g. p(z | c): a base that c moves or reweighs
        (`DiagonalGaussian` for a flow over N(0, I), `GaussianMixture.reweighted` for one
        over a mixture)."""
        return Pushed(self, base)

    def push(self, u: Tensor) -> Tensor:
        """z = f(u), through the layers in order (the inverse of what `log_prob` undoes)."""
        z = u
        for i in range(len(self.nets)):
            kept, moved, (log_s, t), flip = self._layer(i, z)
            z = self._join(kept, moved * torch.exp(log_s) + t, flip)
        return z

    @torch.no_grad()
    def push_blocks(self, u: Tensor) -> Tensor:
        """`push` of (N, Z) base draws on the CPU, PUSH_BLOCK rows at a time (the last block
        padded with zeros): each row's numbers do not depend on N or on its neighbours, as a
        matrix product of another shape may round them otherwise."""
        n = len(u)
        padded = torch.zeros(-(-n // PUSH_BLOCK) * PUSH_BLOCK, u.shape[1])
        padded[:n] = u
        device = self.nets[0][0].weight.device
        parts = [self.push(b.to(device)).float().cpu() for b in padded.split(PUSH_BLOCK)]
        return torch.cat(parts)[:n]

    def base_sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """(n, Z) draws of the base, on the CPU: `sample` is `push_blocks` of them."""
        if self.base is None:
            return torch.randn(n, self.latent_dim, generator=generator)
        return self.base.sample(n, generator)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return self.push_blocks(self.base_sample(n, generator))

    def kl(self, mu: Tensor, logvar: Tensor, z: Tensor) -> Tensor:
        return log_normal(z, mu, logvar) - self.log_prob(z)


class Pushed(nn.Module):
    """A FlowPrior's layers over another base (see `FlowPrior.over`); KL by Monte Carlo."""

    def __init__(self, flow: FlowPrior, base: nn.Module):
        super().__init__()
        self.flow, self.base = flow, base
        self.latent_dim = flow.latent_dim

    def log_prob(self, z: Tensor) -> Tensor:
        u, logdet = self.flow.pull(z)
        return self.base.log_prob(u) + logdet

    def base_sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return self.base.sample(n, generator)

    def push_blocks(self, u: Tensor) -> Tensor:
        return self.flow.push_blocks(u)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return self.push_blocks(self.base_sample(n, generator))

    def kl(self, mu: Tensor, logvar: Tensor, z: Tensor) -> Tensor:
        return log_normal(z, mu, logvar) - self.log_prob(z)


def build_prior(
    kind: str, latent_dim: int, n_components: int = 0, input_shape: tuple[int, ...] | None = None
) -> nn.Module:
    """The prior named in a model config: "normal", "mixture" or "vamp" (with n_components;
    "vamp" with the encoder's input_shape, then `VampPrior.bind`), "flow" (n_components
    coupling layers over N(0, I)) or "mixture-flow" (MIXTURE_FLOW_LAYERS coupling layers over
    a mixture of n_components)."""
    if kind == "normal":
        return StandardNormal(latent_dim)
    if kind == "mixture":
        if n_components < 1:
            raise ValueError(f"a mixture prior needs n_components >= 1, got {n_components}")
        return GaussianMixture(latent_dim, n_components)
    if kind == "vamp":
        if n_components < 1:
            raise ValueError(f"a vamp prior needs n_components >= 1, got {n_components}")
        if input_shape is None:
            raise ValueError("the vamp prior needs a model whose inputs are pixels (an image VAE)")
        return VampPrior(latent_dim, n_components, input_shape)
    if kind == "flow":
        if n_components < 1:
            raise ValueError(
                f"a flow prior needs n_components (coupling layers) >= 1, got {n_components}"
            )
        return FlowPrior(latent_dim, n_components)
    if kind == "mixture-flow":
        if n_components < 1:
            raise ValueError(f"a mixture-flow prior needs n_components >= 1, got {n_components}")
        base = GaussianMixture(latent_dim, n_components)
        return FlowPrior(latent_dim, MIXTURE_FLOW_LAYERS, base=base)
    raise ValueError(f"prior must be one of {', '.join(PRIORS)}, got {kind!r}")


def fit_mixture(
    mu: Tensor,
    logvar: Tensor,
    n_components: int,
    steps: int = 0,
    batch_size: int = 1024,
    lr: float = 1e-2,
    seed: int = 0,
    log=None,
    start: GaussianMixture | None = None,
) -> GaussianMixture:
    """A GaussianMixture fitted to the aggregate posterior of N items.

    Components start as the posteriors of n_components items drawn at random (or as those of
    `start`); `steps` of Adam then maximise the mixture's log density of z ~ q(z|x), x drawn
    from all N items (the cross-entropy of the aggregate posterior under the prior, the only
    term of the ELBO that the prior enters).

    Args:
        mu, logvar: (N, Z) posterior parameters of the training items.
        n_components: K <= N.
        steps: optimisation steps after the initialisation (0 keeps the posteriors as they are).
        log: optional callable(step, mean log p(z)) for progress.
        start: a mixture of n_components to start from (a refit that keeps each component
            where it was, so that what indexes the components still finds them).

    Returns:
        The fitted prior on the CPU.
    """
    n, latent_dim = mu.shape
    if not 1 <= n_components <= n:
        raise ValueError(f"n_components must be in 1..{n} (the items given), got {n_components}")
    gen = torch.Generator().manual_seed(seed)
    prior = GaussianMixture(latent_dim, n_components)
    with torch.no_grad():
        if start is not None:
            prior.load_state_dict(start.state_dict())
        else:
            pick = torch.randperm(n, generator=gen)[:n_components]
            prior.means.copy_(mu[pick])
            prior.logvars.copy_(logvar[pick])
    return fit_density(prior, mu, logvar, steps, batch_size, lr, gen, log)


def fit_flow(
    mu: Tensor,
    logvar: Tensor,
    n_layers: int,
    steps: int = 3000,
    batch_size: int = 1024,
    lr: float = 1e-3,
    seed: int = 0,
    log=None,
    cond: Tensor | None = None,
    cond_layer: nn.Module | None = None,
    base: nn.Module | None = None,
) -> FlowPrior:
    """A FlowPrior of n_layers coupling layers fitted to the aggregate posterior of N items, by
    `steps` of Adam on its log density of z ~ q(z|x) (the same objective as `fit_mixture`), its
    learning rate on a cosine schedule to 0.

    With cond (N, C) and cond_layer (C -> 2 Z), p(z | c) = the flow over a base
    N(cond_layer(c)) (`FlowPrior.over`) and the layer is fitted with it: item i's posterior is
    then q(z | x_i, c_i). With `base` (a fitted prior, kept fixed) the layers warp it instead of
    N(0, I).
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():  # the layers' initialisation, seeded, the global stream kept
        torch.manual_seed(seed)
        prior = FlowPrior(mu.shape[1], n_layers)
    if base is not None:  # fixed: Adam passes over parameters without a gradient
        prior.base = base.requires_grad_(False)

    def given(rows: Tensor) -> Pushed:
        return prior.over(DiagonalGaussian(*cond_layer(cond[rows]).chunk(2, dim=-1)))

    return fit_density(
        prior,
        mu,
        logvar,
        steps,
        batch_size,
        lr,
        gen,
        log,
        cosine=True,
        given=None if cond is None else given,
        extra=[] if cond_layer is None else list(cond_layer.parameters()),
    )


def fit_density(
    prior: nn.Module,
    mu: Tensor,
    logvar: Tensor,
    steps: int,
    batch_size: int,
    lr: float,
    gen: torch.Generator,
    log=None,
    cosine: bool = False,
    given=None,
    extra: list | None = None,
) -> nn.Module:
    """`steps` of Adam maximising the prior's mean log density of z ~ q(z|x), x drawn from the
    N items (mu, logvar (N, Z)); `given(rows)` replaces the prior by the rows' conditional one,
    and `extra` parameters train with it. Returns the prior, frozen."""
    opt = torch.optim.Adam([*prior.parameters(), *(extra or [])], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(steps, 1)) if cosine else None
    latent_dim = mu.shape[1]
    for step in range(steps):
        rows = torch.randint(len(mu), (batch_size,), generator=gen)
        eps = torch.randn(batch_size, latent_dim, generator=gen)
        z = mu[rows] + (0.5 * logvar[rows]).exp() * eps
        loss = -(prior if given is None else given(rows)).log_prob(z).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        if log is not None and (step % 100 == 0 or step == steps - 1):
            log(step, -loss.item())
    for p in extra or []:
        p.requires_grad_(False)
    return prior.requires_grad_(False)
