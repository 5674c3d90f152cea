"""The pure CartPole against Gymnasium's own CartPole-v1, step by step."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dprl.envs import cartpole


def test_same_trajectory_as_gymnasium_including_the_terminal_step():
    params = cartpole.CartPoleParams()
    rng = np.random.default_rng(0)
    for episode in range(5):
        env = gym.make("CartPole-v1")
        obs, _ = env.reset(seed=episode)
        state = torch.tensor(env.unwrapped.state, dtype=torch.float64)
        for t in range(500):
            action = int(rng.integers(2))
            obs, reward, terminated, truncated, _ = env.step(action)
            state, r, done = cartpole.step(params, state, torch.tensor(2.0 * action - 1.0, dtype=torch.float64))
            np.testing.assert_allclose(state.numpy(), np.asarray(env.unwrapped.state, dtype=np.float64), rtol=0, atol=1e-6)
            assert r.item() == reward
            assert bool(done) == terminated
            if terminated or truncated:
                break
        assert terminated, "random actions should end the episode"


def test_batched_step_equals_single_steps():
    params = cartpole.CartPoleParams()
    states = cartpole.reset_state(params, torch.Generator().manual_seed(1), batch=(6,))
    actions = torch.tensor([1.0, -1.0, 0.5, -0.2, 1.0, 0.0], dtype=torch.float64)
    batch, _, _ = cartpole.step(params, states, actions)
    for i in range(6):
        single, _, _ = cartpole.step(params, states[i], actions[i])
        torch.testing.assert_close(batch[i], single, rtol=0, atol=0)


@settings(max_examples=30, deadline=None)
@given(batch=st.lists(st.integers(1, 3), max_size=3))
def test_state_and_action_of_one_batch_shape_step_and_keep_it(batch):
    params = cartpole.CartPoleParams()
    state = torch.zeros(*batch, 4, dtype=torch.float64)
    for action in (torch.ones(batch, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64)):
        nxt, reward, done = cartpole.step(params, state, action)
        assert nxt.shape == (*batch, 4) and reward.shape == done.shape == tuple(batch)


@pytest.mark.parametrize("state_shape, action_shape", [((10, 4), (10, 1)), ((10, 4), (5,)), ((4,), (1,)), ((10, 3), (10,)), ((2,), ())])
def test_mismatched_shapes_say_what_step_expects(state_shape, action_shape):
    with pytest.raises(ValueError, match=r"state must have shape \(\.\.\., 4\).*got state"):
        cartpole.step(cartpole.CartPoleParams(), torch.zeros(state_shape, dtype=torch.float64), torch.zeros(action_shape, dtype=torch.float64))
