"""genzoo-demo: the page's actions on the shipped models (each control offered by a capability,
a bad upload answered in one line), its command's checks, and the page itself in headless
Chromium, driven by Playwright as a user would: pick a model, move the seed, generate, upload."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from genzoo.reporting import demo_actions as act
from genzoo.reporting.browser import chromium
from tests.conftest import BIN, free_port, run_cli

NO_CHROMIUM = "Chromium is not installed (apt-get install -y chromium): the demo is not opened"


@pytest.fixture(scope="module")
def shelf() -> act.ModelShelf:
    return act.ModelShelf([], keep=8)


def write_png(path: Path, size: tuple[int, int], mode: str = "RGB", seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    if mode == "I;16":
        Image.fromarray(rng.integers(0, 65535, size[::-1], dtype=np.uint16)).save(path)
    else:
        Image.fromarray(rng.integers(0, 255, (*size[::-1], 3), dtype=np.uint8)).save(path)
    return path


def spread_between_tiles(grid: np.ndarray, side: int = 32, pad: int = 2) -> float:
    """How much a 2x2 grid's images differ from each other: their per-pixel spread."""
    step = side + pad
    tiles = [grid[pad + r * step : r * step + step, pad + c * step : c * step + step]
             for r in range(2) for c in range(2)]  # fmt: skip
    return float(np.stack(tiles).astype(float).std(axis=0).mean())


def test_each_family_is_offered_the_controls_of_its_capabilities(shelf: act.ModelShelf) -> None:
    dcgan = act.controls_of(shelf.get("dcgan_digits"))
    assert (dcgan.sample, dcgan.interpolate, dcgan.project) == (True, True, True)
    assert not (dcgan.style_mix or dcgan.translate or dcgan.upscale or dcgan.truncation)
    stylegan = act.controls_of(shelf.get("stylegan_digits"))
    assert stylegan.style_mix and stylegan.truncation
    pix2pix = act.controls_of(shelf.get("pix2pix_facades_synth"))
    assert pix2pix.translate and not (pix2pix.sample or pix2pix.upscale)
    assert act.controls_of(shelf.get("cyclegan_photos")).directions == ("AtoB", "BtoA")
    assert act.controls_of(shelf.get("srgan_photos")).upscale
    vqvae = act.controls_of(shelf.get("vqvae_digits"))
    assert vqvae.reconstruct and not vqvae.sample
    assert "x4 upscaling" in act.describe(shelf.get("srgan_photos"))


def test_the_seed_chooses_the_samples(shelf: act.ModelShelf) -> None:
    model = shelf.get("stylegan_digits")
    first = np.asarray(act.sample_picture(model, 4, 1, 1.0, 1.0))
    assert np.array_equal(first, np.asarray(act.sample_picture(model, 4, 1, 1.0, 1.0)))
    assert not np.array_equal(first, np.asarray(act.sample_picture(model, 4, 2, 1.0, 1.0)))
    # psi = 0.1 pulls every sample towards the mean image: four nearly equal images.
    tight = np.asarray(act.sample_picture(model, 4, 1, 0.1, 1.0))
    assert spread_between_tiles(tight) < 0.5 * spread_between_tiles(first)
    mixed = act.style_mix_picture(model, "1, 2", "3, 4, 5")
    assert mixed.size == (3 * 34 + 2, 2 * 34 + 2)  # 3 columns, 2 rows of 32 px, 2 px apart


def test_uploads_are_translated_upscaled_and_reconstructed(
    shelf: act.ModelShelf, tmp_path: Path
) -> None:
    facade = write_png(tmp_path / "facade.png", (64, 64))
    picture = act.translation_picture(shelf.get("pix2pix_facades_synth"), str(facade), "AtoB")
    assert picture.size == (64, 64)
    low = write_png(tmp_path / "low.png", (70, 40))
    assert act.upscale_picture(shelf.get("srgan_photos"), str(low), 64).size == (280, 160)
    digit = write_png(tmp_path / "digit.png", (32, 32))
    assert act.reconstruction_picture(shelf.get("vqvae_digits"), str(digit)).size == (70, 36)


