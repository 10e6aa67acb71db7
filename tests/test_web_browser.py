"""The studio page in a real browser: headless Debian Chromium driven by Playwright.

Never `playwright install` (it downloads a browser): the tests launch /usr/bin/chromium, which
`.ci/run` installs from Debian (packages chromium, chromium-driver).
"""

import json
import os
import shutil
import urllib.parse
import urllib.request

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if os.environ.get("POETVAE_REQUIRE_BROWSER") != "1":  # CI sets it: there they must run
    pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian's chromium is not installed", allow_module_level=True)
from playwright import sync_api  # noqa: E402

FLAGS = [  # no sandbox as root; no calls home, which this machine's closed network refuses
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
JING_YE_SI = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"
DENG_GUAN_QUE_LOU = "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with sync_api.sync_playwright() as p:
        # a persistent context gives Chromium a fresh, empty user-data-dir of our own
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": 1100, "height": 900},
            bypass_csp=True,  # Playwright evaluates strings; the CSP test is in test_web_api
        )
        yield context
        context.close()


@pytest.fixture
def page(browser):
    page = browser.new_page()
    page.set_default_timeout(20_000)
    yield page
    page.close()


def poems(page) -> list[list[str]]:
    """The poems on the page, each a list of lines (characters only)."""
    page.wait_for_selector("#poems .poem")
    return [
        [line.replace("，", "").replace("。", "") for line in lines]
        for lines in page.eval_on_selector_all(
            "#poems .poem",
            "cards => cards.map(c => [...c.querySelectorAll('.line')].map(l => "
            "[...l.querySelectorAll('.glyph')].map(g => g.textContent).join('')))",
        )
    ]


def test_write_an_acrostic_switch_to_qiyan_and_follow_the_link(page, browser, studio, heads):
    page.goto(studio + "/")
    page.fill("input[name=acrostic]", heads)
    page.fill("input[name=n]", "4")
    page.fill("input[name=seed]", "1")
    page.click("#go")
    page.wait_for_function("location.search.includes('acrostic=')")
    page.wait_for_function(
        "heads => [...document.querySelectorAll('.poem')].length === 4 && "
        "[...document.querySelectorAll('.poem')].every(c => [...c.querySelectorAll('.line')]"
        ".map(l => l.querySelector('.glyph').textContent).join('') === heads)",
        arg=heads,
    )
    wuyan = poems(page)
    assert len(wuyan) == 4
    assert all(len(p) == 4 and all(len(line) == 5 for line in p) for p in wuyan)
    assert all("".join(line[0] for line in p) == heads for p in wuyan)
    # every character shows its tone, and the rhyme positions are marked
    marks = page.eval_on_selector_all(
        "#poems .ch", "cs => cs.map(c => [c.dataset.tone, c.querySelector('i').textContent])"
    )
    assert len(marks) == 4 * 20 and all(t == shown and t in "平仄中" for t, shown in marks)
    assert page.locator("#poems .ch.rhyme").count() >= 4 * 2

    page.click("text=七言绝句")
    page.wait_for_selector("#poems[data-form=qiyan] .poem")
    qiyan = poems(page)
    assert len(qiyan) == 4
    assert all(len(line) == 7 for p in qiyan for line in p)
    assert all("".join(line[0] for line in p) == heads for p in qiyan)
    query = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)
    assert query["form"] == ["qiyan"] and query["acrostic"] == [heads] and query["seed"] == ["1"]

    link = page.get_attribute("#share", "href")
    other = browser.new_page()
    other.goto(studio + link)
    assert poems(other) == qiyan
    assert other.input_value("input[name=acrostic]") == heads
    assert other.is_checked("input[name=form][value=qiyan]")
    other.close()


