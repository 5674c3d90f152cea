import json

import numpy as np
import pytest
import torch

import dprl.train.cartpole as trainer
from dprl.envs import cartpole
from dprl.train import policies
from dprl.results import TrainingResult


def test_straight_through_sign_passes_the_upstream_gradient_unchanged():
    x = torch.tensor([-0.3, 0.0, 2.0], dtype=torch.float64, requires_grad=True)
    y = trainer.ste_sign(x)
    assert y.tolist() == [-1.0, 0.0, 1.0]
    upstream = torch.tensor([0.5, -2.0, 7.0], dtype=torch.float64)
    y.backward(upstream)
    assert torch.equal(x.grad, upstream)


def test_window_gradient_matches_finite_differences(monkeypatch):
    """With the sign replaced by the identity the window loss is smooth, so autograd through the
    dynamics, the surrogate reward and the policy's inputs can be checked by finite differences."""
    monkeypatch.setattr(trainer, "ste_sign", lambda x: x)
    params = cartpole.CartPoleParams()
    model = policies.load_weights(policies.cartpole_policy(), policies.initial_weights(policies.cartpole_policy, 1))
    state = torch.tensor([0.02, -0.01, 0.03, 0.01], dtype=torch.float64)
    loss, *_ = trainer.cartpole_window(model, state, 8, params)
    weight = model[0].weight
    (grad,) = torch.autograd.grad(loss, weight)
    h = 1e-6
    for index in [(0, 0), (3, 2), (17, 3)]:
        with torch.no_grad():
            weight[index] += h
            up = trainer.cartpole_window(model, state, 8, params)[0].item()
            weight[index] -= 2 * h
            down = trainer.cartpole_window(model, state, 8, params)[0].item()
            weight[index] += h
        assert grad[index].item() == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-10)


def test_evaluation_counts_the_terminating_step():
    params = cartpole.CartPoleParams()
    always_right = lambda s: torch.ones(s.shape[0], 1, dtype=torch.float64)  # noqa: E731
    returns = trainer.cartpole_returns(always_right, np.zeros((1, 4)), 500, params)
    s, steps = torch.zeros(4, dtype=torch.float64), 0
    while True:
        s, _, done = cartpole.step(params, s, torch.tensor(1.0, dtype=torch.float64))
        steps += 1
        if done:
            break
    assert returns.item() == steps


def starts(seed, n):
    return np.random.default_rng(seed).uniform(-0.05, 0.05, (n, 4))


def test_training_solves_cartpole_v0_within_30_episodes():
    weights = policies.initial_weights(policies.cartpole_policy, 0)
    result = trainer.train_cartpole(weights, starts(0, 30), starts(100, 100), max_steps=200, solved_score=195.0, progress=False)
    assert result.finished
    assert result.scores[-1] >= 195.0, result.scores
    assert len(result.scores) == len(result.extra["episode_lengths"]) == len(result.episodes)
    assert all(np.isfinite(result.losses))


def test_interrupted_training_keeps_what_it_finished(tmp_path):
    calls = []

    def stop_after_two(result):
        calls.append(len(result.scores))
        result.save(tmp_path / "partial.json")
        if len(calls) == 2:
            raise KeyboardInterrupt

    weights = policies.initial_weights(policies.cartpole_policy, 0)
    result = trainer.train_cartpole(weights, starts(0, 10), starts(1, 5), max_steps=100, progress=False, on_episode=stop_after_two)
    assert not result.finished and len(result.scores) == 2
    saved = TrainingResult.load(tmp_path / "partial.json")
    assert saved.scores == result.scores and len(saved.weights) == 3


def test_corrupt_result_file_is_a_value_error(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"trainer": "cartpole"})[:-3])
    with pytest.raises(ValueError, match="not a readable dprl training result"):
        TrainingResult.load(path)


def test_an_explicit_cpu_device_repeats_the_default_run_and_a_bad_one_is_refused():
    weights = policies.initial_weights(policies.cartpole_policy, 0)
    runs = [trainer.train_cartpole(weights, starts(0, 2), starts(100, 5), max_steps=30, progress=False, **device) for device in ({}, {"device": "cpu"})]
    assert runs[0].losses == runs[1].losses and runs[0].scores == runs[1].scores
    with pytest.raises(ValueError, match="device must be"):
        trainer.train_cartpole(weights, starts(0, 1), starts(100, 1), progress=False, device="bogus")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_training_on_cuda_follows_the_cpu_run():
    weights = policies.initial_weights(policies.cartpole_policy, 0)
    cpu, cuda = (trainer.train_cartpole(weights, starts(0, 2), starts(100, 5), max_steps=30, progress=False, device=d) for d in ("cpu", "cuda"))
    np.testing.assert_allclose(cuda.losses, cpu.losses, rtol=1e-9)
    assert cuda.scores == cpu.scores
