"""Run small linear algebra on one BLAS thread.

The fast engine works on many tiny matrices. OpenBLAS's default of one thread per core makes
each of those calls slower (threads start, wait and contend), and on the 2-core machines of a
workshop room a fit took three to four times the CPU it needs. The limit applies only while a
fit runs; afterwards numpy uses all cores again.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)

_controller = None


def _get_controller():
    global _controller
    if _controller is None:
        try:
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController()
        except Exception:  # threadpoolctl missing or unable to inspect the libraries
            _controller = False
    return _controller


@contextlib.contextmanager
def one_blas_thread():
    """Context manager: BLAS limited to one thread inside the block (adds no stack frame to warnings
    raised in the block, so they still point at the user's line)."""
    ctl = _get_controller()
    if not ctl:
        yield
        return
    with ctl.limit(limits=1, user_api="blas"):
        yield


def single_blas_thread(func: F) -> F:
    """Decorator: call ``func`` with BLAS limited to one thread (re-entrant, cheap)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with one_blas_thread():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
