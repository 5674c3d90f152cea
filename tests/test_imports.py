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
    {"train", "rl", "julia", "julia_function", "julia_module", "julia_session", "julia_signals", "julia_startup", "provenance", "devices"},
    {"crosscheck", "gradcheck", "plots", "dp_vs_rl", "recipes", "report"},
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


def _dprl_imports() -> dict:
    """{module: the dprl modules it imports}, every import statement counted (at the top, inside a
    function, under `if`); `from dprl.x import name` counts as importing dprl.x.name where that is a
    module, else dprl.x. A package's own __init__ is left out: importing dprl.x.y runs it anyway."""
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parents[1] / "pyside" / "dprl"
    paths = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package).with_suffix("").parts
        paths[".".join(("dprl",) + (parts[:-1] if parts[-1] == "__init__" else parts))] = path
    graph = {}
    for module, path in paths.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.update(f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in paths else node.module for alias in node.names)
        graph[module] = sorted(name for name in found if name in paths and name != module and paths[name].name != "__init__.py")
    return {module: imports for module, imports in graph.items() if paths[module].name != "__init__.py"}


def _cycles(graph: dict) -> list:
    """Every strongly connected set of more than one module (Tarjan's algorithm), each as a loop of
    imports `a -> b -> ... -> a` found inside it."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            members = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                members.add(member)
                if member == node:
                    break
            if len(members) > 1:
                found.append(_loop(graph, min(members), members))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _loop(graph, start, members) -> str:
    """A shortest loop of imports from `start` back to it within `members`, as `a -> b -> a`."""
    paths, seen = [[start]], {start}
    while paths:
        path = paths.pop(0)
        for nxt in graph[path[-1]]:
            if nxt == start:
                return " -> ".join(path + [start])
            if nxt in members and nxt not in seen:
                seen.add(nxt)
                paths.append(path + [nxt])
    return " -> ".join(sorted(members))


def test_no_two_dprl_modules_import_each_other_even_around_a_loop():
    cycles = _cycles(_dprl_imports())
    assert not cycles, "import loops among dprl's modules:\n  " + "\n  ".join(cycles)


def test_the_loop_finder_names_direct_and_longer_loops():
    graph = {"a": ["b"], "b": ["c"], "c": ["a", "d"], "d": [], "e": ["f"], "f": ["e"], "g": ["a"]}
    assert sorted(_cycles(graph)) == ["a -> b -> c -> a", "e -> f -> e"]
    assert _cycles({"a": ["b"], "b": []}) == []
