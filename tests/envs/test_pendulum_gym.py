"""dprl/Pendulum-v1 (`dprl.envs.pendulum_gym`): the same episodes as Gymnasium's own from the same seed."""

import gymnasium as gym
import numpy as np
import pytest

import dprl.envs  # noqa: F401  (registers the ids)


def test_pendulum_episode_equals_gymnasiums_with_truncation():
    a, b = gym.make("dprl/Pendulum-v1"), gym.make("Pendulum-v1")
    obs_a, _ = a.reset(seed=3)
    obs_b, _ = b.reset(seed=3)
    np.testing.assert_array_equal(obs_a, obs_b)
    rng = np.random.default_rng(0)
    for t in range(200):
        action = rng.uniform(-2, 2, (1,)).astype(np.float32)
        b_state = np.array(b.unwrapped.state, dtype=np.float64)
        a.unwrapped.state = b_state.copy()  # per-transition check; see tests/envs/test_pendulum.py
        obs_a, r_a, term_a, trunc_a, _ = a.step(action)
        obs_b, r_b, term_b, trunc_b, _ = b.step(action)
        np.testing.assert_allclose(obs_a, obs_b, rtol=0, atol=1e-6)
        assert r_a == pytest.approx(r_b, rel=1e-6) and (term_a, trunc_a) == (term_b, trunc_b)
    assert trunc_a and trunc_b


def test_bad_actions_and_render():
    pend = gym.make("dprl/Pendulum-v1", render_mode="rgb_array")
    pend.reset(seed=0)
    with pytest.raises(ValueError, match="torque"):
        pend.unwrapped.step(np.array([np.nan], dtype=np.float32))
    assert pend.render().shape == (300, 300, 3)


@pytest.mark.parametrize("actions", [[np.nan, 0.0], [np.inf, 0.0], [[0.0, 0.0], [0.0, 0.0]], [0.0], ["a", "b"]])
def test_the_pendulum_vector_env_refuses_what_the_single_one_refuses(actions):
    env = gym.make_vec("dprl/Pendulum-v1", num_envs=2, vectorization_mode="vector_entry_point")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="actions must be 2 finite torques"):
        env.step(np.array(actions))
    env.step(np.zeros((2, 1), dtype=np.float32))
    env.step(np.array([5.0, -5.0]))  # out of ±2 N·m is clipped, as the single env does


def test_the_float_step_equals_the_tensor_step():
    """The single environment steps on floats; it must give the tensor step's numbers exactly."""
    import torch

    from dprl.envs import pendulum, pendulum_gym

    rng = np.random.default_rng(14)
    for variant in pendulum.VARIANTS:
        params = pendulum.PendulumParams(variant=variant)
        for state, torque in zip(rng.uniform(-1, 1, (200, 2)) * [7.0, 9.0], rng.uniform(-4, 4, 200)):
            ours, reward = pendulum_gym.float_step(params, state.tolist(), float(torque))
            theirs, r, _ = pendulum.step(params, torch.tensor(state), torch.tensor(torque, dtype=torch.float64))
            assert ours == tuple(theirs.tolist()) and reward == r.item()


def test_the_vector_env_starts_at_given_states_and_refuses_wrong_ones():
    import torch

    from dprl.envs import pendulum

    starts = np.array([[0.1, 0.2], [3.0, -0.5], [-2.0, 0.3]])
    envs = gym.make_vec("dprl/Pendulum-v1", num_envs=3, vectorization_mode="vector_entry_point")
    obs, _ = envs.reset(seed=0, options={"start_states": starts})
    params = pendulum.PendulumParams()
    np.testing.assert_array_equal(obs, pendulum.observe(params, torch.as_tensor(starts)).numpy().astype(np.float32))
    _, reward, _, _, _ = envs.step(np.zeros((3, 1), dtype=np.float32))
    np.testing.assert_array_equal(reward, pendulum.step(params, torch.as_tensor(starts), torch.zeros(3, dtype=torch.float64))[1].numpy())
    for bad in (starts[:2], np.full((3, 2), np.nan), starts[:, :1], starts + 1j, np.full((3, 2), "a")):
        with pytest.raises(ValueError, match=r"options\['start_states'\] must be 3 finite start states, shape \(3, 2\)"):
            envs.reset(options={"start_states": bad})
