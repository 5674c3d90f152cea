"""Julia functions as PyTorch functions: `dprl.julia.function(name)` (issue 16).

`JuliaFunction` is a torch-callable whose forward runs a Julia function and whose backward runs
Zygote's pullback of it, or ForwardDiff's Jacobian for functions written for forward mode
(`mode="forwarddiff"`), through a `torch.autograd.Function`. The Julia half is
`julia/src/bridge.jl` (`DPRL.Bridge`).

Where data is copied:

* Into Julia: none for CPU tensors. Each tensor is detached (no copy) and handed over as a NumPy
  view (`Tensor.numpy()`, no copy), which PythonCall wraps as a `PyArray` over the same memory,
  strides included (so non-contiguous and broadcast tensors cross as they are). A Julia function
  therefore sees a `(B, 3)` tensor as a `B×3` array with the same indices, row-major in memory.
  CUDA tensors are copied to the CPU and their gradients back.
* Out of Julia: none for outputs and gradients that are Julia `Array`s of Float32/Float64 (or Bool,
  Int): `numpy.asarray` of PythonCall's `ArrayValue` is a view of the Julia memory, column-major,
  and `torch.from_numpy` keeps viewing it (the Julia array stays alive as long as the tensor).
  Other Julia arrays (views, ranges, `PyArray`s) are collected into an `Array` first, one copy.
  Batched calls write each sample's output into one `Array` (the stacking is the copy), and
  a Julia scalar comes back as a 0-d `Array` (one number copied), so it keeps its element type
  and the dtype rules below apply to it as to arrays.
* dtype: float32 and float64 tensors are taken as they are, all of one dtype. A Julia function
  with Float64 constants promotes Float32 inputs to Float64; those outputs are cast back to
  float32 (a copy). An output narrower than its inputs (Float32 from float64 tensors) is an error,
  because it would silently lose precision.
* Only dense (strided) tensors with data, passed positionally, cross: a sparse or meta tensor, or a
  tensor in a keyword argument or inside a list, is a ValueError naming the argument (it would
  otherwise reach Julia as a Python object and fail inside the user's function).
* ForwardDiff mode copies each sample's differentiable inputs into one vector of dual numbers;
  that is how ForwardDiff works.
* Because nothing is copied in, a Julia function that mutates an argument (`fill!`,
  `normalize!`) writes into the tensor, behind autograd's back: give it functions that don't.

Batching (`core_ndims`): `None` (the default) hands the whole tensors to one Julia call. An int,
or one entry per argument, says how many trailing dimensions one call of the Julia function
takes; the leading dimensions are the batch, broadcast across the batched arguments, and the
Julia function is called once per sample (`core_ndims=0`: scalars, as `Trebuchet.shoot` takes).
An entry `None` passes that argument whole to every call; its gradient sums over the batch.
With more than one Julia thread the samples run in parallel (each writes its own slot; the sums
over the batch are taken afterwards in batch order, so results match one thread exactly). An
empty batch is a ValueError.

Transforms: the autograd.Function is in the `setup_context` style with a `jvp` from the
ForwardDiff Jacobian, so `torch.func.grad`, `vjp`, `jacrev(f, chunk_size=1)` work in both modes and
`torch.func.jvp` / `torch.autograd.forward_ad` in `mode="forwarddiff"`. `vmap` (and `jacrev` /
`jacfwd`, which vmap) and any second derivative are refused with one RuntimeError.
"""

from __future__ import annotations

import difflib

import numpy as np
import torch

from dprl import julia_session, julia_signals

MODES = ("zygote", "forwarddiff")
FLOAT_DTYPES = (torch.float32, torch.float64)
# Julia exceptions that mean the inputs were wrong, reported as ValueError
INPUT_ERRORS = {"ArgumentError", "DomainError", "DimensionMismatch", "MethodError", "BoundsError", "InexactError"}


def _bridge(name: str):
    return julia_session.start().seval(f"DPRL.Bridge.{name}")


