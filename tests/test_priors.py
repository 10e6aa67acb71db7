"""core.priors: one interface (log_prob, sample, kl) for the standard normal, the mixture, the
VampPrior and the RealNVP flow."""

import math

import pytest
import torch
from torch import distributions as D

from poetvae.core.latent import gaussian_kl, log_normal
from poetvae.core.priors import (
    FlowPrior,
    GaussianMixture,
    StandardNormal,
    VampPrior,
    build_prior,
    fit_mixture,
)


def _mixture(k=3, z=4, seed=0) -> GaussianMixture:
    g = torch.Generator().manual_seed(seed)
    prior = GaussianMixture(z, k)
    with torch.no_grad():
        prior.logits.copy_(torch.randn(k, generator=g))
        prior.means.copy_(3 * torch.randn(k, z, generator=g))
        prior.logvars.copy_(torch.randn(k, z, generator=g) * 0.5)
    return prior


def test_standard_normal_is_the_closed_form():
    prior, mu, logvar = StandardNormal(4), torch.randn(5, 4), torch.randn(5, 4)
    z = torch.randn(2, 5, 4)
    assert torch.allclose(prior.log_prob(z), log_normal(z))
    assert torch.allclose(prior.kl(mu, logvar, z[0]), gaussian_kl(mu, logvar).sum(-1))
    a, b = (
        prior.sample(3, torch.Generator().manual_seed(1)),
        torch.randn(3, 4, generator=torch.Generator().manual_seed(1)),
    )
    assert torch.equal(a, b)  # the same stream as torch.randn: old seeds give the same poems


def test_mixture_log_prob_matches_torch_distributions():
    prior = _mixture()
    ref = D.MixtureSameFamily(
        D.Categorical(logits=prior.logits),
        D.Independent(D.Normal(prior.means, (0.5 * prior.logvars).exp()), 1),
    )
    z = torch.randn(7, 2, 4) * 3
    assert torch.allclose(prior.log_prob(z), ref.log_prob(z), atol=1e-4)


def test_a_mixture_of_standard_normals_is_one_and_its_monte_carlo_kl_is_unbiased():
    prior, normal = GaussianMixture(3, 5), StandardNormal(3)
    with torch.no_grad():
        prior.means.zero_()
    z = torch.randn(10, 3)
    assert torch.allclose(prior.log_prob(z), normal.log_prob(z), atol=1e-5)
    mu, logvar = torch.tensor([[1.0, -0.5, 0.2]]), torch.tensor([[-1.0, 0.3, 0.0]])
    zs = mu + (0.5 * logvar).exp() * torch.randn(50_000, 3)
    mc = prior.kl(mu.expand_as(zs), logvar.expand_as(zs), zs).mean()
    assert mc.item() == pytest.approx(gaussian_kl(mu, logvar).sum().item(), abs=0.05)


def test_mixture_samples_follow_its_law_and_are_seeded():
    prior = _mixture(k=2, z=2)
    s = prior.sample(20_000, torch.Generator().manual_seed(0))
    w = prior.logits.softmax(0)
    assert torch.allclose(s.mean(0), (w[:, None] * prior.means).sum(0), atol=0.1)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert torch.equal(prior.sample(5, g1), prior.sample(5, g2))


def test_fit_mixture_starts_on_posteriors_and_fitting_raises_the_aggregate_posterior_density():
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[4.0, 0.0], [-4.0, 0.0], [0.0, 4.0]])
    mu = centres[torch.randint(3, (600,), generator=g)] + 0.3 * torch.randn(600, 2, generator=g)
    logvar = torch.full((600, 2), math.log(0.05))
    start = fit_mixture(mu, logvar, 8, steps=0)
    assert all(any(torch.equal(m, row) for row in mu) for m in start.means)  # real posteriors
    fitted = fit_mixture(mu, logvar, 8, steps=300, lr=3e-2)
    z = mu + (0.5 * logvar).exp() * torch.randn(600, 2, generator=g)
    assert fitted.log_prob(z).mean() > start.log_prob(z).mean()
    # both beat the standard normal, which puts its mass between the clusters
    assert start.log_prob(z).mean() > StandardNormal(2).log_prob(z).mean() + 1.0
    with pytest.raises(ValueError, match="n_components"):
        fit_mixture(mu, logvar, 601)


