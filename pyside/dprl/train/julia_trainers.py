"""The Julia trainers of CartPole and Pendulum (`julia/src/train/cartpole.jl`, `pendulum.jl`) run
from Python, for `dprl train cartpole|pendulum|pendulum-apg --backend julia`.

Each takes what the PyTorch trainer of the same name takes (weights, training and evaluation start
states, config and settings, `progress`, `on_episode`) and returns its TrainingResult: the same
trainer name, config (with `backend: "julia"`), losses, scores, episodes, environment steps and
weights, so whatever reads or plots a PyTorch result reads this one. Julia evaluates on the same
start states on the same schedule as PyTorch (the cross-check holds the two learning curves to
1e-6) and times itself the way PyTorch does: seconds from the start of training to each evaluation,
the evaluations included. Julia compiles each trainer on a one-episode problem first, outside the
clock, as PyTorch has nothing to compile. One Julia thread; the CPU only.

Julia hands back the result so far after each episode (round; APG: evaluation), which is saved
through `on_episode` as PyTorch's checkpoints are; Ctrl-C keeps what was handed back, and an update
whose loss or weights are not finite ends the run as in PyTorch (`extra["diverged"]`).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from tqdm import tqdm

from dprl import julia
from dprl.config import APGConfig, CartPoleConfig, PendulumConfig, resolve_preset, with_settings
from dprl.results import Diverged, TrainingResult, interruptible


def train_cartpole_julia(weights, initial_states, evaluation_states, config: CartPoleConfig | None = None, *, progress: bool = True,
                         on_episode=None, **settings) -> TrainingResult:
    """`dprl.train.cartpole.train_cartpole` on Julia (`DPRL.Train.train_cartpole`)."""
    config = with_settings(config or CartPoleConfig(), settings)
    initial_states = _states(initial_states, "initial_states", "(E, 4)")
    evaluation_states = np.asarray(evaluation_states, dtype=np.float64).reshape(-1, 4)
    result = TrainingResult(trainer="cartpole", config={**dataclasses.asdict(config), "episodes": len(initial_states),
                                                        "evaluation_episodes": len(evaluation_states), "backend": "julia"},
                            extra={"episode_lengths": []})
    julia.train_cartpole(weights, initial_states[:1], evaluation_states[:1], config, max_steps=min(config.max_steps, config.window + 1),
                         on_episode=lambda trained: False)  # compiles, outside the clock
    return _run(result, lambda report: julia.train_cartpole(weights, initial_states, evaluation_states, config, on_episode=report),
                tqdm(total=len(initial_states), desc="cartpole (Julia)", unit="episode", disable=not progress),
                lambda trained: len(trained["episode_lengths"]), on_episode)


def train_pendulum_julia(weights, initial_states, evaluation_states, config: PendulumConfig | None = None, *, progress: bool = True,
                         on_episode=None, **settings) -> TrainingResult:
    """`dprl.train.pendulum.train_pendulum` on Julia (`DPRL.Train.train_pendulum`)."""
    config = resolve_preset(with_settings(config or PendulumConfig(), settings))
    initial_states = np.asarray(initial_states, dtype=np.float64)
    if initial_states.ndim == 2:
        initial_states = initial_states[:, None, :]
    initial_states = _states(initial_states, "initial_states", "(E, B, 2)")
    evaluation_states = np.asarray(evaluation_states, dtype=np.float64).reshape(-1, 2)
    rounds, batch = initial_states.shape[:2]
    result = TrainingResult(trainer="pendulum", config={**_json_config(config), "rounds": rounds, "batch": batch,
                                                        "evaluation_episodes": len(evaluation_states), "backend": "julia"})
    julia.train_pendulum(weights, initial_states[:1, :1], evaluation_states[:1], config, steps=min(config.steps, config.window + 1),
                         on_episode=lambda trained: False)  # compiles, outside the clock
    windows = -(-config.steps // config.window)  # updates a round
    return _run(result, lambda report: julia.train_pendulum(weights, initial_states, evaluation_states, config, on_episode=report),
                tqdm(total=rounds, desc=f"pendulum ({config.variant}, Julia)", unit="round", disable=not progress),
                lambda trained: len(trained["losses"]) // windows, on_episode)


def train_pendulum_apg_julia(weights, batches, evaluation_states, config: APGConfig | None = None, *, progress: bool = True,
                             on_episode=None, **settings) -> TrainingResult:
    """`dprl.train.pendulum.train_pendulum_apg` on Julia (`DPRL.Train.train_pendulum_apg`)."""
    config = with_settings(config or APGConfig(), settings)
    batches = _states(batches, "batches", "(U, B, 2)")
    evaluation_states = np.asarray(evaluation_states, dtype=np.float64).reshape(-1, 2)
    updates, batch = batches.shape[:2]
    result = TrainingResult(trainer="pendulum_apg", config={"method": "apg", "variant": "gymnasium", **_json_config(config), "updates": updates,
                                                            "batch": batch, "evaluation_episodes": len(evaluation_states), "backend": "julia"})
    julia.train_pendulum_apg(weights, batches[:1, :1], evaluation_states[:1], config, horizon=min(config.horizon, 2), evaluate_every=1,
                             on_episode=lambda trained: False)  # compiles, outside the clock
    return _run(result, lambda report: julia.train_pendulum_apg(weights, batches, evaluation_states, config, on_episode=report),
                tqdm(total=updates, desc="pendulum (apg, Julia)", unit="update", disable=not progress),
                lambda trained: len(trained["losses"]), on_episode)


BACKENDS = ("torch", "julia")


def on_julia(backend: str, settings: dict) -> bool:
    """Whether the seeded recipes' `backend` is Julia; a ValueError for a backend other than torch
    or julia, or for Julia on a device other than the CPU (whose `device` setting then leaves
    `settings`: the Julia trainers take none)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}; got {backend!r}")
    if backend == "julia":
        device = settings.pop("device", None)
        if device not in (None, "cpu"):
            raise ValueError(f"the Julia backend trains on the CPU only; got device={device!r}")
    return backend == "julia"


