"""Parse lme4-style model formulas.

A formula such as ``"MathAch ~ SES + (1 + SES | School)"`` has a *fixed part*
(``MathAch ~ SES``, read by patsy exactly as statsmodels does) and *random
terms* in parentheses with a bar: ``(effects | grouping)``.

Supported random terms

* ``(1 | g)``            random intercept per level of ``g``
* ``(1 + x | g)``, ``(x | g)``  correlated random intercept and slope
* ``(0 + x | g)``        random slope only
* ``(1 + x || g)``       intercept and slope, uncorrelated (as lme4: one term per
  formula term; a factor's indicator columns stay one correlated block)
* ``(1 | a) + (1 | b)``  crossed factors
* ``(1 | a/b)``          nested: the same as ``(1 | a) + (1 | a:b)``
* ``(1 | a:b)``          one factor made of the combinations of ``a`` and ``b``

Where the result differs from lme4 on purpose

* Column names are patsy's: ``Sex[T.Male]`` for lme4's ``SexMale``, ``I(age ** 2)`` for
  ``I(age^2)``. The numbers are the same: text columns take their first level in sorted order
  as the reference in both (a pandas ``Categorical`` keeps its own order, as an R factor).
* ``(f || g)`` with a factor ``f`` is what lme4 does (``(1 | g) + (0 + f | g)``: the intercept
  alone, then one correlated block with an indicator for every level), not afex's
  ``expand_re``, which splits the factor's contrasts into independent variances.
* ``y ~ 0 + (1 | g)`` (no fixed effects at all) and a random effect written twice for one
  grouping factor are refused; lme4 fits both, rarely on purpose.
* Text columns that hold numbers, dates or one value per row are refused (whole numbers stored
  as text with many levels only warn); R would dummy-code them silently.

R syntax means what it means in R: ``I(age^2)`` is a power (``^`` inside ``I()`` becomes
Python's ``**``, whatever the column's type; outside ``I()`` it is the interaction power
``(a + b)^2``, as in R). A trailing operator (``y ~ x +``), a random term without its bar
(``(1 g)``) or any other unreadable piece is an :class:`MLMInputError` with a caret under it.

Examples
--------
>>> from mlm_helpers.model.formula import parse_formula
>>> spec = parse_formula("y ~ x + (1 + x | g)")
>>> spec.fixed, [(t.effects, t.group) for t in spec.random]
('y ~ x', [('1 + x', 'g')])
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field

from ..errors import MLMInputError

__all__ = ["RandomTerm", "FormulaSpec", "parse_formula", "formula_names"]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


@dataclass(frozen=True)
class RandomTerm:
    """One random-effects term ``(effects | group)``.

    ``correlated`` is False for ``||`` terms. ``group`` is a column name or a
    ``:``-joined combination of column names. ``source`` is the text as written.
    """

    effects: str
    group: str
    correlated: bool = True
    source: str = ""

    @property
    def group_columns(self) -> list[str]:
        """The data columns that define the grouping factor."""
        return self.group.split(":")


@dataclass(frozen=True)
class FormulaSpec:
    """A parsed formula: response, fixed part and random terms."""

    formula: str
    response: str
    fixed_rhs: str
    random: list[RandomTerm] = field(default_factory=list)

    @property
    def fixed(self) -> str:
        """The fixed part as a patsy formula ``"y ~ ..."``."""
        return f"{self.response} ~ {self.fixed_rhs}"

    @property
    def groups(self) -> list[str]:
        """Distinct grouping factors in order of appearance."""
        out: list[str] = []
        for t in self.random:
            if t.group not in out:
                out.append(t.group)
        return out


def _pointer(formula: str, start: int, end: int, message: str) -> MLMInputError:
    caret = " " * start + "^" * max(1, end - start)
    return MLMInputError(f"{message}\n  {formula}\n  {caret}")


def _r_power(text: str) -> str:
    """Turn R's power ``^`` inside ``I(...)`` into Python's ``**`` (patsy would read it as XOR).

    Examples
    --------
    >>> _r_power("age + I(age^2) + I((x - 1)^3)")
    'age + I(age**2) + I((x - 1)**3)'
    """
    out = []
    k = 0
    for m in re.finditer(r"(?<![A-Za-z0-9_.])I\(", text):
        if m.start() < k:
            continue
        depth = 0
        end = len(text)
        for j in range(m.end() - 1, len(text)):
            depth += text[j] == "("
            depth -= text[j] == ")"
            if depth == 0:
                end = j + 1
                break
        out.append(text[k : m.start()])
        out.append(text[m.start() : end].replace("^", "**"))
        k = end
    out.append(text[k:])
    return "".join(out)


_BARLESS = re.compile(r"^\s*([^\s|]+(?:\s*[+]\s*[^\s|]+)*)\s+([A-Za-z_][A-Za-z0-9_.:/]*)\s*$")


def _enclosing_parens(formula: str) -> list[tuple[int, int]]:
    """Spans of the top-level parenthesised groups of the formula (unbalanced ones ignored)."""
    spans, depth, start = [], 0, -1
    for k, ch in enumerate(formula):
        if ch == "(":
            start = k if depth == 0 else start
            depth += 1
        elif ch == ")" and depth > 0:
            depth -= 1
            if depth == 0:
                spans.append((start, k + 1))
    return spans


def _check_syntax(formula: str, masked: str, where: str) -> None:
    """Let patsy parse ``masked`` (same length as ``formula``) and compile every term's code.

    Any problem becomes an :class:`MLMInputError` with a caret under the offending piece.
    """
    import patsy
    from patsy.desc import ModelDesc

    try:
        desc = ModelDesc.from_formula(masked)
    except patsy.PatsyError as exc:
        start, end = (exc.origin.start, exc.origin.end) if exc.origin is not None else (0, len(formula))
        msg = exc.message
        if "expression ended" in msg:
            raise _pointer(formula, start, end,
                           f"{where.capitalize()} ends with an operator: remove the trailing "
                           f"{formula[start:end].strip() or 'operator'!r} or add the term that should follow it:") from None
        if "expected a noun" in msg:
            msg += " (an operator is missing the term after it)"
        raise _pointer(formula, start, end, f"Cannot read {where}: {msg}.") from None
    for term in list(desc.lhs_termlist) + list(desc.rhs_termlist):
        for factor in term.factors:
            code = getattr(factor, "code", None)
            if code is None:
                continue
            try:
                compile(_r_power(code), "<formula>", "eval")
            except SyntaxError as exc:
                origin = getattr(factor, "origin", None)
                start, end = (origin.start, origin.end) if origin is not None else (0, len(formula))
                for a, b in _enclosing_parens(formula):  # the whole parenthesised term, e.g. (1 + x g)
                    if a <= start and end <= b and b - a > end - start:
                        start, end = a, b
                        break
                piece = formula[start:end]
                inner = piece[1:-1] if piece.startswith("(") and piece.endswith(")") else piece
                bar = _BARLESS.match(inner)
                if bar:
                    raise _pointer(
                        formula, start, end,
                        f"{piece!r} looks like a random term without its bar: write "
                        f"({bar.group(1)} | {bar.group(2)}).",
                    ) from None
                raise _pointer(formula, start, end,
                               f"Cannot read {piece!r} in {where} ({exc.msg}); check the operators "
                               "and parentheses (R's x^2 is written I(x^2)):") from None


def _split_top_level_parens(formula: str, rhs_start: int) -> tuple[list[tuple[int, int]], int]:
    """Spans (start, end) of top-level parenthesised groups in the right-hand side."""
    spans = []
    depth = 0
    start = -1
    for k in range(rhs_start, len(formula)):
        ch = formula[k]
        if ch == "(":
            if depth == 0:
                start = k
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise _pointer(formula, k, k + 1, "This ')' has no matching '(' in the formula:")
            if depth == 0:
                spans.append((start, k + 1))
    if depth != 0:
        raise _pointer(formula, start, len(formula), "A '(' is never closed in the formula:")
    return spans, depth


def _parse_group(expr: str, formula: str, start: int, end: int) -> list[str]:
    expr = expr.strip()
    if not expr:
        raise _pointer(
            formula, start, end,
            "This random term has nothing after the bar: write the grouping column, e.g. (1 | School).",
        )
    if "/" in expr:
        parts = [p.strip() for p in expr.split("/")]
        for p in parts:
            if not p or not all(_IDENT.match(q.strip()) for q in p.split(":")):
                raise _pointer(formula, start, end, f"Cannot read the nested grouping {expr!r}; write e.g. (1 | batch/cask).")
        # a/b/c -> a, a:b, a:b:c
        return [":".join(parts[: k + 1]) for k in range(len(parts))]
    names = [q.strip() for q in expr.split(":")]
    if not all(_IDENT.match(n) for n in names):
        raise _pointer(
            formula, start, end,
            f"The grouping factor {expr!r} must be a column name (or a:b, or a/b for nesting), "
            "not an expression. Make a column first, e.g. df['g'] = ...",
        )
    return [":".join(names)]


def parse_formula(formula: str) -> FormulaSpec:
    """Split an lme4-style formula into its fixed part and random terms.

    Parameters
    ----------
    formula : str
        For example ``"y ~ x + (1 + x | g)"``.

    Returns
    -------
    FormulaSpec
        With ``response``, ``fixed_rhs`` (patsy syntax) and ``random`` (a list
        of :class:`RandomTerm`, nested terms expanded).

    Raises
    ------
    MLMInputError
        When the formula has no ``~``, unbalanced parentheses, or a malformed
        random term; the message points at the term.

    Examples
    --------
    >>> [t.group for t in parse_formula("y ~ 1 + (1 | a/b)").random]
    ['a', 'a:b']
    """
    if not isinstance(formula, str):
        raise MLMInputError(f"The formula must be a string like 'y ~ x + (1 | g)', got {type(formula).__name__}.")
    if formula.count("~") != 1:
        raise MLMInputError(
            f"The formula {formula!r} needs exactly one '~' separating the outcome from the predictors, "
            "e.g. 'MathAch ~ SES + (1 | School)'."
        )
    tilde = formula.index("~")
    response = formula[:tilde].strip()
    if not response:
        raise _pointer(formula, 0, tilde + 1, "The formula has no outcome before '~'; write e.g. 'y ~ x + (1 | g)'.")
    spans, _ = _split_top_level_parens(formula, tilde + 1)
    # Check the syntax of everything outside the random terms (each random term is masked by a
    # placeholder name of the same length, so that positions stay those of the formula).
    masked = list(formula)
    for start, end in spans:
        if "|" in formula[start + 1 : end - 1]:
            masked[start:end] = "_" * (end - start)
    _check_syntax(formula, "".join(masked), "the formula")
    random: list[RandomTerm] = []
    keep = []
    last = tilde + 1
    for start, end in spans:
        inner = formula[start + 1 : end - 1]
        if "|" not in inner:
            continue
        keep.append(formula[last:start])
        last = end
        if "||" in inner:
            lhs, _, rhs = inner.partition("||")
            correlated = False
        else:
            lhs, _, rhs = inner.partition("|")
            correlated = True
        if "|" in rhs:
            raise _pointer(formula, start, end, "A random term has one bar: (effects | group). This one has more:")
        lhs_offset = start + 1 + (len(lhs) - len(lhs.lstrip()))
        lhs = lhs.strip()
        if lhs:
            padded = "_" * tilde + "~" + " " * (lhs_offset - tilde - 1) + lhs
            _check_syntax(formula, padded + " " * (len(formula) - len(padded)),
                          f"the random term {formula[start:end]}")
            lhs = _r_power(lhs)
        if not lhs:
            raise _pointer(
                formula, start, end,
                "This random term has nothing before the bar: write (1 | g) for a random intercept "
                "or (1 + x | g) for an intercept and a slope.",
            )
        for g in _parse_group(rhs, formula, start, end):
            random.append(RandomTerm(lhs, g, correlated, formula[start:end]))
    keep.append(formula[last:])
    fixed_rhs = "".join(keep)
    # Find bars left outside any parentheses.
    depth = 0
    for k in range(tilde + 1, len(formula)):
        ch = formula[k]
        depth += ch == "("
        depth -= ch == ")"
        if ch == "|" and depth == 0:
            raise _pointer(formula, k, k + 1, "A bar '|' must sit inside parentheses, as in (1 | School):")
    # Tidy up the '+' signs left behind by removing the random terms.
    fixed_rhs = re.sub(r"\+\s*(\+\s*)+", "+ ", fixed_rhs)
    fixed_rhs = re.sub(r"^\s*\+\s*|\s*\+\s*$", "", fixed_rhs.strip()).strip()
    if not fixed_rhs:
        fixed_rhs = "1"
    fixed_rhs = _r_power(fixed_rhs)
    response = _r_power(response)
    return FormulaSpec(formula=formula, response=response, fixed_rhs=fixed_rhs, random=random)


_FUNCTIONS = {"np", "numpy", "C", "I", "Q", "center", "standardize", "scale", "log", "exp", "sqrt", "bs", "cr",
              "Treatment", "Sum", "Poly", "Diff", "Helmert", "levels", "reference", "True", "False", "None"}


def formula_names(text: str) -> list[str]:
    """Names a formula piece refers to that could be data columns.

    Function names (``np.log``, ``C(...)``), attributes and keyword arguments
    are skipped. ``Q("a b")`` yields ``a b``.

    Examples
    --------
    >>> formula_names("np.log(y) ~ x + C(g, Treatment('a'))")
    ['y', 'x', 'g']
    """
    names: list[str] = []
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)
    for k, tok in enumerate(toks):
        prev = toks[k - 1].string if k > 0 else ""
        nxt = toks[k + 1].string if k + 1 < len(toks) else ""
        if tok.type == tokenize.STRING and k >= 2 and toks[k - 2].string == "Q" and prev == "(":
            names.append(tok.string[1:-1])
            continue
        if tok.type != tokenize.NAME:
            continue
        if nxt == "(" or prev == "." or nxt == "=" or tok.string in _FUNCTIONS:
            continue
        if k >= 2 and toks[k - 1].string == "(" and toks[k - 2].string in {"Treatment", "reference"}:
            continue
        if tok.string not in names:
            names.append(tok.string)
    return names
