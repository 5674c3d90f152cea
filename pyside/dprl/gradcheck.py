"""A cross-stack gradcheck for anyone's functions: `dprl.crosscheck.gradcheck` and `dprl gradcheck`.

The same float64 inputs go through a Julia function (through `dprl.julia.function`) and a
PyTorch function. Four pairs are compared, each by the max-norm relative error
‖a − b‖∞ / ‖b‖∞ (b is the reference, named second):

- values: PyTorch against Julia, per output;
- gradients: PyTorch's autograd against Julia's reverse mode (Zygote, or ForwardDiff in
  `mode="forwarddiff"`);
- Julia's gradient against central finite differences of the Julia function, and PyTorch's
  against central differences of the PyTorch function (FD against AD, AD the reference).

Gradients are of L = Σₖ ⟨wₖ, yₖ⟩ over the float outputs yₖ with seeded standard-normal
cotangents wₖ (one vector-Jacobian product, the same w on both sides), so a function with many
outputs costs one backward pass a side. Central differences take h = fd_step·max(1, |xᵢ|) on each
input coordinate, or on a seeded sample of `max_fd_coordinates` of them.

Default tolerances (`TOLERANCES`): 1e-9 on values and 1e-8 on AD against AD, as `dprl crosscheck`
uses for its own cases (same formulas in float64 differ by rounding only); 1e-5 on AD against
central differences, whose truncation (h²·f‴/6) and rounding (ε·f/h) errors are about 1e-8 to
1e-6 of a smooth function's gradient with h = 1e-6 relative (the Julia package's own FD test
uses rtol 1e-5 on the trebuchet). Kinks, clips, events and straight-through estimators make
FD disagree legitimately: pick inputs away from them.
"""

from __future__ import annotations

import importlib
import json
import math
import runpy
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

TOLERANCES = {"values": 1e-9, "gradients": 1e-8, "finite_differences": 1e-5}
SPEC_KEYS = {"julia", "torch", "inputs", "mode", "core_ndims", "tolerances", "seed", "fd_step", "max_fd_coordinates", "julia_kwargs"}


@dataclass
class Pair:
    """One compared pair: b is the reference."""

    pair: str
    max_abs: float
    max_rel: float
    tolerance: float
    verdict: str
    where: str  # the output or input coordinate where |a − b| is largest
    point: dict | None = None  # the inputs at that batch index, when the inputs share one


@dataclass
class GradcheckReport:
    julia: str
    torch: str
    inputs: dict  # name -> shape
    fd_coordinates: int
    total_coordinates: int
    tolerances: dict
    rows: list[Pair] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(r.verdict == "pass" for r in self.rows)

    def table(self) -> str:
        lines = [f"julia: {self.julia}", f"torch: {self.torch}",
                 f"inputs: {', '.join(f'{k} {tuple(v)}' for k, v in self.inputs.items())}; "
                 f"finite differences on {self.fd_coordinates} of {self.total_coordinates} coordinates",
                 f"{'pair':<48} {'max abs':>9} {'max rel':>9} {'tol':>6}  {'verdict':<7} where",
                 "-" * 100]
        for r in self.rows:
            lines.append(f"{r.pair:<48} {r.max_abs:>9.2e} {r.max_rel:>9.2e} {r.tolerance:>6.0e}  {r.verdict:<7} {r.where}"
                         + (f" ({', '.join(f'{k}={_shown(v)}' for k, v in r.point.items())})" if r.point else ""))
        lines.append("verdict: " + ("pass" if self.passed else "FAIL"))
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed}


def _name(fn) -> str:
    if hasattr(fn, "name") and hasattr(fn, "julia_function"):
        return fn.name
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)
    return f"{module}.{qualname}" if module and qualname else repr(fn)


def _inputs(inputs) -> dict:
    if isinstance(inputs, dict):
        named = dict(inputs)
    elif isinstance(inputs, (list, tuple)):
        named = {f"arg{i + 1}": v for i, v in enumerate(inputs)}
    else:
        raise ValueError(f"inputs must be a dict of name -> array or a sequence of arrays; got {type(inputs).__name__}")
    if not named:
        raise ValueError("inputs is empty; give at least one array")
    out = {}
    for name, value in named.items():
        if hasattr(value, "detach"):
            value = value.detach().cpu().numpy()
        try:
            array = np.array(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"input {name!r} is not an array of numbers: {value!r}") from None
        if not np.isfinite(array).all():
            raise ValueError(f"input {name!r} holds non-finite values; gradcheck takes finite float64 inputs")
        out[str(name)] = array
    return out


