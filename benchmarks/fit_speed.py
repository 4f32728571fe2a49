"""Speed of the fitting engines, measured in one run on this machine.

Prints the median wall time of each engine on the reference models and the ratio
fast / other (below 1: the fast engine is quicker). Engines:

* fast         mh.fit(..., engine="fast"), including formula parsing and data checks
* sm default   statsmodels' smf.mixedlm(...).fit(reml=True), its default optimiser
* sm robust    mh.fit(..., engine="statsmodels"): several optimisers, best likelihood kept
* lme4         R's lmer() through Rscript (skipped when R/lme4 are not installed);
               timed inside R, so R's start-up is not counted

Run:  .venv/bin/python benchmarks/fit_speed.py   [--quick]
Timings on shared machines are noisy: compare the ratios of one run, not runs with each other.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import statsmodels.formula.api as smf

import mlm_helpers as mh

ROOT = Path(__file__).resolve().parents[1]


def _hsb():
    d = mh.load_dataset("hsb")
    d["SES_gm"] = d.groupby("School")["SES"].transform("mean")
    d["SES_c"] = d["SES"] - d["SES_gm"]
    return d


# label -> (data loader, lme4 formula, statsmodels fixed formula, groups, re_formula)
MODELS = {
    "sleepstudy RI": (lambda: mh.load_dataset("sleepstudy"), "Reaction ~ Days + (1 | Subject)",
                      "Reaction ~ Days", "Subject", "1"),
    "sleepstudy RS": (lambda: mh.load_dataset("sleepstudy"), "Reaction ~ Days + (Days | Subject)",
                      "Reaction ~ Days", "Subject", "1 + Days"),
    "Dyestuff": (lambda: mh.load_dataset("dyestuff"), "Yield ~ 1 + (1 | Batch)", "Yield ~ 1", "Batch", "1"),
    "Dyestuff2": (lambda: mh.load_dataset("dyestuff2"), "Yield ~ 1 + (1 | Batch)", "Yield ~ 1", "Batch", "1"),
    "HSB null": (_hsb, "MathAch ~ 1 + (1 | School)", "MathAch ~ 1", "School", "1"),
    "HSB RI (SES)": (_hsb, "MathAch ~ SES + (1 | School)", "MathAch ~ SES", "School", "1"),
    "HSB RS (SES_c)": (_hsb, "MathAch ~ SES_c + SES_gm + (SES_c | School)", "MathAch ~ SES_c + SES_gm",
                       "School", "1 + SES_c"),
    "sim 30x20 RI": (lambda: mh.simulate_two_level(30, 20, beta1=1, tau00=2, sigma2=4, seed=1),
                     "y ~ x + (1 | group)", "y ~ x", "group", "1"),
}
CSV_FOR_R = {"sleepstudy RI": "sleepstudy", "sleepstudy RS": "sleepstudy", "Dyestuff": "dyestuff",
             "Dyestuff2": "dyestuff2", "HSB null": "hsb", "HSB RI (SES)": "hsb", "HSB RS (SES_c)": "hsb"}


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def lme4_times(repeats: int) -> dict[str, float]:
    if not shutil.which("Rscript"):
        return {}
    lines = ["suppressPackageStartupMessages(library(lme4))",
             "tm <- function(f, d, n) { t <- numeric(n); for (i in 1:n) t[i] <- "
             "system.time(lmer(f, d))[['elapsed']]; median(t) }"]
    with tempfile.TemporaryDirectory() as tmp:
        sim = MODELS["sim 30x20 RI"][0]()
        sim.to_csv(Path(tmp) / "sim.csv", index=False)
        for label, (_, formula, *_rest) in MODELS.items():
            csv = Path(tmp) / "sim.csv" if label.startswith("sim") else ROOT / "mlm_helpers" / "data" / (
                CSV_FOR_R[label] + ".csv")
            lines.append(f"d <- read.csv('{csv}', colClasses = c(School='character', Subject='character', "
                         "Batch='character', group='character'))")
            lines.append("for (g in intersect(names(d), c('School','Subject','Batch','group'))) d[[g]] <- factor(d[[g]])")
            if "SES_c" in formula:
                lines.append("d$SES_gm <- ave(d$SES, d$School); d$SES_c <- d$SES - d$SES_gm")
            lines.append(f"cat('{label}', tm({formula}, d, {repeats}), '\\n', sep='\\t')")
        script = Path(tmp) / "bench.R"
        script.write_text("\n".join(lines))
        proc = subprocess.run(["Rscript", str(script)], capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        print("lme4 timing failed:", proc.stderr[-500:], file=sys.stderr)
        return {}
    out = {}
    for line in proc.stdout.splitlines():
        parts = [p for p in line.split("\t") if p.strip()]
        if len(parts) >= 2:
            out[parts[0]] = float(parts[1])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repeats, skip the robust statsmodels path")
    args = ap.parse_args()
    rep_fast, rep_sm = (5, 1) if args.quick else (21, 3)
    warnings.simplefilter("ignore")
    rows = []
    lme4 = lme4_times(3 if args.quick else 11)
    for label, (load, formula, fixed, groups, re_formula) in MODELS.items():
        data = load()
        t_fast = median_time(lambda f=formula, d=data: mh.fit(f, d, engine="fast"), rep_fast)
        t_def = median_time(lambda f=fixed, d=data, g=groups, r=re_formula:
                            smf.mixedlm(f, d, groups=g, re_formula=r).fit(reml=True), rep_sm)
        t_rob = None if args.quick else median_time(
            lambda f=formula, d=data: mh.fit(f, d, engine="statsmodels"), 1)
        rows.append((label, t_fast, t_def, t_rob, lme4.get(label)))
    print(f"{'model':<16}{'fast ms':>10}{'sm default ms':>15}{'sm robust ms':>14}{'lme4 ms':>10}"
          f"{'fast/sm':>10}{'fast/lme4':>11}")
    for label, tf, td, tr, tl in rows:
        tr_s = f"{tr * 1e3:14.1f}" if tr is not None else f"{'-':>14}"
        tl_s = f"{tl * 1e3:10.1f}" if tl is not None else f"{'-':>10}"
        ratio_l = f"{tf / tl:11.3f}" if tl else f"{'-':>11}"
        print(f"{label:<16}{tf * 1e3:10.2f}{td * 1e3:15.1f}{tr_s}{tl_s}{tf / td:10.4f}{ratio_l}")
    print("\nratios are fast / other: 0.05 means the fast engine took 5% of the other's time (20x faster).")


if __name__ == "__main__":
    main()
