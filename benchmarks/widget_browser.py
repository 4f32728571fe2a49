"""Slider moves as a student sees them: JupyterLab in a browser, key press to new picture.

``widget_speed.py`` times the kernel's side of a move (refit, redraw, PNG). This script times the
whole round trip in JupyterLab: it starts a JupyterLab server on a free port with a throw-away
folder, opens one notebook per explorer in headless Chromium (Playwright), runs the widget cell,
moves each slider with the arrow keys, and waits until the picture in the page has changed.
For comparison, in the same run, it does the same with a *baseline* widget whose callback only
swaps in a ready-made PNG of the same size: the difference between the two is what the
explorer's refit and redraw add to the fixed cost of a widget round trip (browser events,
websocket, kernel messages).

Needs Chromium (``/usr/bin/chromium`` from Debian's package, or Playwright's own) and is not
part of the test suite: timings on a shared machine are noisy.

Run:  .venv/bin/python benchmarks/widget_browser.py
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

EXPLORERS = ["icc_explorer", "shrinkage_explorer", "slopes_explorer"]

BASELINE = '''import io
import ipywidgets as widgets
from PIL import Image

def _png(v):
    buf = io.BytesIO()
    Image.new("RGB", (720, 331), (255, 255 - 20 * v, 255)).save(buf, "png", compress_level=1)
    return buf.getvalue()

_pngs = [_png(v) for v in range(11)]
_slider = widgets.IntSlider(value=5, min=0, max=10, continuous_update=False)
_image = widgets.Image(value=_pngs[5], format="png")
_slider.observe(lambda change: setattr(_image, "value", _pngs[change["new"]]), names="value")
widgets.VBox([widgets.HBox([_slider]), _image])'''


def notebook(source: str) -> dict:
    return {"cells": [{"cell_type": "code", "metadata": {}, "source": source, "outputs": [], "execution_count": None}],
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_server(url: str, timeout: float = 90.0) -> None:
    t_end = time.time() + timeout
    while time.time() < t_end:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"JupyterLab did not answer at {url} within {timeout:.0f} s")


def time_moves(page, base: str, name: str, workspace: str) -> list[float]:
    page.goto(f"{base}/lab/workspaces/{workspace}/tree/{name}.ipynb?token={TOKEN}&reset")
    cell = page.locator(".jp-Notebook .jp-Cell >> visible=true").first
    cell.wait_for(timeout=90_000)
    time.sleep(3)
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    img = cell.locator(".jp-OutputArea img")
    img.wait_for(timeout=90_000)
    time.sleep(1.5)
    handles = cell.locator(".noUi-handle")
    # Time inside the page: from the key event reaching the slider to the picture's new source.
    img.evaluate("""el => {
        window.__moves = [];
        document.addEventListener('keydown', () => { window.__t0 = performance.now(); }, true);
        new MutationObserver(() => { window.__moves.push(performance.now() - window.__t0); })
            .observe(el, {attributes: true, attributeFilter: ['src']});
    }""")
    for k in range(handles.count()):
        for key in ["ArrowRight"] * 4 + ["ArrowLeft"] * 4:
            n_before = page.evaluate("window.__moves.length")
            handles.nth(k).focus()
            page.keyboard.press(key)
            try:
                page.wait_for_function(f"window.__moves.length > {n_before}", timeout=5000)
            except Exception:  # the slider was at its end: no move
                continue
            time.sleep(0.3)
    times = page.evaluate("window.__moves")
    return times


TOKEN = secrets.token_hex(8)


def main() -> None:
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="widget_browser_"))
    (folder / "baseline.ipynb").write_text(json.dumps(notebook(BASELINE)))
    for name in EXPLORERS:
        (folder / f"{name}.ipynb").write_text(json.dumps(notebook(f"from mlm_helpers import {name}\n{name}.widget()")))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(folder / "config"))
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", f"--port={port}",
         f"--ServerApp.token={TOKEN}", f"--ServerApp.root_dir={folder}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    chromium = shutil.which("chromium")
    try:
        wait_for_server(f"{base}/lab?token={TOKEN}")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            results = {}
            for i, name in enumerate(["baseline", *EXPLORERS]):
                page = browser.new_page(viewport={"width": 1300, "height": 1000})
                results[name] = time_moves(page, base, name, f"w{i}")
                page.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)
    base_med = statistics.median(results["baseline"])
    print("Key press to new picture in JupyterLab (headless Chromium), milliseconds")
    print(f"{'widget':<20}{'moves':>6}{'median':>8}{'max':>8}{'minus baseline':>16}")
    for name, times in results.items():
        med = statistics.median(times)
        extra = "" if name == "baseline" else f"{med - base_med:16.0f}"
        print(f"{name:<20}{len(times):>6}{med:8.0f}{max(times):8.0f}{extra}")
    print("baseline: a widget that only swaps in a ready-made PNG of the same size (the fixed cost of a round trip).")


if __name__ == "__main__":
    main()
