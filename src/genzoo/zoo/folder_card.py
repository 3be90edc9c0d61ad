"""The README.md card of a model folder (and of each shipped model, zoo/<name>.md): YAML front
matter in the form model hubs index (library, license, tags, datasets, the paper, the measured
metrics as a model-index), then the card's text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from genzoo.utils.checkpoint import import_target

# The paper behind each family: (title, arXiv id).
PAPERS = {
    "VAE": ("Auto-Encoding Variational Bayes", "1312.6114"),
    "DCGAN": ("Unsupervised Representation Learning with Deep Convolutional GANs", "1511.06434"),
    "StyleGAN": ("Analyzing and Improving the Image Quality of StyleGAN", "1912.04958"),
    "ProGAN": (
        "Progressive Growing of GANs for Improved Quality, Stability, and Variation",
        "1710.10196",
    ),
    "VQVAE": ("Neural Discrete Representation Learning", "1711.00937"),
    "VQVAEPrior": ("Generating Diverse High-Fidelity Images with VQ-VAE-2", "1906.00446"),
    "Pix2Pix": ("Image-to-Image Translation with Conditional Adversarial Networks", "1611.07004"),
    "CycleGAN": ("Unpaired Image-to-Image Translation using Cycle-Consistent GANs", "1703.10593"),
    "SRResNet": ("Photo-Realistic Single Image Super-Resolution Using a GAN", "1609.04802"),
    "SRGAN": ("Photo-Realistic Single Image Super-Resolution Using a GAN", "1609.04802"),
}
# A model hub's task for what a family does, first match wins.
TASKS = (
    ("upscale", "image-super-resolution"),
    ("translate", "image-to-image"),
    ("sample", "unconditional-image-generation"),
    ("reconstruct", "image-to-image"),
)
COUNTS = ("num_real", "num_fake", "num_images", "iw_samples")  # sizes, not measurements


def dataset_name(target: str | None) -> str | None:
    """A datamodule's short name (`digits`) from its class path."""
    if not target:
        return None
    cls = import_target(target) if "." in target else None
    return str(getattr(cls, "name", target.rsplit(".", 1)[-1]))


def measured_metrics(folder_meta: dict[str, Any], card: dict[str, Any] | None) -> dict[str, Any]:
    """(split, metrics, command) that measured the model: the shipped card's, else the run's
    genzoo-eval result (eval_val.json), else nothing."""
    if card:
        return {"split": card["split"], "metrics": card["metrics"], "by": card["eval_command"]}
    run_dir = folder_meta.get("run_dir")
    result = Path(str(run_dir)) / "eval_val.json" if run_dir else None
    if result is not None and result.is_file():
        written = json.loads(result.read_text())
        return {"split": written["split"], "metrics": written["metrics"], "by": "genzoo-eval"}
    return {}


def front_matter(
    name: str,
    family: str,
    capabilities: list[str],
    dataset: str | None,
    measured: dict[str, Any],
) -> dict[str, Any]:
    """The card's YAML header as a dict."""
    task = next((tag for capability, tag in TASKS if capability in capabilities), None)
    header: dict[str, Any] = {
        "library_name": "genzoo",
        "license": "mit",
        "tags": ["genzoo", "pytorch", "lightning", family.lower(), *([task] if task else [])],
    }
    if task:
        header["pipeline_tag"] = task
    if dataset:
        header["datasets"] = [dataset]
    if family in PAPERS:
        title, arxiv = PAPERS[family]
        header["tags"].append(f"arxiv:{arxiv}")
        header["paper"] = {"title": title, "url": f"https://arxiv.org/abs/{arxiv}"}
    values = {k: v for k, v in (measured.get("metrics") or {}).items() if k not in COUNTS}
    if values:
        header["metrics"] = sorted(values)
        header["model-index"] = [
            {
                "name": name,
                "results": [
                    {
                        "task": {"type": task or "image-generation"},
                        "dataset": {
                            "name": dataset or "unknown",
                            "type": dataset or "unknown",
                            "split": measured["split"],
                        },
                        "metrics": [
                            {"type": k, "value": round(float(v), 4), "name": k}
                            for k, v in values.items()
                        ],
                        "source": {"name": measured["by"]},
                    }
                ],
            }
        ]
    return header


def with_front_matter(header: dict[str, Any], body: str) -> str:
    return "---\n" + yaml.safe_dump(header, sort_keys=False) + "---\n\n" + body


def read_front_matter(text: str) -> dict[str, Any]:
    """The YAML header of a card (empty where it has none)."""
    if not text.startswith("---\n"):
        return {}
    end = text.index("\n---\n", 4)
    header = yaml.safe_load(text[4:end])
    return header if isinstance(header, dict) else {}


def folder_card(
    name: str,
    family: str,
    capabilities: list[str],
    meta: dict[str, Any],
    card: dict[str, Any] | None,
    card_body: str | None,
) -> str:
    """README.md of a model folder: the shipped card's text, or a short card of a run."""
    data = (meta.get("config") or {}).get("data") or {}
    dataset = dataset_name(card["dataset"] if card else data.get("_target_"))
    measured = measured_metrics(meta, card)
    header = front_matter(name, family, capabilities, dataset, measured)
    if card_body is None:
        lines = [
            f"# `{name}`: {family}",
            "",
            '- **Use**: `genzoo.load("<this folder>")`, or `run=<this folder>` with any genzoo'
            " command",
            f"- **Data**: `{dataset or 'not recorded'}`",
            f"- **Trained**: {meta.get('global_step') or 0} optimizer steps",
            f"- **Can**: {', '.join(capabilities)}",
        ]
        if measured:
            lines += ["", f"Measured by {measured['by']} on the `{measured['split']}` split:", ""]
            lines += ["| metric | value |", "|---|---|"]
            lines += [f"| `{k}` | {v:.4g} |" for k, v in measured["metrics"].items()]
        card_body = "\n".join(lines) + "\n"
    return with_front_matter(header, card_body)
