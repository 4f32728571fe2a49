"""Setup self-check: is this environment ready for the course?

Run ``python -m mlm_helpers.check`` in a terminal (exit status 0 only when all is well), or
``mh.check.run()`` in a notebook cell (it also shows a slider: if you can see it, widgets work
in your front end). Every problem comes with the fix.

Examples
--------
>>> from mlm_helpers import check
>>> report = check.run(show_widget=False, stream=None)
>>> report.ok
True
"""

from __future__ import annotations

import importlib
import io
import sys
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TextIO

__all__ = ["run", "main", "Report", "REQUIRED"]

#: Packages the course needs, with the import name and the minimum version that works.
REQUIRED: dict[str, tuple[str, str]] = {
    "numpy": ("numpy", "1.26"),
    "scipy": ("scipy", "1.11"),
    "pandas": ("pandas", "2.1"),
    "statsmodels": ("statsmodels", "0.14"),
    "patsy": ("patsy", "0.5.6"),
    "matplotlib": ("matplotlib", "3.8"),
    "ipywidgets": ("ipywidgets", "8.0"),
    "jupyterlab": ("jupyterlab", "4.0"),
    "jupyterlab_widgets": ("jupyterlab_widgets", "3.0"),
    "jupyterlab_myst": ("jupyterlab_myst", "2.0"),
    "ipykernel": ("ipykernel", "6.0"),
}
PYTHON_MIN = (3, 11)
FIX_INSTALL = "pip install -r requirements.txt && pip install -e .   (or: make lab, which does both)"


@dataclass
class Report:
    """The checks that ran: (name, ok, detail, fix) each.

    Examples
    --------
    >>> r = Report()
    >>> r.add("Python", True, "3.11.9")
    >>> r
    <mlm_helpers setup check: 1 check, all good>
    """

    items: list[tuple[str, bool, str, str]] = field(default_factory=list)
    printed: bool = field(default=False, repr=False, compare=False)

    def __repr__(self) -> str:
        failed = [name for name, ok, _, _ in self.items if not ok]
        state = "all good" if not failed else "failed: " + ", ".join(failed)
        n = len(self.items)
        return f"<mlm_helpers setup check: {n} check{'s' if n != 1 else ''}, {state}>"

    def _ipython_display_(self) -> None:
        """As a cell's last value: nothing more when :func:`run` has printed the report already."""
        if not self.printed:
            print(self.text())

    @property
    def ok(self) -> bool:
        return all(ok for _, ok, _, _ in self.items)

    def add(self, name: str, ok: bool, detail: str, fix: str = "") -> None:
        self.items.append((name, ok, detail, fix))

    def text(self) -> str:
        lines = ["mlm_helpers setup check", ""]
        for name, ok, detail, fix in self.items:
            lines.append(f"[{' OK ' if ok else 'FAIL'}] {name}: {detail}")
            if not ok and fix:
                lines.append(f"       fix: {fix}")
        lines.append("")
        lines.append("All good: you are ready for the course." if self.ok else
                     "Some checks failed: apply the fixes above, restart the kernel and run the check again.")
        return "\n".join(lines)


def _version_tuple(v: str) -> tuple[int, ...]:
    out = []
    for part in v.split(".")[:3]:
        digits = "".join(ch for ch in part if ch.isdigit())
        out.append(int(digits) if digits else 0)
    return tuple(out)


def _pins() -> dict[str, str]:
    """Exact pins from the repository's requirements.txt, when running from a checkout."""
    req = Path(__file__).resolve().parents[1] / "requirements.txt"
    pins = {}
    if req.exists():
        for line in req.read_text().splitlines():
            line = line.split("#")[0].strip()
            if "==" in line:
                name, ver = line.split("==", 1)
                pins[name.strip().lower().replace("-", "_")] = ver.strip()
    return pins


def _check_python(report: Report) -> None:
    v = sys.version_info
    ok = (v.major, v.minor) >= PYTHON_MIN
    report.add("Python", ok, f"{v.major}.{v.minor}.{v.micro} ({sys.executable})",
               f"install Python {PYTHON_MIN[0]}.{PYTHON_MIN[1]} and create the environment with it "
               "(python3.11 -m venv .venv)")


