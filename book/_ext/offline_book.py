"""Keep the built pages free of requests (and references) to hosts outside the book.

Jupyter Book 1 always loads sphinx-thebe, which writes a script naming a CDN copy of thebe on
every page (twice, which also raises a console error). This book offers launch buttons
(JupyterHub, Binder, Colab) instead of in-page thebe cells, so those scripts are dropped.
MathJax, require.js and the widget manager are served from ``_static/vendor`` (see _config.yml).
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


def setup(app):
    app.connect("html-page-context", _strip_thebe, priority=900)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
