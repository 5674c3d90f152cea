"""Pendulum by backpropagation through time (docs/original-2019.md §4.2), in the style of CleanRL, and by analytic
policy gradient (`train_pendulum_apg`, below).

Twin of `julia/src/train/pendulum.jl`; settings in `dprl.config` (`PendulumConfig` with
`PENDULUM_PRESETS`, `APGConfig`). Each window of steps minimises a loss of the
per-step cost, backpropagated through the dynamics and the policy's inputs; then the state is
detached and the next window starts from it. Two presets:

- `gymjl2019`, the blog's setup: one episode at a time, 4-step windows, mean cost², Adam 0.03, and
  the raw network output as torque (the 2019 Gym.jl Pendulum never clipped it).
- `gymnasium`, Gymnasium's Pendulum-v1 with the torque bounded to ±2 N·m: the torque is
  2·tanh(output) so gradients survive where the environment clips. Four-step windows then drive
  the controller into a stall (it pushes against gravity instead of swinging up); what learns
  here is 64 episodes in parallel per round, 20-step windows, the mean cost, Adam 3e-3 and a
  global gradient-norm clip of 1 (found by the sweep in comparisons/bench_pendulum.py's notes).

`train_pendulum_apg` (`dprl train pendulum-apg`) is the stronger trainer for Pendulum-v1:
whole 200-step episodes from 256 fresh start states per update, backpropagated end to end with
the gradient through each step's state multiplied by 0.985, and a torque odd in (θ, θ̇); seeded
runs (`dprl.recipes.train_seeded_apg`) then fine-tune with 2,048 starts per update and the decay 0.99
(why: docs/notes/2026-12-04-pendulum-apg-plateau.md).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time

import numpy as np
import torch
from tqdm import tqdm

from dprl.config import PENDULUM_LOSSES, APGConfig, PendulumConfig, resolve_preset, with_settings
from dprl.envs import pendulum
from dprl.results import TrainingResult, interruptible
from dprl.train.divergence import checked_step
from dprl.train import policies


def torque(params: pendulum.PendulumParams, output):
    """2·tanh(o) for Gymnasium (so gradients survive the clip); the raw output for gymjl2019."""
    return params.max_torque * torch.tanh(output) if params.variant == "gymnasium" else output


def pendulum_window(policy, states, n, params, loss="cost2"):
    """`n` steps from each row of `states` (B, 2), or from one state (2,): (loss, final states), the
    loss the mean over steps and episodes of cost² or cost. BPTT through the dynamics."""
    total = 0.0
    s = states
    for _ in range(n):
        u = torque(params, policy(pendulum.observe(params, s))[..., 0])
        s, r, _ = pendulum.step(params, s, u)
        total = total + (r**2 if loss == "cost2" else -r)
    return total.mean() / n, s


def clip_global_norm(grads, max_norm):
    """Scale the gradient tensors `grads` in place by min(1, max_norm / (‖g‖ + 1e-6)): PyTorch's
    clip_grad_norm_, written out so the Julia twin can match it."""
    grads = [g for g in grads if g is not None]
    total = torch.sqrt(sum((g**2).sum() for g in grads))
    coefficient = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        g.mul_(coefficient)


def pendulum_returns(policy, states, steps, params):
    """Returns of a batch of `steps`-long episodes under the policy (no learning), on its device."""
    return _returns(lambda o: torque(params, policy(o)[:, 0]), states, steps, params, policies.model_device(policy))


@torch.no_grad()
def _returns(act, states, steps, params, device=None):
    """Returns of a batch of `steps`-long episodes when `act(observations)` picks the torques."""
    s = torch.as_tensor(states, dtype=torch.float64, device=device).clone()
    total = torch.zeros(s.shape[0], dtype=torch.float64, device=s.device)
    for _ in range(steps):
        s, r, _ = pendulum.step(params, s, act(pendulum.observe(params, s)))
        total += r
    return total


def train_pendulum(weights, initial_states, evaluation_states, config: PendulumConfig | None = None, *, progress: bool = True,
                   on_episode=None, device=None, **settings) -> TrainingResult:
    """`initial_states` (E, B, 2) start E training rounds of B parallel episodes of `config.steps`
    steps ((E, 2) means B = 1), each cut into windows with one Adam update each; after each round
    the mean return over the rows of `evaluation_states` (N, 2) is recorded. `settings` override
    fields of `config` (default PendulumConfig()); those left as None come from the variant's
    preset, and max_grad_norm=math.inf turns the clip off. `device` (default the CPU) runs the
    policy and the rollouts there. Ctrl-C returns what finished."""
    config = resolve_preset(with_settings(config or PendulumConfig(), settings))
    device = policies.resolve_device(device)
    params = pendulum.PendulumParams(variant=config.variant)
    policy = policies.load_weights(policies.pendulum_policy(), weights).to(device)
    optimizer = torch.optim.Adam(policy.parameters(), lr=config.learning_rate)
    initial_states = np.asarray(initial_states, dtype=np.float64)
    if initial_states.ndim == 2:
        initial_states = initial_states[:, None, :]
    if initial_states.ndim != 3 or initial_states.shape[-1] != 2:
        raise ValueError(f"initial_states must have shape (E, B, 2) or (E, 2); got {initial_states.shape}")
    evaluation_states = np.asarray(evaluation_states, dtype=np.float64).reshape(-1, 2)
    rounds, batch = initial_states.shape[:2]
    result = TrainingResult(trainer="pendulum", config={**_json_config(config), "rounds": rounds, "batch": batch,
                                                        "evaluation_episodes": len(evaluation_states)})
    start, steps = time.perf_counter(), config.steps
    bar = tqdm(total=rounds, desc=f"pendulum ({config.variant})", unit="round", disable=not progress)
    with interruptible(result, bar, lambda: policies.weights(policy)):
        for episode, initial in enumerate(initial_states, start=1):
            state = torch.as_tensor(initial, dtype=torch.float64, device=device)
            for first in range(0, steps, config.window):
                value, state = pendulum_window(policy, state, min(config.window, steps - first), params, config.loss)
                optimizer.zero_grad()
                value.backward()
                if not math.isinf(config.max_grad_norm):
                    clip_global_norm([p.grad for p in policy.parameters()], config.max_grad_norm)
                result.losses.append(checked_step(len(result.losses) + 1, policy.parameters(), optimizer.step, value))
                state = state.detach()  # truncate BPTT between windows
            bar.update(1)
            result.weights = policies.weights(policy)
            if len(evaluation_states):
                score = pendulum_returns(policy, evaluation_states, steps, params).mean().item()
                result.record(score, episodes=episode * batch, env_steps=episode * batch * steps, started=start, bar=bar)
            if on_episode is not None:
                on_episode(result)
    return result


def pendulum_window_gradient(weights, states, n: int, *, variant: str = "gymnasium", loss: str = "cost") -> dict:
    """The loss of one `n`-step window from each row of `states` (B, 2) and its gradients by
    autograd: {"loss", "weights": (weight, bias) pairs in nn.Linear's layout, "state": ∂loss/∂states}."""
    if loss not in PENDULUM_LOSSES:
        raise ValueError(f"loss must be one of {PENDULUM_LOSSES}; got {loss!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a whole number of steps, at least 1; got {n!r}")
    model = policies.load_weights(policies.pendulum_policy(), weights)
    states = torch.as_tensor(np.asarray(states, dtype=np.float64)).requires_grad_()
    value, _ = pendulum_window(model, states, int(n), pendulum.PendulumParams(variant=variant), loss)
    grads = torch.autograd.grad(value, [*model.parameters(), states])
    return {"loss": value.item(), "weights": [(grads[i].numpy(), grads[i + 1].numpy()) for i in range(0, len(grads) - 1, 2)],
            "state": grads[-1].numpy()}


# ----------------------------------------------------------------------------------------------
# Pendulum-v1 by analytic policy gradient (whole episodes, decayed gradient through the state)
# ----------------------------------------------------------------------------------------------
class _DecayGradient(torch.autograd.Function):
    """The identity forward; the gradient flowing back through it is multiplied by `factor`."""

    @staticmethod
    def forward(ctx, x, factor):
        ctx.factor = factor
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.factor, None


def decay_gradient(x, factor):
    """The identity forward; the gradient flowing back through it is multiplied by `factor`."""
    return _DecayGradient.apply(x, factor)


@functools.cache
def _mirror_signs(dtype, device):
    """(1, −1, −1), the observation of (−θ, −θ̇), made once per dtype and device: a tensor made at
    import would pin the trainer to the CPU."""
    return torch.tensor([1.0, -1.0, -1.0], dtype=dtype, device=device)


def mirror(observation):
    """The observation of the mirrored state (−θ, −θ̇): (cos θ, −sin θ, −θ̇)."""
    return observation * _mirror_signs(observation.dtype, observation.device)


def apg_torque(params, policy, observation):
    """2·tanh(o(x) − o(mirror(x))): a torque odd in (θ, θ̇), from the 2019 network."""
    return torque(params, policy(observation)[..., 0] - policy(mirror(observation))[..., 0])


def apg_cost(policy, states, horizon, params, decay):
    """Costs (B,) of `horizon`-step episodes from the rows of `states` (B, 2) under `apg_torque`,
    the gradient through each step's state multiplied by `decay`."""
    s, cost = states, 0.0
    for _ in range(horizon):
        s, r, _ = pendulum.step(params, s, apg_torque(params, policy, pendulum.observe(params, s)))
        s = decay_gradient(s, decay)
        cost = cost + (-r)
    return cost


def apg_loss(policy, states, horizon, params, decay):
    """Mean cost per step over the episodes from the rows of `states` (B, 2)."""
    return apg_cost(policy, states, horizon, params, decay).mean() / horizon


def apg_returns(policy, states, steps, params):
    """Returns of a batch of `steps`-long episodes under `apg_torque` (no learning), on the policy's device."""
    return _returns(lambda o: apg_torque(params, policy, o), states, steps, params, policies.model_device(policy))


# Why whole episodes with a decayed gradient (and the fine-tune of APG_FINE_TUNE): plain BPTT through
# 200 chaotic steps explodes, the decay keeps the gradient's norm bounded at the price of a horizon of
# ~50–100 steps. What was tried, with its figures: docs/notes/2026-12-04-pendulum-apg-plateau.md.
def train_pendulum_apg(weights, batches, evaluation_states, config: APGConfig | None = None, *, progress: bool = True,
                       on_episode=None, device=None, cuda_graph: bool = True, **settings) -> TrainingResult:
    """Gymnasium's Pendulum-v1 by analytic policy gradient: one update per slice of `batches`
    (U, B, 2), each the mean cost of B fresh `config.horizon`-step episodes backpropagated through
    the whole episode, the gradient through each step's state multiplied by
    `config.gradient_decay`. Every `config.evaluate_every` updates (and after the last) the mean
    200-step return over the rows of `evaluation_states` (N, 2) is recorded; env_steps counts
    every simulated training step. `settings` override fields of `config` (default APGConfig()).
    `device` (default the CPU) runs the policy and the rollouts there; on a CUDA device each update
    is one CUDA graph (`dprl.train.pendulum_graph`) unless `cuda_graph=False`. Ctrl-C returns what finished."""
    config = with_settings(config or APGConfig(), settings)
    device = policies.resolve_device(device)
    batches = np.asarray(batches, dtype=np.float64)
    if batches.ndim != 3 or batches.shape[-1] != 2 or batches.shape[0] < 1 or batches.shape[1] < 1:
        raise ValueError(f"batches must have shape (U, B, 2) with U, B ≥ 1; got {batches.shape}")
    params = pendulum.PendulumParams(variant="gymnasium")
    policy = policies.load_weights(policies.pendulum_policy(), weights).to(device)
    graphed = device.type == "cuda" and bool(cuda_graph)
    optimizer = torch.optim.Adam(policy.parameters(), lr=config.learning_rate, capturable=graphed)
    evaluation_states = np.asarray(evaluation_states, dtype=np.float64).reshape(-1, 2)
    updates, batch = batches.shape[:2]
    backward = functools.partial(apg_backward, policy, horizon=config.horizon, params=params, decay=config.gradient_decay,
                                 max_grad_norm=config.max_grad_norm)
    if graphed:
        from dprl.train.pendulum_graph import APGUpdate

        update = APGUpdate(policy, optimizer, batch, backward)
    result = TrainingResult(trainer="pendulum_apg", config={"method": "apg", "variant": "gymnasium", **_json_config(config), "updates": updates,
                                                            "batch": batch, "evaluation_episodes": len(evaluation_states)})
    start = time.perf_counter()
    bar = tqdm(total=updates, desc="pendulum (apg)", unit="update", disable=not progress)
    with interruptible(result, bar, lambda: policies.weights(policy)):
        for k, starts in enumerate(batches, start=1):
            if graphed:
                result.losses.append(update(k, starts))
            else:
                optimizer.zero_grad()
                value = backward(torch.as_tensor(starts, device=device))
                result.losses.append(checked_step(k, policy.parameters(), optimizer.step, value))
            bar.update(1)
            if not ((k % config.evaluate_every == 0 or k == updates) and len(evaluation_states)):
                continue
            score = apg_returns(policy, evaluation_states, 200, params).mean().item()
            result.weights = policies.weights(policy)
            result.record(score, episodes=k * batch, env_steps=k * batch * config.horizon, started=start, checkpoint=on_episode, bar=bar)
    return result


# ----------------------------------------------------------------------------------------------
# PyTorch only: a config as JSON, the update the CUDA graph shares, the start states of seeded runs
# ----------------------------------------------------------------------------------------------
def _json_config(config) -> dict:
    """The config's fields, with no clipping (math.inf) written as None: JSON has no infinity."""
    out = dataclasses.asdict(config)
    if math.isinf(out.get("max_grad_norm") or 0.0):
        out["max_grad_norm"] = None
    return out


def apg_backward(policy, starts, horizon, params, decay, max_grad_norm=math.inf):
    """An APG update up to Adam's step: `apg_loss` from the rows of `starts` (B, 2), backpropagated
    into the policy's gradients, clipped to `max_grad_norm` (inf: no clip); returns the loss. The
    eager loop and the CUDA graph (`dprl.train.pendulum_graph`, given it as an argument so that it
    imports nothing from here) share it."""
    value = apg_loss(policy, starts, horizon, params, decay)
    value.backward()
    if not math.isinf(max_grad_norm):
        clip_global_norm([p.grad for p in policy.parameters()], max_grad_norm)
    return value


def start_states(rng: np.random.Generator, *shape) -> np.ndarray:
    """θ ~ U(−π, π), θ̇ ~ U(−1, 1), as Gymnasium's reset, shape (*shape, 2)."""
    return np.stack([rng.uniform(-np.pi, np.pi, shape), rng.uniform(-1, 1, shape)], -1)


def evaluation_starts(seed: int, episodes: int) -> np.ndarray:
    """The seed's evaluation start states (episodes, 2), from their own NumPy stream; the comparison
    (dprl.dp_vs_rl) scores the RL agents on the same episodes."""
    return start_states(np.random.default_rng([seed, 1]), episodes)
