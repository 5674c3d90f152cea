"""A cross-stack gradcheck for anyone's functions: `dprl.gradcheck.gradcheck` and `dprl gradcheck`.

The same inputs go through a Julia function (through `dprl.julia.function`) and a PyTorch
function, and every check compares coordinate by coordinate, |a − b| ≤ atol + rtol·|b| (b the
reference, named second), reporting the worst coordinate and the inputs there; the norm-wise
‖a − b‖∞ / ‖b‖∞ stays as a column. The checks (one table row each, per argument or output where
it matters):

- values: PyTorch against Julia, per output;
- gradient: PyTorch's autograd against Julia's reverse mode (Zygote, or ForwardDiff in
  `mode="forwarddiff"`), per argument, for two seeded cotangents w (the gradient is that of
  L = Σₖ ⟨wₖ, yₖ⟩, one backward pass a side); and on each side a second backward pass over the
  same forward pass against the first;
- forward mode: Julia's JVP by ForwardDiff through the function itself (never its rrule) against
  PyTorch's forward-mode AD (`torch.autograd.forward_ad`), in seeded random directions v; and on
  each side the dot-product test ⟨w, J v⟩ = ⟨Jᵀw, v⟩ of forward against reverse mode, at rounding
  level (the scale is Σ|wᵢ (Jv)ᵢ|, since rounding follows the terms, not their sum); where only
  one side has a forward mode, its ⟨w, J v⟩ against the other side's ⟨Jᵀw, v⟩;
- finite differences: each side's gradient against its own central differences on every input
  coordinate (or a seeded sample when `fd_budget_s` cannot pay for all), and along the random
  directions, as `torch.autograd.gradcheck`'s fast mode and JAX's `check_grads` do;
- kinks: where the left and right one-sided differences of a coordinate (or along a direction)
  disagree, the function is not differentiable there; those coordinates are reported as such and
  left out of the verdicts, and the check goes on;
- float32: each side in float32 (Julia through the bridge's float32 path) against itself in
  float64, values and gradients, at a looser stated tolerance;
- inputs unchanged: after every call of either function, its inputs hold what they held before
  (the bridge shares memory with the tensors, so a mutating Julia function would change them);
- second order (`second_order=True`): `torch.autograd.gradgradcheck` on the PyTorch side; on the
  Julia side a Hessian-vector product by ForwardDiff over its reverse mode, against central
  differences of its gradient and against PyTorch's double backward.

A check that cannot run for a function (no forward mode, say) is a row "not run" with the reason.
The stages are separate functions: `draw_inputs` (a spec's tables to arrays), `prepare` (every
argument checked), `run_sides` (both functions called), `compare` (the rows) and
`GradcheckReport.table`; `gradcheck` chains them.

Default tolerances (`TOLERANCES`, rtol and atol): values 1e-9, AD against AD 1e-8 as `dprl
crosscheck` uses (the same formulas in float64 differ by rounding), dot product and second
backward 1e-10, AD against central differences 1e-5 (truncation h²f‴/6 and rounding ε·f/h with
h = 1e-6·max(1, |x|)), float32 1e-3.
"""

from __future__ import annotations

import ast
import importlib
import json
import math
import runpy
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

CHECKS = ("values", "gradients", "jvp", "dot_product", "backward", "finite_differences", "float32", "second_order")
TOLERANCES = {
    "values": {"rtol": 1e-9, "atol": 1e-12},
    "gradients": {"rtol": 1e-8, "atol": 1e-11},
    "jvp": {"rtol": 1e-8, "atol": 1e-11},
    "dot_product": {"rtol": 1e-10, "atol": 1e-13},
    "backward": {"rtol": 1e-10, "atol": 0.0},
    "finite_differences": {"rtol": 1e-5, "atol": 1e-8},
    "float32": {"rtol": 1e-3, "atol": 1e-5},
    "second_order": {"rtol": 1e-5, "atol": 1e-8},
}
MODES = ("zygote", "forwarddiff")
SPEC_KEYS = {"julia", "torch", "inputs", "mode", "core_ndims", "tolerances", "seed", "fd_step", "max_fd_coordinates",
             "julia_kwargs", "torch_kwargs", "directions", "fd_budget_s", "second_order", "float32"}
MAX_INPUT_ELEMENTS = 10**7  # 80 MB of float64 per input: beyond that the check would not finish anyway
KINK_RTOL = 1e-3  # one-sided slopes this far apart are a kink; a smooth f differs by h·f″ ≈ 1e-6 relative


@dataclass
class Row:
    """One check: a against its reference b, coordinate by coordinate."""

    check: str
    part: str  # the argument, output or direction it covers ("all": every one)
    max_abs: float
    norm_rel: float  # ‖a − b‖∞ / ‖b‖∞
    rtol: float
    atol: float
    verdict: str  # "pass", "FAIL" or "not run"
    where: str = ""  # the worst coordinate (largest |a − b| / (atol + rtol·|b|))
    point: dict | None = None  # the inputs at that batch index, when the inputs share one
    note: str = ""  # why not run; kinks left out; how many failed
    compared: int = 0  # coordinates (or directions) compared


@dataclass
class GradcheckReport:
    julia: str
    torch: str
    inputs: dict  # name -> shape
    seed: int
    fd_coordinates: int
    total_coordinates: int
    directions: int
    tolerances: dict
    rows: list[Row] = field(default_factory=list)
    kinks: list[str] = field(default_factory=list)  # coordinates (and directions) where f is not differentiable

    @property
    def passed(self) -> bool:
        return all(r.verdict != "FAIL" for r in self.rows)

    @property
    def failed(self) -> list[Row]:
        return [r for r in self.rows if r.verdict == "FAIL"]

    def table(self) -> str:
        width = max([len(r.check) for r in self.rows] + [5])
        part = max([len(r.part) for r in self.rows] + [4])
        lines = [f"julia: {self.julia}", f"torch: {self.torch}",
                 (f"inputs: {', '.join(f'{k} {tuple(v)}' for k, v in self.inputs.items())}; seed {self.seed}; "
                  f"finite differences on {self.fd_coordinates} of {self.total_coordinates} coordinates and {self.directions} random directions"),
                 "pass: |a - b| <= atol + rtol*|b| at every coordinate (b the reference, named second); norm rel = max|a - b| / max|b|",
                 f"{'check':<{width}}  {'part':<{part}} {'max abs':>8} {'norm rel':>8} {'rtol':>5} {'atol':>5}  {'verdict':<7}  worst at",
                 "-" * (width + part + 60)]
        for r in self.rows:
            if r.verdict == "not run":
                lines.append(f"{r.check:<{width}}  {r.part:<{part}} {'':>8} {'':>8} {'':>5} {'':>5}  not run  {r.note}")
                continue
            where = r.where + (f" ({', '.join(f'{k}={_shown(v)}' for k, v in r.point.items())})" if r.point else "")
            note = f"; {r.note}" if r.note and where else r.note
            lines.append(f"{r.check:<{width}}  {r.part:<{part}} {r.max_abs:>8.1e} {r.norm_rel:>8.1e} {_tol(r.rtol):>5} {_tol(r.atol):>5}  "
                         f"{r.verdict:<7}  {where}{note}")
        if self.kinks:
            shown = ", ".join(self.kinks[:4]) + (f" and {len(self.kinks) - 4} more" if len(self.kinks) > 4 else "")
            lines.append(f"not differentiable at {shown} (left and right differences disagree): left out of the verdicts")
        failed = self.failed
        lines.append("verdict: " + ("pass" if not failed else f"FAIL ({len(failed)} of {len(self.rows)} rows)"))
        return "\n".join(lines)

    def to_dict(self) -> dict:
        out = {**asdict(self), "passed": self.passed}
        for row in out["rows"]:  # JSON has no Infinity: an infinite ratio (a zero reference) is null
            row["norm_rel"] = row["norm_rel"] if math.isfinite(row["norm_rel"]) else None
        return out


