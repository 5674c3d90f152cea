"""The juliacall bridge to the DPRL Julia package (`julia/`), started lazily.

Julia starts on the first call of `start()` (every function here calls it), never at
`import dprl`. Two ways to provide Julia:

* juliapkg (the default): it reads `dprl/juliapkg.json`, finds Julia (`PYTHON_JULIAPKG_EXE`,
  `julia` on PATH, juliaup, or its own install; it downloads one only when none is found and
  `PYTHON_JULIAPKG_OFFLINE` is unset) and `Pkg.develop`s DPRL with Flux, Zygote and the rest.
* a prepared project: `PYTHON_JULIACALL_EXE` and `PYTHON_JULIACALL_PROJECT` name a Julia and a
  project that already holds DPRL and PythonCall; juliacall then skips juliapkg. This module never
  calls Pkg in either mode.

Arrays cross as NumPy float64 and come back as NumPy arrays and plain Python values.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from dprl import julia_signals

# dprl.julia is the public face of these (dprl.julia.start(), dprl.julia.JuliaUnavailableError, ...)
from dprl.julia_session import (  # noqa: F401
    JuliaError,
    JuliaForkError,
    check_process,
    is_started,
    julia_error_text,
    seval,
    start,
    with_backtrace,
)
from dprl.julia_startup import (  # noqa: F401
    HOW_TO_PROVIDE,
    JuliaUnavailableError,
    downloads_allowed,
    locate_julia,
    prepared_project,
)

JULIA_SOURCES = Path(__file__).resolve().parent / "julia_src"

_functions: dict = {}  # DPRL functions by name, once looked up


def _call(name: str, *args, **kwargs):
    """Call DPRL.<name>, turning Julia's exceptions into Python ones with Julia's message."""
    module = start()
    import juliacall

    function = _functions.get(name)
    if function is None:  # looked up once: seval parses its string on every call
        function = _functions[name] = module.seval(f"DPRL.{name}")
    try:
        with julia_signals.interruptible(f"DPRL.{name}"):  # hook (julia_signals): Ctrl-C stops the call
            return function(*args, **kwargs)
    except juliacall.JuliaError as error:
        exception = error.exception
        kind = str(module.seval("e -> string(nameof(typeof(e)))")(exception))
        message = str(module.seval("e -> sprint(showerror, e)")(exception))
        if kind in {"ArgumentError", "DomainError"}:
            raise with_backtrace(ValueError(message), error) from None
        raise with_backtrace(JuliaError(f"{kind}: {message}"), error) from None


def _array(value) -> np.ndarray:
    return np.array(value, dtype=np.float64)


def _float64(x) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(x, dtype=np.float64))


# ----------------------------------------------------------------------------------------------
# Trebuchet
# ----------------------------------------------------------------------------------------------
def shoot(wind: float, angle_deg: float, weight_lb: float) -> float:
    """Landing distance (m) from the Julia trebuchet."""
    return float(_call("Trebuchet.shoot", float(wind), float(angle_deg), float(weight_lb)))


def shoot_gradient(wind: float, angle_deg: float, weight_lb: float) -> tuple[float, np.ndarray]:
    """(distance, ∂distance/∂(wind, angle_deg, weight_lb)) from ForwardDiff in Julia."""
    distance, gradient = _call("Trebuchet.shoot_gradient", float(wind), float(angle_deg), float(weight_lb))
    return float(distance), _array(gradient)


def launch(wind: float, angle_deg: float, weight_lb: float) -> dict:
    """Distance, status and event times of one throw from the Julia trebuchet."""
    result = _call("Trebuchet.launch_dict", float(wind), float(angle_deg), float(weight_lb))
    return {str(key): (int(value) if key == "status" else float(value)) for key, value in result.items()}


# ----------------------------------------------------------------------------------------------
# Environments: one step, (state, action) -> (state, reward, done)
# ----------------------------------------------------------------------------------------------
def cartpole_step(state, action: float):
    state2, reward, done = _call("CartPole.step", _float64(state), float(action))
    return _array(state2), float(reward), bool(done)


def pendulum_step(state, action: float, *, variant: str = "gymnasium"):
    state2, reward, done = _call("Pendulum.step", _float64(state), float(action), variant=variant)
    return _array(state2), float(reward), bool(done)


# ----------------------------------------------------------------------------------------------
# Trainers. Weights are lists of (weight out×in, bias) pairs in nn.Linear's layout.
# ----------------------------------------------------------------------------------------------
def _layers(weights):
    # A tuple of (weight, bias) tuples reaches Julia as a Tuple of PyArray pairs.
    return tuple((_float64(w), _float64(b)) for w, b in weights)


def _training_result(result) -> dict:
    out = {}
    for key, value in result.items():
        key = str(key)
        if key == "weights":
            out[key] = [(_array(w), _array(b)) for w, b in value]
        elif isinstance(value, str):  # "diverged": the update that stopped the run
            out[key] = value
        else:
            out[key] = _array(value)
    return out


def _episode_callback(on_episode):
    """`on_episode(result)` (None: none) as the Julia trainers' callback: it gets the result so far
    as `_training_result`'s dict and returns True to stop training there."""
    if on_episode is None:
        return None
    return _julia_callback(lambda result: bool(on_episode(_training_result(result))))


