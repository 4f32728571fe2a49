"""Page weight and first paint of every page of the built book, on an emulated slow-4G link.

Serves the built HTML over a local HTTP server (the throttling of Chrome's DevTools protocol
applies to network requests, not to ``file://``), opens each page in headless Chromium with
``Network.emulateNetworkConditions`` set to the "slow 4G" profile below, scrolls to the bottom so lazily loaded images load too, and records

* ``weight``: the raw (uncompressed, on-disk) size of every file the page loaded (HTML,
  scripts, styles, fonts, images), and ``transfer``, the bytes sent over the link: the server
  gzips text files, as GitHub Pages, Netlify or any web server does;
* ``first paint``: ``first-contentful-paint`` from the Paint Timing API, over that link.

Targets (issue 15): every chapter page under 2.5 MB and a first paint under 3 s.

Usage::

    python tools/build_book.py                      # -> _build/fast/_build/html
    python benchmarks/page_weight.py [HTML_DIR] [--pages chapters/02_icc ...]

Example
-------
>>> rows = measure(Path("_build/fast/_build/html"), ["chapters/00_first_look"])  # doctest: +SKIP
>>> rows[0]["weight_mb"] < 2.5  # doctest: +SKIP
True
"""

from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import io
import shutil
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")

# Lighthouse's "slow 4G" (mobile) link: 150 ms round trip, 1.6 Mbit/s down, 750 kbit/s up.
SLOW_4G = {
    "offline": False,
    "latency": 150,
    "downloadThroughput": 1.6 * 1024 * 1024 / 8,
    "uploadThroughput": 750 * 1024 / 8,
}
CPU_SLOWDOWN = 1
WEIGHT_LIMIT_MB = 2.5
PAINT_LIMIT_S = 3.0


def toc_pages() -> list[str]:
    """Every page of the book in toc order (root first), without extension.

    Examples
    --------
    >>> toc_pages()[0]
    'book/index'
    """
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc["parts"]:
        for chapter in part["chapters"]:
            pages.append(chapter["file"])
            pages += [s["file"] for s in chapter.get("sections", [])]
    return pages


COMPRESSIBLE = (".html", ".css", ".js", ".json", ".svg", ".txt", ".ttf")
GZIP = True  # --no-gzip: serve every file as it is (the worst case: a host that does not compress)


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Static files, gzip-compressed for text types as any web host (GitHub Pages, Netlify) does."""

    def log_message(self, *args) -> None:
        pass

    def send_head(self):  # type: ignore[override]
        path = Path(self.translate_path(self.path))
        if (GZIP and path.suffix in COMPRESSIBLE and path.is_file()
                and "gzip" in self.headers.get("Accept-Encoding", "")):
            body = gzip.compress(path.read_bytes(), compresslevel=6)
            self.send_response(200)
            self.send_header("Content-Type", self.guess_type(str(path)))
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            return io.BytesIO(body)
        return super().send_head()


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on a free local port; yield its base URL."""
    handler = functools.partial(_Handler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def measure_page(browser, base: str, page_name: str, html: Path, width: int = 1280) -> dict:
    """Weight (bytes of all responses) and first contentful paint of one page, throttled."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.emulateNetworkConditions", SLOW_4G)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
    sizes: dict[str, float] = {}
    urls: dict[str, str] = {}
    cdp.on("Network.responseReceived", lambda e: urls.__setitem__(e["requestId"], e["response"]["url"]))
    cdp.on("Network.loadingFinished",
           lambda e: sizes.__setitem__(e["requestId"], float(e.get("encodedDataLength", 0))))
    try:
        response = page.goto(base + page_name + ".html", wait_until="load", timeout=120_000)
        if response is None or response.status != 200:
            raise SystemExit(f"{page_name}.html: HTTP {response.status if response else '?'} (is the book built there?)")
        fcp = page.evaluate(
            "() => { const e = performance.getEntriesByName('first-contentful-paint')[0]; return e ? e.startTime : null; }")
        # Scroll through the page so lazily loaded images are fetched as a reader's would be.
        page.evaluate("""async () => {
            for (let y = 0; y < document.body.scrollHeight; y += 600) { window.scrollTo(0, y);
              await new Promise(r => setTimeout(r, 20)); } }""")
        page.wait_for_load_state("networkidle", timeout=120_000)
        transfer = sum(sizes.values())
        raw = {}
        for key, url in urls.items():
            local = html / unquote(urlsplit(url).path).lstrip("/")
            raw[key] = local.stat().st_size if local.is_file() else sizes.get(key, 0.0)
        biggest = sorted(((raw[k], urls[k]) for k in raw), reverse=True)[:3]
    finally:
        context.close()
    return {"page": page_name, "weight_mb": sum(raw.values()) / 1e6, "transfer_mb": transfer / 1e6,
            "first_paint_s": (fcp or float("nan")) / 1e3, "requests": len(urls),
            "biggest": [(round(b / 1e6, 2), u.rsplit("/", 1)[-1].split("?")[0][:32]) for b, u in biggest]}


def measure(html: Path, pages: list[str] | None = None, browser=None) -> list[dict]:
    """Measure ``pages`` (default: every page of the toc) of the book built in ``html``.

    Parameters
    ----------
    html : Path
        The built HTML folder (``.../_build/html``).
    pages : list of str, optional
        Page names without extension, e.g. ``"chapters/02_icc"``.
    browser : playwright Browser, optional
        A running Chromium (the tests share theirs); else one is started.

    Returns
    -------
    list of dict
        One row per page: ``page``, ``weight_mb``, ``transfer_mb``, ``first_paint_s``,
        ``requests``, ``biggest``.
    """
    pages = pages or toc_pages()
    if browser is not None:
        with serve(html) as base:
            return [measure_page(browser, base, name, html) for name in pages]
    from playwright.sync_api import sync_playwright

    if CHROMIUM is None:
        raise SystemExit("Chromium is not installed (apt-get install chromium)")
    with sync_playwright() as pw:
        own = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            return measure(html, pages, browser=own)
        finally:
            own.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="page weight and first paint on slow 4G")
    ap.add_argument("html", nargs="?", default=str(ROOT / "_build" / "fast" / "_build" / "html"))
    ap.add_argument("--pages", nargs="*", help="pages to measure (default: all pages of the toc)")
    ap.add_argument("--no-gzip", action="store_true", help="serve files uncompressed")
    args = ap.parse_args(argv)
    global GZIP
    GZIP = not args.no_gzip
    rows = measure(Path(args.html), args.pages)
    print(f"slow 4G: {SLOW_4G['downloadThroughput'] * 8 / 1e6:.2f} Mbit/s down, "
          f"{SLOW_4G['latency']:.0f} ms latency, CPU {CPU_SLOWDOWN}x slower")
    print(f"{'page':34s} {'raw MB':>7s} {'sent MB':>7s} {'first paint s':>13s} {'requests':>8s}  biggest (raw MB)")
    bad = 0
    for r in rows:
        over = r["page"].startswith("chapters/") and (r["weight_mb"] >= WEIGHT_LIMIT_MB
                                                       or r["first_paint_s"] >= PAINT_LIMIT_S)
        bad += over
        print(f"{r['page']:34s} {r['weight_mb']:7.2f} {r['transfer_mb']:7.2f} {r['first_paint_s']:13.2f} {r['requests']:8d}  "
              f"{r['biggest']}{'  <-- over target' if over else ''}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
