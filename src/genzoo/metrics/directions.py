"""Which way each logged metric is better, and which feature network a sample metric used:
what genzoo-compare and genzoo-report print beside every number."""

from __future__ import annotations

from typing import Any

# Name fragments of metrics where higher is better; every other metric is lower-better
# (losses, FID, KID, SWD, NLL, bits/dim, L1, MSE).
HIGHER_BETTER = (
    "psnr", "ssim", "class_entropy", "confident", "perplexity", "code_usage", "gain",
    "elbo", "hf_ratio", "sharpness", "accuracy",
)  # fmt: skip
LOWER_BETTER_EXCEPTIONS = ("neg_elbo",)
# Metrics computed on features of a network (the one in the run's model.feature_network).
FEATURE_METRICS = ("fid", "kid", "class_entropy", "confident")


def higher_is_better(metric: str) -> bool:
    name = metric.rsplit("/", 1)[-1]
    if any(name.startswith(e) for e in LOWER_BETTER_EXCEPTIONS):
        return False
    return any(fragment in name for fragment in HIGHER_BETTER)


def direction_of(metric: str) -> str:
    return "higher is better" if higher_is_better(metric) else "lower is better"


def feature_network_of(metric: str, configs: list[dict[str, Any]]) -> str | None:
    """The feature network(s) behind a FID-like metric, from the runs' model configs."""
    if metric.rsplit("/", 1)[-1] not in FEATURE_METRICS:
        return None
    names = sorted({str((c.get("model") or {}).get("feature_network", "auto")) for c in configs})
    described = {"digits": "digit-classifier features", "inception": "Inception features"}
    return " / ".join(described.get(n, f"{n} features") for n in names)
