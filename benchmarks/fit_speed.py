"""Speed of the fitting engines, measured in one run on this machine.

Prints the median wall time of each engine on the reference models and the ratio
fast / other (below 1: the fast engine is quicker). Engines:

* fast         mh.fit(..., engine="fast"), including formula parsing and data checks
* sm default   statsmodels' smf.mixedlm(...).fit(reml=True), its default optimiser
* sm robust    mh.fit(..., engine="statsmodels"): several optimisers, best likelihood kept
* lme4         R's lmer() through Rscript (skipped when R/lme4 are not installed);
               timed inside R, so R's start-up is not counted
* mixedlm      the Rust-backed ``mixedlm`` from PyPI, only with ``--mixedlm PYTHON``: the
               interpreter of a throwaway venv that has it (never a course dependency), e.g.
               python3 -m venv /tmp/mvenv && /tmp/mvenv/bin/pip install mixedlm pandas

Several grouping factors (issue 16): crossed (1 | a) + (1 | b) designs with 50 x 50 to 500 x 500
levels (25,000 rows), three levels with 2,000 classes in 200 schools, and the same with a random
slope per school. statsmodels is not timed on those (minutes, or no answer); the same CSV goes to
every engine.

Run:  .venv/bin/python benchmarks/fit_speed.py   [--quick] [--multi-only] [--mixedlm PYTHON]
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

import pandas as pd
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


def crossed(na: int, nb: int, n: int, seed: int = 1):
    """Crossed random intercepts: n rows in random cells of an na x nb design."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    cells = rng.choice(na * nb, size=n, replace=False)
    a, b = cells % na, cells // na
    x = rng.normal(size=n)
    y = 1 + 0.5 * x + rng.normal(0, 1, na)[a] + rng.normal(0, 0.7, nb)[b] + rng.normal(0, 1.5, n)
    return pd.DataFrame({"a": [f"a{i}" for i in a], "b": [f"b{i}" for i in b], "x": x, "y": y})


def three_level(schools: int, classes: int, pupils: int, seed: int = 2):
    """Pupils in classes in schools: random intercepts for both, a random x-slope per school."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    J = schools * classes
    cls = np.repeat(np.arange(J), pupils)
    sch = cls // classes
    n = len(cls)
    x = rng.normal(size=n)
    y = (1 + 0.5 * x + rng.normal(0, 1, schools)[sch] + rng.normal(0, 0.3, schools)[sch] * x
         + rng.normal(0, 0.7, J)[cls] + rng.normal(0, 1.5, n))
    return pd.DataFrame({"school": [f"s{i}" for i in sch], "class": [f"s{i}:c{j}" for i, j in zip(sch, cls, strict=True)],
                         "x": x, "y": y})


# label -> (data loader, lme4 formula); the fast engine and lme4 (and mixedlm) only
MULTI = {
    "crossed 50x50": (lambda: crossed(50, 50, 2500), "y ~ x + (1 | a) + (1 | b)"),
    "crossed 100x100": (lambda: crossed(100, 100, 5000), "y ~ x + (1 | a) + (1 | b)"),
    "crossed 200x200": (lambda: crossed(200, 200, 10000), "y ~ x + (1 | a) + (1 | b)"),
    "crossed 500x500": (lambda: crossed(500, 500, 25000), "y ~ x + (1 | a) + (1 | b)"),
    "3-level 2000 cl": (lambda: three_level(200, 10, 10), "y ~ x + (1 | school) + (1 | class)"),
    "nested slope": (lambda: three_level(200, 10, 10), "y ~ x + (1 + x | school) + (1 | class)"),
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


def lme4_times(repeats: int, multi_only: bool = False, multi_csv: dict[str, Path] | None = None) -> dict[str, float]:
    if not shutil.which("Rscript"):
        return {}
    lines = ["suppressPackageStartupMessages(library(lme4))",
             "tm <- function(f, d, n) { t <- numeric(n); for (i in 1:n) t[i] <- "
             "system.time(lmer(f, d))[['elapsed']]; median(t) }"]
    with tempfile.TemporaryDirectory() as tmp:
        sim = MODELS["sim 30x20 RI"][0]()
        sim.to_csv(Path(tmp) / "sim.csv", index=False)
        for label, path in (multi_csv or {}).items():
            formula = MULTI[label][1]
            lines.append(f"d <- read.csv('{path}', colClasses = c(a='character', b='character', "
                         "school='character', class='character'))")
            lines.append(f"cat('{label}', tm({formula}, d, {repeats}), '\\n', sep='\\t')")
        for label, (_, formula, *_rest) in ({} if multi_only else MODELS).items():
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


MIXEDLM_SCRIPT = """
import sys, time, statistics, warnings
import pandas as pd
import mixedlm
warnings.simplefilter("ignore")
for line in sys.stdin:
    label, path, formula, repeats = line.rstrip("\\n").split("\\t")
    data = pd.read_csv(path, dtype={"a": str, "b": str, "school": str, "class": str})
    times = []
    for _ in range(int(repeats)):
        t0 = time.perf_counter()
        mixedlm.lmer(formula, data)
        times.append(time.perf_counter() - t0)
    print(label, statistics.median(times), sep="\\t", flush=True)
