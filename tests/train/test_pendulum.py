import numpy as np
import pytest
import torch

import dprl.train.pendulum as trainer
from dprl.envs import pendulum
from dprl.train import policies


@pytest.mark.parametrize("variant, loss", [("gymnasium", "cost"), ("gymnasium", "cost2"), ("gymjl2019", "cost2")])
def test_window_gradient_matches_finite_differences(variant, loss):
    params = pendulum.PendulumParams(variant=variant)
    model = policies.load_weights(policies.pendulum_policy(), policies.initial_weights(policies.pendulum_policy, 2))
    # Slow starts, far from the ±8 rad/s clip, and a small network output, far from the torque clip.
    state = torch.tensor([[0.4, 0.2], [-1.0, -0.3]], dtype=torch.float64)
    value, _ = trainer.pendulum_window(model, state, 6, params, loss)
    weight = model[2].weight
    (grad,) = torch.autograd.grad(value, weight)
    h = 1e-6
    for index in [(0, 0), (10, 5), (47, 23)]:
        with torch.no_grad():
            weight[index] += h
            up = trainer.pendulum_window(model, state, 6, params, loss)[0].item()
            weight[index] -= 2 * h
            down = trainer.pendulum_window(model, state, 6, params, loss)[0].item()
            weight[index] += h
        assert grad[index].item() == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-10)


def test_gradient_reaches_the_initial_state_through_the_window():
    params = pendulum.PendulumParams()
    model = policies.load_weights(policies.pendulum_policy(), policies.initial_weights(policies.pendulum_policy, 2))
    state = torch.tensor([0.4, 0.2], dtype=torch.float64, requires_grad=True)
    value, final = trainer.pendulum_window(model, state, 4, params, "cost")
    (grad,) = torch.autograd.grad(value, state)
    assert torch.all(grad != 0)
    # A detached final state starts the next window: nothing flows back past it.
    value2, _ = trainer.pendulum_window(model, final.detach(), 4, params, "cost")
    assert torch.autograd.grad(value2, state, allow_unused=True)[0] is None


def test_clip_matches_torch_clip_grad_norm():
    a = policies.pendulum_policy()
    b = policies.load_weights(policies.pendulum_policy(), policies.weights(a))
    x = torch.randn(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    for model in (a, b):
        (model(x) ** 2).sum().backward()
    torch.nn.utils.clip_grad_norm_(a.parameters(), 1.0)
    trainer.clip_global_norm([p.grad for p in b.parameters()], 1.0)
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-12, atol=0)


def states(seed, *shape):
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(-np.pi, np.pi, shape), rng.uniform(-1, 1, shape)], -1)


def test_the_blogs_setup_learns_within_three_episodes():
    weights = policies.initial_weights(policies.pendulum_policy, 0)
    params = pendulum.PendulumParams(variant="gymjl2019")
    evaluation = states(9, 200)
    before = trainer.pendulum_returns(policies.load_weights(policies.pendulum_policy(), weights), evaluation, 200, params).mean().item()
    result = trainer.train_pendulum(weights, states(1, 3), evaluation, variant="gymjl2019", progress=False)
    assert result.finished and len(result.losses) == 3 * 50
    assert result.scores[-1] > before + 300, (before, result.scores)


def test_gymnasium_preset_uses_parallel_starts():
    weights = policies.initial_weights(policies.pendulum_policy, 0)
    result = trainer.train_pendulum(weights, states(1, 2, 8), states(2, 16), steps=40, progress=False)
    assert result.config["batch"] == 8 and result.config["window"] == 20 and result.config["max_grad_norm"] == 1.0
    assert len(result.losses) == 2 * 2 and result.env_steps == [8 * 40, 16 * 40]


@pytest.mark.parametrize("kwargs, name", [({"variant": "v2"}, "variant"), ({"loss": "l1"}, "loss"), ({"window": 0}, "window")])
def test_bad_settings_are_value_errors(kwargs, name):
    with pytest.raises(ValueError, match=name):
        trainer.train_pendulum(policies.initial_weights(policies.pendulum_policy, 0), states(0, 1), states(0, 1), progress=False, **kwargs)


# ----------------------------------------------------------------------------------------------
# Analytic policy gradient (train_pendulum_apg)
# ----------------------------------------------------------------------------------------------
def test_decay_gradient_is_the_identity_forward_and_scales_the_gradient():
    x = torch.tensor([0.3, -1.2], dtype=torch.float64, requires_grad=True)
    y = trainer.decay_gradient(x, 0.25)
    assert torch.equal(y, x)
    (grad,) = torch.autograd.grad((y * torch.tensor([2.0, 3.0], dtype=torch.float64)).sum(), x)
    assert torch.equal(grad, torch.tensor([0.5, 0.75], dtype=torch.float64))


