"""The pure Pendulum against Gymnasium's own Pendulum-v1, and its 2019 variant."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dprl.envs import pendulum


def test_same_trajectory_as_gymnasium_with_truncation():
    """Every transition of Gymnasium's trajectory matches to 1e-6 from Gymnasium's own state.

    A free-running float64 copy is not compared: Gymnasium mixes the float32 action into its
    float64 state (under NumPy 2 that arithmetic stays float32), and the swing amplifies the
    rounding."""
    params = pendulum.PendulumParams()
    rng = np.random.default_rng(0)
    for episode in range(3):
        env = gym.make("Pendulum-v1")
        env.reset(seed=episode)
        for t in range(200):
            before = torch.tensor(env.unwrapped.state, dtype=torch.float64)
            action = rng.uniform(-3, 3)  # beyond ±2, so the clip matters
            _, reward, terminated, truncated, _ = env.step(np.array([action], dtype=np.float32))
            u = torch.tensor(float(np.float32(action)), dtype=torch.float64)
            after = np.asarray(env.unwrapped.state, dtype=np.float64)
            state, r, done = pendulum.step(params, before, u)
            np.testing.assert_allclose(state.numpy(), after, rtol=0, atol=1e-6)
            assert r.item() == pytest.approx(reward, rel=1e-6)
            assert not terminated and not bool(done)
        assert truncated and t == 199


def test_2019_variant_neither_clips_the_torque_nor_reorders():
    params = pendulum.PendulumParams(variant="gymjl2019")
    state = torch.tensor([0.5, 1.0], dtype=torch.float64)
    _, r, _ = pendulum.step(params, state, torch.tensor(5.0, dtype=torch.float64))
    assert r.item() == pytest.approx(-(0.25 + 0.1 + 0.001 * 25.0))


def test_angle_normalize_wraps_with_slope_one():
    x = torch.tensor([3 * np.pi / 2], dtype=torch.float64, requires_grad=True)
    y = pendulum.angle_normalize(x)
    y.backward()
    assert y.item() == pytest.approx(-np.pi / 2) and x.grad.item() == 1.0


def test_unknown_variant_is_a_value_error():
    with pytest.raises(ValueError, match="variant"):
        pendulum.PendulumParams(variant="nope")


@settings(max_examples=30, deadline=None)
@given(batch=st.lists(st.integers(1, 3), max_size=3), variant=st.sampled_from(pendulum.VARIANTS))
def test_state_and_action_of_one_batch_shape_step_and_keep_it(batch, variant):
    params = pendulum.PendulumParams(variant=variant)
    nxt, reward, done = pendulum.step(params, torch.zeros(*batch, 2, dtype=torch.float64), torch.ones(batch, dtype=torch.float64))
    assert nxt.shape == (*batch, 2) and reward.shape == done.shape == tuple(batch)


@pytest.mark.parametrize("state_shape, action_shape", [((10, 2), (10, 1)), ((10, 3), (10,)), ((3,), ()), ((10, 2), (3,))])
def test_mismatched_shapes_or_an_observation_as_state_are_refused(state_shape, action_shape):
    with pytest.raises(ValueError, match=r"state must have shape \(\.\.\., 2\) \(θ, θ̇\) \[an observation"):
        pendulum.step(pendulum.PendulumParams(), torch.zeros(state_shape, dtype=torch.float64), torch.zeros(action_shape, dtype=torch.float64))
