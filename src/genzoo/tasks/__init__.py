"""What the commands do with a trained model, each after the shared preamble (preamble.py)."""