def _julia_callback(function):
    """A Python callable as a Julia function whose result Julia reads as a Bool (PythonCall hands
    Julia a `Py` otherwise)."""
    module = start()
    function = julia_signals.from_julia(function)  # hook (julia_signals): Ctrl-C in the callback is Python's
    global _bool_callback
    if _bool_callback is None:
        module.seval("import PythonCall")
        _bool_callback = module.seval("f -> (args...) -> PythonCall.pyconvert(Bool, f(args...))")
    return _bool_callback(function)


_bool_callback = None


def _config(kind, config, settings: dict):
    """`config` (None: `kind()`, the defaults) with `settings` replaced, as the NamedTuple that
    `DPRL.Config.<kind>` makes of its fields (None crosses as `nothing`, math.inf as `Inf`)."""
    from dprl import config as configs

    if config is not None and not isinstance(config, kind):
        raise ValueError(f"config must be a dprl.config.{kind.__name__} or None; got {type(config).__name__}")
    config = configs.with_settings(kind() if config is None else config, settings)
    return _call(f"Config.{kind.__name__}", **dataclasses.asdict(config))


def train_aimer(weights, winds, targets, config=None, *, on_evaluation=None, **settings) -> dict:
    """The Adam aimer trainer (the 2019 one; the Levenberg-Marquardt aimer is Python's only), with
    the settings of `config` (a `dprl.config.AimerConfig`; None: the defaults) and `settings`
    replacing its fields.

    When `on_evaluation` is given, Julia calls `on_evaluation(update, weights)` (weights as NumPy
    (weight, bias) pairs) at update 0, every `evaluate_every` updates, after the last and when out
    of time; it returns True to stop training there."""
    from dprl.config import AimerConfig

    callback = None
    if on_evaluation is not None:
        callback = _julia_callback(lambda update, layers: bool(on_evaluation(int(update), [(_array(w), _array(b)) for w, b in layers])))
    result = _call("Train.train_aimer", _layers(weights), _float64(winds), _float64(targets), _config(AimerConfig, config, settings),
                   on_evaluation=callback)
    return _training_result(result)


# The three below return a dict of NumPy arrays: per-update "losses"; per-evaluation "scores",
# "episodes", "env_steps" and "wall_time" (seconds since training began, measured in Julia); the
# final "weights"; and "diverged", the message naming the update, where a loss or weight turned
# non-finite. `on_episode(result)`, where given, gets that dict after each episode (round; APG:
# evaluation) and returns True to stop training there.
def train_cartpole(weights, initial_states, evaluation_states, config=None, *, on_episode=None, **settings) -> dict:
    """Rows of `initial_states` (E, 4) start training episodes; rows of `evaluation_states` (N, 4)
    start the evaluation episodes after each. Settings of `config` (a `dprl.config.CartPoleConfig`;
    None: the defaults), `settings` replacing its fields. Also returns the "episode_lengths"."""
    from dprl.config import CartPoleConfig

    result = _call("Train.train_cartpole", _layers(weights), _float64(initial_states), _float64(evaluation_states),
                   _config(CartPoleConfig, config, settings), on_episode=_episode_callback(on_episode))
    return _training_result(result)


