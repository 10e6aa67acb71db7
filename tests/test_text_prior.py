"""A learned prior on the poetry VAE: fitted after training, saved, sampled and scored."""

import torch
from click.testing import CliRunner

from poetvae.cli import main
from poetvae.core.priors import GaussianMixture
from poetvae.text.corpus import load_corpus
from poetvae.text.evaluate import score_split
from poetvae.text.generate import generate
from poetvae.text.model import load
from poetvae.text.train import encode_poems, fit_prior


def test_fit_prior_keeps_the_autoencoder_and_samples_from_the_mixture(tiny_run, poem_file):
    model = load(tiny_run)
    fitted = fit_prior(model, load_corpus(str(poem_file)), n_components=16, steps=20)
    assert isinstance(fitted.prior, GaussianMixture) and fitted.cfg.prior == "mixture"
    x = torch.randint(3, model.cfg.vocab_size, (3, model.cfg.seq_len))
    z = torch.randn(3, model.cfg.latent_dim)
    assert torch.equal(fitted.logits(z, x), model.logits(z, x))
    assert torch.equal(fitted.encode(x)[0], model.encode(x)[0])
    # prior samples come from the mixture: other poems than the standard normal's, seeded
    a, b = generate(fitted, 4, seed=1), generate(fitted, 4, seed=1)
    assert a == b and a != generate(model, 4, seed=1)


def test_bounds_are_taken_against_the_learned_prior(tiny_run, poem_file):
    model = load(tiny_run)
    corpus = load_corpus(str(poem_file))
    fitted = fit_prior(model, corpus, n_components=32, steps=50)
    x = encode_poems(model.vocab, corpus.splits["train"][:64])
    before, after = score_split(model, x, iw_samples=20), score_split(fitted, x, iw_samples=20)
    assert after["recon_per_poem"] == before["recon_per_poem"]  # same decoder, same noise
    assert after["kl_per_poem"] != before["kl_per_poem"]
    # fitted to these very posteriors, the prior must explain them better than N(0, I)
    assert after["iwae_nll_per_poem"] < before["iwae_nll_per_poem"]
    one = score_split(fitted, x, iw_samples=1)  # K = 1: the one-sample ELBO, its own noise
    assert one["iwae_nll_per_poem"] >= after["iwae_nll_per_poem"] - 1e-3


def test_fit_prior_command_writes_a_loadable_run(tiny_run, tmp_path):
    out = tmp_path / "with-prior"
    r = CliRunner().invoke(
        main, ["fit-prior", str(tiny_run), "--out", str(out), "--components", "8", "--steps", "5"]
    )
    assert r.exit_code == 0, r.output
    assert load(out).cfg.prior_components == 8
    r = CliRunner().invoke(main, ["generate", "--checkpoint", str(out), "-n", "2", "--seed", "0"])
    assert r.exit_code == 0 and len(r.output.split()) == 8, r.output
    r = CliRunner().invoke(
        main, ["fit-prior", str(tiny_run), "--out", str(out), "--components", "100000"]
    )
    assert r.exit_code != 0 and "100000" in r.output and "Traceback" not in r.output


def conditional_mixture(run, corpus):
    """A keyword model with a fitted 16-component mixture and a p(z | c) that does something,
    as training with keywords would leave it."""
    mixed = fit_prior(load(run), corpus, n_components=16, steps=5)
    with torch.no_grad():
        mixed.prior_cond.weight.normal_()
    return mixed


def test_refitting_a_conditional_mixture_starts_from_its_components_and_keeps_p_z_given_c(
    tiny_keywords_run, poem_file
):
    corpus = load_corpus(str(poem_file))
    mixed = conditional_mixture(tiny_keywords_run, corpus)
    kept = fit_prior(mixed, corpus, n_components=16, steps=0)
    assert torch.equal(kept.prior_cond.weight, mixed.prior_cond.weight)
    for name, value in mixed.prior.state_dict().items():
        assert torch.equal(kept.prior.state_dict()[name], value), name
    moved = fit_prior(mixed, corpus, n_components=16, steps=5)
    assert torch.equal(moved.prior_cond.weight, mixed.prior_cond.weight)
    assert not torch.equal(moved.prior.means, mixed.prior.means)
    fresh = fit_prior(mixed, corpus, n_components=8, steps=0)  # other components: p(z|c) anew
    assert not torch.equal(fresh.prior_cond.weight[:8], mixed.prior_cond.weight[:8])