@pytest.mark.parametrize(
    ("upload", "said"),
    [
        ("notes.txt", "is not an image genzoo can read"),
        ("deep.png", "is a I;16 image (16-bit or float pixels): save it as an 8-bit PNG"),
        ("huge.png", "is 1100x20; the demo takes up to 1024 px a side"),
        ("wrong_size.png", "takes 32x32 images, got 48x48: resize them first"),
        (None, "no image yet: upload one to project"),
    ],
)
def test_a_bad_upload_is_answered_in_one_line(
    shelf: act.ModelShelf, tmp_path: Path, upload: str | None, said: str
) -> None:
    (tmp_path / "notes.txt").write_text("not a picture\n")
    write_png(tmp_path / "deep.png", (32, 32), mode="I;16")
    write_png(tmp_path / "huge.png", (1100, 20))
    Image.new("L", (48, 48)).save(tmp_path / "wrong_size.png")
    path = str(tmp_path / upload) if upload else None
    result, message = act.run_safely(act.projection_picture, shelf.get("dcgan_digits"), path, 10)
    assert result is None and message.startswith("⚠") and said in message
    assert "\n" not in message and "Traceback" not in message


def test_unknown_models_and_seeds_are_answered_in_one_line(shelf: act.ModelShelf) -> None:
    _, message = act.run_safely(shelf.get, "dcgan_faces")
    assert message == "⚠ 'dcgan_faces' is not offered here: pick one of the list"
    _, message = act.run_safely(act.style_mix_picture, shelf.get("stylegan_digits"), "1, x", "2")
    assert message.startswith("⚠ row seeds: whole numbers separated by commas")


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["port=80"], "port=80: a number from 1024 to 65535"),
        (["model=dcgan_faces"], "model=dcgan_faces: not offered"),
        (["runs=no/such/run"], "runs=...no/such/run: no such run directory"),
        (["colour=red"], "colour= is not an option of genzoo-demo"),
    ],
)
def test_genzoo_demo_refuses_bad_options_before_serving(
    tmp_path: Path, args: list[str], said: str
) -> None:
    result = run_cli("genzoo-demo", *args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert said in result.stderr and "Traceback" not in result.stderr


def _served(port: int, log: Path, cwd: Path) -> subprocess.Popen:
    """genzoo-demo on `port`, once its page answers (GRADIO_ANALYTICS off by the demo itself)."""
    server = subprocess.Popen(
        [str(BIN / "genzoo-demo"), f"port={port}"], cwd=cwd, stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"genzoo-demo stopped: {log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
            return server
        except OSError:
            time.sleep(0.5)
    server.kill()
    pytest.fail(f"genzoo-demo did not answer in 120 s: {log.read_text()[-2000:]}")


@pytest.mark.skipif(chromium() is None, reason=NO_CHROMIUM)
def test_the_demo_in_a_real_browser(tmp_path: Path) -> None:
    playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    port = free_port()
    server = _served(port, tmp_path / "demo.log", tmp_path)
    facade = write_png(tmp_path / "facade.png", (64, 64))
    (tmp_path / "notes.txt").write_text("not a picture\n")
    try:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=chromium(), headless=True, args=["--no-sandbox"]
            )
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"http://127.0.0.1:{port}/")
            status = page.locator("#status")
            status.get_by_text("dcgan_digits").wait_for(timeout=60_000)
            assert page.locator("#panel-sample").is_visible()
            assert not page.locator("#panel-translate").is_visible()
            assert not page.locator("#panel-style_mix").is_visible()
            page.screenshot(path=str(tmp_path / "demo-first-screen.png"))

            page.click("#generate")
            first = page.locator("#samples img").get_attribute("src", timeout=60_000)
            page.fill("#seed input[type=number]", "7")
            page.press("#seed input[type=number]", "Enter")
            page.click("#generate")
            page.wait_for_function(
                "old => document.querySelector('#samples img').src !== old", arg=first
            )

            # Not an image: one line in the page, and the page goes on.
            page.set_input_files("#project-upload input[type=file]", str(tmp_path / "notes.txt"))
            page.click("#project")
            page.locator("#message").get_by_text("⚠ notes.txt is not an image").wait_for()

            page.click("#model input")
            page.fill("#model input", "pix2pix_facades_synth")
            page.press("#model input", "Enter")
            status.get_by_text("pix2pix_facades_synth").wait_for(timeout=60_000)
            page.locator("#panel-translate").wait_for(state="visible")
            assert not page.locator("#panel-sample").is_visible()
            page.set_input_files("#translate-upload input[type=file]", str(facade))
            page.click("#translate")
            page.locator("#translated img").wait_for(timeout=60_000)
            assert page.locator("#message").inner_text().strip() == ""
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    shot = Image.open(tmp_path / "demo-first-screen.png")
    assert shot.size == (1280, 800) and np.asarray(shot.convert("L")).std() > 5
