"""The three decoders: what each reads, exact likelihoods, and decoding under constraints."""

import pytest
import torch

from poetvae.core import checkpoint
from poetvae.core.config import apply_overrides
from poetvae.text import prosody
from poetvae.text.compose import write
from poetvae.text.constraints import rhyme_constraints
from poetvae.text.decoding import Decoding
from poetvae.text.generate import decode_latents, generate
from poetvae.text.model import MASK, PoetVAE, load
from poetvae.text.sampling import prior_draws


def _poems(model, n, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(2, model.cfg.vocab_size, (n, model.cfg.seq_len), generator=g)


def test_mask_predict_likelihood_reads_no_characters_and_continues_the_parallel_model(tiny_run):
    parallel = load(tiny_run)
    cfg = apply_overrides(parallel.cfg, ["decoder=mask-predict"])
    grown = PoetVAE(cfg, parallel.vocab)
    new = tuple(k for k in grown.state_dict() if k not in parallel.state_dict())
    assert {name.split(".")[0] for name in new} == {"mask_embed", "draft_norm", "draft_in"}
    checkpoint.load_weights(grown, tiny_run, new=new).eval()
    z = torch.randn(3, cfg.latent_dim)
    x1, x2 = _poems(grown, 3, 0), _poems(grown, 3, 1)
    # p(x | z) = prod_i p(x_i | z): the fully masked pass, whatever x is
    assert torch.equal(grown.logits(z, x1), grown.logits(z, x2))
    # a fresh draft path leaves the parallel model's likelihood intact
    assert torch.allclose(grown.decode(z), parallel.decode(z), atol=1e-6)
    assert not torch.allclose(grown.decode(z, x1), parallel.decode(z), atol=1e-3)


def test_mask_predict_reads_the_draft_after_training(tiny_mask_predict_run):
    model = load(tiny_mask_predict_run)
    assert model.cfg.decoder == "mask-predict"
    z = torch.randn(2, model.cfg.latent_dim)
    x = _poems(model, 2, 0)
    draft = x.clone()
    draft[:, 3] = MASK
    assert not torch.allclose(model.decode(z, draft), model.decode(z))
    assert "cmlm" in model((x,)).parts


def test_causal_decoder_reads_only_the_characters_to_the_left(tiny_causal_run):
    model = load(tiny_causal_run)
    z = torch.randn(2, model.cfg.latent_dim)
    x = _poems(model, 2, 0)
    y = x.clone()
    y[:, 7] = (x[:, 7] + 1) % model.cfg.vocab_size
    a, b = model.logits(z, x), model.logits(z, y)
    assert torch.equal(a[:, :8], b[:, :8])  # positions up to 7 do not see x_7
    assert not torch.allclose(a[:, 8:], b[:, 8:])


@pytest.mark.parametrize("run", ["tiny_mask_predict_run", "tiny_causal_run"])
def test_decoding_keeps_form_no_repeats_rhyme_and_per_poem_seeds(run, request):
    model = load(request.getfixturevalue(run))
    poems = generate(model, 12, seed=5)
    assert poems[:3] == generate(model, 3, seed=5)
    for poem in poems:
        assert [len(line) for line in poem] == [model.cfg.chars_per_line] * model.cfg.n_lines
        assert all(len(set(line)) == len(line) for line in poem)
        assert prosody.check(poem)["rhyme"]
        assert poem[1][-1] != poem[3][-1]


def test_mask_predict_passes_keep_fixed_characters_and_change_only_what_they_remask(
    tiny_mask_predict_run,
):
    model = load(tiny_mask_predict_run)
    poems = write(model, 8, Decoding(passes=4, refine=1), seed=2, acrostic="春夏秋冬")
    assert [[line[0] for line in p] for p in poems] == [list("春夏秋冬")] * 8
    z, u = prior_draws(model.prior, 16, 2 * (model.cfg.seq_len + 1), seed=1)
    z = z[:, 0]
    c = rhyme_constraints(model, 16)
    d = Decoding(temperature=1.0, top_p=1.0, passes=2)
    one = decode_latents(model, z, d, u=u, constraints=c)
    other = u.clone()  # other uniforms for pass 1 only
    other[:, model.cfg.seq_len + 1 :] = torch.rand(16, model.cfg.seq_len + 1)
    two = decode_latents(model, z, d, u=other, constraints=c)
    changed = (one != two).sum(1)
    # pass 1 re-draws only the least confident half: the rest stays as pass 0 wrote it
    assert changed.max() <= model.cfg.seq_len // 2
    assert changed.sum() > 0


def test_passes_and_constraints_the_decoder_cannot_honour_are_errors(tiny_run, tiny_causal_run):
    with pytest.raises(ValueError, match="mask-predict"):
        generate(load(tiny_run), 2, Decoding(passes=3))
    with pytest.raises(ValueError, match="causal"):
        write(load(tiny_causal_run), 2, acrostic="春夏秋冬")


def _refiner_model(seed: int = 0) -> PoetVAE:
    from poetvae.text.model import PoetVAEConfig

    torch.manual_seed(seed)
    cfg = PoetVAEConfig.preset("tiny", vocab_size=40, decoder="mask-predict", refiner_layers=1)
    return PoetVAE(cfg)


def test_the_refiner_reads_every_line_and_leaves_the_likelihood_exact():
    model = _refiner_model().eval()
    z = torch.randn(2, model.cfg.latent_dim)
    x1, x2 = _poems(model, 2, 0), _poems(model, 2, 1)
    assert torch.equal(model.logits(z, x1), model.logits(z, x2))  # p(x | z): no characters read
    draft = x1.masked_fill(torch.arange(model.cfg.seq_len) < 10, MASK)
    changed = draft.clone()
    changed[:, -1] = (changed[:, -1] + 1) % model.cfg.vocab_size  # the last character of the poem
    a, b = model.decode(z, draft), model.decode(z, changed)
    assert not torch.allclose(a[:, 0], b[:, 0])  # the first character reads the last line


def test_the_refiner_term_trains_the_refiner_alone():
    model = _refiner_model().train()
    x = _poems(model, 4, 0)
    mu, logvar = model.encode(x)
    h = model._features(mu, None)
    nll, masked = model._refiner_nll(h.detach(), model._project(h).detach(), x)
    nll.sum().backward()
    touched = {n.split(".")[0] for n, p in model.named_parameters() if p.grad is not None}
    assert touched == {
        "refiner",
        "refine_pos",
        "refine_mask",
        "refine_norm",
        "draft_in",
        "draft_norm",
    }
    assert len(masked) >= 4 and (masked > 0).all()
