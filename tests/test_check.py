"""The setup self-check: passes here, fails helpfully when something is missing."""

from __future__ import annotations

import subprocess
import sys
from collections import namedtuple
from importlib import metadata

from mlm_helpers import check


def test_passes_in_the_project_environment():
    proc = subprocess.run([sys.executable, "-m", "mlm_helpers.check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "All good" in proc.stdout
    assert "[FAIL]" not in proc.stdout


def test_missing_package_fails_with_fix(monkeypatch, capsys):
    real = metadata.version

    def fake(name):
        if name == "statsmodels":
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(check.metadata, "version", fake)
    assert check.main() == 1
    out = capsys.readouterr().out
    assert "[FAIL] statsmodels: not installed" in out
    assert "fix: pip install -r requirements.txt" in out


def test_old_package_version(monkeypatch):
    real = metadata.version
    monkeypatch.setattr(check.metadata, "version", lambda n: "7.0.0" if n == "ipywidgets" else real(n))
    report = check.run(show_widget=False, stream=None)
    assert not report.ok
    failed = [i for i in report.items if not i[1]]
    assert failed[0][0] == "ipywidgets" and "older than" in failed[0][2] and "ipywidgets>=8.0" in failed[0][3]


def test_old_python(monkeypatch):
    V = namedtuple("V", "major minor micro releaselevel serial")
    monkeypatch.setattr(check.sys, "version_info", V(3, 9, 1, "final", 0))
    report = check.run(show_widget=False, stream=None)
    item = report.items[0]
    assert item[0] == "Python" and not item[1] and "3.11" in item[3]


def test_missing_widget_extension(monkeypatch, tmp_path):
    monkeypatch.setattr(check.sys, "prefix", str(tmp_path))
    report = check.run(show_widget=False, stream=None)
    item = [i for i in report.items if i[0] == "widgets in JupyterLab"][0]
    assert not item[1] and "jupyterlab_widgets" in item[3]


def test_module_run_prints_nothing_on_stderr():
    """`python -m mlm_helpers.check` starts with the report, not with a RuntimeWarning (issue 18)."""
    proc = subprocess.run([sys.executable, "-W", "default", "-m", "mlm_helpers.check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


def test_importing_the_package_does_not_import_check():
    code = "import sys, mlm_helpers as mh; assert 'mlm_helpers.check' not in sys.modules; print(mh.check.run)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "function run" in proc.stdout


def test_plot_check_keeps_the_sessions_backend(monkeypatch):
    import matplotlib

    calls = []
    monkeypatch.setattr(matplotlib, "use", lambda *a, **k: calls.append(a))
    report = check.run(show_widget=False, stream=None)
    assert report.ok and not calls


def test_report_as_last_line_of_a_cell_shows_only_the_report():
    """In a notebook, `mh.check.run(show_widget=False)` as the cell's last line: the report, once."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("import mlm_helpers as mh\nmh.check.run(show_widget=False)"))
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    outputs = nb.cells[0].outputs
    assert [o.output_type for o in outputs] == ["stream"], outputs
    assert outputs[0].text.count("mlm_helpers setup check") == 1 and "All good" in outputs[0].text
    assert "Report(" not in outputs[0].text


def test_report_repr_is_one_line():
    report = check.run(show_widget=False, stream=None)
    assert repr(report).startswith("<mlm_helpers setup check:") and "\n" not in repr(report)


def test_missing_myst_extension(monkeypatch, tmp_path):
    monkeypatch.setattr(check.sys, "prefix", str(tmp_path))
    report = check.run(show_widget=False, stream=None)
    item = [i for i in report.items if i[0] == "MyST in JupyterLab"][0]
    assert not item[1] and "raw markup" in item[2] and "jupyterlab-myst" in item[3]
