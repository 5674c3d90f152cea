"""The Julia trainers run from Python (dprl.train.julia_trainers): the PyTorch trainers' results,
checkpoints, Ctrl-C and divergence, from the Julia twins."""

import numpy as np
import pytest

from dprl import crosscheck, recipes
from dprl.train import julia_trainers, pendulum, policies


def test_the_backend_is_torch_or_julia_and_julia_runs_on_the_cpu():
    settings = {"device": "cpu", "learning_rate": 0.1}
    assert julia_trainers.on_julia("julia", settings) and settings == {"learning_rate": 0.1}
    assert not julia_trainers.on_julia("torch", {"device": "cuda"})
    with pytest.raises(ValueError, match="backend must be one of"):
        julia_trainers.on_julia("jax", {})
    with pytest.raises(ValueError, match="the Julia backend trains on the CPU only; got device='cuda'"):
        julia_trainers.on_julia("julia", {"device": "cuda"})


@pytest.mark.parametrize("train, states, words", [
    (julia_trainers.train_cartpole_julia, np.zeros((3, 2)), "initial_states must have shape (E, 4), every size at least 1; got (3, 2)"),
    (julia_trainers.train_pendulum_julia, np.zeros((0, 2)), "initial_states must have shape (E, B, 2), every size at least 1; got (0, 1, 2)"),
    (julia_trainers.train_pendulum_apg_julia, np.zeros((3, 2)), "batches must have shape (U, B, 2), every size at least 1; got (3, 2)"),
])
def test_bad_start_states_are_one_value_error_before_julia_starts(train, states, words):
    with pytest.raises(ValueError) as error:
        train(None, states, np.zeros((1, 4)))
    assert str(error.value) == words


def _same_run(julia_run, torch_run):
    """The Julia run is the PyTorch run: the same bookkeeping, the curves within the cross-check's tolerance."""
    assert julia_run.config.pop("backend") == "julia" and julia_run.config == torch_run.config
    assert (julia_run.episodes, julia_run.env_steps, len(julia_run.losses)) == (torch_run.episodes, torch_run.env_steps, len(torch_run.losses))
    assert crosscheck.max_relative(julia_run.losses, torch_run.losses)[1] <= crosscheck.LOSS_TOLERANCE
    assert crosscheck.max_relative(julia_run.scores, torch_run.scores)[1] <= crosscheck.LOSS_TOLERANCE


@pytest.mark.julia
@pytest.mark.slow  # Julia compiles the APG trainer (about 30 s), unless an earlier test did
def test_the_two_phase_apg_recipe_on_julia_is_pytorchs(jl):
    settings = dict(batch=2, evaluation_episodes=3, fine_tune_updates=1, fine_tune_batch=3, horizon=20, evaluate_every=2, progress=False)
    checkpoints = {"julia": [], "torch": []}
    on_julia = recipes.train_seeded_apg(1, 2, backend="julia", on_episode=lambda r: checkpoints["julia"].append(r.episodes[-1]), **settings)
    on_torch = recipes.train_seeded_apg(1, 2, on_episode=lambda r: checkpoints["torch"].append(r.episodes[-1]), **settings)
    assert on_julia.finished and on_julia.config.pop("seed") == on_torch.config.pop("seed") == 1
    assert on_torch.config.pop("backend") == "torch"
    _same_run(on_julia, on_torch)
    # An evaluation after update 2 of 2 starts each, then after the fine-tune's one update of 3 starts, its count continuing the first phase's.
    assert on_julia.episodes == [4, 7] and checkpoints["julia"] == checkpoints["torch"]


@pytest.mark.julia
def test_ctrl_c_in_a_checkpoint_stops_julia_there_and_keeps_the_finished_episodes(jl):
    weights = policies.glorot_weights(policies.cartpole_policy, 3)
    starts = np.random.default_rng(3).uniform(-0.05, 0.05, (6, 4))

    def checkpoint(result):
        if len(result.scores) == 2:
            raise KeyboardInterrupt

    result = julia_trainers.train_cartpole_julia(weights, starts, starts[:2], solved_score=1e9, on_episode=checkpoint, progress=False)
    assert not result.finished and len(result.scores) == 2 and len(result.extra["episode_lengths"]) == 2
    assert result.env_steps == list(np.cumsum(result.extra["episode_lengths"]))


@pytest.mark.julia
def test_a_diverging_julia_run_stops_as_the_pytorch_run_does(jl):
    settings = dict(batch=2, evaluation_episodes=2, steps=40, learning_rate=1e300, progress=False)
    on_julia = recipes.train_seeded_pendulum(0, 3, backend="julia", **settings)
    on_torch = recipes.train_seeded_pendulum(0, 3, **settings)
    assert not on_julia.finished and on_julia.extra["diverged"] == on_torch.extra["diverged"]
    assert len(on_julia.losses) == len(on_torch.losses) and len(on_julia.scores) == len(on_torch.scores)
    assert all(np.isfinite(w).all() and np.isfinite(b).all() for w, b in on_julia.weights)