def _tol(x: float) -> str:
    return "0" if x == 0 else f"{x:.0e}".replace("e-0", "e-")


def _shown(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else "[" + ", ".join(f"{v:.6g}" for v in np.ravel(value)) + "]"


# ----------------------------------------------------------------------------------------------
# Stage 1: inputs (drawn from a spec's tables, or given) and every argument checked
# ----------------------------------------------------------------------------------------------
def _number(value, what, *, lo=None, hi=None, open_lo=False, open_hi=False, integer=False):
    """value as a float (or int) in its range, else one ValueError naming `what` and the range."""
    low = "(" if open_lo or lo is None else "["
    high = ")" if open_hi or hi is None else "]"
    allowed = f"{'an integer' if integer else 'a finite number'} in {low}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{high}"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or (integer and not float(value).is_integer()):
        raise ValueError(f"{what} must be {allowed}; got {value!r}")
    x = int(value) if integer else float(value)
    if (not math.isfinite(x) or (lo is not None and (x <= lo if open_lo else x < lo))
            or (hi is not None and (x >= hi if open_hi else x > hi))):
        raise ValueError(f"{what} must be {allowed}; got {value!r}")
    return x


def draw_inputs(inputs: dict, seed: int, *, where: str = "inputs") -> dict:
    """A spec's inputs as arrays: each a literal array or {uniform = [lo, hi], shape = [...]} /
    {normal = [mean, std], shape = [...]}, drawn in order from one generator seeded by `seed`."""
    rng = np.random.default_rng(seed)
    return {name: _draw(f"{where}.{name}", value, rng) for name, value in inputs.items()}


def _draw(key, value, rng):
    if not isinstance(value, dict):
        return value
    if set(value) - {"uniform", "normal", "shape"} or ("uniform" in value) == ("normal" in value):
        raise ValueError(f"{key} must be an array or a table with one of uniform = [lo, hi] or normal = [mean, std], and shape")
    shape = value.get("shape", [])
    shape = [shape] if isinstance(shape, int) and not isinstance(shape, bool) else shape
    if not isinstance(shape, (list, tuple)):
        raise ValueError(f"{key}.shape must be a list of whole numbers >= 0; got {shape!r}")
    shape = tuple(_number(n, f"{key}.shape", lo=0, integer=True) for n in shape)
    if math.prod(shape) > MAX_INPUT_ELEMENTS:
        raise ValueError(f"{key}.shape {shape} holds {math.prod(shape):.3g} numbers; at most {MAX_INPUT_ELEMENTS:.0e} per input")
    kind = "uniform" if "uniform" in value else "normal"
    bounds = value[kind]
    if not isinstance(bounds, (list, tuple)) or len(bounds) != 2:
        raise ValueError(f"{key}.{kind} must be [{'lo, hi' if kind == 'uniform' else 'mean, std'}]; got {bounds!r}")
    a, b = (_number(x, f"{key}.{kind}") for x in bounds)
    if kind == "uniform":
        if not a < b or not math.isfinite(b - a):
            raise ValueError(f"{key}.uniform must be [lo, hi] with lo < hi and a finite hi - lo; got {list(bounds)}")
        return rng.uniform(a, b, shape)
    if not b > 0:
        raise ValueError(f"{key}.normal must be [mean, std] with std > 0; got {list(bounds)}")
    return rng.normal(a, b, shape)


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
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"input {name!r} is not an array of numbers: {_short(value)}") from None
        if array.size == 0:
            raise ValueError(f"input {name!r} is empty (shape {array.shape}); give at least one number")
        if array.size > MAX_INPUT_ELEMENTS:
            raise ValueError(f"input {name!r} holds {array.size:.3g} numbers; at most {MAX_INPUT_ELEMENTS:.0e}")
        if not np.isfinite(array).all():
            raise ValueError(f"input {name!r} holds non-finite values; gradcheck takes finite float64 inputs")
        out[str(name)] = array
    return out


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _tolerances(tolerances) -> dict:
    if tolerances is None:
        tolerances = {}
    if not isinstance(tolerances, dict):
        raise ValueError(f"tolerances must be a table of check = rtol or check = {{rtol, atol}} (checks: {', '.join(CHECKS)}); got {tolerances!r}")
    unknown = set(tolerances) - set(CHECKS)
    if unknown:
        raise ValueError(f"tolerances takes {', '.join(CHECKS)}; got {', '.join(sorted(map(str, unknown)))}")
    tol = {k: dict(v) for k, v in TOLERANCES.items()}
    for check, value in tolerances.items():
        if isinstance(value, dict):
            extra = set(value) - {"rtol", "atol"}
            if extra or not value:
                raise ValueError(f"tolerances.{check} takes rtol and atol; got {', '.join(sorted(map(str, extra))) or 'an empty table'}")
            for k, v in value.items():
                tol[check][k] = _number(v, f"tolerances.{check}.{k}", lo=0)
        else:
            tol[check]["rtol"] = _number(value, f"tolerances.{check}", lo=0)
    return tol


def _kwargs(value, what) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and k.isidentifier() for k in value):
        raise ValueError(f"{what} must be a table of name = value (keyword arguments); got {_short(value)}")
    return dict(value)


def _core_ndims(core_ndims, n_inputs):
    if core_ndims is None:
        return None
    entries = list(core_ndims) if isinstance(core_ndims, (list, tuple)) else [core_ndims]
    for c in entries:
        if c is not None and (isinstance(c, bool) or not isinstance(c, int) or c < 0):
            raise ValueError(f"core_ndims must be None, an int >= 0 or one entry per input (an int >= 0 or None); got {core_ndims!r}")
    if isinstance(core_ndims, (list, tuple)):
        if len(entries) != n_inputs:
            raise ValueError(f"core_ndims has {len(entries)} entries for {n_inputs} inputs")
        return tuple(entries)
    return core_ndims


@dataclass
class Setup:
    """Everything `run_sides` needs, checked."""

    julia_fn: object
    torch_fn: object
    julia_kwargs: dict
    torch_kwargs: dict
    arrays: dict
    tolerances: dict
    seed: int
    fd_step: float
    max_fd_coordinates: int | None
    directions: int
    fd_budget_s: float
    second_order: bool
    float32: bool

    @property
    def names(self):
        return list(self.arrays)

    @property
    def shapes(self):
        return [a.shape for a in self.arrays.values()]

    @property
    def sizes(self):
        return [a.size for a in self.arrays.values()]


