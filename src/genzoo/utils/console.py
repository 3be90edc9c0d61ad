"""One console line per event: no doubled Lightning lines, no known-harmless third-party notes.

Only the messages named here are silenced, each matched exactly; everything else still shows.
The generator EMA's eval-mode notice is silenced by the GAN base itself (`models/gan.py`), which
knows how many modules the EMA holds.
"""

from __future__ import annotations

import logging
import warnings

# (message regex, category) of third-party warnings that say nothing a genzoo user can act on.
HARMLESS_WARNINGS = (
    # Lightning's own pytree helper on torch >= 2.10; fixed upstream, nothing to do here.
    (r"`isinstance\(treespec, LeafSpec\)` is deprecated", Warning),
    # torchmetrics' KID keeps features in memory: genzoo evaluates a bounded number of samples.
    (r"Metric `Kernel Inception Distance` will save all extracted features in buffer", UserWarning),
    # genzoo's models convert batches to model.channels_last there, whatever the datamodule.
    (r"You have overridden `on_after_batch_transfer` in `LightningModule`", UserWarning),
    # A resume writes into its own checkpoint folder; a fresh run into a full one is refused
    # before this (training/resume.py), so the warning never means what it warns of.
    (r"Checkpoint directory .* exists and is not empty", UserWarning),
)
# Lightning's advertisements for its cloud logger and model registry, printed at every start.
HARMLESS_LOG_PREFIXES = (
    "💡 Tip: For seamless cloud logging",
    "💡 Tip: For seamless cloud uploads",
    # Said once in genzoo's own words (training/train.py): the device, and where a run stopped in
    # batches rather than Lightning's optimizer steps.
    "GPU available:",
    "TPU available:",
    "HPU available:",
    "`Trainer.fit` stopped:",
    "Trainer already configured with model summary callbacks",
    "Restoring states from the checkpoint path",
    "Restored all states from the checkpoint",
)


class _DropPrefixes(logging.Filter):
    def __init__(self, prefixes: tuple[str, ...]) -> None:
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefixes)


def quiet_console() -> None:
    """Call after importing Lightning, in a process whose root logger Hydra has configured."""
    for message, category in HARMLESS_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)
    lightning = logging.getLogger("lightning")
    if logging.getLogger().handlers:
        # lightning/__init__ adds its own console handler and still propagates to the root's:
        # every Lightning line would be printed twice.
        for handler in list(lightning.handlers):
            if type(handler) is logging.StreamHandler:
                lightning.removeHandler(handler)
    rank_zero = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    if not any(isinstance(f, _DropPrefixes) for f in rank_zero.filters):
        rank_zero.addFilter(_DropPrefixes(HARMLESS_LOG_PREFIXES))
