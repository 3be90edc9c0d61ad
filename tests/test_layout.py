"""The package's layout: layers that import downwards only, a thin top level, every console
script in genzoo.cli, small files and functions, and commands that answer --help without
torch."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "import_graph.py"


def _graph_module():
    spec = importlib.util.spec_from_file_location("genzoo_import_graph", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_layers_import_downwards_only_and_form_no_circle() -> None:
    graph = _graph_module()
    edges = graph.import_graph()
    assert graph.problems(edges) == []
    assert edges["utils"] <= {"errors"}
    for low in ("networks", "losses", "data"):
        assert edges.get(low, set()) <= {"utils", "errors"}, low
    assert edges["metrics"] <= {"utils", "errors", "networks"}


def test_the_graph_checker_finds_an_upward_import_and_a_circle() -> None:
    graph = _graph_module()
    found = graph.problems({"utils": {"models"}, "models": {"utils"}})
    assert "utils imports models, a higher or sibling layer" in found
    assert any(p.startswith("circle: ") for p in found)


def test_a_thin_top_level_and_every_console_script_in_cli() -> None:
    package = ROOT / "src" / "genzoo"
    assert len(list(package.glob("*.py"))) <= 5
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts and all(target.startswith("genzoo.cli.") for target in scripts.values())
    for name, target in scripts.items():
        module = target.split(":")[0]
        assert (package / "cli" / f"{module.rsplit('.', 1)[1]}.py").is_file(), name


# The house's size limits: a file a reader takes in at once, a function that fits a screen.
MAX_FILE_LINES, MAX_FUNCTION_LINES = 350, 60


def test_no_source_file_or_function_over_the_size_limits() -> None:
    too_long = []
    for path in sorted((ROOT / "src" / "genzoo").rglob("*.py")):
        text, where = path.read_text(), path.relative_to(ROOT)
        if text.count("\n") > MAX_FILE_LINES:
            too_long.append(f"{where}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{where}:{node.lineno} {node.name}(): {length} lines")
    assert too_long == []


def test_no_command_module_loads_torch_at_import() -> None:
    code = (
        "import sys, genzoo.cli.train, genzoo.cli.sample, genzoo.cli.eval, genzoo.cli.translate, "
        "genzoo.cli.upscale, genzoo.cli.export, genzoo.cli.project, genzoo.cli.compare, "
        "genzoo.cli.report; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_every_python_dash_m_genzoo_names_a_runnable_module() -> None:
    """`python -m genzoo.x` in the scripts and the package names a module that runs."""
    import re

    sources = [*(ROOT / "scripts").glob("*.py"), *(ROOT / "src").rglob("*.py")]
    named = {
        module
        for path in sources
        for module in re.findall(r'"-m",\s*"(genzoo[\w.]*)"', path.read_text())
    }
    assert named, "the scan finds the scripts' -m calls"
    for module in named:
        path = ROOT / "src" / (module.replace(".", "/") + ".py")
        assert path.is_file() and 'if __name__ == "__main__"' in path.read_text(), module
