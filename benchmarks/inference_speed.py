"""Inference timings (issue 13): profile intervals and Kenward-Roger on HSB, a random-slope bootstrap.

Prints medians of 5 wall times. R's side on the same machine (lme4 1.1, lmerTest, pbkrtest):
``confint(m, method = "profile")`` and ``coef(summary(m, ddf = "Kenward-Roger"))`` for the same
HSB model, timed by the last lines of ``tests/reference/lme4_inference.R``. Machines here are
shared: compare the two on one machine at one time.
Run: .venv/bin/python benchmarks/inference_speed.py
"""

from __future__ import annotations

import statistics
import time
import warnings

import mlm_helpers as mh
from mlm_helpers.model.ddf import kenward_roger_parts

HSB_MODEL = "MathAch ~ SES_c + MEANSES + Sector + (1 | School)"


def _median_time(fn, k: int = 5) -> float:
    times = []
    for _ in range(k):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    hsb = mh.load_dataset("hsb").merge(mh.load_dataset("hsb_schools")[["School", "Sector"]], on="School")
    hsb["SES_c"] = hsb["SES"] - hsb.groupby("School")["SES"].transform("mean")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mh.fit(HSB_MODEL, hsb, ddf="kenward-roger")
        print(f"HSB {HSB_MODEL}")
        print(f"  mh.confint(res, method='profile'):  {_median_time(lambda: mh.confint(res, method='profile')):6.3f} s")
        print(f"  Kenward-Roger (vcovAdj and df):     {_median_time(lambda: kenward_roger_parts(res)):6.3f} s")
        print(f"  mh.fit(ddf='kenward-roger').fixed:  "
              f"{_median_time(lambda: mh.fit(HSB_MODEL, hsb, ddf='kenward-roger').fixed):6.3f} s")
        sleep = mh.fit("Reaction ~ Days + (Days | Subject)", mh.load_dataset("sleepstudy"))
        Y = sleep.simulate(200, seed=1)
        t_batch = _median_time(lambda: sleep.refit_many(Y), k=3)
        t0 = time.perf_counter()
        for y in Y[:50]:
            sleep.refit(y, warn=False)
        t_loop = (time.perf_counter() - t0) * 4
    print("sleepstudy (Days | Subject), 200 parametric-bootstrap refits")
    print(f"  res.refit_many(Y), batched Newton:  {t_batch:6.2f} s")
    print(f"  res.refit(y) in a loop:             {t_loop:6.2f} s")


if __name__ == "__main__":
    main()
