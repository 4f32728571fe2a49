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


def time_explorer(name: str) -> tuple[list[float], list[float]]:
    mod = importlib.import_module(f"mlm_helpers.{name}")
    params = {k: v[3] for k, v in mod.PARAMS.items()}
    fig, ax = plt.subplots()
    mod.draw(**params, ax=ax)  # warm-up
    draw_times, render_times = [], []
    for pname, spec in mod.PARAMS.items():
        for value in grid(spec):
            kw = dict(params, **{pname: value})
            ax.clear()
            t0 = time.perf_counter()
            mod.draw(**kw, ax=ax)
            t1 = time.perf_counter()
            fig.canvas.draw()
            t2 = time.perf_counter()
            draw_times.append(t1 - t0)
            render_times.append(t2 - t0)
    plt.close(fig)
    return draw_times, render_times


def main() -> None:
    print(f"{'explorer':<24}{'moves':>7}{'median ms':>11}{'p90 ms':>9}{'with render: median':>21}{'p90 ms':>9}")
    for name in explorers():
        d, r = time_explorer(name)
        q = statistics.quantiles
        print(f"{name:<24}{len(d):>7}{statistics.median(d) * 1e3:>11.1f}{q(d, n=10)[-1] * 1e3:>9.1f}"
              f"{statistics.median(r) * 1e3:>21.1f}{q(r, n=10)[-1] * 1e3:>9.1f}")


if __name__ == "__main__":
    main()
