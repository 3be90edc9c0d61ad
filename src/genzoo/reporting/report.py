"""genzoo-report's work: the lecture's figures and tables, reproduced from trained runs (or the
shipped checkpoints) in one HTML page, and a PDF of it where Chromium is installed.

Every number is genzoo-eval's on the held-out split: measured when the report is made for runs,
read from the model card for shipped models (whose cards tests/test_zoo.py measures again).
Every figure is drawn through the model contract (genzoo.api) with titled columns (utils/figures.py).
"""

from __future__ import annotations

import contextlib
import html
import io
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from genzoo.errors import ConfigError
from genzoo.reporting.browser import IMAGE_CHECK, browser_check
from genzoo.reporting.report_diffusion import diffusion_figures
from genzoo.reporting.report_sr import LECTURE_SR, evaluated_on, sr_sentence, zoom_panel
from genzoo.tasks.user_images import validation_batch, validation_items
from genzoo.utils import figures

log = logging.getLogger("genzoo")

FAMILY_ORDER = (
    "VAE", "DCGAN", "StyleGAN", "ProGAN", "VQVAE", "VQPrior", "Pix2Pix", "CycleGAN",
    "Diffusion",
)  # fmt: skip


@dataclass
class Section:
    title: str
    text: str = ""
    figures: list[tuple[str, str]] = field(default_factory=list)  # (file, caption)
    table: list[list[str]] = field(default_factory=list)  # first row: header


def evaluate_model(
    reference: str, out: Path, options: dict[str, str] | None = None
) -> dict[str, Any]:
    """genzoo-eval of a run or shipped model, in this process, with genzoo-eval's `options`."""
    from genzoo.config.compose import compose_config
    from genzoo.tasks.evaluate import evaluate

    given = [f"{key}={value}" for key, value in (options or {}).items()]
    cfg = compose_config("eval", [f"run={reference}", f"out={out}", "device=cpu", *given])
    with contextlib.redirect_stdout(io.StringIO()):  # genzoo-eval's table: the page shows them
        return evaluate(cfg)


def card_result(card: dict[str, Any]) -> dict[str, Any]:
    """A shipped model's genzoo-eval result as its card holds it (tests/test_zoo.py measures
    every card again, so the report need not)."""
    return {"metrics": card["metrics"], "notes": card.get("notes", {}), "split": card["split"]}


def _notes(result: dict[str, Any]) -> str:
    notes = result.get("notes", {})
    network = notes.get("feature_network")
    return f" Sample metrics use {network}." if network else ""


def _metrics_text(result: dict[str, Any], keys: tuple[str, ...]) -> str:
    metrics = result["metrics"]
    shown = [f"{k} {metrics[k]:.4g}" for k in keys if k in metrics]
    return f"Held-out metrics ({result['split']} split): " + ", ".join(shown) + "." + _notes(result)


