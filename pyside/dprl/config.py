"""Every trainer's settings: one dataclass a trainer, with a docstring per field, and the presets.

Twin of ``julia/src/config.jl``: the same names, fields and defaults in the same order. In Julia a
config is the immutable ``Base.@kwdef`` struct of the same name (``AimerConfig(batch_size = 64)``),
its checks in the inner constructor; the bridge (``dprl.julia``) passes a dataclass across as that
struct, and the command
line builds its training flags from these fields and their docstrings
(``dprl.arguments.add_config_flags``). Both sides check the ranges when a config is made.

Conventions shared by both stacks: ``None`` (Julia ``nothing``) means unset, i.e. the preset's
value or no limit; ``math.inf`` (Julia ``Inf``) as ``max_grad_norm`` means no clipping.

Imports neither torch nor Julia, so the command line can read it before Julia starts.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass


def _check(name: str, value, ok: bool, rule: str):
    if not ok:
        raise ValueError(f"{name} must be {rule}; got {value!r}")


def _check_positive(name: str, value, *, infinite: bool = False):
    """A number above 0 (finite unless `infinite`)."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    finite = number and (math.isfinite(value) or (infinite and value == math.inf))
    _check(name, value, finite and value > 0, "a number above 0" + (" (math.inf: none)" if infinite else ", finite"))


def _check_count(name: str, value, low: int = 1):
    _check(name, value, isinstance(value, int) and not isinstance(value, bool) and value >= low, f"a whole number ≥ {low}")


# ----------------------------------------------------------------------------------------------
# Trebuchet aimer
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AimerConfig:
    """Settings of `train_aimer`: Adam on the squared miss, backpropagated through the simulator."""

    learning_rate: float = 1e-3
    """Adam's step size (the 2019 setting: 1e-3)."""
    batch_size: int = 1
    """shots per update (the 2019 setting: 1)."""
    scaled: bool = False
    """feed the network (wind/5, (target − 60)/40) and read the counterweight as 200 + 100·o₂ lb,
    instead of the raw inputs and o₂ + 200 lb."""
    max_updates: int | None = None
    """stop after this many updates (None: one pass over the shots)."""
    time_budget: float | None = None
    """stop after this many seconds of training (None: no limit)."""
    evaluate_every: int = 100
    """updates between evaluations on the evaluation shots."""

    def __post_init__(self):
        _check_positive("learning_rate", self.learning_rate)
        _check_count("batch_size", self.batch_size)
        _check("scaled", self.scaled, isinstance(self.scaled, bool), "True or False")
        if self.max_updates is not None:
            _check_count("max_updates", self.max_updates)
        if self.time_budget is not None:
            _check_positive("time_budget", self.time_budget)
        _check_count("evaluate_every", self.evaluate_every)


# ----------------------------------------------------------------------------------------------
# CartPole
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CartPoleConfig:
    """Settings of `train_cartpole`: Adam on the margin loss of short BPTT windows."""

    learning_rate: float = 0.03
    """Adam's step size (the 2019 setting)."""
    window: int = 8
    """steps backpropagated through per update (the 2019 setting)."""
    max_steps: int = 500
    """steps before an episode is cut off (CartPole-v1: 500; v0: 200)."""
    solved_score: float = 475.0
    """stop once the evaluation mean reaches this (CartPole-v1: 475; v0: 195)."""

    def __post_init__(self):
        _check_positive("learning_rate", self.learning_rate)
        _check_count("window", self.window)
        _check_count("max_steps", self.max_steps)
        _check("solved_score", self.solved_score, isinstance(self.solved_score, (int, float)) and not math.isnan(self.solved_score),
               "a number")


# ----------------------------------------------------------------------------------------------
# Pendulum by BPTT (the 2019 trainer)
# ----------------------------------------------------------------------------------------------
# `gymjl2019`: the blog's setup. `gymnasium`: what learns with the torque bounded to ±2 N·m (the
# sweep in comparisons/bench_pendulum.py's notes). `batch` is the parallel episodes a round of the
# seeded runs.
PENDULUM_PRESETS = {
    "gymjl2019": {"window": 4, "learning_rate": 0.03, "loss": "cost2", "max_grad_norm": math.inf, "batch": 1},
    "gymnasium": {"window": 20, "learning_rate": 0.003, "loss": "cost", "max_grad_norm": 1.0, "batch": 64},
}
PENDULUM_LOSSES = ("cost2", "cost")