def prepare(*, julia, torch, inputs, mode="zygote", core_ndims=None, tolerances=None, seed=0, fd_step=1e-6, max_fd_coordinates=None,
            julia_kwargs=None, torch_kwargs=None, directions=3, fd_budget_s=10.0, second_order=False, float32=True) -> Setup:
    """Every argument of `gradcheck` checked (one ValueError naming it) and the Julia function found."""
    options = _check_options(mode=mode, tolerances=tolerances, seed=seed, fd_step=fd_step, max_fd_coordinates=max_fd_coordinates,
                             julia_kwargs=julia_kwargs, torch_kwargs=torch_kwargs, directions=directions, fd_budget_s=fd_budget_s,
                             second_order=second_order, float32=float32)
    arrays = _inputs(inputs)
    core_ndims = _core_ndims(core_ndims, len(arrays))
    if not callable(torch):
        raise ValueError(f"torch must be a callable on tensors; got {_short(torch)}")
    if isinstance(julia, str):
        from dprl import julia as bridge

        julia_fn = bridge.function(julia, mode=mode, core_ndims=core_ndims)
    elif callable(julia):
        julia_fn = julia
    else:
        raise ValueError(f"julia must be a Julia function name or a callable; got {_short(julia)}")
    return Setup(julia_fn, torch, arrays=arrays, **options)


def _is_julia(fn) -> bool:
    return hasattr(fn, "julia_function") and hasattr(fn, "core_ndims")


def _name(fn) -> str:
    if _is_julia(fn):
        return fn.name
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)
    return f"{module}.{qualname}" if module and qualname else repr(fn)


# ----------------------------------------------------------------------------------------------
# Stage 2: both functions called (values, gradients, JVPs, finite differences, float32, ...)
# ----------------------------------------------------------------------------------------------
class _Side:
    """One function and everything measured on it."""

    def __init__(self, stack: str, fn, kwargs: dict, setup: Setup):
        self.stack, self.fn, self.kwargs, self.setup = stack, fn, kwargs, setup
        self.name = _name(fn)
        self.label = f"the {'Julia' if stack == 'Julia' else 'PyTorch'} function {self.name}"
        self.calls = 0
        self.mutated: list[str] = []  # "x[3] changed in call 5 (finite differences)"
        self.results: dict = {}
        self.not_run: dict = {}  # check -> reason

    @property
    def reverse(self) -> str:
        if self.stack == "PyTorch" or not _is_julia(self.fn):
            return "autograd"
        return "ForwardDiff" if getattr(self.fn, "mode", "zygote") == "forwarddiff" else "Zygote"

    def call(self, values, *, dtype=None, grad=False, purpose="values"):
        """(leaf tensors, outputs tuple) at `values`; checks that no input was changed."""
        import torch as th

        dtype = dtype or th.float64
        leaves = [th.tensor(v, dtype=dtype, requires_grad=grad) for v in values]
        before = [leaf.detach().clone() for leaf in leaves]
        self.calls += 1
        try:
            with th.set_grad_enabled(grad):
                outputs = _outputs(self.fn(*leaves, **self.kwargs), self.label)
        except ValueError:
            raise
        except Exception as error:  # the user's function failed: say which, keep the cause
            raise RuntimeError(f"{self.label} failed on the inputs ({purpose}): {type(error).__name__}: {error}") from error
        self.watch(leaves, before, purpose)
        return leaves, outputs

    def watch(self, after, before, purpose):
        import torch as th

        for name, a, b in zip(self.setup.names, after, before):
            a = a.detach() if hasattr(a, "detach") else th.as_tensor(a)
            b = b.detach() if hasattr(b, "detach") else th.as_tensor(b)
            if not th.equal(a.to(b.dtype), b):
                index = int((a.to(b.dtype) != b).reshape(-1).nonzero()[0])
                self.mutated.append(f"{_where_in(name, b.shape, index)} changed ({purpose}, call {self.calls})")


def _where_in(name, shape, index) -> str:
    return f"{name}[{', '.join(str(int(i)) for i in np.unravel_index(index, shape))}]" if shape else name


def _outputs(result, label) -> tuple:
    import torch

    outputs = result if isinstance(result, tuple) else (result,)
    for k, o in enumerate(outputs):
        if not isinstance(o, torch.Tensor):
            raise ValueError(f"{label} returned {type(o).__name__} as output {k + 1}; it must return tensors (or a tuple of them)")
    return outputs


@dataclass
class Runs:
    """What `run_sides` measured, flat over the inputs (the order of `Setup.arrays`)."""

    setup: Setup
    julia: _Side
    torch: _Side
    floats: list  # which outputs are float
    cotangents: list  # two lists of per-output arrays (None for non-float outputs)
    directions: np.ndarray  # (k, n) random directions (scaled by max(1, |x|))
    chosen: np.ndarray  # the coordinates with finite differences


def _flat(arrays) -> np.ndarray:
    return np.concatenate([np.asarray(a, dtype=np.float64).reshape(-1) for a in arrays])


def _split(flat, setup: Setup) -> list:
    parts = np.split(flat, np.cumsum(setup.sizes)[:-1])
    return [p.reshape(s) for p, s in zip(parts, setup.shapes)]


def _contract(outputs, cotangents):
    import torch as th

    total = th.zeros((), dtype=th.float64)
    for o, w in zip(outputs, cotangents):
        if w is not None:
            total = total + (o.double() * th.as_tensor(w)).sum()
    return total


def _gradient(leaves, outputs, cotangents, setup, *, retain=False) -> np.ndarray:
    import torch as th

    loss = _contract(outputs, cotangents)
    if not loss.requires_grad:
        return np.zeros(sum(setup.sizes))
    grads = th.autograd.grad(loss, leaves, allow_unused=True, retain_graph=retain)
    return np.concatenate([np.zeros(s) if g is None else g.detach().double().numpy().reshape(-1) for g, s in zip(grads, setup.sizes)])


def _finite(array, what):
    if not np.isfinite(array).all():
        index = int(np.flatnonzero(~np.isfinite(array))[0])
        raise ValueError(f"{what} is non-finite ({array.reshape(-1)[index]}) at flat index {index}")


