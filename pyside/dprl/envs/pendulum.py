"""Pendulum swing-up as pure, batched functions, in two variants.

Mirror of `julia/src/pendulum.jl`: same constants, same functions, same order.

- `"gymnasium"` (default): Gymnasium's Pendulum-v1. The torque is clipped to ±2 N·m in both the
  dynamics and the cost; θ̇ is clipped to ±8 rad/s *before* it moves θ.
- `"gymjl2019"`: the 2019 Gym.jl Pendulum the blog used. The torque is never clipped (the raw
  action enters the dynamics and the cost); θ moves with the *unclipped* θ̇, which is clipped
  afterwards (gym v0 ordering).

## State and observation
State (θ, θ̇): angle from upright (rad) and angular velocity (rad/s), shape (..., 2).
Observation (cos θ, sin θ, θ̇).

## Action, reward, episode end
Torque u (N·m). Reward −(angle_normalize(θ)² + 0.1 θ̇² + 0.001 u²) from the state before the
step. Never done: the 200-step limit belongs to the caller. g = 10, m = 1, l = 1, dt = 0.05 s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from dprl.envs.shapes import check_shapes

VARIANTS = ("gymnasium", "gymjl2019")


@dataclass(frozen=True)
class PendulumParams:
    max_speed: float = 8.0
    max_torque: float = 2.0
    dt: float = 0.05
    g: float = 10.0
    m: float = 1.0
    l: float = 1.0  # noqa: E741 (Gymnasium's name)
    variant: str = "gymnasium"

    def __post_init__(self):
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}; got {self.variant!r}")


def angle_normalize(x):
    """((x + π) mod 2π) − π with slope 1: the wrap's integer part carries no derivative."""
    return x - 2 * math.pi * torch.floor((x + math.pi) / (2 * math.pi)).detach()


def step(params: PendulumParams, state: torch.Tensor, action: torch.Tensor):
    """One step: (state, action) -> (state, reward, done). Does not mutate.

    state: (..., 2), not the observation; action: the batch shape `state.shape[:-1]`, or ().
    """
    check_shapes(state, action, 2, "(θ, θ̇) [an observation (cos θ, sin θ, θ̇) is not a state]")
    theta, theta_dot = state[..., 0], state[..., 1]
    u = torch.clamp(action, -params.max_torque, params.max_torque) if params.variant == "gymnasium" else action
    r = reward(params, state, u)
    accel = 3 * params.g / (2 * params.l) * torch.sin(theta) + 3.0 / (params.m * params.l**2) * u
    if params.variant == "gymnasium":
        new_theta_dot = torch.clamp(theta_dot + accel * params.dt, -params.max_speed, params.max_speed)
        new_theta = theta + new_theta_dot * params.dt
    else:
        unclipped = theta_dot + accel * params.dt
        new_theta = theta + unclipped * params.dt
        new_theta_dot = torch.clamp(unclipped, -params.max_speed, params.max_speed)
    next_state = torch.stack((new_theta, new_theta_dot), dim=-1)
    return next_state, r, is_done(params, next_state)


def reward(params: PendulumParams, state, u):
    """−(angle_normalize(θ)² + 0.1 θ̇² + 0.001 u²) for the torque u actually applied."""
    theta, theta_dot = state[..., 0], state[..., 1]
    return -(angle_normalize(theta) ** 2 + 0.1 * theta_dot**2 + 0.001 * u**2)


def is_done(params: PendulumParams, state):
    """Pendulum never terminates; episodes are truncated by the caller."""
    return torch.zeros_like(state[..., 0], dtype=torch.bool)


def observe(params: PendulumParams, state):
    """(cos θ, sin θ, θ̇)."""
    theta, theta_dot = state[..., 0], state[..., 1]
    return torch.stack((torch.cos(theta), torch.sin(theta), theta_dot), dim=-1)


def reset_state(params: PendulumParams, generator: torch.Generator, batch=(), dtype=torch.float64):
    """θ ~ U(−π, π), θ̇ ~ U(−1, 1)."""
    u = torch.rand(*batch, 2, generator=generator, dtype=dtype)
    return torch.stack((math.pi * (2 * u[..., 0] - 1), 2 * u[..., 1] - 1), dim=-1)
