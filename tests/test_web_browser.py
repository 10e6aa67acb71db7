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

    page.click("text=七言")
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
