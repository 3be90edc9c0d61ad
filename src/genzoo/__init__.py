"""genzoo: a PyTorch Lightning + Hydra model zoo of deep generative image models."""

__version__ = "0.1.0"
