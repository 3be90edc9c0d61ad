"""genzoo-compare's work: runs' local logs side by side, offline, as W&B would show them.

For each run (a run directory; a run group's folder or name; a `-m` sweep's folder): its
final and best validation metrics (csv/metrics.csv; direction and feature network named),
the config keys that differ between the runs (.hydra/config.yaml), metric-against-step
charts (one per metric, one line per run, labelled group/name as W&B groups runs) and its
latest image grids (images/*_latest.png). Written as compare.md and compare.html in one
folder with the charts and copied images beside them.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from genzoo.errors import ConfigError
from genzoo.metrics.directions import badness, best_value, direction_of
from genzoo.reporting.browser import browser_check
from genzoo.reporting.compare_page import ComparePage

log = logging.getLogger("genzoo")

# Config keys that say where a run lives, not what it is: never a difference worth showing.
IGNORED_KEYS = ("paths.", "run_name", "hydra.", "logger.", "ckpt_path", "resume")


@dataclass
class Run:
    path: Path
    group: str
    name: str
    config: dict[str, Any]
    history: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)  # final_metrics.json, if written
    label: str = ""  # how tables and charts name it; unique among the runs compared

    def __post_init__(self) -> None:
        if not self.label:
            # A sweep's job folder is multirun/<run_name>/<num>: the sweep names the job.
            sweep_job = self.path.parent.parent.name == "multirun"
            self.label = (
                f"{self.path.parent.name}/{self.name}" if sweep_job else f"{self.group}/{self.name}"
            )

    def final(self, metric: str) -> float | None:
        points = self.history.get(metric)
        return points[-1][1] if points else None

    def best(self, metric: str) -> float | None:
        points = self.history.get(metric)
        if not points:
            return None
        return best_value(metric, [v for _, v in points])


def find_runs(spec: str, runs_root: Path) -> list[Path]:
    """Run directories that `spec` names: a run, a folder of runs (a group, a sweep), or a run
    group's name under the runs root. A run is a folder with .hydra/config.yaml."""
    path = Path(spec).expanduser()
    if not path.exists() and (runs_root / spec).is_dir():
        path = runs_root / spec
    if not path.is_dir():
        raise ConfigError(f"{spec}: no such run, run group or sweep folder (looked in {runs_root})")
    if (path / ".hydra" / "config.yaml").is_file():
        return [path]
    found = sorted(p.parent.parent for p in path.glob("**/.hydra/config.yaml"))
    if not found:
        raise ConfigError(f"{spec}: holds no genzoo runs (no .hydra/config.yaml below it)")
    return found


def read_run(path: Path) -> Run | None:
    """A run's config and metric history; None (with a warning naming it) when it has no logs."""
    config = yaml.safe_load((path / ".hydra" / "config.yaml").read_text()) or {}
    metrics_csv = next(iter(sorted(path.glob("csv/**/metrics.csv"))), None)
    if metrics_csv is None:
        log.warning(
            "%s has no csv/metrics.csv (it ran with another logger or never logged): left out", path
        )
        return None
    history: dict[str, list[tuple[int, float]]] = {}
    with metrics_csv.open() as fh:
        for row in csv.DictReader(fh):
            step = int(float(row.get("step") or 0))
            for key, value in row.items():
                if key in ("step", "epoch") or not value:
                    continue
                try:
                    number = float(value)
                except ValueError:
                    continue
                if math.isfinite(number):
                    history.setdefault(key, []).append((step, number))
    group = str(config.get("run_group") or path.parent.name)
    summary_file = path / "final_metrics.json"
    summary = json.loads(summary_file.read_text()) if summary_file.is_file() else {}
    return Run(path, group, path.name, with_resumes(config, path), history, summary)


def with_resumes(config: dict[str, Any], path: Path) -> dict[str, Any]:
    """The run's config as it last trained: its first start's (.hydra/config.yaml) with the
    overrides of each resume (.hydra/resumes.yaml, e.g. a raised trainer.max_steps) on top."""
    resumes = path / ".hydra" / "resumes.yaml"
    if not resumes.is_file():
        return config
    for entry in yaml.safe_load(resumes.read_text()) or []:
        for override in entry.get("overrides") or []:
            key, sep, text = str(override).lstrip("+~").partition("=")
            if not sep or "." not in key:  # a group choice (a resume keeps model and data)
                continue
            node = config
            *parents, leaf = key.split(".")
            for part in parents:
                if not isinstance(node.get(part), dict):
                    node[part] = {}
                node = node[part]
            node[leaf] = yaml.safe_load(text) if text else None
    return config


