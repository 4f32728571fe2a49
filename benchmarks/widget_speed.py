"""How long a slider move takes: recompute and redraw, for every explorer in mlm_helpers.

An explorer module (``mlm_helpers/*_explorer.py``) has ``PARAMS`` (slider name -> (min, max,
step, default)), ``compute(**params)`` and ``draw(**params, ax=None)``. A slider move in the
notebook calls ``draw`` on the existing axes (refit included), so its time is what a student
waits. This script moves each slider through its values, redrawing into one figure each time,
and prints the median and 90th percentile per explorer, plus the time to render the canvas
(what the browser then shows). Target: well under 100 ms.

Run:  .venv/bin/python benchmarks/widget_speed.py
"""

from __future__ import annotations

import importlib
import pkgutil
import statistics
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import mlm_helpers  # noqa: E402


def explorers() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(mlm_helpers.__path__) if m.name.endswith("_explorer"))


def grid(spec):
    lo, hi, step, _ = spec
    n = int(round((hi - lo) / step)) + 1
    return [lo + k * step for k in range(n)]


def time_explorer(name: str) -> tuple[list[float], list[float], list[float]]:
    mod = importlib.import_module(f"mlm_helpers.{name}")
    params = {k: v[3] for k, v in mod.PARAMS.items()}
    plt.close(mod.draw(**params))  # warm-up
    compute_times, draw_times, render_times = [], [], []
    for pname, spec in mod.PARAMS.items():
        for value in grid(spec):
            kw = dict(params, **{pname: value})
            t0 = time.perf_counter()
            mod.compute(**kw)
            t1 = time.perf_counter()
            fig = mod.draw(**kw)  # a new figure: more work than the widget's in-place redraw
            t2 = time.perf_counter()
            fig.canvas.draw()
            t3 = time.perf_counter()
            plt.close(fig)
            compute_times.append(t1 - t0)
            draw_times.append(t2 - t1)
            render_times.append(t3 - t1)
    return compute_times, draw_times, render_times


def main() -> None:
    print(f"{'explorer':<22}{'moves':>6}{'refit+numbers':>15}{'draw':>8}{'draw+render':>13}{'p90':>7}   (median ms)")
    for name in explorers():
        c, d, r = time_explorer(name)
        p90 = statistics.quantiles(r, n=10)[-1]
        print(f"{name:<22}{len(c):>6}{statistics.median(c) * 1e3:>15.1f}{statistics.median(d) * 1e3:>8.1f}"
              f"{statistics.median(r) * 1e3:>13.1f}{p90 * 1e3:>7.1f}")
    print("draw+render builds a new figure and rasterises it, an upper bound: the notebook widgets redraw "
          "only the data in place.")


if __name__ == "__main__":
    main()
