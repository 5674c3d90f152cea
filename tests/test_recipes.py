"""The seeded runs (`dprl.recipes`): what each recipe draws, its two phases, and its bad input."""

import numpy as np
import pytest
import torch
from dprl import recipes
from dprl.envs import trebuchet
from dprl.train import pendulum as trainer
from dprl.train import policies
from dprl.train import trebuchet as aimer
from dprl.train.trebuchet_lm import train_aimer_lm


# ----------------------------------------------------------------------------------------------
# The trebuchet aimer
# ----------------------------------------------------------------------------------------------
def test_heavy_start_aims_near_its_angle_and_weight_and_lm_stays_there():
    weights = recipes.heavy_start(policies.glorot_weights(policies.aimer_policy, 0))
    winds, targets = trebuchet.shots(np.random.default_rng(0), 128)
    with torch.no_grad():
        angle, weight = aimer.aim(policies.load_weights(policies.aimer_policy(), weights), torch.tensor(winds), torch.tensor(targets), True)
    assert 60 < angle.mean() < 80 and weight.min() > 2500 and weight.max() < 4000
    result = train_aimer_lm(weights, winds, targets, scaled=True, max_updates=5, evaluation=(winds, targets),
                            evaluate_every=5, progress=False)
    assert result.scores[-1] < result.scores[0] / 3
    with torch.no_grad():
        _, weight = aimer.aim(policies.load_weights(policies.aimer_policy(), result.weights), torch.tensor(winds), torch.tensor(targets), True)
    assert weight.min() > 1500  # still on the heavy branch, where distance is smooth in the angle


def test_a_seeded_aimer_run_trains_from_the_seeds_weights_and_shots_and_records_its_recipe():
    run = recipes.train_seeded_aimer(3, optimizer="adam", samples=8, batch_size=4, progress=False)
    winds, targets = trebuchet.shots(np.random.default_rng(3), 8)
    alone = aimer.train_aimer(policies.glorot_weights(policies.aimer_policy, 3), winds, targets, batch_size=4, progress=False)
    assert run.losses == alone.losses and len(run.losses) == 2 and run.extra["updates"] == [0, 2]
    assert run.config["seed"] == 3 and run.config["start"] == "plain" and run.config["backend"] == "torch" and run.config["samples"] == 8


@pytest.mark.parametrize("kwargs, says", [({"optimizer": "sgd"}, "optimizer must be one of"),
                                          ({"optimizer": "adam", "backend": "jax"}, "backend must be one of"),
                                          ({"optimizer": "lm", "backend": "julia"}, "adam only"),
                                          ({"optimizer": "adam", "backend": "julia", "device": "cuda"}, "CPU only"),
                                          ({"start": "middle"}, "start must be 'heavy' or 'plain'")])
def test_bad_aimer_recipes_are_value_errors(kwargs, says):
    with pytest.raises(ValueError, match=says):
        recipes.train_seeded_aimer(0, **kwargs)


@pytest.mark.julia
def test_julia_aimer_trains_like_pytorch(jl):
    """The Julia backend of the 2019 aimer: same weights and shots, same per-update losses."""
    winds, targets = trebuchet.shots(np.random.default_rng(4), 24)
    weights = policies.glorot_weights(policies.aimer_policy, 4)
    evaluation = tuple(v[:50] for v in trebuchet.evaluation_shots())
    ours = aimer.train_aimer(weights, winds, targets, batch_size=2, evaluation=evaluation, evaluate_every=4, progress=False)
    theirs = recipes.train_aimer_julia(weights, winds, targets, batch_size=2, evaluation=evaluation, evaluate_every=4, progress=False)
    np.testing.assert_allclose(theirs.losses, ours.losses, rtol=1e-8)
    assert theirs.extra["updates"] == ours.extra["updates"] == [0, 4, 8, 12]
    np.testing.assert_allclose(theirs.scores, ours.scores, rtol=1e-6)
    assert theirs.finished and theirs.config["backend"] == "julia"


