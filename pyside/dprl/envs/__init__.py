"""Pure, batched, differentiable environments: (params, state, action) -> (state, reward, done).

Importing this package registers the Gymnasium versions (`cartpole_gym`, `pendulum_gym`, `trebuchet_aim_gym`): dprl/CartPole-v1,
dprl/CartPole-v0, dprl/Pendulum-v1 and dprl/TrebuchetAim-v0 (the aimer's task as a one-step
contextual bandit). It imports Gymnasium but not torch; the environments
load torch when made.
"""

import gymnasium as gym

from dprl.goals import CARTPOLE_VERSIONS

_REGISTRATIONS = {
    "dprl/CartPole-v1": dict(entry_point="dprl.envs.cartpole_gym:CartPoleEnv", vector_entry_point="dprl.envs.cartpole_gym:CartPoleVectorEnv",
                             max_episode_steps=CARTPOLE_VERSIONS["v1"][0], reward_threshold=CARTPOLE_VERSIONS["v1"][1], kwargs={}),
    "dprl/CartPole-v0": dict(entry_point="dprl.envs.cartpole_gym:CartPoleEnv", vector_entry_point="dprl.envs.cartpole_gym:CartPoleVectorEnv",
                             max_episode_steps=CARTPOLE_VERSIONS["v0"][0], reward_threshold=CARTPOLE_VERSIONS["v0"][1], kwargs={}),
    "dprl/Pendulum-v1": dict(entry_point="dprl.envs.pendulum_gym:PendulumEnv", vector_entry_point="dprl.envs.pendulum_gym:PendulumVectorEnv",
                             max_episode_steps=200, kwargs={}),
    "dprl/TrebuchetAim-v0": dict(entry_point="dprl.envs.trebuchet_aim_gym:TrebuchetAimEnv", vector_entry_point="dprl.envs.trebuchet_aim_gym:TrebuchetAimVectorEnv",
                                 kwargs={}),
}
for _id, _spec in _REGISTRATIONS.items():
    if _id not in gym.registry:
        gym.register(id=_id, **_spec)
