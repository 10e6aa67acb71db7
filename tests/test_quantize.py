import math

import pytest
import torch

from poetvae.core.quantize import VectorQuantizer

torch.set_num_threads(1)


def vq(**kw):
    torch.manual_seed(0)
    q = VectorQuantizer(8, 3, **kw)
    with torch.no_grad():
        q.codebook.copy_(torch.randn(8, 3))
    return q


@pytest.mark.parametrize("ema", [False, True])
def test_eval_output_is_the_nearest_codebook_vector(ema):
    q = vq(ema=ema).eval()
    z = torch.randn(5, 4, 3)  # (B, ..., D)
    out = q(z)
    assert out.indices.shape == (5, 4)
    assert torch.equal(out.quantized, q.lookup(out.indices))
    brute = torch.cdist(z.reshape(-1, 3), q.codebook).argmin(1).view(5, 4)
    assert torch.equal(out.indices, brute)


@pytest.mark.parametrize("ema", [False, True])
def test_straight_through_gradient_reaches_the_input(ema):
    q = vq(ema=ema)
    z = torch.randn(6, 3, requires_grad=True)
    expected = 2 * q.lookup(q.codes(z)).detach()  # d/dz of sum(q^2), copied straight through
    q(z).quantized.pow(2).sum().backward()  # (the EMA step may move the codebook afterwards)
    torch.testing.assert_close(z.grad, expected)


def test_loss_is_codebook_plus_beta_commitment_per_item():
    z = torch.randn(4, 2, 3)
    for ema, factor in ((False, 1.25), (True, 0.25)):
        q = vq(ema=ema, beta=0.25).eval()
        out = q(z)
        dist = (z - q.lookup(out.indices)).pow(2).flatten(1).sum(1)
        torch.testing.assert_close(out.loss, factor * dist)  # (B,)


def test_codebook_loss_trains_the_codebook_but_not_with_ema():
    q = vq(ema=False)
    q(torch.randn(10, 3, requires_grad=True)).loss.sum().backward()
    assert q.codebook.grad is not None and q.codebook.grad.abs().sum() > 0
    assert "codebook" not in dict(vq(ema=True).named_parameters())


def test_ema_moves_used_codes_to_the_mean_of_their_vectors():
    q = vq(ema=True, decay=0.0).train()
    z = torch.randn(64, 3)
    idx = q.codes(z)
    with torch.enable_grad():
        q(z)
    for code in idx.unique().tolist():
        torch.testing.assert_close(q.codebook[code], z[idx == code].mean(0), atol=1e-4, rtol=1e-4)


def test_ema_update_is_off_in_eval_mode():
    q = vq(ema=True, decay=0.5, dead_threshold=1.0).eval()
    before = q.codebook.clone()
    q(torch.randn(32, 3))
    assert torch.equal(q.codebook, before)


@pytest.mark.parametrize("ema", [False, True])
def test_dead_codes_restart_at_encoder_outputs(ema):
    q = vq(ema=ema, decay=0.0, dead_threshold=0.5).train()
    with torch.no_grad():
        q.codebook[1:] = 100.0  # far from every input: dead
    z = torch.randn(16, 3)
    q(z)
    dead_before = list(range(1, 8))
    for code in dead_before:
        assert (q.codebook[code] - z).abs().sum(1).min() < 1e-5  # now equals some input vector
    q.eval()
    assert q(z).usage > 1 / 8  # more than the one live code is used afterwards


def test_perplexity_bounds():
    q = vq().eval()
    z = q.codebook[torch.zeros(10, dtype=torch.long)].detach()  # all the same code
    out = q(z)
    assert out.perplexity == pytest.approx(1.0) and out.usage == pytest.approx(1 / 8)
    out = q(q.codebook.detach().repeat(3, 1))  # every code equally often
    assert out.perplexity == pytest.approx(8.0, rel=1e-5) and out.usage == 1.0
    out = q(torch.randn(5, 3))
    assert 1.0 - 1e-6 <= out.perplexity <= min(8, 5) + 1e-6
    assert math.isfinite(out.perplexity)
