"""Each Julia file and its PyTorch twin define the same top-level names in the same order.

A reader holds the two files side by side (`julia/src/cartpole.jl` ↔ `pyside/dprl/envs/cartpole.py`):
every constant, type and function of one has its namesake at the same place in the other.
What only one language needs sits in a last section headed `# Julia only` or `# PyTorch only`,
and private helpers (a leading underscore) are each language's own.
"""

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


def top_level_names(path: Path) -> list:
    """Top-level definitions in order, each name once, up to a `# Julia only` / `# PyTorch only`
    heading; names with a leading underscore left out."""
    julia = path.suffix == ".jl"
    names = []
    in_docstring = False
    for line in path.read_text().splitlines():
        if line.count('"""') % 2 == 1:
            in_docstring = not in_docstring
            continue
        if in_docstring or not line or line[0].isspace():
            continue
        if re.match(r"^# (Julia|PyTorch) only\b", line):
            break
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
