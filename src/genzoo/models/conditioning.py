"""Class labels for a class-conditional family: one-hot codes, checked against its classes."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from genzoo.errors import GenzooError


class ConditioningError(GenzooError, ValueError):
    """A conditional model was given images without (valid) labels."""


def class_onehot(
    label: torch.Tensor | None,
    n: int,
    num_classes: int,
    device: torch.device,
    cycle: bool = False,
) -> torch.Tensor | None:
    """One-hot labels (n, classes) for a conditional model, None for an unconditional one
    (num_classes=0). Only sampling may go without labels (`cycle`: classes 0, 1, 2, ... in
    turn); encoding an image needs its own label, and a made-up one would train and score the
    wrong conditional."""
    if not num_classes:
        return None
    if label is None:
        if not cycle:
            raise ConditioningError(
                f"this VAE is conditional (model.num_classes={num_classes}) and needs a "
                "'label' for every image, but the batch has none: use a data set with labels "
                "or set model.num_classes=0"
            )
        label = torch.arange(n, device=device) % num_classes
    if len(label) and (int(label.min()) < 0 or int(label.max()) >= num_classes):
        raise ConditioningError(
            f"label {int(label.max())} is outside model.num_classes={num_classes}: "
            "set model.num_classes to the data set's number of classes"
        )
    return F.one_hot(label.long(), num_classes).float()
