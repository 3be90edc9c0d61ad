"""Conversions between likelihoods in nats and bits per dimension."""

from __future__ import annotations

import math


def nats_to_bits_per_dim(nats: float, num_dims: int) -> float:
    """A negative log-likelihood in nats per image -> bits per pixel channel."""
    return nats / (num_dims * math.log(2))
