from dataclasses import replace

import pytest
import torch

from poetvae.text import prosody
from poetvae.text.compose import interpolate, poem_nll, posterior_latents, reconstruct, write
from poetvae.text.constraints import pattern_positions
from poetvae.text.decoding import Decoding
from poetvae.text.model import load

from .conftest import shipped_poems

HEADS = "春山秋月"
SAMPLE = Decoding(temperature=0.8, top_p=0.9, refine=0)


@pytest.fixture(scope="module")
def model(tiny_run):
    return load(tiny_run)


def known_heads(model, n=4):
    """Frequent characters the tiny model certainly knows."""
    return "".join(c for c in model.vocab.itos[2:] if len(c) == 1)[:n]


def test_acrostic_puts_each_character_first_in_its_line(model):
    heads = known_heads(model)
    for temperature in (0.0, 0.8):
        d = replace(SAMPLE, temperature=temperature)
        for poem in write(model, 8, d, seed=3, acrostic=heads):
            assert "".join(line[0] for line in poem) == heads


def test_acrostic_of_the_wrong_length_or_unknown_characters_is_an_error(model):
    with pytest.raises(ValueError, match="needs 4 characters"):
        write(model, 1, acrostic=known_heads(model, 3))
    with pytest.raises(ValueError, match="龘"):
        write(model, 1, acrostic=known_heads(model, 3) + "龘")


def test_pattern_keeps_the_given_characters_and_fills_the_rest(model):
    a, b, c, d = known_heads(model)
    pattern = f"{a}{b}＿＿{c}，{d}_○*＿"
    fixed = pattern_positions(model, pattern)
    assert sorted(fixed) == [0, 1, 4, 5]
    for poem in write(model, 6, SAMPLE, seed=1, pattern=pattern):
        text = "".join(poem)
        assert (text[0], text[1], text[4], text[5]) == (a, b, c, d)
        assert "＿" not in text and "_" not in text
    with pytest.raises(ValueError, match="--pattern"):
        pattern_positions(model, f"{a}{b}＿，{c}")


def test_posterior_search_never_explains_the_fixed_characters_worse_than_the_prior_draw(model):
    fixed = pattern_positions(model, known_heads(model, 4) + "＿")
    g = torch.Generator().manual_seed(0)
    z = torch.randn(16, 32, model.cfg.latent_dim, generator=g)
    chosen = posterior_latents(model, fixed, z, torch.zeros(16, 1), temperature=0.0)[:, 0]

    def log_lik(latents):
        logp = model.decode(latents).log_softmax(-1)
        return sum(logp[:, p, i] for p, i in fixed.items())

    with torch.no_grad():
        assert torch.all(log_lik(chosen) >= log_lik(z[:, 0]) - 1e-5)
        assert log_lik(chosen).mean() > log_lik(z[:, 0]).mean()


@pytest.mark.parametrize("acrostic", [None, "heads"])
def test_strict_tones_pass_every_prosody_rule(model, acrostic):
    heads = known_heads(model) if acrostic else None
    poems = write(model, 12, SAMPLE, seed=2, tones="strict", acrostic=heads)
    for poem in poems:
        result = prosody.check(poem)
        assert result["all"], (poem, result)
        assert poem[1][-1] != poem[3][-1]  # no 重韵
        if heads:
            assert "".join(line[0] for line in poem) == heads


def test_rerank_keeps_the_best_scored_candidate(model):
    candidates = write(model, 4, SAMPLE, seed=5)
    best = write(model, 1, SAMPLE, seed=5, rerank=4)[0]
    ids = torch.tensor([model.vocab.encode("".join(p)) for p in candidates])
    assert best == candidates[int(poem_nll(model, ids).argmin())]


def test_reconstruct_and_interpolate(model):
    a, b = (p for p in shipped_poems(split="test", n=2))
    lines, kept = reconstruct(model, a)
    assert len(kept) == 20 and len(lines) == 4
    text = a.replace("，", "").replace("。", "")
    assert kept == [x == y for x, y in zip(text, "".join(lines), strict=True)]
    path = interpolate(model, a, b, steps=5, no_repeat=False)
    assert len(path) == 5 and path[0] == lines
    assert path[-1] == reconstruct(model, b)[0]
    assert interpolate(model, a, b, steps=3, slerp=True)[0] == interpolate(model, a, b, steps=3)[0]
    with pytest.raises(ValueError, match="not a poem"):
        reconstruct(model, "白日依山尽")


@pytest.mark.parametrize("kwargs", [{"tones": "strict"}, {"acrostic": "heads"}, {"rerank": 3}])
def test_poem_i_does_not_depend_on_how_many_are_written(model, kwargs):
    if "acrostic" in kwargs:
        kwargs = {"acrostic": known_heads(model)}
    many = write(model, 5, SAMPLE, seed=11, **kwargs)
    assert write(model, 2, SAMPLE, seed=11, **kwargs) == many[:2]


def test_strict_tones_use_only_characters_of_one_known_tone_where_a_tone_is_required(model):
    for poem in write(model, 12, SAMPLE, seed=6, tones="strict"):
        text = "".join(poem)
        for pos in (1, 3, 4, 6, 8, 9, 11, 13, 14, 16, 18, 19):  # 2nd, 4th, 5th of each line
            assert prosody.tone(text[pos]) != "either", (poem, text[pos])  # no heteronym
