"""How long a slider move takes in each explorer widget: refit, redraw and the new picture.

An explorer module (``mlm_helpers/*_explorer.py``) has ``PARAMS`` (slider name -> (min, max,
step, default)), ``compute(**params)``, ``draw(**params)`` and ``widget()``. This script builds
each widget, moves every slider through all its values and back (as a student does), and
times each move from setting the slider's value to the new PNG and numbers being in place:
what a student waits for, apart from the browser showing a picture of 20-60 KB. It prints the
median, 90th percentile and maximum per widget, the refit alone, and, for comparison in the
same run, a full render of the same figure (``draw`` into a new figure, then rasterise), which
is what a plain ``plt.show()`` in the callback would cost. Target: well under 100 ms a move.

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


def explorers() -> list[str]:
    """The explorer modules (every module of mlm_helpers.explorers but the widget that hosts them)."""
    import mlm_helpers.explorers as pkg

    return sorted(f"explorers.{m.name}" for m in pkgutil.iter_modules(pkg.__path__) if m.name != "widget")


def grid(spec: tuple[float, float, float, float]) -> list[float]:
    lo, hi, step, _ = spec
    n = int(round((hi - lo) / step)) + 1
    return [lo + k * step for k in range(n)]


def sweep(mod) -> list[tuple[str, float]]:
    """Slider moves: each slider to its maximum, down to its minimum and back to its default."""
    moves = []
    for name, spec in mod.PARAMS.items():
        values = grid(spec)
        moves += [(name, v) for v in values + values[::-1] + [spec[3]]]
    return moves


def time_widget(mod) -> tuple[float, list[float], list[float], float | None]:
    t0 = time.perf_counter()
    ex = mod.widget().explorer
    build = time.perf_counter() - t0
    move_times, refit_times = [], []
    for name, value in sweep(mod):
        slider = ex.sliders[name]
        value = type(slider.value)(value)
        if slider.value == value:
            continue  # not a move
        t0 = time.perf_counter()
        slider.value = value  # the observer refits, redraws and replaces the picture and the numbers
        move_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        mod.compute(**ex.params, seed=ex.seed)
        refit_times.append(time.perf_counter() - t0)
    seen = ex.live.cache_hits + ex.live.cache_misses
    return build, move_times, refit_times, (ex.live.cache_hits / seen if seen else None)


def time_full_render(mod) -> list[float]:
    params = {k: v[3] for k, v in mod.PARAMS.items()}
    times = []
    for name, value in sweep(mod)[::3]:
        params[name] = value
        t0 = time.perf_counter()
        fig = mod.draw(**params)
        fig.canvas.draw()
        times.append(time.perf_counter() - t0)
        plt.close(fig)
    return times


def ms(x: float) -> str:
    return f"{x * 1e3:8.1f}"


def main() -> None:
    print("Slider moves, in milliseconds (median unless marked)")
    print(f"{'widget':<20}{'moves':>6}{'build':>9}{'refit':>8}{'move':>8}{'p90':>8}{'max':>8}"
          f"{'full':>8}{'move/full':>11}{'axis reuse':>12}")
    for name in explorers():
        mod = importlib.import_module(f"mlm_helpers.{name}")
        mod.compute()  # imports and caches warm
        build, moves, refits, hits = time_widget(mod)
        full = time_full_render(mod)
        med = statistics.median(moves)
        print(f"{name:<20}{len(moves):>6}{ms(build):>9}{ms(statistics.median(refits))}{ms(med)}"
              f"{ms(statistics.quantiles(moves, n=10)[-1])}{ms(max(moves))}{ms(statistics.median(full))}"
              f"{med / statistics.median(full):>11.2f}{'-' if hits is None else f'{hits:.0%}':>12}")
    print("move: set a slider's value -> refit, blitted redraw, PNG and numbers in place (what a student waits).")
    print("full: the same figure drawn anew and rasterised (a plain redraw), for comparison.")
    print("axis reuse: share of moving-axis renderings copied from an earlier move instead of redrawn"
          " (- : no axis moves).")


if __name__ == "__main__":
    main()
