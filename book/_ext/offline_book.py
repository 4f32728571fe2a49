"""Keep the built pages free of requests (and references) to hosts outside the book.

Jupyter Book 1 always loads sphinx-thebe, which writes a script naming a CDN copy of thebe on
every page (twice, which also raises a console error). This book offers launch buttons
(JupyterHub, Binder, Colab) instead of in-page thebe cells, so those scripts are dropped.
MathJax, require.js and the widget manager are served from ``_static/vendor`` (see _config.yml);
require.js is put first, as the widget manager needs it.
"""

from __future__ import annotations


def _strip_thebe(app, pagename, templatename, context, doctree):
    files = context.get("script_files")
    if not files:
        return
    keep = []
    for js in files:
        filename = getattr(js, "filename", None) or ""
        attributes = getattr(js, "attributes", {}) or {}
        body = attributes.get("body", "") or ""
        if "thebe" in str(filename) or "THEBE_JS_URL" in body:
            continue
        keep.append(js)
    context["script_files"] = keep


def _order_widget_scripts(app, config):
    """require.js must load before the widget manager (an AMD module); the config loader sorts keys."""
    scripts = dict(getattr(config, "nb_ipywidgets_js", {}) or {})
    if scripts:
        ordered = sorted(scripts.items(), key=lambda kv: 0 if "require" in kv[0] else 1)
        config.nb_ipywidgets_js = dict(ordered)


def _copy_widget_fonts(app, exception):
    """The widget manager asks for its icon fonts at ``@jupyter-widgets/html-manager/dist/`` next to
    the page (webpack's public path), not next to its script: copy them where pages with widgets are."""
    if exception is not None or app.builder.format != "html":
        return
    import shutil
    from pathlib import Path

    out = Path(app.builder.outdir)
    fonts = [f for f in (out / "_static" / "vendor" / "html-manager").glob("*") if f.suffix in (".woff", ".woff2")]
    if not fonts:
        return
    for page_dir in {p.parent for p in out.rglob("*.html")
                     if "_static" not in p.parts and "widget-state" in p.read_text(encoding="utf-8", errors="ignore")}:
        dest = page_dir / "@jupyter-widgets" / "html-manager" / "dist"
        dest.mkdir(parents=True, exist_ok=True)
        for f in fonts:
            shutil.copy2(f, dest / f.name)


def setup(app):
    app.connect("build-finished", _copy_widget_fonts)
    app.connect("config-inited", _order_widget_scripts, priority=900)
    app.connect("html-page-context", _strip_thebe, priority=900)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
