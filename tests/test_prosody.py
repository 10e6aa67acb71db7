import itertools
import random

import pytest

from poetvae.text import prosody
from poetvae.text.corpus import split_lines
from poetvae.text.prosody import (
    EITHER,
    PING,
    RULES,
    ZE,
    check,
    rates,
    rhyme_groups,
    tone,
    tone_ids,
    valid_patterns,
)

from .conftest import shipped_poems

# Hand-checked poems; the tone strings below are the table's verdicts (中 = either).
DENG_GUAN_QUE_LOU = ["白日依山尽", "黄河入海流", "欲穷千里目", "更上一层楼"]  # 王之涣
CHUN_XIAO = ["春眠不觉晓", "处处闻啼鸟", "夜来风雨声", "花落知多少"]  # 孟浩然
JUE_JU = ["两个黄鹂鸣翠柳", "一行白鹭上青天", "窗含西岭千秋雪", "门泊东吴万里船"]  # 杜甫
JING_YE_SI = ["床前明月光", "疑是地上霜", "举头望明月", "低头思故乡"]  # 李白, a 古绝
CHUN_WANG = [  # 杜甫, a 五律
    *["国破山河在", "城春草木深", "感时花溅泪", "恨别鸟惊心"],
    *["烽火连三月", "家书抵万金", "白头搔更短", "浑欲不胜簪"],
]
DENG_GAO = [  # 杜甫, a 七律; 首句入韵 (哀 回 来 台 杯: 十灰)
    *["风急天高猿啸哀", "渚清沙白鸟飞回", "无边落木萧萧下", "不尽长江滚滚来"],
    *["万里悲秋常作客", "百年多病独登台", "艰难苦恨繁霜鬓", "潦倒新停浊酒杯"],
]
THREE_LEVEL_TAIL = ["春风生落日", "万里无人烟"]  # constructed: line 2 ends 平平平
NO_OPPOSITION = ["白日依山尽", "万里照江河"]  # constructed: both lines 仄 at 2, 平 at 4

STRICT = ("alternation", "opposition", "level_rhyme", "no_three_level_tail", "rhyme")


def pattern(line: str) -> str:
    return "".join("中" if tone(c) == EITHER else tone(c) for c in line)


def failures(result: dict) -> set[str]:
    return {rule for rule, ok in result.items() if ok is False}


@pytest.mark.parametrize(
    "lines, tones",
    [
        (DENG_GUAN_QUE_LOU, ["仄仄平平仄", "平平仄仄平", "仄平平仄仄", "中仄仄平平"]),
        (CHUN_XIAO, ["平平仄仄仄", "仄仄平平仄", "仄平平仄平", "平仄平平仄"]),
        (JING_YE_SI, ["平平平仄平", "平仄仄仄平", "仄平仄平仄", "平平中仄平"]),
        (JUE_JU, ["仄仄平平平仄仄", "仄平仄仄仄平平", "平平平仄平平仄", "平仄平平仄仄平"]),
        (THREE_LEVEL_TAIL, ["平平平仄仄", "仄仄平平平"]),
        (NO_OPPOSITION, ["仄仄平平仄", "仄仄仄平平"]),
    ],
)
def test_tone_table_reads_poems_as_hand_checked(lines, tones):
    assert [pattern(line) for line in lines] == tones


@pytest.mark.parametrize(
    "lines, failed",
    [
        (DENG_GUAN_QUE_LOU, set()),
        (JUE_JU, set()),
        # 晓 / 鸟 / 少 rhyme on 仄: an ancient-style quatrain; line 3 also breaks 粘.
        (CHUN_XIAO, {"level_rhyme", "adhesion", "all"}),
        # 是…上 and 头…明 repeat a tone at 2 and 4; 月 / 上 clash at 4; 头 after 是 breaks 粘.
        (JING_YE_SI, {"alternation", "opposition", "adhesion", "all"}),
        (CHUN_WANG, set()),  # 深 心 金 簪: all 十二侵 in 平水韵
        (DENG_GAO, set()),
        (THREE_LEVEL_TAIL, {"no_three_level_tail", "all"}),
        (NO_OPPOSITION, {"opposition", "all"}),
        (DENG_GUAN_QUE_LOU[:3] + ["更上一层山"], {"rhyme", "all"}),  # 流 十一尤 vs 山 十五删
    ],
)
def test_check_fails_exactly_the_broken_rules(lines, failed):
    result = check(lines)
    assert set(result) == {*RULES, "all"}
    assert failures(result) == failed


