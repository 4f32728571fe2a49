"""Print nbgitpuller links that open each chapter on a JupyterHub, one per line.

A link like

    https://HUB/hub/user-redirect/git-pull?repo=REPO&branch=main&urlpath=lab/tree/NAME/chapters/02_icc.ipynb

logs the attendee in, clones (or updates, never overwriting their edits) the course repository
into their home folder as NAME/, and opens the chapter in JupyterLab. The hub's user image
needs ``nbgitpuller`` and ``jupyterlab-myst`` (which folds each solution until it is clicked);
an image built from ``binder/`` has both (see the instructor guide). The repository URL and
branch are read from ``_config.yml`` (``repository.url``, ``repository.branch``) unless given.
Only the standard library is used.

Run:  make hub-links HUB=https://hub.example.org
      python tools/hub_links.py https://hub.example.org [--repo URL] [--branch B] [--folder F] [--markdown]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]


def repository_from_config(config: Path = ROOT / "_config.yml") -> tuple[str, str]:
    """(url, branch) of the ``repository:`` block of the book's _config.yml."""
    text = config.read_text(encoding="utf-8")
    block = re.search(r"^repository:\s*\n((?:[ \t]+.*\n?)+)", text, flags=re.M)
    if not block:
        raise SystemExit(f"no 'repository:' block in {config}; pass --repo")
    fields = dict(re.findall(r"^[ \t]+(\w+):\s*(\S+)", block.group(1), flags=re.M))
    return fields["url"].strip("\"'"), fields.get("branch", "main").strip("\"'")


def hub_link(hub: str, repo: str, notebook: str, branch: str = "main", folder: str = "chapters") -> str:
    """The nbgitpuller link that opens ``folder/notebook`` of ``repo`` on ``hub``."""
    hub = hub.rstrip("/")
    if not hub.startswith(("http://", "https://")):
        hub = "https://" + hub
    name = repo.rstrip("/").removesuffix(".git").rsplit("/", 1)[-1]
    folder = folder.strip("/").removeprefix(".").strip("/")
    urlpath = f"lab/tree/{name}/{folder + '/' if folder else ''}{notebook}"
    return (
        f"{hub}/hub/user-redirect/git-pull?repo={quote(repo, safe='')}"
        f"&branch={quote(branch, safe='')}&urlpath={quote(urlpath, safe='')}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="nbgitpuller links for every chapter")
    parser.add_argument("hub", help="the hub's address, e.g. https://hub.example.org")
    parser.add_argument("--repo", help="repository URL (default: repository.url of _config.yml)")
    parser.add_argument("--branch", help="branch (default: repository.branch of _config.yml, else main)")
    parser.add_argument("--folder", default="chapters", help="folder of the notebooks in the repository")
    parser.add_argument("--markdown", action="store_true", help="print a markdown list with chapter names")
    args = parser.parse_args(argv)
    url, branch = repository_from_config() if not (args.repo and args.branch) else (args.repo, args.branch)
    repo, branch = args.repo or url, args.branch or branch
    if not repo:
        raise SystemExit("no repository to link to: set repository.url in _config.yml "
                         "(the public repository of the course) or pass --repo URL")
    notebooks = sorted(p.name for p in (ROOT / "chapters").glob("[0-9A][0-9]_*.ipynb"))  # chapters, appendices
    for nb in notebooks:
        link = hub_link(args.hub, repo, nb, branch=branch, folder=args.folder)
        print(f"- [{nb.removesuffix('.ipynb')}]({link})" if args.markdown else link)
    return 0


if __name__ == "__main__":
    sys.exit(main())
