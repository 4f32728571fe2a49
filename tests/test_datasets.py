"""The bundled data sets: shapes, dtypes, grouping columns as strings, helpful errors."""

import pandas as pd
import pytest

import mlm_helpers as mh

EXPECTED = {
    "hsb": ((7185, 6), "School", 160),
    "hsb_schools": ((160, 7), "School", 160),
    "sleepstudy": ((180, 3), "Subject", 18),
    "dyestuff": ((30, 2), "Batch", 6),
    "dyestuff2": ((30, 2), "Batch", 6),
    "penicillin": ((144, 3), "plate", 24),
    "pastes": ((60, 4), "batch", 10),
    "chem97": ((31022, 8), "school", 2410),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shape_and_group_column(name):
    shape, gcol, ngroups = EXPECTED[name]
    df = mh.load_dataset(name)
    assert df.shape == shape
    assert pd.api.types.is_string_dtype(df[gcol]), f"{name}.{gcol} must be strings, is {df[gcol].dtype}"
    assert df[gcol].nunique() == ngroups
    assert not df.isna().any().any()


def test_all_grouping_columns_are_strings():
    for name, cols in {"penicillin": ["plate", "sample"], "pastes": ["batch", "cask", "sample"],
                       "hsb_schools": ["School", "HIMINTY"], "sleepstudy": ["Subject"]}.items():
        df = mh.load_dataset(name)
        for c in cols:
            assert pd.api.types.is_string_dtype(df[c]), (name, c)


def test_numeric_columns_are_numeric():
    hsb = mh.load_dataset("hsb")
    for c in ["SES", "MathAch", "MEANSES"]:
        assert pd.api.types.is_float_dtype(hsb[c])
    assert pd.api.types.is_numeric_dtype(mh.load_dataset("sleepstudy")["Days"])


def test_school_ids_match_between_tables():
    students = mh.load_dataset("hsb")
    schools = mh.load_dataset("hsb_schools")
    assert set(students["School"]) == set(schools["School"])
    # The school ids keep their leading characters as written (strings, not numbers).
    assert "1224" in set(schools["School"])


def test_chem97_is_mlmrev_chem97():
    """The compressed copy of mlmRev's Chem97: counts and summaries as R reports them."""
    chem = mh.load_dataset("chem97")
    assert list(chem.columns) == ["lea", "school", "student", "score", "gender", "age", "gcsescore", "gcsecnt"]
    for col in ("lea", "school", "student", "gender"):
        assert pd.api.types.is_string_dtype(chem[col]), col
    assert chem["lea"].nunique() == 131 and chem["student"].is_unique
    assert chem.groupby("school")["lea"].nunique().max() == 1  # every school lies in one LEA
    assert chem["gender"].value_counts().to_dict() == {"M": 17262, "F": 13760}
    assert sorted(chem["score"].unique()) == [0, 2, 4, 6, 8, 10]
    assert chem["score"].mean() == pytest.approx(5.812585, abs=1e-6)
    assert chem["gcsecnt"].to_numpy() == pytest.approx((chem["gcsescore"] - chem["gcsescore"].mean()).to_numpy())
    assert chem.groupby("school").size().max() == 188
    assert chem.attrs["source"].startswith("Fielding")


def test_fresh_copy_each_time():
    a = mh.load_dataset("dyestuff")
    a.loc[0, "Yield"] = -1
    assert mh.load_dataset("dyestuff").loc[0, "Yield"] != -1


def test_case_insensitive_name():
    assert mh.load_dataset("  SleepStudy ").shape == (180, 3)


def test_list_datasets():
    table = mh.list_datasets()
    assert list(table.columns) == ["name", "rows", "groups", "group_column", "description", "source"]
    assert set(table["name"]) == set(EXPECTED)
    for _, row in table.iterrows():
        assert (row["rows"], row["groups"]) == (EXPECTED[row["name"]][0][0], EXPECTED[row["name"]][2])
        assert row["source"] and row["description"]


def test_unknown_name_lists_available():
    with pytest.raises(ValueError) as err:
        mh.load_dataset("hsbb")
    for name in EXPECTED:
        assert name in str(err.value)


def test_non_string_name():
    with pytest.raises(ValueError, match="as a string"):
        mh.load_dataset(3)


def test_docstring_documents_every_dataset():
    doc = mh.datasets.__doc__
    for name in EXPECTED:
        assert f"\n{name}\n" in doc
