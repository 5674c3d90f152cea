"""Each Julia file and its PyTorch twin define the same top-level names in the same order, and each
function of one takes the same parameters, in the same order, as its namesake in the other.

A reader holds the two files side by side (`julia/src/cartpole.jl` ↔ `pyside/dprl/envs/cartpole.py`):
every constant, type and function of one has its namesake at the same place in the other.
What only one language needs sits in a last section headed `# Julia only` or `# PyTorch only`,
and private helpers (a leading underscore) are each language's own.

What differs only by language, and so is not drift (the mapping the signature test applies):
- a trailing `!` on a Julia name, Julia's mark of a function that edits an argument (PyTorch's
  in-place functions carry no mark);
- how a parameter is passed: Julia's `;` before keywords, Python's `*` and `/`, splats
  (`args...`, `*args`, `**settings`), types and defaults; names and order are compared;
- Python's `self`, `cls` and a torch.autograd.Function's `ctx`;
- a random generator: Julia's `rng` (an AbstractRNG) is PyTorch's `generator` (a torch.Generator);
- PYTORCH_ONLY: parameters for what only the PyTorch side offers (a device, a dtype, a batch
  shape, a progress bar, checkpoint callbacks, config fields given as keywords, the aimer's
  evaluation in Python, the trebuchet's compiled and kernel paths), and any keyword-only
  parameter (after `*`: PyTorch's extras follow Julia's parameters); each is left out only where
  the Julia method lacks it, so a name both sides take is compared like any other.
"""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAIRS = [
    ("julia/src/trebuchet.jl", "pyside/dprl/envs/trebuchet.py"),
    ("julia/src/cartpole.jl", "pyside/dprl/envs/cartpole.py"),
    ("julia/src/pendulum.jl", "pyside/dprl/envs/pendulum.py"),
    ("julia/src/policies.jl", "pyside/dprl/train/policies.py"),
    ("julia/src/config.jl", "pyside/dprl/config.py"),
    ("julia/src/train/trebuchet.jl", "pyside/dprl/train/trebuchet.py"),
    ("julia/src/train/cartpole.jl", "pyside/dprl/train/cartpole.py"),
    ("julia/src/train/pendulum.jl", "pyside/dprl/train/pendulum.py"),
]

_JULIA = [
    re.compile(r"^(?:@inline\s+|@noinline\s+)*function\s+([\w.]+\.)?(\w+!?)\s*[({]"),
    re.compile(r"^(?:const\s+)?([A-Za-z_]\w*)\s*(?:,\s*[A-Za-z_]\w*\s*)*=(?!=)"),  # NAME = ... (not a method: see below)
    re.compile(r"^(?:Base\.@kwdef\s+|@kwdef\s+)?(?:mutable\s+)?struct\s+(\w+)"),
    re.compile(r"^(?:@inline\s+|@noinline\s+)*([\w.]+\.)?(\w+!?)\s*\(.*\)\s*(?:where\s*\{.*\}\s*)?=(?!=)"),  # f(x) = ...
]
_PYTHON = [
    re.compile(r"^(?:async\s+)?def\s+(\w+)"),
    re.compile(r"^class\s+(\w+)"),
    re.compile(r"^([A-Za-z_]\w*)\s*(?:,\s*[A-Za-z_]\w*\s*)*(?::[^=]+)?=(?!=)"),
]


def _julia_names_on(line: str) -> list:
    if line.startswith("const "):
        line = line[len("const "):]
        head = line.split("=", 1)[0]
        return [n.strip() for n in head.split(",")]
    m = _JULIA[2].match(line)
    if m:
        return [m.group(1)]
    for pattern in (_JULIA[0], _JULIA[3]):
        m = pattern.match(line)
        if m:
            # `Module.f(...)` extends another module's function (ChainRulesCore.rrule): not a name of
            # this file. A trailing `!` (Julia's mark of a mutating function) is no part of the name.
            return [] if m.group(1) else [m.group(2).rstrip("!")]
    return []


def _python_names_on(line: str) -> list:
    for pattern in _PYTHON[:2]:
        m = pattern.match(line)
        if m:
            return [m.group(1)]
    m = _PYTHON[2].match(line)
    if m:
        head = re.split(r"[:=]", line, maxsplit=1)[0]
        return [n.strip() for n in head.split(",")]
    return []


def _top_level_lines(lines):
    """(index, line) of each unindented line outside docstrings, up to a `# Julia only` /
    `# PyTorch only` heading."""
    in_docstring = False
    for i, line in enumerate(lines):
        if line.count('"""') % 2 == 1:
            in_docstring = not in_docstring
            continue
        if in_docstring or not line or line[0].isspace():
            continue
        if re.match(r"^# (Julia|PyTorch) only\b", line):
            return
        yield i, line


