"""SB3's view of a batched, same-step-resetting Gymnasium vector environment."""

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("stable_baselines3", reason="the rl extra (Stable-Baselines3) is not installed")

import dprl.envs  # noqa: E402,F401  (registers the ids)
from dprl.rl.vec_env import SameStepVecEnv  # noqa: E402


def bandits(n):
    return SameStepVecEnv(gym.make_vec("dprl/TrebuchetAim-v0", num_envs=n, vectorization_mode="vector_entry_point"))


def test_steps_report_dones_and_terminal_observations_in_sb3_form():
    env = bandits(4)
    env.seed(11)
    first = env.reset()
    actions = np.tile(np.array([[40.0, 250.0]], dtype=np.float32), (4, 1))
    following, rewards, dones, infos = env.step(actions)
    assert following.shape == (4, 2) and rewards.shape == (4,) and dones.all()
    assert all(np.array_equal(info["terminal_observation"], obs) for info, obs in zip(infos, first))
    assert not any(info["TimeLimit.truncated"] for info in infos)
    assert (rewards < 0).all()


def test_seeding_reproduces_the_contexts():
    a, b = bandits(3), bandits(3)
    a.seed(5)
    b.seed(5)
    assert np.array_equal(a.reset(), b.reset())
    assert a.get_attr("num_envs") == [3, 3, 3] and a.env_is_wrapped(gym.Wrapper) == [False] * 3


def test_a_next_step_resetting_env_is_refused():
    with pytest.raises(ValueError, match="SAME_STEP"):
        SameStepVecEnv(gym.make_vec("dprl/CartPole-v1", num_envs=2, vectorization_mode="vector_entry_point"))