class JuliaFunction:
    """A Julia function, callable on tensors and differentiable by torch.autograd.

    Args:
        name: a Julia function, as `Module.function`: DPRL's names first (`"Trebuchet.shoot"`,
            `"DPRL.Train.aim"`), then any package loaded in the Julia project (`"NNlib.softplus"`),
            then `Main` and `Base` (`"sin"`).
        mode: `"zygote"` (reverse mode, `Zygote.pullback`) or `"forwarddiff"` (the Jacobian by
            ForwardDiff in the forward pass, for functions written for forward mode).
        core_ndims: batching, see the module docstring.
        check_finite: raise ValueError when an output or a gradient is NaN or infinite.

    Calling it with tensors (and any other arguments, passed to Julia as constants; keyword
    arguments become Julia keyword arguments) returns one tensor, or a tuple when the Julia
    function returns a tuple. Float outputs carry gradients to every tensor input.
    """

    def __init__(self, name: str, *, mode: str = "zygote", core_ndims=None, check_finite: bool = True):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
        if not isinstance(name, str) or not name or any(not part.isidentifier() and not part.endswith("!") for part in name.split(".")):
            raise ValueError(f"name must be a dotted Julia name such as 'Trebuchet.shoot'; got {name!r}")
        if core_ndims is not None and not isinstance(core_ndims, (int, tuple, list)):
            raise ValueError(f"core_ndims must be None, an int >= 0 or a tuple of them (or None); got {core_ndims!r}")
        for c in core_ndims if isinstance(core_ndims, (tuple, list)) else [core_ndims]:
            if c is not None and (not isinstance(c, int) or isinstance(c, bool) or c < 0):
                raise ValueError(f"core_ndims entries must be None or an int >= 0; got {c!r}")
        module = julia_session.start()
        found = _bridge("resolve")(name, module.seval("DPRL"))
        if not bool(found.found):
            raise ValueError(_not_found(name, str(found.where), str(found.missing), [str(n) for n in found.names]))
        self.julia_function = found.f
        self.name = str(found.fullname)
        self.mode = mode
        self.core_ndims = tuple(core_ndims) if isinstance(core_ndims, list) else core_ndims
        self.check_finite = check_finite
        self._argnames: dict[int, list[str]] = {}

    def __repr__(self) -> str:
        return f"JuliaFunction({self.name!r}, mode={self.mode!r}, core_ndims={self.core_ndims!r})"

    def argnames(self, n: int) -> list[str]:
        """The Julia method's names for `n` positional arguments (`arg1`, ... when it has none)."""
        if n not in self._argnames:
            self._argnames[n] = [str(a) for a in _bridge("argnames")(self.julia_function, n)]
        return self._argnames[n]

    def signature(self, n: int) -> str:
        return f"{self.name}({', '.join(self.argnames(n))})"

    def __call__(self, *args, **kwargs):
        names = self.argnames(len(args))
        positions = [i for i, a in enumerate(args) if isinstance(a, torch.Tensor)]
        dtypes = {args[i].dtype for i in positions}
        _refuse_hidden_tensors(self, args, kwargs, positions)
        for i in positions:
            if args[i].layout != torch.strided:
                raise ValueError(f"argument {i + 1} ({names[i]}) of {self.signature(len(args))} is a {args[i].layout} tensor; "
                                 "tensors must be dense (torch.strided): use .to_dense()")
            if args[i].is_meta:
                raise ValueError(f"argument {i + 1} ({names[i]}) of {self.signature(len(args))} is on the meta device, which holds no data; "
                                 "give a tensor on the CPU or a GPU")
            if args[i].dtype not in FLOAT_DTYPES:
                raise ValueError(f"argument {i + 1} ({names[i]}) of {self.signature(len(args))} is a {args[i].dtype} tensor; "
                                 "tensors must be float32 or float64 (pass other values as plain Python values)")
        if len(dtypes) > 1:
            described = ", ".join(f"{names[i]}: {args[i].dtype}" for i in positions)
            raise ValueError(f"the tensors given to {self.signature(len(args))} mix dtypes ({described}); make them all float32 or all float64")
        core = self._cores(args, names)
        args, batch = self._broadcast(args, core, names)
        dtype = dtypes.pop() if dtypes else torch.float64
        empty = [names[i] for i in positions if args[i].numel() == 0]
        if empty:
            raise ValueError(f"{self.signature(len(args))} was given empty tensors ({', '.join(empty)}); give at least one sample")
        needs_grad = (torch.is_grad_enabled() and any(args[i].requires_grad for i in positions)) or any(_has_tangent(args[i]) for i in positions)
        call = _Call(self, args, names, core, batch, dtype, kwargs, self.mode if needs_grad else "none")
        outputs = _Bridge.apply(call, *(args[i] for i in positions))
        return outputs if call.istuple else outputs[0]

    def _cores(self, args, names):
        if self.core_ndims is None:
            return None
        if isinstance(self.core_ndims, int):
            core = [self.core_ndims if isinstance(a, torch.Tensor) else None for a in args]
        else:
            if len(self.core_ndims) != len(args):
                raise ValueError(f"core_ndims has {len(self.core_ndims)} entries but {self.signature(len(args))} was given {len(args)} arguments")
            core = list(self.core_ndims)
        for i, (a, c) in enumerate(zip(args, core)):
            if c is None:
                continue
            if not isinstance(a, torch.Tensor):
                raise ValueError(f"argument {i + 1} ({names[i]}) of {self.signature(len(args))} is batched (core_ndims {c}) but is not a tensor")
            if a.ndim < c:
                raise ValueError(f"argument {i + 1} ({names[i]}) of {self.signature(len(args))} has shape {tuple(a.shape)}, "
                                 f"fewer than its {c} core dimensions")
        return core

    def _broadcast(self, args, core, names):
        """Batched tensors expanded (a view, differentiable) to one batch shape."""
        if core is None:
            return list(args), ()
        batched = [i for i, c in enumerate(core) if c is not None]
        shapes = {i: tuple(args[i].shape[: args[i].ndim - core[i]]) for i in batched}
        try:
            batch = tuple(torch.broadcast_shapes(*shapes.values())) if shapes else ()
        except RuntimeError:
            described = ", ".join(f"{names[i]}: {shapes[i]}" for i in batched)
            raise ValueError(f"the batch shapes of the arguments of {self.signature(len(args))} do not broadcast ({described})") from None
        out = list(args)
        for i in batched:
            out[i] = args[i].expand(tuple(batch) + tuple(args[i].shape[args[i].ndim - core[i]:]))
        return out, batch