def _check_packages(report: Report) -> None:
    pins = _pins()
    for dist, (module, minimum) in REQUIRED.items():
        try:
            installed = metadata.version(dist)
        except metadata.PackageNotFoundError:
            report.add(dist, False, "not installed", FIX_INSTALL)
            continue
        if _version_tuple(installed) < _version_tuple(minimum):
            report.add(dist, False, f"{installed} is older than the {minimum} the course needs",
                       f"pip install --upgrade '{dist}>={minimum}'")
            continue
        try:
            importlib.import_module(module)
        except Exception as exc:  # a broken install
            report.add(dist, False, f"{installed} is installed but does not import ({exc})",
                       f"pip install --force-reinstall {dist}")
            continue
        pinned = pins.get(dist.lower())
        note = f"{installed}" + (f" (the course pins {pinned})" if pinned and pinned != installed else "")
        report.add(dist, True, note)


def _check_widgets_frontend(report: Report) -> None:
    """The JupyterLab widget extension must be installed in the environment that runs JupyterLab."""
    prefix = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "@jupyter-widgets" / "jupyterlab-manager"
    ok = prefix.exists()
    report.add("widgets in JupyterLab", ok,
               "the jupyterlab-manager extension is installed" if ok else f"not found at {prefix}",
               "pip install jupyterlab_widgets (it comes with ipywidgets 8), then restart JupyterLab")


def _check_myst_frontend(report: Report) -> None:
    """JupyterLab renders the chapters' MyST (exercises, folded solutions) only with jupyterlab-myst."""
    prefix = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "jupyterlab-myst"
    ok = prefix.exists()
    report.add("MyST in JupyterLab", ok,
               "the jupyterlab-myst extension is installed (exercises and folded solutions render)" if ok
               else f"not found at {prefix}: the chapters would show raw markup and open solutions",
               "pip install -r requirements.txt (it pins jupyterlab-myst), then restart JupyterLab")


def _check_fit(report: Report) -> None:
    try:
        import mlm_helpers as mh

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = mh.fit("Yield ~ 1 + (1 | Batch)", mh.load_dataset("dyestuff"))
        expected = -159.8271  # R's lme4: logLik(lmer(Yield ~ 1 + (1 | Batch), Dyestuff))
        ok = abs(res.loglik - expected) < 1e-3
        report.add("a tiny fit", ok, f"Dyestuff REML log-likelihood {res.loglik:.4f} (lme4: {expected})",
                   "reinstall the package: pip install -e .")
    except Exception as exc:
        report.add("a tiny fit", False, f"failed: {type(exc).__name__}: {exc}", FIX_INSTALL)


def _check_plot(report: Report) -> None:
    """Draw a PNG with matplotlib's Agg canvas directly, leaving the session's backend alone."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure()
        FigureCanvasAgg(fig)
        fig.subplots().plot([0, 1], [0, 1])
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        report.add("plots", buf.tell() > 0, "matplotlib draws a PNG")
    except Exception as exc:
        report.add("plots", False, f"matplotlib failed: {exc}", "pip install --force-reinstall matplotlib")


def run(show_widget: bool = True, stream: TextIO | None | str = "stdout") -> Report:
    """Run every check and print the report.

    Parameters
    ----------
    show_widget : bool
        In a notebook, also display a slider: seeing it proves the front end renders widgets.
    stream : file-like, "stdout" or None
        Where to print the report ("stdout": the current standard output; None: do not print).

    Returns
    -------
    Report
        ``report.ok`` is True when everything passed. As the last line of a notebook cell it
        adds nothing under the printed report (its short ``repr`` is for the plain console).

    Examples
    --------
    >>> from mlm_helpers.check import run
    >>> run(show_widget=False, stream=None).ok
    True
    """
    report = Report()
    _check_python(report)
    _check_packages(report)
    _check_widgets_frontend(report)
    _check_myst_frontend(report)
    _check_plot(report)
    _check_fit(report)
    if stream is not None:
        print(report.text(), file=sys.stdout if isinstance(stream, str) else stream)
        report.printed = True
    if show_widget:
        try:
            from IPython import get_ipython
            from IPython.display import display

            if get_ipython() is not None and "IPKernelApp" in get_ipython().config:
                import ipywidgets as w

                display(w.VBox([w.IntSlider(value=5, min=0, max=10, description="test"),
                                w.HTML("If you can see and move this slider, widgets work in your front end. "
                                       "If you see only text like <code>IntSlider(...)</code>, restart "
                                       "JupyterLab from the course environment (make lab).")]))
        except Exception:  # the check itself must never crash a setup session
            pass
    return report


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: print the report, return 0 only when all is well.

    Parameters
    ----------
    argv : list of str, optional
        Unused; for symmetry with other entry points.

    Returns
    -------
    int
        The exit status.

    Examples
    --------
    >>> main() in (0, 1)  # doctest: +SKIP
    True
    """
    report = run(show_widget=False)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
