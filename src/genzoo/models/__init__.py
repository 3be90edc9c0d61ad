"""LightningModules ("systems"): how networks train together."""
