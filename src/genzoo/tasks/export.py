"""genzoo-export's work: write a model's deployable parts (networks/deploy.py) as ONNX or
TorchScript, then check each written file against eager PyTorch on fresh inputs of another
batch size (and another spatial size where the network takes one) before keeping it.

ONNX goes through torch.onnx's TorchScript-based exporter and is checked with onnxruntime on
the CPU; TorchScript through torch.jit.trace, checked with torch.jit.load.
Files are written under temporary names and renamed only once their check passed: a failed
export leaves nothing behind.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig

from genzoo.errors import GenzooError
from genzoo.models.base import GenerativeModel
from genzoo.networks.deploy import ExportPart, InputSpec
from genzoo.tasks.preamble import checked_options, loaded_model
from genzoo.utils.options import Rule, check_output_folder, choice, optional, text

log = logging.getLogger("genzoo")

FORMATS = {"onnx": ".onnx", "torchscript": ".pt"}
ONNX_PACKAGES = ("onnx", "onnxruntime")
# Largest |exported - eager| allowed on images in [0, 1]: float32 rounding of another kernel
# order, well below one 8-bit grey level (0.0039).
TOLERANCE = 1e-4


# genzoo-export's options by type and value (utils/options.py).
OPTION_RULES: dict[str, Rule] = {
    "run": text,
    "checkpoint": text,  # on the CPU: an export is traced there
    "format": choice(*FORMATS),
    "output": optional(text),
    "part": optional(text),
}


def export(cfg: DictConfig) -> list[ExportedPart]:
    """genzoo-export: check the options and the format's packages, load, export, check, report."""
    checked_options(cfg, OPTION_RULES, "genzoo-export")
    check_format(str(cfg.format))
    if cfg.output:
        check_output_folder(str(cfg.output), "output", holds="the exported files")
    model, meta = loaded_model(cfg, device="cpu")
    folder = Path(cfg.output) if cfg.output else Path(meta["run_dir"]) / "export"
    done = export_model(model, str(cfg.format), folder, cfg.part)
    for item in done:
        log.info(
            "%s -> %s (dynamic: %s; largest difference to PyTorch %.1e)",
            item.name,
            item.path,
            ", ".join(sorted({a for axes in item.dynamic.values() for a in axes})) or "none",
            item.max_abs_diff,
        )
    log.info("inputs, outputs and checks: %s", folder / f"export_{cfg.format}.json")
    return done


class ExportError(GenzooError, RuntimeError):
    """An export that cannot be written (a missing package, an unknown format or part)."""


class ExportMismatch(GenzooError, RuntimeError):
    """An exported file whose outputs differ from eager PyTorch's: nothing is kept."""

    exit_code = 1


@dataclass
class ExportedPart:
    name: str
    path: Path
    format: str
    max_abs_diff: float
    checked_shapes: list[dict[str, list[int]]]
    dynamic: dict[str, list[str]]


def check_format(fmt: str) -> None:
    """An unknown format or a missing package: one line saying what to install."""
    if fmt not in FORMATS:
        raise ExportError(f"format={fmt}: use one of {', '.join(FORMATS)}")
    if fmt == "onnx":
        missing = [p for p in ONNX_PACKAGES if importlib.util.find_spec(p) is None]
        if missing:
            raise ExportError(
                f"format=onnx needs {', '.join(missing)}: pip install onnx onnxruntime "
                "(or pip install 'genzoo[export]')"
            )


def export_model(
    model: GenerativeModel, fmt: str, folder: Path, only: str | None = None
) -> list[ExportedPart]:
    """Export (and check) every deployable part of `model` into `folder`, or the part `only`."""
    check_format(fmt)
    parts = model.export_parts()
    if only is not None:
        parts = [part for part in parts if part.name == only]
        if not parts:
            names = ", ".join(part.name for part in model.export_parts())
            raise ExportError(f"part={only}: {type(model).__name__} exports {names}")
    folder.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []
    done: list[ExportedPart] = []
    try:
        for part in parts:
            final = folder / f"{part.name}{FORMATS[fmt]}"
            tmp = final.with_name(final.name + ".tmp")
            staged.append((tmp, final))
            part.module.eval()
            with torch.no_grad():
                dynamic = _write(part, fmt, tmp)
                diff, shapes = _check(part, fmt, tmp)
            if diff > TOLERANCE:
                raise ExportMismatch(
                    f"{part.name}: the {fmt} export differs from PyTorch by {diff:.2e} (more than "
                    f"{TOLERANCE:.0e}) at input shapes {shapes}; nothing was written"
                )
            done.append(ExportedPart(part.name, final, fmt, diff, shapes, dynamic))
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, final in staged:
        tmp.replace(final)
    _write_manifest(model, parts, done, folder, fmt)
    return done


