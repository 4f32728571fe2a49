"""A chapter in JupyterLab as a student opens it (`make lab`: the student copies), in headless Chromium.

Starts `make lab` (which writes the student copies to _build/student and opens JupyterLab on
them) on a free local port, opens chapter 02 and checks, in what the page shows:

* no raw MyST markup (``:::{``, ``{glue``, ``{cite}``...): jupyterlab-myst renders the exercises,
  admonitions and dropdowns, and the student-copy tool turned glued values, citations and
  cross-references into text;
* no solution text before a click, and the solution after clicking "Solution to Exercise 1";
* no news pop-up, and no "Kernel is running over TCP without encryption" in the server's output.

Screenshots before and after the click go to _build/screenshots/. Skipped, with the reason,
when Chromium or make is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
SHOTS = ROOT / "_build" / "screenshots"
CHAPTER = "02_icc.ipynb"
RAW_MARKUP = [":::{", "```{", "{glue", "{cite}", "{cite:t}", "{numref}", "{term}", "{doc}", "{ref}",
              "static-explorer", ":class: dropdown"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"),
    pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _first_solution_phrase(notebook: Path) -> str:
    """The opening words of the first solution's text ("The ICC is 0.418"), as the page shows them."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and ":::{solution}" in text:
            block = text[text.index(":::{solution}"):].splitlines()[1:]
            body = [ln for ln in block if ln.strip() and not ln.startswith(":")]
            return re.split(r"[:;.]\s", body[0])[0].strip()
    raise AssertionError(f"no solution in {notebook}")


@pytest.fixture(scope="module")
def lab_server():
    port, token = _free_port(), "mlm-course-test"
    args = f"--no-browser --ServerApp.port={port} --ServerApp.ip=127.0.0.1 --IdentityProvider.token={token}"
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args += " --allow-root"
    (ROOT / "_build").mkdir(exist_ok=True)
    log_path = ROOT / "_build" / "lab_browser_test.log"
    log = open(log_path, "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(["make", "--no-print-directory", "lab", f"LAB_ARGS={args}"], cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300  # make may first install the run-time requirements
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None:
                    raise AssertionError(f"`make lab` stopped with exit code {proc.returncode}") from None
                if time.monotonic() > deadline:
                    raise AssertionError("JupyterLab did not start within 300 s") from None
                time.sleep(1)
        yield base, token, log_path
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # make and the JupyterLab it started
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def _visible_text(page) -> str:
    """The text of every cell as shown, scrolling through the notebook (JupyterLab renders the cells
    near the view); a markdown cell counts once jupyterlab-myst has rendered it."""
    seen: dict[str, str] = {}
    pending: set[str] = set()
    page.evaluate("document.querySelector('.jp-WindowedPanel-outer').scrollTop = 0")
    for _ in range(600):
        page.wait_for_timeout(300)
        cells = page.evaluate(
            "() => [...document.querySelectorAll('.jp-Notebook .jp-Cell')].map((c, i) => ["
            "c.getAttribute('data-windowed-list-index') ?? String(i), c.classList.contains('jp-MarkdownCell'),"
            " c.querySelector('.myst') !== null, c.innerText])")
        for key, markdown, rendered, text in cells:
            if markdown and not rendered:
                pending.add(key)
            elif len(text.strip()) >= len(seen.get(key, "").strip()):
                # JupyterLab's windowed notebook empties cells scrolled out of view: keep the
                # fullest text each cell has shown
                seen[key] = text
        at_end = page.evaluate(
            "() => { const o = document.querySelector('.jp-WindowedPanel-outer'); const before = o.scrollTop; "
            "o.scrollTop += o.clientHeight * 0.7; return o.scrollTop === before; }")
        if at_end:
            break
    assert not pending - set(seen), f"markdown cells never rendered by jupyterlab-myst: {sorted(pending - set(seen))}"
    return "\n".join(seen[k] for k in sorted(seen, key=lambda k: int(k) if k.isdigit() else 0))


def test_student_copy_reads_as_in_the_book_with_solutions_folded(lab_server) -> None:
    from playwright.sync_api import sync_playwright

    base, token, log_path = lab_server
    phrase = _first_solution_phrase(ROOT / "_build" / "student" / CHAPTER)
    assert len(phrase) >= 10
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{base}/lab/tree/{CHAPTER}?reset&token={token}")  # reset: no restored workspace
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
            # wait until jupyterlab-myst has rendered the markdown (the exercises become boxes)
            page.wait_for_function(
                "() => document.querySelectorAll('.jp-MarkdownCell .myst').length > 3", timeout=60_000)
            page.wait_for_timeout(2000)
            text = _visible_text(page)
            leftovers = [m for m in RAW_MARKUP if m in text]
            context = [text[max(0, text.index(m) - 300): text.index(m) + 200] for m in leftovers]
            assert not leftovers, f"raw markup visible in JupyterLab: {leftovers}: {context}"
            assert "Exercise 1" in text and "Solution to" in text, "exercises or solution dropdowns not rendered"
            assert phrase not in text, f"solution text visible before a click: {phrase!r}"
            assert not page.get_by_text("official Jupyter news").count(), "the news pop-up is shown"

            # the dropdown jupyterlab-myst renders for the first solution: <details><summary>Solution to
            # Exercise 1</summary>...; its "Exercise 1" is a link, so the test clicks the chevron
            summary = page.locator("details > summary").filter(has_text=re.compile(r"Solution to\s+Exercise\s1$"))
            page.evaluate("document.querySelector('.jp-WindowedPanel-outer').scrollTop = 0")
            for _ in range(600):  # scroll the notebook until the first dropdown is rendered
                if summary.count() and summary.first.is_visible():
                    break
                page.evaluate("document.querySelector('.jp-WindowedPanel-outer').scrollTop += 400")
                page.wait_for_timeout(150)
            page.wait_for_timeout(2000)  # let jupyterlab-myst finish re-rendering the cells in view
            summary = summary.first
            summary.scroll_into_view_if_needed()
            page.wait_for_timeout(1000)
            details = summary.locator("xpath=..")
            body = details.locator(".details-body, summary ~ *").first
            assert details.get_attribute("open") is None, "the solution is open before a click"
            assert not body.is_visible(), "the solution is visible before a click"
            page.screenshot(path=str(SHOTS / "lab_02_icc_solution_folded.png"))
            summary.locator(".details-toggle").click()  # the chevron (the "Exercise 1" in it is a link)
            page.wait_for_function("(el) => el.open", arg=details.element_handle(), timeout=10_000)
            body.wait_for(state="visible", timeout=10_000)
            assert phrase in " ".join(body.inner_text().split()), "the solution did not show after the click"
            page.wait_for_timeout(500)
            page.screenshot(path=str(SHOTS / "lab_02_icc_solution_open.png"))
        finally:
            browser.close()
    # the kernel JupyterLab started for the notebook has CurveZMQ keys (binder/jupyter_config.json)
    assert "without encryption" not in log_path.read_text(), "the kernel TCP warning reached the lab's log"
