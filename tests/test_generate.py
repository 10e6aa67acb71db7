import math
from collections import Counter
from dataclasses import replace

import pytest
import torch

from poetvae.text import prosody
from poetvae.text.constraints import Constraints, rhyme_constraints, rhyme_matrix
from poetvae.text.decoding import Decoding
from poetvae.text.generate import (
    _rhyme_group_scores,
    decode_latents,
    generate,
    n_uniforms,
    refine_latents,
    to_poems,
)
from poetvae.text.model import load
from poetvae.text.sampling import prior_draws


def test_same_seed_same_poems_and_poem_i_does_not_depend_on_n(tiny_run):
    model = load(tiny_run)
    a = generate(model, 6, seed=7)
    assert a == generate(model, 6, seed=7)
    assert a[:2] == generate(model, 2, seed=7)
    assert a != generate(model, 6, seed=8)


def test_poems_have_the_model_form_and_no_repeats_within_a_line(tiny_run):
    model = load(tiny_run)
    for temperature in (0.0, 1.0):
        for poem in generate(model, 20, Decoding(temperature=temperature), seed=1):
            assert len(poem) == model.cfg.n_lines
            for line in poem:
                assert len(line) == model.cfg.chars_per_line
                assert len(set(line)) == len(line)
                assert "□" not in line


def test_a_refinement_round_moves_z_to_the_mean_of_its_argmax_poem(tiny_run):
    model = load(tiny_run)
    d = Decoding(refine=1, precision="fp32")  # to compare with model.encode's own fp32
    z, u = prior_draws(model.prior, 5, n_uniforms(model, d), seed=9)
    z = z[:, 0]
    c = rhyme_constraints(model, 5)
    argmax = decode_latents(model, z, replace(d, temperature=0, passes=1), constraints=c)
    assert all(prosody.check(p)["rhyme"] for p in to_poems(model, argmax))  # constrained
    refined = refine_latents(model, z, d, c)
    with torch.no_grad():
        assert torch.allclose(refined, model.encode(argmax)[0])
    # generate decodes the refined z with the sampling settings and every uniform of the stream
    final = decode_latents(model, refined, d, u=u, constraints=rhyme_constraints(model, 5))
    assert generate(model, 5, d, seed=9) == to_poems(model, final)
    assert not torch.allclose(refined, z)


def test_large_batches_are_decoded_in_chunks_with_the_same_result(tiny_run):
    model = load(tiny_run)
    z, u = prior_draws(model.prior, 300, model.cfg.seq_len + 1, seed=4)
    z = z[:, 0]
    c = rhyme_constraints(model, 300)
    d = Decoding(temperature=0.8, top_p=0.9, passes=1)
    whole = decode_latents(model, z, d, u=u, constraints=c)  # 2 chunks
    part = rhyme_constraints(model, 10)
    assert torch.equal(
        whole[260:270], decode_latents(model, z[260:270], d, u=u[260:270], constraints=part)
    )


def test_default_poems_rhyme_without_repeating_a_rhyme_character(tiny_run):
    model = load(tiny_run)
    assert model.cfg.n_lines == 4
    d = Decoding(temperature=1.0, top_p=1.0, refine=0)  # refinement would move z with rhyme
    free = generate(model, 60, replace(d, rhyme=False), seed=3)
    rhymed = generate(model, 60, d, seed=3)
    assert all(prosody.check(p)["rhyme"] for p in rhymed)
    assert all(p[1][-1] != p[3][-1] for p in rhymed)
    assert all(p[0][-1] not in (p[1][-1], p[3][-1]) for p in rhymed)  # line 1's end: no 重韵
    assert sum(prosody.check(p)["rhyme"] for p in free) < 60  # the tiny model alone rarely does
    # only the rhyme positions are decoded differently
    same = [a[0] == b[0] and a[2] == b[2] for a, b in zip(free, rhymed, strict=True)]
    assert sum(same) > 50


def test_line_1_never_ends_on_a_rhyme_character_of_the_poem():
    # the bundled qilu model's default samples did in 18 % before (real poems: at most 1 %)
    model = load("qilu")
    poems = generate(model, 100, seed=0)
    assert all(p[0][-1] not in [line[-1] for line in p[1::2]] for p in poems)
    # the model's own choices
    free = generate(model, 100, Decoding(rhyme=False, no_repeat=False, presence=0), seed=0)
    assert sum(p[0][-1] in [line[-1] for line in p[1::2]] for p in free) >= 5


def test_no_two_lines_end_on_one_character_unless_repeats_are_allowed():
    model = load("wulu")  # its default samples did in 20.5 % of poems before (real: 1.3 %)
    poems = generate(model, 100, seed=0)
    assert all(len({line[-1] for line in p}) == len(p) for p in poems)
    allowed = generate(model, 100, Decoding(no_repeat=False, presence=0), seed=0)
    assert sum(len({line[-1] for line in p}) < len(p) for p in allowed) >= 5


