"""Warnings point at the user's line: a script's file and line, or in a notebook "<this cell>" and the line."""

from __future__ import annotations

import warnings

import mlm_helpers as mh


def _fit_with_few_groups():
    return mh.fit("Yield ~ 1 + (1 | Batch)", mh.load_dataset("dyestuff"))


def test_warning_points_at_the_callers_line_not_the_package():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _fit_with_few_groups()
    few = [w for w in caught if w.category is mh.FewGroupsWarning]
    assert few and few[0].filename == __file__


def test_in_a_notebook_cell_the_warning_names_the_cell_not_a_temporary_file():
    code = compile('import mlm_helpers as mh\nmh.fit("Yield ~ 1 + (1 | Batch)", mh.load_dataset("dyestuff"))\n',
                   "/tmp/ipykernel_4242/123456.py", "exec")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exec(code, {"__name__": "__main__"})
    few = [w for w in caught if w.category is mh.FewGroupsWarning]
    assert few and few[0].filename == "<this cell>" and few[0].lineno == 2
    assert "ipykernel" not in warnings.formatwarning(few[0].message, few[0].category, few[0].filename,
                                                     few[0].lineno)