def run_sides(setup: Setup) -> Runs:
    """Call both functions for every check (stage 2)."""
    import torch as th

    julia = _Side("Julia", setup.julia_fn, setup.julia_kwargs, setup)
    torch = _Side("PyTorch", setup.torch_fn, setup.torch_kwargs, setup)
    values = list(setup.arrays.values())
    for side in (julia, torch):
        side.leaves, side.outputs = side.call(values, grad=True, purpose="values and gradients")
    if len(julia.outputs) != len(torch.outputs):
        raise ValueError(f"{julia.label} returns {len(julia.outputs)} outputs, {torch.label} {len(torch.outputs)}")
    floats = []
    for k, (a, b) in enumerate(zip(julia.outputs, torch.outputs)):
        if tuple(a.shape) != tuple(b.shape):
            raise ValueError(f"output {k + 1}: {julia.label} returns shape {tuple(a.shape)}, {torch.label} {tuple(b.shape)}")
        if a.is_floating_point() != b.is_floating_point() or (b.is_floating_point() and (b.dtype != th.float64 or a.dtype != th.float64)):
            raise ValueError(f"output {k + 1}: {julia.label} returns {a.dtype}, {torch.label} {b.dtype} for float64 inputs; "
                             "both must return float64 (or both bool/int)")
        for side, o in ((julia, a), (torch, b)):
            if o.is_floating_point() and not bool(th.isfinite(o).all()):
                raise ValueError(f"output {k + 1} of {side.label} is non-finite at index {tuple(int(i) for i in (~th.isfinite(o)).nonzero()[0])}")
        floats.append(b.is_floating_point())

    rng = np.random.default_rng(setup.seed)
    cotangents = [[rng.standard_normal(tuple(b.shape)) if f else None for b, f in zip(torch.outputs, floats)] for _ in range(2)]
    flat = _flat(values)
    total = flat.size
    directions = rng.standard_normal((setup.directions, total)) * np.maximum(1.0, np.abs(flat))
    for side in (julia, torch):
        grads = [_gradient(side.leaves, side.outputs, cotangents[0], setup, retain=True)]
        grads.append(_gradient(side.leaves, side.outputs, cotangents[0], setup, retain=True))  # a second backward pass
        grads.append(_gradient(side.leaves, side.outputs, cotangents[1], setup))
        for g in grads:
            _finite(g, f"the gradient of {side.label}")
        side.watch(side.leaves, [th.tensor(v) for v in values], "backward")
        side.results["gradient"], side.results["gradient again"], side.results["gradient 2"] = grads
        _forward_mode(side, values, directions, floats)

    # how many coordinates the time budget pays for: 2 calls a coordinate a side, timed without
    # gradients (the best of two, past any first-call compilation)
    for side in (julia, torch):
        timings = []
        for _ in range(2):
            start = time.perf_counter()
            side.base = _scalar(side, flat, cotangents[0], "finite differences")
            timings.append(time.perf_counter() - start)
        side.seconds = min(timings)
    per_coordinate = 2 * (julia.seconds + torch.seconds) + 1e-9
    affordable = int(setup.fd_budget_s / per_coordinate)
    cap = total if setup.max_fd_coordinates is None else min(total, setup.max_fd_coordinates)
    count = min(cap, max(affordable, min(cap, 64)))
    chosen = np.arange(total) if count >= total else np.sort(rng.choice(total, count, replace=False))
    for side in (julia, torch):
        _finite_differences(side, flat, chosen, directions, cotangents[0], setup)
        if setup.float32:
            _float32(side, values, cotangents[0], setup)
        if setup.second_order:
            _second_order(side, values, cotangents[0], directions, setup)
    return Runs(setup, julia, torch, floats, cotangents, directions, chosen)


def _forward_mode(side: _Side, values, directions, floats):
    """side.results["jvp"]: (k, m) JVPs of the flat float outputs, or side.not_run["jvp"]."""
    try:
        if side.stack == "Julia" and _is_julia(side.fn):
            jvps = [_julia_jvp(side, values, _split(d, side.setup)) for d in directions]
        else:
            jvps = [_torch_jvp(side, values, _split(d, side.setup)) for d in directions]
    except _NotRun as reason:
        side.not_run["jvp"] = str(reason)
        return
    side.results["jvp"] = np.array([np.concatenate([j.reshape(-1) for j, f in zip(jvp, floats) if f] or [np.zeros(0)]) for jvp in jvps])
    _finite(side.results["jvp"], f"the JVP of {side.label}")


class _NotRun(Exception):
    """A check that cannot run for this function, with the reason for its row."""


def _torch_jvp(side: _Side, values, tangents) -> list:
    import torch as th
    import torch.autograd.forward_ad as fwAD

    primals = [th.tensor(v) for v in values]
    before = [p.clone() for p in primals]
    side.calls += 1
    try:
        with fwAD.dual_level():
            duals = [fwAD.make_dual(p, th.tensor(t)) for p, t in zip(primals, tangents)]
            outputs = side.fn(*duals, **side.kwargs)
            outputs = outputs if isinstance(outputs, tuple) else (outputs,)
            result = []
            for o in outputs:
                tangent = fwAD.unpack_dual(o).tangent
                result.append(np.zeros(tuple(o.shape)) if tangent is None else tangent.detach().double().numpy().copy())
    except Exception as error:  # noqa: BLE001  (the user's code may raise anything: no forward-mode formula somewhere inside)
        raise _NotRun(f"no forward-mode AD through it ({type(error).__name__}: {_first_line(error)[:90]})") from None
    side.watch(primals, before, "forward mode")
    return result


def _julia_jvp(side: _Side, values, tangents) -> list:
    import juliacall

    from dprl import julia as bridge

    jl = bridge.start()
    core, batch, args, tangents = _batched(side.fn.core_ndims, values, tangents)
    before = [a.copy() for a in args]
    side.calls += 1
    try:
        out = jl.seval("DPRL.Gradcheck.jvp")(side.fn.julia_function, tuple(args), core, batch, tuple(tangents), **side.kwargs)
    except juliacall.JuliaError as error:
        raise _NotRun(f"ForwardDiff cannot run through it ({_first_line(error)[:90]})") from None
    side.watch(args, before, "forward mode")
    return [np.array(o, dtype=np.float64) for o in out]


def _first_line(error) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0][:160] if lines else type(error).__name__


def _batched(core_ndims, values, tangents):
    """(core, batch, args, tangents) as the bridge batches them (batched arguments broadcast)."""
    if core_ndims is None:
        return None, (), [np.array(v) for v in values], [np.array(t) for t in tangents]
    core = [core_ndims] * len(values) if isinstance(core_ndims, int) else list(core_ndims)
    leading = [v.shape[: v.ndim - c] for v, c in zip(values, core) if c is not None]
    batch = tuple(np.broadcast_shapes(*leading)) if leading else ()
    args, tans = [], []
    for v, t, c in zip(values, tangents, core):
        if c is None:
            args.append(np.array(v))
            tans.append(np.array(t))
        else:
            shape = batch + v.shape[v.ndim - c:]
            args.append(np.array(np.broadcast_to(v, shape)))  # a writable copy: a mutation must be seen, not refused
            tans.append(np.array(np.broadcast_to(t, shape)))
    return tuple(core), batch, args, tans


def _scalar(side: _Side, flat, cotangents, purpose) -> float:
    _, outputs = side.call(_split(flat, side.setup), purpose=purpose)
    value = float(_contract(outputs, cotangents))
    if not math.isfinite(value):
        raise ValueError(f"{side.label} gave a non-finite value during {purpose}")
    return value


