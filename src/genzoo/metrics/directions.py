"""Which way each logged metric is better, and which feature network a sample metric used:
what genzoo-compare and genzoo-report print beside every number."""

from __future__ import annotations

from typing import Any

# Name fragments of metrics where higher is better; every other metric is lower-better
# (losses, FID, KID, SWD, NLL, bits/dim, L1, MSE), except the ratios below.
HIGHER_BETTER = (
    "psnr", "ssim", "class_entropy", "confident", "perplexity", "code_usage", "gain", "elbo",
    "accuracy",
)  # fmt: skip
LOWER_BETTER_EXCEPTIONS = ("neg_elbo",)
# Ratios of a model's output to the real images' (high-frequency energy, sharpness): 1 is
# best, above 1 is noise, below 1 blur. They rank by distance to 1.
BEST_AT_ONE = ("hf_ratio", "sharpness")
# Metrics computed on features of a network (the one in the run's model.feature_network).
FEATURE_METRICS = ("fid", "kid", "class_entropy", "confident")


def best_at_one(metric: str) -> bool:
    name = metric.rsplit("/", 1)[-1]
    return any(fragment in name for fragment in BEST_AT_ONE)


def higher_is_better(metric: str) -> bool:
    name = metric.rsplit("/", 1)[-1]
    if best_at_one(metric) or any(name.startswith(e) for e in LOWER_BETTER_EXCEPTIONS):
        return False
    return any(fragment in name for fragment in HIGHER_BETTER)


def badness(metric: str, value: float) -> float:
    """A value's rank key, lower is better, for any metric: what 'best' and sorting use."""
    if best_at_one(metric):
        return abs(value - 1.0)
    return -value if higher_is_better(metric) else value


def best_value(metric: str, values: list[float]) -> float:
    return min(values, key=lambda v: badness(metric, v))


def direction_of(metric: str) -> str:
    if best_at_one(metric):
        return "best at 1, ranked by distance to 1"
    return "higher is better" if higher_is_better(metric) else "lower is better"


def feature_network_of(metric: str, configs: list[dict[str, Any]]) -> str | None:
    """The feature network(s) behind a FID-like metric, from the runs' model configs."""
    if metric.rsplit("/", 1)[-1] not in FEATURE_METRICS:
        return None
    names = sorted({str((c.get("model") or {}).get("feature_network", "auto")) for c in configs})
    described = {
        "digits": "digit-classifier features",
        "inception": "Inception features",
        # A run that did not say what `auto` became (it has not ended yet).
        "auto": "Inception or digit-classifier features (auto, as the run's machine had)",
        "none": "not computed (no feature network)",
    }
    return " / ".join(described.get(n, f"{n} features") for n in names)
