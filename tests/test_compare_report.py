"""genzoo-compare on a sweep's short runs, genzoo-report on the shipped checkpoints, both
rendered in headless Chromium where it is installed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from genzoo.reporting.browser import browser_check, chromium
from tests.conftest import run_cli

SWEEP = [
    "-m",
    "experiment=vae_digits",
    "model.latent_dim=4,8",
    "run_name=sweep",
    "logger=csv",
    "trainer.max_steps=4",
    "trainer.check_val_every_n_epoch=null",
    "trainer.val_check_interval=2",
    "trainer.limit_val_batches=1",
    "trainer.num_sanity_val_steps=0",
    "model.eval_samples=16",
    "model.iw_samples=2",
]
NO_CHROMIUM = "Chromium is not installed (apt install chromium): the page is not rendered"


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cwd = tmp_path_factory.mktemp("sweep")
    result = run_cli("genzoo-train", *SWEEP, cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return cwd


def test_compare_shows_a_sweeps_runs_side_by_side(sweep: Path) -> None:
    folder = sweep / "runs" / "multirun" / "sweep"
    jobs = sorted(p for p in folder.iterdir() if (p / ".hydra").is_dir())
    assert len(jobs) == 2
    no_logs = folder / "no_logs"
    shutil.copytree(jobs[0] / ".hydra", no_logs / ".hydra")
    result = run_cli("genzoo-compare", str(folder), "metric=val/neg_elbo", "output=cmp", cwd=sweep)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"{no_logs} has no csv/metrics.csv" in result.stderr and "left out" in result.stderr
    md = (sweep / "cmp" / "compare.md").read_text()
    assert "2 run(s), sorted by val/neg_elbo (best first)" in md
    assert "| `model.latent_dim` | " in md and "val/neg_elbo (lower is better)" in md
    assert "paths.run_dir" not in md  # where a run lives is no difference
    assert (sweep / "cmp" / "charts" / "val_neg_elbo.png").is_file()
    with Image.open(sweep / "cmp" / "charts" / "val_neg_elbo.png") as chart:
        assert chart.text["Title"].startswith("val/neg_elbo")
    assert len(list((sweep / "cmp" / "images").glob("*_samples.png"))) == 2
    if chromium():
        check = browser_check(sweep / "cmp" / "compare.html", sweep / "cmp" / "shot.png")
        count = sum(1 for _ in (sweep / "cmp").glob("**/*.png")) - 2  # not the screenshots
        assert check == f"images loaded: {count} of {count}"
        assert f"images loaded: {count} of {count}" in result.stderr
        with Image.open(sweep / "cmp" / "compare_first_screen.png") as shot:
            assert shot.size == (1280, 900)


def test_compare_refuses_what_it_cannot_compare(sweep: Path) -> None:
    job = next((sweep / "runs" / "multirun" / "sweep").glob("[0-9]*"))
    for args, expected in [
        ([str(job), "metric=val/psnr"], "metric=val/psnr: none of the runs logged it"),
        (["nowhere"], "nowhere: no such run, run group or sweep folder"),
        ([str(job), "colour=red"], "colour= is not an option of genzoo-compare"),
    ]:
        result = run_cli("genzoo-compare", *args, "output=refused", cwd=sweep)
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
        assert expected in result.stderr
    assert not (sweep / "refused").exists()


def test_compare_names_jobs_by_sweep_and_reads_resumes_and_short_runs(
    sweep: Path, tmp_path: Path
) -> None:
    import yaml

    from genzoo.reporting.compare import compare

    root = tmp_path / "runs"
    for name in ("first", "second"):  # two sweeps whose jobs share numbers
        shutil.copytree(sweep / "runs" / "multirun" / "sweep", root / "multirun" / name)
    job = root / "multirun" / "second" / "0"
    resumes = [{"time": "t", "from_batch": 4, "overrides": ["trainer.max_steps=9"]}]
    (job / ".hydra" / "resumes.yaml").write_text(yaml.safe_dump(resumes))
    compare([str(root / "multirun")], tmp_path / "cmp", None, root)
    md = (tmp_path / "cmp" / "compare.md").read_text()
    table = _table(md)
    assert sorted(table["metric"]) == ["first/0", "first/1", "second/0", "second/1"]
    # The resumed job's max_steps is the resume's; every job says how many batches it trained.
    assert table["`trainer.max_steps`"] == {"first/0": "4", "first/1": "4", "second/0": "9",
                                            "second/1": "4"}  # fmt: skip
    assert set(table["batches trained"].values()) == {"4"}
    # FID's features are what `auto` became where the runs trained, not "auto".
    assert "val/fid (lower is better, digit-classifier features)" in table

    short = tmp_path / "short" / "multirun" / "s" / "0"
    shutil.copytree(sweep / "runs" / "multirun" / "sweep" / "0", short)
    rows = (short / "csv" / "metrics.csv").read_text().splitlines()
    header_row = rows[0].split(",")
    kept = [r for r in rows[1:] if not any(r.split(",")[i] for i, k in enumerate(header_row)
                                           if k.startswith("val/"))]  # fmt: skip
    (short / "csv" / "metrics.csv").write_text("\n".join([rows[0], *kept]) + "\n")
    shutil.rmtree(short / "images")
    compare([str(short)], tmp_path / "cmp_short", None, tmp_path / "short")
    md = (tmp_path / "cmp_short" / "compare.md").read_text()
    assert "none of which has validated yet" in md and "train/loss" in md
    assert "sorted by nothing" not in md and "## Latest images" not in md


def _table(markdown: str) -> dict[str, dict[str, str]]:
    """compare.md's tables as {row name: {run label: cell}}, the header row under 'metric'."""
    rows: dict[str, dict[str, str]] = {}
    labels: list[str] = []
    for line in markdown.splitlines():
        if not line.startswith("|") or line.startswith("|---"):
            continue
        name, *cells = [c.strip() for c in line.strip("|").split("|")]
        if name in ("metric", "key"):
            labels = cells
            rows.setdefault("metric", dict(zip(cells, cells, strict=True)))
        else:
            rows[name] = dict(zip(labels, cells, strict=True))
    return rows