def test_couplets_leave_rhyme_and_adhesion_unapplied():
    result = check(DENG_GUAN_QUE_LOU[:2])
    assert result["rhyme"] is None and result["adhesion"] is None
    assert result["all"] is True


def test_heteronyms_and_unknowns_satisfy_either_tone():
    assert tone("天") == PING and tone("地") == ZE
    assert {tone(c) for c in "看听思过更"} == {EITHER}
    assert tone("鿏") == EITHER  # not in the table
    # 看 at position 2 of both lines: neither alternation nor opposition can fail there.
    assert check(["春看生落日", "万看无人烟"])["opposition"] is True
    # A 七言 line 平 中 仄 at 2/4/6 fails: no reading of the middle makes 2 and 6 agree.
    assert check(["春风看看落日花", "万里江河看看天"])["alternation"] is False


def test_rhyme_groups_of_xinyun_take_every_modern_reading():
    assert rhyme_groups("流", "xinyun") == rhyme_groups("楼", "xinyun") == {"尤"}
    assert rhyme_groups("诗", "xinyun") == {"支"} and rhyme_groups("西", "xinyun") == {"齐"}
    assert {"唐", "庚"} <= rhyme_groups("行", "xinyun")  # háng / xíng: any reading may rhyme
    assert rhyme_groups("a", "xinyun") == frozenset()


def test_rhyme_groups_of_pingshui_are_the_books_own_entries():
    assert rhyme_groups("流") == rhyme_groups("楼") == {"十一尤"}  # the default book
    # the rare modern readings that made 中华新韵 rhymes (家 gū, 台 yí, 身 juān) are not entries
    assert rhyme_groups("家") == {"六麻"} and not rhyme_groups("家") & rhyme_groups("浮")
    assert rhyme_groups("台") == {"四支", "十灰"}  # 天台 and 台阁: both in the book
    assert rhyme_groups("看") == {"十四寒", "十五翰"}  # a heteronym rhymes in each of its rhymes
    assert rhyme_groups("a") == frozenset()
    # 东 冬 庚 were three rhymes in Tang verse, one group today
    assert check(["白日依山尽", "春风过小东", "欲穷千里目", "一夜到寒冬"])["rhyme"] is False
    assert check(["白日依山尽", "春风过小东", "欲穷千里目", "一夜到寒冬"], "xinyun")["rhyme"]


def test_pingshui_has_the_books_rhymes_in_order_and_30_level_ones():
    names = prosody.rhyme_names()
    assert len(names) == 105 and names[:3] == ("一东", "二冬", "三江")
    level = prosody.level_rhymes()
    assert len(level) == 30 and {"一东", "十五删", "一先", "十五咸"} <= level
    assert not level & {"一董", "一送", "入声一屋"}
    assert prosody.level_rhymes("xinyun") == frozenset(prosody.rhyme_names("xinyun"))
    with pytest.raises(ValueError, match="unknown rhyme book 'guangyun'"):
        rhyme_groups("东", "guangyun")


def test_real_quatrains_rhyme_by_pingshui_more_often_than_by_xinyun():
    poems = [split_lines(p) for p in shipped_poems(split="test", n=500)]
    r = rates(poems)
    assert r["rhyme"] == r["rhyme_pingshui"] > 0.85
    assert r["rhyme_xinyun"] == rates(poems, "xinyun")["rhyme"]


def test_tone_ids_mark_either_in_both():
    is_ping, is_ze = tone_ids(["天", "地", "看", "<pad>"])
    assert is_ping == [True, False, True, True]
    assert is_ze == [False, True, True, True]
    is_ping, is_ze = tone_ids(["天", "地", "看", "<pad>"], unambiguous=True)
    assert is_ping == [True, False, False, False]
    assert is_ze == [False, True, False, False]


@pytest.mark.parametrize(
    "bad", [["白日依山尽"], ["白日依山尽", "黄河入海"], ["白日依山尽了", "黄河入海流了"]]
)
def test_check_rejects_other_shapes(bad):
    with pytest.raises(ValueError):
        check(bad)


