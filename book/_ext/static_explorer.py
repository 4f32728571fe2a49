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

For every reader: sliders are labelled in the book's notation (the module's ``LABELS``,
e.g. "between-group variance τ₀₀") and tell a screen reader their value
(``aria-valuetext="number of groups J = 20"``, not the slider's position); each number shown
is labelled and explained beside it (the module's ``READOUTS``: name -> (label, meaning)) and
never printed as a signed zero; the picture's alt text names the settings and numbers of the
frame on show; while a new frame downloads the old one is dimmed under a "Loading the
picture…" status; the sliders are 32 px tall (44 px rows) and the colours follow the theme
in light and dark mode.
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
    var status = box.querySelector('.explorer-status');
    var zoom = box.querySelector('a.explorer-zoom');
    var inputs = box.querySelectorAll('input[type="range"]');
    var pending = null;
    img.addEventListener('load', function () {
      if (pending && img.getAttribute('src') === pending) {
        pending = null;
        box.classList.remove('is-loading');
        box.setAttribute('aria-busy', 'false');
        status.textContent = '';
      }
    });
    img.addEventListener('error', function () {
      pending = null;
      box.classList.remove('is-loading');
      box.setAttribute('aria-busy', 'false');
      status.textContent = 'The picture for these settings could not be loaded.';
    });
    function update() {
      var key = [];
      inputs.forEach(function (inp) {
        var p = inp.dataset.param;
        var v = data.labels[p][parseInt(inp.value, 10)];
        box.querySelector('output[data-param="' + p + '"]').textContent = v;
        inp.setAttribute('aria-valuetext', data.names[p] + ' = ' + v);
        key.push(inp.value);
      });
      var frame = data.frames[key.join(',')];
      Object.keys(frame.numbers).forEach(function (k) {
        var o = box.querySelector('output[data-number="' + k + '"]');
        if (o) { o.textContent = frame.numbers[k]; }
      });
      var src = data.base + frame.img;
      img.alt = frame.alt;
      if (zoom) { zoom.href = src; }
      if (img.getAttribute('src') !== src) {
        pending = src;
        box.classList.add('is-loading');
        box.setAttribute('aria-busy', 'true');
        status.textContent = 'Loading the picture\u2026';
        img.src = src;
        if (img.complete && img.naturalWidth > 0) { img.dispatchEvent(new Event('load')); }
      }
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
.static-explorer { border: 1px solid var(--pst-color-border, #ccc); border-radius: 6px; padding: 0.6em 0.8em;
  margin: 1em 0; }
.static-explorer .explorer-controls { display: flex; flex-wrap: wrap; gap: 0.4em 1.5em; margin-bottom: 0.5em; }
.static-explorer label { display: flex; align-items: center; gap: 0.5em; min-height: 44px; }
.static-explorer input[type=range] { min-height: 24px; height: 32px; min-width: 9em; margin: 0; cursor: pointer; }
.static-explorer output { font-variant-numeric: tabular-nums; min-width: 2.5em; font-weight: 600; }
.static-explorer .explorer-picture { position: relative; }
.static-explorer img { max-width: 100%; height: auto; display: block; transition: opacity 0.15s; }
.static-explorer a.explorer-zoom { display: block; cursor: zoom-in; }
.static-explorer.is-loading img { opacity: 0.35; }
.static-explorer .explorer-status { position: absolute; top: 0.5em; left: 0.5em; padding: 0.2em 0.6em;
  border-radius: 4px; background: var(--pst-color-background, #fff); color: var(--pst-color-text-base, #222);
  font-weight: 600; }
.static-explorer .explorer-status:empty { display: none; }
.static-explorer dl.explorer-numbers { display: grid; grid-template-columns: max-content max-content 1fr;
  gap: 0.15em 0.8em; margin: 0.5em 0; font-size: 0.95em; }
.static-explorer dl.explorer-numbers dt { font-weight: 600; }
.static-explorer dl.explorer-numbers dd { margin: 0; }
.static-explorer dl.explorer-numbers dd.value { font-variant-numeric: tabular-nums; text-align: right; }
@media (max-width: 600px) {
  .static-explorer dl.explorer-numbers { grid-template-columns: max-content 1fr; }
  .static-explorer dl.explorer-numbers dd.meaning { grid-column: 1 / -1; margin-bottom: 0.4em; }
}
.static-explorer .explorer-note { font-size: 0.9em; color: var(--pst-color-text-muted, #595959); }
"""


def _grid(spec: tuple) -> list:
    lo, hi, step, _default = spec
    n = int(round((hi - lo) / step)) + 1
    vals = [lo + k * step for k in range(n)]
    if all(float(v).is_integer() for v in (lo, hi, step)):
        return [int(round(v)) for v in vals]
    return [float(round(v, 10)) for v in vals]


def _fmt(v) -> str:
    """Three significant digits, never a signed zero.

    Examples
    --------
    >>> _fmt(-0.0), _fmt(-1e-17), _fmt(0.123456), _fmt(20)
    ('0', '0', '0.123', '20')
    """
    if isinstance(v, (float, np.floating)):
        if abs(float(v)) < 1e-12:  # rounding noise of a quantity that is zero, e.g. 0 * sqrt(...)
            return "0"
        text = f"{float(v):.3g}"
        return "0" if float(text) == 0 else text
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
                  dpi: int = 144, values: dict[str, list] | None = None, alt: str = "") -> dict:
    """Draw every frame of an explorer; return the JSON payload the page script reads.

    Frames are drawn at 144 dpi (about twice the pixels of the 672 px book column) with 14 pt
    text, so labels read at 12 px or more in the column.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mod = importlib.import_module(module_name)
    params = mod.PARAMS
    labels = getattr(mod, "LABELS", {})
    readouts = getattr(mod, "READOUTS", {})
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
        with matplotlib.rc_context({"font.size": 14, "axes.titlesize": 14, "axes.labelsize": 14,
                                    "legend.fontsize": 13, "xtick.labelsize": 13, "ytick.labelsize": 13}):
            fig = mod.draw(**kw)
            name = "frame_" + "_".join(map(str, idx)) + ".png"
            fig.savefig(outdir / name, dpi=dpi)
        plt.close(fig)
        res = mod.compute(**kw)
        keys = numbers or [k for k, v in res.items() if isinstance(v, (int, float, np.number))]
        nums = {k: _fmt(res[k]) for k in keys}
        shown = ", ".join(f"{labels.get(v, v)} = {_fmt(kw[v])}" for v in vary)
        said = "; ".join(f"{readouts.get(k, (k,))[0]} {nums[k]}" for k in keys)
        frames[",".join(map(str, idx))] = {"img": name, "numbers": nums,
                                           "alt": f"{alt} Shown for {shown}: {said}.".strip()}
    default_idx = []
    for v in vary:
        grid = values[v]
        default_idx.append(int(np.argmin([abs(float(g) - float(defaults[v])) for g in grid])))
    return {"values": values, "labels": {v: [_fmt(x) for x in values[v]] for v in vary},
            "names": {v: labels.get(v, v) for v in vary}, "frames": frames, "default": default_idx,
            "readouts": {k: list(readouts.get(k, (k, ""))) for k in (numbers or [])}}


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
        alt_text = " ".join(self.options["alt"].split())
        payload = render_frames(module_name, vary, outdir, numbers, values=values, alt=alt_text)
        # A single-page build (make pdf) writes every link relative to the output's root.
        depth = 0 if builder.name == "singlehtml" else self.env.docname.count("/")
        payload["base"] = "../" * depth + f"_static/explorers/{slug}/"
        uid = f"explorer-{slug}"
        controls = []
        for v, d in zip(vary, payload["default"], strict=True):
            n = len(payload["values"][v])
            label = html.escape(payload["names"][v])
            value = payload["labels"][v][d]
            controls.append(
                f'<label>{label} <input type="range" min="0" max="{n - 1}" step="1" value="{d}" '
                f'data-param="{html.escape(v)}" aria-valuetext="{label} = {html.escape(value)}"> '
                f'<output data-param="{html.escape(v)}" aria-hidden="true">{html.escape(value)}</output></label>'
            )
        first = payload["frames"][",".join(map(str, payload["default"]))]
        rows = []
        for k, value in first["numbers"].items():
            name, meaning = payload["readouts"].get(k) or [k, ""]
            rows.append(f'<dt>{html.escape(name)}</dt><dd class="value"><output data-number="{html.escape(k)}">'
                        f'{html.escape(value)}</output></dd><dd class="meaning">{html.escape(meaning)}</dd>')
        caption = self.options.get("caption", "")
        body = (
            f'<div class="static-explorer" id="{uid}" data-module="{html.escape(module_name)}" aria-busy="false">'
            f'<div class="explorer-controls" role="group" aria-label="Sliders">{"".join(controls)}</div>'
            f'<div class="explorer-picture"><a class="explorer-zoom" href="{payload["base"]}{first["img"]}" '
            'title="Open the picture at full size">'
            f'<img class="explorer-frame" src="{payload["base"]}{first["img"]}" '
            f'alt="{html.escape(first["alt"], quote=True)}"></a>'
            '<p class="explorer-status" role="status"></p></div>'
            f'<dl class="explorer-numbers" aria-live="polite">{"".join(rows)}</dl>'
            + (f'<p class="explorer-caption">{html.escape(caption)}</p>' if caption else "")
            + '<p class="explorer-note">Precomputed frames: these sliders work in the HTML book without '
            "Python, on a grid of values. Run the notebook to refit the model for any value.</p>"
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
