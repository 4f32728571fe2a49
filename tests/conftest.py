"""Shared fixtures: the lme4 reference values and the data sets prepared as in the R script."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import pytest

import mlm_helpers as mh

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = Path(__file__).parent / "reference" / "lme4_reference.csv"


def hsb_with_centring() -> pd.DataFrame:
    """HSB with SES_gm (school mean of SES over the students present) and SES_c = SES - SES_gm."""
    hsb = mh.load_dataset("hsb")
    hsb["SES_gm"] = hsb.groupby("School")["SES"].transform("mean")
    hsb["SES_c"] = hsb["SES"] - hsb["SES_gm"]
    return hsb


DATA = {
    "sleep": lambda: mh.load_dataset("sleepstudy"),
    "dyestuff": lambda: mh.load_dataset("dyestuff"),
    "dyestuff2": lambda: mh.load_dataset("dyestuff2"),
    "penicillin": lambda: mh.load_dataset("penicillin"),
    "pastes": lambda: mh.load_dataset("pastes"),
    "hsb": hsb_with_centring,
}


@pytest.fixture(scope="session")
def reference() -> pd.DataFrame:
    ref = pd.read_csv(REFERENCE, keep_default_na=False, na_values={"value": ["NA"]})
    return ref


@pytest.fixture(scope="session")
def datasets() -> dict[str, pd.DataFrame]:
    return {k: f() for k, f in DATA.items()}


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> tuple[Path, str]:
    """The book built strictly from the notebooks' stored outputs (nbval checks those outputs).

    Returns the html folder and the build log.
    """
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_book", ROOT / "tools" / "build_book.py")
    build_book = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_book)
    out = tmp_path_factory.mktemp("book")
    proc = subprocess.run(build_book.command(out), capture_output=True, text=True, timeout=1200)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"book build failed:\n{log[-6000:]}"
    return out / "_build" / "html", log
