"""genzoo-report: the lecture's figures and tables from runs or the shipped models (reporting/report.py).

genzoo-report                                   # from the shipped checkpoints
genzoo-report runs=runs/vae_digits/a,runs/dcgan_digits/g1 output=report/
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from genzoo.cli.key_values import arguments_unless_help, key_value_options
from genzoo.errors import ConfigError, exit_on_user_error

USAGE = """genzoo-report: one HTML page (and a PDF where Chromium is installed) that reproduces the
lecture's figures and tables: the SR table beside the lecture's, VAE / GAN / StyleGAN / VQ-VAE /
Pix2Pix / CycleGAN figures, each with its held-out metrics (genzoo-eval of each run; a shipped
model's from its card).

Usage: genzoo-report [runs=RUN,RUN,...] [output=DIR] [iw_samples=N]

  runs=...      runs, .ckpt files or zoo:<name>, comma-separated (default: every shipped model)
  output=DIR    where to write report.html, report.pdf, figures/ (default: runs/report)
  iw_samples=N  the importance samples of a VAE run's NLL bound (genzoo-eval's, default 256)
"""


def main(argv: list[str] | None = None) -> None:
    args = arguments_unless_help(argv, USAGE)
    if args is None:
        return
    with exit_on_user_error():
        options = key_value_options(
            args, "genzoo-report", ("runs", "output", "iw_samples"), "give runs=... or output="
        )
        iw_samples = options.get("iw_samples")
        if iw_samples is not None and not (iw_samples.isdigit() and int(iw_samples) >= 1):
            raise ConfigError(f"iw_samples={iw_samples!r} must be an integer of at least 1")
        runs = [r for r in options.get("runs", "").strip("[]").split(",") if r]
        runs_root = Path(os.environ.get("GENZOO_RUNS", "runs"))
        logging.basicConfig(
            level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"
        )
        from genzoo.reporting.report import make_report
        from genzoo.utils.console import quiet_console

        quiet_console()
        eval_options = {"iw_samples": iw_samples} if iw_samples else {}
        output = Path(options.get("output") or runs_root / "report")
        result = make_report(runs, output, eval_options)
        print(f"report written to {result['page']} in {result['seconds']:.0f} s")


if __name__ == "__main__":
    main()
