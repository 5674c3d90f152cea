"""CartPole as Gymnasium environments on the batched `dprl.envs.cartpole.step`: `dprl/CartPole-v1`
and `dprl/CartPole-v0` (`CartPoleEnv`), and N of them stepped together (`CartPoleVectorEnv`);
`dprl.envs.gym_base` says what all dprl environments share."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.envs.classic_control import utils as classic_utils

from dprl.envs import cartpole, gym_base

def float_step(params: cartpole.CartPoleParams, state, force_sign: float):
    """`cartpole.step` of one state (a sequence of 4 floats) under a force of ±1 × 10 N, on floats."""
    x, x_dot, theta, theta_dot = state
    force = force_sign * params.force_mag
    costheta, sintheta = math.cos(theta), math.sin(theta)
    temp = (force + cartpole.polemass_length(params) * gym_base.square(theta_dot) * sintheta) / cartpole.total_mass(params)
    thetaacc = (params.gravity * sintheta - costheta * temp) / (
        params.length * (4.0 / 3.0 - params.masspole * gym_base.square(costheta) / cartpole.total_mass(params))
    )
    xacc = temp - cartpole.polemass_length(params) * thetaacc * costheta / cartpole.total_mass(params)
    nxt = (x + params.tau * x_dot, x_dot + params.tau * xacc, theta + params.tau * theta_dot, theta_dot + params.tau * thetaacc)
    done = nxt[0] < -params.x_threshold or nxt[0] > params.x_threshold or nxt[2] < -params.theta_threshold or nxt[2] > params.theta_threshold
    return nxt, 1.0, done


class CartPoleEnv(gym.Env):
    """CartPole on `dprl.envs.cartpole`, with Gymnasium's spaces, seeding and episodes.

    ## Description
    A pole is hinged, unactuated, to a cart that runs on a frictionless track; pushing the cart
    left or right keeps the pole upright (Barto, Sutton & Anderson 1983). The physics are those of
    `dprl.envs.cartpole.step` (Gymnasium's CartPole: explicit Euler with τ = 0.02 s, positions
    moved by the old velocities), computed in float64 on one state, so the same seed and actions
    give the same episode as Gymnasium's own CartPole-v1 (or -v0).

    ## Action Space
    `Discrete(2)`: 0 pushes the cart left with 10 N, 1 pushes it right with 10 N. Any other
    action raises ValueError.

    ## Observation Space
    `Box((4,), float32)`: the float64 state, rounded to float32.

    | index | observation                                | min              | max             | unit  |
    |-------|--------------------------------------------|------------------|-----------------|-------|
    | 0     | cart position x                            | -4.8             | 4.8             | m     |
    | 1     | cart velocity ẋ                            | -inf             | inf             | m/s   |
    | 2     | pole angle θ from upright (+: toward +x)   | -0.4189 (-24°)   | 0.4189 (24°)    | rad   |
    | 3     | pole angular velocity θ̇                    | -inf             | inf             | rad/s |

    The bounds on x and θ are twice the termination limits, so a terminal state is still inside.

    ## Rewards
    +1 for every step, the terminating step included: an episode's return is its length. The
    reward threshold (the env spec's) is 475 for v1 and 195 for v0.

    ## Starting State
    Each of the four state components uniform in [-0.05, 0.05], drawn from the env's seeded
    `np_random` as Gymnasium draws them; `reset(options={"low": l, "high": h})` moves the bounds.

    ## Episode End
    1. Termination: the cart's centre leaves the track, |x| > 2.4 m.
    2. Termination: the pole leans past 12°, |θ| > 0.2094 rad (strict comparisons, as Gymnasium).
    3. Truncation: 500 steps for dprl/CartPole-v1, 200 for dprl/CartPole-v0 (the `TimeLimit`
       that `gym.make` adds).

    ## Arguments
    `gym.make("dprl/CartPole-v1", render_mode=None)`: `render_mode` is None or "rgb_array" (a
    400×300 RGB drawing of the cart and pole). Gymnasium's `sutton_barto_reward` is not offered.
    `gym.make_vec` returns `CartPoleVectorEnv`.

    ## Version History
    - v1: Gymnasium's CartPole-v1: 500-step limit, reward threshold 475.
    - v0: the same dynamics with Gymnasium's CartPole-v0 limit of 200 steps and threshold 195,
      which is also the limit of the 2019 scripts (docs/original-2019.md §3.1).

    ## Example
    Always pushing right tips the pole over to the left within a few steps:

    >>> env = gym.make("dprl/CartPole-v1")
    >>> obs, info = env.reset(seed=0)
    >>> print(obs.round(4))
    [ 0.0137 -0.023  -0.0459 -0.0483]
    >>> steps, terminated, truncated = 0, False, False
    >>> while not (terminated or truncated):
    ...     obs, reward, terminated, truncated, info = env.step(1)
    ...     steps += 1
    >>> print(steps, terminated, truncated, round(float(obs[2]), 3))
    8 True False -0.228
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50}

    def __init__(self, render_mode: str | None = None):
        self.params = cartpole.CartPoleParams()
        high = np.array([self.params.x_threshold * 2, np.inf, self.params.theta_threshold * 2, np.inf], dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self.observation_space = spaces.Box(-high, high, dtype=np.float32)
        self.render_mode = gym_base.checked_render_mode(self, render_mode)
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
        state, reward, done = float_step(self.params, self.state.tolist(), 2.0 * int(action) - 1.0)
        self.state = np.array(state)
        return np.array(state, dtype=np.float32), reward, done, False, {}

    def render(self):
        if self.render_mode != "rgb_array" or self.state is None:
            return None
        image = gym_base.canvas()
        scale = 400 / (self.params.x_threshold * 2)
        x, theta = self.state[0], self.state[2]
        cart = (200 + x * scale, 200)
        image[190:211, int(cart[0]) - 25 : int(cart[0]) + 26] = (40, 40, 40)
        tip = (cart[0] + math.sin(theta) * 2 * self.params.length * scale, cart[1] - math.cos(theta) * 2 * self.params.length * scale)
        gym_base.draw_segment(image, cart, tip, (202, 152, 101), 4)
        image[211:213, :] = (0, 0, 0)
        return image


class CartPoleVectorEnv(gym_base.BatchedEnv):
    """N CartPoles stepped together by one call of the batched `dprl.envs.cartpole.step`.

    ## Description
    `CartPoleEnv`'s environment, N times over: the same dynamics, rewards and episode ends, on a
    float64 state of shape (N, 4) stepped in one tensor operation. What `gym.make_vec(id,
    num_envs=N, vectorization_mode="vector_entry_point")` returns for dprl/CartPole-v1 and -v0.

    ## Action Space
    `MultiDiscrete([2] * N)`: for each environment 0 pushes left with 10 N, 1 right with 10 N.
    Any other shape or value raises ValueError.

    ## Observation Space
    `Box((N, 4), float32)`: row i is environment i's observation, with the columns and bounds of
    `CartPoleEnv`'s table (x in m, ẋ in m/s, θ in rad, θ̇ in rad/s).

    ## Rewards
    +1 for every step of each environment, as `CartPoleEnv`, and 0 on the step that restarts it.

    ## Starting State
    Each state component uniform in [-0.05, 0.05]: one (N, 4) draw from the seeded `np_random`
    at `reset`, then one (k, 4) draw for the k environments a step restarts; or, with
    `reset(options={"start_states": S})`, the rows of S (N, 4) at reset. Gymnasium's own
    CartPoleVectorEnv draws (4, N), so its starts differ from these.

    ## Episode End
    Each environment terminates as `CartPoleEnv` (|x| > 2.4 m or |θ| > 12°) or is truncated after
    `max_episode_steps` steps. It restarts on its next step (Gymnasium's next-step autoreset): that
    step ignores its action and returns the fresh start with reward 0, neither terminated nor
    truncated.

    ## Arguments
    - `num_envs` (default 1): N, at least 1.
    - `max_episode_steps` (default 500): the truncation length; `gym.make_vec` passes the id's
      (500 for dprl/CartPole-v1, 200 for dprl/CartPole-v0).
    - `render_mode`: accepted for Gymnasium's sake and ignored; nothing is drawn.

    ## Version History
    - v1, v0: as `CartPoleEnv`.

    ## Example
    >>> envs = gym.make_vec("dprl/CartPole-v1", num_envs=3, vectorization_mode="vector_entry_point")
    >>> envs
    CartPoleVectorEnv(dprl/CartPole-v1, num_envs=3)
    >>> obs, info = envs.reset(seed=0)
    >>> obs, reward, terminated, truncated, info = envs.step(np.array([0, 1, 1]))
    >>> print(obs.round(4))
    [[ 0.0132 -0.2175 -0.0469  0.2295]
     [ 0.0322  0.2362  0.0111 -0.2663]
     [ 0.0052  0.2382  0.0306 -0.3323]]
    >>> print(reward, terminated, truncated)
    [1. 1. 1.] [False False False] [False False False]
    """

    state_size = 4  # (x, ẋ, θ, θ̇)

    def __init__(self, num_envs: int = 1, max_episode_steps: int = 500, render_mode: str | None = None):
        super().__init__(CartPoleEnv(), num_envs, max_episode_steps)

    def _start_states(self, n):
        return self.np_random.uniform(low=-0.05, high=0.05, size=(n, 4))

    def _step(self, state, actions):
        actions = np.asarray(actions)
        if not self.action_space.contains(actions):  # the single env's rule, for each of the N
            raise ValueError(f"actions must be {self.num_envs} integers, each 0 or 1; got {gym_base.describe(actions)}")
        force = torch.as_tensor(actions, dtype=torch.float64) * 2 - 1
        return cartpole.step(self.params, torch.as_tensor(state, dtype=torch.float64), force)

    def _observations(self):
        return self.state.astype(np.float32)
