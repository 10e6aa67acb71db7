from dataclasses import replace
from functools import partial

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
    with pytest.raises(ValueError, match="^acrostic needs 4 characters"):
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
    with pytest.raises(ValueError, match="^pattern must be"):  # no CLI flag in the library
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


@pytest.mark.parametrize("book", ["pingshui", "xinyun"])
@pytest.mark.parametrize("acrostic", [None, "heads"])
def test_strict_tones_pass_every_prosody_rule(model, acrostic, book):
    heads = known_heads(model) if acrostic else None
    decoding = replace(SAMPLE, rhyme_book=book)
    poems = write(model, 12, decoding, seed=2, tones="strict", acrostic=heads)
    for poem in poems:
        result = prosody.check(poem, book)
        assert result["all"], (poem, result)
        assert poem[1][-1] != poem[3][-1]  # no 重韵
        # every rhyme character is in one level-tone (平声) rhyme of the book
        ends = [prosody.rhyme_groups(line[-1], book) for line in poem[1::2]]
        assert frozenset.intersection(*ends) & prosody.level_rhymes(book), poem
        if heads:
            assert "".join(line[0] for line in poem) == heads


@pytest.mark.parametrize("book", ["pingshui", "xinyun"])
def test_free_tones_rhyme_by_the_chosen_book(model, book):
    for poem in write(model, 20, replace(SAMPLE, rhyme_book=book), seed=4):
        ends = [prosody.rhyme_groups(line[-1], book) for line in poem[1::2]]
        assert all(ends) and frozenset.intersection(*ends), poem
    with pytest.raises(ValueError, match="unknown rhyme book"):
        write(model, 1, Decoding(rhyme_book="guangyun"))


def test_rerank_keeps_the_best_scored_candidate(model):
    candidates = write(model, 4, SAMPLE, seed=5)
    best = write(model, 1, SAMPLE, seed=5, rerank=4)[0]
    ids = torch.tensor([model.vocab.encode("".join(p)) for p in candidates])
    assert best == candidates[int(poem_nll(model, ids).argmin())]


def test_the_rerank_score_is_the_bound_under_the_models_own_prior(tiny_run):
    from poetvae.core.metrics import iwae_nll
    from poetvae.core.priors import DiagonalGaussian

    model = load(tiny_run)
    ids = torch.tensor([model.vocab.encode("".join(p)) for p in write(model, 6, SAMPLE, seed=2)])
    before = poem_nll(model, ids, k=4)
    z_dim = model.cfg.latent_dim
    model.prior = DiagonalGaussian(torch.full((1, z_dim), 1.5), torch.full((1, z_dim), -1.0))
    after = poem_nll(model, ids, k=4)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        mu, logvar = model.encode(ids)
        log_px = partial(model.log_px, x=ids)
        bound = iwae_nll(mu, logvar, log_px, 4, log_prior=model.prior.log_prob)
    assert torch.allclose(after, bound / model.cfg.seq_len)
    assert (after - before).abs().min() > 0.1  # the prior moved every score


def test_reconstruct_and_interpolate(model):
    a, b = (p for p in shipped_poems(split="test", n=2))
    lines, kept = reconstruct(model, a)
    assert len(kept) == 20 and len(lines) == 4
    text = a.replace("，", "").replace("。", "")
    assert kept == [x == y for x, y in zip(text, "".join(lines), strict=True)]
    assert all(len(set(line)) == len(line) for line in lines)  # the no-repeat rule holds
    path = interpolate(model, a, b, steps=5)
    assert len(path) == 5 and path[0] == lines  # interpolation starts at the reconstruction
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


def keep(poem: list[str], kept: set[int]) -> str:
    """The pattern that keeps the characters at positions `kept` of a poem (＿ elsewhere)."""
    text = "".join(poem)
    n = len(poem[0])
    return "，".join(
        "".join(c if i + j in kept else "＿" for j, c in enumerate(text[i : i + n]))
        for i in range(0, len(text), n)
    )


