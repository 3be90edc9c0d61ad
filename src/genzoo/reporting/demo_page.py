"""genzoo-demo's page (Gradio): choose a model, then the panels its capabilities offer (sample,
interpolate, style mix, translate, upscale, project, reconstruct), one under the other:
Gradio's tabs keep their buttons when hidden by an update, so a model would show buttons of
what it cannot do.
The work is demo_actions.py's; a mistake shows as one line under the model's description
(#message), never a traceback.

Served on 127.0.0.1 only, with Gradio's analytics off and no font fetched from outside.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from genzoo.reporting import demo_actions as act

# Read by Gradio at import: no usage pings, no version check.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

PANELS = ("sample", "interpolate", "style_mix", "translate", "upscale", "project", "reconstruct")


@dataclass
class Panel:
    """One capability's controls: its button runs `action(model, *inputs)` into `shown`."""

    column: Any
    button: Any
    action: Callable[..., Any]
    inputs: list[Any]
    shown: list[Any]
    controls: dict[str, Any] = field(default_factory=dict)  # what choosing a model updates


def _sample_panel(gr: Any) -> Panel:
    with gr.Column(variant="panel", elem_id="panel-sample") as column:
        gr.Markdown("### Sample")
        with gr.Row():
            seed = gr.Slider(0, 9999, value=0, step=1, label="Seed", elem_id="seed")
            count = gr.Slider(1, 64, value=16, step=1, label="Images", elem_id="count")
            truncation = gr.Slider(0.1, 1.0, value=1.0, step=0.05, label="Truncation (psi)",
                                   elem_id="truncation")  # fmt: skip
            temperature = gr.Slider(0.1, 2.0, value=1.0, step=0.05, label="Temperature",
                                    elem_id="temperature")  # fmt: skip
        button = gr.Button("Generate", variant="primary", elem_id="generate")
        samples = gr.Image(label="Samples", type="pil", elem_id="samples")
    return Panel(column, button, act.sample_picture, [count, seed, truncation, temperature],
                 [samples], {"truncation": truncation, "temperature": temperature})  # fmt: skip


def _interpolate_panel(gr: Any) -> Panel:
    with gr.Column(variant="panel", elem_id="panel-interpolate") as column:
        gr.Markdown("### Interpolate")
        with gr.Row():
            seed_a = gr.Number(0, label="From seed", precision=0)
            seed_b = gr.Number(1, label="To seed", precision=0)
            steps = gr.Slider(2, 16, value=8, step=1, label="Steps")
        button = gr.Button("Interpolate", elem_id="interpolate")
        strip = gr.Image(label="Interpolation", type="pil", elem_id="strip")
    return Panel(column, button, act.interpolation_picture, [seed_a, seed_b, steps], [strip])


def _style_mix_panel(gr: Any) -> Panel:
    with gr.Column(variant="panel", elem_id="panel-style_mix") as column:
        gr.Markdown("### Style mix")
        with gr.Row():
            rows = gr.Textbox("1, 2, 3", label="Row seeds (coarse styles)")
            cols = gr.Textbox("4, 5, 6", label="Column seeds (fine styles)")
        button = gr.Button("Mix", elem_id="mix")
        mixed = gr.Image(label="Style mixing", type="pil", elem_id="mixed")
    return Panel(column, button, act.style_mix_picture, [rows, cols], [mixed])


def _translate_panel(gr: Any) -> Panel:
    with gr.Column(variant="panel", elem_id="panel-translate") as column:
        gr.Markdown("### Translate")
        upload = gr.File(label="Image to translate", type="filepath", elem_id="translate-upload")
        direction = gr.Radio(["AtoB"], value="AtoB", label="Direction", elem_id="direction")
        button = gr.Button("Translate", elem_id="translate")
        translated = gr.Image(label="Translation", type="pil", elem_id="translated")
    return Panel(column, button, act.translation_picture, [upload, direction], [translated],
                 {"direction": direction})  # fmt: skip


def _upscale_panel(gr: Any) -> Panel:
    with gr.Column(variant="panel", elem_id="panel-upscale") as column:
        gr.Markdown("### Upscale")
        upload = gr.File(label="Low-resolution image", type="filepath", elem_id="upscale-upload")
        button = gr.Button("Upscale (tiled)", elem_id="upscale")
        upscaled = gr.Image(label="Upscaled", type="pil", elem_id="upscaled")
    return Panel(column, button, act.upscale_picture, [upload], [upscaled])


