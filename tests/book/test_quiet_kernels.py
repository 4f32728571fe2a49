"""No "Kernel is running over TCP without encryption" on screens (issue 18).

The kernels that `make book` (Jupyter Book, through jupyter-cache), `make timings` (nbclient)
and Jupyter applications (JupyterLab, nbconvert: the environment's jupyter_config.json) start
get CurveZMQ keys, so ipykernel has nothing to warn about. The kernel writes its warning to the
stderr it inherits, which capfd captures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
sys.path.insert(0, str(ROOT / "tools"))
import jupyter_settings  # noqa: E402
import quiet_kernels  # noqa: E402

WARNING = "without encryption"


def _notebook() -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])


def test_encrypted_kernel_manager_runs_a_notebook_without_the_warning(capfd) -> None:
    nb = _notebook()
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   kernel_manager_class=quiet_kernels.EncryptedKernelManager).execute()
    assert nb.cells[0].outputs[0]["text"] == "42\n"
    assert WARNING not in capfd.readouterr().err


def test_book_builds_execute_with_encrypted_kernels(capfd) -> None:
    """What the Sphinx extension does to jupyter-cache, which Jupyter Book executes notebooks with."""
    from jupyter_cache.executors import utils

    original = utils.executenb
    try:
        quiet_kernels._use_encrypted_kernels_in_jupyter_cache()
        quiet_kernels._use_encrypted_kernels_in_jupyter_cache()  # idempotent
        assert utils.executenb.keywords == {"kernel_manager_class": quiet_kernels.EncryptedKernelManager}
        result = utils.single_nb_execution(_notebook(), cwd=None, timeout=120, allow_errors=False)
        assert result.err is None and result.nb.cells[0].outputs[0]["text"] == "42\n"
        assert WARNING not in capfd.readouterr().err
    finally:
        utils.executenb = original


def test_book_config_loads_the_extension() -> None:
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["sphinx"]["local_extensions"]["quiet_kernels"] == "book/_ext"


def test_jupyter_settings_merge_into_an_environment(tmp_path: Path) -> None:
    existing = tmp_path / "etc" / "jupyter" / "jupyter_config.json"
    existing.parent.mkdir(parents=True)
    existing.write_text(json.dumps({"KernelManager": {"shutdown_wait_time": 3}, "Other": {"x": 1}}))
    jupyter_settings.install(tmp_path)
    jupyter_settings.install(tmp_path)  # twice: same result
    config = json.loads(existing.read_text())
    assert config == {"KernelManager": {"shutdown_wait_time": 3, "transport_encryption": "auto"}, "Other": {"x": 1}}
    overrides = json.loads((tmp_path / "share" / "jupyter" / "lab" / "settings" / "overrides.json").read_text())
    assert overrides["@jupyterlab/apputils-extension:notification"] == {"checkForUpdates": False, "fetchNews": "false"}


def test_nbconvert_reads_the_environment_setting(tmp_path: Path) -> None:
    """`jupyter nbconvert --execute` in an environment with the course's settings: no warning."""
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "jupyter_config.json").write_text((ROOT / "binder" / "jupyter_config.json").read_text())
    nb_path = tmp_path / "small.ipynb"
    nbformat.write(_notebook(), nb_path)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config_dir)}
    proc = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                           str(nb_path), "--output", "out"], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert WARNING not in proc.stderr
