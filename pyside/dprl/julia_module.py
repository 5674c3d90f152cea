"""Julia models with their weights inside PyTorch: `dprl.julia.module(model)` (issue 24).

`JuliaModule` is a `torch.nn.Module` around a Functors model in Julia (a Flux `Chain`, `Dense`,
a `Flux.@layer` struct). Its parameters are the model's trainable arrays, named by their key
path (`layers.1.weight`), and its forward pass runs the model in Julia with Zygote's pullback
(to the input and every parameter) as the backward. The Julia half is `julia/src/modules.jl`
(`DPRL.Modules`).

Where data is copied:

* Parameters: never. Each `nn.Parameter` views the memory of its Julia `Array` (PythonCall's
  `ArrayValue` through `numpy.asarray`, then `torch.from_numpy`). A Julia `(out, in)` matrix is
  an `(out, in)` tensor, column-major in memory, so a `Dense` weight has `nn.Linear`'s layout. A
  torch optimizer's in-place step, `load_state_dict` and `torch.no_grad()` edits are the Julia
  model's new weights at once. A matrix's `.grad` is made contiguous after each backward (one copy
  of the gradient), which LBFGS needs. Replacing a parameter's `.data` with another tensor copies it into
  the Julia array on the next call and points the parameter back at Julia's memory.
* Input: one copy per call, into a features × batch Julia `Array` (so BLAS runs on it); a
  `(B, features)` tensor is already that layout in memory, so the copy is a plain memcpy's worth.
* Output and gradients: none; they are Julia `Array`s viewed through `numpy.asarray`; the output
  `(features, B)` in Julia is a `(B, features)` tensor here. The output cotangent is copied into a
  Julia `Array` in the backward pass.
* dtype: the model's element type (Float32 or Float64) is the module's dtype; inputs of the other
  dtype, and `.double()`/`.float()`/`.to(dtype)`, are ValueErrors rather than silent casts.
  `.to("cuda")` is refused: the weights live in Julia's CPU memory.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from dprl import julia_session, julia_signals

DTYPES = {"Float32": torch.float32, "Float64": torch.float64}
# Julia exceptions that mean the input did not fit the model, reported as ValueError
INPUT_ERRORS = {"ArgumentError", "DimensionMismatch", "MethodError", "BoundsError", "InexactError", "DomainError"}


def _modules(name: str):
    return julia_session.start().seval(f"DPRL.Modules.{name}")


def _view(array) -> torch.Tensor:
    """A tensor over the memory of a Julia Array (no copy)."""
    return torch.from_numpy(np.asarray(array))


class _Holder(nn.Module):
    """A level of the key path (`layers`, `layers.1`), so parameter names read `layers.1.weight`."""


class JuliaModule(nn.Module):
    """A Julia model as a `torch.nn.Module`; see the module docstring.

    Args:
        model: a juliacall handle to the model, or Julia source evaluated in `Main` that gives one
            (`"using Flux; Chain(Dense(2 => 8, tanh), Dense(8 => 1))"`).

    Calling it with a `(B, features)` tensor (or one sample, `(features,)`) of the model's dtype
    returns `(B, outputs)` (or `(outputs,)`).
    """

    def __init__(self, model):
        super().__init__()
        module = julia_session.start()
        if isinstance(model, str):
            model = julia_session.seval(model)
        elif type(model).__module__.split(".")[0] != "juliacall":
            raise ValueError(f"model must be a Julia model (a juliacall value such as a Flux Chain) or Julia source that "
                             f"evaluates to one; got a Python {type(model).__name__}")
        import juliacall

        self._describe = str(_modules("describe")(model))
        try:
            found = _modules("parameters")(model)
        except juliacall.JuliaError as error:
            raise ValueError(julia_session.julia_error_text(error)) from None
        self.julia_model = model
        self.dtype = DTYPES[str(found.eltype)]
        self._paths = found.paths
        self._arrays = found.arrays
        self._views = [_view(a) for a in found.arrays]
        width = _modules("input_width")(model)
        self.input_width = None if width is None else int(width)
        for name, view in zip(found.names, self._views):
            *path, leaf = str(name).split(".")
            owner = self
            for part in path:
                if part not in owner._modules:
                    owner.add_module(part, _Holder())
                owner = owner._modules[part]
            parameter = nn.Parameter(view)
            if not view.is_contiguous():
                parameter.register_post_accumulate_grad_hook(_contiguous_grad)
            try:
                owner.register_parameter(leaf, parameter)
            except (KeyError, TypeError) as error:
                raise ValueError(f"model {self._describe}: parameter {name} cannot be a PyTorch parameter name ({error})") from None
        self._names = [str(n) for n in found.names]
        self._forward = _modules("forward")
        self._backward = _modules("backward")
        _modules("set_training!")(model, True)  # PyTorch modules start in training mode; Flux's default (:auto) would not

    def extra_repr(self) -> str:
        return f"{self._describe}, dtype={self.dtype}"

    def _parameters_in_order(self) -> list[nn.Parameter]:
        named = dict(self.named_parameters())
        return [named[n] for n in self._names]

    def _sync(self, params):
        """Point any parameter whose `.data` was replaced back at Julia's memory, keeping its values."""
        for p, view in zip(params, self._views):
            if p.data_ptr() != view.data_ptr() or p.shape != view.shape or p.stride() != view.stride():
                if p.shape != view.shape or p.dtype != view.dtype or p.device.type != "cpu":
                    raise ValueError(f"a parameter of {self._describe} was replaced by a {p.dtype} tensor of shape {tuple(p.shape)} "
                                     f"on {p.device}; it must stay {view.dtype}, {tuple(view.shape)}, on the CPU")
                with torch.no_grad():
                    view.copy_(p.data)
                p.data = view

    def forward(self, x):
        julia_session.check_process()
        if not isinstance(x, torch.Tensor):
            raise ValueError(f"the input x of {self._describe} must be a tensor; got {type(x).__name__}")
        if x.dtype != self.dtype:
            raise ValueError(f"the input x of {self._describe} is {x.dtype} but the model's arrays are {self.dtype}; "
                             f"convert the input (x.to({self.dtype})) or the model in Julia (Flux.f32 / Flux.f64)")
        if x.device.type != "cpu":
            raise ValueError(f"the input x of {self._describe} is on {x.device}; the model runs in Julia on the CPU")
        if x.ndim not in (1, 2) or (self.input_width is not None and x.shape[-1] != self.input_width):
            width = "features" if self.input_width is None else str(self.input_width)
            raise ValueError(f"the input x of {self._describe} has shape {tuple(x.shape)}; it must be (batch, {width}) or ({width},)")
        params = self._parameters_in_order()
        self._sync(params)
        record = torch.is_grad_enabled() and (x.requires_grad or any(p.requires_grad for p in params))
        y = _ModelCall.apply(self, record, x if x.ndim == 2 else x[None, :], *params)
        return y if x.ndim == 2 else y[0]

    def to_julia(self):
        """The Julia model with the current weights (a copy: later training leaves it alone)."""
        self._sync(self._parameters_in_order())
        return _modules("snapshot")(self.julia_model)

    def train(self, mode: bool = True):
        super().train(mode)
        _modules("set_training!")(self.julia_model, bool(mode))
        return self

    def to(self, *args, **kwargs):
        device, dtype, *_ = torch._C._nn._parse_to(*args, **kwargs)
        self._check_move(device, dtype)
        return self

    def _check_move(self, device, dtype):
        if device is not None and torch.device(device).type != "cpu":
            raise ValueError(f"{self._describe} cannot move to {device}: its weights live in Julia's CPU memory "
                             "(use Flux's gpu in Julia for a GPU model)")
        if dtype is not None and dtype != self.dtype:
            raise ValueError(f"{self._describe} cannot change dtype to {dtype}: its arrays are {self.dtype} in Julia "
                             "(convert the model in Julia with Flux.f32 / Flux.f64 and wrap it again)")

    def _apply(self, fn, recurse=True):
        # nn.Sequential.to / .cuda / .double reach here: try the conversion on a probe first
        probe = torch.zeros((), dtype=self.dtype)
        try:
            moved = fn(probe)
        except Exception as error:  # noqa: BLE001 - e.g. "Torch not compiled with CUDA enabled"
            raise ValueError(f"{self._describe} cannot be converted ({error}); its weights live in Julia's CPU memory") from None
        self._check_move(moved.device, moved.dtype)
        return self