@pytest.mark.parametrize("run", ["tiny_run", "tiny_qiyan_run", "tiny_mask_predict_run"])
@pytest.mark.parametrize("where", ["line 3", "scattered", "line 2 end", "last line"])
def test_kept_characters_anywhere_stay_and_the_rest_is_redrawn_in_rhyme(request, run, where):
    model = load(request.getfixturevalue(run))
    n = model.cfg.chars_per_line
    kept = {
        "line 3": set(range(2 * n, 3 * n)),
        "scattered": {1, n + 3, 2 * n, 4 * n - 2},
        "line 2 end": {2 * n - 1},  # a rhyme position: the free line 4 end rhymes with it
        "last line": set(range(3 * n, 4 * n)),
    }[where]
    first = write(model, 1, SAMPLE, seed=0)[0]
    pattern = keep(first, kept)
    assert sorted(pattern_positions(model, pattern)) == sorted(kept)
    redrawn = write(model, 6, SAMPLE, seed=1, pattern=pattern)
    for poem in redrawn:
        text = "".join(poem)
        assert all(text[p] == "".join(first)[p] for p in kept), (pattern, poem)
        assert prosody.check(poem)["rhyme"], poem
    free = [p for p in range(4 * n) if p not in kept]
    assert any(any("".join(p)[i] != "".join(first)[i] for i in free) for p in redrawn)


def test_strict_tones_keep_a_line_that_fits_a_template(model):
    for seed in range(3):
        first = write(model, 1, SAMPLE, seed=seed, tones="strict")[0]
        pattern = keep(first, set(range(10, 15)) | {4})  # line 3 and the end of line 1
        for poem in write(model, 4, SAMPLE, seed=seed + 10, tones="strict", pattern=pattern):
            assert poem[2] == first[2] and poem[0][-1] == first[0][-1]
            assert prosody.check(poem)["all"], poem


def chars_of(model, tone=None, groups=None, n=2):
    """n single-character pieces of the model's vocabulary with this tone / these rhyme groups."""
    out = [
        c
        for c in model.vocab.itos[2:]
        if len(c) == 1
        and (tone is None or prosody.tone(c) == tone)
        and (groups is None or prosody.rhyme_groups(c) == groups)
    ]
    assert len(out) >= n
    return out[:n]


def test_a_kept_character_that_breaks_rhyme_or_tones_is_named_in_one_line(model):
    (a,) = chars_of(model, prosody.PING, frozenset({"十一尤"}), 1)
    (b,) = chars_of(model, prosody.PING, frozenset({"十四寒"}), 1)
    (ze,) = chars_of(model, prosody.ZE, n=1)
    cases = [
        ({"pattern": f"＿＿＿＿＿，＿＿＿＿{a}，＿＿＿＿＿，＿＿＿＿{b}"},
         f"the kept {b} (line 4, character 5) cannot rhyme with {a} (line 2, character 5): "
         "free a kept character or turn rhyme off (--no-rhyme)"),
        ({"pattern": f"＿＿＿＿＿，＿＿＿＿{ze}", "tones": "strict"},
         f"the kept {ze} (line 2, character 5) is 仄 where every regulated 平仄 template wants 平"),
        ({"pattern": f"＿{a}＿＿＿，＿{b}＿＿＿", "tones": "strict"},
         f"the kept {a} (line 1, character 2), 平, and {b} (line 2, character 2), 平, fit no "
         "regulated 平仄 template together"),
        ({"pattern": f"＿＿＿＿{a}，＿＿＿＿{b}", "tones": "strict"},
         f"the kept {b} (line 2, character 5) cannot rhyme with {a} (line 1, character 5)"),
    ]  # fmt: skip
    for kwargs, message in cases:
        with pytest.raises(ValueError) as e:
            write(model, 0, **kwargs)  # checked before any decoding
        assert str(e.value).startswith(message) and "\n" not in str(e.value)
    no_rhyme = Decoding(rhyme=False)
    assert write(model, 1, no_rhyme, pattern=cases[0][0]["pattern"])  # kept as asked


