"""Keep pages light: load the widget manager and MathJax only on pages that use them.

myst-nb adds ``require.js`` and the 3.6 MB ``embed-amd.js`` (``nb_ipywidgets_js``) as
render-blocking scripts to every notebook page whose metadata holds saved widget state. The
chapters with sliders (02-04) hide the live widget's output (``remove-output``): the static
explorer (``book/_ext/static_explorer.py``) does the work in the HTML book, so the saved state
only costs download time. At build time, after a page is read, this extension drops the
widget manager and the saved state from every page whose doctree shows no widget view; a
page that does show a live widget keeps both. The notebooks themselves are not changed, so a
re-executed chapter keeps its state in the ``.ipynb`` that JupyterLab opens.

MathJax is kept only on pages with math (Sphinx's own rule, which ``singlehtml`` builds and
some extensions override by declaring equations on every page).

The theme loads Font Awesome twice: as a web font (``css/all.min.css``, 100 kB, plus the fonts
it uses) and as a 1.5 MB render-blocking script that swaps every icon for an SVG. The web font
alone draws the same icons, so the script tag (and the preloading of every icon font, used or
not) is taken out of the written pages. The icon fonts are then cut down to the glyphs the
book uses: every ``fa-<name>`` class in the written pages and in the theme's scripts, looked up
in Font Awesome's stylesheet (160 kB of solid icons become a few kB).

Figures (``_images/``) and explorer frames are rewritten as 256-colour PNGs when that is
smaller (it is, by half or more, for plots), so figures can be drawn at twice the column's
resolution without making pages heavier.

Example
-------
In ``_config.yml``::

    sphinx:
      local_extensions:
        light_pages: book/_ext
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def shows_live_widget(doctree: nodes.document) -> bool:
    """True when a rendered output in the page is a widget view (a live ipywidget).

    Parameters
    ----------
    doctree : docutils.nodes.document
        The page's doctree after reading.

    Returns
    -------
    bool
        Whether the page needs the widget manager.

    Examples
    --------
    >>> from docutils.utils import new_document
    >>> doc = new_document("x")
    >>> shows_live_widget(doc)
    False
    >>> doc += nodes.raw("", '<script type="application/vnd.jupyter.widget-view+json">{}</script>', format="html")
    >>> shows_live_widget(doc)
    True
    """
    return any(WIDGET_VIEW in node.astext() for node in doctree.findall(nodes.raw))


def _drop_widget_manager(app: Sphinx, doctree: nodes.document) -> None:
    metadata = getattr(app.env, "nb_metadata", None)
    if not metadata or app.env.docname not in metadata:
        return
    js_files = metadata[app.env.docname].get("js_files") or {}
    if not any(k.startswith("ipywidgets") for k in js_files) or shows_live_widget(doctree):
        return
    for key in [k for k in js_files if k.startswith("ipywidgets")]:
        del js_files[key]


def _page_has_math(app: Sphinx, pagename: str, doctree: nodes.document | None) -> bool:
    if doctree is not None:
        return any(doctree.findall(lambda n: isinstance(n, (nodes.math, nodes.math_block))))
    domain = app.env.get_domain("math")
    return bool(domain.data.get("has_equations", {}).get(pagename))


SPHINX_DESIGN_CLASS = re.compile(r'class="[^"]*\bsd-')


def _drop_sphinx_design(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any],
                        doctree: nodes.document | None) -> None:
    """Leave out sphinx-design's stylesheet (55 kB) and tab script on pages that use none of its
    components (no ``sd-`` class in the body): jupyter-book loads them on every page."""
    if app.builder.name != "html" or SPHINX_DESIGN_CLASS.search(context.get("body", "") or ""):
        return
    context["css_files"] = [c for c in context.get("css_files", [])
                            if "sphinx-design" not in str(getattr(c, "filename", c))]
    context["script_files"] = [js for js in context.get("script_files", [])
                               if "design-tabs" not in str(getattr(js, "filename", "") or "")]


def _drop_mathjax(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any],
                  doctree: nodes.document | None) -> None:
    if app.builder.name != "html" or not context.get("script_files"):
        return
    if _page_has_math(app, pagename, doctree):
        return
    path = str(app.config.mathjax_path or "")
    keep = []
    for js in context["script_files"]:
        filename = str(getattr(js, "filename", "") or "")
        body = (getattr(js, "attributes", {}) or {}).get("body", "") or ""
        if (path and filename.endswith(path)) or "window.MathJax" in body:
            continue
        keep.append(js)
    context["script_files"] = keep


FONTAWESOME_JS = re.compile(r'[ \t]*<script src="[^"]*_static/vendor/fontawesome/[^"/]+/js/all\.min\.js[^"]*"></script>\n?')
# The theme also preloads all three icon fonts (300 kB); without the preload a page fetches only
# the fonts its icons use (the solid set), after the text has been painted.
FONTAWESOME_PRELOAD = re.compile(r'[ \t]*<link rel="preload" as="font"[^>]*fontawesome[^>]*/>\n?')


def drop_fontawesome_script(html: str) -> str:
    """The page without the theme's Font Awesome script and font preloads (its web font stays).

    Parameters
    ----------
    html : str
        A written page.

    Returns
    -------
    str
        The page, unchanged apart from that one script tag.

    Examples
    --------
    >>> drop_fontawesome_script('<script src="_static/vendor/fontawesome/6.5.2/js/all.min.js?d=1"></script>\\n<p>')
    '<p>'
    """
    return FONTAWESOME_PRELOAD.sub("", FONTAWESOME_JS.sub("", html))


def _strip_fontawesome_js(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.builder.outdir).rglob("*.html"):
        if "_static" in page.parts:
            continue
        text = page.read_text(encoding="utf-8")
        new = drop_fontawesome_script(text)
        if new != text:
            page.write_text(new, encoding="utf-8")


FA_CLASS = re.compile(r"\bfa-([a-z0-9]+(?:-[a-z0-9]+)*)")
FA_RULE = re.compile(r"([^{}]+)\{content:\"\\([0-9a-f]{4,5})\"\}")


def icon_codepoints(css: str, names: set[str]) -> set[int]:
    """The code points Font Awesome's stylesheet gives the icons ``names`` (``fa-`` left out).

    Examples
    --------
    >>> css = '.fa-bars:before,.fa-navicon:before{content:"\\\\f0c9"}.fa-sun:before{content:"\\\\f185"}'
    >>> sorted(hex(c) for c in icon_codepoints(css, {"navicon", "lg"}))
    ['0xf0c9']
    """
    out: set[int] = set()
    for selectors, code in FA_RULE.findall(css):
        for sel in selectors.split(","):
            m = re.fullmatch(r"\s*\.fa-([a-z0-9-]+):(?::)?before\s*", sel)
            if m and m.group(1) in names:
                out.add(int(code, 16))
    return out


def used_icon_names(out: Path) -> set[str]:
    """Every ``fa-<name>`` class in the written pages and in the scripts of the theme (not in
    Font Awesome's own files, which name every icon)."""
    names: set[str] = set()
    # Font Awesome's own files and the widget manager (which bundles Font Awesome) name every icon
    bundles = {"fontawesome", "html-manager"}
    files = list(out.rglob("*.html")) + [p for p in (out / "_static").rglob("*.js") if not bundles & set(p.parts)]
    for path in files:
        names |= set(FA_CLASS.findall(path.read_text(encoding="utf-8", errors="ignore")))
    return names


def _subset_icon_fonts(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.builder.outdir)
    if any("embed-amd.js" in page.read_text(encoding="utf-8") for page in out.rglob("*.html")):
        return  # a page with live widgets: their icons are not known here, keep every glyph
    for css_path in (out / "_static").rglob("fontawesome/*/css/all.min.css"):
        try:
            from fontTools import subset
        except ImportError:  # pragma: no cover - fontTools comes with matplotlib
            return
        codes = icon_codepoints(css_path.read_text(encoding="utf-8"), used_icon_names(out))
        if not codes:
            return
        for font in (css_path.parent.parent / "webfonts").glob("*.woff2"):
            options = subset.Options()
            options.flavor = "woff2"
            options.layout_features = ["*"]
            try:
                ft = subset.load_font(str(font), options)
                sub = subset.Subsetter(options)
                sub.populate(unicodes=sorted(codes))
                sub.subset(ft)
                subset.save_font(ft, str(font), options)
            except Exception:  # pragma: no cover - a font we cannot rewrite is left as it is
                continue


def shrink_png(path: Path, colours: int = 256) -> int:
    """Rewrite a PNG with a palette of at most ``colours`` colours if that makes it smaller.

    Matplotlib writes full-colour PNGs; a plot has few distinct colours, and a 256-colour
    palette (with alpha) looks the same at a third of the size or less.

    Parameters
    ----------
    path : Path
        The PNG, rewritten in place.
    colours : int
        Palette size.

    Returns
    -------
    int
        Bytes saved (0 when the file is kept as it was).

    Examples
    --------
    >>> import tempfile
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots(); _ = ax.plot([0, 1], [1, 0])
    >>> p = Path(tempfile.mkdtemp()) / "f.png"; fig.savefig(p); plt.close(fig)
    >>> shrink_png(p) > 0
    True
    """
    from PIL import Image

    before = path.stat().st_size
    with Image.open(path) as img:
        img.load()
        if img.mode == "P":
            return 0
        rgba = img.convert("RGBA")
        info = {k: v for k, v in img.info.items() if k in ("dpi",)}
    small = rgba.quantize(colors=colours, method=Image.Quantize.FASTOCTREE)
    tmp = path.with_suffix(".tmp.png")
    small.save(tmp, optimize=True, **info)
    after = tmp.stat().st_size
    if after < before:
        tmp.replace(path)
        return before - after
    tmp.unlink()
    return 0


def _shrink_images(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.builder.outdir)
    for folder in (out / "_images", out / "_static" / "explorers"):
        for png in folder.rglob("*.png") if folder.exists() else []:
            shrink_png(png)


def _single_page_visitors(app: Sphinx) -> None:
    """myst-nb registers its folded-code node for the ``html`` builder only; the single-page
    build of ``make pdf`` (builder ``singlehtml``, which other extensions register visitors
    for, so Sphinx does not fall back to ``html``) needs the same visitors."""
    try:
        from myst_nb.sphinx_ import HideCodeCellNode, depart_HideCellInput, visit_HideCellInput
    except ImportError:  # pragma: no cover - another myst-nb layout
        return
    app.registry.add_translation_handlers(HideCodeCellNode, singlehtml=(visit_HideCellInput, depart_HideCellInput))


def setup(app: Sphinx) -> dict[str, Any]:
    _single_page_visitors(app)
    app.connect("build-finished", _shrink_images)
    app.connect("build-finished", _strip_fontawesome_js)
    app.connect("build-finished", _subset_icon_fonts)
    app.connect("doctree-read", _drop_widget_manager, priority=900)
    # After sphinx.ext.mathjax (priority 500) has added its script.
    app.connect("html-page-context", _drop_mathjax, priority=950)
    app.connect("html-page-context", _drop_sphinx_design, priority=950)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