def _fills(template: list[str], limit: int = 256):
    """Tone strings of a template with every (or, past `limit`, a seeded sample of) 中 filling."""
    slots = sum(line.count("中") for line in template)
    choices = itertools.product((PING, ZE), repeat=slots)
    if 2**slots > limit:
        rng = random.Random(0)
        choices = [[rng.choice((PING, ZE)) for _ in range(slots)] for _ in range(limit)]
    for choice in choices:
        it = iter(choice)
        yield [[next(it) if t == "中" else t for t in line] for line in template]


@pytest.mark.parametrize("n_lines", [2, 4, 8])
@pytest.mark.parametrize("chars_per_line", [5, 7])
def test_valid_patterns_pass_the_tone_rules_however_filled(n_lines, chars_per_line):
    templates = valid_patterns(n_lines, chars_per_line)
    assert len(templates) == 4 and len({tuple(t) for t in templates}) == 4
    char = {PING: "天", ZE: "地"}
    for template in templates:
        assert len(template) == n_lines
        assert all(
            len(line) == chars_per_line and set(line) <= {"平", "仄", "中"} for line in template
        )
        for tones in _fills(template):
            result = check(["".join(char[t] for t in line) for line in tones])
            assert all(result[rule] for rule in STRICT[:4]), (template, tones)
            assert result["adhesion"] is not False


def _fits(lines: list[str], template: list[str]) -> bool:
    return all(
        t == "中" or p == "中" or t == p
        for line, tline in zip(lines, template)
        for p, t in zip(pattern(line), tline)
    )


@pytest.mark.parametrize("lines", [DENG_GUAN_QUE_LOU, JUE_JU, CHUN_WANG])
def test_regulated_poems_fit_a_template(lines):
    templates = valid_patterns(len(lines), len(lines[0]))
    assert any(_fits(lines, t) for t in templates)


def test_valid_patterns_reject_other_forms():
    for n_lines, chars in [(3, 5), (0, 5), (4, 6)]:
        with pytest.raises(ValueError):
            valid_patterns(n_lines, chars)


def test_rates_aggregate_over_poems():
    poems = [DENG_GUAN_QUE_LOU, CHUN_XIAO, JING_YE_SI, THREE_LEVEL_TAIL]
    r = rates(poems)
    assert r["n"] == 4
    assert r["alternation"] == 3 / 4  # 静夜思 fails
    assert r["level_rhyme"] == 3 / 4  # 春晓 fails
    assert r["no_three_level_tail"] == 3 / 4  # the constructed couplet fails
    assert r["rhyme"] == 1.0  # over the 3 quatrains only: the couplet has no rhyme pair
    assert r["rhyme_pingshui"] == r["rhyme_xinyun"] == 1.0
    assert r["adhesion"] == 1 / 3
    assert r["all"] == 1 / 4  # only 登鹳雀楼
    # Tone-checked positions are 2-5 of each 五言 line: 14 lines x 4 = 56; 更 is at position 1
    # (unchecked), 思 at position 3 of 低头思故乡 is the only heteronym, and no unknowns.
    assert r["heteronym_share"] == pytest.approx(1 / 56)
    assert r["unknown_share"] == 0.0


def test_rates_of_nothing_and_of_couplets():
    assert rates([])["n"] == 0 and rates([])["all"] is None
    assert rates([DENG_GUAN_QUE_LOU[:2]])["rhyme"] is None


def test_shipped_rhyme_table_matches_pypinyin():
    table = prosody._rhyme_table()
    assert len(table) > 8000
    stale = [c for c, groups in table.items() if groups != prosody.pinyin_rhyme_groups(c)]
    assert stale == []
    assert prosody.rhyme_groups("流", "xinyun") == {"尤"}


def test_annotate_marks_tones_and_the_rhyme_positions():
    a = prosody.annotate(JUE_JU)  # 柳 天 雪 船: 天 and 船 rhyme (一先); line 1 ends 仄
    assert a["tones"] == [pattern(line) for line in JUE_JU]
    assert a["rhyme_positions"] == [[1, 6], [3, 6]]
    assert a["rhyme_groups"] == ["一先"] and a["rhyme_book"] == "平水韵"
    modern = prosody.annotate(JUE_JU, "xinyun")
    assert modern["rhyme_groups"] == ["寒"] and modern["rhyme_book"] == "中华新韵"
    assert a["rules"] == check(JUE_JU)
    rhymed_first = prosody.annotate(["春风吹落花", "万里照天涯", "明月照高楼", "何人不忆家"])
    assert rhymed_first["rhyme_positions"] == [[0, 4], [1, 4], [3, 4]]  # 首句入韵: 花 涯 家
    assert prosody.annotate(THREE_LEVEL_TAIL)["rhyme_positions"] == [[1, 4]]