def unique_labels(runs: list[Run]) -> None:
    """Runs that would share a label (two groups' jobs of one number) are named by path."""
    seen: dict[str, int] = {}
    for run in runs:
        seen[run.label] = seen.get(run.label, 0) + 1
    for run in runs:
        if seen[run.label] > 1:
            run.label = "/".join(run.path.parts[-3:])


def flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): node}


def config_differences(runs: list[Run]) -> dict[str, list[Any]]:
    """Keys whose values differ between the runs (a key one run lacks shows as None)."""
    flat = [flatten(run.config) for run in runs]
    keys = sorted({key for f in flat for key in f})
    differ = {}
    for key in keys:
        if key.startswith(IGNORED_KEYS):
            continue
        values = [f.get(key) for f in flat]
        if len({repr(v) for v in values}) > 1:
            differ[key] = values
    return differ


def compare(specs: list[str], output: Path, metric: str | None, runs_root: Path) -> Path:
    """Write compare.md / compare.html for the runs `specs` names; returns the HTML page."""
    paths = [p for spec in specs for p in find_runs(spec, runs_root)]
    paths = list(dict.fromkeys(paths))  # a run named twice is compared once
    runs = [run for run in map(read_run, paths) if run is not None]
    if not runs:
        raise ConfigError("none of the runs has local logs (csv/metrics.csv) to compare")
    unique_labels(runs)
    metrics = sorted({m for run in runs for m in run.history if m.startswith("val/")})
    validated = bool(metrics)
    if not validated:  # runs too short to validate: their training metrics, unsorted
        metrics = sorted({m for run in runs for m in run.history if m.startswith("train/")})
    if metric is None and validated:
        metric = next((m for m in ("val/fid", "val/neg_elbo", "val/psnr") if m in metrics), None)
        metric = metric or metrics[0]
    elif metric is not None and metric not in metrics:
        raise ConfigError(
            f"metric={metric}: none of the runs logged it; they logged {', '.join(metrics) or 'no val/ metrics'}"
        )
    if metric is not None:
        sort_metric = metric

        def sort_key(run: Run) -> float:
            best = run.best(sort_metric)
            return math.inf if best is None else badness(sort_metric, best)

        runs.sort(key=sort_key)
    output.mkdir(parents=True, exist_ok=True)
    charts = _charts(runs, metrics, output)
    images = _images(runs, output)
    differences = config_differences(runs)
    page = ComparePage(runs, metrics, metric, differences, charts, images, validated)
    (output / "compare.md").write_text(page.markdown())
    target = output / "compare.html"
    target.write_text(page.html())
    images_loaded = browser_check(target, output / "compare_first_screen.png")
    log.info(
        "compared %d run(s) on %d metric(s): %s (%s)",
        len(runs),
        len(metrics),
        target,
        images_loaded or "Chromium not installed: not rendered",
    )
    return target


def _charts(runs: list[Run], metrics: list[str], output: Path) -> dict[str, str]:
    from genzoo.utils.figures import lines

    charts = {}
    for metric in metrics:
        series = {
            run.label: (
                [float(s) for s, _ in run.history[metric]],
                [v for _, v in run.history[metric]],
            )
            for run in runs
            if metric in run.history
        }
        name = f"charts/{metric.replace('/', '_')}.png"
        lines(series, output / name, f"{metric} ({direction_of(metric)})", "step", metric)
        charts[metric] = name
    return charts


def _images(runs: list[Run], output: Path) -> dict[str, dict[str, str]]:
    """kind (samples, reconstructions, ...) -> run label -> copied image path."""
    table: dict[str, dict[str, str]] = {}
    for number, run in enumerate(runs):
        for image in sorted((run.path / "images").glob("*_latest.png")):
            kind = image.name.removesuffix("_latest.png")
            copy = Path("images") / f"{number:02d}_{kind}.png"
            (output / copy).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(image, output / copy)
            table.setdefault(kind, {})[run.label] = str(copy)
    return table