def _outputs(result, label) -> tuple:
    import torch

    outputs = result if isinstance(result, tuple) else (result,)
    for k, o in enumerate(outputs):
        if not isinstance(o, torch.Tensor):
            raise ValueError(f"{label} returned {type(o).__name__} as output {k + 1}; it must return tensors (or a tuple of them)")
    return outputs


def _where(index, names, shapes, sizes) -> str:
    """'angle_deg[3]' for flat index `index` into the concatenated inputs."""
    for name, shape, size in zip(names, shapes, sizes):
        if index < size:
            return f"{name}[{', '.join(str(int(i)) for i in np.unravel_index(index, shape))}]" if shape else name
        index -= size
    return "?"


def _point(batch_index, inputs: dict) -> dict | None:
    """Every input at one batch index, when all inputs share their leading dimension."""
    lengths = {a.shape[0] if a.ndim >= 1 else None for a in inputs.values()}
    if len(lengths) != 1 or None in lengths or batch_index is None:
        return None
    return {name: a[batch_index].tolist() for name, a in inputs.items()}


def _shown(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else "[" + ", ".join(f"{v:.6g}" for v in np.ravel(value)) + "]"


def _compare(pair, ours, reference, tolerance, where_of) -> Pair:
    diff = np.abs(ours - reference)
    scale = float(np.max(np.abs(reference))) if reference.size else 0.0
    worst = int(np.argmax(diff)) if diff.size else 0
    max_abs = float(diff.max()) if diff.size else 0.0
    max_rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else math.inf)
    where, point = where_of(worst)
    return Pair(pair, max_abs, max_rel, tolerance, "pass" if max_rel <= tolerance else "FAIL", where, point)


