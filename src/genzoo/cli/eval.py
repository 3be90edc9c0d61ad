"""genzoo-eval: the family's metrics on the held-out split, written as JSON beside the run
(the work: `tasks/evaluate.py`).

genzoo-eval run=runs/vae_digits/<name> [split=val iw_samples=256]
"""

from genzoo.cli.command import hydra_command


def _add_or_override(argv: list[str]) -> list[str]:
    """data.KEY=VALUE and +data.KEY=VALUE both change the data config, whether or not data=NAME
    chose another set (Hydra would want + for a key the run's config adds, none for a key the
    chosen set has): both become ++ (add or override)."""
    bare = [arg.lstrip("+") for arg in argv]
    return [
        f"++{b}" if b.startswith("data.") and "=" in b else arg
        for arg, b in zip(argv, bare, strict=True)
    ]


main = hydra_command("eval", "genzoo.tasks.evaluate:evaluate", rewrite_argv=_add_or_override)

if __name__ == "__main__":
    main()
