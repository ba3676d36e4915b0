"""The style sheet and scripts inlined in the HTML report (no network, no server)."""

from __future__ import annotations

__all__ = ["CONTROL_SCRIPT", "ERROR_SCRIPT", "STYLE"]

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; background: #fafafa; }
h1 { font-size: 1.4em; margin-bottom: 0.2em; }
h2 { font-size: 1.15em; margin: 0 0 0.3em 0; word-break: break-all; }
h3 { font-size: 1em; margin: 1em 0 0.3em 0; }
.note, .meta { color: #555; font-size: 0.9em; margin: 0.2em 0 0.8em 0; }
section.panel { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 1em; margin: 1.2em 0; }
.view { display: flex; flex-wrap: wrap; gap: 1.2em; align-items: flex-start; }
.stack { position: relative; max-width: 100%; background: #1f1f1f; line-height: 0; }
.stack img { width: 100%; height: 100%; image-rendering: pixelated; }
.stack img.layer { position: absolute; left: 0; top: 0; opacity: 0.6; }
.controls { min-width: 16em; font-size: 0.95em; }
.controls label.plane { display: block; margin: 0.15em 0; cursor: pointer; }
.swatch { display: inline-block; width: 0.9em; height: 0.9em; vertical-align: -0.1em;
          border: 1px solid #0003; margin-right: 0.3em; }
.controls button { margin: 0.5em 0.3em 0.3em 0; }
table { border-collapse: collapse; font-size: 0.9em; margin-top: 0.4em; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 0.2em 0.7em; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.empty td { color: #999; }
"""

# First script of the page: any later error is written into <html data-errors="...">,
# so a test (or a curious reader) can see that the page ran cleanly.
ERROR_SCRIPT = """
(function () {
  "use strict";
  var root = document.documentElement;
  function record(message) {
    var old = root.getAttribute("data-errors");
    root.setAttribute("data-errors", (old ? old + "\\n" : "") + message);
  }
  window.addEventListener("error", function (event) { record(String(event.message)); });
  window.addEventListener("unhandledrejection", function (event) { record(String(event.reason)); });
})();
"""

# Last script of the page: plane check boxes show or hide their layer; "all"/"none" set every
# box of a panel; the slider sets the opacity of a panel's layers.
CONTROL_SCRIPT = """
(function () {
  "use strict";
  function panelBoxes(panel) { return document.querySelectorAll("#" + panel + " input.plane"); }
  document.querySelectorAll("input.plane").forEach(function (box) {
    box.addEventListener("change", function () {
      document.getElementById(box.dataset.layer).hidden = !box.checked;
    });
  });
  document.querySelectorAll("button[data-action]").forEach(function (button) {
    button.addEventListener("click", function () {
      var on = button.dataset.action === "all";
      panelBoxes(button.dataset.panel).forEach(function (box) {
        box.checked = on;
        box.dispatchEvent(new Event("change"));
      });
    });
  });
  document.querySelectorAll("input.opacity").forEach(function (slider) {
    slider.addEventListener("input", function () {
      document.querySelectorAll("#" + slider.dataset.panel + " img.layer").forEach(function (img) {
        img.style.opacity = String(slider.value / 100);
      });
    });
  });
  document.documentElement.setAttribute("data-ready", "1");
})();
"""
