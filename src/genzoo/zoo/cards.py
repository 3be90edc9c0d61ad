"""Model cards of the shipped checkpoints as Markdown: one per model (zoo/<name>.md) and the
overview page docs/zoo.md, both rendered from the JSON cards that scripts/build_zoo.py writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genzoo.zoo import ZOO_DIR, model_card, shipped_names

# The metrics the overview table shows, in this order, where a card has them.
HEADLINE = (
    "nll", "bpd", "fid", "kid", "class_accuracy", "class_entropy", "psnr", "ssim", "psnr_gain", "code_usage",
    "nll_bits_per_code", "bpd_bound", "l1_to_truth", "gain_AtoB", "gain_BtoA", "cycle_l1",
)  # fmt: skip


FEATURE_NETWORKS = {
    "digits": "genzoo's shipped digit classifier (128-d features), the same on every machine",
    "inception": "torch-fidelity's Inception-v3 (2048-d pool features)",
}


def headline(metrics: dict[str, Any]) -> str:
    shown = [key for key in HEADLINE if key in metrics][:5]
    return ", ".join(f"{key} {_number(metrics[key])}" for key in shown)


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _minutes(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def card_markdown(card: dict[str, Any]) -> str:
    """One model's card: what it is, how it was trained, what it measures, how to check."""
    size_mb = card["checkpoint_bytes"] / 1e6
    lines = [
        f"# `{card['name']}`: {card['family']}",
        "",
        f'- **Use**: `genzoo.load("{card["name"]}")`, or `run=zoo:{card["name"]}` with any genzoo command',
        f"- **Data**: `{card['dataset'].rsplit('.', 1)[-1]}` (embedded; `experiment={card['experiment']}`)",
        f"- **Recipe**: `{card['train_command']}` (seed 0), {card['batches']} batches, the last checkpoint",
        f"- **Training**: {_minutes(card['train_seconds'])} on {card['hardware']}",
        f"- **Weights**: {size_mb:.2f} MB, {card['weights']}; sha256 `{card['sha256'][:16]}...`",
        f"- **Evaluation**: `{card['eval_command']}` on the `{card['split']}` split "
        f"({card['split_is']}), {card['eval_seconds']:.0f} s; a rebuilt value within "
        f"{card['relative_tolerance']:.0%} of the card's is a match (tests/test_zoo.py)",
        *(
            [
                f"- **Feature network** (FID, KID, class metrics): `{card['feature_network']}`, "
                f"{FEATURE_NETWORKS.get(card['feature_network'], card['feature_network'])}"
            ]
            if card.get("feature_network")
            else []
        ),
        "",
        "| metric | value |",
        "|---|---|",
        *(f"| `{key}` | {_number(value)} |" for key, value in card["metrics"].items()),
    ]
    if card.get("notes"):
        lines += ["", *(f"- `{key}`: {text}" for key, text in card["notes"].items())]
    if quick := card.get("quick_check"):
        lines += [
            "",
            f"Quick check (the default test suite; the evaluation above runs in make test-all): "
            f"`{card['eval_command']} {' '.join(quick['options'])}` measures "
            f"{headline(quick['metrics'])}.",
        ]
    return "\n".join(lines) + "\n"


def shipped_card_text(card: dict[str, Any]) -> str:
    """zoo/<name>.md: the card's text under the YAML front matter model hubs read."""
    from genzoo.utils.checkpoint import import_target
    from genzoo.zoo.folder_card import dataset_name, front_matter, with_front_matter

    capabilities = sorted(import_target(card["model_target"]).capabilities)
    measured = {"split": card["split"], "metrics": card["metrics"], "by": card["eval_command"]}
    header = front_matter(
        card["name"], card["family"], capabilities, dataset_name(card["dataset"]), measured
    )
    return with_front_matter(header, card_markdown(card))


def write_zoo_page(path: Path) -> None:
    """zoo/<name>.md for every shipped model and the overview docs/zoo.md."""
    cards = [model_card(name) for name in shipped_names()]
    for card in cards:
        (ZOO_DIR / f"{card['name']}.md").write_text(shipped_card_text(card))
    total = sum(card["checkpoint_bytes"] for card in cards) / 1e6
    lines = [
        "# Shipped checkpoints",
        "",
        "genzoo ships one trained model per embedded recipe inside the package "
        f"(`src/genzoo/zoo/`, {total:.1f} MB in all). They load without training or network:",
        "",
        "```bash",
        "genzoo-sample run=zoo:dcgan_digits n=64",
        "genzoo-eval run=zoo:vae_digits",
        "```",
        "",
        'or from Python, `genzoo.load("dcgan_digits")` (docs/api.md). Each is the last',
        "checkpoint of its recipe, seed 0, rebuilt by `python scripts/build_zoo.py all`; its card",
        "(`src/genzoo/zoo/<name>.md`, `.json`) holds the held-out metrics that `genzoo-eval`",
        "measured on the shipped file, which `tests/test_zoo.py` reproduces. Weights are float32,",
        "or float16 where the card's metrics do not move (its `weights` line says which; they",
        "are cast back to float32 when loaded). The wheel's budget is 60 MB.",
        "",
        "| name | family | batches | training | size | held-out metrics (genzoo-eval) |",
        "|---|---|---|---|---|---|",
    ]
    for card in cards:
        shown = headline(card["metrics"])
        lines.append(
            f"| [`{card['name']}`](../src/genzoo/zoo/{card['name']}.md) | {card['family']} "
            f"| {card['batches']} | {_minutes(card['train_seconds'])} "
            f"| {card['checkpoint_bytes'] / 1e6:.2f} MB | {shown} |"
        )
    lines += ["", f"Hardware: {cards[0]['hardware'] if cards else 'n/a'}.", ""]
    path.write_text("\n".join(lines))
