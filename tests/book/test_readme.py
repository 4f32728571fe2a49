"""The README's "A first taste" runs as written (in a fresh interpreter, outside the repository)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _first_taste() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## A first taste", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, "the section should hold python code"
    return "\n".join(blocks)  # every block of the section, in order, as a reader would run them


def test_readme_first_taste_runs_as_written(tmp_path: Path) -> None:
    code = _first_taste()
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={"MPLBACKEND": "Agg", "PATH": "", "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ICC = 0.180" in proc.stdout
    assert "boundary-corrected p" in proc.stdout
