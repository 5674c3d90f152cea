"""The Gymnasium environments: same episodes as Gymnasium's own from the same seed."""

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
    pend = gym.make("dprl/Pendulum-v1", render_mode="rgb_array")
    pend.reset(seed=0)
    with pytest.raises(ValueError, match="torque"):
        pend.unwrapped.step(np.array([np.nan], dtype=np.float32))
    assert pend.render().shape == (300, 300, 3)


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


@pytest.mark.parametrize("actions", [[2, 0, 1], [-1, 0, 1], [np.nan, 0, 1], [1.0, 0.0, 1.0], [0, 1], [[0], [1], [1]]])
def test_the_cartpole_vector_env_refuses_what_the_single_one_refuses(actions):
    env = gym.make_vec("dprl/CartPole-v1", num_envs=3, vectorization_mode="vector_entry_point")
    env.reset(seed=0)
    before = env.unwrapped.state.copy()
    with pytest.raises(ValueError, match="actions must be 3 integers, each 0 or 1"):
        env.step(np.array(actions))
    assert np.array_equal(env.unwrapped.state, before)  # nothing stepped
    env.step(np.array([0, 1, 1]))


@pytest.mark.parametrize("actions", [[np.nan, 0.0], [np.inf, 0.0], [[0.0, 0.0], [0.0, 0.0]], [0.0], ["a", "b"]])
def test_the_pendulum_vector_env_refuses_what_the_single_one_refuses(actions):
    env = gym.make_vec("dprl/Pendulum-v1", num_envs=2, vectorization_mode="vector_entry_point")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="actions must be 2 finite torques"):
        env.step(np.array(actions))
    env.step(np.zeros((2, 1), dtype=np.float32))
    env.step(np.array([5.0, -5.0]))  # out of ±2 N·m is clipped, as the single env does


def test_single_environment_float_steps_equal_the_tensor_steps():
    """The single environments step on floats; they must give the tensor step's numbers exactly."""
    import torch

    from dprl.envs import cartpole, pendulum, wrappers

    rng = np.random.default_rng(14)
    params = cartpole.CartPoleParams()
    for state in rng.uniform(-1, 1, (200, 4)) * [2.5, 2.0, 0.25, 2.0]:
        for sign in (-1.0, 1.0):
            ours, reward, done = wrappers._cartpole_step(params, state.tolist(), sign)
            theirs, r, d = cartpole.step(params, torch.tensor(state), torch.tensor(sign, dtype=torch.float64))
            assert ours == tuple(theirs.tolist()) and reward == r.item() and done == d.item()
    for variant in pendulum.VARIANTS:
        params = pendulum.PendulumParams(variant=variant)
        for state, torque in zip(rng.uniform(-1, 1, (200, 2)) * [7.0, 9.0], rng.uniform(-4, 4, 200)):
            ours, reward = wrappers._pendulum_step(params, state.tolist(), float(torque))
            theirs, r, _ = pendulum.step(params, torch.tensor(state), torch.tensor(torque, dtype=torch.float64))
            assert ours == tuple(theirs.tolist()) and reward == r.item()


SECTIONS = ("Description", "Action Space", "Observation Space", "Rewards", "Starting State", "Episode End",
            "Arguments", "Version History", "Example")


def test_the_docstring_examples_run_and_every_registered_class_has_gymnasiums_sections():
    """The seeded examples in wrappers.py print what the environments do (plain `pytest` runs them)."""
    import doctest
    import importlib

    from dprl.envs import wrappers

    results = doctest.testmod(wrappers, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert results.failed == 0 and results.attempted > 0
    for env_id in dprl.envs._REGISTRATIONS:
        spec = gym.spec(env_id)
        for entry_point in (spec.entry_point, spec.vector_entry_point):
            module, name = entry_point.split(":")
            cls = getattr(importlib.import_module(module), name)
            missing = [s for s in SECTIONS if f"## {s}\n" not in (cls.__doc__ or "")]
            assert not missing, f"{name} lacks {missing}"
            assert doctest.DocTestFinder().find(cls, globs={})[0].examples, f"{name} has no example"


def test_the_vector_envs_start_at_given_states_and_refuse_wrong_ones():
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
    carts = gym.make_vec("dprl/CartPole-v1", num_envs=2, vectorization_mode="vector_entry_point")
    obs, _ = carts.reset(options={"start_states": np.array([[0.0, 0.1, 0.02, -0.1], [0.5, 0.0, 0.0, 0.0]])})
    np.testing.assert_array_equal(obs, np.array([[0.0, 0.1, 0.02, -0.1], [0.5, 0.0, 0.0, 0.0]], dtype=np.float32))
    obs, _ = carts.reset(seed=1)  # without the option: seeded draws again
    assert np.abs(obs).max() <= 0.05