def _finite_differences(side: _Side, flat, chosen, directions, cotangents, setup: Setup):
    """Central and one-sided differences of L = Σ⟨w, y⟩ per chosen coordinate and per direction."""
    base = side.base
    central, left, right = (np.empty(len(chosen)) for _ in range(3))
    for n, i in enumerate(chosen):
        h = setup.fd_step * max(1.0, abs(flat[i]))
        up, down = flat.copy(), flat.copy()
        up[i] += h
        down[i] -= h
        where = f"finite differences at {_where_flat(int(i), setup)} ± {h:.3g}"
        f_up, f_down = _scalar(side, up, cotangents, where), _scalar(side, down, cotangents, where)
        central[n], right[n], left[n] = (f_up - f_down) / (2 * h), (f_up - base) / h, (base - f_down) / h
    side.results["fd"], side.results["fd left"], side.results["fd right"] = central, left, right
    along, a_left, a_right = (np.empty(len(directions)) for _ in range(3))
    for k, d in enumerate(directions):
        h = setup.fd_step
        f_up = _scalar(side, flat + h * d, cotangents, f"finite differences along direction {k + 1}")
        f_down = _scalar(side, flat - h * d, cotangents, f"finite differences along direction {k + 1}")
        along[k], a_right[k], a_left[k] = (f_up - f_down) / (2 * h), (f_up - base) / h, (base - f_down) / h
    side.results["fd directions"], side.results["fd directions left"], side.results["fd directions right"] = along, a_left, a_right


def _float32(side: _Side, values, cotangents, setup: Setup):
    import torch as th

    try:
        leaves, outputs = side.call(values, dtype=th.float32, grad=True, purpose="float32")
    except (ValueError, RuntimeError) as error:
        side.not_run["float32"] = f"not in float32: {_first_line(error)}"
        return
    if any(o.is_floating_point() and o.dtype != th.float32 for o in outputs):
        side.not_run["float32"] = f"returns {', '.join(str(o.dtype) for o in outputs)} for float32 inputs"
        return
    side.results["float32 values"] = [o.detach().double().numpy() for o in outputs]
    side.results["float32 gradient"] = _gradient(leaves, outputs, [None if w is None else w.astype(np.float32) for w in cotangents], setup)


def _second_order(side: _Side, values, cotangents, directions, setup: Setup):
    """Hessian-vector products of L along the first direction: Julia's by ForwardDiff over its reverse
    mode, PyTorch's by double backward; each side's against central differences of its gradient."""
    import torch as th

    d = directions[0]
    flat = _flat(values)
    if side.stack == "Julia" and _is_julia(side.fn):
        import juliacall

        from dprl import julia as bridge

        core, batch, args, tangents = _batched(side.fn.core_ndims, values, _split(d, setup))
        try:
            hv = bridge.start().seval("DPRL.Gradcheck.hvp")(side.fn.julia_function, tuple(args), core, batch, tuple(cotangents),
                                                            tuple(tangents), getattr(side.fn, "mode", "zygote"), **side.kwargs)
        except juliacall.JuliaError as error:
            side.not_run["second_order"] = f"ForwardDiff over {side.reverse} cannot run through it: {_first_line(error)}"
            return
        hv = np.concatenate([_sum_to(np.asarray(h, dtype=np.float64), v.shape).reshape(-1) for h, v in zip(hv, values)])
    else:
        leaves, outputs = side.call(values, grad=True, purpose="second order")
        try:
            grads = th.autograd.grad(_contract(outputs, cotangents), leaves, create_graph=True, allow_unused=True)
            dot = sum((g * th.tensor(t)).sum() for g, t in zip(grads, _split(d, setup)) if g is not None and g.requires_grad)
            if not isinstance(dot, th.Tensor) or not dot.requires_grad:
                hv = np.zeros(flat.size)
            else:
                second = th.autograd.grad(dot, leaves, allow_unused=True)
                hv = np.concatenate([np.zeros(s) if g is None else g.detach().numpy().reshape(-1) for g, s in zip(second, setup.sizes)])
        except RuntimeError as error:
            side.not_run["second_order"] = f"no double backward: {_first_line(error)}"
            return
        if side.stack == "PyTorch":
            try:
                ok = th.autograd.gradgradcheck(lambda *x: side.fn(*x, **side.kwargs),
                                               tuple(th.tensor(v, requires_grad=True) for v in values), raise_exception=False)
            except RuntimeError as error:
                ok = f"gradgradcheck could not run: {_first_line(error)}"
            side.results["gradgradcheck"] = ok
    side.results["hvp"] = hv
    h = setup.fd_step
    grads = []
    for sign in (1.0, -1.0):
        leaves, outputs = side.call(_split(flat + sign * h * d, setup), grad=True, purpose="second order finite differences")
        grads.append(_gradient(leaves, outputs, cotangents, setup))
    side.results["hvp fd"] = (grads[0] - grads[1]) / (2 * h)


def _sum_to(array, shape):
    """A gradient over a broadcast argument summed back to the argument's shape."""
    while array.ndim > len(shape):
        array = array.sum(axis=0)
    for axis, (have, want) in enumerate(zip(array.shape, shape)):
        if have != want:
            array = array.sum(axis=axis, keepdims=True)
    return array.reshape(shape)


# ----------------------------------------------------------------------------------------------
# Stage 3: the rows
# ----------------------------------------------------------------------------------------------
def _where_flat(index, setup: Setup) -> str:
    for name, shape, size in zip(setup.names, setup.shapes, setup.sizes):
        if index < size:
            return _where_in(name, shape, index)
        index -= size
    return "?"


def _point(batch_index, arrays: dict) -> dict | None:
    """Every input at one batch index, when all inputs share their leading dimension."""
    lengths = {a.shape[0] if a.ndim >= 1 else None for a in arrays.values()}
    if len(lengths) != 1 or None in lengths or batch_index is None:
        return None
    return {name: a[batch_index].tolist() for name, a in arrays.items()}


def _input_where(setup: Setup, flat_index):
    offset = flat_index
    for shape, size in zip(setup.shapes, setup.sizes):
        if offset < size:
            break
        offset -= size
    batch_index = int(np.unravel_index(offset, shape)[0]) if shape else None
    return _where_flat(flat_index, setup), _point(batch_index, setup.arrays)


def _elementwise(check, part, a, b, tol, where_of, *, skip=None, scale=None) -> Row:
    """Row for a against reference b: |a − b| ≤ atol + rtol·|b| (or rtol·scale) per coordinate."""
    a, b = np.asarray(a, dtype=np.float64).reshape(-1), np.asarray(b, dtype=np.float64).reshape(-1)
    rtol, atol = tol["rtol"], tol["atol"]
    diff = np.abs(a - b)
    allowed = atol + rtol * (np.abs(b) if scale is None else np.asarray(scale).reshape(-1))
    keep = np.ones(diff.size, bool) if skip is None else ~np.asarray(skip, bool)
    bad = (diff > allowed) & keep
    max_abs = float(diff[keep].max()) if keep.any() else 0.0
    reference = float(np.abs(b[keep]).max()) if keep.any() else 0.0
    norm_rel = max_abs / reference if reference > 0 else (0.0 if max_abs == 0 else math.inf)
    ratio = np.where(keep, diff / np.where(allowed > 0, allowed, np.finfo(float).tiny), -1.0)
    worst = int(np.argmax(ratio)) if ratio.size else 0
    where, point = where_of(worst) if ratio.size and keep.any() else ("", None)
    note = f"{int(bad.sum())} of {int(keep.sum())} coordinates out" if bad.sum() > 1 else ""
    return Row(check, part, max_abs, norm_rel, rtol, atol, "FAIL" if bad.any() else "pass", where, point, note, int(keep.sum()))