class Report:
    def __init__(self, output: Path) -> None:
        self.output = output
        self.sections: list[Section] = []
        self.seconds: dict[str, float] = {}

    def fig(self, name: str) -> Path:
        return self.output / "figures" / name

    def add(self, section: Section) -> None:
        self.sections.append(section)

    # ----- one section per family -----------------------------------------------------
    def vae(self, ref: str, m: Any, result: dict[str, Any]) -> None:
        x = validation_batch(m.meta, 8)["image"]
        figures.grid(m.sample(32, seed=0), self.fig("vae_samples.png"), "VAE samples (seed 0)", 8)
        figures.panel(
            [("input", x), ("reconstruction", m.reconstruct(x))],
            self.fig("vae_reconstructions.png"),
            "VAE: held-out digits and their reconstructions",
        )
        strips = torch.cat([m.interpolate(8, seed_a=s, seed_b=s + 1) for s in range(4)])
        figures.grid(strips, self.fig("vae_interpolations.png"), "VAE: slerp in z, 4 seed pairs", 8)
        self.add(
            Section(
                f"VAE ({ref})",
                _metrics_text(result, ("nll", "bpd", "neg_elbo", "kl", "fid", "class_entropy")),
                [
                    ("vae_samples.png", "samples"),
                    ("vae_reconstructions.png", "input | reconstruction"),
                    ("vae_interpolations.png", "latent interpolations"),
                ],
            )
        )

    def gan(self, ref: str, m: Any, result: dict[str, Any]) -> None:
        name = m.family.lower()
        figures.grid(
            m.sample(32, seed=0), self.fig(f"{name}_samples.png"), f"{m.family} samples", 8
        )
        strips = torch.cat([m.interpolate(8, seed_a=s, seed_b=s + 1) for s in range(4)])
        figures.grid(
            strips, self.fig(f"{name}_interpolations.png"), f"{m.family}: interpolations", 8
        )
        shown = [
            (f"{name}_samples.png", "samples (EMA generator)"),
            (f"{name}_interpolations.png", "interpolations"),
        ]
        # The family's own figures (ProGAN's growing strip); a GAN's draw from no data.
        for panel_name, drawn in m.module.validation_panels(iter(())).items():
            titles = drawn.column_titles
            picture = figures.label_columns(drawn.grid, titles) if titles else drawn.grid
            file = f"{name}_{panel_name}.png"
            across = len(titles) if titles else 8
            figures.picture_figure(picture, self.fig(file), f"{m.family}: {panel_name}", across)
            shown.append((file, drawn.caption))
        if "style_mix" in m.capabilities:
            layers = m.module.style_layers
            mix = m.style_mix([1, 2, 3], [4, 5, 6, 7], (0, layers // 2))
            figures.grid(
                mix, self.fig("stylegan_style_mix.png"),
                f"style mixing: rows' styles, columns' w layers [0, {layers // 2}) (coarse)", 4,
            )  # fmt: skip
            psis = (1.0, 0.7, 0.5, 0.0)
            columns = [(f"psi {psi}", m.sample(4, seed=10, truncation=psi)) for psi in psis]
            figures.panel(columns, self.fig("stylegan_truncation.png"), "StyleGAN truncation trick")
            shown += [
                ("stylegan_style_mix.png", "style mixing"),
                ("stylegan_truncation.png", "truncation psi 1.0 -> 0.0 (the mean w)"),
            ]
        self.add(
            Section(
                f"{m.family} ({ref})",
                _metrics_text(result, ("fid", "kid", "swd", "class_entropy", "confident")),
                shown,
            )
        )

    def vqvae(self, ref: str, m: Any, result: dict[str, Any]) -> None:
        x = validation_batch(m.meta, 8)["image"]
        figures.panel(
            [("input", x), ("reconstruction", m.reconstruct(x))],
            self.fig("vqvae_reconstructions.png"),
            "VQ-VAE: held-out images and their reconstructions from codes",
        )
        bottom = m.encode(validation_batch(m.meta, 512)["image"])[0]
        counts = torch.bincount(
            bottom.flatten().cpu(), minlength=int(m.hparams["num_codes"])
        ).float()
        figures.code_usage(
            counts, self.fig("vqvae_code_usage.png"), "VQ-VAE codebook usage (held-out)"
        )
        self.add(
            Section(
                f"VQ-VAE ({ref})",
                _metrics_text(result, ("psnr", "mse", "perplexity", "code_usage")),
                [
                    ("vqvae_reconstructions.png", "input | reconstruction"),
                    ("vqvae_code_usage.png", "codebook usage (bottom level)"),
                ],
            )
        )

    def prior(self, ref: str, m: Any, result: dict[str, Any]) -> None:
        figures.grid(m.sample(32, seed=0), self.fig("prior_samples.png"), "VQ prior samples", 8)
        self.add(
            Section(
                f"VQ-VAE prior ({ref})",
                _metrics_text(result, ("nll_bits_per_code", "bpd_bound", "fid", "class_entropy")),
                [("prior_samples.png", "codes drawn by the prior, decoded by the first stage")],
            )
        )

    def translation(self, ref: str, m: Any, result: dict[str, Any]) -> None:
        batch = validation_batch(m.meta, 4)
        if m.family == "CycleGAN":
            a, b = batch["A"], batch["B"]
            fake = m.translate(a, "AtoB")
            columns = [
                ("A", a),
                ("G(A)", fake),
                ("F(G(A))", m.translate(fake, "BtoA")),
                ("true B", b),
            ]
            keys: tuple[str, ...] = ("l1_to_truth", "gain_AtoB", "gain_BtoA", "cycle_l1")
        else:
            direction = m.module.directions[0]
            source, target = batch[direction[0]], batch[direction[-1]]
            columns = [("input", source), ("output", m.translate(source)), ("target", target)]
            keys = ("psnr", "ssim", "l1", "psnr_gain_over_mean")
        name = f"{m.family.lower()}_translations.png"
        figures.panel(columns, self.fig(name), f"{m.family}: held-out translations")
        self.add(
            Section(
                f"{m.family} ({ref})",
                _metrics_text(result, keys),
                [(name, " | ".join(title for title, _ in columns))],
            )
        )

    def super_resolution(self, models: dict[str, tuple[str, Any, dict[str, Any]]]) -> None:
        """The lecture's SR table beside genzoo's, what it was measured on, and zoomed crops
        LR | bicubic | SR ... | HR of the held-out images (reporting/report_sr.py)."""
        first = next(iter(models.values()))
        ours: dict[str, tuple[float, float]] = {
            "bicubic": (first[2]["metrics"]["bicubic_psnr"], first[2]["metrics"]["bicubic_ssim"])
        }
        for family, (_, _, result) in models.items():
            ours[family] = (result["metrics"]["psnr"], result["metrics"]["ssim"])
        rows = [["method", "lecture PSNR / SSIM", "genzoo PSNR / SSIM (held-out images, Y)"]]
        for method, (psnr, ssim) in LECTURE_SR.items():
            mine = ours.get(method)
            rows.append(
                [
                    method,
                    f"{psnr:.2f} / {ssim:.4f}",
                    f"{mine[0]:.2f} / {mine[1]:.4f}" if mine else "no run",
                ]
            )
        items, datamodule = validation_items(first[1].meta, 2)
        scale = int(first[1].hparams["scale"])
        shown = {family: m for family, (_, m, _) in models.items()}
        titles = zoom_panel(shown, items, scale, self.fig("sr_panel.png"))
        notes = {family: result.get("notes", {}) for family, (_, _, result) in models.items()}
        self.add(
            Section(
                "Super-resolution x4: bicubic, SRResNet, SRGAN",
                sr_sentence(ours, evaluated_on(datamodule, items), shown, notes) + _notes(first[2]),
                [("sr_panel.png", " | ".join(titles) + " (zoomed crops)")],
                rows,
            )
        )

    def diffusion(self, ref: str, m: Any, result: dict[str, Any]) -> None:
        shown = diffusion_figures(m, self.output / "figures")
        keys = ("fid", "kid", "swd", "class_accuracy", "class_entropy", "guidance")
        self.add(Section(f"Diffusion ({ref})", _metrics_text(result, keys), shown))

    # ----- the page ------------------------------------------------------------------------
    def write(self, sources: str) -> Path:
        body = []
        for section in self.sections:
            body.append(
                f"<section><h2>{html.escape(section.title)}</h2><p>{html.escape(section.text)}</p>"
            )
            if section.table:
                head, *rows = section.table
                body.append(
                    "<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in head) + "</tr>"
                    + "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
                    + "</table>"
                )  # fmt: skip
            body += [
                f"<figure><img src='figures/{html.escape(f)}' alt='{html.escape(c)}'>"
                f"<figcaption>{html.escape(c)}</figcaption></figure>"
                for f, c in section.figures
            ]
            body.append("</section>")
        page = self.output / "report.html"
        page.write_text(
            f"""<!doctype html><html><head><meta charset="utf-8"><title>genzoo report</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px}}figure{{display:inline-block;margin:8px;vertical-align:top}}
img{{max-width:520px}}figcaption{{font-size:12px;color:#444}}</style></head><body>
<h1>Deep generative models: the lecture, reproduced with genzoo</h1>
<p>{html.escape(sources)} Numbers are genzoo-eval's on each model's held-out split; sample metrics on the digits use genzoo's digit classifier, not
Inception, so they compare with each other, not with published FIDs.</p>
{"".join(body)}
{IMAGE_CHECK}</body></html>
"""
        )
        return page


def make_report(
    references: list[str], output: Path, eval_options: dict[str, str] | None = None
) -> dict[str, Any]:
    """The report of `references` (runs or shipped names); the shipped set when empty.
    `eval_options` (iw_samples) go to genzoo-eval of each run whose family takes them."""
    from genzoo.api import load
    from genzoo.zoo import PREFIX, shipped_names

    started = time.perf_counter()
    refs = references or [PREFIX + name for name in shipped_names()]
    sources = (
        f"Made from the runs {', '.join(references)}."
        if references
        else "Made from the checkpoints genzoo ships (genzoo.list_models()); their held-out "
        "metrics are the ones on their model cards, which genzoo-eval measured."
    )
    output.mkdir(parents=True, exist_ok=True)
    report = Report(output)
    loaded: dict[str, tuple[str, Any, dict[str, Any]]] = {}
    for ref in refs:
        m = load(ref, device="cpu")
        result = (
            card_result(m.card)
            if m.card is not None
            else evaluate_model(
                ref,
                output / "metrics" / f"{m.family}_{len(loaded)}.json",
                {k: v for k, v in (eval_options or {}).items() if k in m.module.evaluation_options},
            )
        )
        loaded.setdefault(m.family, (ref, m, result))
    unknown = [f for f in loaded if f not in (*FAMILY_ORDER, "SRResNetModel", "SRGAN")]
    if unknown:
        raise ConfigError(f"genzoo-report has no section for {', '.join(unknown)}")
    handlers = {
        "VAE": report.vae, "DCGAN": report.gan, "StyleGAN": report.gan, "ProGAN": report.gan,
        "VQVAE": report.vqvae,
        "VQPrior": report.prior, "Pix2Pix": report.translation, "CycleGAN": report.translation,
        "Diffusion": report.diffusion,
    }  # fmt: skip
    sr = {
        {"SRResNetModel": "SRResNet"}.get(f, f): loaded[f]
        for f in ("SRResNetModel", "SRGAN")
        if f in loaded
    }
    if sr:
        report.super_resolution(sr)
    else:
        report.add(Section("Super-resolution x4", "No SRResNet or SRGAN run was given."))
    for family in FAMILY_ORDER:
        if family in loaded:
            handlers[family](*loaded[family])
        else:
            report.add(Section(family, "No run of this family was given."))
    page = report.write(sources)
    images = browser_check(page, output / "report_first_screen.png", output / "report.pdf")
    seconds = time.perf_counter() - started
    log.info("report written to %s in %.0f s (%s)", page, seconds, images or "no Chromium: no PDF")
    return {"page": page, "seconds": seconds, "images": images}
