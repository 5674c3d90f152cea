"""`import dprl` and the PyTorch side must work without starting Julia."""

import subprocess
import sys


def run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def test_import_dprl_imports_neither_torch_nor_juliacall():
    result = run("import sys, dprl, dprl.julia, dprl.cli; print('torch' in sys.modules, 'juliacall' in sys.modules)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]


def test_pytorch_side_does_not_import_juliacall():
    result = run(
        "import sys; from dprl.envs import trebuchet; trebuchet.shoot(-2.0, 45.0, 200.0); "
        "print('juliacall' in sys.modules)"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


# The layers, bottom up: a module may import dprl's modules of its own layer or below, never above.
LAYERS = [
    {"envs", "schema", "config", "goals", "results", "arguments", "bootstrap"},
    {"train", "rl", "julia", "julia_function", "julia_module", "julia_signals", "julia_startup", "provenance"},
    {"crosscheck", "gradcheck", "plots", "dp_vs_rl", "report"},
    {"reproduce", "cli"},
]


def _layer(module: str) -> int:
    top = module.split(".")[1] if module.startswith("dprl.") else module
    return next(i for i, names in enumerate(LAYERS) if top in names)


def test_imports_run_down_the_layers_only():
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parents[1] / "pyside" / "dprl"
    upward = []
    for path in sorted(package.rglob("*.py")):
        if path.name == "__init__.py" and path.parent == package:
            continue
        module = "dprl." + ".".join(path.relative_to(package).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else [a.name for a in getattr(node, "names", [])] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module == "dprl":
                names = [f"dprl.{a.name}" for a in node.names]
            for name in names:
                if name.startswith("dprl.") and not name.startswith("dprl.__") and _layer(name) > _layer(module):
                    upward.append(f"{module} imports {name}")
    assert not upward, upward
