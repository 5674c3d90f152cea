"""dprl/TrebuchetAim-v0 (`dprl.envs.trebuchet_aim_gym`): the aimer's task as a one-step bandit."""

import gymnasium as gym
import numpy as np
import pytest

import dprl.envs  # noqa: F401  (registers the ids)


def test_trebuchet_bandit_rewards_the_squared_miss_of_the_simulator():
    from dprl.envs import trebuchet

    env = gym.make("dprl/TrebuchetAim-v0")
    observed = env.reset(seed=3)[0]
    wind, target = env.unwrapped.context  # float64; the observation is its float32 copy
    assert np.array_equal(observed, env.unwrapped.context.astype(np.float32))
    thrown, reward, terminated, truncated, info = env.step(np.array([45.0, 200.0], dtype=np.float32))
    distance = trebuchet.shoot(wind, 45.0, 200.0).item()
    assert terminated and not truncated and np.array_equal(thrown, observed)
    assert reward == -((distance - target) ** 2) and info["miss_m"] == abs(distance - target) and info["landed"]
    with pytest.raises(RuntimeError, match="reset"):
        env.unwrapped.step(np.array([45.0, 200.0]))
    env.reset(seed=3)
    for bad, name in (([95.0, 200.0], "angle"), ([45.0, 5.0], "weight"), ([np.nan, 200.0], "finite")):
        with pytest.raises(ValueError, match=name):
            env.unwrapped.step(np.array(bad))


def test_trebuchet_vector_bandit_equals_single_throws_and_resets_in_the_same_step():
    vector = gym.make_vec("dprl/TrebuchetAim-v0", num_envs=5, vectorization_mode="vector_entry_point")
    contexts, _ = vector.reset(seed=7)
    exact = vector.unwrapped.contexts.copy()
    assert contexts.shape == (5, 2) and (contexts[:, 1] >= 20).all() and (contexts[:, 1] <= 100).all()
    actions = np.array([[10, 50], [30, 300], [45, 200], [60, 500], [80, 100]], dtype=np.float32)
    following, rewards, terminated, truncated, info = vector.step(actions)
    assert terminated.all() and not truncated.any()
    assert np.array_equal(info["final_obs"], contexts) and not np.array_equal(following, contexts)
    single = gym.make("dprl/TrebuchetAim-v0").unwrapped
    for context, action, reward in zip(exact, actions, rewards):
        single.reset()
        single.context = context  # the same shot, thrown alone
        assert single.step(action)[1] == pytest.approx(reward, rel=1e-12)  # batching changes nothing
    again = gym.make_vec("dprl/TrebuchetAim-v0", num_envs=5, vectorization_mode="vector_entry_point")
    assert np.array_equal(again.reset(seed=7)[0], contexts)
