"""The Stable-Baselines3 baselines: zoo settings, seeded evaluation, the DP result schema."""

import json
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("stable_baselines3", reason="the rl extra (Stable-Baselines3) is not installed")

from dprl.rl import baselines  # noqa: E402


def test_dqn_run_records_evaluations_in_the_dp_schema(tmp_path):
    seen = []
    result = baselines.train_baseline("dqn", "cartpole", steps=2000, evaluate_every=1000, evaluation_episodes=4, progress=False,
                                      on_evaluation=lambda r: seen.append(len(r.scores)))
    assert result.finished and result.trainer == "dqn"
    assert result.env_steps == [1000, 2000] and seen == [1, 2]
    assert len(result.scores) == len(result.episodes) == len(result.wall_time) == 2
    assert all(1 <= s <= 500 for s in result.scores)
    result.save(tmp_path / "dqn.json")
    assert json.loads((tmp_path / "dqn.json").read_text())["config"]["zoo"]["learning_rate"] == "0.0023"


def test_evaluation_is_seeded():
    # 200 steps: SAC's first 100 are random actions, the other 100 each a seeded gradient step
    a = baselines.train_baseline("sac", "pendulum", steps=200, evaluate_every=200, evaluation_episodes=3, progress=False)
    b = baselines.train_baseline("sac", "pendulum", steps=200, evaluate_every=200, evaluation_episodes=3, progress=False)
    assert a.scores == b.scores


def test_unknown_pair_is_one_clear_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "dprl.cli", "baseline", "sac", "cartpole", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "ALGO ENV must be one of" in result.stderr and "Traceback" not in result.stderr


def test_sac_on_the_trebuchet_bandit_is_scored_by_the_aimers_metrics():
    result = baselines.train_baseline("sac", "trebuchet", steps=128, evaluate_every=64, progress=False)
    assert result.finished and result.env_steps == [64, 128]  # 64 bandits thrown per step
    assert [m["mean_rel_miss_pct"] for m in result.extra["metrics"]] == result.scores
    assert all(0 < s < 1000 for s in result.scores)


def test_evaluation_on_given_starts_plays_the_dp_episodes(monkeypatch):
    import torch

    from dprl.envs import pendulum
    from dprl.train.pendulum import _returns, evaluation_starts

    class StillPolicy:  # no torque: the episodes' returns are the free swing's, known exactly
        def predict(self, obs, deterministic=True):
            return np.zeros((len(obs), 1), dtype=np.float32), None

    starts = evaluation_starts(3, 5)
    expected = _returns(lambda o: torch.zeros(len(o), dtype=torch.float64), starts, 200, pendulum.PendulumParams()).mean().item()
    assert baselines.evaluate(StillPolicy(), "pendulum", seed=0, episodes=5, start_states=starts) == pytest.approx(expected, rel=1e-12)
    played = []
    real_evaluate = baselines.evaluate

    def spy(model, env_name, seed, episodes, start_states=None):
        played.append(start_states)
        return real_evaluate(model, env_name, seed, episodes, start_states)

    monkeypatch.setattr(baselines, "evaluate", spy)
    result = baselines.train_baseline("sac", "pendulum", steps=150, evaluate_every=150, evaluation_states=starts, progress=False)
    assert result.config["evaluation_episodes"] == 5 and result.config["evaluation_starts"] == "given"
    assert len(played) == 1
    np.testing.assert_array_equal(played[0], starts)
    for bad in (np.zeros(3), np.zeros((4, 3)), np.zeros((0, 2))):
        with pytest.raises(ValueError, match=r"evaluation_states must have shape \(episodes ≥ 1, 2\) for pendulum"):
            baselines.train_baseline("sac", "pendulum", steps=300, evaluation_states=bad, progress=False)