def test_presence_shuns_characters_the_poem_already_holds():
    model = load("qilu")  # 39 % of its samples held a character thrice at presence 0 (real 3.7 %)

    def thrice(decoding):
        poems = generate(model, 100, decoding, seed=0)
        return sum(max(Counter("".join(p)).values()) >= 3 for p in poems)

    assert thrice(Decoding(presence=0.0)) >= 20
    assert thrice(Decoding(presence=4.0)) <= 5
    argmax = Decoding(temperature=0.0)  # argmax decoding ignores it
    assert generate(model, 20, argmax, seed=0) == generate(
        model, 20, replace(argmax, presence=4.0), seed=0
    )


def test_presence_counts_the_characters_and_phrases_the_rest_of_the_poem_repeats():
    from poetvae.text.generate import _copies, _shun
    from poetvae.text.model import MASK

    ids = torch.tensor([[1, 2, 3, 4, 5, 1, 2, 6, 7, 8]])  # 2 lines of 5; 1 2 stands twice
    assert _copies(ids, 5).tolist() == [[2, 2, 0, 0, 0, 2, 2, 0, 0, 0]]
    draft = ids.clone()
    draft[0, 6] = MASK  # redrawn after 1: a 2 there would make the phrase 1 2 again
    redo = draft == MASK
    logits = torch.zeros(1, 10)
    _shun(logits, draft, redo, 5, 0.5)
    assert logits.tolist() == [[0, -1, -1, -0.5, -0.5, -0.5, -0.5, -0.5, -0.5, 0]]
    draft[0, 5] = MASK  # no left neighbour: 2 is shunned as a character only
    logits = torch.zeros(2, 10)
    _shun(logits, draft, draft == MASK, 5, 0.5)
    assert logits[1, 2] == logits[1, 3] == -0.5 and logits[1, 1] == -0.5


def test_bf16_decoding_draws_nearly_what_fp32_does():
    from poetvae.core.device import bf16_native

    model = load("wuyan")

    def poems(precision, temperature=0.0):
        return generate(model, 50, Decoding(temperature, precision=precision), seed=0)

    fp32, bf16 = poems("fp32"), poems("bf16")
    same = [
        a == b for p, q in zip(fp32, bf16, strict=True) for x, y in zip(p, q) for a, b in zip(x, y)
    ]
    assert 0.8 < sum(same) / len(same) < 1  # rounding moves a few argmax choices, no more
    assert poems("auto") == (bf16 if bf16_native(torch.device("cpu")) else fp32)


def test_rhyme_group_law_is_the_product_of_each_positions_mass():
    # 5 pieces: <pad>, <unk>, 麻 (rhyme 六麻), 家 (六麻), 流 (十一尤)
    pieces = ("<pad>", "<unk>", "麻", "家", "流")
    groups = rhyme_matrix(pieces)  # 平水韵
    names = list(prosody.rhyme_names())
    ma, you = names.index("六麻"), names.index("十一尤")
    probs = torch.tensor([[0, 0, 0.5, 0.2, 0.3], [0, 0, 0.1, 0.1, 0.8]])  # positions 0 and 1
    logits = probs.clamp_min(1e-30).log().unsqueeze(0)  # (1, 2, 5)
    c = Constraints(rhymes=torch.tensor([[True, True]]), rhyme_groups=groups)
    scores = _rhyme_group_scores(logits, c, 1.0, [0, 1])[0]
    assert scores[ma].item() == pytest.approx(math.log(0.7 * 0.2), rel=1e-5)
    assert scores[you].item() == pytest.approx(math.log(0.3 * 0.8), rel=1e-5)
    assert scores.isinf().sum() == len(names) - 2
    fixed = Constraints(fixed={1: 4}, rhymes=c.rhymes, rhyme_groups=groups)  # 流 written at 1
    scores = _rhyme_group_scores(logits[:, :1], fixed, 1.0, [0])[0]
    assert torch.isfinite(scores).nonzero().flatten().tolist() == [you]


def test_any_seed_works_including_none_huge_and_negative(tiny_run):
    model = load(tiny_run)
    for seed in (None, 2**70, -3):
        assert len(generate(model, 2, seed=seed)) == 2


def test_library_entry_points_refuse_a_negative_number_of_poems(tiny_run):
    from poetvae.text.compose import write

    model = load(tiny_run)
    for entry in (generate, write):
        with pytest.raises(ValueError, match="number of poems"):
            entry(model, -1)


