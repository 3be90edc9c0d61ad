"""FID against the guidance scale w of a class-conditional diffusion run: genzoo-eval of its
DDIM samples at each w (the same seed and sample count each time), drawn as one figure.

    python scripts/diffusion_guidance_curve.py runs/diffusion_digits/<name> \
        [--w 0 1 2 4] [--figure docs/images/diffusion_digits_guidance.png]

Prints one JSON object: for each w its FID, KID, class entropy and, where w is not 0 (there is
an intended class), the digit classifier's accuracy on the intended class. Each point is one
genzoo-eval (about 4 minutes for 1,000 guided 32 px samples on 2 CPU cores; w = 0 half that).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from genzoo.reporting.report import evaluate_model  # noqa: E402

KEYS = ("fid", "kid", "class_entropy", "class_accuracy")


def measure(run: str, w: float, out: Path) -> dict[str, float]:
    metrics = evaluate_model(run, out, {"guidance": str(w)})["metrics"]
    return {key: float(metrics[key]) for key in KEYS if key in metrics}


def draw(points: dict[float, dict[str, float]], figure: Path) -> None:
    ws = sorted(points)
    fig, fid_axis = plt.subplots(figsize=(5, 3.2), dpi=120)
    fid_axis.plot(ws, [points[w]["fid"] for w in ws], "o-", color="tab:blue")
    fid_axis.set_xlabel("guidance scale w (0: unconditional)")
    fid_axis.set_ylabel("FID (digit features)", color="tab:blue")
    guided = [w for w in ws if "class_accuracy" in points[w]]
    if guided:
        accuracy_axis = fid_axis.twinx()
        accuracy = [100 * points[w]["class_accuracy"] for w in guided]
        accuracy_axis.plot(guided, accuracy, "s--", color="tab:red")
        accuracy_axis.set_ylabel("class accuracy, %", color="tab:red")
    fid_axis.set_title("Classifier-free guidance: quality against adherence", fontsize=9)
    fig.tight_layout()
    figure.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(figure)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--w", type=float, nargs="+", default=[0.0, 1.0, 2.0, 4.0])
    parser.add_argument("--figure", type=Path, default=None, help="PNG to draw (none: no figure)")
    args = parser.parse_args()
    points: dict[float, dict[str, float]] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        for i, w in enumerate(args.w):
            points[w] = measure(args.run, w, Path(folder) / f"eval_{i}.json")
    if args.figure is not None:
        draw(points, args.figure)
    seconds = round(time.perf_counter() - started, 1)
    print(json.dumps({"run": args.run, "seconds": seconds, "points": points}, indent=2))


if __name__ == "__main__":
    main()