def top_level_names(path: Path) -> list:
    """Top-level definitions in order, each name once, up to a `# Julia only` / `# PyTorch only`
    heading; names with a leading underscore left out."""
    julia = path.suffix == ".jl"
    names = []
    for _, line in _top_level_lines(path.read_text().splitlines()):
        found = _julia_names_on(line) if julia else _python_names_on(line)
        for name in found:
            if name.startswith("_") or name in names or name in ("module", "end", "using", "import", "export", "include"):
                continue
            names.append(name)
    return names


@pytest.mark.parametrize("julia_file, python_file", PAIRS, ids=[Path(p).stem if "train" not in p else "train_" + Path(p).stem for _, p in PAIRS])
def test_twins_define_the_same_names_in_the_same_order(julia_file, python_file):
    julia_names, python_names = top_level_names(ROOT / julia_file), top_level_names(ROOT / python_file)
    assert julia_names == python_names, (
        f"{julia_file} and {python_file} differ:\n  Julia only:   {[n for n in julia_names if n not in python_names]}\n"
        f"  PyTorch only: {[n for n in python_names if n not in julia_names]}\n  Julia:   {julia_names}\n  PyTorch: {python_names}")


def test_the_name_reader_sees_each_kind_of_definition(tmp_path):
    julia = tmp_path / "a.jl"
    julia.write_text('"""\n    A\n\nx = 1 in a docstring\n"""\nmodule A\nconst X, Y = 1, 2\nBase.@kwdef struct P\n    a = 1\nend\n'
                     'f(x) = x\n@inline g(a::NTuple{N, Any}) where {N} = a\nfunction h(x)\n    y = 2\nend\nfunction ChainRulesCore.rrule(::typeof(f), x)\nend\n'
                     'Base.show(io::IO, p::P) = print(io, "P")\nfunction load!(m, x)\nend\n_private(x) = x\n'
                     '# Julia only: the bridge\nk(x) = x\nend\n')
    python = tmp_path / "a.py"
    python.write_text('"""Doc.\n\nx = 1\n"""\nimport math\nX, Y = 1, 2\n\n\nclass P:\n    a = 1\n\n\ndef f(x):\n    return x\n\n\n'
                      'G: int = 3\n_private = 4\n# PyTorch only\ndef k(x):\n    return x\n')
    assert top_level_names(julia) == ["X", "Y", "P", "f", "g", "h", "load"]
    assert top_level_names(python) == ["X", "Y", "P", "f", "G"]


# ----------------------------------------------------------------------------------------------
# Signatures: parameter names and order
# ----------------------------------------------------------------------------------------------
PYTHON_ONLY_SELF = {"self", "cls", "ctx"}
PYTHON_TO_JULIA = {"generator": "rng"}
PYTORCH_ONLY = {
    "device": "where tensors live: Julia runs on the CPU",
    "dtype": "Julia's twins compute in Float64 only",
    "batch": "a batch shape: Julia's reset_state draws one state",
    "batch_shape": "a batch shape: Julia's initial_state makes one state",
    "progress": "a tqdm progress bar",
    "on_episode": "a checkpoint callback after each episode (Julia's trainers return at the end)",
    "settings": "config fields given as keywords (Julia takes the config)",
    "evaluation": "the aimer's evaluation shots, scored in Python (Julia calls back with the weights)",
    "stop_at": "the aimer's stopping bound, checked with the evaluation in Python",
    "shoot": "the simulator as an argument, so the Julia one can be put in through dprl.julia.function",
    "cuda_graph": "the APG update as one CUDA graph",
    "compiled": "the trebuchet's compiled steps",
    "kernel": "the trebuchet's Triton kernel",
}
# (function, parameter) pairs of one side only that are not a PyTorch-only feature named above
ONE_SIDE_ONLY = {("train_cartpole", "policy"): "train a given module (such as dprl.julia.module of the Julia policy) in place"}
_JULIA_DEF = re.compile(r"^(?:@inline\s+|@noinline\s+)*(function\s+)?([\w.]+\.)?(\w+!?)\s*\(")


def _top_level_split(text: str) -> list:
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth == 0 and ch in ",;":
            parts.append(current)
            current = ""
        else:
            current += ch
    return parts + [current]


def julia_signatures(path: Path) -> dict:
    """{name: [parameter names of each method]} of the file's public top-level functions, up to a
    `# Julia only` heading; a trailing `!` dropped from the name."""
    lines = path.read_text().splitlines()
    found = {}
    for i, line in _top_level_lines(lines):
        m = _JULIA_DEF.match(line)
        if not m or m.group(2):  # not a call-shaped line, or a method of another module's function
            continue
        rest = "\n".join(lines[i:])[m.end() - 1:]
        depth = 0
        for end, ch in enumerate(rest):
            depth += (ch == "(") - (ch == ")")
            if depth == 0:
                break
        inside, after = rest[1:end], rest[end + 1:]
        if not (m.group(1) or re.match(r"\s*(?:where\s*\{[^}]*\}\s*)?(?:::[^=]+)?=(?!=)", after)):
            continue  # a call, not a definition
        params = []
        for part in _top_level_split(inside):
            name = re.split(r"=(?!=)", part, maxsplit=1)[0].split("::")[0].strip().removesuffix("...")
            if name:
                params.append(name)
        name = m.group(3).rstrip("!")
        if not name.startswith("_"):
            found.setdefault(name, []).append(params)
    return found


