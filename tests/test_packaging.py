"""The installed package (a built wheel, not the checkout) finds its configs; the Dockerfile is sound."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parents[1]


# The wheel's budget: 60 MB, the shipped checkpoints included (16-bit weights where a card's
# metrics do not move, docs/zoo.md).
WHEEL_BUDGET_BYTES = 60e6


def test_wheel_ships_configs_and_runs_outside_the_checkout(tmp_path: Path) -> None:
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next((tmp_path / "dist").glob("genzoo-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert (
        "genzoo/configs/train.yaml" in names
        and "genzoo/configs/experiment/vae_digits.yaml" in names
    )
    from genzoo.zoo.build import ZOO_RECIPES

    for recipe in ZOO_RECIPES:  # the shipped checkpoints and their cards
        for suffix in (".ckpt", ".json", ".md"):
            assert f"genzoo/zoo/{recipe.name}{suffix}" in names
    assert wheel.stat().st_size <= WHEEL_BUDGET_BYTES
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    code = (
        "import sys, genzoo; assert genzoo.__file__.startswith(sys.argv[1]), genzoo.__file__; "
        "assert genzoo.load('dcgan_digits', device='cpu').sample(2).shape == (2, 1, 32, 32); "
        "sys.argv = ['genzoo-train', '--cfg', 'job', 'experiment=vae_digits']; "
        "from genzoo.cli.train import main; main()"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    result = subprocess.run(
        [sys.executable, "-c", code, str(target)],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (
        "_target_: genzoo.models.vae.VAE" in result.stdout
        and "run_group: vae_digits" in result.stdout
    )


def test_dockerfile_layers_user_and_entrypoint() -> None:
    parser = DockerfileParser(path=str(ROOT / "Dockerfile"))
    instructions = [(i["instruction"], i["value"]) for i in parser.structure]
    kinds = [k for k, _ in instructions]
    assert "cuda" in parser.baseimage and parser.baseimage.startswith("pytorch/pytorch:")
    # dependencies are installed before the source is copied in
    deps = next(i for i, (k, v) in enumerate(instructions) if k == "RUN" and "requirements" in v)
    source = next(i for i, (k, v) in enumerate(instructions) if k == "COPY" and v.startswith("src"))
    assert deps < source
    user = [v for k, v in instructions if k == "USER"]
    assert user and user[-1] not in ("root", "0")
    assert kinds.index("USER") > source
    entry = [v for k, v in instructions if k == "ENTRYPOINT"]
    assert entry == ['["genzoo-train"]']
    for path in ("pyproject.toml", "README.md", "src", "configs"):
        assert (ROOT / path).exists(), f"Dockerfile copies {path}, which is missing"


def test_code_comments_point_at_the_projects_own_architecture_doc() -> None:
    """Comments cite docs/architecture.md (rule numbers and sections that exist there)."""
    import re

    root = Path(__file__).resolve().parents[1]
    doc = (root / "docs" / "architecture.md").read_text()
    rules = set(re.findall(r"^(\d+)\. \*\*", doc, flags=re.M))
    sections = set(re.findall(r"^## (.+)$", doc, flags=re.M))
    for path in (root / "src" / "genzoo").rglob("*.py"):
        text = path.read_text()
        assert "DESIGN.md" not in text, path
        for rule in re.findall(r"docs/architecture\.md, rule (\d+)", text):
            assert rule in rules, (path, rule)
        for section in re.findall(r'docs/architecture\.md, "([^"]+)"', text):
            assert section in sections, (path, section)
