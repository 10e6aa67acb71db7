import pytest
import torch
from torch.distributions import Normal

from poetvae.core import checkpoint
from poetvae.core.metrics import log_weights
from poetvae.core.train import TrainConfig, fit
from poetvae.image.evaluate import evaluate
from poetvae.image.grid import sample_figure
from poetvae.image.models import KINDS, VQVAE, ImageConfig, build, load, reconstruct
from tests.image_data import SIDE, tiny_images

torch.set_num_threads(1)
CPU = torch.device("cpu")


def tiny(kind, **fields):
    torch.manual_seed(0)
    return build(ImageConfig.preset("tiny", model=kind, height=SIDE, width=SIDE, **fields))


def seeded_loss(model, batch, seed=0):
    model.eval()
    torch.manual_seed(seed)
    with torch.no_grad():
        return model(batch).loss.item()


@pytest.mark.parametrize("kind", KINDS)
def test_forward_is_finite_and_a_few_steps_lower_the_loss(kind):
    model = tiny(kind)
    batch = tiny_images(64)
    out = model(batch)
    assert out.loss.dim() == 0 and torch.isfinite(out.loss)
    assert all(isinstance(v, float) for v in out.parts.values()) and "recon" in out.parts
    before = seeded_loss(model, batch)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(40):
        opt.zero_grad()
        model(batch).loss.backward()
        opt.step()
    assert seeded_loss(model, batch) < before


@pytest.mark.parametrize("kind", KINDS)
def test_save_then_load_gives_identical_weights_and_outputs(tmp_path, kind):
    model = tiny(kind, likelihood="gaussian" if kind == "conv-vae" else "bernoulli")
    x, y = tiny_images(16)
    model.train()
    model((x, y)).loss.backward()  # moves EMA statistics / restarts codes for the VQ-VAE
    checkpoint.save(tmp_path, model, {**model.meta(), "data": "somewhere"})
    back = load(tmp_path)
    assert back.cfg == model.cfg and not back.training
    for key, value in model.state_dict().items():
        assert torch.equal(value, back.state_dict()[key]), key
    model.eval()
    labels = y[:4] if model.conditional else None
    torch.manual_seed(1)
    a = reconstruct(model, x, y), model.sample(4, labels)
    torch.manual_seed(1)
    b = reconstruct(back, x, y), back.sample(4, labels)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_load_rejects_a_text_checkpoint(tmp_path):
    model = tiny("vae")
    checkpoint.save(tmp_path, model, {"model_type": "poetvae", "model": {}})
    with pytest.raises(checkpoint.CheckpointError, match="'poetvae' checkpoint, not .* image"):
        load(tmp_path)


@pytest.mark.parametrize("kind", ["ae", "vae", "cvae"])
def test_bernoulli_and_gaussian_likelihoods_are_true_log_densities(kind):
    x = tiny_images(4)[0]
    logits = torch.randn(4, 1, SIDE, SIDE)
    bern = tiny(kind)
    px = bern.pixels(x)
    bernoulli = torch.distributions.Bernoulli(logits=logits, validate_args=False)
    expected = -bernoulli.log_prob(px).flatten(1).sum(1)
    torch.testing.assert_close(bern.recon_nll(logits, px), expected)
    gauss = tiny(kind, likelihood="gaussian")
    with torch.no_grad():
        gauss.logvar_x.fill_(-3.0)
    sigma = torch.tensor(-1.5).exp()
    expected = -Normal(torch.sigmoid(logits), sigma).log_prob(px).flatten(1).sum(1)
    torch.testing.assert_close(gauss.recon_nll(logits, px), expected)


def test_dynamic_binarization_gives_fresh_zero_one_pixels():
    model = tiny("vae", binarize=True)
    x = tiny_images(8)[0]
    a, b = model.pixels(x), model.pixels(x)
    assert set(a.unique().tolist()) <= {0.0, 1.0} and not torch.equal(a, b)


@pytest.fixture(scope="module")
def trained_vae(tmp_path_factory):
    model = tiny("vae")
    cfg = TrainConfig(max_steps=150, batch_size=32, warmup_steps=10, lr=5e-3)
    fit(model, tiny_images(256), None, cfg, tmp_path_factory.mktemp("vae"), CPU)
    return model.eval()


