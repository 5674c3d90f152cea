"""Pure, batched, differentiable environments: (params, state, action) -> (state, reward, done).

Importing this package registers the Gymnasium versions (`dprl.envs.wrappers`): dprl/CartPole-v1,
dprl/CartPole-v0, dprl/Pendulum-v1 and dprl/TrebuchetAim-v0 (the aimer's task as a one-step
contextual bandit). It imports Gymnasium but not torch; the environments
load torch when made.
"""

import gymnasium as gym

from dprl.goals import CARTPOLE_VERSIONS

_REGISTRATIONS = {
    "dprl/CartPole-v1": dict(entry_point="dprl.envs.wrappers:CartPoleEnv", vector_entry_point="dprl.envs.wrappers:CartPoleVectorEnv",
                             max_episode_steps=CARTPOLE_VERSIONS["v1"][0], reward_threshold=CARTPOLE_VERSIONS["v1"][1], kwargs={}),
    "dprl/CartPole-v0": dict(entry_point="dprl.envs.wrappers:CartPoleEnv", vector_entry_point="dprl.envs.wrappers:CartPoleVectorEnv",
                             max_episode_steps=CARTPOLE_VERSIONS["v0"][0], reward_threshold=CARTPOLE_VERSIONS["v0"][1], kwargs={}),
    "dprl/Pendulum-v1": dict(entry_point="dprl.envs.wrappers:PendulumEnv", vector_entry_point="dprl.envs.wrappers:PendulumVectorEnv",
                             max_episode_steps=200, kwargs={}),
    "dprl/TrebuchetAim-v0": dict(entry_point="dprl.envs.wrappers:TrebuchetAimEnv", vector_entry_point="dprl.envs.wrappers:TrebuchetAimVectorEnv",
                                 kwargs={}),
}
for _id, _spec in _REGISTRATIONS.items():
    if _id not in gym.registry:
        gym.register(id=_id, **_spec)
