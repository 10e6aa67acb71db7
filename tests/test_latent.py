import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from poetvae.core.latent import active_units, gaussian_kl, log_normal, reparameterize
from poetvae.core.objectives import elbo, iwae_bound


def test_kl_of_prior_with_itself_is_zero():
    mu, logvar = torch.zeros(4, 8), torch.zeros(4, 8)
    assert torch.equal(gaussian_kl(mu, logvar), torch.zeros(4, 8))


def test_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(16, 5, generator=g), torch.randn(16, 5, generator=g)
    q = Normal(mu, (0.5 * logvar).exp())
    p = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    torch.testing.assert_close(gaussian_kl(mu, logvar), kl_divergence(q, p))


def test_log_normal_matches_torch_distributions():
    g = torch.Generator().manual_seed(1)
    z, mu, logvar = (torch.randn(7, 3, generator=g) for _ in range(3))
    expected = Normal(mu, (0.5 * logvar).exp()).log_prob(z).sum(-1)
    torch.testing.assert_close(log_normal(z, mu, logvar), expected)
    torch.testing.assert_close(log_normal(z), Normal(0.0, 1.0).log_prob(z).sum(-1))


def test_reparameterize_has_the_posterior_moments_and_gradients():
    torch.manual_seed(0)
    mu = torch.full((200_000, 1), 2.0, requires_grad=True)
    logvar = torch.full((200_000, 1), math.log(0.25), requires_grad=True)
    z = reparameterize(mu, logvar)
    assert z.mean().item() == pytest.approx(2.0, abs=0.01)
    assert z.std().item() == pytest.approx(0.5, abs=0.01)
    z.sum().backward()
    assert mu.grad is not None and logvar.grad is not None


def test_iwae_with_one_sample_is_the_elbo_sample_and_grows_with_k():
    g = torch.Generator().manual_seed(2)
    log_w = torch.randn(64, 10, generator=g)  # (K, B)
    torch.testing.assert_close(iwae_bound(log_w[:1]), log_w[0])
    assert torch.all(iwae_bound(log_w) >= log_w.mean(0))  # Jensen: IWAE >= mean of ELBO samples
    assert iwae_bound(torch.full((5, 2), -3.0)).tolist() == pytest.approx([-3.0, -3.0])


def test_iwae_is_stable_for_very_negative_weights():
    assert torch.isfinite(iwae_bound(torch.full((100, 3), -1e5))).all()


def test_elbo_weights_the_kl_by_beta():
    assert elbo(torch.tensor([3.0]), torch.tensor([2.0]), beta=0.5).item() == 4.0


def test_active_units_counts_dimensions_whose_mean_varies_with_x():
    g = torch.Generator().manual_seed(3)
    mu = torch.zeros(500, 4)
    mu[:, 0] = torch.randn(500, generator=g)  # varies: active
    mu[:, 1] = 0.05 * torch.randn(500, generator=g)  # variance 0.0025 < 0.01: inactive
    assert active_units(mu) == 1
    assert active_units(torch.ones(100, 8)) == 0


def test_a_fitted_proposal_moves_to_the_true_posterior_and_tightens_the_bound():
    # p(z) = N(0, I), p(x | z) = N(x; z, 0.5 I): the posterior is N(2x/3, I/3), log p(x) known
    from poetvae.core.metrics import fit_proposal, iwae_nll

    torch.manual_seed(0)
    x = torch.randn(6, 2) * 2

    def log_px(z):
        return Normal(z, math.sqrt(0.5)).log_prob(x).sum(-1)

    true_nll = -Normal(0.0, math.sqrt(1.5)).log_prob(x).sum(-1)
    mu, logvar = torch.zeros(6, 2), torch.zeros(6, 2)  # a poor encoder: the prior
    q_mu, q_logvar = fit_proposal(mu, logvar, log_px, steps=300, samples=16)
    assert torch.allclose(q_mu, 2 * x / 3, atol=0.1)
    # Adam's noisy steps leave the variances near, not at, theirs
    assert q_logvar.mean().item() == pytest.approx(math.log(1 / 3), abs=0.1)
    assert torch.allclose(q_logvar, torch.full_like(x, math.log(1 / 3)), atol=0.35)
    before = iwae_nll(mu, logvar, log_px, 20)
    after = iwae_nll(q_mu, q_logvar, log_px, 20)
    assert after.mean() < before.mean() - 1.0  # the prior is a poor proposal far from 0
    assert torch.allclose(after, true_nll, atol=0.1)  # near the exact posterior: nearly tight
    assert fit_proposal(mu, logvar, log_px, steps=0)[0] is not mu  # a copy, not the input