def _not_run(check, part, reason) -> Row:
    return Row(check, part, 0.0, 0.0, 0.0, 0.0, "not run", note=reason)


def _kink(left, right, tol) -> np.ndarray:
    """Where the one-sided slopes disagree beyond what a smooth function allows."""
    return np.abs(left - right) > KINK_RTOL * np.maximum(np.abs(left), np.abs(right)) + 10 * tol["atol"]


def compare(runs: Runs) -> GradcheckReport:
    """The rows of the report from what `run_sides` measured (stage 3)."""
    setup, J, T = runs.setup, runs.julia, runs.torch
    tol = setup.tolerances
    names, sizes = setup.names, setup.sizes
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    report = GradcheckReport(J.name, T.name, {n: list(s) for n, s in zip(names, setup.shapes)}, setup.seed, len(runs.chosen), int(offsets[-1]),
                             setup.directions, tol)
    rows = report.rows

    def at_input(i):
        return _input_where(setup, int(i))

    # kinks: per coordinate (either side's one-sided differences disagree) and per direction
    kink_fd = _kink(J.results["fd left"], J.results["fd right"], tol["finite_differences"]) | \
        _kink(T.results["fd left"], T.results["fd right"], tol["finite_differences"])
    kink_coordinates = np.zeros(offsets[-1], bool)
    kink_coordinates[runs.chosen[kink_fd]] = True
    kink_directions = _kink(J.results["fd directions left"], J.results["fd directions right"], tol["finite_differences"]) | \
        _kink(T.results["fd directions left"], T.results["fd directions right"], tol["finite_differences"])
    report.kinks = [_where_flat(int(i), setup) for i in np.flatnonzero(kink_coordinates)]
    report.kinks += [f"direction {k + 1}" for k in np.flatnonzero(kink_directions)]

    # values, per output
    many = len(J.outputs) > 1
    for k, (a, b) in enumerate(zip(J.outputs, T.outputs)):
        reference, ours = a.detach().double().numpy(), b.detach().double().numpy()

        def output_where(i, shape=reference.shape, k=k):
            index = np.unravel_index(i, shape) if shape else ()
            return f"[{', '.join(str(int(x)) for x in index)}]", _point(int(index[0]) if index else None, setup.arrays)

        rows.append(_elementwise("values: PyTorch vs Julia", f"output {k + 1}" if many else "all", ours, reference, tol["values"], output_where))

    def per_argument(check, a, b, t, subset=None, skip=None):
        """One row per argument (subset: the flat coordinates a and b cover)."""
        idx = np.arange(offsets[-1]) if subset is None else subset
        for n, name in enumerate(names):
            mine = (idx >= offsets[n]) & (idx < offsets[n + 1])
            if not mine.any():
                rows.append(_not_run(check, name, "no coordinate of it sampled"))
                continue
            cover = idx[mine]
            rows.append(_elementwise(check, name, a[mine], b[mine], t, lambda i, cover=cover: at_input(cover[i]),
                                     skip=None if skip is None else skip[mine]))

    # reverse mode across the stacks, per argument, then the second cotangent and the second backward
    per_argument(f"gradient: PyTorch vs Julia {J.reverse}", T.results["gradient"], J.results["gradient"], tol["gradients"],
                 skip=kink_coordinates)
    rows.append(_elementwise("gradient, cotangent 2: PyTorch vs Julia", "all", T.results["gradient 2"], J.results["gradient 2"],
                             tol["gradients"], at_input, skip=kink_coordinates))
    for side in (J, T):
        rows.append(_elementwise(f"second backward vs first: {side.stack}", "all", side.results["gradient again"], side.results["gradient"],
                                 tol["backward"], at_input))

    # forward mode: JVP across the stacks, and forward against reverse on each side
    def direction_where(i, width):
        return (f"direction {i // width + 1}, flat output {i % width}" if width else f"direction {i + 1}"), None

    if "jvp" in J.results and "jvp" in T.results:
        width = T.results["jvp"].shape[1]
        skip = np.repeat(kink_directions, width)
        rows.append(_elementwise("JVP: PyTorch vs Julia ForwardDiff", "all", T.results["jvp"], J.results["jvp"], tol["jvp"],
                                 lambda i: direction_where(i, width), skip=skip))
    else:
        reasons = "; ".join(f"{s.stack}: {s.not_run['jvp']}" for s in (J, T) if "jvp" in s.not_run)
        rows.append(_not_run("JVP: PyTorch vs Julia ForwardDiff", "all", reasons))
        # one side's forward mode can still meet the other side's reverse mode: <w, Jv> against <J'w, v>
        one = J if "jvp" in J.results else T if "jvp" in T.results else None
        if one is not None:
            other = T if one is J else J
            w = np.concatenate([c.reshape(-1) for c, f in zip(runs.cotangents[0], runs.floats) if f] or [np.zeros(0)])
            scale = np.abs(one.results["jvp"]) @ np.abs(w) + np.abs(runs.directions) @ np.abs(other.results["gradient"])
            rows.append(_elementwise(f"<w,Jv> {one.stack} vs <J'w,v> {other.stack}", "all", one.results["jvp"] @ w,
                                     runs.directions @ other.results["gradient"], tol["jvp"], lambda i: (f"direction {i + 1}", None),
                                     skip=kink_directions, scale=scale))
    for side in (J, T):
        check = f"dot product <w,Jv> vs <J'w,v>: {side.stack}"
        if "jvp" not in side.results:
            rows.append(_not_run(check, "all", side.not_run["jvp"]))
            continue
        w = np.concatenate([c.reshape(-1) for c, f in zip(runs.cotangents[0], runs.floats) if f] or [np.zeros(0)])
        forward_dots = side.results["jvp"] @ w
        reverse_dots = runs.directions @ side.results["gradient"]
        scale = np.abs(side.results["jvp"]) @ np.abs(w) + np.abs(runs.directions) @ np.abs(side.results["gradient"])
        rows.append(_elementwise(check, "all", forward_dots, reverse_dots, tol["dot_product"], lambda i: (f"direction {i + 1}", None),
                                 skip=kink_directions, scale=scale))

    # finite differences on each side: per coordinate (per argument), then along the directions
    for side in (J, T):
        per_argument(f"FD vs gradient: {side.stack} {side.reverse}", side.results["fd"], side.results["gradient"][runs.chosen],
                     tol["finite_differences"], subset=runs.chosen, skip=kink_fd)
    for side in (J, T):
        rows.append(_elementwise(f"FD along v vs <gradient,v>: {side.stack}", "all", side.results["fd directions"],
                                 runs.directions @ side.results["gradient"], tol["finite_differences"],
                                 lambda i: (f"direction {i + 1}", None), skip=kink_directions))

    # float32, each side against itself in float64
    for side in (J, T):
        if not setup.float32:
            continue
        if "float32" in side.not_run:
            rows.append(_not_run(f"float32 vs float64: {side.stack}", "all", side.not_run["float32"]))
            continue
        f32 = np.concatenate([v.reshape(-1) for v, f in zip(side.results["float32 values"], runs.floats) if f])
        f64 = np.concatenate([o.detach().double().numpy().reshape(-1) for o, f in zip(side.outputs, runs.floats) if f])
        rows.append(_elementwise(f"float32 vs float64: {side.stack} values", "all", f32, f64, tol["float32"],
                                 lambda i: (f"flat output {i}", None)))
        rows.append(_elementwise(f"float32 vs float64: {side.stack} gradient", "all", side.results["float32 gradient"], side.results["gradient"],
                                 tol["float32"], at_input, skip=kink_coordinates))

    # second order
    if setup.second_order:
        hv_check = "second order: HVP PyTorch vs Julia"
        if "hvp" in J.results and "hvp" in T.results:
            rows.append(_elementwise(hv_check, "direction 1", T.results["hvp"], J.results["hvp"], tol["second_order"], at_input))
        else:
            rows.append(_not_run(hv_check, "direction 1", "; ".join(f"{s.stack}: {s.not_run['second_order']}" for s in (J, T)
                                                                    if "second_order" in s.not_run)))
        for side in (J, T):
            check = f"second order: FD of gradient vs HVP: {side.stack}"
            if "hvp" in side.results:
                rows.append(_elementwise(check, "direction 1", side.results["hvp fd"], side.results["hvp"], tol["second_order"], at_input))
            else:
                rows.append(_not_run(check, "direction 1", side.not_run["second_order"]))
        if "gradgradcheck" in T.results:
            ok = T.results["gradgradcheck"]
            rows.append(Row("second order: gradgradcheck: PyTorch", "all", 0.0, 0.0, 1e-3, 1e-5,
                            "pass" if ok is True else ("not run" if isinstance(ok, str) else "FAIL"), note=ok if isinstance(ok, str) else ""))

    # inputs unchanged after every call
    for side in (J, T):
        rows.append(Row(f"inputs unchanged: {side.stack}", "all", 0.0, 0.0, 0.0, 0.0,
                        "FAIL" if side.mutated else "pass", side.mutated[0] if side.mutated else "",
                        note=(f"{len(side.mutated)} changes in {side.calls} calls" if side.mutated else f"{side.calls} calls"), compared=side.calls))
    return report


