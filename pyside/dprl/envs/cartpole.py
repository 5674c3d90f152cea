"""Gymnasium's CartPole-v1 physics (Barto, Sutton & Anderson 1983) as pure, batched functions.

Mirror of `julia/src/cartpole.jl`: same constants, same functions, same order.

## State
| index | quantity              | unit  |
|-------|-----------------------|-------|
| 0     | cart position x       | m     |
| 1     | cart velocity ẋ       | m/s   |
| 2     | pole angle θ (upright)| rad   |
| 3     | pole angular velocity | rad/s |

## Action
A real a in [-1, 1]; the force on the cart is a × 10 N. The DP controller uses ±1; Gymnasium's
Discrete(2) maps 0 → −1 and 1 → +1.

## Reward and episode end
1 for every step, including the one that ends the episode. Done when |x| > 2.4 or |θ| > 12°
(strict comparisons); the time limit (200 for v0, 500 for v1) belongs to the caller.

Explicit Euler with τ = 0.02 s: positions move with the old velocities. Tensors of any batch
shape (..., 4); no hidden state. Other shapes get a ValueError saying what `step` expects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from dprl.envs.shapes import check_shapes


@dataclass(frozen=True)
class CartPoleParams:
    gravity: float = 9.8
    masscart: float = 1.0
    masspole: float = 0.1
    length: float = 0.5  # half the pole's length
    force_mag: float = 10.0
    tau: float = 0.02  # seconds between state updates
    theta_threshold: float = 12 * 2 * math.pi / 360  # 0.20944 rad
    x_threshold: float = 2.4


def total_mass(params: CartPoleParams) -> float:
    """Mass of the cart and pole together (kg)."""
    return params.masspole + params.masscart


def polemass_length(params: CartPoleParams) -> float:
    """Pole mass times half its length (kg·m)."""
    return params.masspole * params.length


def step(params: CartPoleParams, state: torch.Tensor, action: torch.Tensor):
    """One Euler step: (state, action) -> (state, reward, done). Does not mutate.

    state: (..., 4); action: the batch shape `state.shape[:-1]`, or () for one action for all.
    """
    check_shapes(state, action, 4, "(x, ẋ, θ, θ̇)")
    x, x_dot, theta, theta_dot = state.unbind(-1)
    force = action * params.force_mag
    costheta, sintheta = torch.cos(theta), torch.sin(theta)
    temp = (force + polemass_length(params) * theta_dot**2 * sintheta) / total_mass(params)
    thetaacc = (params.gravity * sintheta - costheta * temp) / (
        params.length * (4.0 / 3.0 - params.masspole * costheta**2 / total_mass(params))
    )
    xacc = temp - polemass_length(params) * thetaacc * costheta / total_mass(params)
    next_state = torch.stack(
        (x + params.tau * x_dot, x_dot + params.tau * xacc, theta + params.tau * theta_dot, theta_dot + params.tau * thetaacc),
        dim=-1,
    )
    return next_state, reward(params, state, action, next_state), is_done(params, next_state)


def reward(params: CartPoleParams, state, action, next_state):
    """Gymnasium's reward: 1 per step, the terminating step included."""
    return torch.ones_like(next_state[..., 0])


def is_done(params: CartPoleParams, state):
    """The pole fell past 12° or the cart left [-2.4, 2.4] (strict comparisons, as Gymnasium)."""
    x, theta = state[..., 0], state[..., 2]
    return (x < -params.x_threshold) | (x > params.x_threshold) | (theta < -params.theta_threshold) | (theta > params.theta_threshold)


def observe(params: CartPoleParams, state):
    """The observation is the state itself."""
    return state


def reset_state(params: CartPoleParams, generator: torch.Generator, batch=(), dtype=torch.float64):
    """Each of the four state components uniform in [-0.05, 0.05]."""
    return 0.1 * torch.rand(*batch, 4, generator=generator, dtype=dtype) - 0.05