def test_train_config_refuses_nan_and_nonsense():
    from poetvae.core.train import TrainConfig

    for bad in ({"lr": float("nan")}, {"beta": float("inf")}, {"lr": 0.0}, {"batch_size": 0}):
        with pytest.raises(ValueError):
            TrainConfig(**bad)


def test_a_stream_in_chunks_gives_the_poems_of_one_call(tiny_run):
    from poetvae.text.compose import write
    from poetvae.text.generate import stream

    model = load(tiny_run)
    whole = generate(model, 23, seed=4)
    assert list(stream(generate, model, 23, seed=4, chunk=5)) == whole
    heads = "".join(c for c in model.vocab.itos[2:] if len(c) == 1)[:4]
    options = {"acrostic": heads, "tones": "strict", "rerank": 2}
    whole = write(model, 7, seed=4, **options)
    assert list(stream(write, model, 7, seed=4, chunk=6, **options)) == whole  # 3 poems a call


def test_an_unseeded_stream_is_one_sequence(tiny_run):
    from poetvae.text.generate import stream

    model = load(tiny_run)
    poems = list(stream(generate, model, 40, chunk=4))
    assert len({"".join(p) for p in poems}) > 30  # chunks do not repeat each other's draws


def test_a_temperature_too_small_to_divide_by_decodes_by_argmax(tiny_run):
    from poetvae.text.compose import write

    model = load(tiny_run)
    for entry in (generate, write):
        argmax = entry(model, 3, Decoding(temperature=0.0), seed=2)
        for tiny in (1e-300, 5e-324, 1e-9):
            assert Decoding(temperature=tiny).temperature == 0.0
            assert entry(model, 3, Decoding(temperature=tiny), seed=2) == argmax


def test_an_exported_temperature_is_what_the_model_decodes_with_unless_told(
    tiny_tempered_run, tiny_run
):
    from poetvae.text.compose import write

    model = load(tiny_tempered_run)
    assert model.decoding == {"temperature": 1.5, "presence": 2.0}
    assert load(tiny_run).decoding == {}
    for entry in (generate, write):
        own = entry(model, 8, Decoding(temperature=1.5), seed=3)
        assert entry(model, 8, seed=3) == own
        assert entry(model, 8, Decoding(temperature=0.0), seed=3) != own


@pytest.mark.parametrize(
    "named",
    [
        '{"temperature": "hot"}',
        '{"temperature": -1}',
        '{"temperature": true}',
        '{"temperature": {"t": 1}}',
        '{"presence": [1.0]}',
        '{"presence": 20}',
        '{"warmth": 1}',
        "0.8",
    ],
)
def test_a_checkpoint_naming_unusable_decoding_settings_is_refused(tiny_run, tmp_path, named):
    import json
    import shutil

    from poetvae.core.checkpoint import CheckpointError, resolve

    shutil.copytree(resolve(tiny_run), tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    config["decoding"] = json.loads(named)
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="unusable decoding settings"):
        load(tmp_path / "m")


def test_no_poems_is_an_empty_list(tiny_run):
    from poetvae.text.compose import write

    model = load(tiny_run)
    assert generate(model, 0) == [] and write(model, 0, rerank=3, tones="strict") == []
    with pytest.raises(ValueError, match="acrostic"):
        write(model, 0, acrostic="x")


def test_positions_drawn_at_once_that_clash_draw_again_without_the_taken_character():
    from poetvae.text.generate import _draw

    # argmax decoding reads the laws as logits, -inf where a character cannot be drawn
    w = torch.tensor([[0.1, 0.6, 0.3], [0.1, 0.7, 0.2], [0.0, 1.0, 0.0]]).log()
    redo = torch.tensor([[True, True, True]])
    ids = torch.full((1, 3), -1)
    one_line = ~torch.eye(3, dtype=torch.bool).unsqueeze(0)
    argmax = Decoding(temperature=0.0)
    # the leftmost keeps character 1; the second takes its next best; the third has nothing
    # else (probability 0 elsewhere): its repeat stays
    drawn, _ = _draw(ids, redo, w, one_line, argmax, torch.zeros(3))
    assert drawn.tolist() == [[1, 2, 1]]
    free = torch.zeros_like(one_line)
    assert _draw(ids, redo, w, free, argmax, torch.zeros(3))[0].tolist() == [[1, 1, 1]]


def test_poem_i_is_the_same_when_poems_are_decoded_a_few_at_a_time(tiny_run):
    model = load(tiny_run)
    whole = generate(model, 40, seed=2)  # one batch of 40
    few = [p for s in range(0, 40, 3) for p in generate(model, min(3, 40 - s), seed=2, start=s)]
    assert few == whole  # batches under MIN_ROWS are padded to it, then cut