def test_build_prior_names_the_choices():
    assert isinstance(build_prior("normal", 3), StandardNormal)
    assert isinstance(build_prior("mixture", 3, 4), GaussianMixture)
    assert isinstance(build_prior("vamp", 3, 4, (1, 2, 2)), VampPrior)
    assert isinstance(build_prior("flow", 3, 2), FlowPrior)
    with pytest.raises(ValueError, match="normal, mixture, vamp, flow"):
        build_prior("glow", 3)
    with pytest.raises(ValueError, match="n_components"):
        build_prior("mixture", 3, 0)
    with pytest.raises(ValueError, match="pixels"):
        build_prior("vamp", 3, 4)  # a text model's inputs are ids: no pseudo-input to move


def test_vamp_prior_is_the_equal_mixture_of_the_encoder_posteriors_of_its_pseudo_inputs():
    torch.manual_seed(0)
    net = torch.nn.Linear(6, 2 * 3)
    encode = lambda x: net(x.flatten(1)).chunk(2, dim=-1)  # noqa: E731
    prior = VampPrior(3, 4, (1, 2, 3)).bind(encode)
    mu, logvar = encode(torch.sigmoid(prior.pseudo))
    ref = D.MixtureSameFamily(
        D.Categorical(logits=torch.zeros(4)),
        D.Independent(D.Normal(mu, (0.5 * logvar).exp()), 1),
    )
    z = torch.randn(5, 3) * 2
    assert torch.allclose(prior.log_prob(z), ref.log_prob(z), atol=1e-4)
    # the density trains the pseudo-inputs and the encoder
    prior.log_prob(z).sum().backward()
    assert prior.pseudo.grad.abs().sum() > 0 and net.weight.grad.abs().sum() > 0
    assert not any(name.startswith("_encode") for name, _ in prior.named_parameters())
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert torch.equal(prior.sample(5, g1), prior.sample(5, g2))
    with pytest.raises(RuntimeError, match="bind"):
        VampPrior(3, 4, (1, 2, 3)).log_prob(z)


def test_flow_prior_is_an_exact_change_of_variables_and_starts_as_the_standard_normal():
    flow = FlowPrior(5, 4, hidden=16)
    z = torch.randn(7, 5)
    assert torch.allclose(flow.log_prob(z), log_normal(z), atol=1e-6)  # the identity at init
    torch.manual_seed(0)
    for net in flow.nets:
        torch.nn.init.normal_(net[-1].weight, std=0.5)
        torch.nn.init.normal_(net[-1].bias, std=0.5)
    u = torch.randn(3, 5)
    with torch.no_grad():
        z = flow.push(u)
        for ui, zi in zip(u, z, strict=True):  # log p(z) = log N(u) - log |det df/du|
            jac = torch.autograd.functional.jacobian(lambda v: flow.push(v[None])[0], ui)
            expected = log_normal(ui) - torch.linalg.slogdet(jac).logabsdet
            assert flow.log_prob(zi).item() == pytest.approx(expected.item(), abs=1e-4)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert torch.allclose(flow.sample(4, g1), flow.push(torch.randn(4, 5, generator=g2)))
    with pytest.raises(ValueError, match="latent_dim >= 2"):
        FlowPrior(1, 2)


def test_a_flow_over_a_mixture_starts_as_the_mixture_and_warps_it_exactly():
    torch.manual_seed(0)
    mixture = _mixture(k=3, z=4)
    flow = build_prior("mixture-flow", 4, 3)
    flow.base.load_state_dict(mixture.state_dict())
    z = torch.randn(6, 4) * 2
    assert torch.allclose(flow.log_prob(z), mixture.log_prob(z), atol=1e-5)  # the identity
    shift, offset = torch.randn(1, 3), torch.randn(1, 4)
    moved = flow.over(flow.base.reweighted(shift, offset))
    assert torch.allclose(moved.log_prob(z), mixture.reweighted(shift, offset).log_prob(z))
    torch.manual_seed(1)
    for net in flow.nets:
        torch.nn.init.normal_(net[-1].weight, std=0.3)
    u = flow.base.sample(3, torch.Generator().manual_seed(0))
    with torch.no_grad():  # log p(z) = log base(u) - log |det df/du|
        for ui in u:
            zi = flow.push(ui[None])[0]
            jac = torch.autograd.functional.jacobian(lambda v: flow.push(v[None])[0], ui)
            expected = mixture.log_prob(ui) - torch.linalg.slogdet(jac).logabsdet
            # float32 round trip through the layers into a narrow component: 1e-3, not 1e-4
            assert flow.log_prob(zi).item() == pytest.approx(expected.item(), abs=2e-3)
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    with torch.no_grad():
        assert torch.allclose(flow.sample(4, g1), flow.push(flow.base.sample(4, g2)))
    assert {k.split(".")[0] for k in flow.state_dict()} == {"nets", "base"}
