"""genzoo-demo's work: check the options, then serve the page (demo_page.py) on 127.0.0.1."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from genzoo.errors import ConfigError

log = logging.getLogger("genzoo")
HOST = "127.0.0.1"  # this machine only: the demo has no login


def checked_port(text: str) -> int:
    if not text.isdigit() or not 1024 <= int(text) <= 65535:
        raise ConfigError(f"port={text}: a number from 1024 to 65535, e.g. port=7860")
    return int(text)


def prepared_page(model: str | None, runs: list[str], device: str) -> tuple[Any, str]:
    """(the page, the model shown first), every option checked before anything is served."""
    try:
        import gradio  # noqa: F401
    except ImportError as err:
        raise ConfigError("genzoo-demo needs Gradio: pip install 'genzoo[demo]'") from err
    from genzoo.reporting.demo_actions import ModelShelf
    from genzoo.reporting.demo_page import build_page
    from genzoo.utils.device import pick_device

    for run in runs:
        if not Path(run).expanduser().exists():
            raise ConfigError(f"runs=...{run}: no such run directory, .ckpt file or model folder")
    shelf = ModelShelf(runs, device=pick_device(device))
    first = model or (runs[0] if runs else "dcgan_digits")
    if first not in shelf.choices():
        raise ConfigError(
            f"model={first}: not offered; a shipped name ({', '.join(shelf.choices()[:3])}, ...) "
            "or one of runs="
        )
    shelf.get(first)  # a run that does not load is refused now, not in the page
    return build_page(shelf, first), first


def serve(model: str | None, runs: list[str], port: str, device: str) -> None:
    """Serve until Ctrl+C."""
    import gradio as gr

    number = checked_port(port)
    page, first = prepared_page(model, runs, device)
    print(f"genzoo demo of {first} on http://{HOST}:{number} (Ctrl+C stops it)", flush=True)
    page.launch(
        server_name=HOST,
        server_port=number,
        share=False,
        ssr_mode=False,
        quiet=True,
        # System fonts: the default theme's come from a font server, which the page may not reach.
        theme=gr.themes.Default(
            font=["ui-sans-serif", "system-ui", "sans-serif"],
            font_mono=["ui-monospace", "monospace"],
        ),  # fmt: skip
    )
