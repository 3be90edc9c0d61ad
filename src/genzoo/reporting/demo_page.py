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
from typing import Any

from genzoo.reporting import demo_actions as act

# Read by Gradio at import: no usage pings, no version check.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

PANELS = ("sample", "interpolate", "style_mix", "translate", "upscale", "project", "reconstruct")


def build_page(shelf: act.ModelShelf, first: str) -> Any:
    """The Gradio Blocks of the demo, `first` chosen."""
    import gradio as gr

    with gr.Blocks(title="genzoo demo", analytics_enabled=False) as page:
        gr.Markdown("# genzoo demo\nTrained generative models of the lecture, on this machine.")
        chooser = gr.Dropdown(shelf.choices(), value=first, label="Model", elem_id="model")
        status = gr.Markdown(elem_id="status")
        message = gr.Markdown(elem_id="message")
        panels: dict[str, Any] = {}
        with gr.Column(variant="panel", elem_id="panel-sample") as panels["sample"]:
            gr.Markdown("### Sample")
            with gr.Row():
                seed = gr.Slider(0, 9999, value=0, step=1, label="Seed", elem_id="seed")
                count = gr.Slider(1, 64, value=16, step=1, label="Images", elem_id="count")
                truncation = gr.Slider(0.1, 1.0, value=1.0, step=0.05, label="Truncation (psi)",
                                       elem_id="truncation")  # fmt: skip
                temperature = gr.Slider(0.1, 2.0, value=1.0, step=0.05, label="Temperature",
                                        elem_id="temperature")  # fmt: skip
            generate = gr.Button("Generate", variant="primary", elem_id="generate")
            samples = gr.Image(label="Samples", type="pil", elem_id="samples")
        with gr.Column(variant="panel", elem_id="panel-interpolate") as panels["interpolate"]:
            gr.Markdown("### Interpolate")
            with gr.Row():
                seed_a = gr.Number(0, label="From seed", precision=0)
                seed_b = gr.Number(1, label="To seed", precision=0)
                steps = gr.Slider(2, 16, value=8, step=1, label="Steps")
            interpolate = gr.Button("Interpolate", elem_id="interpolate")
            strip = gr.Image(label="Interpolation", type="pil", elem_id="strip")
        with gr.Column(variant="panel", elem_id="panel-style_mix") as panels["style_mix"]:
            gr.Markdown("### Style mix")
            with gr.Row():
                rows = gr.Textbox("1, 2, 3", label="Row seeds (coarse styles)")
                cols = gr.Textbox("4, 5, 6", label="Column seeds (fine styles)")
            mix = gr.Button("Mix", elem_id="mix")
            mixed = gr.Image(label="Style mixing", type="pil", elem_id="mixed")
        with gr.Column(variant="panel", elem_id="panel-translate") as panels["translate"]:
            gr.Markdown("### Translate")
            translate_in = gr.File(label="Image to translate", type="filepath",
                                   elem_id="translate-upload")  # fmt: skip
            direction = gr.Radio(["AtoB"], value="AtoB", label="Direction", elem_id="direction")
            translate = gr.Button("Translate", elem_id="translate")
            translated = gr.Image(label="Translation", type="pil", elem_id="translated")
        with gr.Column(variant="panel", elem_id="panel-upscale") as panels["upscale"]:
            gr.Markdown("### Upscale")
            upscale_in = gr.File(label="Low-resolution image", type="filepath",
                                 elem_id="upscale-upload")  # fmt: skip
            upscale = gr.Button("Upscale (tiled)", elem_id="upscale")
            upscaled = gr.Image(label="Upscaled", type="pil", elem_id="upscaled")
        with gr.Column(variant="panel", elem_id="panel-project") as panels["project"]:
            gr.Markdown("### Project")
            project_in = gr.File(label="Image to project (the model's size)", type="filepath",
                                 elem_id="project-upload")  # fmt: skip
            project_steps = gr.Slider(10, 500, value=100, step=10, label="Steps")
            project = gr.Button("Project", elem_id="project")
            projected = gr.Image(label="Target | projection", type="pil", elem_id="projected")
            projection_psnr = gr.Markdown(elem_id="projection-psnr")
        with gr.Column(variant="panel", elem_id="panel-reconstruct") as panels["reconstruct"]:
            gr.Markdown("### Reconstruct")
            reconstruct_in = gr.File(
                label="Image to encode and decode (the model's size)", type="filepath",
                elem_id="reconstruct-upload",
            )  # fmt: skip
            reconstruct = gr.Button("Reconstruct", elem_id="reconstruct")
            reconstructed = gr.Image(label="Image | reconstruction", type="pil",
                                     elem_id="reconstructed")  # fmt: skip

        def choose(name: str) -> list[Any]:
            model, error = act.run_safely(shelf.get, name)
            if model is None:
                return [gr.update(), error, *[gr.update() for _ in range(len(PANELS) + 3)]]
            can = act.controls_of(model)
            visible = [gr.update(visible=getattr(can, tab)) for tab in PANELS]
            return [
                act.describe(model), "", *visible,
                gr.update(visible=can.truncation), gr.update(visible=can.temperature),
                gr.update(choices=list(can.directions), value=can.directions[0]),
            ]  # fmt: skip

        outputs = [status, message, *panels.values(), truncation, temperature, direction]
        chooser.change(choose, chooser, outputs)
        page.load(choose, chooser, outputs)

        def on(button: Any, action: Any, inputs: list[Any], shown: list[Any]) -> None:
            def run(name: str, *values: Any) -> list[Any]:
                model, error = act.run_safely(shelf.get, name)
                result, error = act.run_safely(action, model, *values) if model else (None, error)
                if result is None:
                    return [*(gr.update() for _ in shown), error]
                pictures = result if isinstance(result, tuple) else (result,)
                return [*pictures, ""]

            button.click(run, [chooser, *inputs], [*shown, message])

        on(generate, act.sample_picture, [count, seed, truncation, temperature], [samples])
        on(interpolate, act.interpolation_picture, [seed_a, seed_b, steps], [strip])
        on(mix, act.style_mix_picture, [rows, cols], [mixed])
        on(translate, act.translation_picture, [translate_in, direction], [translated])
        on(upscale, act.upscale_picture, [upscale_in], [upscaled])
        on(
            project,
            act.projection_picture,
            [project_in, project_steps],
            [projected, projection_psnr],
        )
        on(reconstruct, act.reconstruction_picture, [reconstruct_in], [reconstructed])
    return page
