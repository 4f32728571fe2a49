"""A Sphinx directive that turns an mlm_helpers explorer into sliders that work without a kernel.

In a notebook's markdown cell::

    :::{static-explorer} mlm_helpers.explorers.icc
    :vary: tau00 n_groups
    :numbers: icc_true icc_hat design_effect
    :values: tau00=0,1,4; n_groups=5,20,50
    :alt: Simulated scores by group with group means; the sliders change the variances.
    :::

At build time every combination of the varied sliders (the grid comes from ``:values:`` or
else from the module's ``PARAMS``: name -> (min, max, step, default); the other sliders stay at
their defaults) is drawn
with the module's ``draw(**params)`` into a PNG under ``_static/explorers/<module>/`` and its
``compute(**params)`` numbers are stored as JSON in the page. A small script swaps the picture
and the numbers when a slider moves. Nothing is loaded from outside the book, and only the
frame on show is downloaded.
"""

from __future__ import annotations

import hashlib
import html
import importlib
import itertools
import json
from pathlib import Path

import numpy as np
from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective

SCRIPT = """
(function () {
  function setup(box) {
    var data = JSON.parse(box.querySelector('script[type="application/json"]').textContent);
    var img = box.querySelector('img.explorer-frame');
    var out = box.querySelector('.explorer-numbers');
    var inputs = box.querySelectorAll('input[type="range"]');
    function update() {
      var key = [];
      inputs.forEach(function (inp) {
        var vals = data.values[inp.dataset.param];
        var v = vals[parseInt(inp.value, 10)];
        box.querySelector('output[data-param="' + inp.dataset.param + '"]').textContent = v;
        key.push(inp.value);
      });
      var frame = data.frames[key.join(',')];
      img.src = data.base + frame.img;
      out.textContent = frame.text;
    }
    inputs.forEach(function (inp) { inp.addEventListener('input', update); });
    update();
  }
  function init() { document.querySelectorAll('.static-explorer').forEach(setup); }
  if (document.readyState === 'loading') { document.addEventListener('DOMContentLoaded', init); }
  else { init(); }
})();
"""

STYLE = """
.static-explorer { border: 1px solid #ccc; border-radius: 6px; padding: 0.6em 0.8em; margin: 1em 0; }
.static-explorer .explorer-controls { display: flex; flex-wrap: wrap; gap: 0.4em 1.5em; margin-bottom: 0.5em; }
.static-explorer label { font-size: 0.9em; display: flex; align-items: center; gap: 0.4em; }
.static-explorer img { max-width: 100%; height: auto; }
.static-explorer .explorer-numbers { font-family: monospace; font-size: 0.9em; white-space: pre-wrap; }
.static-explorer .explorer-note { font-size: 0.8em; color: #555; }
"""


def _grid(spec: tuple) -> list:
    lo, hi, step, _default = spec
    n = int(round((hi - lo) / step)) + 1
    vals = [lo + k * step for k in range(n)]
    if all(float(v).is_integer() for v in (lo, hi, step)):
        return [int(round(v)) for v in vals]
    return [float(round(v, 10)) for v in vals]


def _fmt(v) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.3g}"
    return str(v)


def _parse_values(text: str) -> dict[str, list]:
    """``"tau00=0,1,4; n_groups=5,20"`` -> {"tau00": [0, 1, 4], "n_groups": [5, 20]}."""
    out: dict[str, list] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, _, vals = part.partition("=")
        nums = [float(v) for v in vals.split(",") if v.strip()]
        out[name.strip()] = [int(v) if v.is_integer() else v for v in nums]
    return out


