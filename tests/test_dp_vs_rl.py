"""The DP-versus-RL comparison: thresholds in the right direction, and runs resumed from disk."""

import pytest

from dprl import dp_vs_rl
from dprl.results import TrainingResult


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
    with pytest.warns(RuntimeWarning, match="not a readable dprl training result.*moved it to cartpole_dp_seed0.json.bad"):
        assert dp_vs_rl._cached_or_run(path, signature, train, 0).scores == [3.0]  # unreadable: rerun, not a crash
    assert (tmp_path / "cartpole_dp_seed0.json.bad").read_text() == "{ half a file"  # set aside, not lost


def test_a_run_records_which_invocation_made_it(tmp_path):
    made = dp_vs_rl._cached_or_run(tmp_path / "pendulum_sac_seed0.json", {"quick": True, "sac": 1}, lambda seed: run_with([1.0]), 0).extra["made"]
    assert made["session"] == dp_vs_rl.SESSION and made["torch_threads"] >= 1 and made["host"]
    kept = TrainingResult.load(tmp_path / "pendulum_sac_seed0.json").extra["made"]
    assert kept == made
    other = {**made, "session": "another"}
    assert dp_vs_rl.same_session([made, made], [made])
    assert not dp_vs_rl.same_session([made], [other])
    assert not dp_vs_rl.same_session([made], [None])  # a kept run from before the record: unknown, so not the same
    assert not dp_vs_rl.same_session([], [made])  # nothing known of one side
    assert not dp_vs_rl.same_session([], [])


@pytest.mark.parametrize("field, value", [("extra", []), ("scores", "[1.0]"), ("env_steps", [None]), ("scores", [])])
def test_a_wrong_typed_cache_is_set_aside_with_a_warning_and_rerun(tmp_path, field, value):
    path = tmp_path / "pendulum_dp_seed0.json"
    signature = {"quick": True, "pendulum_dp": 10}
    cached = run_with([1.0])
    cached.extra["dp_vs_rl"] = signature
    data = cached.to_json()
    data[field] = value
    if field == "scores" and value == []:
        data.update(env_steps=[], wall_time=[])
    path.write_text(__import__("json").dumps(data))
    with pytest.warns(RuntimeWarning, match=f"{path.name} is not a valid dprl training result"):
        again = dp_vs_rl._cached_or_run(path, signature, lambda seed: run_with([7.0]), 0)
    assert again.scores == [7.0] and (tmp_path / "pendulum_dp_seed0.json.bad").exists()
    assert dp_vs_rl._cached_or_run(path, signature, lambda seed: run_with([9.0]), 0).scores == [7.0]  # the rerun is kept


def test_an_interrupted_run_stops_the_comparison_unsaved(tmp_path):
    path = tmp_path / "pendulum_sac_seed0.json"
    with pytest.raises(KeyboardInterrupt):
        dp_vs_rl._cached_or_run(path, {"quick": True}, lambda seed: run_with([1.0], finished=False), 0)
    assert not path.exists()


def test_every_pendulum_method_is_scored_on_the_dp_evaluation_starts(monkeypatch):
    import numpy as np

    from dprl import recipes
    from dprl.rl import baselines
    from dprl.train import pendulum

    seen = {}
    monkeypatch.setattr(baselines, "train_baseline", lambda algo, env, **kw: seen.setdefault(algo, kw))
    monkeypatch.setattr(recipes, "train_seeded_pendulum", lambda seed, rounds, **kw: seen.setdefault("dp", kw))
    monkeypatch.setattr(recipes, "train_seeded_apg", lambda seed, updates, **kw: seen.setdefault("dp_apg", kw))
    for label, (key, budget_key, train) in dp_vs_rl.methods(dp_vs_rl.BUDGETS[True], False)["pendulum"].items():
        train(2)
        if key in ("sac", "td3", "ppo"):
            np.testing.assert_array_equal(seen[key]["evaluation_states"], pendulum.evaluation_starts(2, 1000))
        else:
            assert seen[key]["evaluation_episodes"] == 1000  # seeded_inputs draws pendulum.evaluation_starts(seed, 1000)
        if key != "dp_apg":  # the others were scored on 100 other episodes before: those kept runs must rerun
            assert "evaluation" in dp_vs_rl._signature(budget_key, dp_vs_rl.BUDGETS[True], True)
    np.testing.assert_array_equal(recipes.seeded_inputs(2, 1, 1, 1000)[2], pendulum.evaluation_starts(2, 1000))


