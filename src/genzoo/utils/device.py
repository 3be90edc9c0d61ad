"""Device choice for the inference CLIs."""

from __future__ import annotations

import torch


def pick_device(name: str) -> str:
    """'auto' -> cuda when available, else cpu; anything else is passed through."""
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def cpu_has_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool | None:
    """Whether this CPU computes bfloat16 natively (AVX-512 BF16 or AMX); None where unknown.

    Without them PyTorch emulates bfloat16 and bf16-mixed runs many times slower than fp32
    (docs/benchmarks.md, "Speed: precision and memory format")."""
    try:
        with open(cpuinfo) as fh:
            flags = next((line for line in fh if line.startswith("flags")), "")
    except OSError:
        return None
    if not flags:
        return None
    return any(flag in flags.split() for flag in ("avx512_bf16", "amx_bf16"))


def bf16_on_cpu_warning(precision: str, accelerator: str) -> str | None:
    """The warning for trainer.precision=bf16-* on a CPU without bfloat16 instructions."""
    cpu = accelerator == "cpu" or (accelerator == "auto" and not torch.cuda.is_available())
    if not (str(precision).startswith("bf16") and cpu and cpu_has_bf16() is False):
        return None
    return (
        f"trainer.precision={precision} on a CPU without bfloat16 instructions (no avx512_bf16 "
        "or amx_bf16 in /proc/cpuinfo): PyTorch emulates bfloat16 here, which makes training "
        "10-20x slower than trainer.precision=32-true"
    )
