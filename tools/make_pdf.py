"""One PDF of the whole book, printed by Chromium from a single-page build (``make pdf``).

Why Chromium and not LaTeX: the HTML book is what the course is tested on (MathJax, the
figures, the exercise and solution boxes, the print styles of ``book/_static/book.css``), and
Chromium is already installed for the browser tests. A LaTeX PDF would need a TeX Live of
several hundred megabytes from Debian, and Jupyter Book's LaTeX route handles the notebooks'
HTML outputs (tables, the static explorers) poorly.

Steps:

1. ``jupyter-book build --builder singlehtml`` from the stored outputs (no execution), into
   ``_build/pdf/``;
2. open the page in headless Chromium, wait for MathJax, open every solution, show each
   explorer at its default frame, write a table of contents (chapters and their sections)
   at the top;
3. print it to A4 with page numbers and PDF bookmarks (``page.pdf(outline=True)``), code
   wrapped inside the margins by the print styles.

The PDF is written to ``_build/pdf/mlm-book.pdf`` and, when the HTML book has been built
(``_build/html``), copied to ``_build/html/_static/mlm-book.pdf``, where the landing page
links to it.

Example
-------
>>> from pathlib import Path
>>> make_pdf(Path("_build/pdf"))  # doctest: +SKIP
PosixPath('_build/pdf/mlm-book.pdf')
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from build_book import ROOT, build  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
PDF_NAME = "mlm-book.pdf"

PREPARE = r"""
() => {
  // Solutions and other dropdowns open.
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
  document.querySelectorAll('.toggle-details__summary, button.toggle-button').forEach(e => e.remove());
  // A printed table of contents: every chapter (h1) and its sections (h2).
  const main = document.querySelector('main') || document.body;
  const heads = Array.from(main.querySelectorAll('h1, h2')).filter(h => h.closest('section'));
  const toc = document.createElement('nav');
  toc.className = 'print-toc';
  toc.innerHTML = '<h1>Contents</h1>';
  const list = document.createElement('ol');
  let current = null;
  heads.forEach(h => {
    const section = h.closest('section');
    if (!section.id) { return; }
    const text = h.textContent.replace(/#$/, '').trim();
    const a = '<a href="#' + section.id + '">' + text + '</a>';
    if (h.tagName === 'H1') {
      current = document.createElement('li');
      current.innerHTML = a + '<ol></ol>';
      list.appendChild(current);
    } else if (current) {
      const li = document.createElement('li');
      li.innerHTML = a;
      current.querySelector('ol').appendChild(li);
    }
  });
  toc.appendChild(list);
  const style = document.createElement('style');
  style.textContent = `
    .print-toc { break-after: page; }
    .print-toc ol { list-style: none; padding-left: 0; }
    .print-toc > ol > li { margin-top: 0.5em; font-weight: 600; }
    .print-toc ol ol { padding-left: 1.5em; font-weight: normal; font-size: 0.9em; }
    main section > h1 { break-before: page; }
    .print-toc a { text-decoration: none; color: inherit; }
  `;
  document.head.appendChild(style);
  const first = main.querySelector('h1');
  const anchor = first ? first.closest('section') : null;
  if (anchor) { anchor.parentNode.insertBefore(toc, anchor.nextSibling); } else { main.prepend(toc); }
  return heads.length;
}
"""


def single_page(folder: Path) -> Path:
    """The single-page build's page, placed where its links work.

    Sphinx's ``singlehtml`` writes every link relative to the output's root, but Jupyter Book
    saves the page as ``<root doc>.html`` (here ``book/index.html``; ``index.html`` only
    redirects there). A copy at the root, ``book.html``, finds its styles, scripts and images.
    """
    import yaml

    out = folder / "_build" / "singlehtml"
    root = yaml.safe_load((ROOT / "_toc.yml").read_text())["root"]
    page = out / "book.html"
    shutil.copy2(out / f"{root}.html", page)
    return page


def print_pdf(page_file: Path, out: Path) -> Path:
    """Print a built single page to ``out`` with Chromium.

    Parameters
    ----------
    page_file : Path
        The single-page HTML (``.../singlehtml/index.html``).
    out : Path
        The PDF to write.

    Returns
    -------
    Path
        ``out``.
    """
    from playwright.sync_api import sync_playwright

    if CHROMIUM is None:
        raise SystemExit("make pdf needs Chromium (apt-get install chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 1400})
            page.goto(page_file.as_uri(), wait_until="load", timeout=300_000)
            if page.locator(".math").count():
                # MathJax typesets the whole book (about 1,200 formulas): minutes on a slow machine.
                page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                                       timeout=120_000)
                page.evaluate("() => MathJax.startup.promise.then(() => true)")
                page.wait_for_function("() => document.querySelectorAll('mjx-container').length > 0",
                                       timeout=900_000)
            page.evaluate(PREPARE)
            page.emulate_media(media="print")
            page.wait_for_timeout(500)
            page.pdf(path=str(out), format="A4", print_background=True, outline=True, tagged=True,
                     margin={"top": "16mm", "bottom": "16mm", "left": "14mm", "right": "14mm"},
                     display_header_footer=True, header_template="<span></span>",
                     footer_template=('<div style="font-size:8px;width:100%;text-align:center;color:#555">'
                                      'Multilevel Models in Python · <span class="pageNumber"></span> / '
                                      '<span class="totalPages"></span></div>'))
        finally:
            browser.close()
    return out


def make_pdf(folder: Path = ROOT / "_build" / "pdf") -> Path:
    """Build the single page and print it; return the PDF's path (see the module docstring)."""
    code = build(folder, "singlehtml", strict=False)
    if code != 0:
        raise SystemExit(f"the single-page build failed (exit {code})")
    pdf = print_pdf(single_page(folder), folder / PDF_NAME)
    html_static = ROOT / "_build" / "html" / "_static"
    if html_static.is_dir():
        shutil.copy2(pdf, html_static / PDF_NAME)
    return pdf


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="one PDF of the whole book")
    ap.add_argument("--out", default=str(ROOT / "_build" / "pdf"))
    ap.add_argument("--print-only", action="store_true", help="reuse the single-page build in --out")
    args = ap.parse_args(argv)
    folder = Path(args.out)
    if args.print_only:
        pdf = print_pdf(single_page(folder), folder / PDF_NAME)
    else:
        pdf = make_pdf(folder)
    print(f"{pdf} ({pdf.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