def test_the_kept_runs_fit_the_current_budgets_so_a_fresh_clone_reuses_them():
    from pathlib import Path

    kept = Path(__file__).parents[1] / "comparisons" / "results" / "dp_vs_rl_runs"
    budget = dp_vs_rl.BUDGETS[False]
    for env, table in dp_vs_rl.methods(budget, False).items():
        for key, budget_key, _ in table.values():
            signature = dp_vs_rl._signature(budget_key, budget, False)
            for seed in range(budget["seeds"]):
                run = TrainingResult.load(kept / f"{env}_{key}_seed{seed}.json")
                assert run.finished and run.extra["dp_vs_rl"] == signature, f"{env}_{key}_seed{seed}.json would be rerun"


@pytest.mark.parametrize("text", ["Infinity", "NaN", "-Infinity"])
def test_a_kept_run_with_a_non_finite_score_is_set_aside_and_rerun(tmp_path, text):
    """An Infinity score would "reach" every threshold at its first evaluation."""
    path = tmp_path / "cartpole_dp_seed0.json"
    signature = {"quick": True, "cartpole_dp": 20}
    cached = run_with([1.0, 2.0])
    cached.extra["dp_vs_rl"] = signature
    path.write_text(__import__("json").dumps(cached.to_json()).replace("2.0]", f"{text}]", 1))
    assert text in path.read_text()
    with pytest.warns(RuntimeWarning, match=r"scores\[1\] must be a finite number, got " + text):
        again = dp_vs_rl._cached_or_run(path, signature, lambda seed: run_with([7.0]), 0)
    assert again.scores == [7.0] and (tmp_path / "cartpole_dp_seed0.json.bad").exists()


@pytest.mark.parametrize("env, key, trainer, config, why", [
    ("cartpole", "dp", "dqn", {"env": "dprl/CartPole-v1", "seed": 0}, "its trainer is 'dqn', not 'cartpole'"),
    ("pendulum", "sac", "td3", {"env": "dprl/Pendulum-v1", "seed": 0}, "its trainer is 'td3', not 'sac'"),
    ("pendulum", "sac", "sac", {"env": "dprl/CartPole-v1", "seed": 0}, "its env is 'dprl/CartPole-v1', not 'dprl/Pendulum-v1'"),
    ("trebuchet", "dp", "trebuchet", {"optimizer": "adam"}, "its optimizer is 'adam', not 'lm'"),
    ("cartpole", "dp", "cartpole", {"seed": 3}, "its seed is 3, not 0"),
])
def test_a_kept_run_of_another_method_or_seed_is_set_aside_and_rerun(tmp_path, env, key, trainer, config, why):
    path = tmp_path / f"{env}_{key}_seed0.json"
    signature = {"quick": True, key: 1}
    cached = TrainingResult(trainer=trainer, config=config, scores=[1.0], env_steps=[10], wall_time=[1.0], finished=True,
                            extra={"dp_vs_rl": signature})
    cached.save(path)
    rerun = TrainingResult(**{**cached.__dict__, "scores": [5.0], "trainer": dp_vs_rl.identity(env, key, 0)["trainer"]})
    with pytest.warns(RuntimeWarning, match=f"{path.name} is a kept run of another method or seed: {why}"):
        again = dp_vs_rl._cached_or_run(path, signature, lambda seed: rerun, 0, dp_vs_rl.identity(env, key, 0))
    assert again.scores == [5.0] and (tmp_path / f"{path.name}.bad").exists()


def test_every_kept_run_is_of_the_method_and_seed_its_name_says():
    from pathlib import Path

    runs = sorted(Path(__file__).resolve().parents[1].joinpath("comparisons/results/dp_vs_rl_runs").glob("*_seed*.json"))
    assert runs
    for path in runs:
        env, rest = path.stem.split("_", 1)
        key, seed = rest.rsplit("_seed", 1)
        assert dp_vs_rl._mismatch(TrainingResult.load(path), dp_vs_rl.identity(env, key, int(seed))) is None, path
