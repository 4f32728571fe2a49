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

__all__ = ["MLMInputError", "MLMWarning", "ConvergenceWarning", "FewGroupsWarning", "MissingDataWarning",
           "SingularFitWarning", "InputWarning"]


class MLMInputError(ValueError):
    """Bad input to an ``mlm_helpers`` function: the message says what and how to fix it."""


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


class InputWarning(MLMWarning):
    """The input is usable but probably not what was meant (numbers stored as text, a badly scaled column)."""