def test_strict_tones_keep_a_heteronym_where_either_reading_fits(model):
    (either,) = chars_of(model, prosody.EITHER, n=1)
    for poem in write(model, 4, SAMPLE, seed=4, tones="strict", pattern=f"＿{either}＿＿＿"):
        assert poem[0][1] == either and prosody.check(poem)["all"], poem


def test_load_poet_takes_a_form_name_for_the_bundled_model(tmp_path, monkeypatch):
    from poetvae import load_poet

    assert (load_poet("wuyan").cfg.chars_per_line, load_poet("qiyan").cfg.chars_per_line) == (5, 7)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "wuyan").mkdir()  # a folder of that name is what the caller means
    with pytest.raises(Exception, match="wuyan"):
        load_poet("wuyan")


def test_traditional_characters_the_model_does_not_know_are_read_in_simplified_script(model):
    from poetvae.text.compose import encode_text
    from poetvae.text.constraints import simplified
    from poetvae.text.corpus import to_simplified

    assert to_simplified("白日依山盡，黃河入海流。") == "白日依山尽，黄河入海流。"
    assert to_simplified("乾坤", keep="乾") == "乾坤"  # the corpora keep 乾 in 乾坤
    a = shipped_poems(split="test", n=1)[0]
    traditional = a.replace("尽", "盡").replace("黄", "黃").replace("门", "門")
    assert simplified(model, traditional) == a or traditional == a
    assert torch.equal(encode_text(model, traditional), encode_text(model, a))


def test_variant_characters_are_read_in_their_standard_form_where_the_model_knows_it():
    from poetvae.text.corpus import standard_forms, to_simplified

    assert standard_forms("疎影鴈劒猨") == "疏影雁剑猿"
    assert standard_forms("乾坤徵於") == "乾坤徵於"  # characters of the 通用规范汉字表 stay
    assert to_simplified("孤鴈") == "孤雁"
    assert to_simplified("孤鴈", keep="孤鴈雁") == "孤雁"
    assert to_simplified("孤鴈", keep="孤鴈") == "孤鴈"  # the model knows the variant only
    assert to_simplified("劍", keep="") == "剑"  # Traditional, then its standard form


@pytest.fixture(scope="module")
def wulu(tiny_wulu_run):
    return load(tiny_wulu_run)


@pytest.mark.parametrize("acrostic", [None, "heads"])
def test_strict_lushi_pass_every_rule_with_no_heteronym_at_a_fixed_position(wulu, acrostic):
    heads = known_heads(wulu, 8) if acrostic else None
    poems = write(wulu, 12, SAMPLE, seed=3, tones="strict", acrostic=heads)
    for poem in poems:
        assert len(poem) == 8 and all(len(line) == 5 for line in poem)
        result = prosody.check(poem)
        assert all(result[rule] for rule in prosody.RULES) and result["all"], (poem, result)
        ends = [line[-1] for line in poem[1::2]]
        assert len(set(ends)) == 4, poem  # no 重韵 among the four rhymes
        groups = frozenset.intersection(*(prosody.rhyme_groups(c) for c in ends))
        assert groups & prosody.level_rhymes(), poem
        if heads:
            assert "".join(line[0] for line in poem) == heads
        else:  # the heads are kept as given, whatever their tone; free poems fit exactly
            assert prosody.fits_template(poem), poem


def test_an_eight_line_pattern_keeps_any_line_and_an_acrostic_needs_eight_heads(wulu):
    line5 = "".join(known_heads(wulu, 5))
    pattern = "，".join(["＿＿＿＿＿"] * 4 + [line5] + ["＿＿＿＿＿"] * 3)
    for poem in write(wulu, 4, SAMPLE, seed=1, pattern=pattern):
        assert len(poem) == 8 and poem[4] == line5
    with pytest.raises(ValueError, match="acrostic needs 8 characters"):
        write(wulu, 1, SAMPLE, acrostic=known_heads(wulu, 4))
