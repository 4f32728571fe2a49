/* The book's own scripts: figures that open at full size, and accessible names the theme
   leaves out. Runs once the page is parsed; needs nothing from outside the book. */
(function () {
  "use strict";

  // Each figure in a chapter's output becomes a link to its own image file, so a reader can
  // open it at full resolution (and zoom on a phone). The static explorers are left alone.
  function zoomableFigures() {
    document.querySelectorAll("main .cell_output img, main figure img").forEach(function (img) {
      if (img.closest("a") || img.closest(".static-explorer")) { return; }
      var link = document.createElement("a");
      link.href = img.getAttribute("src");
      link.className = "figure-zoom";
      link.setAttribute("aria-label", "Open the figure at full size: " + (img.getAttribute("alt") || "figure"));
      img.parentNode.insertBefore(link, img);
      link.appendChild(img);
    });
  }

  // pydata-sphinx-theme's sidebar: the <summary> that expands a section holds only an icon.
  // Give it the name of the section it expands.
  function nameTocToggles() {
    document.querySelectorAll("nav summary").forEach(function (summary) {
      if (summary.getAttribute("aria-label") || summary.textContent.trim()) { return; }
      var link = summary.parentNode && summary.parentNode.parentNode
        ? summary.parentNode.parentNode.querySelector(":scope > a") : null;
      var name = link ? link.textContent.trim() : "this section";
      summary.setAttribute("aria-label", "Show or hide the pages of " + name);
    });
  }

  // The search button shows "Search" and the Ctrl+K shortcut but is named only "Search":
  // let its visible text be its name (WCAG 2.5.3, label in name).
  function nameSearchButton() {
    document.querySelectorAll("button.search-button-field").forEach(function (button) {
      button.removeAttribute("aria-label");
      button.setAttribute("aria-keyshortcuts", "Control+K");
    });
  }

  // myst-nb's "Show code cell source" toggles (hide-input cells) are named "Toggle hidden
  // content", which a speech-input user cannot guess from what they see: name them by their
  // visible text (the "Show ..." or "Hide ..." line on show).
  function nameCodeToggles() {
    document.querySelectorAll("details.hide > summary[aria-label]").forEach(function (summary) {
      if (summary.querySelector(".admonition-title")) { summary.removeAttribute("aria-label"); }
    });
  }

  function init() {
    zoomableFigures();
    nameTocToggles();
    nameSearchButton();
    nameCodeToggles();
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); }
  else { init(); }
})();
