"""Composing genzoo's configs and checking them before anything is built (docs/architecture.md)."""
