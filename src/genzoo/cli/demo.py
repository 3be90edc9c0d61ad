"""genzoo-demo: a local web page to try trained models in a browser (reporting/demo.py).

genzoo-demo                                        # the shipped models, on http://127.0.0.1:7860
genzoo-demo runs=runs/vae_digits/a model=runs/vae_digits/a port=8000
"""

from __future__ import annotations

from genzoo.cli.key_values import arguments_unless_help, key_value_options
from genzoo.errors import exit_on_user_error

USAGE = """genzoo-demo: a web page on this machine (127.0.0.1 only, no analytics) to try trained
models: sample with seed and truncation sliders, interpolate, mix styles, translate, upscale
and project an uploaded image, each where the chosen model can. Needs genzoo[demo] (Gradio).

Usage: genzoo-demo [model=NAME] [runs=RUN,RUN,...] [port=7860] [device=cpu]

  model=NAME   the model shown first: a shipped name or one of runs= (default: dcgan_digits)
  runs=...     run directories, .ckpt files or model folders to offer beside the shipped models
  port=7860    the port on 127.0.0.1
  device=cpu   cpu, cuda or auto
"""
OPTIONS = ("model", "runs", "port", "device")


def options_of(args: list[str]) -> dict[str, str]:
    """key=value arguments -> options, or a ConfigError naming the first bad one."""
    return key_value_options(args, "genzoo-demo", OPTIONS, "give key=value, e.g. port=8000")


def main(argv: list[str] | None = None) -> None:
    args = arguments_unless_help(argv, USAGE)
    if args is None:
        return
    with exit_on_user_error():
        options = options_of(args)
        from genzoo.reporting.demo import serve

        serve(
            model=options.get("model"),
            runs=[r for r in options.get("runs", "").strip("[]").split(",") if r],
            port=options.get("port", "7860"),
            device=options.get("device", "cpu"),
        )


if __name__ == "__main__":
    main()
