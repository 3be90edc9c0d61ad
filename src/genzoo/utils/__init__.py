"""Helpers for run directories, config handling, loggers and checkpoints."""
