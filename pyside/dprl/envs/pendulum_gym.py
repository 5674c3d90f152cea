"""Pendulum as Gymnasium environments on the batched `dprl.envs.pendulum.step`: `dprl/Pendulum-v1`
(`PendulumEnv`), and N of them stepped together (`PendulumVectorEnv`); `dprl.envs.gym_base` says
what all dprl environments share."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from dprl.envs import gym_base, pendulum

def float_step(params: pendulum.PendulumParams, state, action: float):
    """`pendulum.step` of one state (θ, θ̇) under one torque, on floats: (state, reward)."""
    theta, theta_dot = state
    u = min(max(action, -params.max_torque), params.max_torque) if params.variant == "gymnasium" else action
    normalized = theta - 2 * math.pi * math.floor((theta + math.pi) / (2 * math.pi))
    reward = -(gym_base.square(normalized) + 0.1 * gym_base.square(theta_dot) + 0.001 * gym_base.square(u))
    accel = 3 * params.g / (2 * params.l) * math.sin(theta) + 3.0 / (params.m * params.l**2) * u
    if params.variant == "gymnasium":
        new_theta_dot = min(max(theta_dot + accel * params.dt, -params.max_speed), params.max_speed)
        new_theta = theta + new_theta_dot * params.dt
    else:
        unclipped = theta_dot + accel * params.dt
        new_theta = theta + unclipped * params.dt
        new_theta_dot = min(max(unclipped, -params.max_speed), params.max_speed)
    return (new_theta, new_theta_dot), reward


class PendulumEnv(gym.Env):
    """Pendulum swing-up on `dprl.envs.pendulum`, with Gymnasium's spaces, seeding and episodes.

    ## Description
    A pendulum hangs from a fixed pivot and starts at a random angle; torque at the pivot swings
    it up and holds it upright. The physics are those of `dprl.envs.pendulum.step` (g = 10 m/s²,
    m = 1 kg, l = 1 m, dt = 0.05 s), computed in float64 on one state. With the default variant
    it is Gymnasium's Pendulum-v1: the same start from the same seed and the same transitions.

    ## Action Space
    `Box(-2.0, 2.0, (1,), float32)`: the torque u at the pivot in N·m, positive
    counter-clockwise. `step` takes any one finite torque (other shapes, NaN or inf raise
    ValueError): the "gymnasium" variant clips it to ±2 N·m, as Gymnasium does; the "gymjl2019"
    variant applies it as given.

    ## Observation Space
    `Box((3,), float32)`:

    | index | observation                    | min  | max | unit  |
    |-------|--------------------------------|------|-----|-------|
    | 0     | cos θ (θ = 0 upright)          | -1.0 | 1.0 |       |
    | 1     | sin θ                          | -1.0 | 1.0 |       |
    | 2     | angular velocity θ̇             | -8.0 | 8.0 | rad/s |

    ## Rewards
    r = -(θₙ² + 0.1 θ̇² + 0.001 u²) from the state before the step, where θₙ is θ wrapped into
    [-π, π) and u the torque applied. With the "gymnasium" variant r lies in [-16.2736, 0] (the
    minimum at θₙ = ±π, θ̇ = ±8, u = ±2); with "gymjl2019" it has no lower bound, since u has none.

    ## Starting State
    θ uniform in [-π, π] and θ̇ uniform in [-1, 1] rad/s, drawn from the env's seeded `np_random`
    as Gymnasium draws them; `reset(options={"x_init": a, "y_init": b})` moves the bounds to ±a
    and ±b.

    ## Episode End
    The pendulum never terminates. Truncation: 200 steps (the `TimeLimit` that `gym.make` adds).

    ## Arguments
    `gym.make("dprl/Pendulum-v1", render_mode=None, variant="gymnasium")`:
    - `render_mode`: None or "rgb_array" (a 300×300 RGB drawing of the pendulum).
    - `variant`: "gymnasium" (Pendulum-v1: the torque clipped to ±2 N·m in the dynamics and the
      cost, θ̇ clipped to ±8 rad/s before it moves θ) or "gymjl2019" (the 2019 Gym.jl pendulum
      of the blog: the torque never clipped, θ moved by the unclipped θ̇, which is clipped
      afterwards; docs/original-2019.md §4.1).

    Gymnasium's `g` argument is not offered (g is 10). `gym.make_vec` returns `PendulumVectorEnv`.

    ## Version History
    - v1: Gymnasium's Pendulum-v1 (200-step limit, no reward threshold), plus the `variant`
      argument for the 2019 dynamics.

    ## Example
    The same start and push under both variants; the 2019 one feels the whole 5 N·m:

    >>> env = gym.make("dprl/Pendulum-v1")
    >>> obs, info = env.reset(seed=0)
    >>> print(obs.round(4))
    [ 0.652   0.7582 -0.4604]
    >>> obs, reward, terminated, truncated, info = env.step(np.array([5.0], dtype=np.float32))
    >>> print(obs.round(4), round(reward, 4), terminated, truncated)
    [0.6364 0.7714 0.4082] -0.7658 False False
    >>> env = gym.make("dprl/Pendulum-v1", variant="gymjl2019")
    >>> obs, info = env.reset(seed=0)
    >>> obs, reward, terminated, truncated, info = env.step(np.array([5.0], dtype=np.float32))
    >>> print(obs.round(4), round(reward, 4))
    [0.6189 0.7855 0.8582] -0.7868
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(self, render_mode: str | None = None, variant: str = "gymnasium"):
        self.params = pendulum.PendulumParams(variant=variant)
        high = np.array([1.0, 1.0, self.params.max_speed], dtype=np.float32)
        self.action_space = spaces.Box(-self.params.max_torque, self.params.max_torque, shape=(1,), dtype=np.float32)
        self.observation_space = spaces.Box(-high, high, dtype=np.float32)
        self.render_mode = gym_base.checked_render_mode(self, render_mode)
        self.state = None

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if options is None:
            high = np.array([np.pi, 1.0])
        else:
            x = options.get("x_init", np.pi)
            y = options.get("y_init", 1.0)
            high = np.array([x, y])
        self.state = self.np_random.uniform(low=-high, high=high)
        return self._observation(), {}

    def _observation(self):
        theta, theta_dot = self.state.tolist()
        return np.array((math.cos(theta), math.sin(theta), theta_dot), dtype=np.float32)  # pendulum.observe

    def step(self, action):
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        u = np.asarray(action, dtype=np.float32).reshape(-1)
        if u.shape != (1,) or not np.isfinite(u).all():
            raise ValueError(f"action must be one finite torque; got {action!r}")
        state, reward = float_step(self.params, np.asarray(self.state, dtype=np.float64).tolist(), float(u[0]))
        self.state = np.array(state)
        return self._observation(), reward, False, False, {}

    def render(self):
        if self.render_mode != "rgb_array" or self.state is None:
            return None
        image = gym_base.canvas(300, 300)
        theta = self.state[0]
        tip = (150 + 100 * math.sin(theta), 150 - 100 * math.cos(theta))
        gym_base.draw_segment(image, (150, 150), tip, (204, 77, 77), 6)
        image[146:155, 146:155] = (0, 0, 0)
        return image


