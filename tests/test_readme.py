"""The command blocks of README.md and docs/*.md, run as written on the embedded data with their
step counts shrunk, each block in a folder of its own: the documentation cannot drift from the
code. Every relative link and image path in them exists.

A command that needs a GPU, a download or a cluster cannot run here; its keys and group
options are still checked as genzoo-train / -eval check them before running.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from hydra.core.hydra_config import HydraConfig
from PIL import Image

from genzoo.config.command_line import check_command_line, overrides_of
from genzoo.data.kinds import EMBEDDED, check_model_fits_data
from tests.conftest import SHIPPED_REPORT_COMMAND, compose_train, run_cli

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
# Folders of the user's own images the README's commands name.
USER_FOLDERS = ("my_digits", "photos", "labels", "my_labels", "my_photos")
# Overrides that make a training command take seconds; max_steps is set per command.
SHRINK = [
    "logger=csv",
    "trainer.check_val_every_n_epoch=null",
    "trainer.val_check_interval=2",
    "trainer.limit_val_batches=1",
    "trainer.num_sanity_val_steps=0",
]
SHRINK_MODEL = {"eval_samples": "16", "iw_samples": "2", "sample_steps": "4"}
# The image panels a run draws at its end: 16 samples show them as well as 64.
SHRINK_GRIDS = {"num_samples": "16"}


def command_blocks() -> list[list[str]]:
    """Each ```bash block's genzoo commands: continuation lines joined, comments dropped."""
    blocks = []
    text = "".join(page.read_text() for page in PAGES)
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        text = block.replace("\\\n", " ")
        commands = []
        for line in text.splitlines():
            line = line.split("  #")[0].strip()
            line = line.removeprefix("srun ")
            if line.startswith("genzoo-"):
                commands.append(line)
        if commands:
            blocks.append(commands)
    return blocks


BLOCKS = command_blocks()
_RUN_NAMES = re.compile(r"run_name=([^\s,]+)|runs/[^/\s,]+/([^/\s,]+)")


def independent_parts(block: list[str]) -> list[list[str]]:
    """A block's commands in groups that share no run (a run is named by run_name= or a
    runs/<group>/<name> path), each in the block's order: groups run side by side."""
    parts: list[tuple[set[str], list[str]]] = []
    for line in block:
        names = {a or b for a, b in _RUN_NAMES.findall(line)}
        # genzoo-compare reads whole run groups: it comes after everything before it.
        compares = line.startswith("genzoo-compare")
        joined = [part for part in parts if compares or part[0] & names]
        merged = (set(names), [line])
        for part in joined:  # a command that names runs of several groups joins them
            parts.remove(part)
            merged = (part[0] | merged[0], part[1] + merged[1])
        parts.append(merged)
    order = {line: i for i, line in enumerate(block)}
    return [sorted(lines, key=order.__getitem__) for _, lines in parts]


# Folders of the same images under two names (see _user_images): a command reading one
# tests what it does reading the other.
SAME_IMAGES = {"my_labels/": "labels/", "my_photos/": "photos/"}


def _as_run(line: str) -> str:
    for name, same in SAME_IMAGES.items():
        line = line.replace(f"={name}", f"={same}")
    return line


def _ran_in(part: list[str], earlier: list[str]) -> bool:
    """Whether `part`'s commands all run, in its order, within the `earlier` case."""
    commands = iter(_as_run(line) for line in earlier)
    return all(_as_run(line) in commands for line in part)


def _unique_cases() -> dict[str, list[str]]:
    """Each block part by its place, "block-part". A part whose commands all run, in its
    order, in an earlier part (another page showing the same steps, on a folder of the same
    images) is that test again in a fresh folder, so it runs once."""
    cases: dict[str, list[str]] = {}
    for number, block in enumerate(BLOCKS):
        for i, part in enumerate(independent_parts(block)):
            if not any(_ran_in(part, earlier) for earlier in cases.values()):
                cases[f"{number}-{i}"] = part
    return cases


CASES = _unique_cases()


def _key(arg: str) -> str:
    return arg.split("=", 1)[0].lstrip("+")


def _with(args: list[str], extra: list[str]) -> list[str]:
    """`args` with `extra` replacing any override of the same key."""
    keys = {_key(e) for e in extra}
    return [a for a in args if _key(a) not in keys] + extra


def _train_overrides(args: list[str]) -> list[str]:
    """A training command's overrides, a sweep's first values only, for composing."""
    overrides = [a for a in overrides_of(args) or [] if not a.startswith("hydra")]
    return [re.sub(r"=([^,]*),.*", r"=\1", a) for a in overrides]


def _runs_here(command: str, args: list[str]) -> bool:
    """Whether the command can run on this machine: the CPU, embedded data, no cluster."""
    if any(a.startswith("hydra/launcher") for a in args):
        return False
    if command == "genzoo-demo":  # it serves until stopped: tests/test_demo.py opens it
        return False
    if command != "genzoo-train":
        data = [a.split("=", 1)[1] for a in args if a.startswith("data=")]
        return not data or data[0] in EMBEDDED
    if any(a in ("--help", "--cfg") for a in args):
        return True
    compose_train(_train_overrides(args), Path("unused"))
    choices = HydraConfig.get().runtime.choices
    return choices.get("data") in EMBEDDED and choices.get("trainer") not in ("gpu", "ddp")


def _check_only(command: str, args: list[str]) -> None:
    """What can be checked without running: the keys, the group options, the model / data pair."""
    name = command.removeprefix("genzoo-")
    if name == "demo":
        from genzoo.cli.demo import options_of
        from genzoo.reporting.demo import checked_port

        checked_port(options_of(args).get("port", "7860"))
        return
    check_command_line(name, args)  # exits 2 on an unknown key or option
    if name == "train":
        cfg = compose_train(_train_overrides(args), Path("unused"))
        check_model_fits_data(str(cfg.model._target_), str(cfg.data._target_), "model", "data")


def _shrunk(command: str, args: list[str]) -> list[str]:
    if command == "genzoo-eval":
        # The VAE's importance-weighted bound (256 samples unless told) is its eval's cost.
        vae = any(re.match(r"run=(zoo:|runs/)vae_", a) for a in args)
        return (
            _with(args, ["iw_samples=2"]) if vae or any("iw_samples" in a for a in args) else args
        )
    if command == "genzoo-project":  # the projection's optimisation: a few steps of it
        return _with(args, ["steps=5"])
    if command in ("genzoo-sample", "genzoo-edit") and any(a.startswith("steps=") for a in args):
        return _with(args, ["steps=3"])  # a diffusion sampler's steps: a few of them
    if command != "genzoo-train" or any(a in ("--help", "--cfg") for a in args):
        return args
    continuing = any(a.startswith(("resume=", "ckpt_path=")) for a in args)
    steps = "trainer.max_steps=4" if continuing else "trainer.max_steps=2"
    cfg = compose_train(_train_overrides(args), Path("unused"))
    model = [f"model.{k}={v}" for k, v in SHRINK_MODEL.items() if k in cfg.model]
    grids = cfg.callbacks.get("image_grid") or {}
    model += [f"callbacks.image_grid.{k}={v}" for k, v in SHRINK_GRIDS.items() if k in grids]
    # A search's trials are its step count: two show the study runs, records and resumes.
    trials = ["hydra.sweeper.n_trials=2"] if any("hparams_search=" in a for a in args) else []
    return _with(args, [*SHRINK, *model, steps, *trials])


def _user_images(cwd: Path) -> None:
    for name in USER_FOLDERS:
        folder = cwd / name
        folder.mkdir()
        for i, size in enumerate([(40, 40), (33, 21)]):
            if name == "my_digits":  # digits as a user has them: grey, 32 px (genzoo-project)
                Image.new("L", (32, 32), 60 * i).save(folder / f"image{i}.png")
                continue
            colour = (40 * i + 20, 120, 200 - 30 * i)
            Image.new("RGB", size, colour).save(folder / f"image{i}.png")


def test_a_blocks_parts_keep_every_command_once_and_its_runs_together() -> None:
    block = [
        "genzoo-train experiment=x run_name=a",
        "genzoo-train --help",
        "genzoo-train experiment=y run_name=b",
        "genzoo-sample run=runs/x/a",
        "genzoo-train experiment=z run_name=c model.init_from=runs/y/b",
        "genzoo-report runs=runs/x/a,runs/q/d",
    ]
    parts = independent_parts(block)
    assert sorted(line for part in parts for line in part) == sorted(block)
    assert [block[0], block[3], block[5]] in parts and [block[2], block[4]] in parts
    assert independent_parts([*block, "genzoo-compare x"]) == [[*block, "genzoo-compare x"]]
    assert sum(len(part) for block in BLOCKS for part in independent_parts(block)) == sum(
        len(block) for block in BLOCKS
    )


def test_a_part_runs_once_only_where_an_earlier_part_ran_its_commands_in_order() -> None:
    earlier = [
        "genzoo-train x run_name=a",
        "genzoo-eval run=runs/x/a",
        "genzoo-translate input=labels/",
    ]
    assert _ran_in([earlier[0], "genzoo-translate input=my_labels/"], earlier)
    assert not _ran_in([earlier[1], earlier[0]], earlier)  # another order is another test
    assert not _ran_in(["genzoo-translate input=my_digits/"], earlier)  # other images


@pytest.mark.parametrize("case", list(CASES))
def test_readme_command_block_runs(
    case: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Each README / docs command that runs here, shrunk to a few batches, exits 0 without a
    traceback; commands that share a run run in the block's order, in one folder. The
    shipped-set report, alone in its part, is conftest.shipped_report's run of the same command
    in a folder of its own (tests/test_compare_report.py reads what it wrote)."""
    _user_images(tmp_path)
    for line in CASES[case]:
        command, *args = shlex.split(line)
        if not _runs_here(command, args):
            _check_only(command, args)
            continue
        if CASES[case] == [shlex.join(SHIPPED_REPORT_COMMAND)]:
            _, result = request.getfixturevalue("shipped_report")
        else:
            result = run_cli(command, *_shrunk(command, args), cwd=tmp_path, timeout=600)
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"{line}\n{output[-3000:]}"
        assert "Traceback" not in output, line


def test_the_shipped_report_fixture_runs_a_readme_command() -> None:
    """conftest.shipped_report stands in for one README case: the command is the README's."""
    assert [shlex.join(SHIPPED_REPORT_COMMAND)] in CASES.values()


def test_the_readme_has_command_blocks_that_run_here() -> None:
    runnable = [
        line
        for block in BLOCKS
        for line in block
        if _runs_here(shlex.split(line)[0], shlex.split(line)[1:])
    ]
    assert len(runnable) >= 30, runnable


PYTHON_BLOCKS = [
    block for page in PAGES for block in re.findall(r"```python\n(.*?)```", page.read_text(), re.S)
]


@pytest.mark.parametrize("number", range(len(PYTHON_BLOCKS)))
def test_readme_python_block_runs(number: int, tmp_path: Path, monkeypatch) -> None:
    """The Python API as the README shows it, on the shipped models."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GENZOO_RUNS", str(tmp_path / "runs"))
    exec(compile(PYTHON_BLOCKS[number], f"python block {number}", "exec"), {})


def test_the_readme_shows_the_python_api() -> None:
    assert "genzoo.load(" in README.read_text() and len(PYTHON_BLOCKS) >= 2


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_and_image_exists(page: Path) -> None:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)  # code is not a link
    targets = re.findall(r"!?\[[^\]]*\]\(([^)\s]+)\)", text)
    local = [t.split("#")[0] for t in targets if not re.match(r"[a-z]+://|#|mailto:", t)]
    missing = [t for t in local if not (page.parent / t).exists()]
    assert not missing, f"{page.name} links to missing files: {missing}"
    assert page == README or local or "](" not in text  # the scan sees the page's links


def test_the_readme_is_a_front_page_and_links_every_doc() -> None:
    text = README.read_text()
    assert len(text.splitlines()) < 120
    for page in PAGES[1:]:
        assert f"(docs/{page.name})" in text, page.name
