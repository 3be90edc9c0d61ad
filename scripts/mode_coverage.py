"""Modes of the stacked digits (1,000: three digits as R, G, B) that a generator covers, as
ProGAN's table 4 counts them: the digit classifier reads each channel of N samples.

    python scripts/mode_coverage.py runs/progan_stacked_digits/<name> [more runs] [--n 10000]

Prints one JSON object: for each run the modes covered and the KL divergence of their
histogram from the uniform one, and the same for N training images as the reference (the
classifier misreads some digits, so real images do not score a perfect 1,000 / 0).
"""

from __future__ import annotations

import argparse
import json
import time

import torch

import genzoo
from genzoo.data.stacked_digits import StackedDigitsDataModule
from genzoo.metrics.digit_classifier import DigitClassifier, load_digit_classifier
from genzoo.metrics.modes import mode_coverage, stacked_modes


def sampled_modes(classifier: DigitClassifier, run: str, n: int, batch: int = 500) -> torch.Tensor:
    model = genzoo.load(run, device="cpu")
    return torch.cat(
        [stacked_modes(classifier, model.sample(batch, seed=i)) for i in range(0, n, batch)]
    )[:n]


def real_modes(classifier: DigitClassifier, n: int) -> torch.Tensor:
    data = StackedDigitsDataModule(train_images=n)
    data.setup()
    images = torch.stack([item["image"] for item in data.train_set.__getitems__(list(range(n)))])
    return stacked_modes(classifier, images)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--n", type=int, default=10_000, help="samples per run")
    args = parser.parse_args()
    classifier = load_digit_classifier()
    result = {"training images": mode_coverage(real_modes(classifier, args.n)), "samples": args.n}
    for run in args.runs:
        start = time.perf_counter()
        result[run] = {**mode_coverage(sampled_modes(classifier, run, args.n)),
                       "seconds": round(time.perf_counter() - start, 1)}  # fmt: skip
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
