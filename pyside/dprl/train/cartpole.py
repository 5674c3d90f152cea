"""CartPole by backpropagation through the dynamics (spec §3.2), in the style of CleanRL.

Twin of `train_cartpole` in `julia/src/train.jl`. The controller's tanh output passes a sign with a
straight-through gradient, so the force is ±10 N while gradients flow as if the sign were the
identity. The training signal is not the environment's reward but the product of the margins to
the x and θ limits after each step; each window of 8 steps minimises the mean squared gap to its
best value, then the state is detached and the next window starts from it.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from tqdm import tqdm

from dprl.envs import cartpole
from dprl.train import policies
from dprl.train.result import TrainingResult


class StraightThroughSign(torch.autograd.Function):
    """sign(x) forward; the upstream gradient passes through unchanged."""

    @staticmethod
    def forward(ctx, x):
        return torch.sign(x)

    @staticmethod
    def backward(ctx, grad):
        return grad


def ste_sign(x):
    return StraightThroughSign.apply(x)


def margin_reward(params: cartpole.CartPoleParams, state):
    """The surrogate reward after a step: the product of the margins to the x and θ limits."""
    return torch.clamp_min(params.x_threshold - state[..., 0].abs(), 0.0) * torch.clamp_min(
        params.theta_threshold - state[..., 2].abs(), 0.0
    )


def best_margin(params: cartpole.CartPoleParams) -> float:
    """The best surrogate reward, 2.4 × 0.20944."""
    return params.x_threshold * params.theta_threshold


def cartpole_window(policy, state, n, params):
    """Up to `n` steps from `state`: (mean of (r_t − R*)², final state, steps taken, done)."""
    loss = 0.0
    s = state
    taken = 0
    done = False
    for _ in range(n):
        action = ste_sign(policy(s)[..., 0])
        s, _, done_t = cartpole.step(params, s, action)
        loss = loss + (margin_reward(params, s) - best_margin(params)) ** 2
        taken += 1
        done = bool(done_t)
        if done:
            break
    return loss / taken, s, taken, done


@torch.no_grad()
def cartpole_returns(policy, states, max_steps, params):
    """Gymnasium returns of a batch of episodes under the sign of the policy (no learning)."""
    s = torch.as_tensor(states, dtype=torch.float64).clone()
    alive = torch.ones(s.shape[0], dtype=torch.bool)
    returns = torch.zeros(s.shape[0], dtype=torch.float64)
    for _ in range(max_steps):
        if not bool(alive.any()):
            break
        nxt, _, done = cartpole.step(params, s, torch.sign(policy(s)[:, 0]))
        returns += alive.to(torch.float64)  # the terminating step earns its reward too
        s = torch.where(alive[:, None], nxt, s)
        alive = alive & ~done
    return returns


def train_cartpole(
    weights,
    initial_states,
    evaluation_states,
    *,
    learning_rate: float = 0.03,
    window: int = 8,
    max_steps: int = 500,
    solved_score: float = 475.0,
    progress: bool = True,
    on_episode=None,
) -> TrainingResult:
    """Rows of `initial_states` start training episodes; rows of `evaluation_states` start the
    evaluation episodes after each. Stops once the evaluation mean reaches `solved_score`.

    `on_episode(result)` is called after every episode (for checkpoints). Ctrl-C returns what was
    finished, with `finished = False`.
    """
    params = cartpole.CartPoleParams()
    policy = policies.load_weights(policies.cartpole_policy(), weights)
    optimizer = torch.optim.Adam(policy.parameters(), lr=learning_rate)
    initial_states = np.asarray(initial_states, dtype=np.float64)
    evaluation_states = np.asarray(evaluation_states, dtype=np.float64).reshape(-1, 4)
    result = TrainingResult(
        trainer="cartpole",
        config={"learning_rate": learning_rate, "window": window, "max_steps": max_steps, "solved_score": solved_score,
                "episodes": len(initial_states), "evaluation_episodes": len(evaluation_states)},
        extra={"episode_lengths": []},
    )
    start, steps = time.perf_counter(), 0
    bar = tqdm(total=len(initial_states), desc="cartpole", unit="episode", disable=not progress)
    try:
        for initial in initial_states:
            state = torch.as_tensor(initial, dtype=torch.float64)
            t, done = 0, False
            while not done and t < max_steps:
                loss, state, taken, done = cartpole_window(policy, state, min(window, max_steps - t), params)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                state = state.detach()  # truncate BPTT between windows
                result.losses.append(loss.item())
                t += taken
            steps += t
            result.extra["episode_lengths"].append(t)
            bar.update(1)
            if len(evaluation_states):
                score = cartpole_returns(policy, evaluation_states, max_steps, params).mean().item()
                result.scores.append(score)
                result.episodes.append(len(result.extra["episode_lengths"]))
                result.env_steps.append(steps)
                result.wall_time.append(time.perf_counter() - start)
                bar.set_postfix(score=f"{score:.1f}")
            result.weights = policies.weights(policy)
            if on_episode is not None:
                on_episode(result)
            if result.scores and result.scores[-1] >= solved_score:
                break
        result.finished = True
    except KeyboardInterrupt:
        result.weights = policies.weights(policy)
    finally:
        bar.close()
    return result


VERSIONS = {"v0": (200, 195.0), "v1": (500, 475.0)}  # (time limit, solved score), as Gymnasium registers them


def train_seeded(seed: int, episodes: int, *, version: str = "v1", evaluation_episodes: int = 100, **kwargs) -> TrainingResult:
    """`train_cartpole` from Flux 0.7's initialisation (as the 2019 code), seeded, and seeded start states
    (training starts from one NumPy stream, evaluation starts from another)."""
    if version not in VERSIONS:
        raise ValueError(f"version must be one of {tuple(VERSIONS)}; got {version!r}")
    if episodes < 1 or evaluation_episodes < 0:
        raise ValueError(f"episodes must be at least 1 and evaluation_episodes at least 0; got {episodes}, {evaluation_episodes}")
    max_steps, solved = VERSIONS[version]
    result = train_cartpole(
        policies.glorot_weights(policies.cartpole_policy, seed),
        np.random.default_rng(seed).uniform(-0.05, 0.05, (episodes, 4)),
        np.random.default_rng([seed, 1]).uniform(-0.05, 0.05, (evaluation_episodes, 4)),
        max_steps=max_steps, **{"solved_score": solved, **kwargs},
    )
    result.config.update(seed=seed, version=version)
    return result