def test_a_link_with_the_cli_names_writes_what_the_api_writes(page, studio, heads):
    query = urllib.parse.urlencode({"acrostic": heads, "seed": 1, "n": 4, "tones": "strict"})
    page.goto(f"{studio}/?form=wuyan&{query}")
    shown = poems(page)
    with urllib.request.urlopen(f"{studio}/api/write?{query}") as response:
        answer = json.loads(response.read())
    assert shown == [p["lines"] for p in answer["poems"]]
    assert page.input_value("select[name=tones]") == "strict"
    tones = page.eval_on_selector_all(
        "#poems .poem:first-child .ch", "cs => cs.map(c => c.dataset.tone)"
    )
    assert "".join(tones) == "".join(answer["poems"][0]["tones"])
    # the book's rhyme is named, and the verdict has an English gloss
    first = answer["poems"][0]
    assert page.inner_text("#poems .poem:first-child .rhyme-name") == (
        f"平水韵 {'/'.join(first['rhyme_groups'])}" if first["rhyme_groups"] else "不押韵"
    )
    verdict = page.locator(
        "#poems .poem:first-child .meta .ok, #poems .poem:first-child .meta .off"
    )
    assert verdict.get_attribute("title").startswith(("follows the rules", "breaks: "))


def test_the_rhyme_book_control_and_the_servers_bounds(page, studio):
    page.goto(studio + "/?" + urllib.parse.urlencode({"seed": 2, "n": 2, "rhyme_book": "xinyun"}))
    poems(page)
    assert page.input_value("select[name=rhyme_book]") == "xinyun"
    names = page.eval_on_selector_all("#poems .rhyme-name", "ns => ns.map(n => n.textContent)")
    assert all(n.startswith("中华新韵 ") for n in names)
    assert page.get_attribute("input[name=passes]", "max") == "10"
    assert "the CLI allows more" in page.get_attribute("input[name=passes]", "title")
    assert page.get_attribute("input[name=temperature]", "max") == "100"
    # left empty, the temperature is the model's: its config names none, so 0.8
    assert page.input_value("input[name=temperature]") == ""
    assert page.get_attribute("input[name=temperature]", "placeholder") == "model's: 0.8"
    assert page.get_attribute("input[name=presence]", "placeholder") == "model's: 0"
    # a poem that breaks rules glosses each broken one in English
    page.goto(
        studio
        + "/interpolate?"
        + urllib.parse.urlencode({"a": JING_YE_SI, "b": JING_YE_SI, "steps": 2})
    )
    poems(page)
    verdicts = page.eval_on_selector_all(
        "#poems .meta .off", "vs => vs.map(v => [v.textContent, v.title])"
    )
    assert verdicts  # the tiny model's poems break rules, each glossed in English
    for text, title in verdicts:
        assert text.startswith("失 ") and title.startswith("breaks: ")
        assert len(text[2:].split(" ")) == len(title[8:].split("; "))


def test_reconstruct_and_interpolate_tabs(page, studio):
    page.goto(f"{studio}/reconstruct?" + urllib.parse.urlencode({"poem": DENG_GUAN_QUE_LOU}))
    assert len(poems(page)) == 1
    assert "kept" in page.inner_text("#poems .meta")
    query = urllib.parse.urlencode({"a": DENG_GUAN_QUE_LOU, "b": JING_YE_SI, "steps": 3})
    page.goto(f"{studio}/interpolate?{query}")
    assert len(poems(page)) == 3
    page.click("text=写诗")
    page.wait_for_url(studio + "/")
    assert len(poems(page)) == 5  # the default n


def test_bad_input_shows_the_servers_one_line_message(page, studio, heads):
    page.goto(studio + "/")
    page.wait_for_selector("#poems .poem")
    page.fill("input[name=acrostic]", heads[:3])
    page.click("#go")
    page.wait_for_selector("#status.error")
    assert "needs 4 characters" in page.inner_text("#status")


def card_lines(card) -> list[str]:
    return card.evaluate(
        "c => [...c.querySelectorAll('.line')].map(l => "
        "[...l.querySelectorAll('.glyph')].map(g => g.textContent).join(''))"
    )


def wait_version(page, version: int, nth: int = 0):
    page.wait_for_function(
        "([i, v]) => document.querySelectorAll('#poems .poem')[i].dataset.version === v",
        arg=[nth, str(version)],
    )