def gradcheck(*, julia, torch, inputs, mode: str = "zygote", core_ndims=None, tolerances: dict | None = None, seed: int = 0,
              fd_step: float = 1e-6, max_fd_coordinates: int = 256, julia_kwargs: dict | None = None) -> GradcheckReport:
    """Compare a Julia function with a PyTorch function on the same inputs (module docstring).

    Args:
        julia: a Julia function name (`"Trebuchet.shoot"`, see `dprl.julia.function`) or a
            callable on tensors, such as a `dprl.julia.function(...)`.
        torch: a Python callable on tensors with the same signature and outputs.
        inputs: `{name: array}` or a sequence of arrays, float64 and finite; each is one
            positional argument of both functions.
        mode, core_ndims: passed to `dprl.julia.function` when `julia` is a name.
        tolerances: overrides of `TOLERANCES` ("values", "gradients", "finite_differences").
        seed: seeds the cotangents and the sample of FD coordinates.
        fd_step: relative central-difference step.
        max_fd_coordinates: at most this many input coordinates get finite differences.
        julia_kwargs: keyword arguments for the Julia function (when `julia` is a name).

    Returns a `GradcheckReport` (`.passed`, `.rows`, `.table()`, `.to_dict()`). Raises ValueError
    when the two functions disagree in the number, shape or dtype of their outputs, or give
    non-finite values, naming the function and the output or argument.
    """
    import torch as th

    from dprl import julia as bridge

    tol = dict(TOLERANCES)
    unknown = set(tolerances or {}) - set(TOLERANCES)
    if unknown:
        raise ValueError(f"tolerances takes {', '.join(TOLERANCES)}; got {', '.join(sorted(unknown))}")
    tol.update({k: float(v) for k, v in (tolerances or {}).items()})
    if not (isinstance(fd_step, (int, float)) and 0 < fd_step < 1):
        raise ValueError(f"fd_step must be in (0, 1); got {fd_step!r}")
    if not isinstance(max_fd_coordinates, int) or max_fd_coordinates < 1:
        raise ValueError(f"max_fd_coordinates must be an int >= 1; got {max_fd_coordinates!r}")
    if isinstance(julia, str):
        julia_fn = bridge.function(julia, mode=mode, core_ndims=core_ndims)
        if julia_kwargs:
            named_julia = julia_fn
            julia_fn = lambda *a: named_julia(*a, **julia_kwargs)  # noqa: E731
            julia_fn.name, julia_fn.julia_function = named_julia.name, named_julia.julia_function
    elif callable(julia):
        julia_fn = julia
    else:
        raise ValueError(f"julia must be a Julia function name or a callable; got {julia!r}")
    if not callable(torch):
        raise ValueError(f"torch must be a callable on tensors; got {torch!r}")
    julia_name, torch_name = _name(julia_fn), _name(torch)
    arrays = _inputs(inputs)
    names, shapes = list(arrays), [a.shape for a in arrays.values()]
    sizes = [a.size for a in arrays.values()]

    def run(fn, label, values, grad):
        leaves = [th.tensor(v, dtype=th.float64, requires_grad=grad) for v in values]
        try:
            with th.set_grad_enabled(grad):
                return leaves, _outputs(fn(*leaves), label)
        except ValueError:
            raise
        except Exception as error:  # the user's function failed: say which, keep the cause
            raise RuntimeError(f"{label} failed on the inputs: {type(error).__name__}: {error}") from error

    values = list(arrays.values())
    j_leaves, j_out = run(julia_fn, f"the Julia function {julia_name}", values, True)
    t_leaves, t_out = run(torch, f"the PyTorch function {torch_name}", values, True)
    if len(j_out) != len(t_out):
        raise ValueError(f"the Julia function {julia_name} returns {len(j_out)} outputs, the PyTorch function {torch_name} {len(t_out)}")
    floats = []
    for k, (a, b) in enumerate(zip(j_out, t_out)):
        if tuple(a.shape) != tuple(b.shape):
            raise ValueError(f"output {k + 1}: the Julia function {julia_name} returns shape {tuple(a.shape)}, "
                             f"the PyTorch function {torch_name} {tuple(b.shape)}")
        if a.is_floating_point() != b.is_floating_point() or (b.is_floating_point() and b.dtype != th.float64):
            raise ValueError(f"output {k + 1}: the Julia function {julia_name} returns {a.dtype}, the PyTorch function {torch_name} "
                             f"{b.dtype} for float64 inputs; both must return float64 (or both bool/int)")
        if b.is_floating_point() and not bool(th.isfinite(b).all()):
            raise ValueError(f"output {k + 1} of the PyTorch function {torch_name} is non-finite at index "
                             f"{tuple(int(i) for i in (~th.isfinite(b)).nonzero()[0])}")
        floats.append(b.is_floating_point())

    report = GradcheckReport(julia_name, torch_name, {n: list(s) for n, s in zip(names, shapes)}, 0, sum(sizes), tol)

    def input_where(flat_index):
        offset = flat_index
        for shape, size in zip(shapes, sizes):
            if offset < size:
                break
            offset -= size
        batch_index = int(np.unravel_index(offset, shape)[0]) if shape else None
        return _where(flat_index, names, shapes, sizes), _point(batch_index, arrays)

    for k, (a, b) in enumerate(zip(j_out, t_out)):
        ours, reference = b.detach().double().numpy(), a.detach().double().numpy()

        def output_where(i, shape=reference.shape):
            index = np.unravel_index(i, shape) if shape else ()
            return f"output {k + 1}[{', '.join(str(int(x)) for x in index)}]", _point(int(index[0]) if index else None, arrays)

        label = "values: PyTorch vs Julia" + (f", output {k + 1}" if len(j_out) > 1 else "")
        report.rows.append(_compare(label, ours.reshape(-1), reference.reshape(-1), tol["values"], output_where))

    rng = np.random.default_rng(seed)
    cotangents = [th.tensor(rng.standard_normal(tuple(b.shape))) if f else None for b, f in zip(t_out, floats)]

    def scalar(outputs):
        total = th.zeros((), dtype=th.float64)
        for o, w in zip(outputs, cotangents):
            if w is not None:
                total = total + (o.double() * w).sum()
        return total

    def ad_gradient(leaves, outputs):
        loss = scalar(outputs)
        if not loss.requires_grad:
            return np.zeros(sum(sizes))
        grads = th.autograd.grad(loss, leaves, allow_unused=True)
        return np.concatenate([np.zeros(s) if g is None else g.detach().numpy().reshape(-1) for g, s in zip(grads, sizes)])

    g_julia = ad_gradient(j_leaves, j_out)
    g_torch = ad_gradient(t_leaves, t_out)
    ad_name = "ForwardDiff" if getattr(julia_fn, "mode", mode) == "forwarddiff" else "Zygote"
    report.rows.append(_compare(f"gradient: PyTorch autograd vs Julia {ad_name}", g_torch, g_julia, tol["gradients"], input_where))

    total = sum(sizes)
    chosen = np.arange(total) if total <= max_fd_coordinates else np.sort(rng.choice(total, max_fd_coordinates, replace=False))
    report.fd_coordinates = len(chosen)
    flat = np.concatenate([v.reshape(-1) for v in values])

    def central(fn, label):
        out = np.empty(len(chosen))
        for n, i in enumerate(chosen):
            h = fd_step * max(1.0, abs(flat[i]))
            sides = []
            for sign in (1.0, -1.0):
                shifted = flat.copy()
                shifted[i] += sign * h
                parts = np.split(shifted, np.cumsum(sizes)[:-1])
                point = [p.reshape(s) for p, s in zip(parts, shapes)]
                try:
                    _, outputs = run(fn, label, point, False)
                    sides.append(float(scalar(outputs)))
                except (ValueError, RuntimeError) as error:
                    raise ValueError(f"central differences of {label} at {_where(i, names, shapes, sizes)} ± {h:.3g}: {error}") from None
            out[n] = (sides[0] - sides[1]) / (2 * h)
        return out

    def chosen_where(n):
        return input_where(int(chosen[n]))

    fd_julia = central(julia_fn, f"the Julia function {julia_name}")
    fd_torch = central(torch, f"the PyTorch function {torch_name}")
    report.rows.append(_compare(f"gradient: Julia FD vs Julia {ad_name}", fd_julia, g_julia[chosen], tol["finite_differences"], chosen_where))
    report.rows.append(_compare("gradient: PyTorch FD vs PyTorch autograd", fd_torch, g_torch[chosen], tol["finite_differences"], chosen_where))
    return report


