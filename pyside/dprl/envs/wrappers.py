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


def _describe(values: np.ndarray) -> str:
    return f"shape {values.shape}, dtype {values.dtype}, values {np.array2string(values.reshape(-1)[:4], separator=', ')}"


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
            raise ValueError(f"options['start_states'] must be {self.num_envs} finite start states, shape ({self.num_envs}, {size}); got {_describe(states)}")
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


class CartPoleVectorEnv(_BatchedEnv):
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
            raise ValueError(f"actions must be {self.num_envs} integers, each 0 or 1; got {_describe(actions)}")
        force = torch.as_tensor(actions, dtype=torch.float64) * 2 - 1
        return cartpole.step(self.params, torch.as_tensor(state, dtype=torch.float64), force)

    def _observations(self):
        return self.state.astype(np.float32)


class PendulumVectorEnv(_BatchedEnv):
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
            raise ValueError(f"actions must be {self.num_envs} finite torques, shape ({self.num_envs}, 1) or ({self.num_envs},); got {_describe(actions)}")
        torque = torch.as_tensor(actions.astype(np.float32).reshape(self.num_envs), dtype=torch.float64)
        return pendulum.step(self.params, torch.as_tensor(state, dtype=torch.float64), torque)

    def _observations(self):
        return pendulum.observe(self.params, torch.as_tensor(self.state)).numpy().astype(np.float32)


class TrebuchetAimEnv(gym.Env):
    """The aimer's task (docs/original-2019.md §2) as a one-step contextual bandit, for RL agents.

    ## Description
    Each episode is one throw of the 2019 trebuchet (`dprl.envs.trebuchet`, Trebuchet.jl's
    simulator): the observation is a wind and a target distance, the action a release angle and
    a counterweight, and the reward the squared miss. The contexts are drawn as the aimer's
    training shots (`dprl.envs.trebuchet.shots`), so an agent here faces the task the DP aimer
    learns (`dprl train trebuchet`), its misses computed by the same `throw_misses`.

    ## Action Space
    `Box([1, 20], [89, 600], (2,), float32)`:

    | index | action                                  | min | max | unit |
    |-------|-----------------------------------------|-----|-----|------|
    | 0     | release angle of the projectile's path  | 1   | 89  | °    |
    | 1     | counterweight                           | 20  | 600 | lb   |

    The counterweights where the distance changes continuously: it peaks near 520 lb, and from
    about 560 lb the sling wraps and the stone flies backwards. Actions outside the box, or not
    finite, raise ValueError (they are not clipped).

    ## Observation Space
    `Box([-inf, 20], [inf, 100], (2,), float32)`:

    | index | observation                            | min  | max | unit |
    |-------|----------------------------------------|------|-----|------|
    | 0     | wind along the throw (+: a tailwind)   | -inf | inf | m/s  |
    | 1     | target distance from the pivot         | 20   | 100 | m    |

    ## Rewards
    -(distance - target)² in m², distance being where the projectile lands (m from the pivot);
    a throw that does not land scores -target². `info` holds "miss_m", |distance - target| in m
    (the target for a failed throw), and "landed".

    ## Starting State
    Wind ~ N(0, 5²) m/s (Gaussian, as the original's) and target ~ U(20, 100) m, drawn from the
    env's seeded `np_random`.

    ## Episode End
    Termination after the one throw. There is no truncation; the step returns the context just
    thrown at as its observation, and another `step` before `reset` raises RuntimeError.

    ## Arguments
    `gym.make("dprl/TrebuchetAim-v0", render_mode=None)`: nothing is drawn, so `render_mode` can
    only be None. `gym.make_vec` returns `TrebuchetAimVectorEnv`.

    ## Version History
    - v0: the aimer's 2019 task (the blog's trebuchet, its wind and target distributions) with
      the action box above.

    ## Example
    A 45° throw with 200 lb, whatever the target:

    >>> env = gym.make("dprl/TrebuchetAim-v0")
    >>> obs, info = env.reset(seed=0)
    >>> print(obs.round(3))
    [ 0.629 41.583]
    >>> obs, reward, terminated, truncated, info = env.step(np.array([45.0, 200.0], dtype=np.float32))
    >>> print(round(reward, 2), round(info["miss_m"], 3), info["landed"], terminated, truncated)
    -1915.19 43.763 True True False
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
    """N trebuchet bandits thrown in one batched simulation (`dprl.envs.trebuchet.launch`).

    ## Description
    `TrebuchetAimEnv`'s bandit, N times over: N contexts, N throws in one call of the batched
    simulator per step. What `gym.make_vec("dprl/TrebuchetAim-v0", num_envs=N,
    vectorization_mode="vector_entry_point")` returns.

    ## Action Space
    `Box((N, 2), float32)`: row i is environment i's (angle in °, counterweight in lb), within
    `TrebuchetAimEnv`'s bounds ([1, 89] × [20, 600]); other shapes, values outside, NaN or inf
    raise ValueError.

    ## Observation Space
    `Box((N, 2), float32)`: row i is environment i's (wind in m/s, target in m), as in
    `TrebuchetAimEnv`'s table.

    ## Rewards
    As `TrebuchetAimEnv`: -(distance - target)² in m², -target² for a throw that does not land;
    `info["miss_m"]` and `info["landed"]` are arrays of N.

    ## Starting State
    N contexts drawn as `TrebuchetAimEnv`'s (wind ~ N(0, 5²) m/s, target ~ U(20, 100) m) from the
    seeded `np_random`, at `reset` and again after every step.

    ## Episode End
    Every step terminates every episode (no truncation), and each resets in the same step
    (Gymnasium's same-step autoreset): the observations returned are the next contexts, and
    `info["final_obs"]` holds the ones just thrown at (`info["_final_obs"]` all True).

    ## Arguments
    - `num_envs` (default 1): N, at least 1.
    - `render_mode`: None only, as `TrebuchetAimEnv`.

    ## Version History
    - v0: as `TrebuchetAimEnv`.

    ## Example
    >>> envs = gym.make_vec("dprl/TrebuchetAim-v0", num_envs=3, vectorization_mode="vector_entry_point")
    >>> obs, info = envs.reset(seed=0)
    >>> print(obs.round(3))
    [[ 0.629 21.322]
     [-0.661 85.062]
     [ 3.202 93.02 ]]
    >>> obs, reward, terminated, truncated, info = envs.step(np.tile(np.float32([45.0, 200.0]), (3, 1)))
    >>> print(reward.round(2), info["miss_m"].round(3), terminated)
    [-4099.02   -24.34    -7.82] [64.024  4.933  2.796] [ True  True  True]
    >>> print(info["final_obs"].round(3))
    [[ 0.629 21.322]
     [-0.661 85.062]
     [ 3.202 93.02 ]]
    """

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