def test_report_from_the_shipped_checkpoints(shipped_report) -> None:
    """The shipped-set report (conftest.shipped_report: the README's command, run once)."""
    tmp_path, result = shipped_report
    assert result.returncode == 0, result.stderr[-3000:]
    page = (tmp_path / "report" / "report.html").read_text()
    for heading in ["Super-resolution x4", "VAE (zoo:vae_digits)", "StyleGAN (zoo:stylegan_digits)",
                    "VQ-VAE prior", "Pix2Pix", "CycleGAN"]:  # fmt: skip
        assert heading in page
    assert "21.59 / 0.6423" in page and "SRResNet" in page
    figures = sorted(p.name for p in (tmp_path / "report" / "figures").iterdir())
    assert "stylegan_truncation.png" in figures and "vqvae_code_usage.png" in figures
    assert "Diffusion (zoo:diffusion_digits)" in page and "class_accuracy" in page
    for name in ("samples", "inpainting", "outpainting", "edit"):
        assert f"diffusion_{name}.png" in figures, name
    with Image.open(tmp_path / "report" / "figures" / "vqvae_code_usage.png") as chart:
        assert "codes used" in chart.text["Description"]
    # The SR sentence says what was measured (whole images, named), not a fixed text.
    assert "2 whole held-out images of data=sr_photos (coffee, flower)" in page
    assert "smooth 64 px crops" not in page and "randomly initialised VGG19" in page
    with Image.open(tmp_path / "report" / "figures" / "sr_panel.png") as panel:
        assert "enlarged 4x pixel for pixel" in panel.text["Title"]


def test_a_run_directorys_first_validation_items_ignore_the_loaders_batch_size() -> None:
    """SR validation reads one whole image per batch; two items are two images."""
    import genzoo
    from genzoo.tasks.user_images import validation_items

    items, _ = validation_items(genzoo.load("zoo:srgan_photos").meta, 2)
    assert len(items) == 2 and items[0]["hr"].shape != items[1]["hr"].shape


@pytest.mark.skipif(chromium() is None, reason=NO_CHROMIUM)
def test_report_renders_in_chromium(shipped_report) -> None:
    tmp_path, result = shipped_report
    console = result.stderr
    figures = sorted(p.name for p in (tmp_path / "report" / "figures").iterdir())
    shot = tmp_path / "report" / "report_first_screen.png"
    with Image.open(shot) as image:
        assert image.size == (1280, 900)
        assert len(set(image.convert("L").resize((64, 45)).getdata())) > 20  # not blank
    assert f"images loaded: {len(figures)} of {len(figures)}" in console
    assert (tmp_path / "report" / "report.pdf").stat().st_size > 10_000


def test_panels_get_column_titles_and_metadata(tmp_path: Path) -> None:
    import torch

    from genzoo.utils.figures import label_columns, save_png

    panel = label_columns(torch.zeros(3, 20, 90), ["A", "G(A)", "true B"])
    assert panel.shape == (3, 34, 90)
    header = panel[:, :14]
    assert float(header.min()) < 0.5 < float(header.max())  # dark text on white
    save_png(panel, tmp_path / "p.png", "translate_AtoB, batch 4", "columns: A | G(A) | true B")
    with Image.open(tmp_path / "p.png") as image:
        assert image.text["Description"] == "columns: A | G(A) | true B"


def test_a_written_png_holds_the_nearest_level_of_each_value(tmp_path: Path) -> None:
    """Images that went through float arithmetic (8/255 back as 7.99999/255) are written as
    the level they are nearest to, not truncated one level down."""
    import numpy as np
    import torch

    from genzoo.utils.figures import save_png

    levels = torch.arange(256, dtype=torch.float64).view(1, 16, 16)
    near = (levels / 255 * 2 - 1 + 1) / 2 + torch.where(levels % 2 == 0, -1e-6, 1e-6)
    save_png(near.float(), tmp_path / "levels.png", "levels", "every level once")
    with Image.open(tmp_path / "levels.png") as image:
        written = np.array(image)
    assert written.tolist() == levels[0].to(torch.uint8).tolist()


def test_report_refuses_a_wrong_option_in_one_line(tmp_path: Path) -> None:
    for args, expected in [
        (["iw_samples=0"], "iw_samples='0' must be an integer of at least 1"),
        (["colour=red"], "colour= is not an option of genzoo-report"),
        (["runs"], "runs: give runs=... or output="),
    ]:
        result = run_cli("genzoo-report", *args, "output=refused", cwd=tmp_path)
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
        assert expected in result.stderr
    assert not (tmp_path / "refused").exists()


def test_report_of_a_run_evaluates_it_and_says_what_was_not_given(sweep: Path) -> None:
    job = next((sweep / "runs" / "multirun" / "sweep").glob("[0-9]*"))
    # iw_samples=2: the VAE's NLL bound at 2 samples, not genzoo-eval's 256 (time, not behaviour)
    result = run_cli(
        "genzoo-report", f"runs={job}", "output=one", "iw_samples=2", cwd=sweep, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    page = (sweep / "one" / "report.html").read_text()
    assert f"Made from the runs {job}" in page and f"VAE ({job})" in page
    assert "No SRResNet or SRGAN run was given." in page and "No run of this family" in page
    assert list((sweep / "one" / "metrics").glob("VAE_*.json"))  # genzoo-eval ran on it