def render_frames(module_name: str, vary: list[str], outdir: Path, numbers: list[str] | None = None,
                  dpi: int = 90, values: dict[str, list] | None = None) -> dict:
    """Draw every frame of an explorer; return the JSON payload the page script reads."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mod = importlib.import_module(module_name)
    params = mod.PARAMS
    unknown = [v for v in vary if v not in params]
    if unknown:
        raise ValueError(f"{module_name}.PARAMS has no slider {unknown[0]!r}; it has {list(params)}")
    defaults = {k: spec[3] for k, spec in params.items()}
    values = {v: (values or {}).get(v) or _grid(params[v]) for v in vary}
    outdir.mkdir(parents=True, exist_ok=True)
    frames = {}
    for idx in itertools.product(*[range(len(values[v])) for v in vary]):
        kw = dict(defaults)
        kw.update({v: values[v][i] for v, i in zip(vary, idx, strict=True)})
        fig = mod.draw(**kw)
        name = "frame_" + "_".join(map(str, idx)) + ".png"
        fig.savefig(outdir / name, dpi=dpi)
        plt.close(fig)
        res = mod.compute(**kw)
        keys = numbers or [k for k, v in res.items() if isinstance(v, (int, float, np.number))]
        text = "   ".join(f"{k} = {_fmt(res[k])}" for k in keys)
        frames[",".join(map(str, idx))] = {"img": name, "text": text}
    default_idx = []
    for v in vary:
        grid = values[v]
        default_idx.append(int(np.argmin([abs(float(g) - float(defaults[v])) for g in grid])))
    return {"values": values, "frames": frames, "default": default_idx}


class StaticExplorer(SphinxDirective):
    required_arguments = 1
    option_spec = {
        "vary": directives.unchanged_required,
        "numbers": directives.unchanged,
        "alt": directives.unchanged_required,
        "caption": directives.unchanged,
        "values": directives.unchanged,
    }

    def run(self):
        module_name = self.arguments[0]
        vary = self.options["vary"].replace(",", " ").split()
        numbers = self.options.get("numbers", "").replace(",", " ").split() or None
        builder = self.env.app.builder
        slug = module_name.rsplit(".", 1)[-1] + "-" + hashlib.sha1(" ".join(vary).encode()).hexdigest()[:6]
        outdir = Path(builder.outdir) / "_static" / "explorers" / slug
        values = _parse_values(self.options.get("values", ""))
        payload = render_frames(module_name, vary, outdir, numbers, values=values)
        depth = self.env.docname.count("/")
        payload["base"] = "../" * depth + f"_static/explorers/{slug}/"
        alt = html.escape(self.options["alt"], quote=True)
        controls = []
        for v, d in zip(vary, payload["default"], strict=True):
            n = len(payload["values"][v])
            controls.append(
                f'<label>{html.escape(v)} <input type="range" min="0" max="{n - 1}" step="1" value="{d}" '
                f'data-param="{html.escape(v)}" aria-label="{html.escape(v)}"> '
                f'<output data-param="{html.escape(v)}"></output></label>'
            )
        first = payload["frames"][",".join(map(str, payload["default"]))]
        caption = self.options.get("caption", "")
        body = (
            f'<div class="static-explorer" data-module="{html.escape(module_name)}">'
            f'<div class="explorer-controls">{"".join(controls)}</div>'
            f'<img class="explorer-frame" src="{payload["base"]}{first["img"]}" alt="{alt}">'
            f'<div class="explorer-numbers">{html.escape(first["text"])}</div>'
            + (f'<p class="explorer-caption">{html.escape(caption)}</p>' if caption else "")
            + '<p class="explorer-note">Precomputed frames: these sliders work in the HTML book without '
            "Python. Run the notebook for the full interactive version.</p>"
            f'<script type="application/json">{json.dumps(payload)}</script></div>'
        )
        return [nodes.raw("", body, format="html")]


def _write_assets(app, exception):
    if exception is None and app.builder.format == "html":
        static = Path(app.builder.outdir) / "_static"
        static.mkdir(parents=True, exist_ok=True)
        (static / "static_explorer.js").write_text(SCRIPT)
        (static / "static_explorer.css").write_text(STYLE)


def setup(app):
    app.add_directive("static-explorer", StaticExplorer)
    app.add_js_file("static_explorer.js")
    app.add_css_file("static_explorer.css")
    app.connect("build-finished", _write_assets)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