# ----------------------------------------------------------------------------------------------
# The bookkeeping the three share
# ----------------------------------------------------------------------------------------------
def _states(states, name: str, shape: str) -> np.ndarray:
    """Start states as float64 of `shape` ("(E, 4)": 2 dimensions, the last 4), none of them empty, or one ValueError naming them."""
    states = np.asarray(states, dtype=np.float64)
    ndim, width = len(shape.split(",")), int(shape.rstrip(")").split(",")[-1])
    if states.ndim != ndim or states.shape[-1] != width or 0 in states.shape:
        raise ValueError(f"{name} must have shape {shape}, every size at least 1; got {states.shape}")
    return states


def _json_config(config) -> dict:
    """The config's fields, with no clipping (math.inf) written as None, as the PyTorch trainers write it: JSON has no infinity."""
    out = dataclasses.asdict(config)
    if math.isinf(out.get("max_grad_norm") or 0.0):
        out["max_grad_norm"] = None
    return out


def _take(result: TrainingResult, trained: dict) -> None:
    """Copy what Julia handed back into `result`."""
    result.losses = trained["losses"].tolist()
    result.scores = trained["scores"].tolist()
    result.episodes = [int(n) for n in trained["episodes"]]
    result.env_steps = [int(n) for n in trained["env_steps"]]
    result.wall_time = trained["wall_time"].tolist()
    result.weights = trained["weights"]
    if "episode_lengths" in trained:
        result.extra["episode_lengths"] = [int(n) for n in trained["episode_lengths"]]


def _run(result: TrainingResult, train, bar, done, on_episode) -> TrainingResult:
    """`train(report)` (a Julia trainer called with `report` as its on_episode) inside `interruptible`:
    each report fills `result`, moves the progress `bar` to `done(trained)` and calls `on_episode(result)`."""
    interrupted = False

    def report(trained: dict) -> bool:
        nonlocal interrupted
        try:  # Ctrl-C while Python holds the call: stop Julia cleanly at this episode
            _take(result, trained)
            bar.update(done(trained) - bar.n)
            if result.scores:
                bar.set_postfix(score=f"{result.scores[-1]:.4g}")
            if on_episode is not None:
                on_episode(result)
            return False
        except KeyboardInterrupt:
            interrupted = True
            return True

    with interruptible(result, bar):  # Ctrl-C inside Julia comes back as KeyboardInterrupt: the last report is kept
        trained = train(report)
        _take(result, trained)
        bar.update(done(trained) - bar.n)
        if "diverged" in trained:
            raise Diverged(trained["diverged"])
        if interrupted:
            raise KeyboardInterrupt
    return result
