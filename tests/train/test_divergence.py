"""Training stops at the first update whose loss or weights are not finite, keeping what finished."""

import math

import numpy as np
import pytest
import torch

from dprl import recipes
from dprl.results import Diverged
from dprl.train import trebuchet as aimer
from dprl.train.divergence import checked_step


def test_a_finite_update_returns_its_loss_and_steps():
    weight = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    optimizer = torch.optim.SGD([weight], lr=0.5)
    loss = (weight**2).sum()
    loss.backward()
    assert checked_step(1, [weight], optimizer.step, loss) == 3.0
    assert torch.equal(weight.detach(), torch.zeros(3, dtype=torch.float64))
    assert checked_step(2, [weight], lambda: 0.25) == 0.25  # a step that returns its loss (Levenberg–Marquardt)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_a_non_finite_loss_stops_before_the_step(bad):
    weight = torch.nn.Parameter(torch.ones(2, dtype=torch.float64))
    stepped = []
    with pytest.raises(Diverged, match=f"update 7 diverged: its loss is {bad}"):
        checked_step(7, [weight], lambda: stepped.append(1), torch.tensor(bad))
    assert not stepped and torch.equal(weight.detach(), torch.ones(2, dtype=torch.float64))


def test_a_step_to_non_finite_weights_is_undone():
    weight = torch.nn.Parameter(torch.tensor([1.0, 2.0], dtype=torch.float64))
    optimizer = torch.optim.SGD([weight], lr=1e308)
    loss = (weight**2).sum()
    loss.backward()
    with pytest.raises(Diverged, match="update 3 diverged: its step made a weight non-finite"):
        checked_step(3, [weight], optimizer.step, loss)
    assert weight.detach().tolist() == [1.0, 2.0]
    with pytest.raises(Diverged, match="update 4 diverged: its loss is nan"):
        checked_step(4, [weight], lambda: math.nan)  # the loss the step returns is checked too


def _assert_stopped_with_finite_weights(result):
    assert not result.finished and result.extra["diverged"].startswith(f"update {len(result.losses) + 1} diverged")
    assert all(np.isfinite(w).all() and np.isfinite(b).all() for w, b in result.weights)
    assert all(math.isfinite(loss) for loss in result.losses)
    with pytest.raises(Diverged, match="diverged"):
        result.unless_interrupted()


def test_cartpole_stops_at_the_diverged_update():
    _assert_stopped_with_finite_weights(recipes.train_seeded_cartpole(0, 3, evaluation_episodes=2, learning_rate=1e300, progress=False))


def test_pendulum_bptt_stops_at_the_diverged_update():
    _assert_stopped_with_finite_weights(recipes.train_seeded_pendulum(0, 2, evaluation_episodes=2, batch=4, learning_rate=1e300, progress=False))


def test_pendulum_apg_stops_at_the_diverged_update_without_a_fine_tune():
    result = recipes.train_seeded_apg(0, 3, batch=4, evaluation_episodes=2, horizon=20, learning_rate=1e300, evaluate_every=1,
                                      fine_tune_updates=2, progress=False)
    _assert_stopped_with_finite_weights(result)
    assert "fine_tune" not in result.config


def test_the_aimer_stops_at_the_diverged_update(monkeypatch):
    # A huge learning rate sends the aimer's outputs out of the throwing range, where a shot adds no
    # loss: it stalls rather than diverges. A loss that turns NaN at the third update stands in.
    loss, calls = aimer.aimer_loss, []

    def turning_nan(*args, **kwargs):
        calls.append(1)
        return loss(*args, **kwargs) * (math.nan if len(calls) == 3 else 1.0)

    monkeypatch.setattr(aimer, "aimer_loss", turning_nan)
    result = recipes.train_seeded_aimer(0, optimizer="adam", samples=16, batch_size=4, evaluate_every=1, progress=False)
    _assert_stopped_with_finite_weights(result)
    assert len(result.losses) == 2