def test_iwae_is_at_least_the_elbo_and_grows_with_k(trained_vae):
    from poetvae.core.objectives import iwae_bound

    model = trained_vae
    x = model.pixels(tiny_images(40, seed=3)[0])
    torch.manual_seed(0)
    with torch.no_grad():
        log_w = log_weights(*model.encode(x), lambda z: model.log_px(z, x), 2000)  # (2000, B)
    # E[IWAE_k] estimated from 2000 // k disjoint groups of k samples each, averaged over images
    bound = {
        k: iwae_bound(log_w.view(2000 // k, k, -1).transpose(0, 1)).mean().item()
        for k in (1, 10, 100, 1000)
    }
    assert bound[1] == pytest.approx(log_w.mean().item())  # k = 1: the ELBO
    assert bound[1] < bound[10] < bound[100] < bound[1000]  # Burda et al. (2016), Theorem 1
    metrics = evaluate(model, tiny_images(40, seed=3), CPU, iw_samples=100)
    assert metrics["nll_iwae"] < metrics["nll_elbo"]


def test_iwae_with_one_sample_equals_the_elbo_sample(trained_vae):
    from poetvae.core.objectives import iwae_bound

    x = trained_vae.pixels(tiny_images(8)[0])
    torch.manual_seed(0)
    with torch.no_grad():
        log_w = log_weights(*trained_vae.encode(x), lambda z: trained_vae.log_px(z, x), 1)
    torch.testing.assert_close(iwae_bound(log_w), log_w[0])
    metrics = evaluate(trained_vae, tiny_images(40, seed=3), CPU, iw_samples=5)
    assert 0 <= metrics["active_units"] <= metrics["latent_dim"] and metrics["kl"] >= 0


def test_cvae_label_grid_has_a_row_per_label_and_shares_z_down_columns():
    model = tiny("cvae").eval()
    images, n_cols = sample_figure(model, 30)
    assert images.shape == (30, 1, SIDE, SIDE) and n_cols == 3
    grid = images.view(10, 3, SIDE, SIDE)
    assert not torch.equal(grid[0, 0], grid[1, 0])  # the label changes the image
    images, n_cols = sample_figure(model, 8, label=7)
    assert images.shape == (8, 1, SIDE, SIDE)
    with pytest.raises(ValueError, match="out of range"):
        sample_figure(model, 8, label=10)


def test_manifold_needs_a_2d_latent():
    images, n_cols = sample_figure(tiny("vae", latent_dim=2).eval(), 16, manifold=True)
    assert images.shape == (16, 1, SIDE, SIDE) and n_cols == 4
    with pytest.raises(ValueError, match="2-D"):
        sample_figure(tiny("vae").eval(), 16, manifold=True)


def test_vqvae_eval_output_is_the_decoded_codebook_lookup():
    model = tiny("vqvae").eval()
    x = tiny_images(8)[0]
    codes = model.quantizer.codes(model.encode(model.pixels(x)))  # (B, h, w)
    assert codes.shape == (8, SIDE // 4, SIDE // 4)
    assert torch.equal(reconstruct(model, x), model.mean(model.decode_codes(codes)))


def test_code_prior_is_causal_and_samples_valid_codes():
    prior = tiny("vqvae").prior.eval()
    codes = torch.randint(0, 16, (3, prior.seq_len))
    changed = codes.clone()
    changed[:, 4] = (changed[:, 4] + 1) % 16
    a, b = prior.logits(codes), prior.logits(changed)
    assert torch.allclose(a[:, :5], b[:, :5], atol=1e-6)  # position t sees only codes < t
    assert not torch.allclose(a[:, 5:], b[:, 5:])
    torch.manual_seed(0)
    s = prior.sample(5)
    assert s.shape == (5, prior.seq_len) and 0 <= s.min() and s.max() < 16
    assert isinstance(tiny("vqvae"), VQVAE)


class Killed(Exception):
    pass


@pytest.mark.parametrize("kind", ["cvae", "vqvae"])
def test_resume_reproduces_the_uninterrupted_run(tmp_path, kind):
    train, valid = tiny_images(96), tiny_images(20, seed=5)
    cfg = TrainConfig(max_steps=12, batch_size=16, warmup_steps=2, eval_every=4)
    full = tiny(kind)
    fit(full, train, valid, cfg, tmp_path / "full", CPU, meta=full.meta())

    def kill(step, metrics):
        if step == 8:
            raise Killed

    def fit_cut(model, **kw):
        fit(model, train, valid, cfg, tmp_path / "cut", CPU, meta=model.meta(), **kw)

    cut = tiny(kind)
    with pytest.raises(Killed):
        fit_cut(cut, on_eval=kill)
    resumed = load(tmp_path / "cut").train()
    fit_cut(resumed, resume=True)
    for key, value in full.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key


def test_evaluate_parts_add_up(trained_vae):
    m = evaluate(trained_vae, tiny_images(40, seed=3), CPU, iw_samples=10)
    assert m["nll_elbo"] == pytest.approx(m["recon"] + m["kl"])
    assert m["units"] == "nats per image" and m["n_images"] == 40


def test_a_learned_mixture_prior_trains_and_bounds_are_taken_against_it(tmp_path):
    from poetvae.core.priors import GaussianMixture

    model = tiny("vae", prior="mixture", prior_components=5)
    assert isinstance(model.prior, GaussianMixture)
    before = model.prior.means.detach().clone()
    cfg = TrainConfig(max_steps=60, batch_size=32, warmup_steps=5, lr=5e-3)
    fit(model, tiny_images(256), None, cfg, tmp_path, CPU)
    assert not torch.equal(model.prior.means, before)  # the KL term trains the prior too
    model.eval()
    x = model.pixels(tiny_images(16, seed=3)[0])
    mu, logvar = model.encode(x)
    torch.manual_seed(0)
    with torch.no_grad():  # the KL is log q(z|x) - log p(z) at the sampled z
        z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
        expected = Normal(mu, (0.5 * logvar).exp()).log_prob(z).sum(-1) - model.prior.log_prob(z)
        assert torch.allclose(model.prior.kl(mu, logvar, z), expected, atol=1e-4)
    metrics = evaluate(model, tiny_images(40, seed=3), CPU, iw_samples=50)
    assert metrics["nll_iwae"] < metrics["nll_elbo"]
    checkpoint.save(tmp_path / "saved", model, model.meta())
    back = load(tmp_path / "saved")
    assert back.cfg.prior == "mixture" and torch.equal(back.prior.means, model.prior.means)
    assert model.sample(3).shape == (3, 1, SIDE, SIDE)
    with pytest.raises(ValueError, match="learned prior needs a VAE"):
        tiny("ae", prior="mixture", prior_components=5)


def test_a_vamp_prior_trains_its_pseudo_inputs_saves_and_samples(tmp_path):
    from poetvae.core.priors import VampPrior

    model = tiny("vae", prior="vamp", prior_components=4)
    assert isinstance(model.prior, VampPrior) and model.prior.pseudo.shape == (4, 1, SIDE, SIDE)
    before = model.prior.pseudo.detach().clone()
    cfg = TrainConfig(max_steps=30, batch_size=32, warmup_steps=5, lr=5e-3)
    fit(model, tiny_images(256), None, cfg, tmp_path, CPU)
    assert not torch.equal(model.prior.pseudo, before)  # the KL term moves the pseudo-inputs
    metrics = evaluate(model.eval(), tiny_images(40, seed=3), CPU, iw_samples=20)
    assert metrics["nll_iwae"] < metrics["nll_elbo"]
    checkpoint.save(tmp_path / "saved", model, model.meta())
    back = load(tmp_path / "saved")
    assert torch.equal(back.prior.pseudo, model.prior.pseudo)
    z = torch.randn(3, back.cfg.latent_dim)
    assert torch.allclose(back.prior.log_prob(z), model.prior.log_prob(z))  # bound to `back`
    assert back.sample(3).shape == (3, 1, SIDE, SIDE)
    with pytest.raises(ValueError, match="pseudo-inputs carry no label"):
        tiny("cvae", prior="vamp", prior_components=4)


def test_a_flow_prior_trains_with_the_model_and_bounds_are_taken_against_it(tmp_path):
    from poetvae.core.priors import FlowPrior

    model = tiny("vae", prior="flow", prior_components=2)
    assert isinstance(model.prior, FlowPrior)
    last = model.prior.nets[0][-1].weight
    assert last.abs().sum() == 0  # the identity: N(0, I) until trained
    cfg = TrainConfig(max_steps=30, batch_size=32, warmup_steps=5, lr=5e-3)
    fit(model, tiny_images(256), None, cfg, tmp_path, CPU)
    assert model.prior.nets[0][-1].weight.abs().sum() > 0
    metrics = evaluate(model.eval(), tiny_images(40, seed=3), CPU, iw_samples=20)
    assert metrics["nll_iwae"] < metrics["nll_elbo"]
    checkpoint.save(tmp_path / "saved", model, model.meta())
    z = torch.randn(3, model.cfg.latent_dim)
    assert torch.allclose(load(tmp_path / "saved").prior.log_prob(z), model.prior.log_prob(z))
