"""Poems on a theme: keyword extraction, the conditional text VAE, and keywords everywhere a user
writes (API, CLI)."""

from dataclasses import replace

import pytest
import torch
from click.testing import CliRunner

from poetvae.cli import main
from poetvae.text.compose import write
from poetvae.text.corpus import load_corpus
from poetvae.text.evaluate import score_split
from poetvae.text.generate import conditioned, generate
from poetvae.text.keywords import STOP, KeywordExtractor, extract, parse_keywords
from poetvae.text.model import PoetVAE, PoetVAEConfig, load
from poetvae.text.train import encode_keywords, encode_poems, warm_start

from .conftest import shipped_poems

QUIET_NIGHT = "床前明月光疑是地上霜举头望明月低头思故乡"


@pytest.fixture(scope="module")
def extractor():
    poems = [p.replace("，", "").replace("。", "") for p in shipped_poems(n=20000)]
    return KeywordExtractor(poems, 5)


@pytest.fixture(scope="module")
def cond_run(tiny_keywords_run):
    return tiny_keywords_run


def test_keywords_of_known_poems_are_their_theme_and_never_function_characters(extractor):
    words = extractor.keywords(QUIET_NIGHT)
    assert words[0] == "明月" and 1 <= len(words) <= 4
    assert extractor.keywords(QUIET_NIGHT) == words  # deterministic
    poems = [p.replace("，", "").replace("。", "") for p in shipped_poems(n=300)]
    for poem in poems:
        got = extractor.keywords(poem)
        assert len(got) <= 4 and all(w in poem for w in got)
        chars = "".join(got)
        assert len(set(chars)) == len(chars)  # no two keywords share a character
        assert not any(len(w) == 1 and w in STOP for w in got)
    assert {"故乡", "江南", "春风", "明月"} <= set(extractor.words)


def test_extract_is_aligned_with_the_splits_and_deterministic():
    poems = [p.replace("，", "").replace("。", "") for p in shipped_poems(n=400)]
    splits = {"train": poems[:300], "valid": poems[300:350], "test": poems[350:]}
    a, b = extract(splits["train"], splits, 5), extract(splits["train"], splits, 5)
    assert a == b and {k: len(v) for k, v in a.items()} == {"train": 300, "valid": 50, "test": 50}
    assert sum(map(bool, a["train"])) > 250


@pytest.mark.parametrize(
    "text, words",
    [
        ("明月,故乡", ["明月", "故乡"]),
        ("明月、故乡 春风", ["明月", "故乡", "春风"]),
        (["酒"], ["酒"]),
    ],
)
def test_parse_keywords_takes_commas_enumeration_commas_and_spaces(text, words):
    assert parse_keywords(text) == words


@pytest.mark.parametrize(
    "text, message",
    [("", "one to four"), ("春,夏,秋,冬,雪", "at most 4"), ("moon", "Chinese characters")],
)
def test_parse_keywords_refuses_bad_input_in_one_line(text, message):
    with pytest.raises(ValueError, match=message):
        parse_keywords(text)


def test_a_conditional_mixture_is_the_mixture_reweighted_and_moved():
    from poetvae.core.priors import GaussianMixture

    torch.manual_seed(0)
    base = GaussianMixture(3, 5)
    z = torch.randn(7, 3)
    zero = base.reweighted(torch.zeros(1, 5), torch.zeros(1, 3))
    assert torch.allclose(zero.log_prob(z), base.log_prob(z))
    offset, shift = torch.randn(1, 3), torch.randn(1, 5)
    moved = base.reweighted(shift, offset)
    reweighted = base.reweighted(shift)
    assert torch.allclose(moved.log_prob(z + offset), reweighted.log_prob(z), atol=1e-5)
    # the reweighted density is a mixture with weights softmax(logits + shift)
    w = (base.logits + shift[0]).softmax(0)
    one = [GaussianMixture(3, 1) for _ in range(5)]
    for k, g in enumerate(one):
        g.load_state_dict({"logits": torch.zeros(1), "means": base.means[k : k + 1],
                           "logvars": base.logvars[k : k + 1]})  # fmt: skip
    manual = torch.stack([g.log_prob(z) for g in one]).exp().T @ w
    assert torch.allclose(reweighted.log_prob(z).exp(), manual, rtol=1e-4)
    gen = torch.Generator().manual_seed(0)
    far = base.reweighted(shift, torch.full((1, 3), 100.0)).sample(500, gen)
    assert (far.mean(0) > 90).all()


