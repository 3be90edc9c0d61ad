"""`train(cfg)` and a run's life: its directory, lock, resume, loggers and fit."""
