"""Training order and augmentation randomness that a resumed run replays exactly.

A killed run resumed from a mid-epoch checkpoint must see the same batches from the next one on,
with the same random crops and flips (docs/architecture.md, "Exact resume"). Two things make
that hold whatever the number of workers or processes:

- `ResumableSampler` shuffles with a generator seeded by (run seed, epoch), like
  `DistributedSampler` (which it is, so Lightning leaves it alone under DDP), and can start
  an epoch after the batches a checkpoint already trained on.
- It yields keys `(index, sample_seed)`; datasets draw their augmentation from
  `torch.Generator().manual_seed(sample_seed)` (`split_key`), never from the global RNG, whose
  state belongs to the model's noise and is what checkpoints restore.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

import torch
import torch.distributed as dist
from lightning.pytorch.overrides.distributed import UnrepeatedDistributedSampler
from torch.utils.data import DataLoader, Dataset, DistributedSampler

log = logging.getLogger("genzoo")

SampleKey = int | tuple[int, int]


def key_parts(key: SampleKey) -> tuple[int, int]:
    """A sampler key -> (dataset index, the seed of that sample's augmentation).

    Plain integer keys (validation loaders, direct indexing) are their own seed, so held-out
    images are the same in every run.
    """
    index, seed = key if isinstance(key, tuple) else (int(key), int(key))
    return int(index), int(seed)


def split_key(key: SampleKey) -> tuple[int, torch.Generator]:
    """A sampler key -> (dataset index, the generator for that sample's augmentation)."""
    index, seed = key_parts(key)
    return index, torch.Generator().manual_seed(seed)


def fetch_items(dataset: Any, keys: list[SampleKey]) -> list[dict[str, Any]]:
    """Items for a batch of keys: in one call where the dataset fetches batches itself
    (`__getitems__`, which PyTorch's DataLoader calls instead of one `__getitem__` per key)."""
    getitems = getattr(dataset, "__getitems__", None)
    return list(getitems(keys)) if getitems else [dataset[key] for key in keys]


def run_seed() -> int:
    """The run's seed as Lightning's seed_everything recorded it (also in DDP workers)."""
    return int(os.environ.get("PL_GLOBAL_SEED", torch.initial_seed() % 2**31))


def held_out_sampler(dataset: Dataset) -> DistributedSampler | None:
    """Under DDP, a sampler that gives each held-out item to exactly one process; None in one
    process. Lightning's default pads the last process's share with repeats, which the
    validation metrics (gathered over processes) would count twice."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return None
    return UnrepeatedDistributedSampler(dataset, shuffle=False)


class ResumableSampler(DistributedSampler):
    """Shuffled (index, sample_seed) keys per epoch; `resume_at` skips what was trained on."""

    def __init__(self, dataset: Dataset, seed: int) -> None:
        distributed = dist.is_available() and dist.is_initialized()
        super().__init__(
            dataset,  # type: ignore[arg-type]
            num_replicas=dist.get_world_size() if distributed else 1,
            rank=dist.get_rank() if distributed else 0,
            shuffle=True,
            seed=seed,
        )
        self._skip: tuple[int, int] | None = None  # (epoch, samples of this rank to skip)
        # The DataLoader draws each iterator's base seed (worker seeds) from this generator,
        # not from the global RNG, which a resumed run must find as the checkpoint left it.
        self.loader_generator = torch.Generator()
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        super().set_epoch(epoch)
        self.loader_generator.manual_seed(self.seed * 100_003 + epoch + 1)

    def resume_at(self, epoch: int, samples_done: int) -> None:
        """Start at `epoch`; its first iteration leaves out the first `samples_done` keys."""
        self.set_epoch(epoch)
        self._skip = (epoch, samples_done) if samples_done else None

    def __iter__(self) -> Iterator[Any]:
        indices = list(super().__iter__())
        gen = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        sample_seeds = torch.randint(2**62, (len(self.dataset),), generator=gen).tolist()  # type: ignore[arg-type]
        start = 0
        if self._skip is not None:
            epoch, start = self._skip
            self._skip = None
            start = start if epoch == self.epoch else 0
        return iter([(i, sample_seeds[i]) for i in indices[start:]])


def resume_position(trainer: Any) -> tuple[int, int]:
    """(epoch, batches already trained in it) where a restored fit loop continues; (0, 0) fresh."""
    if trainer is None:
        return 0, 0
    loop = trainer.fit_loop
    progress = loop.epoch_loop.batch_progress
    if not loop.restarting:
        return trainer.current_epoch, 0
    if progress.is_last_batch:  # the checkpoint was written at the end of an epoch
        return trainer.current_epoch + 1, 0
    return trainer.current_epoch, progress.current.processed


class ResumableDataLoader(DataLoader):
    """A training DataLoader over a `ResumableSampler`.

    Its state in the checkpoint is the seed of the data order; Lightning treats it as a resumable
    loader (the position itself comes from the restored fit loop, see `resume_position`).
    """

    sampler: ResumableSampler

    def state_dict(self) -> dict[str, int]:
        return {"seed": self.sampler.seed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        if state.get("seed", self.sampler.seed) != self.sampler.seed:
            log.warning(
                "resuming with seed=%s but the checkpoint was trained with seed=%s: the data order "
                "of the rest of the run differs from the uninterrupted run's",
                self.sampler.seed,
                state["seed"],
            )