@dataclass(frozen=True)
class PendulumConfig:
    """Settings of `train_pendulum`: Adam on the cost of BPTT windows along each episode. A setting
    left as None comes from PENDULUM_PRESETS[variant] (`resolve_preset`)."""

    variant: str = "gymnasium"
    """gymnasium = Pendulum-v1, torque bounded to ±2 N·m; gymjl2019 = the blog's unclamped torque."""
    window: int | None = None
    """steps backpropagated through per update (preset: gymnasium 20, gymjl2019 4)."""
    learning_rate: float | None = None
    """Adam's step size (preset: gymnasium 3e-3, gymjl2019 0.03)."""
    loss: str | None = None
    """per-step loss, cost (the negative reward) or cost2 (the reward squared) (preset: gymnasium cost, gymjl2019 cost2)."""
    max_grad_norm: float | None = None
    """global gradient-norm clip, inf for none (preset: gymnasium 1, gymjl2019 inf)."""
    steps: int = 200
    """steps an episode (Gymnasium's time limit)."""

    def __post_init__(self):
        _check("variant", self.variant, self.variant in PENDULUM_PRESETS, f"one of {tuple(PENDULUM_PRESETS)}")
        if self.window is not None:
            _check_count("window", self.window)
        if self.learning_rate is not None:
            _check_positive("learning_rate", self.learning_rate)
        if self.loss is not None:
            _check("loss", self.loss, self.loss in PENDULUM_LOSSES, f"one of {PENDULUM_LOSSES}")
        if self.max_grad_norm is not None:
            _check_positive("max_grad_norm", self.max_grad_norm, infinite=True)
        _check_count("steps", self.steps)


def resolve_preset(config: PendulumConfig) -> PendulumConfig:
    """`config` with every setting left as None taken from its variant's preset."""
    preset = PENDULUM_PRESETS[config.variant]
    return dataclasses.replace(config, **{k: preset[k] for k in ("window", "learning_rate", "loss", "max_grad_norm")
                                          if getattr(config, k) is None})


# ----------------------------------------------------------------------------------------------
# Pendulum-v1 by analytic policy gradient
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class APGConfig:
    """Settings of `train_pendulum_apg`: Adam on the cost of whole episodes from fresh start states,
    the gradient through each step's state decayed."""

    horizon: int = 200
    """steps an episode, all backpropagated through."""
    learning_rate: float = 0.01
    """Adam's step size."""
    max_grad_norm: float = 1.0
    """global gradient-norm clip, inf for none."""
    gradient_decay: float = 0.985
    """factor on the gradient flowing back through each step's state, in (0, 1]."""
    evaluate_every: int = 10
    """updates between evaluations."""

    def __post_init__(self):
        _check_count("horizon", self.horizon)
        _check_positive("learning_rate", self.learning_rate)
        _check_positive("max_grad_norm", self.max_grad_norm, infinite=True)
        _check("gradient_decay", self.gradient_decay,
               isinstance(self.gradient_decay, (int, float)) and 0 < self.gradient_decay <= 1, "in (0, 1]")
        _check_count("evaluate_every", self.evaluate_every)


# ----------------------------------------------------------------------------------------------
# PyTorch only: the Levenberg–Marquardt aimer has no Julia twin
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LevenbergMarquardtConfig:
    """Settings of `dprl.train.trebuchet_lm.train_aimer_lm`: damped Gauss-Newton steps on all the shots."""

    max_updates: int = 200
    """accepted steps at most."""
    scaled: bool = True
    """inputs and counterweight on a unit scale (see AimerConfig.scaled); the method needs them."""
    time_budget: float | None = None
    """stop after this many seconds of training (None: no limit)."""
    evaluate_every: int = 5
    """steps between evaluations on the evaluation shots."""

    def __post_init__(self):
        _check_count("max_updates", self.max_updates)
        _check("scaled", self.scaled, isinstance(self.scaled, bool), "True or False")
        if self.time_budget is not None:
            _check_positive("time_budget", self.time_budget)
        _check_count("evaluate_every", self.evaluate_every)


def with_settings(config, settings: dict):
    """`config` with the fields in `settings` replaced (checked again); ValueError naming an unknown field."""
    names = [f.name for f in dataclasses.fields(config)]
    unknown = sorted(set(settings) - set(names))
    if unknown:
        raise ValueError(f"{type(config).__name__} has no setting {', '.join(unknown)}; its settings are {', '.join(names)}")
    return dataclasses.replace(config, **settings)
