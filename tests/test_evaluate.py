import math

import pytest
import torch

from poetvae.core.metrics import mutual_information
from poetvae.text.corpus import split_lines, standard_forms
from poetvae.text.evaluate import (
    CharBigram,
    Parallelism,
    parallelism_judge,
    sample_stats,
    score_split,
)
from poetvae.text.model import PoetVAE, PoetVAEConfig, load
from poetvae.text.train import encode_poems
from poetvae.text.vocab import Vocab

from .conftest import shipped_poems


@pytest.fixture(scope="module")
def trained(tiny_run):
    model = load(tiny_run)
    return model, encode_poems(
        model.vocab,
        [p.replace("，", "").replace("。", "") for p in shipped_poems(split="valid", n=24)],
    )


def test_iwae_with_k1_equals_the_elbo_in_expectation(trained):
    model, x = trained
    one = [score_split(model, x, iw_samples=1, seed=s)["iwae_nll_per_poem"] for s in range(40)]
    elbo = score_split(model, x, iw_samples=1, seed=0)["elbo_per_poem"]  # closed-form KL
    mean, sem = torch.tensor(one).mean().item(), torch.tensor(one).std().item() / math.sqrt(40)
    assert abs(mean + elbo) < 4 * sem + 0.05


def test_iwae_bound_is_tighter_than_the_elbo(trained):
    model, x = trained
    k1 = score_split(model, x, iw_samples=1, seed=0)
    k50 = score_split(model, x, iw_samples=50, seed=0)
    assert k50["iwae_nll_per_poem"] <= -k1["elbo_per_poem"]
    assert k50["iwae_nll_per_poem"] <= k1["iwae_nll_per_poem"]


def test_a_fitted_proposal_tightens_the_bound_of_the_same_model(trained):
    model, x = trained
    before = {k: v.clone() for k, v in model.state_dict().items()}
    amortized = score_split(model, x, iw_samples=20, seed=0)
    fitted = score_split(model, x, iw_samples=20, seed=0, proposal_steps=30)
    assert fitted["iwae_nll_per_poem"] < amortized["iwae_nll_per_poem"]
    assert fitted["proposal_steps"] == 30 and amortized["proposal_steps"] == 0
    assert fitted["elbo_per_poem"] == amortized["elbo_per_poem"]  # the encoder's, as before
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    assert all(p.grad is None for p in model.parameters())  # the model is not trained


def test_keys_are_present_and_finite(trained):
    model, x = trained
    scores = score_split(model, x, iw_samples=3)
    for key in (
        "recon_per_poem",
        "recon_per_char",
        "kl_per_poem",
        "kl_per_char",
        "elbo_per_poem",
        "iwae_nll_per_poem",
        "iwae_nll_per_char",
        "active_units",
        "mutual_information",
        "char_accuracy",
    ):
        assert math.isfinite(scores[key]), key
    assert scores["iw_samples"] == 3 and 0 <= scores["char_accuracy"] <= 1


def test_the_context_gain_is_what_the_draft_path_reads(tiny_mask_predict_run, trained):
    model, x = load(tiny_mask_predict_run), trained[1]
    scores = score_split(model, x, iw_samples=2)
    gain = scores["recon_per_char"] - scores["masked_ce_per_char"]
    assert scores["context_gain_per_char"] == pytest.approx(gain) and gain != 0
    with torch.no_grad():  # a draft path that reads nothing: every draft decodes as no draft
        model.draft_in.weight.zero_()
        model.draft_in.bias.zero_()
        model.mask_embed.zero_()
    blind = score_split(model, x, iw_samples=2)
    assert blind["context_gain_per_char"] == pytest.approx(0, abs=1e-5)
    assert "masked_ce_per_char" not in score_split(trained[0], x, iw_samples=2)  # parallel


def test_constant_encoder_has_no_active_units_and_no_information():
    vocab = Vocab.train(["春眠不觉晓处处闻啼鸟", "夜来风雨声花落知多少"])
    model = PoetVAE(PoetVAEConfig.preset("tiny", vocab_size=len(vocab), n_lines=2), vocab)
    torch.nn.init.zeros_(model.to_latent.weight)  # mu, logvar no longer depend on x
    x = torch.randint(2, len(vocab), (64, 10))
    scores = score_split(model, x, iw_samples=2)
    assert scores["active_units"] == 0
    assert abs(scores["mutual_information"]) < 1e-4


def test_mutual_information_is_high_for_well_separated_posteriors():
    mu = torch.arange(200, dtype=torch.float).unsqueeze(1) * 10  # 200 disjoint posteriors
    logvar = torch.zeros(200, 1)
    assert mutual_information(mu, logvar) == pytest.approx(math.log(200), rel=1e-3)


def test_sample_stats_on_a_crafted_set():
    train = {"白日依山尽黄河入海流"}
    poems = [["白日依山尽", "黄河入海流"], ["白日依山尽", "春春春春春"]]
    stats = sample_stats(poems, train)
    assert stats["poem_char_thrice"] == 0.5
    assert sample_stats([["白日依山尽", "山日照黄河"]])["poem_phrase_twice"] == 0
    assert sample_stats([["白日依山尽", "依山白日流"]])["poem_phrase_twice"] == 1
    assert sample_stats([["白日依山尽", "依山白日流"]])["poem_char_thrice"] == 0
    assert stats["novelty"] == 0.5
    assert stats["novel_lines"] == 0.25
    assert stats["repeat_line_share"] == 0.25
    assert stats["distinct_chars"] == 11
    assert stats["top_char"] == "春" and stats["top_char_share"] == 5 / 20


