"""Training speed options that leave the arithmetic a run learns alone.

- `build_optimizer`: the config's optimizer; Adam / AdamW on CUDA parameters in their fused
  form (one kernel updates every tensor, instead of a dozen launches per parameter).
- `compile_networks` (`model.compile=true`): `torch.compile` of the networks a training step
  runs, in place (`nn.Module.compile`), so checkpoints keep their keys and load anywhere.
  The first batches take longer while the kernels are generated (benchmarks state it).
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Iterable

import torch
from torch import nn

log = logging.getLogger("genzoo")

# torch.compile's backend: inductor generates kernels; tests use "eager", which traces the
# same graphs without generating code.
COMPILE_BACKEND = "inductor"


def build_optimizer(
    factory: Callable[..., torch.optim.Optimizer], params: Iterable[nn.Parameter]
) -> torch.optim.Optimizer:
    """`factory(params)`; `fused=True` added where the optimizer takes it, the parameters live
    on CUDA and the config left `fused` unset (a CPU run is unchanged)."""
    params = list(params)
    keywords = factory.keywords if isinstance(factory, functools.partial) else {}
    optimizer_class = factory.func if isinstance(factory, functools.partial) else factory
    takes_fused = (
        isinstance(optimizer_class, type)
        and "fused" in inspect.signature(optimizer_class).parameters
    )
    on_cuda = bool(params) and all(p.is_cuda and p.is_floating_point() for p in params)
    if takes_fused and on_cuda and "fused" not in keywords and "foreach" not in keywords:
        return factory(params, fused=True)
    return factory(params)


def compile_networks(modules: dict[str, nn.Module]) -> None:
    """torch.compile each module in place, once."""
    todo = {
        name: m for name, m in modules.items() if getattr(m, "_compiled_call_impl", None) is None
    }
    if not todo:
        return
    log.info("model.compile: compiling %s (the first batches take longer)", ", ".join(todo))
    for module in todo.values():
        module.compile(backend=COMPILE_BACKEND)