def _contiguous_grad(parameter):
    """Autograd gives a column-major parameter a column-major `.grad`; LBFGS (and other code that
    flattens gradients with `.view(-1)`) needs a contiguous one, so the gradient is copied once."""
    if parameter.grad is not None and not parameter.grad.is_contiguous():
        parameter.grad = parameter.grad.contiguous()


class _ModelCall(torch.autograd.Function):
    @staticmethod
    def forward(ctx, module: JuliaModule, record: bool, x, *params):
        import juliacall

        try:
            with julia_signals.interruptible(f"model {module._describe}"):  # Ctrl-C stops the call
                result = module._forward(module.julia_model, x.detach().T.numpy(), record)
        except juliacall.JuliaError as error:
            _raise(module, error, "forward", x)
        y = _view(result.output)
        if y.dtype != module.dtype:
            raise ValueError(f"{module._describe} returned {y.dtype} for {module.dtype} arrays; it must keep the model's element type")
        ctx.module, ctx.back, ctx.x_shape = module, result.back if record else None, x.shape
        ctx.save_for_backward(x, *params)
        return y.T

    @staticmethod
    def backward(ctx, grad):
        import juliacall

        from dprl.julia_function import once_only

        julia_session.check_process()
        module: JuliaModule = ctx.module
        if ctx.back is None:
            raise RuntimeError(f"{module._describe} ran without recording a backward pass")
        try:
            with julia_signals.interruptible(f"model {module._describe}"):  # Ctrl-C stops the call
                result = module._backward(ctx.back, module._paths, module._arrays, grad.detach().contiguous().T.numpy())
        except juliacall.JuliaError as error:
            _raise(module, error, "backward", None)
        gx = torch.zeros(ctx.x_shape, dtype=module.dtype) if result.input is None else _view(result.input).T
        return (None, None, *once_only(f"model {module._describe}", ctx.saved_tensors, (gx, *(_view(g) for g in result.params))))


def _raise(module: JuliaModule, error, stage: str, x):
    text = julia_session.julia_error_text(error)
    kind = text.split(":", 1)[0]
    shape = "" if x is None else f" for an input of shape {tuple(x.shape)}"
    where = "" if stage == "forward" else " (its Zygote pullback)"
    message = f"model {module._describe}{where} raised {text}{shape}"
    exc = ValueError(message) if kind in INPUT_ERRORS else julia_session.JuliaError(message)
    raise julia_session.with_backtrace(exc, error) from None
