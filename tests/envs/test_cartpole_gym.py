"""dprl/CartPole-v1 and v0 (`dprl.envs.cartpole_gym`): the same episodes as Gymnasium's own from the same seed."""

import gymnasium as gym
import numpy as np
import pytest

import dprl.envs  # noqa: F401  (registers the ids)


@pytest.mark.parametrize("ours, theirs, steps", [("dprl/CartPole-v1", "CartPole-v1", 500), ("dprl/CartPole-v0", "CartPole-v0", 200)])
def test_cartpole_episodes_equal_gymnasiums_including_the_end(ours, theirs, steps):
    for seed in range(4):
        a, b = gym.make(ours), gym.make(theirs)
        obs_a, _ = a.reset(seed=seed)
        obs_b, _ = b.reset(seed=seed)
        np.testing.assert_array_equal(obs_a, obs_b)  # same seeding, same start
        rng = np.random.default_rng(seed)
        # A good controller so that some episodes reach the time limit (truncation).
        for t in range(steps + 1):
            action = int(obs_b[2] * 3 + obs_b[3] > 0) if seed % 2 else int(rng.integers(2))
            obs_a, r_a, term_a, trunc_a, _ = a.step(action)
            obs_b, r_b, term_b, trunc_b, _ = b.step(action)
            np.testing.assert_allclose(obs_a, obs_b, rtol=0, atol=1e-6)
            assert (r_a, term_a, trunc_a) == (r_b, term_b, trunc_b)
            if term_b or trunc_b:
                break
        if seed % 2:
            assert trunc_b and t == steps - 1


def test_vector_env_steps_and_resets_each_environment():
    env = gym.make_vec("dprl/CartPole-v1", num_envs=8, vectorization_mode="vector_entry_point")
    obs, _ = env.reset(seed=0)
    assert obs.shape == (8, 4) and obs.dtype == np.float32
    finished_once = np.zeros(8, dtype=bool)
    ended = np.zeros(8, dtype=bool)
    for _ in range(60):
        obs, reward, terminated, truncated, _ = env.step(np.ones(8, dtype=np.int64))  # always right: falls fast
        # The step after an end restarts that environment: reward 0, not ended, a fresh start.
        assert np.all(reward[ended] == 0.0) and not (terminated[ended] | truncated[ended]).any()
        assert np.all(np.abs(obs[ended]) <= 0.05)
        assert np.all(reward[~ended] == 1.0)
        ended = terminated | truncated
        finished_once |= terminated
    assert finished_once.all()
    assert np.all(np.abs(obs) < 5)


def test_bad_actions_and_render():
    env = gym.make("dprl/CartPole-v1", render_mode="rgb_array")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.unwrapped.step(3)
    frame = env.render()
    assert frame.shape == (300, 400, 3) and frame.dtype == np.uint8 and (frame < 255).any()


@pytest.mark.parametrize("actions", [[2, 0, 1], [-1, 0, 1], [np.nan, 0, 1], [1.0, 0.0, 1.0], [0, 1], [[0], [1], [1]]])
def test_the_cartpole_vector_env_refuses_what_the_single_one_refuses(actions):
    env = gym.make_vec("dprl/CartPole-v1", num_envs=3, vectorization_mode="vector_entry_point")
    env.reset(seed=0)
    before = env.unwrapped.state.copy()
    with pytest.raises(ValueError, match="actions must be 3 integers, each 0 or 1"):
        env.step(np.array(actions))
    assert np.array_equal(env.unwrapped.state, before)  # nothing stepped
    env.step(np.array([0, 1, 1]))


def test_the_float_step_equals_the_tensor_step():
    """The single environment steps on floats; it must give the tensor step's numbers exactly."""
    import torch

    from dprl.envs import cartpole, cartpole_gym

    rng = np.random.default_rng(14)
    params = cartpole.CartPoleParams()
    for state in rng.uniform(-1, 1, (200, 4)) * [2.5, 2.0, 0.25, 2.0]:
        for sign in (-1.0, 1.0):
            ours, reward, done = cartpole_gym.float_step(params, state.tolist(), sign)
            theirs, r, d = cartpole.step(params, torch.tensor(state), torch.tensor(sign, dtype=torch.float64))
            assert ours == tuple(theirs.tolist()) and reward == r.item() and done == d.item()


def test_the_vector_env_starts_at_given_states():
    carts = gym.make_vec("dprl/CartPole-v1", num_envs=2, vectorization_mode="vector_entry_point")
    obs, _ = carts.reset(options={"start_states": np.array([[0.0, 0.1, 0.02, -0.1], [0.5, 0.0, 0.0, 0.0]])})
    np.testing.assert_array_equal(obs, np.array([[0.0, 0.1, 0.02, -0.1], [0.5, 0.0, 0.0, 0.0]], dtype=np.float32))
    obs, _ = carts.reset(seed=1)  # without the option: seeded draws again
    assert np.abs(obs).max() <= 0.05
