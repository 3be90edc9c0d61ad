"""Datamodules. Every batch is a dict: `image` (B, C, H, W) float in [0, 1], and `label` (B,) long.

Image-to-image families use `a`, `b`; super-resolution uses `lr`, `hr` (docs/architecture.md, rule 3).
"""
