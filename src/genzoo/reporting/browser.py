"""Headless Chromium for the pages genzoo writes (genzoo-compare, genzoo-report): a screenshot
of the first screen, a PDF, and the page's own count of the images that loaded. Optional:
without Chromium the pages are written all the same, unrendered."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

# Counts the page's images that loaded, for the headless-browser check (tests, genzoo-report).
IMAGE_CHECK = """<p id="image-check">checking images</p><script>
window.addEventListener('load', () => {
  const images = Array.from(document.images);
  const broken = images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src);
  document.getElementById('image-check').textContent =
    `images loaded: ${images.length - broken.length} of ${images.length}` +
    (broken.length ? `; broken: ${broken.join(', ')}` : '');
});</script>"""


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


def browser_check(page: Path, screenshot: Path, pdf: Path | None = None) -> str | None:
    """Render `page` headless: a first-screen screenshot, optionally a PDF, and the page's own
    count of loaded images ("images loaded: N of M"); None where Chromium is absent."""
    browser = chromium()
    if browser is None:
        return None
    # One launch does all three (2 s each on a 2-core machine): the screenshot keeps the
    # window's size, the PDF its print layout, and the DOM is dumped after the load event.
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--window-size=1280,900", f"--screenshot={screenshot}", "--virtual-time-budget=5000"]  # fmt: skip
    if pdf is not None:
        command += ["--no-pdf-header-footer", f"--print-to-pdf={pdf}"]
    dom = subprocess.run(
        [*command, "--dump-dom", page.resolve().as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    start = dom.stdout.find("images loaded:")
    return dom.stdout[start : dom.stdout.find("<", start)] if start >= 0 else "no image count"