def _project_panel(gr: Any) -> Panel:
    with gr.Column(variant="panel", elem_id="panel-project") as column:
        gr.Markdown("### Project")
        upload = gr.File(label="Image to project (the model's size)", type="filepath",
                         elem_id="project-upload")  # fmt: skip
        steps = gr.Slider(10, 500, value=100, step=10, label="Steps")
        button = gr.Button("Project", elem_id="project")
        projected = gr.Image(label="Target | projection", type="pil", elem_id="projected")
        psnr = gr.Markdown(elem_id="projection-psnr")
    return Panel(column, button, act.projection_picture, [upload, steps], [projected, psnr])


def _reconstruct_panel(gr: Any) -> Panel:
    with gr.Column(variant="panel", elem_id="panel-reconstruct") as column:
        gr.Markdown("### Reconstruct")
        upload = gr.File(label="Image to encode and decode (the model's size)",
                         type="filepath", elem_id="reconstruct-upload")  # fmt: skip
        button = gr.Button("Reconstruct", elem_id="reconstruct")
        reconstructed = gr.Image(label="Image | reconstruction", type="pil",
                                 elem_id="reconstructed")  # fmt: skip
    return Panel(column, button, act.reconstruction_picture, [upload], [reconstructed])


PANEL_BUILDERS = {
    "sample": _sample_panel,
    "interpolate": _interpolate_panel,
    "style_mix": _style_mix_panel,
    "translate": _translate_panel,
    "upscale": _upscale_panel,
    "project": _project_panel,
    "reconstruct": _reconstruct_panel,
}


def _wire_chooser(gr: Any, page: Any, shelf: act.ModelShelf, chooser: Any, status: Any,
                  message: Any, panels: dict[str, Panel]) -> None:  # fmt: skip
    """Choosing a model describes it and shows only the panels (and sliders) it can use."""
    truncation = panels["sample"].controls["truncation"]
    temperature = panels["sample"].controls["temperature"]
    direction = panels["translate"].controls["direction"]

    def choose(name: str) -> list[Any]:
        model, error = act.run_safely(shelf.get, name)
        if model is None:
            return [gr.update(), error, *[gr.update() for _ in range(len(PANELS) + 3)]]
        can = act.controls_of(model)
        visible = [gr.update(visible=getattr(can, panel)) for panel in PANELS]
        return [
            act.describe(model), "", *visible,
            gr.update(visible=can.truncation), gr.update(visible=can.temperature),
            gr.update(choices=list(can.directions), value=can.directions[0]),
        ]  # fmt: skip

    columns = [panels[name].column for name in PANELS]
    outputs = [status, message, *columns, truncation, temperature, direction]
    chooser.change(choose, chooser, outputs)
    page.load(choose, chooser, outputs)


def _wire_button(gr: Any, shelf: act.ModelShelf, chooser: Any, message: Any, panel: Panel) -> None:
    """The panel's button runs its action on the chosen model; a mistake goes to #message."""

    def run(name: str, *values: Any) -> list[Any]:
        model, error = act.run_safely(shelf.get, name)
        result, error = act.run_safely(panel.action, model, *values) if model else (None, error)
        if result is None:
            return [*(gr.update() for _ in panel.shown), error]
        pictures = result if isinstance(result, tuple) else (result,)
        return [*pictures, ""]

    panel.button.click(run, [chooser, *panel.inputs], [*panel.shown, message])


def build_page(shelf: act.ModelShelf, first: str) -> Any:
    """The Gradio Blocks of the demo, `first` chosen."""
    import gradio as gr

    with gr.Blocks(title="genzoo demo", analytics_enabled=False) as page:
        gr.Markdown("# genzoo demo\nTrained generative models of the lecture, on this machine.")
        chooser = gr.Dropdown(shelf.choices(), value=first, label="Model", elem_id="model")
        status = gr.Markdown(elem_id="status")
        message = gr.Markdown(elem_id="message")
        panels = {name: PANEL_BUILDERS[name](gr) for name in PANELS}
        _wire_chooser(gr, page, shelf, chooser, status, message, panels)
        for panel in panels.values():
            _wire_button(gr, shelf, chooser, message, panel)
    return page
