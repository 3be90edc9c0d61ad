"""Device choice for the inference CLIs."""

from __future__ import annotations

import torch

from genzoo.errors import GenzooError


class DeviceError(GenzooError, ValueError):
    """A device that is not there, or not one genzoo runs on; the message says what to pass."""


def pick_device(name: str, key: str = "device") -> str:
    """'auto' -> cuda when available, else cpu; cpu, cuda, cuda:<index> and mps when this
    machine has them. Anything else is one DeviceError naming `key` and what to pass."""
    name = str(name)
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return name
    if name == "cuda" or name.startswith("cuda:"):
        index = name.partition(":")[2]
        if index and not index.isdigit():
            raise DeviceError(f"{key}={name} is no CUDA device: use cuda or cuda:<index>")
        if not torch.cuda.is_available():
            raise DeviceError(
                f"{key}={name} but PyTorch sees no CUDA GPU here (torch.cuda.is_available() "
                f"is False): use {key}=cpu, or {key}=auto to take a GPU where there is one"
            )
        if index and int(index) >= torch.cuda.device_count():
            raise DeviceError(
                f"{key}={name} but this machine has {torch.cuda.device_count()} CUDA GPU(s): "
                f"use an index below {torch.cuda.device_count()}"
            )
        return name
    if name == "mps":
        if not torch.backends.mps.is_available():
            raise DeviceError(f"{key}=mps but Apple's MPS is not available here: use {key}=cpu")
        return name
    raise DeviceError(
        f"{key}={name} is not a device genzoo runs on: use auto, cpu, cuda or cuda:<index>"
    )


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
