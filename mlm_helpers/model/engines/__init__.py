"""The engine contract and registry.

An engine turns a checked :class:`~mlm_helpers.model.frame.ModelFrame` into an
:class:`EngineFit`: the estimates in one layout, whatever optimiser produced them, with an
:class:`~mlm_helpers.model.optsummary.OptSummary` and the warnings it wants the user to see.
``mh.fit`` validates the input, picks an engine with :func:`choose` and wraps the
``EngineFit`` in a :class:`~mlm_helpers.MixedResult`; ``MixedResult.refit`` goes through the
same registry.

A new engine is a module in this folder with a ``fit_model(model, reml) -> EngineFit`` function,
registered below with the models it cannot fit (``unsupported`` returns the reason, or None).
Engines are imported only when they run: statsmodels loads the first time its engine fits.

``"fast"`` fits every model (one grouping factor from sufficient statistics, several with the
blocked Cholesky factor); ``"auto"`` picks it. ``"statsmodels"`` runs only when asked for by
name. ``"intercepts"`` and ``"general"``, the names of two former engines for crossed and nested
models, are accepted aliases of ``"fast"`` (:data:`ALIASES`), so older code keeps running.

Examples
--------
>>> from mlm_helpers.model.engines import ENGINES, get
>>> ENGINES
('auto', 'fast', 'statsmodels', 'intercepts', 'general')
>>> get("fast").name, get("intercepts").name
('fast', 'fast')
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...errors import MLMInputError
from ..frame import ModelFrame
from ..optsummary import OptSummary

__all__ = ["EngineFit", "Engine", "register", "get", "choose", "ENGINES", "ALIASES"]


@dataclass
class EngineFit:
    """Engine-independent estimates: what every engine hands to :class:`~mlm_helpers.MixedResult`."""

    beta: np.ndarray
    vcov_beta: np.ndarray
    sigma2: float
    loglik: float
    covs: list[np.ndarray]  # per grouping factor: q x q covariance of the random effects
    ranef: list[np.ndarray]  # per grouping factor: (levels x q) conditional modes
    converged: bool
    message: str
    theta: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    optsummary: OptSummary | None = None
    #: (category, message) pairs that ``fit`` raises as warnings at the user's line.
    warnings: list[tuple[type[Warning], str]] = field(default_factory=list)
    #: What the engine keeps to refit a new response quickly (the fast engine: sufficient statistics).
    state: Any = None


@dataclass(frozen=True)
class Engine:
    """A registered engine: its name, the module that fits, and the models it cannot fit."""

    name: str
    module: str
    unsupported: Callable[[ModelFrame], str | None]
    description: str

    def fit(self, model: ModelFrame, reml: bool) -> EngineFit:
        """Fit ``model`` (REML or ML) with this engine."""
        return importlib.import_module(f".{self.module}", __name__).fit_model(model, reml)


_REGISTRY: dict[str, Engine] = {}


def register(engine: Engine) -> None:
    """Add an engine to the registry (``mh.fit(..., engine=name)`` can then use it)."""
    _REGISTRY[engine.name] = engine


def get(name: str) -> Engine:
    """The registered engine called ``name`` (or that an alias names)."""
    name = ALIASES.get(name, name)
    if name not in _REGISTRY:
        raise MLMInputError(f"engine must be one of {', '.join(map(repr, ENGINES))}; got {name!r}.")
    return _REGISTRY[name]


def choose(model: ModelFrame, requested: str) -> Engine:
    """The engine for ``model``: the one requested, or with ``"auto"`` the first that supports it."""
    if requested == "auto":
        for engine in _REGISTRY.values():
            if engine.name not in _AUTO_SKIP and engine.unsupported(model) is None:
                return engine
        raise MLMInputError("No engine can fit this model.")  # pragma: no cover - statsmodels fits all
    engine = get(requested)
    reason = engine.unsupported(model)
    if reason is not None:
        raise MLMInputError(reason)
    return engine


def _fast_unsupported(model: ModelFrame) -> str | None:
    return None


def _statsmodels_unsupported(model: ModelFrame) -> str | None:
    if not model.blocks:
        return "engine='statsmodels' needs at least one random term such as (1 | g)."
    return None


register(Engine("fast", "fast", _fast_unsupported,
                "lme4's profiled deviance: per-group sufficient statistics (one grouping factor) or the "
                "blocked Cholesky factor of MixedModels.jl (several, crossed or nested)"))
register(Engine("statsmodels", "statsmodels", _statsmodels_unsupported,
                "statsmodels' MixedLM with several optimisers, keeping the best likelihood"))

#: Chosen by "auto" only when no earlier engine fits the model: statsmodels runs when asked by name.
_AUTO_SKIP = {"statsmodels"}
#: Former engine names, now the fast engine (it fits crossed and nested models itself).
ALIASES: dict[str, str] = {"intercepts": "fast", "general": "fast"}

#: The engine names ``mh.fit`` accepts.
ENGINES: tuple[str, ...] = ("auto", *_REGISTRY, *ALIASES)