class PendulumVectorEnv(gym_base.BatchedEnv):
    """N Pendulums stepped together by one call of the batched `dprl.envs.pendulum.step`.

    ## Description
    `PendulumEnv`'s environment with the default "gymnasium" variant (Pendulum-v1), N times over,
    on a float64 state (θ, θ̇) of shape (N, 2) stepped in one tensor operation. What
    `gym.make_vec("dprl/Pendulum-v1", num_envs=N, vectorization_mode="vector_entry_point")`
    returns.

    ## Action Space
    `Box(-2.0, 2.0, (N, 1), float32)`: one torque per environment in N·m, clipped to ±2 N·m; shape
    (N, 1) or (N,). Other shapes, NaN or inf raise ValueError.

    ## Observation Space
    `Box((N, 3), float32)`: row i is environment i's (cos θ, sin θ, θ̇), with the bounds of
    `PendulumEnv`'s table (θ̇ in rad/s, within ±8).

    ## Rewards
    As `PendulumEnv`: -(θₙ² + 0.1 θ̇² + 0.001 u²) from the state before the step, in
    [-16.2736, 0]; 0 on the step that restarts an environment.

    ## Starting State
    θ uniform in [-π, π] and θ̇ in [-1, 1] rad/s: one (N, 2) draw from the seeded `np_random` at
    `reset`, then one (k, 2) draw for the k environments a step restarts; or, with
    `reset(options={"start_states": S})`, the rows of S (N, 2) of (θ, θ̇) at reset (to score agents
    on the same episodes as the DP trainers' evaluation starts).

    ## Episode End
    No environment terminates; each is truncated after `max_episode_steps` steps and restarts on
    its next step (Gymnasium's next-step autoreset): that step ignores its action and returns the
    fresh start with reward 0, neither terminated nor truncated.

    ## Arguments
    - `num_envs` (default 1): N, at least 1.
    - `max_episode_steps` (default 200): the truncation length (`gym.make_vec` passes the id's, 200).
    - `render_mode`: accepted for Gymnasium's sake and ignored; nothing is drawn.

    The "gymjl2019" variant has no vector version here: use the pure `dprl.envs.pendulum.step`.

    ## Version History
    - v1: as `PendulumEnv`, "gymnasium" variant only.

    ## Example
    >>> envs = gym.make_vec("dprl/Pendulum-v1", num_envs=3, vectorization_mode="vector_entry_point")
    >>> obs, info = envs.reset(seed=0)
    >>> print(obs.round(4))
    [[ 0.652   0.7582 -0.4604]
     [-0.967  -0.2546 -0.9669]
     [-0.3872  0.922   0.8255]]
    >>> obs, reward, terminated, truncated, info = envs.step(np.array([[-2.0], [0.0], [2.0]], dtype=np.float32))
    >>> print(reward.round(4), truncated)
    [-0.7658 -8.4118 -3.9465] [False False False]
    """

    state_size = 2  # (θ, θ̇)

    def __init__(self, num_envs: int = 1, max_episode_steps: int = 200, render_mode: str | None = None):
        super().__init__(PendulumEnv(), num_envs, max_episode_steps)

    def _start_states(self, n):
        return self.np_random.uniform(low=[-np.pi, -1.0], high=[np.pi, 1.0], size=(n, 2))

    def _step(self, state, actions):
        actions = np.asarray(actions)
        # The single env's rule, for each of the N: one finite torque (clipped to ±2 N·m).
        if actions.shape not in ((self.num_envs,), (self.num_envs, 1)) or not np.issubdtype(actions.dtype, np.number) or not np.isfinite(actions).all():
            raise ValueError(f"actions must be {self.num_envs} finite torques, shape ({self.num_envs}, 1) or ({self.num_envs},); got {gym_base.describe(actions)}")
        torque = torch.as_tensor(actions.astype(np.float32).reshape(self.num_envs), dtype=torch.float64)
        return pendulum.step(self.params, torch.as_tensor(state, dtype=torch.float64), torque)

    def _observations(self):
        return pendulum.observe(self.params, torch.as_tensor(self.state)).numpy().astype(np.float32)
