"""The workshop tools: nbgitpuller links (tools/hub_links.py) and the timing table (benchmarks/notebook_times.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[2]


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hub_links = _load(ROOT / "tools" / "hub_links.py")
notebook_times = _load(ROOT / "benchmarks" / "notebook_times.py")


def test_repository_comes_from_config(tmp_path) -> None:
    url, branch = hub_links.repository_from_config()
    assert branch == "main"
    assert url == "" or url.startswith("https://"), url   # empty until the course is published
    cfg = tmp_path / "_config.yml"
    cfg.write_text('repository:\n  url: https://github.com/a/b   # note\n  branch: dev\n')
    assert hub_links.repository_from_config(cfg) == ("https://github.com/a/b", "dev")


def test_hub_links_without_a_repository_says_what_to_set(monkeypatch) -> None:
    import pytest

    monkeypatch.setattr(hub_links, "repository_from_config", lambda: ("", "main"))
    with pytest.raises(SystemExit, match="repository.url"):
        hub_links.main(["https://hub.example.org"])


def test_hub_link_format() -> None:
    link = hub_links.hub_link("hub.example.org/", "https://github.com/mlm-course/multilevel-models-python",
                              "02_icc.ipynb")
    parts = urlsplit(link)
    assert parts.scheme == "https" and parts.netloc == "hub.example.org"
    assert parts.path == "/hub/user-redirect/git-pull"
    query = parse_qs(parts.query)
    assert query == {
        "repo": ["https://github.com/mlm-course/multilevel-models-python"],
        "branch": ["main"],
        "urlpath": ["lab/tree/multilevel-models-python/chapters/02_icc.ipynb"],
    }
    flat = hub_links.hub_link("https://h", "https://github.com/a/b.git", "x.ipynb", folder=".")
    assert parse_qs(urlsplit(flat).query)["urlpath"] == ["lab/tree/b/x.ipynb"]


def test_hub_links_prints_one_link_per_chapter(capsys) -> None:
    assert hub_links.main(["https://hub.example.org", "--repo", "https://github.com/a/b"]) == 0
    lines = capsys.readouterr().out.splitlines()
    chapters = sorted((ROOT / "chapters").glob("[0-9A][0-9]_*.ipynb"))  # chapters and appendices
    assert len(lines) == len(chapters)
    assert all(line.startswith("https://hub.example.org/hub/user-redirect/git-pull?") for line in lines)


def test_timing_table() -> None:
    text = notebook_times.table([("00_a", "A", 3, 1.25), ("01_b", "B", 4, 2.0)], machine="2 CPU cores (x)")
    lines = text.splitlines()
    assert lines[0] == "| Chapter | Title | Code cells | Run time (s) |"
    assert lines[2] == "| `00_a` | A | 3 | 1.2 |" or lines[2] == "| `00_a` | A | 3 | 1.3 |"
    assert lines[4] == "| **all** | | 7 | **3.2** |"
    assert "2 CPU cores (x)" in text
    assert notebook_times.title_of(ROOT / "chapters" / "00_first_look.ipynb").startswith("A first look")


def test_generated_timing_table_is_committed_and_covers_chapters_00_to_07() -> None:
    text = (ROOT / "book" / "instructors" / "_generated" / "notebook_times.md").read_text()
    for path in sorted((ROOT / "chapters").glob("0[0-7]_*.ipynb")):
        assert f"`{path.stem}`" in text