def _tensors_inside(value, depth=0) -> bool:
    """Whether a list, tuple, set or dict (nested, as PythonCall would convert it) holds a tensor."""
    if isinstance(value, torch.Tensor):
        return True
    if depth > 20:
        return False
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    return isinstance(value, (list, tuple, set, frozenset)) and any(_tensors_inside(v, depth + 1) for v in value)


def _refuse_hidden_tensors(fn: JuliaFunction, args, kwargs, positions):
    """Only positional tensors cross as arrays with gradients; a tensor anywhere else would reach Julia as a
    Python object (a PyIterable) and fail deep inside the user's function, so it is refused here by name."""
    n = len(args)
    for key, value in kwargs.items():
        if _tensors_inside(value):
            raise ValueError(f"keyword argument {key}= of {fn.signature(n)} is or holds a tensor; keyword arguments reach Julia as "
                             "constants: pass tensors positionally, or a plain value (tensor.item(), tensor.tolist())")
    names = fn.argnames(n)
    for i, a in enumerate(args):
        if i not in positions and _tensors_inside(a):
            raise ValueError(f"argument {i + 1} ({names[i]}) of {fn.signature(n)} is a {type(a).__name__} holding tensors; "
                             "pass each tensor as its own argument (or torch.stack them into one)")


def _not_found(name, where, missing, defined) -> str:
    if not missing:
        return f"the Julia name {name!r} is a {defined[0]}, not a function"
    close = difflib.get_close_matches(missing, defined, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    if where == "Main" and name.split(".")[0] == missing:
        return f"no Julia function {name!r}: {missing!r} is not defined in DPRL, a loaded package or Main{hint}"
    return f"no Julia function {name!r}: {where} has no {missing!r}{hint}"


class _Call:
    """One call's settings and, after the forward pass, its Julia state."""

    def __init__(self, fn: JuliaFunction, args, names, core, batch, dtype, kwargs, mode):
        self.fn, self.args, self.names, self.core, self.batch = fn, args, names, core, batch
        self.dtype, self.kwargs, self.mode = dtype, kwargs, mode
        self.positions = [i for i, a in enumerate(args) if isinstance(a, torch.Tensor)]
        self.state = None
        self.istuple = False
        self.scalar_outputs: list[bool] = []
        self.float_outputs: list[bool] = []

    def julia_args(self, tensors):
        args = list(self.args)
        for i, t in zip(self.positions, tensors):
            args[i] = _numpy(t)  # a view of the tensor's memory
        return tuple(args)

    def where(self, index) -> str:
        """' at batch index (i,), where x=…', for error messages ('' without a batch)."""
        if index is None or not self.batch:
            return ""
        index = tuple(int(i) for i in index)
        parts = []
        for i in self.positions:
            if self.core[i] is None:
                continue
            value = self.args[i].detach()[index]
            shown = f"{value.item():.6g}" if value.ndim == 0 else (str(value.tolist()) if value.numel() <= 6 else f"shape {tuple(value.shape)}")
            parts.append(f"{self.names[i]}={shown}")
        return f" at batch index {index}" + (f", where {', '.join(parts)}" if parts else "")

    def raise_julia(self, error, stage):
        module = julia_session.start()
        exception = error.exception
        if bool(module.seval("e -> e isa DPRL.Bridge.SampleError")(exception)):
            kind = str(_bridge("error_kind")(exception))
            message = str(_bridge("error_message")(exception))
            index = _bridge("error_index")(exception)
            index = None if index is None else tuple(int(i) - 1 for i in index)  # Julia counts from 1
            stage = str(_bridge("error_stage")(exception))
        else:
            kind = str(module.seval("e -> string(nameof(typeof(e)))")(exception))
            message = str(module.seval("e -> sprint(showerror, e)")(exception))
            index = None
        # Julia's first paragraph, on one line (MethodError's candidates and backtraces follow a blank line)
        first_line = " ".join(message.strip().split("\n\n")[0].split()) or kind
        first_line = first_line.removeprefix(f"{kind}: ")
        how = "its Zygote pullback" if self.mode == "zygote" else "its ForwardDiff Jacobian"
        what = f"{self.fn.signature(len(self.args))}" + (f" ({how})" if stage == "backward" else "")
        hint = ""
        if "Mutating arrays is not supported" in message:
            hint = "; Zygote cannot differentiate code that mutates arrays: try mode='forwarddiff'"
        text = f"{what} raised {kind}{self.where(index)}: {first_line}{hint}"
        exc = ValueError(text) if kind in INPUT_ERRORS else julia_session.JuliaError(text)
        exc.julia_message = message
        raise julia_session.with_backtrace(exc, error) from None

    def check_finite(self, tensor, label):
        if not self.fn.check_finite or tensor.dtype not in FLOAT_DTYPES:
            return
        bad = ~torch.isfinite(tensor)
        if bool(bad.any()):
            index = tuple(int(i) for i in bad.nonzero()[0])
            value = tensor[index].item()
            batch_index = index[: len(self.batch)] if self.batch else None
            at = self.where(batch_index) if len(index) == len(self.batch) else f" at index {index}{self.where(batch_index)}"
            raise ValueError(f"{self.fn.signature(len(self.args))} gave a non-finite {label} ({value}){at}; "
                             "pass check_finite=False to allow it")


def _to_tensor(value, dtype, call: _Call, label):
    """A Julia output or gradient as a tensor viewing its memory (module docstring)."""
    if isinstance(value, (bool, int, float)):
        kind = torch.bool if isinstance(value, bool) else torch.int64 if isinstance(value, int) else dtype
        return torch.tensor(value, dtype=kind), True
    array = np.asarray(value)
    if array.dtype == object or array.dtype.kind not in "fiub" or array.dtype == np.float16:
        julia_type = str(_bridge("type_name")(value))
        raise ValueError(f"{call.fn.signature(len(call.args))} returned {label} of Julia type {julia_type}; "
                         "it must hold Float32, Float64, Int or Bool")
    tensor = torch.from_numpy(array)
    if tensor.is_floating_point():
        if tensor.dtype == torch.float32 and dtype == torch.float64:
            kind = "a Float32 scalar" if tensor.ndim == 0 else "Float32"
            raise ValueError(f"{call.fn.signature(len(call.args))} returned {label} as {kind} for float64 inputs; "
                             "make the Julia function keep Float64 (precision would be lost)")
        if tensor.dtype != dtype:
            tensor = tensor.to(dtype)  # Julia promoted Float32 inputs: cast back (a copy)
    return tensor, False


NO_VMAP = ("Julia functions do not run under torch.func.vmap (nor jacrev or jacfwd, which vmap): "
           "use torch.func.jacrev(f, chunk_size=1), or batch with core_ndims")


def _numpy(tensor, shape=None) -> np.ndarray:
    """The tensor's data under any torch.func wrappers (grad, jvp) as a NumPy view: what Julia reads."""
    while torch._C._functorch.is_functorch_wrapped_tensor(tensor):
        if torch._C._functorch.is_batchedtensor(tensor):
            raise RuntimeError(NO_VMAP)
        tensor = torch._C._functorch.get_unwrapped(tensor)
    with torch._C._DisableFuncTorch():  # else each op on the unwrapped tensor is wrapped again
        tensor = tensor.detach().cpu().resolve_conj().resolve_neg()
        return (tensor if shape is None else tensor.expand(shape)).numpy()


def _has_tangent(tensor) -> bool:
    """Whether forward-mode AD (torch.autograd.forward_ad, torch.func.jvp/jacfwd) follows `tensor`."""
    import torch.autograd.forward_ad as fwAD

    if torch._C._functorch.is_functorch_wrapped_tensor(tensor):
        return True
    return fwAD.unpack_dual(tensor).tangent is not None


def _grad_transforms() -> int:
    from torch._C._functorch import TransformType
    from torch._functorch.pyfunctorch import retrieve_all_functorch_interpreters

    return sum(i.key() in (TransformType.Grad, TransformType.Jvp) for i in retrieve_all_functorch_interpreters())


def once_only(name: str, inputs, grads):
    """Julia's gradients carry no graph: a second derivative is one clear error, never silent zeros.

    Nested torch.func transforms fail at once. `create_graph=True` (also how torch.func.vjp and
    torch.autograd.functional.hessian run) gets the gradients, tied to the inputs by `_SecondOrder`,
    whose backward raises the error should anything differentiate them."""
    transforms = _grad_transforms()
    if transforms > 1:
        raise RuntimeError(_once_message(name))
    if transforms == 0 and torch.is_grad_enabled() and any(t.requires_grad for t in inputs):
        return _SecondOrder.apply(name, len(grads), *grads, *inputs)
    return grads


def _once_message(name: str) -> str:
    return (f"{name} is differentiable once: Julia functions have no second derivatives in PyTorch "
            "(a hessian, a gradient of a gradient, gradgradcheck)")


class _SecondOrder(torch.autograd.Function):
    @staticmethod
    def forward(name, n, *tensors):
        return tuple(g.clone() for g in tensors[:n])

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.name = inputs[0]

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError(_once_message(ctx.name))


class _Bridge(torch.autograd.Function):
    """In the `setup_context` style, so torch.func's grad, vjp, jvp and jacrev(chunk_size=1) accept it."""

    @staticmethod
    def forward(call: _Call, *tensors):
        import juliacall

        forward = _bridge("forward")
        core = None if call.core is None else tuple(call.core)
        differentiable = tuple(isinstance(a, torch.Tensor) for a in call.args)
        try:
            with julia_signals.interruptible(call.fn.name):  # hook (julia_signals): Ctrl-C stops the call
                state = forward(call.fn.julia_function, call.julia_args(tensors), core, tuple(call.batch), call.mode, differentiable, **call.kwargs)
        except juliacall.JuliaError as error:
            call.raise_julia(error, "forward")
        call.state = state
        call.istuple = bool(state.istuple)
        outputs = []
        for k, value in enumerate(state.outputs):
            tensor, scalar = _to_tensor(value, call.dtype, call, f"output {k + 1}")
            call.scalar_outputs.append(scalar)
            call.float_outputs.append(tensor.is_floating_point())
            call.check_finite(tensor, f"value in output {k + 1}")
            outputs.append(tensor.to(tensors[0].device) if tensors else tensor)
        return tuple(outputs)

    @staticmethod
    def setup_context(ctx, inputs, output):
        call, *tensors = inputs
        ctx.call = call
        ctx.save_for_backward(*tensors)  # so torch's version counter catches in-place edits before backward
        ctx.mark_non_differentiable(*(o for o, f in zip(output, call.float_outputs) if not f))

    @staticmethod
    def vmap(info, in_dims, *args):
        raise RuntimeError(NO_VMAP)

    @staticmethod
    def jvp(ctx, _call_tangent, *tangents):
        """Forward mode from the ForwardDiff Jacobian the forward pass kept (mode='forwarddiff')."""
        import juliacall

        call: _Call = ctx.call
        if call.mode != "forwarddiff":
            raise RuntimeError(f"{call.fn.name}: forward-mode AD (jvp, jacfwd) needs mode='forwarddiff', which keeps the Jacobian; "
                               f"this function was made with mode={call.fn.mode!r}")
        args = list(call.args)
        julia_tangents = [None] * len(args)
        for i, t in zip(call.positions, tangents):
            if t is not None:
                julia_tangents[i] = _numpy(t, args[i].shape)
        try:
            result = _bridge("pushforward")(call.state, tuple(julia_tangents))
        except juliacall.JuliaError as error:
            call.raise_julia(error, "backward")
        out = []
        for k, value in enumerate(result):
            if value is None:
                out.append(None)
                continue
            tensor, _ = _to_tensor(value, call.dtype, call, f"the tangent of output {k + 1}")
            out.append(tensor.reshape(()) if call.scalar_outputs[k] else tensor)
        return tuple(out)

    @staticmethod
    def backward(ctx, *grad_outputs):
        import juliacall

        call: _Call = ctx.call
        tensors = ctx.saved_tensors
        if call.mode == "none":
            raise RuntimeError(f"{call.fn.name} ran without recording a backward pass (no input required grad)")
        cotangents = []
        for g, scalar, is_float in zip(grad_outputs, call.scalar_outputs, call.float_outputs):
            if not is_float or g is None:
                cotangents.append(None)
            elif scalar:
                cotangents.append(float(_numpy(g)))
            else:
                cotangents.append(_numpy(g))
        try:
            with julia_signals.interruptible(call.fn.name):  # hook (julia_signals): Ctrl-C stops the call
                grads = _bridge("backward")(call.state, tuple(cotangents))
        except juliacall.JuliaError as error:
            call.raise_julia(error, "backward")
        out = []
        for i, t in zip(call.positions, tensors):
            g = grads[i]
            if g is None:
                out.append(torch.zeros_like(t))
                continue
            tensor, _ = _to_tensor(g, t.dtype, call, f"the gradient for argument {i + 1} ({call.names[i]})")
            call.check_finite(tensor, f"gradient for argument {i + 1} ({call.names[i]})")
            out.append(tensor.to(t.device).reshape(t.shape))
        return (None, *once_only(call.fn.name, tensors, tuple(out)))