def _tiny(prior: str, decoder: str, vocab_size: int = 50) -> PoetVAE:
    comps = 4 if prior == "mixture" else 0
    cfg = PoetVAEConfig.preset(
        "tiny", vocab_size=vocab_size, decoder=decoder, prior=prior, prior_components=comps
    )
    return PoetVAE(cfg)


@pytest.mark.parametrize("prior", ["normal", "mixture"])
@pytest.mark.parametrize("decoder", ["parallel", "mask-predict"])
def test_a_warm_start_is_the_unconditional_model_and_keywords_then_train(prior, decoder):
    torch.manual_seed(0)
    base = _tiny(prior, decoder).eval()
    cond = warm_start(PoetVAE(replace(base.cfg, keywords=4)), base).eval()
    x = torch.randint(3, 50, (6, base.cfg.seq_len))
    kw = torch.randint(0, 50, (6, 4, 2))
    kw[0] = 0  # a poem without keywords
    c = cond.condition(kw)
    assert c[0].abs().max() == 0  # c = ∅ is the zero vector
    z = torch.randn(6, base.cfg.latent_dim)
    with torch.no_grad():
        assert torch.equal(base.encode(x)[0], cond.encode(x, c)[0])
        assert torch.equal(base.decode(z), cond.decode(z, cond=c))
        if prior == "mixture":  # reweighted by zero: the mixture itself
            assert torch.allclose(cond.prior_given(c).log_prob(z), base.prior.log_prob(z))
    torch.manual_seed(1)
    before = base((x,)).loss
    torch.manual_seed(1)
    assert torch.allclose(cond((x, kw)).loss, before)
    # two steps: the zero layers move first, then the keyword MLP gets gradients too
    cond.train()
    opt = torch.optim.Adam(cond.parameters(), lr=1e-2)
    for _ in range(2):
        opt.zero_grad()
        cond((x, kw.clamp(min=3))).loss.backward()
        grads = {n: p.grad for n, p in cond.named_parameters() if n.startswith(("kw_", "head_c"))}
        opt.step()
    assert all(g is not None and g.abs().sum() > 0 for g in grads.values()), grads.keys()


def test_no_keywords_gives_the_unconditional_bound_exactly(cond_run, poem_file):
    model = load(cond_run)
    corpus = load_corpus(str(poem_file))
    x = encode_poems(model.vocab, corpus.splits["train"][:16])
    none = torch.zeros(16, 4, 2, dtype=torch.long)
    plain, empty = score_split(model, x, 10), score_split(model, x, 10, kw=none)
    for key in ("elbo_per_poem", "iwae_nll_per_poem", "kl_per_poem"):
        assert plain[key] == pytest.approx(empty[key], abs=1e-4)
    kw = encode_keywords(model.vocab, [["明月", "山"]] * 16, 4)
    given = score_split(model, x, 10, kw=kw)
    assert given["elbo_per_poem"] != plain["elbo_per_poem"]
    one = score_split(model, x, 1, kw=kw)  # IWAE K=1 is an ELBO; more samples bound tighter
    assert one["iwae_nll_per_poem"] >= given["iwae_nll_per_poem"] - 1e-3


def test_generate_and_write_take_keywords_with_every_constraint(cond_run):
    model = load(cond_run)
    a = generate(model, 3, seed=1, keywords="明月,山")
    assert a == generate(model, 3, seed=1, keywords=["明月", "山"])
    assert a != generate(model, 3, seed=1)
    poems = write(model, 2, seed=1, keywords="明月", acrostic="春夏秋冬", tones="strict", rerank=2)
    assert [line[0] for line in poems[0]] == list("春夏秋冬")
    a, b, c = model.vocab.itos[3:6]  # characters the tiny vocabulary surely has
    kept = write(model, 1, seed=1, keywords="山", pattern=f"{a}{b}＿＿{c}")
    assert kept[0][0].startswith(a + b) and kept[0][0].endswith(c)
    unknown = "".join(chr(c) for c in range(0x4E00, 0x4E00 + 2000) if chr(c) not in model.vocab)
    with pytest.raises(ValueError, match=f"not in the model's vocabulary: {unknown[:2]}"):
        conditioned(model, unknown[:2])


