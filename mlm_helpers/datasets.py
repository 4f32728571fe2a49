"""Classic multilevel data sets, shipped inside the package.

Every data set is a CSV file in ``mlm_helpers/data`` (the large ones gzip-compressed,
``.csv.gz``); nothing is downloaded. ``mlm_helpers/data/README.md`` says where each
file comes from and how it was exported.
Grouping columns (school, subject, batch, ...) come back as strings, so a
formula treats them as labels, never as numbers.

Data sets
---------
hsb
    High School and Beyond, 1982: 7,185 students in 160 US high schools.
    Columns: ``School`` (str, school id), ``Minority`` ("Yes"/"No"),
    ``Sex`` ("Female"/"Male"), ``SES`` (socio-economic status, a standardised
    composite of parental education, occupation and income; mean about 0,
    SD about 0.8), ``MathAch`` (mathematics achievement test score, about
    -3 to 25 points), ``MEANSES`` (the school's mean SES as supplied with the
    data: it differs slightly from the mean of ``SES`` over the students
    present). Source: Raudenbush & Bryk (2002), *Hierarchical Linear Models*,
    2nd ed., Sage; R package nlme (``MathAchieve``).
hsb_schools
    The 160 HSB schools, one row each. Columns: ``School`` (str), ``Size``
    (enrolment, pupils), ``Sector`` ("Public"/"Catholic"), ``PRACAD``
    (proportion of students on the academic track, 0-1), ``DISCLIM``
    (disciplinary climate, a standardised scale), ``HIMINTY`` ("1" if more
    than 40% minority students, else "0"; a label, kept as a string),
    ``MEANSES`` (school mean SES). Source: as ``hsb``; nlme
    (``MathAchSchool``).
sleepstudy
    Reaction times of 18 subjects over 10 days of sleep restriction.
    Columns: ``Reaction`` (mean reaction time, milliseconds), ``Days``
    (days of sleep deprivation, 0-9; days 0-1 were adaptation and training),
    ``Subject`` (str). Source: Belenky et al. (2003), *Journal of Sleep
    Research* 12, 1-12; R package lme4.
dyestuff
    Yield of dyestuff (grams of standard colour) from 6 batches of an
    intermediate product, 5 preparations each. Columns: ``Batch`` (str,
    "A"-"F"), ``Yield`` (g). Source: Davies & Goldsmith (1972), *Statistical
    Methods in Research and Production*; lme4.
dyestuff2
    Simulated data with the same design as ``dyestuff``, for which the
    estimated between-batch variance is exactly zero (a singular fit).
    Columns: ``Batch`` (str), ``Yield`` (arbitrary units). Source: Box & Tiao
    (1973), *Bayesian Inference in Statistical Analysis*; lme4.
penicillin
    Potency of 6 penicillin samples measured on 24 plates, every sample on
    every plate (fully crossed). Columns: ``diameter`` (diameter of the zone
    of growth inhibition, mm), ``plate`` (str, "a"-"x"), ``sample`` (str,
    "A"-"F"). Source: Davies & Goldsmith (1972); lme4.
pastes
    Strength of a chemical paste: 10 delivery batches, 3 casks sampled from
    each batch, 2 assays per cask (casks nested in batches). Columns:
    ``strength`` (paste strength, arbitrary units), ``batch`` (str, "A"-"J"),
    ``cask`` (str, "a"-"c": the label is reused across batches, so "a" in
    batch A is not the same cask as "a" in batch B), ``sample`` (str, the
    unique cask id "batch:cask"). Source: Davies & Goldsmith (1972); lme4.
chem97
    A-level chemistry results of 31,022 students in 2,410 schools and colleges
    in England and Wales, within 131 local education authorities (1997). Columns: ``lea``
    (str, local education authority), ``school`` (str; ids are unique across
    authorities), ``student`` (str, row id), ``score`` (A-level chemistry
    points: 0, 2, 4, 6, 8 or 10), ``gender`` ("F"/"M"), ``age`` (months,
    centred at 222 months = 18.5 years), ``gcsescore`` (the student's average
    GCSE score at 16, points, 0-8), ``gcsecnt`` (``gcsescore`` minus its mean
    over all students). Shipped gzip-compressed. Source: Fielding, Yang &
    Goldstein (2003), *Statistical Modelling* 3, 127-153; R package mlmRev
    (``Chem97``).

Examples
--------
>>> import mlm_helpers as mh
>>> mh.load_dataset("hsb").shape
(7185, 6)
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import pandas as pd

from .errors import MLMInputError

__all__ = ["load_dataset", "list_datasets"]


@dataclass(frozen=True)
class _Info:
    file: str
    group_columns: tuple[str, ...]
    description: str
    source: str


_DATASETS: dict[str, _Info] = {
    "hsb": _Info(
        "hsb.csv",
        ("School",),
        "Math achievement of 7,185 students in 160 US high schools (1982).",
        "Raudenbush & Bryk (2002), Hierarchical Linear Models, 2nd ed.; nlme MathAchieve",
    ),
    "hsb_schools": _Info(
        "hsb_schools.csv",
        ("School", "HIMINTY"),
        "School-level variables for the 160 HSB schools (sector, size, mean SES).",
        "Raudenbush & Bryk (2002); nlme MathAchSchool",
    ),
    "sleepstudy": _Info(
        "sleepstudy.csv",
        ("Subject",),
        "Reaction times (ms) of 18 subjects over 10 days of sleep restriction.",
        "Belenky et al. (2003), J. Sleep Research 12:1-12; lme4",
    ),
    "dyestuff": _Info(
        "dyestuff.csv",
        ("Batch",),
        "Dyestuff yield (g) from 6 batches, 5 preparations each.",
        "Davies & Goldsmith (1972), Statistical Methods in Research and Production; lme4",
    ),
    "dyestuff2": _Info(
        "dyestuff2.csv",
        ("Batch",),
        "Simulated dyestuff-like data whose between-batch variance estimate is 0.",
        "Box & Tiao (1973), Bayesian Inference in Statistical Analysis; lme4",
    ),
    "penicillin": _Info(
        "penicillin.csv",
        ("plate", "sample"),
        "Inhibition-zone diameter (mm): 6 samples crossed with 24 plates.",
        "Davies & Goldsmith (1972); lme4",
    ),
    "pastes": _Info(
        "pastes.csv",
        ("batch", "cask", "sample"),
        "Paste strength: 2 assays of 3 casks in each of 10 batches (nested).",
        "Davies & Goldsmith (1972); lme4",
    ),
    "chem97": _Info(
        "chem97.csv.gz",
        ("lea", "school", "student"),
        "A-level chemistry scores of 31,022 students in 2,410 schools within 131 LEAs (1997).",
        "Fielding, Yang & Goldstein (2003), Statistical Modelling 3:127-153; mlmRev Chem97",
    ),
}

# The column that defines "groups" in list_datasets() (the top or only level).
_MAIN_GROUP = {
    "hsb": "School",
    "hsb_schools": "School",
    "sleepstudy": "Subject",
    "dyestuff": "Batch",
    "dyestuff2": "Batch",
    "penicillin": "plate",
    "pastes": "batch",
    "chem97": "school",
}


def load_dataset(name: str) -> pd.DataFrame:
    """Load one of the bundled data sets as a DataFrame.

    Parameters
    ----------
    name : str
        One of the names in :func:`list_datasets` (case-insensitive), e.g.
        ``"hsb"``, ``"sleepstudy"``, ``"dyestuff"``, ``"chem97"``.

    Returns
    -------
    pandas.DataFrame
        A fresh copy (changing it does not change the next load). Grouping
        columns are strings.

    Raises
    ------
    ValueError
        If ``name`` is not a known data set; the message lists the names.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> hsb = mh.load_dataset("hsb")
    >>> hsb["School"].nunique()
    160
    """
    if not isinstance(name, str):
        raise MLMInputError(
            f"load_dataset() needs a data set name as a string, got {name!r}. "
            f"Available: {', '.join(_DATASETS)}."
        )
    key = name.strip().lower()
    if key == "hsb_students":
        key = "hsb"
    if key not in _DATASETS:
        raise MLMInputError(
            f"Unknown data set {name!r}. Available data sets: {', '.join(_DATASETS)}. "
            "See mh.list_datasets() for what each one holds."
        )
    info = _DATASETS[key]
    dtypes = {col: str for col in info.group_columns}
    compression = "gzip" if info.file.endswith(".gz") else None
    with resources.files("mlm_helpers").joinpath("data", info.file).open("rb") as fh:
        df = pd.read_csv(fh, dtype=dtypes, encoding="utf-8", compression=compression)
    df.attrs["name"] = key
    df.attrs["source"] = info.source
    return df


def list_datasets() -> pd.DataFrame:
    """List the bundled data sets.

    Returns
    -------
    pandas.DataFrame
        One row per data set with columns ``name``, ``rows``, ``groups``
        (number of levels of the main grouping factor), ``group_column``,
        ``description`` and ``source``.

    Examples
    --------
    >>> import mlm_helpers as mh
    >>> "sleepstudy" in set(mh.list_datasets()["name"])
    True
    """
    rows = []
    for name, info in _DATASETS.items():
        df = load_dataset(name)
        gcol = _MAIN_GROUP[name]
        rows.append(
            {
                "name": name,
                "rows": len(df),
                "groups": int(df[gcol].nunique()),
                "group_column": gcol,
                "description": info.description,
                "source": info.source,
            }
        )
    return pd.DataFrame(rows)
