"""Kernels started by the book build and the course's scripts use CurveZMQ transport encryption.

ipykernel 7 warns "Kernel is running over TCP without encryption" on every start of a kernel
whose manager did not provision CurveZMQ keys; `make book` starts one per chapter. The kernel
spec that ipykernel installs declares Curve support, and jupyter_client (8.10+) provisions the
keys when its ``KernelManager.transport_encryption`` is ``"auto"``, so this is configured, not
filtered:

* Jupyter applications (``jupyter lab``, ``jupyter nbconvert --execute``) read it from the
  environment's ``etc/jupyter/jupyter_config.json``, which ``tools/jupyter_settings.py``
  installs (``make``, ``binder/postBuild``);
* code that drives nbclient directly (``make timings``, the tests) passes
  ``kernel_manager_class=EncryptedKernelManager``;
* Jupyter Book executes notebooks through jupyter-cache, which calls ``nbclient.execute``
  without a configuration; as a Sphinx extension this module gives that call the same
  kernel manager.

Where pyzmq lacks Curve support the manager falls back to the unencrypted default (and the
kernel's warning, which is then true, is shown).
"""

from __future__ import annotations

import functools
from typing import Any

import zmq
from jupyter_client import AsyncKernelManager
from traitlets import default


class EncryptedKernelManager(AsyncKernelManager):
    """An ``AsyncKernelManager`` that provisions CurveZMQ keys when pyzmq and the kernel support them.

    Examples
    --------
    >>> import nbformat
    >>> from nbclient import NotebookClient
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    >>> _ = NotebookClient(nb, kernel_manager_class=EncryptedKernelManager).execute()  # doctest: +SKIP
    """

    @default("transport_encryption")
    def _transport_encryption_default(self) -> str:
        return "auto" if zmq.has("curve") else "disabled"


def _use_encrypted_kernels_in_jupyter_cache() -> None:
    from jupyter_cache.executors import utils as jc_utils

    execute = getattr(jc_utils, "executenb", None)
    if execute is None:
        raise RuntimeError(
            "quiet_kernels: jupyter_cache.executors.utils.executenb is gone (a new jupyter-cache?); "
            "update book/_ext/quiet_kernels.py to pass kernel_manager_class to nbclient another way."
        )
    if getattr(execute, "_mlm_encrypted", False):
        return
    patched = functools.partial(execute, kernel_manager_class=EncryptedKernelManager)
    patched._mlm_encrypted = True  # type: ignore[attr-defined]
    jc_utils.executenb = patched


def setup(app: Any) -> dict[str, Any]:
    _use_encrypted_kernels_in_jupyter_cache()
    return {"parallel_read_safe": True, "parallel_write_safe": True}