# ----------------------------------------------------------------------------------------------
# The whole check
# ----------------------------------------------------------------------------------------------
def gradcheck(*, julia, torch, inputs, mode: str = "zygote", core_ndims=None, tolerances: dict | None = None, seed: int = 0,
              fd_step: float = 1e-6, max_fd_coordinates: int | None = None, julia_kwargs: dict | None = None,
              torch_kwargs: dict | None = None, directions: int = 3, fd_budget_s: float = 10.0, second_order: bool = False,
              float32: bool = True) -> GradcheckReport:
    """Compare a Julia function with a PyTorch function on the same inputs (module docstring).

    Args:
        julia: a Julia function name (`"Trebuchet.shoot"`, see `dprl.julia.function`) or a
            callable on tensors, such as a `dprl.julia.function(...)` (or a PyTorch stand-in:
            then its forward mode is PyTorch's).
        torch: a Python callable on tensors with the same signature and outputs.
        inputs: `{name: array}` or a sequence of arrays, finite, non-empty; each is one positional
            argument of both functions (taken as float64).
        mode, core_ndims: passed to `dprl.julia.function` when `julia` is a name.
        tolerances: overrides of `TOLERANCES`, per check a number (rtol) or `{rtol, atol}`, >= 0.
        seed: seeds the cotangents, the random directions and the sample of FD coordinates.
        fd_step: relative central-difference step h (h·max(1, |xᵢ|) on coordinate i), in (0, 0.1].
        max_fd_coordinates: at most this many coordinates get finite differences (None: as many
            as `fd_budget_s` seconds pay for, every coordinate when they all fit, at least 64).
        julia_kwargs, torch_kwargs: keyword arguments for each function.
        directions: random directions for the JVPs, the dot-product test and directional FD.
        second_order: also check Hessian-vector products (and gradgradcheck on PyTorch).
        float32: also run both sides in float32 (default true).

    Returns a `GradcheckReport` (`.passed`, `.rows`, `.table()`, `.to_dict()`). Raises ValueError
    for a bad argument (naming it), when the two functions disagree in the number, shape or dtype
    of their outputs, or when either gives non-finite values or gradients.
    """
    setup = prepare(julia=julia, torch=torch, inputs=inputs, mode=mode, core_ndims=core_ndims, tolerances=tolerances, seed=seed,
                    fd_step=fd_step, max_fd_coordinates=max_fd_coordinates, julia_kwargs=julia_kwargs, torch_kwargs=torch_kwargs,
                    directions=directions, fd_budget_s=fd_budget_s, second_order=second_order, float32=float32)
    return compare(run_sides(setup))


# ----------------------------------------------------------------------------------------------
# Specs for `dprl gradcheck`: TOML or Python, read in two steps so that a bad spec is reported
# before Julia starts (juliacall must load before torch, and a Python spec may import torch)
# ----------------------------------------------------------------------------------------------
def _import(target, key="torch"):
    """`package.module:attribute` (or `package.module.attribute`) -> the object."""
    if not isinstance(target, str):
        raise ValueError(f"{key} must be 'package.module:function'; got {_short(target)}")
    module_name, _, attribute = target.partition(":") if ":" in target else target.rpartition(".")
    if not module_name or not attribute or not all(p.isidentifier() for p in module_name.split(".") + attribute.split(".")):
        raise ValueError(f"{key} must be 'package.module:function'; got {target!r}")
    try:
        obj = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"{key} = {target!r}: cannot import {module_name}: {error}") from None
    for part in attribute.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"{key} = {target!r}: {module_name} has no {attribute!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ValueError(f"{key} = {target!r} is a {type(obj).__name__}, not a function")
    return obj


