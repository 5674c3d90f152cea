"""Gymnasium environments on top of the pure step functions: the exact dynamics for any
Gymnasium user, Stable-Baselines3 included. Registered by `import dprl.envs` as

| id                  | dynamics                         | time limit | reward threshold |
|---------------------|----------------------------------|------------|------------------|
| dprl/CartPole-v1    | `dprl.envs.cartpole`             | 500        | 475              |
| dprl/CartPole-v0    | `dprl.envs.cartpole`             | 200        | 195              |
| dprl/Pendulum-v1    | `dprl.envs.pendulum` (gymnasium) | 200        | none             |
| dprl/TrebuchetAim-v0| `dprl.envs.trebuchet`, one throw | 1          | none             |

`gym.make("dprl/CartPole-v1")` after `import dprl.envs`, or `gym.make("dprl.envs:dprl/CartPole-v1")`.
`gym.make_vec(id, num_envs=N, vectorization_mode="vector_entry_point")` gives the batched
versions, which step all N environments in one tensor operation.

Seeding, start states and spaces follow Gymnasium's classic_control exactly, so the same seed
gives the same episode as Gymnasium's own CartPole-v1 and Pendulum-v1. The state is float64;
observations are float32, as Gymnasium's.

The single environments step one state on Python floats (`_cartpole_step`, `_pendulum_step`):
the formulas of `dprl.envs.cartpole.step` and `dprl.envs.pendulum.step` in the same order, which
give the same float64 numbers (tests/envs/test_wrappers.py checks them against the tensor
steps) without a dozen tensor operations' overhead on every call.
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.envs.classic_control import utils as classic_utils
from gymnasium.vector.utils import batch_space

from dprl.envs import cartpole, pendulum
from dprl.envs.trebuchet import shots as aimer_shots
from dprl.envs.trebuchet import throw_misses


def _checked_render_mode(env, render_mode):
    if render_mode is not None and render_mode not in env.metadata["render_modes"]:
        raise ValueError(f"render_mode must be one of {env.metadata['render_modes']} or None; got {render_mode!r}")
    return render_mode


def _canvas(width=400, height=300):
    return np.full((height, width, 3), 255, dtype=np.uint8)


def _draw_segment(image, p0, p1, color, thickness=3):
    """A thick line from p0 to p1 (pixel coordinates, y down) into an RGB array."""
    length = max(abs(p1[0] - p0[0]), abs(p1[1] - p0[1]), 1)
    for t in np.linspace(0, 1, int(length) * 2 + 1):
        x, y = int(round(p0[0] + t * (p1[0] - p0[0]))), int(round(p0[1] + t * (p1[1] - p0[1])))
        image[max(y - thickness, 0) : y + thickness + 1, max(x - thickness, 0) : x + thickness + 1] = color


def _square(x: float) -> float:
    return x * x  # what torch's x**2 computes; Python's pow(x, 2) may round differently


def _cartpole_step(params: cartpole.CartPoleParams, state, force_sign: float):
    """`cartpole.step` of one state (a sequence of 4 floats) under a force of ±1 × 10 N, on floats."""
    x, x_dot, theta, theta_dot = state
    force = force_sign * params.force_mag
    costheta, sintheta = math.cos(theta), math.sin(theta)
    temp = (force + cartpole.polemass_length(params) * _square(theta_dot) * sintheta) / cartpole.total_mass(params)
    thetaacc = (params.gravity * sintheta - costheta * temp) / (
        params.length * (4.0 / 3.0 - params.masspole * _square(costheta) / cartpole.total_mass(params))
    )
    xacc = temp - cartpole.polemass_length(params) * thetaacc * costheta / cartpole.total_mass(params)
    nxt = (x + params.tau * x_dot, x_dot + params.tau * xacc, theta + params.tau * theta_dot, theta_dot + params.tau * thetaacc)
    done = nxt[0] < -params.x_threshold or nxt[0] > params.x_threshold or nxt[2] < -params.theta_threshold or nxt[2] > params.theta_threshold
    return nxt, 1.0, done


def _pendulum_step(params: pendulum.PendulumParams, state, action: float):
    """`pendulum.step` of one state (θ, θ̇) under one torque, on floats: (state, reward)."""
    theta, theta_dot = state
    u = min(max(action, -params.max_torque), params.max_torque) if params.variant == "gymnasium" else action
    normalized = theta - 2 * math.pi * math.floor((theta + math.pi) / (2 * math.pi))
    reward = -(_square(normalized) + 0.1 * _square(theta_dot) + 0.001 * _square(u))
    accel = 3 * params.g / (2 * params.l) * math.sin(theta) + 3.0 / (params.m * params.l**2) * u
    if params.variant == "gymnasium":
        new_theta_dot = min(max(theta_dot + accel * params.dt, -params.max_speed), params.max_speed)
        new_theta = theta + new_theta_dot * params.dt
    else:
        unclipped = theta_dot + accel * params.dt
        new_theta = theta + unclipped * params.dt
        new_theta_dot = min(max(unclipped, -params.max_speed), params.max_speed)
    return (new_theta, new_theta_dot), reward


class CartPoleEnv(gym.Env):
    """CartPole with Gymnasium's spaces: action 0 pushes left (−10 N), 1 pushes right (+10 N);
    observation (x, ẋ, θ, θ̇) as float32; +1 reward per step; terminated past 2.4 m or 12°."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50}

    def __init__(self, render_mode: str | None = None):
        self.params = cartpole.CartPoleParams()
        high = np.array([self.params.x_threshold * 2, np.inf, self.params.theta_threshold * 2, np.inf], dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self.observation_space = spaces.Box(-high, high, dtype=np.float32)
        self.render_mode = _checked_render_mode(self, render_mode)
        self.state = None

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        low, high = classic_utils.maybe_parse_reset_bounds(options, -0.05, 0.05)
        self.state = self.np_random.uniform(low=low, high=high, size=(4,))
        return self.state.astype(np.float32), {}

    def step(self, action):
        if not self.action_space.contains(action):
            raise ValueError(f"action must be 0 or 1; got {action!r}")
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        state, reward, done = _cartpole_step(self.params, self.state.tolist(), 2.0 * int(action) - 1.0)
        self.state = np.array(state)
        return np.array(state, dtype=np.float32), reward, done, False, {}

    def render(self):
        if self.render_mode != "rgb_array" or self.state is None:
            return None
        image = _canvas()
        scale = 400 / (self.params.x_threshold * 2)
        x, theta = self.state[0], self.state[2]
        cart = (200 + x * scale, 200)
        image[190:211, int(cart[0]) - 25 : int(cart[0]) + 26] = (40, 40, 40)
        tip = (cart[0] + math.sin(theta) * 2 * self.params.length * scale, cart[1] - math.cos(theta) * 2 * self.params.length * scale)
        _draw_segment(image, cart, tip, (202, 152, 101), 4)
        image[211:213, :] = (0, 0, 0)
        return image


class PendulumEnv(gym.Env):
    """Pendulum-v1 with Gymnasium's spaces: action torque in [−2, 2] N·m; observation
    (cos θ, sin θ, θ̇) as float32; reward −(θ² + 0.1 θ̇² + 0.001 u²); never terminates."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(self, render_mode: str | None = None, variant: str = "gymnasium"):
        self.params = pendulum.PendulumParams(variant=variant)
        high = np.array([1.0, 1.0, self.params.max_speed], dtype=np.float32)
        self.action_space = spaces.Box(-self.params.max_torque, self.params.max_torque, shape=(1,), dtype=np.float32)
        self.observation_space = spaces.Box(-high, high, dtype=np.float32)
        self.render_mode = _checked_render_mode(self, render_mode)
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
        state, reward = _pendulum_step(self.params, np.asarray(self.state, dtype=np.float64).tolist(), float(u[0]))
        self.state = np.array(state)
        return self._observation(), reward, False, False, {}

    def render(self):
        if self.render_mode != "rgb_array" or self.state is None:
            return None
        image = _canvas(300, 300)
        theta = self.state[0]
        tip = (150 + 100 * math.sin(theta), 150 - 100 * math.cos(theta))
        _draw_segment(image, (150, 150), tip, (204, 77, 77), 6)
        image[146:155, 146:155] = (0, 0, 0)
        return image


def _describe(actions: np.ndarray) -> str:
    return f"shape {actions.shape}, dtype {actions.dtype}, values {np.array2string(actions.reshape(-1)[:4], separator=', ')}"


class _BatchedEnv(gym.vector.VectorEnv):
    """N environments stepped together; a finished one resets on the next step (Gymnasium's
    default next-step autoreset), returning its first observation with reward 0."""

    metadata = {"autoreset_mode": gym.vector.AutoresetMode.NEXT_STEP}

    def __init__(self, single: gym.Env, num_envs: int, max_episode_steps: int):
        if num_envs < 1:
            raise ValueError(f"num_envs must be at least 1; got {num_envs}")
        self.num_envs = num_envs
        self.max_episode_steps = max_episode_steps
        self.single_action_space = single.action_space
        self.single_observation_space = single.observation_space
        self.action_space = batch_space(single.action_space, num_envs)
        self.observation_space = batch_space(single.observation_space, num_envs)
        self.params = single.params
        self.state = None
        self.elapsed = np.zeros(num_envs, dtype=np.int64)
        self.restart = np.zeros(num_envs, dtype=bool)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.state = self._start_states(self.num_envs)
        self.elapsed[:] = 0
        self.restart[:] = False
        return self._observations(), {}

    def step(self, actions):
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        state, reward, terminated = self._step(self.state, actions)
        state, reward, terminated = state.numpy(), reward.numpy().astype(np.float64), terminated.numpy()
        self.elapsed += 1
        truncated = (self.elapsed >= self.max_episode_steps) & ~terminated
        if self.restart.any():
            state[self.restart] = self._start_states(int(self.restart.sum()))
            reward[self.restart] = 0.0
            terminated[self.restart] = truncated[self.restart] = False
            self.elapsed[self.restart] = 0
        self.state = state
        self.restart = terminated | truncated
        return self._observations(), reward, terminated, truncated, {}


class CartPoleVectorEnv(_BatchedEnv):
    def __init__(self, num_envs: int = 1, max_episode_steps: int = 500, render_mode: str | None = None):
        super().__init__(CartPoleEnv(), num_envs, max_episode_steps)

    def _start_states(self, n):
        return self.np_random.uniform(low=-0.05, high=0.05, size=(n, 4))

    def _step(self, state, actions):
        actions = np.asarray(actions)
        if not self.action_space.contains(actions):  # the single env's rule, for each of the N
            raise ValueError(f"actions must be {self.num_envs} integers, each 0 or 1; got {_describe(actions)}")
        force = torch.as_tensor(actions, dtype=torch.float64) * 2 - 1
        return cartpole.step(self.params, torch.as_tensor(state, dtype=torch.float64), force)

    def _observations(self):
        return self.state.astype(np.float32)


class PendulumVectorEnv(_BatchedEnv):
    def __init__(self, num_envs: int = 1, max_episode_steps: int = 200, render_mode: str | None = None):
        super().__init__(PendulumEnv(), num_envs, max_episode_steps)

    def _start_states(self, n):
        return self.np_random.uniform(low=[-np.pi, -1.0], high=[np.pi, 1.0], size=(n, 2))

    def _step(self, state, actions):
        actions = np.asarray(actions)
        # The single env's rule, for each of the N: one finite torque (clipped to ±2 N·m).
        if actions.shape not in ((self.num_envs,), (self.num_envs, 1)) or not np.issubdtype(actions.dtype, np.number) or not np.isfinite(actions).all():
            raise ValueError(f"actions must be {self.num_envs} finite torques, shape ({self.num_envs}, 1) or ({self.num_envs},); got {_describe(actions)}")
        torque = torch.as_tensor(actions.astype(np.float32).reshape(self.num_envs), dtype=torch.float64)
        return pendulum.step(self.params, torch.as_tensor(state, dtype=torch.float64), torque)

    def _observations(self):
        return pendulum.observe(self.params, torch.as_tensor(self.state)).numpy().astype(np.float32)


class TrebuchetAimEnv(gym.Env):
    """The aimer's task (spec §2) as a one-step contextual bandit, for RL agents.

    Observation: (wind in m/s, + is a tailwind; target distance in m) as float32, drawn as the
    aimer's training shots: wind ~ N(0, 5²), target ~ U(20, 100).
    Action: (release angle in degrees, counterweight in lb) in [1, 89] × [20, 600]: the
    counterweights where distance changes continuously (it peaks near 520 lb; from about 560 lb
    the sling wraps and the stone flies backwards).
    Reward: −(distance − target)² in m²; a throw that does not land scores −target².
    Termination: after the one throw.
    """

    metadata = {"render_modes": []}

    def __init__(self, render_mode: str | None = None):
        self.action_space = spaces.Box(np.array([1.0, 20.0], dtype=np.float32), np.array([89.0, 600.0], dtype=np.float32), dtype=np.float32)
        self.observation_space = spaces.Box(np.array([-np.inf, 20.0], dtype=np.float32), np.array([np.inf, 100.0], dtype=np.float32), dtype=np.float32)
        self.render_mode = _checked_render_mode(self, render_mode)
        self.context = None

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        wind, target = aimer_shots(self.np_random, 1)
        self.context = np.array([wind[0], target[0]])
        return self.context.astype(np.float32), {}

    def step(self, action):
        if self.context is None:
            raise RuntimeError("call reset() before step()")
        reward, miss, landed = _aim_rewards(self.context[None], np.asarray(action, dtype=np.float64).reshape(1, -1), self.action_space)
        thrown, self.context = self.context, None  # one throw per episode
        return thrown.astype(np.float32), float(reward[0]), True, False, {"miss_m": float(miss[0]), "landed": bool(landed[0])}


def _aim_rewards(contexts, actions, action_space):
    """−miss² of each (wind, target) context thrown with (angle, weight); also the misses."""
    if actions.shape != (len(contexts), 2) or not np.isfinite(actions).all():
        raise ValueError(f"actions must be finite (angle, weight) pairs, shape ({len(contexts)}, 2); got shape {actions.shape}")
    low, high = action_space.low.astype(np.float64), action_space.high.astype(np.float64)
    if ((actions < low) | (actions > high)).any():
        raise ValueError(f"actions must be angle in [{low[0]:g}, {high[0]:g}] degrees and weight in [{low[1]:g}, {high[1]:g}] lb; "
                         f"got {actions[((actions < low) | (actions > high)).any(axis=1)][0].tolist()}")
    miss, landed = throw_misses(contexts[:, 0], contexts[:, 1], actions[:, 0], actions[:, 1])
    miss = miss.numpy()
    return -(miss**2), miss, landed.numpy()


class TrebuchetAimVectorEnv(gym.vector.VectorEnv):
    """N trebuchet bandits thrown in one batched simulation. Every step ends every episode, so
    it resets in the same step: the observations returned are the next contexts, and the ones
    just thrown at are in info["final_obs"]."""

    metadata = {"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP}

    def __init__(self, num_envs: int = 1, render_mode: str | None = None):
        if num_envs < 1:
            raise ValueError(f"num_envs must be at least 1; got {num_envs}")
        single = TrebuchetAimEnv(render_mode)
        self.num_envs = num_envs
        self.single_action_space, self.single_observation_space = single.action_space, single.observation_space
        self.action_space = batch_space(single.action_space, num_envs)
        self.observation_space = batch_space(single.observation_space, num_envs)
        self.contexts = None

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.contexts = np.stack(aimer_shots(self.np_random, self.num_envs), axis=1)
        return self.contexts.astype(np.float32), {}

    def step(self, actions):
        if self.contexts is None:
            raise RuntimeError("call reset() before step()")
        reward, miss, landed = _aim_rewards(self.contexts, np.asarray(actions, dtype=np.float64), self.single_action_space)
        thrown = self.contexts.astype(np.float32)
        self.contexts = np.stack(aimer_shots(self.np_random, self.num_envs), axis=1)
        done = np.ones(self.num_envs, dtype=bool)
        info = {"miss_m": miss, "landed": landed, "final_obs": thrown, "_final_obs": done}
        return self.contexts.astype(np.float32), reward, done, np.zeros_like(done), info
