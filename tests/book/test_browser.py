"""The built book in a real browser (headless Chromium), offline.

Loads every page from the built folder (file://, as a reader who downloaded the book would)
with every request outside the book blocked, and checks: no console errors, no request
outside the book, math typeset by the bundled MathJax, alt text on every figure, and that the
precomputed sliders on the ICC page change the figure and the displayed ICC. Then, for
issue 15: the chapter list opens from ☰ and leads to a chapter at 390, 800 and 1280 px; axe-core
(tests/vendor/axe-core) finds no serious or critical violation on the landing page and
chapters 02, 05 and 13 in light and dark mode; the explorer speaks its values, explains its
numbers and shows a loading state; every chapter page stays under 2.5 MB and paints within
3 s on slow 4G (benchmarks/page_weight.py). Screenshots, including 390 px ones of the landing
page, chapter 02's explorer and chapter 07's figures, go to _build/screenshots/. Skipped, with
the reason, when Chromium is not installed (CI installs Debian's chromium in .ci/run).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
SHOTS = ROOT / "_build" / "screenshots"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"),
]


def _pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--allow-file-access-from-files"],
        )
        yield b
        b.close()


def _open(browser, url: str):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    outside: list[str] = []
    errors: list[str] = []

    def route(r):
        if r.request.url.startswith(("file://", "data:", "blob:")):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="load")
    return context, page, outside, errors


def _wait_for_math(page) -> int:
    if page.locator(".math").count() == 0:
        return 0
    page.wait_for_function("document.querySelectorAll('mjx-container').length > 0", timeout=20000)
    return page.locator("mjx-container").count()


@pytest.mark.parametrize("doc", _pages())
def test_page_offline(doc, built_book, browser):
    html, _ = built_book
    context, page, outside, errors = _open(browser, (html / f"{doc}.html").as_uri())
    try:
        n_math = _wait_for_math(page)
        if doc.startswith("chapters/"):
            assert n_math > 0, "no typeset math on a chapter page"
        page.wait_for_timeout(300)
        missing_alt = page.eval_on_selector_all(
            "main img, article img", "els => els.filter(e => !(e.getAttribute('alt') || '').trim()).map(e => e.src)")
        assert not missing_alt, f"images without alt text: {missing_alt}"
        assert not outside, f"requests outside the book: {outside}"
        assert not errors, f"console errors: {errors}"
        if doc in ("book/index", "chapters/00_first_look"):
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / (doc.replace("/", "_") + ".png")), full_page=False)
    finally:
        context.close()


def test_icc_sliders_move_without_a_kernel(built_book, browser):
    html, _ = built_book
    page_file = html / "chapters" / "02_icc.html"
    if not page_file.exists():
        pytest.skip("chapter 02 (ICC) is not in the book yet")
    context, page, outside, errors = _open(browser, page_file.as_uri())
    try:
        box = page.locator(".static-explorer").first
        box.scroll_into_view_if_needed()
        img = box.locator("img.explorer-frame")
        numbers = box.locator(".explorer-numbers")
        before_src, before_text = img.get_attribute("src"), numbers.inner_text()
        assert "icc" in before_text.lower()
        SHOTS.mkdir(parents=True, exist_ok=True)
        box.screenshot(path=str(SHOTS / "02_icc_explorer_before.png"))
        slider = box.locator("input[type=range]").first
        maximum = int(slider.get_attribute("max"))
        current = int(slider.input_value())
        slider.fill(str(maximum if current != maximum else 0))
        page.wait_for_function(
            "([sel, src]) => document.querySelector(sel).getAttribute('src') !== src",
            arg=[".static-explorer img.explorer-frame", before_src], timeout=5000)
        page.wait_for_function("() => document.querySelector('.static-explorer img.explorer-frame').complete")
        after_src, after_text = img.get_attribute("src"), numbers.inner_text()
        assert after_src != before_src
        assert after_text != before_text and "icc" in after_text.lower()
        natural = page.evaluate("document.querySelector('.static-explorer img.explorer-frame').naturalWidth")
        assert natural > 0, "the new frame did not load"
        box.screenshot(path=str(SHOTS / "02_icc_explorer_after.png"))
        assert not outside and not errors, (outside, errors)
    finally:
        context.close()


# ---- Navigation at every width (issue 15) -------------------------------------------------

WIDTHS = [390, 800, 1280]


def _sidebar_shown(page) -> bool:
    box = page.locator(".bd-sidebar-primary").bounding_box()
    return bool(box) and box["x"] > -1 and box["width"] > 100 and page.locator(".bd-sidebar-primary").is_visible()


@pytest.mark.parametrize("width", WIDTHS)
def test_chapter_list_opens_and_leads_to_a_chapter(width, built_book, browser):
    """☰ opens the chapter list at phone and tablet widths (and hides/shows it on desktop), and a
    chapter can be reached from it."""
    html, _ = built_book
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    try:
        page.goto((html / "chapters" / "02_icc.html").as_uri(), wait_until="load")
        toggle = page.locator("button.primary-toggle")
        assert toggle.is_visible(), "no visible ☰ button"
        wide = width >= 992
        assert _sidebar_shown(page) == wide, "the chapter list should start open only on wide screens"
        toggle.click()
        page.wait_for_timeout(500)
        assert _sidebar_shown(page) != wide, f"☰ did not toggle the chapter list at {width} px"
        if wide:  # ☰ hid it; show it again to use it
            toggle.click()
            page.wait_for_timeout(500)
            assert _sidebar_shown(page)
        link = page.locator(".bd-sidebar-primary a", has_text="Random intercepts").first
        assert link.is_visible()
        link.click()
        page.wait_for_load_state("load")
        assert page.url.endswith("chapters/03_random_intercepts.html"), page.url
        assert "Random intercepts" in page.locator("h1").first.inner_text()
    finally:
        context.close()


# ---- Accessibility: axe-core on the book's own content --------------------------------------

AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
AXE_PAGES = ["book/index", "chapters/02_icc", "chapters/05_estimation", "chapters/13_applications"]
# Violations caused by the theme, not the book's content: (rule id, CSS selector fragment) ->
# the upstream issue. Empty today: book/_static/book.js names the sidebar's section toggles
# (pydata-sphinx-theme's <summary> holds only an icon; markup from pydata/pydata-sphinx-theme#1582)
# and lets the search button's and myst-nb's "Show code cell source" toggles' visible text be
# their name.
THEME_EXCLUSIONS: dict[tuple[str, str], str] = {}


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("doc", AXE_PAGES)
def test_axe_finds_no_serious_violation(doc, scheme, built_book, browser):
    html, _ = built_book
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    try:
        page.goto((html / f"{doc}.html").as_uri(), wait_until="load")
        _wait_for_math(page)
        page.wait_for_timeout(300)
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
        violations = page.evaluate(
            """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
                 .filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => ({id: v.id, impact: v.impact,
                             nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + n.failureSummary)}))""")
        ours = []
        for v in violations:
            for node in v["nodes"]:
                if not any(v["id"] == rule and sel in node for (rule, sel) in THEME_EXCLUSIONS):
                    ours.append(f"{v['impact']} {v['id']}: {node[:300]}")
        assert not ours, "\n".join(ours)
    finally:
        context.close()


# ---- The explorer for every reader ----------------------------------------------------------

def test_explorer_sliders_speak_values_and_show_loading(built_book, browser):
    html, _ = built_book
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto((html / "chapters" / "02_icc.html").as_uri(), wait_until="load")
        box = page.locator(".static-explorer").first
        slider = box.locator("input[type=range]").first
        text = slider.get_attribute("aria-valuetext")
        assert "τ₀₀" in text and "=" in text, text
        assert slider.bounding_box()["height"] >= 24
        import re

        assert not re.search(r"(?<![\d.])-0(?![.\d])", box.locator(".explorer-numbers").inner_text())
        assert box.locator(".explorer-numbers dd.meaning").count() >= 3  # each number explained
        alt_before = box.locator("img.explorer-frame").get_attribute("alt")
        # Move the slider and read the state in the same task, before the new frame can arrive.
        loading, status = page.evaluate("""() => {
            const box = document.querySelector('.static-explorer');
            const s = box.querySelector('input[type=range]');
            s.value = s.max;
            s.dispatchEvent(new Event('input'));
            return [box.classList.contains('is-loading'), box.querySelector('.explorer-status').textContent];
        }""")
        assert loading and "Loading" in status, (loading, status)
        page.wait_for_function("() => !document.querySelector('.static-explorer').classList.contains('is-loading')",
                               timeout=10000)
        assert box.locator("img.explorer-frame").get_attribute("alt") != alt_before
        assert "= 4" in slider.get_attribute("aria-valuetext")
    finally:
        context.close()


# ---- Screenshots at 390 px for people to look at -----------------------------------------------

def test_phone_screenshots(built_book, browser):
    html, _ = built_book
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page = context.new_page()
    try:
        page.goto((html / "book" / "index.html").as_uri(), wait_until="load")
        page.screenshot(path=str(SHOTS / "390_landing.png"), full_page=False)
        page.locator("button.primary-toggle").click()
        page.wait_for_timeout(500)
        page.screenshot(path=str(SHOTS / "390_landing_chapter_list.png"))
        page.goto((html / "chapters" / "02_icc.html").as_uri(), wait_until="load")
        _wait_for_math(page)
        explorer = page.locator(".static-explorer").first
        explorer.scroll_into_view_if_needed()
        explorer.screenshot(path=str(SHOTS / "390_02_explorer.png"))
        page.goto((html / "chapters" / "07_worked_example.html").as_uri(), wait_until="load")
        _wait_for_math(page)
        figures = page.locator("main figure, main .cell_output img")
        for k in range(min(figures.count(), 4)):
            figures.nth(k).scroll_into_view_if_needed()
            page.wait_for_timeout(200)
            figures.nth(k).screenshot(path=str(SHOTS / f"390_07_figure_{k + 1}.png"))
    finally:
        context.close()


# ---- Page weight and first paint (benchmarks/page_weight.py) -----------------------------------

def test_chapter_pages_are_light(built_book, browser):
    """Every chapter page loads under 2.5 MB (raw, all resources) and paints within 3 s on
    Lighthouse's slow-4G link, served gzip-compressed as any web host serves it."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("page_weight", ROOT / "benchmarks" / "page_weight.py")
    pw = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pw)
    html, _ = built_book
    chapters = [p for p in pw.toc_pages() if p.startswith("chapters/")]
    rows = pw.measure(html, chapters, browser=browser)
    heavy = [(r["page"], round(r["weight_mb"], 2)) for r in rows if r["weight_mb"] >= pw.WEIGHT_LIMIT_MB]
    slow = [(r["page"], round(r["first_paint_s"], 2)) for r in rows if not r["first_paint_s"] < pw.PAINT_LIMIT_S]
    assert not heavy, f"pages over {pw.WEIGHT_LIMIT_MB} MB: {heavy}"
    assert not slow, f"first paint at or over {pw.PAINT_LIMIT_S} s: {slow}"