def test_a_sample_in_standard_forms_is_a_copy_of_a_training_poem_with_its_variants():
    from poetvae.text.evaluate import in_standard_forms

    train = {standard_forms("疎影横斜水清浅暗香浮")}
    sample = in_standard_forms([["疏影横斜水", "清浅暗香浮"]])  # as the model writes it
    real = in_standard_forms([["疎影横斜水", "清浅暗香浮"]])  # as the corpus holds it
    assert sample == real == [["疏影横斜水", "清浅暗香浮"]]
    figures = sample_stats(sample, train)
    assert figures["novelty"] == figures["novel_lines"] == 0.0


def test_bigram_judge_is_a_distribution_and_prefers_real_order():
    judge = CharBigram(["白日依山尽黄河入海流", "春眠不觉晓处处闻啼鸟", "白云依静渚春草闭闲门"], 5)
    for context in ("^", "白", "依", "门", "新"):  # seen, line-final and unseen contexts
        seen = sum(math.exp(judge.logprob(context, b)) for b in judge.unigrams)
        unseen = math.exp(judge.logprob(context, "龘"))  # the one slot of every unseen character
        assert seen + unseen == pytest.approx(1.0)
    real = judge.nll_per_char([["白日依山尽", "黄河入海流"]])
    shuffled = judge.nll_per_char([["尽山依日白", "流海入河黄"]])
    assert real < shuffled
    # "白" starts two of the six lines, "依" none
    assert judge.logprob("^", "白") > judge.logprob("^", "依")


@pytest.mark.parametrize("form,width", [("wuyan", 5), ("qiyan", 7)])
def test_outside_judge_is_fitted_on_song_lines_that_no_shipped_corpus_holds(form, width):
    import gzip
    from importlib import resources

    from poetvae.text.evaluate import song_judge

    folder = resources.files("poetvae.corpora")
    with gzip.open(str(folder.joinpath("song-judge", f"{form}.txt.gz")), "rt") as f:
        song = {line.strip() for line in f}
    assert len(song) > 150_000 and {len(line) for line in song} == {width}
    for shape in ("couplet", "quatrain"):
        for split in ("train", "valid", "test"):
            poems = shipped_poems(f"tang-{form}-{shape}", split, n=10**6)
            text = [p.replace("，", "").replace("。", "") for p in poems]
            lines = {t[i : i + width] for t in text for i in range(0, len(t), width)}
            assert not song & lines, (shape, split)
    judge = song_judge(width)
    assert judge.width == width
    real = [[t[i : i + width] for i in range(0, len(t), width)] for t in text[:200]]
    backwards = [[line[::-1] for line in poem] for poem in real]
    assert judge.nll_per_char(real) < judge.nll_per_char(backwards)
    with pytest.raises(ValueError, match="6 characters"):
        song_judge(6)


def test_parallelism_is_a_symmetric_smoothed_pmi_of_middle_couplet_positions():
    middle = ["山花明月白", "水鸟暗云青"]
    poems = [["甲乙丙丁戊", "子丑寅卯辰", *middle, *middle]] * 3
    judge = Parallelism(poems)
    assert judge.m == 3 * 2 * 5  # three poems, two middle couplets, five positions each
    assert judge.assoc("山", "水") == judge.assoc("水", "山") > 0
    assert judge.assoc("甲", "子") == 0.0  # an outer couplet is not counted: never seen
    assert judge.assoc("山", "鸟") < 0  # seen apart, never paired
    assert judge.score(poems)["share"] == 1.0


def test_real_lushi_are_far_more_parallel_than_their_lines_shuffled_across_poems():
    judge = parallelism_judge()
    for name in ("tang-wuyan-lushi", "tang-qiyan-lushi"):
        real = [split_lines(p) for p in shipped_poems(name, "test", 400)]  # test: not in the table
        figures = judge.figures(real)
        assert figures["parallelism"] > 0.5 > 0.25 > figures["parallelism_shuffled"], figures
        assert figures["parallelism_assoc"] > 0 > figures["parallelism_assoc_shuffled"]
        # the outer couplets, which 律诗 leave unparallel, pair far less than the middle ones
        outer = [[p[0], p[1], p[6], p[7], p[0], p[1]] for p in real]
        assert judge.score(outer)["share"] < figures["parallelism"] - 0.2


def test_evaluate_reports_parallelism_for_eight_lines_only(tiny_wulu_run, tiny_run):
    from poetvae.text.corpus import load_corpus
    from poetvae.text.evaluate import evaluate

    corpus = load_corpus("tang-wuyan-lushi")
    report = evaluate(load(tiny_wulu_run), corpus, "test", iw_samples=2, n_samples=30, limit=10)
    for side in ("samples", "reference"):
        assert 0 <= report[side]["parallelism"] <= 1, side
        assert report[side]["prosody"]["adhesion"] is not None
    assert report["reference"]["parallelism"] > report["reference"]["parallelism_shuffled"]
    quatrains = load_corpus("tang-wuyan-quatrain")
    report = evaluate(load(tiny_run), quatrains, "test", iw_samples=2, n_samples=10, limit=10)
    assert "parallelism" not in report["samples"]
