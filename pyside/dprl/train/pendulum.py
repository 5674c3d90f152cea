"""Pendulum by backpropagation through time (spec §4.2), in the style of CleanRL.

Twin of `train_pendulum` in `julia/src/train.jl`. Each window of steps minimises a loss of the
per-step cost, backpropagated through the dynamics and the policy's inputs; then the state is
detached and the next window starts from it. Two presets:

- `gymjl2019`, the blog's setup: one episode at a time, 4-step windows, mean cost², Adam 0.03, and
  the raw network output as torque (the 2019 Gym.jl Pendulum never clipped it).
- `gymnasium`, Gymnasium's Pendulum-v1 with the torque bounded to ±2 N·m: the torque is
  2·tanh(output) so gradients survive where the environment clips. Four-step windows then drive
  the controller into a stall (it pushes against gravity instead of swinging up); what learns
  here is 64 episodes in parallel per round, 20-step windows, the mean cost, Adam 3e-3 and a
  global gradient-norm clip of 1 (found by the sweep in comparisons/bench_pendulum.py's notes).
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from tqdm import tqdm

from dprl.envs import pendulum
from dprl.train import policies
from dprl.train.result import TrainingResult

# A max_grad_norm of inf means no clipping.
PRESETS = {
    "gymjl2019": {"window": 4, "learning_rate": 0.03, "loss": "cost2", "max_grad_norm": math.inf, "batch": 1},
    "gymnasium": {"window": 20, "learning_rate": 0.003, "loss": "cost", "max_grad_norm": 1.0, "batch": 64},
}
LOSSES = ("cost2", "cost")


def torque(params: pendulum.PendulumParams, output):
    """2·tanh(o) for Gymnasium (so gradients survive the clip); the raw output for gymjl2019."""
    return params.max_torque * torch.tanh(output) if params.variant == "gymnasium" else output


def pendulum_window(policy, state, n, params, loss="cost2"):
    """`n` steps from `state` (2,) or (B, 2): (loss, final state), the loss the mean over steps
    and episodes of cost² or cost. BPTT through the dynamics."""
    total = 0.0
    s = state
    for _ in range(n):
        u = torque(params, policy(pendulum.observe(params, s))[..., 0])
        s, r, _ = pendulum.step(params, s, u)
        total = total + (r**2 if loss == "cost2" else -r)
    return total.mean() / n, s


def clip_global_norm(parameters, max_norm):
    """PyTorch's clip_grad_norm_, written out so the Julia twin can match it."""
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.sqrt(sum((g**2).sum() for g in grads))
    coefficient = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        g.mul_(coefficient)


@torch.no_grad()
def pendulum_returns(policy, states, steps, params):
    """Returns of a batch of `steps`-long episodes under the policy (no learning)."""
    s = torch.as_tensor(states, dtype=torch.float64).clone()
    total = torch.zeros(s.shape[0], dtype=torch.float64)
    for _ in range(steps):
        s, r, _ = pendulum.step(params, s, torque(params, policy(pendulum.observe(params, s))[:, 0]))
        total += r
    return total


