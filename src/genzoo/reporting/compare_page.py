"""genzoo-compare's page: the metrics table (direction and feature network named), the config
differences, the charts and the latest images of runs read by `reporting/compare.py`."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from genzoo.metrics.directions import direction_of, feature_network_of
from genzoo.reporting.browser import IMAGE_CHECK

if TYPE_CHECKING:
    from genzoo.reporting.compare import Run


def _batches(run: Run) -> str:
    """Batches the run trained, resumes included (final_metrics.json), or '-' if it has not
    ended (still training, or stopped before writing it)."""
    batches = run.summary.get("batches")
    return "-" if batches is None else str(batches)


def _as_trained(run: Run) -> dict[str, Any]:
    """The run's config with `model.feature_network` as the run resolved it (its summary's
    notes: `auto` became Inception or the digit classifier on the machine it trained on)."""
    recorded = str((run.summary.get("notes") or {}).get("feature_network", ""))
    if not recorded:
        return run.config
    model = dict(run.config.get("model") or {}, feature_network=recorded.split(":")[0])
    return dict(run.config, model=model)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


@dataclass
class ComparePage:
    """compare.md and compare.html of runs already read, sorted and charted."""

    runs: list[Run]
    metrics: list[str]
    sort_metric: str | None
    differences: dict[str, list[Any]]
    charts: dict[str, str]
    images: dict[str, dict[str, str]]
    validated: bool = True

    def _metric_rows(self) -> list[list[str]]:
        configs = [_as_trained(run) for run in self.runs]
        rows = [["batches trained", *(_batches(run) for run in self.runs)]]
        for metric in self.metrics:
            network = feature_network_of(metric, configs)
            head = f"{metric} ({direction_of(metric)}{', ' + network if network else ''})"
            cells = [f"{_number(r.final(metric))} / {_number(r.best(metric))}" for r in self.runs]
            rows.append([head, *cells])
        return rows

    def headline(self) -> str:
        if not self.validated:
            return (
                f"{len(self.runs)} run(s), none of which has validated yet (too short, or "
                "validating later): their training metrics, unsorted. Each cell: final / best."
            )
        return (
            f"{len(self.runs)} run(s), sorted by {self.sort_metric} (best first). "
            "Each cell: final / best."
        )

    def markdown(self) -> str:
        labels = [run.label for run in self.runs]
        out = [
            "# genzoo-compare",
            "",
            self.headline(),
            "",
            "| metric | " + " | ".join(labels) + " |",
            "|---" * (len(labels) + 1) + "|",
        ]
        out += ["| " + " | ".join(row) + " |" for row in self._metric_rows()]
        out += ["", "## Config differences", ""]
        if self.differences:
            out += ["| key | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
            out += [
                f"| `{key}` | " + " | ".join(str(v) for v in values) + " |"
                for key, values in self.differences.items()
            ]
        else:
            out.append("The runs share every config key.")
        if self.charts:
            out += ["", "## Metrics against steps", ""]
            out += [f"![{metric}]({path})" for metric, path in self.charts.items()]
        if self.images:
            out += ["", "## Latest images", ""]
        for kind, by_run in self.images.items():
            out += [f"### {kind}", ""]
            out += [f"{label}: ![{kind} of {label}]({path})" for label, path in by_run.items()]
            out.append("")
        return "\n".join(out) + "\n"

    def html(self) -> str:
        esc = html.escape
        labels = [run.label for run in self.runs]
        head = "".join(f"<th>{esc(label)}</th>" for label in labels)
        rows = "".join(
            "<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>"
            for row in self._metric_rows()
        )
        diff_rows = (
            "".join(
                f"<tr><td><code>{esc(key)}</code></td>"
                + "".join(f"<td>{esc(str(v))}</td>" for v in values)
                + "</tr>"
                for key, values in self.differences.items()
            )
            or f"<tr><td colspan='{len(labels) + 1}'>The runs share every config key.</td></tr>"
        )
        charts = "".join(
            f"<figure><img src='{esc(path)}' alt='{esc(metric)}'></figure>"
            for metric, path in self.charts.items()
        )
        images = "".join(
            f"<h3>{esc(kind)}</h3><div class='row'>"
            + "".join(
                f"<figure><img src='{esc(path)}' alt='{esc(kind)} of {esc(label)}'>"
                f"<figcaption>{esc(label)}</figcaption></figure>"
                for label, path in by_run.items()
            )
            + "</div>"
            for kind, by_run in self.images.items()
        )
        charts_part = (
            f"<h2>Metrics against steps</h2><div class='row'>{charts}</div>" if charts else ""
        )
        images_part = f"<h2>Latest images</h2>{images}" if images else ""
        return f"""<!doctype html><html><head><meta charset="utf-8"><title>genzoo-compare</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1400px}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px;font-size:13px}}figure{{display:inline-block;margin:6px}}
img{{max-width:640px}}.row{{display:flex;flex-wrap:wrap}}</style></head><body>
<h1>genzoo-compare</h1><p>{esc(self.headline())}</p>
<table><tr><th>metric</th>{head}</tr>{rows}</table>
<h2>Config differences</h2><table><tr><th>key</th>{head}</tr>{diff_rows}</table>
{charts_part}{images_part}
{IMAGE_CHECK}</body></html>
"""