def _write(part: ExportPart, fmt: str, path: Path) -> dict[str, list[str]]:
    """Write one part; returns the names of its dynamic axes per input."""
    example = part.example()
    axes = {name: dynamic_axes(name, spec) for name, spec in part.inputs.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fmt == "torchscript":
            traced = torch.jit.trace(part.module, example, check_trace=False)
            torch.jit.save(traced, str(path))
        else:
            register_antialiased_bicubic()
            # The TorchScript-based exporter: torch.export (dynamo=True) stops at the bicubic
            # skip and the code lookups with dynamic sizes ("data-dependent guard", torch 2.14).
            torch.onnx.export(
                part.module,
                example,
                str(path),
                input_names=list(part.inputs),
                output_names=[part.output],
                dynamic_axes={name: found for name, found in axes.items() if found},
                dynamo=False,
            )
    return {name: list(found.values()) for name, found in axes.items()}


@functools.cache
def register_antialiased_bicubic() -> None:
    """ONNX for torch's antialiased bicubic upsampling (SRResNet's bicubic skip), which the
    exporter lacks: Resize with Keys' a = -0.5, taps outside the image dropped and the rest
    renormalised (exclude_outside), as torch's kernel does. Upsampling only, where
    antialiasing changes nothing; the export's check compares the two."""
    from torch.onnx import symbolic_helper

    def symbolic(g: Any, x: Any, output_size: Any, align_corners: Any, scale_factors: Any) -> Any:
        scales = symbolic_helper._maybe_get_const(scale_factors, "fs")
        if not isinstance(scales, list) or symbolic_helper._maybe_get_const(align_corners, "b"):
            raise ExportError("antialiased bicubic resizing exports with scale factors only")
        empty = g.op("Constant", value_t=torch.tensor([], dtype=torch.float32))
        factors = g.op("Constant", value_t=torch.tensor([1.0, 1.0, *scales], dtype=torch.float32))
        return g.op(
            "Resize",
            x,
            empty,
            factors,
            mode_s="cubic",
            cubic_coeff_a_f=-0.5,
            exclude_outside_i=1,
            coordinate_transformation_mode_s="half_pixel",
        )

    torch.onnx.register_custom_op_symbolic("aten::_upsample_bicubic2d_aa", symbolic, 11)


def dynamic_axes(name: str, spec: InputSpec) -> dict[int, str]:
    """The axes of an input that may change: the batch, and the spatial ones where allowed."""
    found = {} if spec.kind == "scalar" else {0: "batch"}
    if spec.spatial_step:  # named per input: two inputs' sizes may differ (VQ-VAE-2's levels)
        found.update({len(spec.shape) - 2: f"{name}_height", len(spec.shape) - 1: f"{name}_width"})
    return found


def _check(part: ExportPart, fmt: str, path: Path) -> tuple[float, list[dict[str, list[int]]]]:
    """The largest difference to eager PyTorch over a batch of 3 (and larger spatial sizes)."""
    worst, shapes = 0.0, []
    run = _runner(fmt, path, list(part.inputs))
    for grow in [0, 1] if part.spatial else [0]:
        inputs = part.example(batch=3, grow=grow, seed=1 + grow)
        expected = part.module(*inputs)
        got = run(inputs)
        if got.shape != expected.shape:
            raise ExportMismatch(
                f"{part.name}: the {fmt} export gives shape {tuple(got.shape)}, PyTorch "
                f"{tuple(expected.shape)}; nothing was written"
            )
        worst = max(worst, float((got - expected).abs().max()))
        shapes.append({name: list(x.shape) for name, x in zip(part.inputs, inputs, strict=True)})
    return worst, shapes


def _runner(fmt: str, path: Path, names: list[str]) -> Any:
    if fmt == "torchscript":
        with (
            warnings.catch_warnings()
        ):  # torch.jit.load's deprecation note: not the user's to act on
            warnings.simplefilter("ignore", FutureWarning)
            loaded = torch.jit.load(str(path), map_location="cpu")
        return lambda inputs: loaded(*inputs)
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    declared = [i.name for i in session.get_inputs()]

    def run(inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
        feed = {n: x.numpy() for n, x in zip(names, inputs, strict=True) if n in declared}
        return torch.from_numpy(session.run(None, feed)[0])

    return run


def _write_manifest(
    model: GenerativeModel,
    parts: list[ExportPart],
    done: list[ExportedPart],
    folder: Path,
    fmt: str,
) -> Path:
    """export.json: per file its inputs (shape, dtype, dynamic axes), output and check."""
    by_name = {part.name: part for part in parts}
    entries = []
    for item in done:
        part = by_name[item.name]
        example = part.example()
        entries.append(
            {
                "part": item.name,
                "file": item.path.name,
                "format": fmt,
                "inputs": {
                    name: {
                        "example_shape": list(x.shape),
                        "dtype": str(x.dtype).removeprefix("torch."),
                        "dynamic_axes": item.dynamic[name],
                    }
                    for (name, spec), x in zip(part.inputs.items(), example, strict=True)
                },
                "output": f"{part.output}: float images in [0, 1], (B, C, H, W)",
                "max_abs_diff_vs_pytorch": item.max_abs_diff,
                "tolerance": TOLERANCE,
                "checked_input_shapes": item.checked_shapes,
                "notes": part.notes,
            }
        )
    manifest = folder / f"export_{fmt}.json"
    manifest.write_text(
        json.dumps({"model": type(model).__name__, "parts": entries}, indent=2) + "\n"
    )
    return manifest
