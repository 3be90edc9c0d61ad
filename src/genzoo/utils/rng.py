"""Random state that evaluation code borrows without disturbing training's (docs/architecture.md,
"Exact resume")."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def isolated_rng(seed: int | None = None) -> Iterator[None]:
    """Fork the CPU generator and every initialised CUDA generator, optionally seed them, and
    restore them all on exit. `torch.random.fork_rng(devices=[])` would leave CUDA unforked
    while `torch.manual_seed` re-seeds it, so training noise would repeat after each use."""
    cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
    devices = list(range(torch.cuda.device_count())) if cuda else []
    with torch.random.fork_rng(devices=devices):
        if seed is not None:
            torch.random.default_generator.manual_seed(seed)
            for device in devices:
                torch.cuda.default_generators[device].manual_seed(seed)
        yield