# ----------------------------------------------------------------------------------------------
# Specs for `dprl gradcheck`: TOML or Python
# ----------------------------------------------------------------------------------------------
def _import(target: str):
    """`package.module:attribute` (or `package.module.attribute`) -> the object."""
    module_name, _, attribute = target.partition(":") if ":" in target else target.rpartition(".")
    if not module_name or not attribute:
        raise ValueError(f"torch must be 'package.module:function'; got {target!r}")
    try:
        obj = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"torch = {target!r}: cannot import {module_name}: {error}") from None
    for part in attribute.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"torch = {target!r}: {module_name} has no {attribute!r}")
        obj = getattr(obj, part)
    return obj


def _draw(name, value, rng):
    """A literal array, or {uniform = [lo, hi], shape = [...]} / {normal = [mean, std], shape = [...]}."""
    if not isinstance(value, dict):
        return value
    shape = tuple(value.get("shape", ()))
    if set(value) - {"uniform", "normal", "shape"} or ("uniform" in value) == ("normal" in value):
        raise ValueError(f"inputs.{name} must be an array or a table with one of uniform = [lo, hi] or normal = [mean, std], and shape")
    lo, hi = value.get("uniform") or value.get("normal")
    return rng.uniform(lo, hi, shape) if "uniform" in value else rng.normal(lo, hi, shape)


def load_spec(path) -> dict:
    """The keyword arguments of `gradcheck` from a TOML or Python spec (see the README)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"spec {path} does not exist")
    if path.suffix == ".toml":
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib
        try:
            spec = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"spec {path} is not valid TOML: {error}") from None
    elif path.suffix == ".py":
        spec = {k: v for k, v in runpy.run_path(str(path)).items() if k in SPEC_KEYS}
        if getattr(spec.get("torch"), "__module__", None) == "<run_path>":
            spec["torch"].__module__ = path.name  # name it after its spec in reports
    else:
        raise ValueError(f"spec {path} must be a .toml or .py file")
    unknown = set(spec) - SPEC_KEYS
    missing = {"julia", "torch", "inputs"} - set(spec)
    if unknown or missing:
        problem = f"unknown keys {', '.join(sorted(unknown))}" if unknown else f"missing {', '.join(sorted(missing))}"
        raise ValueError(f"spec {path}: {problem} (keys: {', '.join(sorted(SPEC_KEYS))})")
    if isinstance(spec["torch"], str):
        spec["torch"] = _import(spec["torch"])
    if not isinstance(spec["inputs"], (dict, list, tuple)):
        raise ValueError(f"spec {path}: inputs must be a table of name = array")
    if isinstance(spec["inputs"], dict):
        rng = np.random.default_rng(spec.get("seed", 0))
        spec["inputs"] = {name: _draw(name, value, rng) for name, value in spec["inputs"].items()}
    if isinstance(spec.get("core_ndims"), list):  # TOML has no None: "whole" passes an argument whole
        spec["core_ndims"] = tuple(None if c == "whole" else c for c in spec["core_ndims"])
    return spec


def write_json(report: GradcheckReport, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.to_dict(), indent=1))
    return path
