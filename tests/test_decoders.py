"""The three decoders: what each reads, exact likelihoods, and decoding under constraints."""

from dataclasses import replace

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


def _with_refiner(run) -> tuple[PoetVAE, PoetVAE]:
    """A trained mask-predict model, and the same model grown a fresh refiner layer."""
    plain = load(run).eval()
    grown = PoetVAE(apply_overrides(plain.cfg, ["refiner_layers=1"]), plain.vocab)
    new = tuple(k for k in grown.state_dict() if k not in plain.state_dict())
    assert {name.split(".")[0] for name in new} == {"refiner"}
    checkpoint.load_weights(grown, run, new=new)
    return plain, grown.eval()


def test_a_fresh_refiner_leaves_the_model_it_grows_on_as_it_was(tiny_mask_predict_run):
    plain, grown = _with_refiner(tiny_mask_predict_run)
    z = torch.randn(3, plain.cfg.latent_dim)
    draft = _poems(plain, 3, 0).masked_fill(torch.rand(3, plain.cfg.seq_len) < 0.5, MASK)
    assert torch.equal(grown.decode(z, None), plain.decode(z, None))
    assert torch.allclose(grown.decode(z, draft), plain.decode(z, draft), atol=1e-5)


def test_the_refiner_reads_every_line_and_leaves_the_likelihood_exact(tiny_mask_predict_run):
    plain, model = _with_refiner(tiny_mask_predict_run)
    with torch.no_grad():  # as if trained: its layers no longer the identity
        for p in model.refiner.parameters():
            p.add_(torch.randn_like(p) * 0.2)
    z = torch.randn(2, model.cfg.latent_dim)
    x1, x2 = _poems(model, 2, 0), _poems(model, 2, 1)
    assert torch.equal(model.logits(z, x1), model.logits(z, x2))  # p(x | z): no characters read
    assert torch.equal(model.logits(z, x1), plain.logits(z, x1))  # and the refiner is not in it
    draft = x1.masked_fill(torch.arange(model.cfg.seq_len) < 10, MASK)
    changed = draft.clone()
    changed[:, -1] = (changed[:, -1] + 1) % model.cfg.vocab_size  # the last character of the poem
    a, b = model.decode(z, draft), model.decode(z, changed)
    assert not torch.allclose(a[:, 0], b[:, 0])  # the first character reads the last line
    assert torch.equal(plain.decode(z, draft)[:, 0], plain.decode(z, changed)[:, 0])  # convs: not


def test_train_only_the_refiner_leaves_every_other_weight(
    tmp_path, poem_file, tiny_mask_predict_run
):
    from poetvae.core.device import pick_device
    from poetvae.core.train import TrainConfig
    from poetvae.text.train import train

    cfg = TrainConfig(max_steps=6, batch_size=16, warmup_steps=1, lr=1e-2, train_only="refiner")
    out = tmp_path / "refiner"
    train(
        str(poem_file),
        out,
        cfg,
        pick_device("cpu"),
        overrides=("refiner_layers=1",),
        init_from=tiny_mask_predict_run,
    )
    before, after = load(tiny_mask_predict_run).state_dict(), load(out).state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert any(not torch.equal(v, 0 * v) for k, v in after.items() if "linear2.weight" in k)
    with pytest.raises(ValueError, match="resume it the same way"):  # the other way round
        train(
            str(poem_file),
            out,
            replace(cfg, train_only="", max_steps=8),
            pick_device("cpu"),
            resume=True,
        )
