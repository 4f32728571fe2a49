"""The lme4 formula parser."""

import pytest

from mlm_helpers.errors import MLMInputError
from mlm_helpers.model.formula import formula_names, parse_formula


@pytest.mark.parametrize("formula, fixed, terms", [
    ("y ~ x + (1 | g)", "y ~ x", [("1", "g", True)]),
    ("y ~ x + (1 + x | g)", "y ~ x", [("1 + x", "g", True)]),
    ("y ~ x + (x | g)", "y ~ x", [("x", "g", True)]),
    ("y ~ (0 + x | g) + x", "y ~ x", [("0 + x", "g", True)]),
    ("y ~ x + (x || g)", "y ~ x", [("x", "g", False)]),
    ("y ~ 1 + (1 | a) + (1 | b)", "y ~ 1", [("1", "a", True), ("1", "b", True)]),
    ("y ~ 1 + (1 | a/b)", "y ~ 1", [("1", "a", True), ("1", "a:b", True)]),
    ("y ~ 1 + (1 | a/b/c)", "y ~ 1", [("1", "a", True), ("1", "a:b", True), ("1", "a:b:c", True)]),
    ("y ~ (1 | a:b)", "y ~ 1", [("1", "a:b", True)]),
    ("np.log(y) ~ C(s) * x + I(x**2) + (1|g)", "np.log(y) ~ C(s) * x + I(x**2)", [("1", "g", True)]),
])
def test_parse(formula, fixed, terms):
    spec = parse_formula(formula)
    assert spec.fixed == fixed
    assert [(t.effects, t.group, t.correlated) for t in spec.random] == terms


def test_groups_in_order():
    assert parse_formula("y ~ (1|b) + (x|a) + (0 + z|b)").groups == ["b", "a"]


def test_formula_names_skip_functions():
    assert formula_names("np.log(y) ~ x + C(g, Treatment('a')) + I(z**2)") == ["y", "x", "g", "z"]
    assert formula_names('Q("a b") + x') == ["a b", "x"]


def test_non_string():
    with pytest.raises(MLMInputError, match="must be a string"):
        parse_formula(3)
