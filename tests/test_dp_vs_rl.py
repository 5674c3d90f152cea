"""The DP-versus-RL comparison: thresholds in the right direction, and runs resumed from disk."""

import pytest

from dprl import dp_vs_rl
from dprl.train.result import TrainingResult


def run_with(scores, finished=True):
    return TrainingResult(trainer="x", config={}, scores=scores, env_steps=[10, 20, 30][: len(scores)],
                          wall_time=[1.0, 2.0, 3.0][: len(scores)], finished=finished)


def test_first_reaching_reads_misses_as_lower_is_better():
    result = run_with([5.0, 0.8, 2.0])
    assert dp_vs_rl.first_reaching(result, 1.0, "trebuchet") == (20, 2.0)
    assert dp_vs_rl.first_reaching(result, 1.0, "cartpole") == (10, 1.0)
    assert dp_vs_rl.first_reaching(result, 6.0, "cartpole") == (None, None)


def test_finished_runs_are_reused_and_others_rerun(tmp_path):
    calls = []

    def train(seed):
        calls.append(seed)
        return run_with([float(len(calls))])

    path = tmp_path / "cartpole_dp_seed0.json"
    signature = {"quick": True, "cartpole_dp": 20}
    first = dp_vs_rl._cached_or_run(path, signature, train, 0)
    again = dp_vs_rl._cached_or_run(path, signature, train, 0)
    assert calls == [0] and again.scores == first.scores == [1.0]
    changed = dp_vs_rl._cached_or_run(path, {"quick": True, "cartpole_dp": 30}, train, 0)  # another budget: rerun
    assert calls == [0, 0] and changed.scores == [2.0]
    path.write_text("{ half a file")
    assert dp_vs_rl._cached_or_run(path, signature, train, 0).scores == [3.0]  # unreadable: rerun, not a crash


def test_an_interrupted_run_stops_the_comparison_unsaved(tmp_path):
    path = tmp_path / "pendulum_sac_seed0.json"
    with pytest.raises(KeyboardInterrupt):
        dp_vs_rl._cached_or_run(path, {"quick": True}, lambda seed: run_with([1.0], finished=False), 0)
    assert not path.exists()
