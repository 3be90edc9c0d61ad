"""Plain nn.Modules: no Lightning here (DESIGN.md rule 1)."""
