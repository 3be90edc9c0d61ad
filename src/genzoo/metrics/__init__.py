"""Metric wiring shared by families."""
