"""The book builds strictly (-W -n --keep-going) with zero warnings.

nbval (which runs in the same `make test`) re-executes every chapter and checks its stored
outputs; this test builds the book from those stored outputs (execution off), so each
notebook runs once per test run instead of twice. `make book` builds with execution on.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_book_builds_without_warnings(built_book):
    html, log = built_book
    warnings = [line for line in log.splitlines() if re.search(r"\bWARNING\b|\bERROR\b", line)]
    assert not warnings, "\n".join(warnings)
    assert (html / "book" / "index.html").exists() or (html / "index.html").exists()


@pytest.mark.slow
def test_every_toc_entry_is_built(built_book):
    html, _ = built_book
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    for f in files:
        assert (html / f"{f}.html").exists(), f


@pytest.mark.slow
def test_chapter_pages_have_math_exercises_and_citations(built_book):
    html, _ = built_book
    for page in sorted((html / "chapters").glob("*.html")):
        text = page.read_text(encoding="utf-8")
        assert "class=\"math" in text or "\\(" in text, f"{page.name}: no math"
        assert "solution" in text and "exercise" in text, f"{page.name}: no exercises/solutions"
        assert "bibtex" in text or "references.html#" in text, f"{page.name}: no citations"
        for img in re.findall(r"<img [^>]*>", text):
            assert re.search(r'alt="[^"]+"', img), f"{page.name}: image without alt text: {img[:120]}"


@pytest.mark.slow
def test_no_page_loads_anything_from_outside_the_book(built_book):
    """Scripts, styles, images and fonts come from the book itself; only <a> links (launch buttons,
    citations' DOIs, the repository) may point elsewhere."""
    html, _ = built_book
    for page in sorted(html.rglob("*.html")):
        if "_static" in page.parts:
            continue
        text = page.read_text(encoding="utf-8")
        for tag in re.findall(r"<(?:script|img|link|iframe|source|video|audio)\b[^>]*>", text):
            assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", tag), f"{page.name}: {tag[:160]}"
        for script in re.findall(r"<script\b[^>]*>(.*?)</script>", text, flags=re.S):
            urls = re.findall(r"https?://[^\s\"'<>)]+", script)
            assert not urls, f"{page.name}: inline script names {urls[:3]}"


@pytest.mark.slow
def test_launch_buttons_only_with_a_real_repository(built_book):
    """No button may send a reader to a placeholder: launch buttons need repository.url set."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("launch_gate", ROOT / "book" / "_ext" / "launch_gate.py")
    gate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gate)
    html, _ = built_book
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    url = (config.get("repository") or {}).get("url") or ""
    text = (html / "chapters" / "00_first_look.html").read_text(encoding="utf-8")
    if gate.is_real_url(url):
        repo = url.rstrip("/").split("github.com/")[1]
        assert f"mybinder.org/v2/gh/{repo}/main" in text
    # no Colab button: Colab cannot render MyST and would show the solutions (issue 18)
    assert "colab.research.google.com" not in text
    if not gate.is_real_url(url):
        for host in ("mybinder.org", "git-pull", "executablebooks/jupyter-book"):
            assert host not in text, f"a launch or repository button without a configured repository: {host}"
    hub = (config.get("launch_buttons") or {}).get("jupyterhub_url") or ""
    if not gate.is_real_url(hub):
        assert "/hub/user-redirect/git-pull" not in text


def test_launch_gate_rules():
    import importlib.util

    spec = importlib.util.spec_from_file_location("launch_gate", ROOT / "book" / "_ext" / "launch_gate.py")
    gate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gate)
    real = gate.gate_buttons({"repository_url": "https://github.com/a/b", "use_repository_button": True,
                              "launch_buttons": {"binderhub_url": "https://mybinder.org",
                                                 "jupyterhub_url": "https://jupyterhub.example.org"}})
    assert real["launch_buttons"] == {"binderhub_url": "https://mybinder.org"} and real["use_repository_button"]
    none = gate.gate_buttons({"repository_url": gate.DEFAULT_REPOSITORY, "use_repository_button": True,
                              "launch_buttons": {"binderhub_url": "https://mybinder.org"}})
    assert none["launch_buttons"] == {} and not none["use_repository_button"]


@pytest.mark.slow
def test_landing_page_links_every_chapter(built_book):
    """The landing page's chapter list is generated from _toc.yml: every chapter there is linked."""
    html, _ = built_book
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    chapters = [c["file"] for part in toc["parts"] for c in part["chapters"] if c["file"].startswith("chapters/")]
    text = (html / "book" / "index.html").read_text(encoding="utf-8")
    missing = [c for c in chapters if f'href="../{c}.html"' not in text]
    assert not missing, f"chapters not linked from the landing page: {missing}"
    assert "as they are written" not in text and "being written" not in text


@pytest.mark.slow
def test_chapter_pages_load_no_widget_manager(built_book):
    """The static explorers carry chapters 02-04; no page loads require.js or the widget manager
    unless it shows a live widget."""
    html, _ = built_book
    for page in sorted((html / "chapters").glob("*.html")):
        text = page.read_text(encoding="utf-8")
        if "application/vnd.jupyter.widget-view+json" not in text:
            assert "embed-amd.js" not in text and "require.js" not in text, page.name
            assert "widget-state+json" not in text, page.name
        assert "fontawesome/6.5.2/js/all.min.js" not in text, page.name


def test_icon_font_holds_just_the_icons_the_book_uses(built_book):
    """The Font Awesome web font is cut down to the glyphs the pages and the theme's scripts
    name (light_pages), and still holds every one of them."""
    import sys

    from fontTools.ttLib import TTFont

    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    import light_pages

    html, _ = built_book
    (font,) = (html / "_static").rglob("fontawesome/*/webfonts/fa-solid-900.woff2")
    css = next((html / "_static").rglob("fontawesome/*/css/all.min.css")).read_text(encoding="utf-8")
    wanted = light_pages.icon_codepoints(css, light_pages.used_icon_names(html))
    assert {0xF002, 0xF0C9} <= wanted  # the search and menu buttons
    cmap = TTFont(str(font)).getBestCmap()
    assert wanted <= set(cmap), sorted(hex(c) for c in wanted - set(cmap))
    assert font.stat().st_size < 20_000