def train_pendulum(
    weights,
    initial_states,
    evaluation_states,
    *,
    variant: str = "gymnasium",
    window: int | None = None,
    learning_rate: float | None = None,
    loss: str | None = None,
    max_grad_norm: float | None = None,
    steps: int = 200,
    progress: bool = True,
    on_episode=None,
) -> TrainingResult:
    """`initial_states` (E, B, 2) start E training rounds of B parallel episodes of `steps` steps
    ((E, 2) means B = 1); after each round the mean return over the rows of `evaluation_states`
    (N, 2) is recorded. Settings left as None come from PRESETS[variant]; max_grad_norm=math.inf
    turns the clip off. Ctrl-C returns what finished."""
    if variant not in PRESETS:
        raise ValueError(f"variant must be one of {tuple(PRESETS)}; got {variant!r}")
    preset = PRESETS[variant]
    window = preset["window"] if window is None else int(window)
    learning_rate = preset["learning_rate"] if learning_rate is None else float(learning_rate)
    loss = preset["loss"] if loss is None else loss
    max_grad_norm = float(preset["max_grad_norm"] if max_grad_norm is None else max_grad_norm)
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}; got {loss!r}")
    if not max_grad_norm > 0:
        raise ValueError(f"max_grad_norm must be positive (math.inf: no clip); got {max_grad_norm}")
    if window < 1 or steps < 1:
        raise ValueError(f"window and steps must be at least 1; got window={window}, steps={steps}")
    params = pendulum.PendulumParams(variant=variant)
    policy = policies.load_weights(policies.pendulum_policy(), weights)
    optimizer = torch.optim.Adam(policy.parameters(), lr=learning_rate)
    initial_states = np.asarray(initial_states, dtype=np.float64)
    if initial_states.ndim == 2:
        initial_states = initial_states[:, None, :]
    if initial_states.ndim != 3 or initial_states.shape[-1] != 2:
        raise ValueError(f"initial_states must have shape (E, B, 2) or (E, 2); got {initial_states.shape}")
    evaluation_states = np.asarray(evaluation_states, dtype=np.float64).reshape(-1, 2)
    rounds, batch = initial_states.shape[:2]
    result = TrainingResult(
        trainer="pendulum",
        config={"variant": variant, "window": window, "learning_rate": learning_rate, "loss": loss,
                "max_grad_norm": None if math.isinf(max_grad_norm) else max_grad_norm, "steps": steps, "rounds": rounds, "batch": batch,
                "evaluation_episodes": len(evaluation_states)},
    )
    start = time.perf_counter()
    bar = tqdm(total=rounds, desc=f"pendulum ({variant})", unit="round", disable=not progress)
    try:
        for episode, initial in enumerate(initial_states, start=1):
            state = torch.as_tensor(initial, dtype=torch.float64)
            for first in range(0, steps, window):
                value, state = pendulum_window(policy, state, min(window, steps - first), params, loss)
                optimizer.zero_grad()
                value.backward()
                if not math.isinf(max_grad_norm):
                    clip_global_norm(policy.parameters(), max_grad_norm)
                optimizer.step()
                state = state.detach()  # truncate BPTT between windows
                result.losses.append(value.item())
            bar.update(1)
            if len(evaluation_states):
                score = pendulum_returns(policy, evaluation_states, steps, params).mean().item()
                result.scores.append(score)
                result.episodes.append(episode * batch)
                result.env_steps.append(episode * batch * steps)
                result.wall_time.append(time.perf_counter() - start)
                bar.set_postfix(score=f"{score:.1f}")
            result.weights = policies.weights(policy)
            if on_episode is not None:
                on_episode(result)
        result.finished = True
    except KeyboardInterrupt:
        result.weights = policies.weights(policy)
    finally:
        bar.close()
    return result


def start_states(rng: np.random.Generator, *shape) -> np.ndarray:
    """θ ~ U(−π, π), θ̇ ~ U(−1, 1), as Gymnasium's reset, shape (*shape, 2)."""
    return np.stack([rng.uniform(-np.pi, np.pi, shape), rng.uniform(-1, 1, shape)], -1)


def train_seeded(seed: int, rounds: int, *, variant: str = "gymnasium", batch: int | None = None,
                 evaluation_episodes: int = 1000, **kwargs) -> TrainingResult:
    """`train_pendulum` from Flux 0.7's initialisation (as the 2019 code), seeded, and seeded start states
    (training starts from one NumPy stream, evaluation starts from another)."""
    if variant not in PRESETS:
        raise ValueError(f"variant must be one of {tuple(PRESETS)}; got {variant!r}")
    batch = PRESETS[variant]["batch"] if not batch else int(batch)
    if rounds < 1 or batch < 1 or evaluation_episodes < 0:
        raise ValueError(f"rounds and batch must be at least 1, evaluation_episodes at least 0; got {rounds}, {batch}, {evaluation_episodes}")
    result = train_pendulum(
        policies.glorot_weights(policies.pendulum_policy, seed),
        start_states(np.random.default_rng(seed), rounds, batch),
        start_states(np.random.default_rng([seed, 1]), evaluation_episodes),
        variant=variant, **kwargs,
    )
    result.config["seed"] = seed
    return result
