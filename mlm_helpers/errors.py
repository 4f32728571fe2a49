"""Errors and warnings that speak to a learner.

Every problem with a user's input is raised as :class:`MLMInputError`, a
subclass of :class:`ValueError`, whose message names the column or argument,
the offending value and the fix.

Examples
--------
>>> from mlm_helpers.errors import MLMInputError
>>> issubclass(MLMInputError, ValueError)
True
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from types import FrameType

__all__ = ["warn_at_caller", "MLMInputError", "FitFailedError", "MLMWarning", "ConvergenceWarning", "FewGroupsWarning", "MissingDataWarning",
           "SingularFitWarning", "InputWarning"]


class MLMInputError(ValueError):
    """Bad input to an ``mlm_helpers`` function: the message says what and how to fix it."""


class FitFailedError(RuntimeError):
    """An engine could not produce estimates (every optimiser failed, or the optimum is undefined)."""


class MLMWarning(UserWarning):
    """Base class of the warnings ``mlm_helpers`` issues on purpose."""


class ConvergenceWarning(MLMWarning):
    """An optimiser stopped away from the optimum, or a fit sits on a boundary."""


class FewGroupsWarning(MLMWarning):
    """Too few groups to estimate variance components well."""


class MissingDataWarning(MLMWarning):
    """Rows with missing values in the model's columns were dropped."""


class SingularFitWarning(MLMWarning):
    """A variance is estimated as 0 or a correlation as +-1: the fit is on the boundary."""


_PACKAGE_DIR = str(Path(__file__).resolve().parent)


def warn_at_caller(message: str, category: type[Warning]) -> None:
    """Issue a warning that points at the first line outside ``mlm_helpers`` (the user's line).

    A fixed ``stacklevel`` is right for one call path only; this walks the stack instead, so the
    same warning points at the user's line whether it came through ``mh.fit`` or a helper that
    calls the model frame directly.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_at_caller("a note", MLMWarning)
    >>> caught[0].category.__name__
    'MLMWarning'
    """
    level = 2  # 1 is this function's own line, 2 its caller's
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    if frame is not None and _in_notebook_cell(frame.f_code.co_filename):
        # A notebook cell's "file" is a temporary path of the kernel's, which means nothing to a
        # reader and differs on every run: name the cell instead, and keep the line.
        warnings.warn_explicit(message, category, "<this cell>", frame.f_lineno,
                               module=frame.f_globals.get("__name__", "__main__"),
                               registry=frame.f_globals.setdefault("__warningregistry__", {}))
        return
    warnings.warn(message, category, stacklevel=level)


def _in_notebook_cell(filename: str) -> bool:
    """True for the code of a Jupyter cell (ipykernel writes it to a temporary file)."""
    return "ipykernel_" in filename or filename.startswith("<ipython-input")


class InputWarning(MLMWarning):
    """The input is usable but probably not what was meant (numbers stored as text, a badly scaled column)."""
