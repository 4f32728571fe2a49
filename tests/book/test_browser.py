"""The built book in a real browser (headless Chromium), offline.

Loads every page from the built folder (file://, as a reader who downloaded the book would)
with every request outside the book blocked, and checks: no console errors, no request
outside the book, math typeset by the bundled MathJax, alt text on every figure, and that the
precomputed sliders on the ICC page change the figure and the displayed ICC. Screenshots go to
_build/screenshots/. Skipped, with the reason, when Chromium is not installed (CI installs
Debian's chromium in .ci/run).
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