def test_write_places_every_keyword_where_the_poems_z_likes_it(cond_run):
    model = load(cond_run)
    for poem in write(model, 8, seed=2, keywords="明月,山"):
        assert any("明月" in line for line in poem)  # a word stays whole, within one line
        assert "山" in "".join(poem)
    # the rhyme positions are left to the rhyme, a kept character stays
    for poem in write(model, 8, seed=2, keywords="山", acrostic="春夏秋冬", tones="strict"):
        assert [line[0] for line in poem] == list("春夏秋冬")
    alone = write(model, 8, seed=2, keywords="明月,山", place=False)
    assert alone != write(model, 8, seed=2, keywords="明月,山")


def test_an_unconditional_model_given_keywords_is_a_clear_error(tiny_run):
    with pytest.raises(ValueError, match="trained without keywords"):
        generate(load(tiny_run), 1, keywords="明月")


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_generate_command_with_keywords_and_its_errors(cond_run, tiny_run):
    r = _run("generate", "--checkpoint", cond_run, "--keywords", "明月、山", "-n", 2, "--seed", 1)
    assert r.exit_code == 0 and len(r.output.split()) == 8, r.output
    r = _run(
        "generate", "--checkpoint", cond_run, "--keywords", "明月", "--acrostic", "春夏秋冬",
        "--tones", "strict", "--rerank", 2, "-n", 1, "--seed", 1,
    )  # fmt: skip
    assert r.exit_code == 0 and r.output.split()[0][0] == "春", r.output
    for args, message in [
        ((cond_run, "春,夏,秋,冬,雪"), "at most 4"),
        ((cond_run, ""), "one to four"),
        ((tiny_run, "明月"), "trained without keywords"),
    ]:
        r = _run("generate", "--checkpoint", args[0], "--keywords", args[1], "-n", 1)
        assert r.exit_code == 1 and message in r.output, r.output
        assert len(r.output.strip().splitlines()) == 1 and "Traceback" not in r.output


def test_eval_reports_bounds_given_keywords_and_without(cond_run, poem_file):
    import json

    r = _run(
        "eval", "--checkpoint", cond_run, "--corpus", poem_file, "--split", "valid",
        "--limit", 8, "--samples", 4, "--iw-samples", 2, "--format", "json",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert {"data", "data_keywords"} <= set(out)
    assert out["data_keywords"]["n"] == out["data"]["n"] == 8


def test_corpus_show_prints_keywords():
    r = _run("corpus", "show", "tang-wuyan-quatrain", "-n", 2)
    assert r.exit_code == 0 and r.output.count("[") == 2, r.output


def test_the_json_api_takes_keywords_as_the_cli_does(cond_run, tiny_qiyan_run):
    pytest.importorskip("starlette")
    pytest.importorskip("uvicorn")
    import json
    import urllib.error
    import urllib.request

    from poetvae.web.app import create_app

    from .conftest import serving

    def post(url, body):
        data = json.dumps(body, ensure_ascii=False).encode()
        try:
            with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=60) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    with serving(create_app({"wuyan": cond_run, "qiyan": tiny_qiyan_run})) as url:
        status, got = post(url + "/api/write", {"keywords": "明月,山", "n": 2, "seed": 3})
        assert status == 200, got
        r = _run(
            "generate", "--checkpoint", cond_run, "--keywords", "明月,山", "-n", 2, "--seed", 3,
            "--format", "json",
        )  # fmt: skip
        assert [p["lines"] for p in got["poems"]] == [p["lines"] for p in json.loads(r.output)]
        status, bad = post(url + "/api/write", {"keywords": "春,夏,秋,冬,雪", "n": 1})
        assert status == 400 and "at most 4" in bad["error"]
        status, plain = post(url + "/api/write", {"form": "qiyan", "keywords": "明月", "n": 1})
        assert status == 400 and "trained without keywords" in plain["error"]


def test_keyword_drop_is_the_share_of_training_poems_given_none(cond_run):
    model = load(cond_run)
    kw = torch.full((2000, 4, 2), 5)  # every poem has four two-character keywords
    for drop in (0.0, 0.6, 1.0):
        model.cfg = replace(model.cfg, keyword_drop=drop)
        kept = (model._some_keywords(kw) != 0).any(-1).any(-1).float().mean().item()
        assert abs(kept - (1 - drop)) < 0.04
    with pytest.raises(ValueError, match="keyword_drop must be in"):
        PoetVAE(replace(model.cfg, keyword_drop=1.5), model.vocab)
