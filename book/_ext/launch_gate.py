"""Launch and repository buttons only when a real repository is configured.

Jupyter Book builds the launch buttons (Binder, Colab, JupyterHub) and the repository button
from ``repository.url`` in ``_config.yml``, and falls back to its own repository when the
setting is missing. A button that opens someone else's repository, or a placeholder address,
lies to the reader. This extension removes the buttons unless ``repository.url`` is a real
``https://`` address (not jupyter-book's default, not an ``example`` address), shows the
repository button once it is (jupyter-book refuses ``use_repository_button: true`` with an
empty address), and drops the JupyterHub button unless ``launch_buttons.jupyterhub_url`` is
real as well.

Example
-------
In ``_config.yml``::

    repository:
      url: https://github.com/your-org/your-repo   # "" keeps the buttons off
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from sphinx.application import Sphinx
from sphinx.config import Config

DEFAULT_REPOSITORY = "https://github.com/executablebooks/jupyter-book"


def is_real_url(url: str | None) -> bool:
    """True for an ``https://`` address that is neither a placeholder nor jupyter-book's default.

    Parameters
    ----------
    url : str or None
        The configured address.

    Returns
    -------
    bool

    Examples
    --------
    >>> is_real_url("https://github.com/acme/mlm-course")
    True
    >>> is_real_url(""), is_real_url("https://jupyterhub.example.org"), is_real_url(DEFAULT_REPOSITORY)
    (False, False, False)
    """
    if not url:
        return False
    parsed = urlparse(url.strip())
    host = parsed.hostname or ""
    if parsed.scheme != "https" or not host or url.rstrip("/") == DEFAULT_REPOSITORY:
        return False
    return not any(part in ("example", "invalid", "localhost") for part in host.split("."))


def gate_buttons(options: dict[str, Any]) -> dict[str, Any]:
    """Theme options with the launch and repository buttons removed unless their addresses are real.

    Parameters
    ----------
    options : dict
        ``html_theme_options`` as jupyter-book wrote them.

    Returns
    -------
    dict
        A new dict.

    Examples
    --------
    >>> gate_buttons({"repository_url": "", "use_repository_button": True,
    ...               "launch_buttons": {"binderhub_url": "https://mybinder.org"}})["launch_buttons"]
    {}
    """
    out = dict(options)
    launch = dict(out.get("launch_buttons") or {})
    if not is_real_url(out.get("repository_url")):
        out["launch_buttons"] = {}
        out["repository_url"] = ""
        for button in ("use_repository_button", "use_edit_page_button", "use_issues_button",
                       "use_source_button", "use_download_button_for_repository"):
            if button in out:
                out[button] = False
        return out
    out["use_repository_button"] = True
    if not is_real_url(launch.get("jupyterhub_url")):
        launch.pop("jupyterhub_url", None)
    out["launch_buttons"] = launch
    return out


def _gate(app: Sphinx, config: Config) -> None:
    config.html_theme_options = gate_buttons(dict(config.html_theme_options or {}))


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("config-inited", _gate, priority=900)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