def test_a_fitted_flow_explains_the_posteriors_better_than_the_standard_normal(
    tiny_run, poem_file, tmp_path
):
    from poetvae.core.priors import FlowPrior

    model = load(tiny_run)
    corpus = load_corpus(str(poem_file))
    fitted = fit_prior(model, corpus, n_components=2, steps=60, kind="flow")
    assert isinstance(fitted.prior, FlowPrior) and fitted.cfg.prior == "flow"
    x = encode_poems(model.vocab, corpus.splits["train"][:64])
    before, after = score_split(model, x, iw_samples=20), score_split(fitted, x, iw_samples=20)
    assert after["recon_per_poem"] == before["recon_per_poem"]  # the same autoencoder
    assert after["iwae_nll_per_poem"] < before["iwae_nll_per_poem"]
    out = tmp_path / "flow"
    r = CliRunner().invoke(
        main, ["fit-prior", str(tiny_run), "--out", str(out), "--kind", "flow", "--steps", "3"]
    )
    assert r.exit_code == 0 and "8-layer flow" in r.output, r.output
    back = load(out)
    assert back.cfg.prior == "flow" and back.cfg.prior_components == 8
    assert len(generate(back, 3, seed=0)) == 3


def test_a_conditional_flow_is_fitted_with_p_z_given_c_and_writes_on_a_theme(
    tiny_keywords_run, poem_file
):
    corpus = load_corpus(str(poem_file))
    model = load(tiny_keywords_run)
    fitted = fit_prior(model, corpus, n_components=2, steps=30, kind="flow")
    assert fitted.prior_cond.weight.shape == (2 * model.cfg.latent_dim, model.cfg.d_model)
    assert fitted.prior_cond.weight.abs().sum() > 0  # p(z | c) fitted, not left at p(z)
    z = torch.randn(5, model.cfg.latent_dim)
    with torch.no_grad():
        none = fitted.prior_given(torch.zeros(1, model.cfg.d_model))  # no keyword: the flow
        assert torch.allclose(none.log_prob(z), fitted.prior.log_prob(z), atol=1e-5)
    word = corpus.splits["train"][0][:2]
    poems = generate(fitted, 3, seed=0, keywords=word)
    assert len(poems) == 3 and poems == generate(fitted, 3, seed=0, keywords=word)


def test_a_flow_over_the_models_own_mixture_keeps_it_and_its_p_z_given_c(
    tiny_keywords_run, poem_file
):
    from poetvae.core.priors import FlowPrior

    corpus = load_corpus(str(poem_file))
    mixed = conditional_mixture(tiny_keywords_run, corpus)
    warped = fit_prior(mixed, corpus, n_components=16, steps=40, kind="mixture-flow")
    assert isinstance(warped.prior, FlowPrior) and warped.cfg.prior == "mixture-flow"
    for name, value in mixed.prior.state_dict().items():  # the mixture under the layers
        assert torch.equal(warped.prior.base.state_dict()[name], value), name
    assert torch.equal(warped.prior_cond.weight, mixed.prior_cond.weight)
    x = encode_poems(mixed.vocab, corpus.splits["train"][:64])
    before, after = score_split(mixed, x, iw_samples=20), score_split(warped, x, iw_samples=20)
    assert after["iwae_nll_per_poem"] < before["iwae_nll_per_poem"]
    word = corpus.splits["train"][0][:2]
    assert len(generate(warped, 3, seed=0, keywords=word)) == 3
    again = fit_prior(warped, corpus, n_components=16, steps=0)  # a refit of its base
    assert isinstance(again.prior, GaussianMixture)
    assert torch.equal(again.prior_cond.weight, mixed.prior_cond.weight)
