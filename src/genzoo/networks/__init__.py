"""Plain nn.Modules: no Lightning here (docs/architecture.md, rule 1)."""