def test_apg_loss_without_decay_matches_finite_differences():
    params = pendulum.PendulumParams()
    model = policies.load_weights(policies.pendulum_policy(), policies.initial_weights(policies.pendulum_policy, 2))
    state = torch.tensor([[0.4, 0.2], [-1.0, -0.3]], dtype=torch.float64)
    weight = model[2].weight
    (grad,) = torch.autograd.grad(trainer.apg_loss(model, state, 6, params, 1.0), weight)
    (decayed,) = torch.autograd.grad(trainer.apg_loss(model, state, 6, params, 0.5), weight)
    h = 1e-6
    for index in [(0, 0), (10, 5), (47, 23)]:
        with torch.no_grad():
            weight[index] += h
            up = trainer.apg_loss(model, state, 6, params, 1.0).item()
            weight[index] -= 2 * h
            down = trainer.apg_loss(model, state, 6, params, 1.0).item()
            weight[index] += h
        assert grad[index].item() == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-10)
    assert not torch.allclose(grad, decayed)  # the decay changes the gradient, not the loss


def test_apg_lowers_its_loss_on_a_short_seeded_run():
    weights = policies.glorot_weights(policies.pendulum_policy, 0)
    result = trainer.train_pendulum_apg(weights, states(3, 40, 32), states(4, 50), horizon=60, evaluate_every=20, progress=False)
    assert result.finished and len(result.losses) == 40 and len(result.scores) == 2
    assert result.env_steps == [20 * 32 * 60, 40 * 32 * 60] and result.episodes == [20 * 32, 40 * 32]
    assert np.mean(result.losses[-5:]) < 0.8 * np.mean(result.losses[:5]), result.losses


@pytest.mark.parametrize("kwargs, name", [({"horizon": 0}, "horizon"), ({"gradient_decay": 0.0}, "gradient_decay"),
                                          ({"gradient_decay": 1.5}, "gradient_decay"), ({"evaluate_every": 0}, "evaluate_every"),
                                          ({"learning_rate": -1.0}, "learning_rate"), ({"max_grad_norm": 0.0}, "max_grad_norm")])
def test_bad_apg_settings_are_value_errors(kwargs, name):
    with pytest.raises(ValueError, match=name):
        trainer.train_pendulum_apg(policies.initial_weights(policies.pendulum_policy, 0), states(0, 1, 2), states(0, 1), progress=False, **kwargs)


def test_apg_batches_must_be_three_dimensional():
    with pytest.raises(ValueError, match="batches"):
        trainer.train_pendulum_apg(policies.initial_weights(policies.pendulum_policy, 0), states(0, 4), states(0, 1), progress=False)


@pytest.mark.julia
def test_apg_gives_the_same_first_losses_on_both_stacks(jl):
    weights = policies.glorot_weights(policies.pendulum_policy, 5)
    batches, evaluation = states(6, 12, 3), states(7, 4)
    ours = trainer.train_pendulum_apg(weights, batches, evaluation, horizon=25, evaluate_every=6, progress=False)
    theirs = jl.train_pendulum_apg(weights, batches, evaluation, horizon=25, evaluate_every=6)
    np.testing.assert_allclose(ours.losses, theirs["losses"], rtol=1e-9)
    np.testing.assert_allclose(ours.scores, theirs["scores"], rtol=1e-9)
    np.testing.assert_allclose(ours.weights[-1][0], theirs["weights"][-1][0], rtol=1e-7, atol=1e-12)


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


def test_the_mirror_keeps_the_observations_dtype_and_device():
    observation = torch.tensor([[0.5, 0.25, -2.0]], dtype=torch.float32)
    mirrored = trainer.mirror(observation)
    assert mirrored.dtype == torch.float32 and mirrored.tolist() == [[0.5, -0.25, 2.0]]


def test_apg_and_bptt_on_an_explicit_cpu_device_repeat_the_default_runs():
    weights = policies.glorot_weights(policies.pendulum_policy, 0)
    runs = [trainer.train_pendulum_apg(weights, states(3, 3, 4), states(4, 5), horizon=10, evaluate_every=3, progress=False, **device)
            for device in ({}, {"device": "cpu"})]
    assert runs[0].losses == runs[1].losses and runs[0].scores == runs[1].scores
    runs = [trainer.train_pendulum(weights, states(3, 2, 4), states(4, 5), steps=8, progress=False, **device) for device in ({}, {"device": "cpu"})]
    assert runs[0].losses == runs[1].losses and runs[0].scores == runs[1].scores


@needs_cuda
def test_apg_on_cuda_follows_the_cpu_run():
    weights = policies.glorot_weights(policies.pendulum_policy, 0)
    cpu, cuda = (trainer.train_pendulum_apg(weights, states(3, 3, 16), states(4, 8), horizon=20, evaluate_every=3, progress=False, device=d)
                 for d in ("cpu", "cuda"))
    np.testing.assert_allclose(cuda.losses, cpu.losses, rtol=1e-9)
    np.testing.assert_allclose(cuda.scores, cpu.scores, rtol=1e-9)