def test_keep_line_1_and_rewrite_three_times(page, browser, studio):
    page.goto(studio + "/?n=2&seed=3")
    page.wait_for_selector("#poems .poem")
    card, other = page.locator("#poems .poem").nth(0), page.locator("#poems .poem").nth(1)
    untouched = card_lines(other)
    card.locator(".ln").first.click()  # line 1's number keeps the whole line
    assert card.locator(".ch.kept").count() == 5 and "kept" in card.locator(
        ".line"
    ).first.get_attribute("class")
    versions = [card_lines(card)]
    for version in (1, 2, 3):
        card.locator("[data-act=rewrite]").click()
        wait_version(page, version)
        lines = card_lines(card)
        assert lines[0] == versions[0][0]  # line 1 never changes
        assert lines[1:] != versions[-1][1:]  # the rest is redrawn each time
        versions.append(lines)
    assert card.locator(".ch.kept").count() == 5 and card_lines(other) == untouched
    query = urllib.parse.parse_qs(urllib.parse.urlparse(page.get_attribute("#share", "href")).query)
    assert query["pattern"] == [versions[0][0] + "，" + "，".join(["＿＿＿＿＿"] * 3)]
    assert query["n"] == ["1"] and "seed" in query

    link = card.locator("a.link").get_attribute("href")  # the same link shows the same poem
    again = browser.new_page()
    again.goto(studio + link)
    assert poems(again) == [versions[-1]]
    assert again.locator("#poems .poem .ch.kept").count() == 5
    again.close()

    card.locator("[data-act=undo]").click()  # back to the previous version
    wait_version(page, 2)
    assert card_lines(card) == versions[2]


def test_a_typed_character_is_kept_and_a_bad_one_is_a_one_line_message(page, studio, heads):
    page.goto(studio + "/?form=qiyan&n=1&seed=4")
    page.wait_for_selector("#poems .poem")
    card = page.locator("#poems .poem").first
    first = card_lines(card)
    cell = card.locator(".ch[data-pos='9']")  # line 2, character 3
    typed = next(c for c in heads if c != first[1][2])
    for text, message in [
        ("ab", "type one character"),
        ("𠀀", "not in the qiyan model's vocabulary"),
    ]:
        cell.dblclick()
        page.keyboard.type(text)
        page.keyboard.press("Enter")
        page.wait_for_function(
            "m => document.querySelector('#status.error')?.textContent.includes(m)", arg=message
        )
        assert "\n" not in page.inner_text("#status")
        assert card_lines(card) == first and card.locator(".ch.kept").count() == 0
    cell.dblclick()
    page.keyboard.type(typed)
    page.keyboard.press("Enter")
    wait_version(page, 1)
    assert card_lines(card)[1][2] == typed and page.inner_text("#status") == ""
    assert "kept" in cell.get_attribute("class") and "edited" in cell.get_attribute("class")
    card.locator("[data-act=rewrite]").click()
    wait_version(page, 2)
    lines = card_lines(card)
    assert lines[1][2] == typed and lines != first and card.locator(".ch.kept").count() == 1
    card.locator(".ch[data-pos='0']").focus()
    page.keyboard.press("Space")  # the keyboard keeps a character too
    assert card.locator(".ch.kept").count() == 2


def test_a_theme_link_writes_on_the_theme_and_a_rewrite_keeps_it(page, tiny_keywords_run):
    from poetvae.web.app import create_app

    from .conftest import serving

    with serving(create_app({"wuyan": tiny_keywords_run})) as url:
        page.goto(url + "/?keywords=%E6%98%8E%E6%9C%88&n=2&seed=1")  # ?keywords=明月
        written = poems(page)
        assert len(written) == 2 and all("明月" in "".join(p) for p in written)
        assert page.input_value("input[name=keywords]") == "明月"
        query = urllib.parse.urlparse(page.get_attribute("#share", "href")).query
        assert urllib.parse.parse_qs(query)["keywords"] == ["明月"]
        card = page.locator("#poems .poem").nth(0)
        card.locator("[data-act=rewrite]").click()
        wait_version(page, 1)
        assert "明月" in "".join(card_lines(card))