def train_pendulum(weights, initial_states, evaluation_states, config=None, *, on_episode=None, **settings) -> dict:
    """Pendulum by BPTT windows, with the settings of `config` (a `dprl.config.PendulumConfig`;
    None: the defaults) and `settings` replacing its fields; those left as None (window,
    learning_rate, loss, max_grad_norm) come from the variant's preset."""
    from dprl.config import PendulumConfig

    result = _call("Train.train_pendulum", _layers(weights), _float64(initial_states), _float64(evaluation_states),
                   _config(PendulumConfig, config, settings), on_episode=_episode_callback(on_episode))
    return _training_result(result)


def train_pendulum_apg(weights, batches, evaluation_states, config=None, *, on_episode=None, **settings) -> dict:
    """Pendulum-v1 by analytic policy gradient: one update per slice of `batches` (U, B, 2), with the
    settings of `config` (a `dprl.config.APGConfig`; None: the defaults) and `settings` replacing its fields."""
    from dprl.config import APGConfig

    result = _call("Train.train_pendulum_apg", _layers(weights), _float64(batches), _float64(evaluation_states),
                   _config(APGConfig, config, settings), on_episode=_episode_callback(on_episode))
    return _training_result(result)


def info() -> dict:
    """What `dprl julia-info` reports: where Julia is, and whether DPRL loads."""
    report = {
        "julia_executable": locate_julia(),
        "mode": "prepared project (PYTHON_JULIACALL_EXE/PROJECT)" if prepared_project() else "juliapkg",
        "dprl_julia_sources": str(JULIA_SOURCES),
        "downloads_allowed": downloads_allowed(),
    }
    try:
        module = start()
    except JuliaUnavailableError as error:
        report.update(loaded=False, error=str(error))
        return report
    report.update(
        loaded=True,
        julia_version=str(module.seval("string(VERSION)")),
        dprl_path=str(module.seval("pathof(DPRL)")),
        versions=str(module.seval("DPRL.versions()")),
    )
    return report


# ----------------------------------------------------------------------------------------------
# Window gradients, for the cross-checks
# ----------------------------------------------------------------------------------------------
def _gradient_result(result) -> dict:
    return {
        "loss": float(result["loss"]),
        "weights": [(_array(w), _array(b)) for w, b in result["weights"]],
        "state": _array(result["state"]),
    }


def cartpole_window_gradient(weights, state, n: int) -> dict:
    """The CartPole window loss and its gradients (weights, start state) from Zygote."""
    return _gradient_result(_call("Train.cartpole_window_gradient", _layers(weights), _float64(state), n))


def pendulum_window_gradient(weights, states, n: int, *, variant="gymnasium", loss="cost") -> dict:
    """The Pendulum window loss over start states (B, 2) and its gradients from Zygote."""
    return _gradient_result(_call("Train.pendulum_window_gradient", _layers(weights), _float64(states), n, variant=variant, loss=loss))


# ----------------------------------------------------------------------------------------------
# Julia functions inside PyTorch (dprl.julia_function, julia/src/bridge.jl)
# ----------------------------------------------------------------------------------------------
def function(name: str, *, mode: str = "zygote", core_ndims=None, check_finite: bool = True):
    """A Julia function as a torch-callable with a torch.autograd backward (Zygote or ForwardDiff).

    `name` is `Module.function` (DPRL's by default: "Trebuchet.shoot"); see
    `dprl.julia_function.JuliaFunction` for the modes, batching (`core_ndims`) and where data is
    copied. Starts Julia (before torch is imported here) and resolves the name at once, so an
    unknown name fails now with a ValueError."""
    start()
    from dprl.julia_function import JuliaFunction

    return JuliaFunction(name, mode=mode, core_ndims=core_ndims, check_finite=check_finite)