# ----------------------------------------------------------------------------------------------
# CartPole and Pendulum BPTT
# ----------------------------------------------------------------------------------------------
def test_seeded_cartpole_takes_its_version_and_draws_its_own_streams():
    run = recipes.train_seeded_cartpole(1, 2, version="v0", evaluation_episodes=3, progress=False)
    again = recipes.train_seeded_cartpole(1, 2, version="v0", evaluation_episodes=3, progress=False)
    assert run.losses == again.losses and run.scores == again.scores
    assert run.config["seed"] == 1 and run.config["version"] == "v0" and run.config["max_steps"] == 200
    assert run.config["solved_score"] == 195.0
    with pytest.raises(ValueError, match="version must be one of"):
        recipes.train_seeded_cartpole(0, 1, version="v2")
    with pytest.raises(ValueError, match="episodes must be at least 1"):
        recipes.train_seeded_cartpole(0, 0)


def test_seeded_inputs_draw_training_and_evaluation_starts_from_separate_streams():
    weights, starts, evaluation = recipes.seeded_inputs(5, 3, 4, 6)
    assert starts.shape == (3, 4, 2) and evaluation.shape == (6, 2)
    np.testing.assert_array_equal(starts, trainer.start_states(np.random.default_rng(5), 3, 4))
    np.testing.assert_array_equal(evaluation, trainer.evaluation_starts(5, 6))
    for (w, b), (w0, b0) in zip(weights, policies.glorot_weights(policies.pendulum_policy, 5)):
        np.testing.assert_array_equal(w, w0)
        np.testing.assert_array_equal(b, b0)
    with pytest.raises(ValueError, match="rounds and batch must be at least 1"):
        recipes.seeded_inputs(0, 0, 1, 1)


def test_seeded_pendulum_takes_the_variants_batch():
    run = recipes.train_seeded_pendulum(0, 1, variant="gymjl2019", evaluation_episodes=2, steps=8, progress=False)
    assert run.config["batch"] == 1 and run.config["seed"] == 0 and run.config["variant"] == "gymjl2019"
    with pytest.raises(ValueError, match="variant must be one of"):
        recipes.train_seeded_pendulum(0, 1, variant="gym")


# ----------------------------------------------------------------------------------------------
# Pendulum by APG: the two-phase recipe
# ----------------------------------------------------------------------------------------------
def test_apg_seeded_runs_repeat_and_record_their_settings():
    a = recipes.train_seeded_apg(1, 3, batch=4, evaluation_episodes=5, horizon=10, evaluate_every=2, fine_tune_updates=0, progress=False)
    b = recipes.train_seeded_apg(1, 3, batch=4, evaluation_episodes=5, horizon=10, evaluate_every=2, fine_tune_updates=0, progress=False)
    assert a.losses == b.losses and a.scores == b.scores and len(a.scores) == 2  # after updates 2 and 3 (the last)
    assert a.config["method"] == "apg" and a.config["batch"] == 4 and a.config["seed"] == 1 and a.config["gradient_decay"] == 0.985
    assert "fine_tune" not in a.config


def test_apg_fine_tune_continues_the_first_phase():
    plain = recipes.train_seeded_apg(2, 4, batch=3, evaluation_episodes=5, horizon=10, evaluate_every=2, fine_tune_updates=0, progress=False)
    seen = []
    tuned = recipes.train_seeded_apg(2, 4, batch=3, evaluation_episodes=5, horizon=10, evaluate_every=2, fine_tune_updates=3,
                                     fine_tune_batch=5, on_episode=lambda r: seen.append(len(r.scores)), progress=False)
    assert tuned.finished and tuned.losses[:4] == plain.losses and tuned.scores[:2] == plain.scores
    assert len(tuned.losses) == 7 and len(tuned.scores) == 4  # fine-tune evaluated after its updates 2 and 3
    assert tuned.env_steps == [2 * 3 * 10, 4 * 3 * 10, 4 * 3 * 10 + 2 * 5 * 10, 4 * 3 * 10 + 3 * 5 * 10]
    assert tuned.episodes[2:] == [12 + 10, 12 + 15] and tuned.wall_time == sorted(tuned.wall_time)
    assert tuned.config["fine_tune"] == {**{k: recipes.APG_FINE_TUNE[k] for k in ("learning_rate", "gradient_decay")}, "updates": 3, "batch": 5}
    assert seen[-1] == 4 and seen == sorted(seen)
    assert not np.allclose(tuned.weights[-1][0], plain.weights[-1][0])  # the fine-tune moved the weights


def test_bad_apg_fine_tune_settings_are_value_errors():
    with pytest.raises(ValueError, match="fine_tune_batch"):
        recipes.train_seeded_apg(0, 1, batch=2, evaluation_episodes=1, horizon=5, fine_tune_batch=0, progress=False)