def read_spec(path, override=None) -> dict:
    """Step 1, before Julia or torch: the file read and, for TOML, every key checked (a Python spec
    is only compiled here). `override(spec)` returns keys that replace the spec's before its inputs
    are drawn (the command line's). Returns a spec to give to `resolve_spec`."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"spec {path} is a directory; give a .toml or .py file")
    if not path.exists():
        raise ValueError(f"spec {path} does not exist")
    if path.suffix not in (".toml", ".py"):
        raise ValueError(f"spec {path} must be a .toml or .py file")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"spec {path} is not UTF-8 text (byte {error.start})") from None
    except OSError as error:
        raise ValueError(f"spec {path} cannot be read: {error.strerror}") from None
    if path.suffix == ".py":
        try:
            code = compile(text, str(path), "exec", flags=ast.PyCF_ONLY_AST)
        except SyntaxError as error:
            raise ValueError(f"spec {path}: syntax error at line {error.lineno}: {error.msg}") from None
        return {"__python__": path, "__code__": code}
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        spec = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"spec {path} is not valid TOML: {error}") from None
    return {**check_spec({**spec, **(override(spec) if override else {})}, path), "__file__": path}


def check_spec(spec: dict, path) -> dict:
    """Every key of a spec checked, each error naming the file and the key; inputs drawn."""
    unknown = set(spec) - SPEC_KEYS
    missing = {"julia", "torch", "inputs"} - set(spec)
    if unknown or missing:
        problem = f"unknown keys {', '.join(sorted(map(str, unknown)))}" if unknown else f"missing {', '.join(sorted(missing))}"
        raise ValueError(f"spec {path}: {problem} (keys: {', '.join(sorted(SPEC_KEYS))})")
    try:
        if not isinstance(spec["julia"], str) and not callable(spec["julia"]):
            raise ValueError(f"julia must be a Julia function name such as 'Trebuchet.shoot'; got {_short(spec['julia'])}")
        if isinstance(spec["torch"], str):
            _import_syntax(spec["torch"])
        elif not callable(spec["torch"]):
            raise ValueError(f"torch must be 'package.module:function' or a function; got {_short(spec['torch'])}")
        if not isinstance(spec["inputs"], (dict, list, tuple)) or not spec["inputs"]:
            raise ValueError(f"inputs must be a table of name = array (or a table uniform/normal and shape); got {_short(spec['inputs'])}")
        if isinstance(spec.get("core_ndims"), list):  # TOML has no None: "whole" passes an argument whole
            spec["core_ndims"] = tuple(None if c == "whole" else c for c in spec["core_ndims"])
        seed = _number(spec.get("seed", 0), "seed", lo=0, hi=2**32 - 1, integer=True)
        if isinstance(spec["inputs"], dict):
            spec["inputs"] = draw_inputs(spec["inputs"], seed)
        # the rest as gradcheck checks them, without resolving the functions
        probe = dict(spec)
        probe.pop("julia"), probe.pop("torch")
        inputs = _inputs(probe.pop("inputs"))
        if "core_ndims" in probe:
            _core_ndims(probe.pop("core_ndims"), len(inputs))
        _check_options(**probe)
    except ValueError as error:
        raise ValueError(f"spec {path}: {error}") from None
    return spec


def _check_options(*, mode="zygote", tolerances=None, seed=0, fd_step=1e-6, max_fd_coordinates=None, julia_kwargs=None, torch_kwargs=None,
                   directions=3, fd_budget_s=10.0, second_order=False, float32=True) -> dict:
    """The options of `gradcheck` checked, as `Setup` takes them (mode is `dprl.julia.function`'s)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    for flag, value in (("second_order", second_order), ("float32", float32)):
        if not isinstance(value, bool):
            raise ValueError(f"{flag} must be true or false; got {value!r}")
    return {
        "tolerances": _tolerances(tolerances),
        "seed": _number(seed, "seed", lo=0, hi=2**32 - 1, integer=True),
        "fd_step": _number(fd_step, "fd_step", lo=0, hi=0.1, open_lo=True),
        "max_fd_coordinates": None if max_fd_coordinates is None else _number(max_fd_coordinates, "max_fd_coordinates", lo=1, integer=True),
        "directions": _number(directions, "directions", lo=1, hi=100, integer=True),
        "fd_budget_s": _number(fd_budget_s, "fd_budget_s", lo=0, hi=86400, open_lo=True),
        "julia_kwargs": _kwargs(julia_kwargs, "julia_kwargs"),
        "torch_kwargs": _kwargs(torch_kwargs, "torch_kwargs"),
        "second_order": second_order,
        "float32": float32,
    }


def _import_syntax(target):
    module_name, _, attribute = target.partition(":") if ":" in target else target.rpartition(".")
    if not module_name or not attribute or not all(p.isidentifier() for p in module_name.split(".") + attribute.split(".")):
        raise ValueError(f"torch must be 'package.module:function'; got {target!r}")


def resolve_spec(spec: dict) -> dict:
    """Step 2 (Julia started if it is needed): a Python spec run, the torch target imported.
    Returns the keyword arguments of `gradcheck`."""
    from dprl import julia as julia_module  # juliacall itself loads only when something starts Julia

    spec = dict(spec)
    if "__python__" in spec:
        path = spec["__python__"]
        try:
            names = runpy.run_path(str(path), run_name="__gradcheck_spec__")
        except SystemExit as error:
            raise ValueError(f"spec {path} called exit({error.code})") from None
        except ImportError as error:
            raise ValueError(f"spec {path}: cannot import {error.name or ''}: {error}") from None
        except julia_module.JuliaUnavailableError:
            raise  # the spec calls Julia and there is none: not the spec's fault (exit 3 on the command line)
        except Exception as error:  # noqa: BLE001  (the spec's own code, which may raise anything)
            raise ValueError(f"spec {path} raised {type(error).__name__}: {_first_line(error)}") from None
        spec = {k: v for k, v in names.items() if k in SPEC_KEYS}
        if getattr(spec.get("torch"), "__module__", None) in ("<run_path>", "__gradcheck_spec__"):
            spec["torch"].__module__ = path.name  # name it after its spec in reports
        spec = check_spec(spec, path)
    elif isinstance(spec["torch"], str):
        path = spec.pop("__file__", "(command line)")
        try:
            spec["torch"] = _import(spec["torch"])
        except ValueError as error:
            raise ValueError(f"spec {path}: {error}") from None
    spec.pop("__file__", None)
    return spec


def load_spec(path) -> dict:
    """The keyword arguments of `gradcheck` from a TOML or Python spec (see docs/gradcheck.md)."""
    return resolve_spec(read_spec(path))


def spec_needs_julia(spec: dict) -> bool:
    """Whether a spec from `read_spec` names a Julia function (a Python spec may: assume it does)."""
    return "__python__" in spec or isinstance(spec.get("julia"), str)


def check_json_path(path) -> Path:
    """A path the report can be written to, checked before the check runs by trying: its folder is
    made, the file is not left behind."""
    path = Path(path).expanduser()
    if str(path) in ("", "."):
        raise ValueError("--json needs a file path")
    if path.is_dir():
        raise ValueError(f"--json {path} is a directory; give a file path")
    if len(path.name.encode()) > 255:
        raise ValueError(f"--json {path.name[:40]}...: a file name longer than 255 bytes")
    existing = path.parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"--json {path}: {existing} is a file, so the folder cannot be made")
    existed = path.exists()
    try:  # the only sure test is to try (permissions, read-only and virtual file systems)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a"):
            pass
    except OSError as error:
        raise ValueError(f"--json {path} cannot be written: {error.strerror}") from None
    if not existed:
        path.unlink()
    return path


def write_json(report: GradcheckReport, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.to_dict(), indent=1, default=_jsonable))
    return path


def _jsonable(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