def _level_rhymes(group: str, n: int) -> list[str]:
    """n characters of one 平水韵 level rhyme, each of one known tone (平) in the tone table."""
    chars = [c for c, g in prosody._pingshui()[1].items() if group in g]
    return [c for c in chars if prosody._tone_class(c) == PING][:n]


def _lushi(chars_per_line: int, kinds: str) -> list[str]:
    """Eight lines of the given 王力 line types (A B C D), filled with characters of one known
    tone from the table (天 平, 地 仄, 天 at a free position) and rhyming in 一东."""
    types = prosody._LINES_5 if chars_per_line == 5 else prosody._LINES_7
    fill = {"平": "天", "仄": "地", "中": "天"}
    lines = ["".join(fill[t] for t in types[k]) for k in kinds]
    for line, end in zip(range(1, 8, 2), _level_rhymes("一东", 4), strict=True):
        lines[line] = lines[line][:-1] + end
    return lines


@pytest.mark.parametrize("chars_per_line", [5, 7])
def test_eight_lines_fail_exactly_the_broken_rules(chars_per_line):
    n = chars_per_line
    regulated = _lushi(n, "ABCDABCD")  # 仄起, first line unrhymed (五言 names)
    assert failures(check(regulated)) == set() and prosody.fits_template(regulated)
    # the middle couplets swapped: each couplet still opposes and rhymes, but 粘 fails twice,
    # which a 律诗 counts (a quatrain of the same shape, AB AB, does not: 折腰体)
    unstuck = _lushi(n, "ABCDCDAB")
    assert failures(check(unstuck)) == {"adhesion", "all"}
    assert failures(check(unstuck[:2] + unstuck[6:])) == {"adhesion"}
    tail = list(regulated)
    tail[3] = tail[3][: n - 3] + "天" + tail[3][n - 2 :]  # D line ...仄平平 -> ...平平平
    assert failures(check(tail)) == {"no_three_level_tail", "all"}
    off_rhyme = regulated[:7] + [regulated[7][:-1] + _level_rhymes("一先", 1)[0]]
    assert failures(check(off_rhyme)) == {"rhyme", "all"}
    level = regulated[:5] + [regulated[5][:-1] + "地"] + regulated[6:]
    assert {"level_rhyme", "all"} <= failures(check(level))


def test_fits_template_refuses_a_heteronym_at_a_fixed_position():
    # 春望 passes every rule, but 更 (line 7) and 胜 (line 8) stand at fixed positions with
    # either tone, and 三 (line 5) at position 4 as well
    assert check(CHUN_WANG)["all"] and not prosody.fits_template(CHUN_WANG)
    regulated = _lushi(5, "CDABCDAB")
    assert prosody.fits_template(regulated)
    assert not prosody.fits_template([regulated[0][:1] + "看" + regulated[0][2:], *regulated[1:]])
    assert rates([regulated, CHUN_WANG])["template"] == 0.5


def test_real_lushi_keep_the_rules_far_more_than_shuffled_lines():
    poems = [split_lines(p) for p in shipped_poems("tang-wuyan-lushi", "test", 300)]
    rng = random.Random(0)
    shuffled = [list(lines) for lines in zip(*[rng.sample(c, len(c)) for c in zip(*poems)])]
    real, mixed = rates(poems), rates(shuffled)
    assert real["n"] == 300 and real["adhesion"] is not None
    assert real["all"] > 2 * mixed["all"] and real["adhesion"] > mixed["adhesion"]


def test_annotate_marks_the_four_rhyme_positions_of_a_lushi():
    a = prosody.annotate(DENG_GAO)
    assert a["rhyme_positions"] == [[0, 6], [1, 6], [3, 6], [5, 6], [7, 6]]  # 首句入韵
    assert a["rhyme_groups"] == ["十灰"] and a["rules"]["all"]