def test_the_vocabularys_log_freq_is_each_characters_share_of_the_train_split(tiny_run, poem_file):
    from collections import Counter

    from poetvae.text.corpus import load_corpus

    model = load(tiny_run)
    counts = Counter("".join(load_corpus(str(poem_file)).splits["train"]))
    total = sum(counts[c] for c in model.vocab.stoi)
    for char in ("不", "人", "山"):
        share = counts[char] / total
        assert math.isclose(
            math.exp(model.vocab.log_freq[model.vocab.stoi[char]]), share, rel_tol=1e-4
        )


def test_rarity_draws_from_the_tempered_law_times_f_to_the_minus_rarity(tiny_mask_predict_run):
    model = load(tiny_mask_predict_run)
    log_freq = torch.tensor(model.vocab.log_freq)
    z, u = prior_draws(model.prior, 64, n_uniforms(model, Decoding()), seed=3)
    z = z[:, 0]

    def poems(m, **kwargs):  # in fp32: bf16 would round the shifted bias
        return decode_latents(m, z, Decoding(precision="fp32", **kwargs), u=u)

    # the same as rarity 0 with -rarity T log f in the output bias: the law is p^(1/T) f^-rarity
    T, r = 0.5, 1.5
    shifted = load(tiny_mask_predict_run)
    with torch.no_grad():
        shifted.out_bias -= r * T * log_freq
    # rounding (the bias inside the product or added after it) may move a rare draw, and the
    # passes after it: 99.8 % and 97.7 % of the characters agree here
    for passes, agree in ((1, 0.99), (4, 0.95)):
        a = poems(model, temperature=T, rarity=r, passes=passes)
        b = poems(shifted, temperature=T, rarity=0.0, passes=passes)
        assert (a == b).float().mean() > agree
    plain = poems(model, temperature=T, rarity=0.0, passes=1)
    assert (plain == poems(shifted, temperature=T, rarity=0.0, passes=1)).float().mean() < 0.5
    common = poems(model, temperature=1.0, rarity=0.0)
    rare = poems(model, temperature=1.0, rarity=1.0)
    assert log_freq[rare].mean() < log_freq[common].mean() - 0.1
    # argmax decoding ignores it
    argmax = Decoding(temperature=0.0)
    assert torch.equal(poems(model, temperature=0.0), poems(model, temperature=0.0, rarity=4.0))
    assert argmax.rarity == Decoding().rarity


def test_poem_i_is_the_same_when_it_falls_in_a_short_last_chunk():
    from poetvae.text.forms import bundled_model

    model = load(bundled_model("wuyan"))  # decoded 64 at a time: 72 poems end in a chunk of 8
    for seed in range(3):  # seed 1 differed at poems 66 and 71 when short chunks were not padded
        assert generate(model, 72, seed=seed) == generate(model, 128, seed=seed)[:72]


def test_a_variant_is_never_drawn_where_the_vocabulary_holds_its_standard_form():
    from poetvae.text.corpus import standard_forms
    from poetvae.text.forms import bundled_model

    model = load(bundled_model("qiyan"))
    variants = {model.vocab.itos[i] for i in model.vocab.variant_ids}
    assert {"疎", "鴈", "劒"} <= variants and not {"疏", "雁", "剑"} & variants
    assert all(standard_forms(c) in model.vocab for c in variants)
    # before variants were barred, 12.7 % of 1,000 default qiyan poems held one
    drawn = "".join("".join(p) for p in generate(model, 300, seed=0))
    assert not set(drawn) & variants


def test_chunks_decoded_side_by_side_write_the_poems_of_one_chunk_at_a_time():
    from poetvae.text.forms import bundled_model

    model = load(bundled_model("wuyan"))  # 150 poems: three chunks of 64 at most
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)  # one chunk at a time
        one = generate(model, 150, seed=4)
        torch.set_num_threads(2)  # chunks side by side, one torch thread each
        two = generate(model, 150, seed=4)
        assert torch.get_num_threads() == 2  # set back
    finally:
        torch.set_num_threads(threads)
    assert one == two


def test_an_error_in_a_chunk_decoded_side_by_side_is_raised_and_the_threads_set_back():
    from poetvae.text.forms import bundled_model
    from poetvae.text.generate import decode_latents

    model = load(bundled_model("wuyan"))
    B, L, V = 150, model.cfg.seq_len, model.cfg.vocab_size
    allowed = torch.ones(B, L, V, dtype=torch.bool)
    allowed[140, 3] = False  # poem 140, in the third chunk, has nothing left at position 4
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        with pytest.raises(ValueError, match="position 4"):
            decode_latents(
                model,
                torch.randn(B, model.cfg.latent_dim),
                Decoding(),
                None,
                Constraints(allowed=allowed),
            )
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)
