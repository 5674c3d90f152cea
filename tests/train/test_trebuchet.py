import numpy as np
import pytest
import torch

from dprl.envs import trebuchet
from dprl.train import policies
from dprl.train import trebuchet as aimer


def model(seed=0):
    return policies.load_weights(policies.aimer_policy(), policies.glorot_weights(policies.aimer_policy, seed))


@pytest.mark.parametrize("scaled", [False, True])
def test_aim_maps_outputs_to_angle_and_weight(scaled):
    angle, weight = aimer.aim(model(), torch.tensor([-3.0, 4.0], dtype=torch.float64), torch.tensor([30.0, 90.0], dtype=torch.float64), scaled)
    assert torch.all((angle > 0) & (angle < 90))
    assert torch.all((weight > 0) & (weight < 500))


def test_loss_gradient_flows_through_the_simulator_to_every_layer():
    m = model()
    loss = aimer.aimer_loss(m, torch.tensor([-2.0, 3.0], dtype=torch.float64), torch.tensor([50.0, 70.0], dtype=torch.float64))
    loss.backward()
    for p in m.parameters():
        assert torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0


def test_shots_that_cannot_throw_add_no_loss():
    m = model()
    with torch.no_grad():
        m[-1].bias[1] = -250.0  # weight = o₂ + 200 < 16 lb for every shot
    loss = aimer.aimer_loss(m, torch.tensor([0.0], dtype=torch.float64), torch.tensor([50.0], dtype=torch.float64))
    assert loss.item() == 0.0
    assert aimer.evaluate(m, [0.0], [50.0])["failed_throws"] == 1


def test_adam_and_lm_both_lower_the_miss():
    winds, targets = aimer.shots(np.random.default_rng(0), 64)
    evaluation = aimer.shots(np.random.default_rng(1), 64)
    weights = policies.glorot_weights(policies.aimer_policy, 0)
    adam = aimer.train_aimer(weights, winds, targets, batch_size=16, learning_rate=0.05, evaluation=evaluation, evaluate_every=4, progress=False)
    lm = aimer.train_aimer(weights, winds, targets, optimizer="lm", scaled=True, max_updates=6, evaluation=evaluation, evaluate_every=6, progress=False)
    for result in (adam, lm):
        assert result.finished
        assert result.scores[-1] < result.scores[0]
    assert lm.losses[-1] < lm.losses[0]


def test_stop_at_ends_training_early():
    winds, targets = aimer.shots(np.random.default_rng(0), 64)
    result = aimer.train_aimer(policies.glorot_weights(policies.aimer_policy, 0), winds, targets, batch_size=8,
                               evaluation=(winds, targets), evaluate_every=1, stop_at={"mean_rel_miss_pct": 1e9}, progress=False)
    assert result.extra["updates"] == [0] and result.losses == []


def test_gradient_descent_aiming_finds_the_target():
    angle, weight, miss = aimer.aim_by_gradient_descent([-2.0, 3.0], [60.0, 45.0], steps=100)
    assert np.all(miss < 0.5), miss
    np.testing.assert_allclose(trebuchet.shoot(torch.tensor([-2.0, 3.0], dtype=torch.float64), torch.tensor(angle), torch.tensor(weight)).numpy(),
                               [60.0, 45.0], atol=0.5)


def test_bad_settings():
    with pytest.raises(ValueError, match="optimizer"):
        aimer.train_aimer(policies.glorot_weights(policies.aimer_policy, 0), [0.0], [50.0], optimizer="sgd")
    with pytest.raises(ValueError, match="winds and targets"):
        aimer.train_aimer(policies.glorot_weights(policies.aimer_policy, 0), [0.0, 1.0], [50.0])
    with pytest.raises(ValueError, match="backend must be one of"):
        aimer.train_seeded(0, optimizer="adam", backend="jax")
    with pytest.raises(ValueError, match="adam only"):
        aimer.train_seeded(0, optimizer="lm", backend="julia")


@pytest.mark.parametrize("setting, value", [("time_budget", float("nan")), ("time_budget", -1.0), ("time_budget", 0.0), ("learning_rate", float("inf")),
                                            ("learning_rate", 0.0), ("batch_size", 0)])
def test_a_budget_or_rate_that_would_be_ignored_or_divide_by_zero_is_refused(setting, value):
    with pytest.raises(ValueError, match=setting):
        aimer.train_aimer(policies.glorot_weights(policies.aimer_policy, 0), [0.0], [50.0], **{setting: value})


def test_lm_jacobian_is_the_chain_rule_through_simulator_and_network():
    from torch.func import functional_call, jacrev, vmap

    net = model(1)
    winds, targets = (torch.tensor(v) for v in aimer.shots(np.random.default_rng(1), 16))
    for scaled in (False, True):
        residual, jacobian = aimer._LevenbergMarquardt(net, winds, targets, scaled).residuals(jacobian=True)
        params = {n: p.detach() for n, p in net.named_parameters()}

        def outputs(p, wind, target):
            x = torch.stack((wind / 5, (target - 60) / 40) if scaled else (wind, target), dim=-1)
            o = functional_call(net, p, (x,))
            return torch.stack((90 * torch.sigmoid(o[..., 0]), (100 * o[..., 1] if scaled else o[..., 1]) + 200), dim=-1)

        per_shot = vmap(jacrev(outputs), in_dims=(None, 0, 0))(params, winds, targets)
        per_shot = torch.cat([per_shot[n].reshape(16, 2, -1) for n in params], dim=2)
        angle, weight = (v.clone().requires_grad_() for v in outputs(params, winds, targets).unbind(-1))
        distance = trebuchet.shoot(winds, angle, weight)
        d_angle, d_weight = torch.autograd.grad(distance.sum(), (angle, weight))
        relative = 100 * (distance.detach() - targets) / targets
        c = aimer.HUBER_PCT
        # ψ² = 2·huber(r), so dψ/dr = 1 inside and c/|ψ| outside
        assert torch.allclose(residual**2, torch.where(relative.abs() <= c, relative**2, 2 * c * relative.abs() - c * c), rtol=1e-10)
        slope = 100 / targets * torch.where(relative.abs() > c, c / residual.abs(), 1.0)
        expected = slope[:, None] * (d_angle[:, None] * per_shot[:, 0] + d_weight[:, None] * per_shot[:, 1])
        assert torch.allclose(jacobian, expected, rtol=1e-9, atol=1e-12)


def test_heavy_start_aims_near_its_angle_and_weight_and_lm_stays_there():
    weights = aimer.heavy_start(policies.glorot_weights(policies.aimer_policy, 0))
    winds, targets = aimer.shots(np.random.default_rng(0), 128)
    with torch.no_grad():
        angle, weight = aimer.aim(policies.load_weights(policies.aimer_policy(), weights), torch.tensor(winds), torch.tensor(targets), True)
    assert 60 < angle.mean() < 80 and weight.min() > 2500 and weight.max() < 4000
    result = aimer.train_aimer(weights, winds, targets, optimizer="lm", scaled=True, max_updates=5, evaluation=(winds, targets),
                               evaluate_every=5, progress=False)
    assert result.scores[-1] < result.scores[0] / 3
    with torch.no_grad():
        _, weight = aimer.aim(policies.load_weights(policies.aimer_policy(), result.weights), torch.tensor(winds), torch.tensor(targets), True)
    assert weight.min() > 1500  # still on the heavy branch, where distance is smooth in the angle
    with pytest.raises(ValueError, match="start"):
        aimer.train_seeded(0, start="middle")
