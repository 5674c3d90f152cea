"""The aimer's task as Gymnasium environments on the batched `dprl.envs.trebuchet`:
`dprl/TrebuchetAim-v0` (`TrebuchetAimEnv`, one throw an episode), and N throws at once
(`TrebuchetAimVectorEnv`); `dprl.envs.gym_base` says what all dprl environments share."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector.utils import batch_space

from dprl.envs import gym_base
from dprl.envs.trebuchet import shots as aimer_shots
from dprl.envs.trebuchet_fast import throw_misses

class TrebuchetAimEnv(gym.Env):
    """The aimer's task (docs/original-2019.md §2) as a one-step contextual bandit, for RL agents.

    ## Description
    Each episode is one throw of the 2019 trebuchet (`dprl.envs.trebuchet`, Trebuchet.jl's
    simulator): the observation is a wind and a target distance, the action a release angle and
    a counterweight, and the reward the squared miss. The contexts are drawn as the aimer's
    training shots (`dprl.envs.trebuchet.shots`), so an agent here faces the task the DP aimer
    learns (`dprl train trebuchet-lm`), its misses computed by the same `throw_misses`.

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
        self.render_mode = gym_base.checked_render_mode(self, render_mode)
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
    """N trebuchet bandits thrown in one batched simulation (`dprl.envs.trebuchet_fast.launch`).

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
