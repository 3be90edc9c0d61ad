"""genzoo-compare: runs side by side from their local logs, offline (reporting/compare.py).

genzoo-compare runs/vae_digits/a runs/vae_digits/b metric=val/nll output=compare/
genzoo-compare vae_digits                      # every run of a run group
genzoo-compare runs/multirun/<name>            # a -m sweep's jobs
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from genzoo.cli.key_values import key_value_options
from genzoo.errors import ConfigError, exit_on_user_error

USAGE = """genzoo-compare: runs side by side from their local logs (csv/metrics.csv, .hydra/).
Writes compare.md and compare.html (metrics with their direction, config differences,
metric-against-step charts, latest images) into one folder.

Usage: genzoo-compare RUN_OR_GROUP... [metric=val/fid] [output=DIR]

  RUN_OR_GROUP  a run directory, a folder of runs (a run group, a -m sweep's folder), or a run
                group's name under runs/ ($GENZOO_RUNS)
  metric=NAME   the metric that sorts the runs (default: val/fid, val/neg_elbo or val/psnr)
  output=DIR    where to write (default: runs/compare)
"""


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        sys.exit(0 if args else 2)
    with exit_on_user_error():
        options = key_value_options(args, "genzoo-compare", ("metric", "output"))
        specs = [a for a in args if "=" not in a]
        if not specs:
            raise ConfigError("name at least one run, run group or sweep folder to compare")
        runs_root = Path(os.environ.get("GENZOO_RUNS", "runs"))
        from genzoo.utils.console import quiet_console

        quiet_console()
        import logging

        logging.basicConfig(
            level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"
        )
        from genzoo.reporting.compare import compare
        from genzoo.utils.options import check_output_folder

        output = check_output_folder(
            str(options.get("output") or runs_root / "compare"), "output", holds="the comparison"
        )
        page = compare(
            specs,
            output,
            options.get("metric"),
            runs_root,
        )
        print(f"comparison written to {page} (and compare.md)")


if __name__ == "__main__":
    main()
