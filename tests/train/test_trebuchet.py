import numpy as np
import pytest
import torch

from dprl.envs import trebuchet
from dprl.train import policies
from dprl.train import trebuchet as aimer
from dprl.train.trebuchet_lm import train_aimer_lm


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
    winds, targets = trebuchet.shots(np.random.default_rng(0), 64)
    evaluation = trebuchet.shots(np.random.default_rng(1), 64)
    weights = policies.glorot_weights(policies.aimer_policy, 0)
    adam = aimer.train_aimer(weights, winds, targets, batch_size=16, learning_rate=0.05, evaluation=evaluation, evaluate_every=4, progress=False)
    lm = train_aimer_lm(weights, winds, targets, scaled=True, max_updates=6, evaluation=evaluation, evaluate_every=6, progress=False)
    for result in (adam, lm):
        assert result.finished
        assert result.scores[-1] < result.scores[0]
    assert lm.losses[-1] < lm.losses[0]


def test_stop_at_ends_training_early():
    winds, targets = trebuchet.shots(np.random.default_rng(0), 64)
    result = aimer.train_aimer(policies.glorot_weights(policies.aimer_policy, 0), winds, targets, batch_size=8,
                               evaluation=(winds, targets), evaluate_every=1, stop_at={"mean_rel_miss_pct": 1e9}, progress=False)
    assert result.extra["updates"] == [0] and result.losses == []


def test_gradient_descent_aiming_finds_the_target():
    angle, weight, miss = aimer.aim_by_gradient_descent([-2.0, 3.0], [60.0, 45.0], steps=100)
    assert np.all(miss < 0.5), miss
    np.testing.assert_allclose(trebuchet.shoot(torch.tensor([-2.0, 3.0], dtype=torch.float64), torch.tensor(angle), torch.tensor(weight)).numpy(),
                               [60.0, 45.0], atol=0.5)


def test_bad_settings():
    with pytest.raises(ValueError, match="AimerConfig has no setting optimizer; its settings are learning_rate"):
        aimer.train_aimer(policies.glorot_weights(policies.aimer_policy, 0), [0.0], [50.0], optimizer="sgd")
    with pytest.raises(ValueError, match="winds and targets"):
        aimer.train_aimer(policies.glorot_weights(policies.aimer_policy, 0), [0.0, 1.0], [50.0])


@pytest.mark.parametrize("setting, value", [("time_budget", float("nan")), ("time_budget", -1.0), ("time_budget", 0.0), ("learning_rate", float("inf")),
                                            ("learning_rate", 0.0), ("batch_size", 0)])
def test_a_budget_or_rate_that_would_be_ignored_or_divide_by_zero_is_refused(setting, value):
    with pytest.raises(ValueError, match=setting):
        aimer.train_aimer(policies.glorot_weights(policies.aimer_policy, 0), [0.0], [50.0], **{setting: value})


def test_max_updates_caps_the_pass():
    winds, targets = trebuchet.shots(np.random.default_rng(0), 64)
    result = aimer.train_aimer(policies.glorot_weights(policies.aimer_policy, 0), winds, targets, aimer.AimerConfig(batch_size=4, max_updates=3),
                               progress=False)
    assert len(result.losses) == 3 and result.finished and result.config["max_updates"] == 3
