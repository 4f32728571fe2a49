"""How fast a simulation loop runs through the public API: 1,000 refits of a 30 x 20 random-intercept model.

Prints wall times measured in one run, and their ratios (machines here are shared: compare ratios,
not absolute times). Run: .venv/bin/python benchmarks/refit_speed.py
"""

from __future__ import annotations

import time
import warnings

import mlm_helpers as mh


def main(n_refits: int = 1000) -> None:
    df = mh.simulate_two_level(30, 20, beta0=10.0, tau00=2.0, sigma2=8.0, seed=11)
    res = mh.fit("y ~ x + (1 | group)", df)
    Y = res.simulate(n_refits, seed=2)
    res.refit_many(Y[:10])  # warm up
    t0 = time.perf_counter()
    res.refit_many(Y)
    t_batch = time.perf_counter() - t0
    t0 = time.perf_counter()
    for y in Y[:100]:
        res.refit(y, warn=False)
    t_refit = (time.perf_counter() - t0) * n_refits / 100
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for y in Y[:20]:
            data = res.model.data.copy()
            data["y"] = y
            mh.fit("y ~ x + (1 | group)", data)
    t_fit = (time.perf_counter() - t0) * n_refits / 20
    print(f"{n_refits} refits of y ~ x + (1 | group), 30 groups of 20")
    print(f"  res.refit_many(Y), one batch:   {t_batch:6.2f} s")
    print(f"  res.refit(y) in a loop:         {t_refit:6.2f} s   ({t_refit / t_batch:.0f}x the batch)")
    print(f"  mh.fit on a new frame, in loop: {t_fit:6.2f} s   ({t_fit / t_batch:.0f}x the batch)")


if __name__ == "__main__":
    main()