def module(model):
    """A Julia model (a Functors model: a Flux Chain, Dense or Flux.@layer struct, as a juliacall
    handle or Julia source evaluated in Main) as a torch.nn.Module whose parameters are the model's
    own arrays; see `dprl.julia_module.JuliaModule`."""
    start()
    from dprl.julia_module import JuliaModule

    return JuliaModule(model)


# ----------------------------------------------------------------------------------------------
# The user's own Julia code: evaluated into Main, where function(name) and module(...) find it
# ----------------------------------------------------------------------------------------------
def include(path) -> object:
    """Run a Julia source file in `Main` (Julia's `include`), returning its last value."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path must be a Julia source file; {str(path)!r} " + ("is a directory" if path.is_dir() else "does not exist"))
    start()
    import juliacall

    try:
        return juliacall.Main.include(str(path.resolve()))
    except juliacall.JuliaError as error:
        raise with_backtrace(JuliaError(f"{path}: {julia_error_text(error)}"), error) from None


# ----------------------------------------------------------------------------------------------
# Batched calls: one juliacall crossing per batch (DPRL.Batched), spread over Julia's threads
# when Julia was started with PYTHON_JULIACALL_THREADS > 1 (then also set
# PYTHON_JULIACALL_HANDLE_SIGNALS=yes). Inputs broadcast together like PyTorch's; outputs are
# NumPy arrays of the batch's shape.
# ----------------------------------------------------------------------------------------------
LAUNCH_FIELDS = ("distance", "status", "liftoff_time", "release_time", "landing_time", "release_speed")


def _throw_rows(wind, angle_deg, weight_lb) -> tuple[np.ndarray, tuple]:
    columns = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in (wind, angle_deg, weight_lb)))
    return np.ascontiguousarray(np.stack([c.reshape(-1) for c in columns], axis=1)), columns[0].shape


def threads() -> int:
    """The number of Julia threads a batch is spread over."""
    return int(_call("Batched.threads"))


def empty_call() -> None:
    """A DPRL call that does nothing: the bridge's fixed cost per crossing."""
    _call("Batched.empty")


def launch_batch(wind, angle_deg, weight_lb) -> dict:
    """`launch` of every throw of a batch in one call: a dict of arrays of the batch's shape
    (distance, status, liftoff_time, release_time, landing_time, release_speed)."""
    rows, shape = _throw_rows(wind, angle_deg, weight_lb)
    result = _call("Batched.launch", rows)
    return {key: np.array(value, dtype=np.int64 if key == "status" else np.float64).reshape(shape)
            for key, value in zip(LAUNCH_FIELDS, result)}


def shoot_gradient_batch(wind, angle_deg, weight_lb) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(distance, gradient, status) of every throw of a batch in one call, the gradient with
    respect to (wind, angle_deg, weight_lb) in a last axis of 3. Throws that do not land are not
    an error here: they have their status, and a NaN gradient (and distance, if they never land)."""
    rows, shape = _throw_rows(wind, angle_deg, weight_lb)
    distance, status, gradient = _call("Batched.launch_gradient", rows)
    return _array(distance).reshape(shape), _array(gradient).reshape(*shape, 3), np.array(status, dtype=np.int64).reshape(shape)


def cartpole_step_batch(states, actions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CartPole steps of states (N, 4) under actions (N,) in one call: (states, rewards, dones)."""
    nxt, rewards, dones = _call("Batched.cartpole_step", _float64(states), _float64(actions))
    return _array(nxt), _array(rewards), np.array(dones, dtype=bool)


def pendulum_step_batch(states, actions, *, variant: str = "gymnasium") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pendulum steps of states (N, 2) under torques (N,) in one call: (states, rewards, dones)."""
    nxt, rewards, dones = _call("Batched.pendulum_step", _float64(states), _float64(actions), variant=variant)
    return _array(nxt), _array(rewards), np.array(dones, dtype=bool)