"""


def mixedlm_times(python: str | None, csvs: dict[str, Path], repeats: int) -> dict[str, float]:
    """Median times of ``mixedlm.lmer`` run by ``python`` (a throwaway venv), or {} with a note."""
    if not python:
        return {}
    jobs = "".join(f"{label}\t{path}\t{MULTI[label][1]}\t{repeats}\n" for label, path in csvs.items())
    proc = subprocess.run([python, "-c", MIXEDLM_SCRIPT], input=jobs, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        print("mixedlm timing failed (skipped):", proc.stderr[-500:], file=sys.stderr)
    out = {}
    for line in proc.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) == 2:
            out[parts[0]] = float(parts[1])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repeats, skip the robust statsmodels path")
    ap.add_argument("--multi-only", action="store_true", help="only the models with several grouping factors")
    ap.add_argument("--mixedlm", metavar="PYTHON", help="interpreter of a venv with mixedlm installed (optional)")
    args = ap.parse_args()
    rep_fast, rep_sm = (5, 1) if args.quick else (21, 3)
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        multi_data = {label: load() for label, (load, _) in MULTI.items()}
        csvs = {}
        for label, data in multi_data.items():
            csvs[label] = Path(tmp) / (label.replace(" ", "_") + ".csv")
            data.to_csv(csvs[label], index=False)
        lme4 = lme4_times(3 if args.quick else 11, args.multi_only, csvs)
        lme4_multi = {k: v for k, v in lme4.items() if k in MULTI}
        peer = mixedlm_times(args.mixedlm, csvs, 3)
        multi_rows = []
        for label, data in multi_data.items():
            formula = MULTI[label][1]
            data = pd.read_csv(csvs[label], dtype={"a": str, "b": str, "school": str, "class": str})
            t_fast = median_time(lambda f=formula, d=data: mh.fit(f, d, engine="fast"), 3)
            multi_rows.append((label, t_fast, lme4_multi.get(label), peer.get(label)))
    if not args.multi_only:
        rows = []
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
        print()
    print("Several grouping factors (median of 3; the same CSV in every engine):")
    print(f"{'model':<18}{'fast ms':>10}{'lme4 ms':>10}{'mixedlm ms':>12}{'fast/lme4':>11}{'fast/mixedlm':>14}")
    for label, tf, tl, tp in multi_rows:
        cell = lambda v: f"{v * 1e3:.1f}" if v is not None else "-"  # noqa: E731
        ratio = lambda v, t=tf: f"{t / v:.2f}" if v else "-"  # noqa: E731
        print(f"{label:<18}{tf * 1e3:10.1f}{cell(tl):>10}{cell(tp):>12}{ratio(tl):>11}{ratio(tp):>14}")
    if not args.mixedlm:
        print("(mixedlm not timed: pass --mixedlm PYTHON, a venv's interpreter with mixedlm installed)")
    print("\nratios are fast / other: 0.05 means the fast engine took 5% of the other's time (20x faster).")


if __name__ == "__main__":
    main()