def python_signatures(path: Path) -> dict:
    """{name: [(parameter name, keyword-only?)]} of the file's public top-level functions, up to a
    `# PyTorch only` heading, with `self`/`cls`/`ctx` left out and names mapped to Julia's."""
    text = path.read_text()
    stop = next((n for n, line in enumerate(text.splitlines(), 1) if re.match(r"^# PyTorch only\b", line)), None)
    found = {}
    for node in ast.parse(text).body:
        if not isinstance(node, ast.FunctionDef) or node.name.startswith("_") or (stop and node.lineno > stop):
            continue
        a = node.args
        names = [(x.arg, False) for x in a.posonlyargs + a.args] + ([(a.vararg.arg, False)] if a.vararg else [])
        names += [(x.arg, True) for x in a.kwonlyargs] + ([(a.kwarg.arg, True)] if a.kwarg else [])
        found[node.name] = [(PYTHON_TO_JULIA.get(n, n), keyword_only) for n, keyword_only in names
                            if n not in PYTHON_ONLY_SELF and (node.name, n) not in ONE_SIDE_ONLY]
    return found


def _as_julia_sees_it(params: list, method: list) -> list:
    """Python's parameters less the PyTorch-only ones that this Julia method lacks: a name of
    PYTORCH_ONLY, or a keyword-only parameter (PyTorch's extras come after `*`, past Julia's)."""
    return [n for n, keyword_only in params if n in method or not (keyword_only or n in PYTORCH_ONLY)]


def signature_drift(julia_file: Path, python_file: Path) -> list:
    """`name: Julia (...) ≠ PyTorch (...)` for each function both files define whose parameters
    differ (after the mapping); a Julia function with several methods matches when one does."""
    julia, python = julia_signatures(julia_file), python_signatures(python_file)
    drift = []
    for name, params in python.items():
        if name in julia and not any(_as_julia_sees_it(params, m) == m for m in julia[name]):
            shown = _as_julia_sees_it(params, julia[name][0])
            drift.append(f"{name}: Julia {' or '.join('(' + ', '.join(m) + ')' for m in julia[name])} ≠ PyTorch ({', '.join(shown)})")
    return drift


@pytest.mark.parametrize("julia_file, python_file", PAIRS, ids=[Path(p).stem if "train" not in p else "train_" + Path(p).stem for _, p in PAIRS])
def test_twins_take_the_same_parameters_in_the_same_order(julia_file, python_file):
    drift = signature_drift(ROOT / julia_file, ROOT / python_file)
    assert not drift, f"{julia_file} and {python_file} differ:\n  " + "\n  ".join(drift)


def test_the_signature_reader_applies_the_mapping_and_sees_drift(tmp_path):
    julia = tmp_path / "a.jl"
    julia.write_text('"""\n    f(x)\n"""\nf(x::Real, y = 2; scaled = false) = x\nfunction g!(grads, rng::AbstractRNG, xs...)\nend\n'
                     'h(a) = a\nh(a, b) = a\nk(p) = p\nfunction ChainRulesCore.rrule(::typeof(f), x)\nend\ny = f(1)\n# Julia only\nm(z) = z\n')
    python = tmp_path / "a.py"
    python.write_text('def f(x, y=2, *, scaled=False, device=None, **settings):\n    pass\n\n\n'
                      'def g(grads, generator, *xs, progress=True):\n    pass\n\n\ndef h(a, b):\n    pass\n\n\n'
                      'def k(params):\n    pass\n\n\n# PyTorch only\ndef m(w):\n    pass\n')
    assert julia_signatures(julia) == {"f": [["x", "y", "scaled"]], "g": [["grads", "rng", "xs"]], "h": [["a"], ["a", "b"]], "k": [["p"]]}
    assert python_signatures(python) == {"f": [("x", False), ("y", False), ("scaled", True), ("device", True), ("settings", True)],
                                         "g": [("grads", False), ("rng", False), ("xs", False), ("progress", True)],
                                         "h": [("a", False), ("b", False)], "k": [("params", False)]}
    assert signature_drift(julia, python) == ["k: Julia (p) ≠ PyTorch (params)"]
    # a keyword-only extra is PyTorch's own, a positional one is drift; a PyTorch-only name that
    # Julia does take is compared like any other
    python.write_text('def f(x, y=2, extra=1, *, scaled=False):\n    pass\n\n\ndef g(grads, generator, *xs, progress=True):\n    pass\n\n\n'
                      'def h(b, a):\n    pass\n')
    julia.write_text('f(x, y = 2; scaled = false) = x\nfunction g!(grads, rng, xs...; progress = true)\nend\nh(a, b) = a\n')
    assert signature_drift(julia, python) == ["f: Julia (x, y, scaled) ≠ PyTorch (x, y, extra, scaled)", "h: Julia (a, b) ≠ PyTorch (b, a)"]
