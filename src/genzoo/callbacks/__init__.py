"""Callbacks shared by all families."""
