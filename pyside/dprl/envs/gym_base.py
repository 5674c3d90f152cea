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

One file an environment, each with its single and vector classes: `cartpole_gym`,
`pendulum_gym`, `trebuchet_aim_gym`; this module holds what they share (the batched base class,
the checks and the drawing).

The single environments step one state on Python floats (`cartpole_gym.float_step`,
`pendulum_gym.float_step`): the formulas of `dprl.envs.cartpole.step` and
`dprl.envs.pendulum.step` in the same order, which give the same float64 numbers
(tests/envs/test_cartpole_gym.py and test_pendulum_gym.py check them against the tensor steps)
without a dozen tensor operations' overhead on every call.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium.vector.utils import batch_space


def checked_render_mode(env, render_mode):
    if render_mode is not None and render_mode not in env.metadata["render_modes"]:
        raise ValueError(f"render_mode must be one of {env.metadata['render_modes']} or None; got {render_mode!r}")
    return render_mode


def canvas(width=400, height=300):
    return np.full((height, width, 3), 255, dtype=np.uint8)


def draw_segment(image, p0, p1, color, thickness=3):
    """A thick line from p0 to p1 (pixel coordinates, y down) into an RGB array."""
    length = max(abs(p1[0] - p0[0]), abs(p1[1] - p0[1]), 1)
    for t in np.linspace(0, 1, int(length) * 2 + 1):
        x, y = int(round(p0[0] + t * (p1[0] - p0[0]))), int(round(p0[1] + t * (p1[1] - p0[1])))
        image[max(y - thickness, 0) : y + thickness + 1, max(x - thickness, 0) : x + thickness + 1] = color


def square(x: float) -> float:
    return x * x  # what torch's x**2 computes; Python's pow(x, 2) may round differently


def describe(values: np.ndarray) -> str:
    return f"shape {values.shape}, dtype {values.dtype}, values {np.array2string(values.reshape(-1)[:4], separator=', ')}"


class BatchedEnv(gym.vector.VectorEnv):
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
        given = (options or {}).get("start_states")
        self.state = self._start_states(self.num_envs) if given is None else self._given_start_states(given)
        self.elapsed[:] = 0
        self.restart[:] = False
        return self._observations(), {}

    def _given_start_states(self, states):
        """`reset(options={"start_states": S})`: the N episodes start at the rows of S (N, state size),
        so that several agents can be scored on the same episodes; later restarts draw as usual."""
        size = self.state_size
        states = np.asarray(states)
        real = np.issubdtype(states.dtype, np.integer) or np.issubdtype(states.dtype, np.floating)
        if states.shape != (self.num_envs, size) or not real or not np.isfinite(states).all():
            raise ValueError(f"options['start_states'] must be {self.num_envs} finite start states, shape ({self.num_envs}, {size}); got {describe(states)}")
        return states.astype(np.float64).copy()

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
