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
            for seed in dp_vs_rl.seeds_of(budget_key):
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


# ----------------------------------------------------------------------------------------------
# Provenance, stale runs, partial comparisons
# ----------------------------------------------------------------------------------------------
def test_a_run_records_the_code_and_libraries_that_made_it(tmp_path):
    from dprl import provenance

    made = dp_vs_rl._cached_or_run(tmp_path / "pendulum_sac_seed0.json", {"quick": True, "sac": 1}, lambda seed: run_with([1.0]), 0).extra["made"]
    for field in ("dprl", "commit", "code", "python", "torch", "stable_baselines3", "gymnasium", "torch_threads", "jobs", "host", "date"):
        assert made[field] not in (None, ""), field
    assert made["schema"] == provenance.SCHEMA and made["code"] == provenance.code_hash()
    assert made["commit"] == "unknown" or len(made["commit"].split("-")[0]) == 12


def _kept_run(path, signature, made):
    cached = run_with([1.0])
    cached.extra.update(dp_vs_rl=signature, made=made)
    cached.save(path)


def test_a_kept_run_made_by_other_code_is_rerun_or_reused_marked_stale(tmp_path):
    from dprl import provenance

    path = tmp_path / "cartpole_dp_seed0.json"
    signature = {"quick": True, "cartpole_dp": 20}
    other = {**dp_vs_rl.provenance(), "code": "0" * 16, "commit": "abcdef123456"}
    _kept_run(path, signature, other)
    reused = dp_vs_rl._cached_or_run(path, signature, lambda seed: run_with([2.0]), 0, reuse_stale=True)
    assert reused.scores == [1.0] and reused.extra["stale"] == "made by other code (commit abcdef123456)"
    rerun = dp_vs_rl._cached_or_run(path, signature, lambda seed: run_with([2.0]), 0)
    assert rerun.scores == [2.0] and provenance.stale(rerun.extra["made"]) is None
    _kept_run(path, signature, {"session": "x", "host": "vm"})  # from before provenance was recorded
    assert dp_vs_rl._cached_or_run(path, signature, lambda seed: run_with([3.0]), 0, reuse_stale=True).extra["stale"] == \
        "made before provenance was recorded"


def test_a_kept_run_from_a_future_schema_is_refused_and_left_in_place(tmp_path):
    path = tmp_path / "cartpole_dp_seed0.json"
    _kept_run(path, {"quick": True, "cartpole_dp": 20}, {**dp_vs_rl.provenance(), "schema": 99})
    with pytest.raises(ValueError, match=r"cartpole_dp_seed0.json was written by a newer dprl \(provenance schema 99; this dprl reads up to 2\)"):
        dp_vs_rl._cached_or_run(path, {"quick": True, "cartpole_dp": 20}, lambda seed: run_with([2.0]), 0)
    assert path.exists() and not (tmp_path / "cartpole_dp_seed0.json.bad").exists()


def fake_methods(calls):
    """dp_vs_rl.methods with instant trainers (CartPole's three methods) that log their seeds."""
    def methods(budget, progress, device="cpu"):
        def trainer(key):
            def train(seed):
                calls.append((key, seed))
                return TrainingResult(trainer={"dp": "cartpole"}.get(key, key), config={"env": "dprl/CartPole-v1", "seed": seed},
                                      scores=[10.0, 100.0 * seed + (400 if key == "dp" else 0)], env_steps=[0, 1000], wall_time=[0.0, 1.0], finished=True)
            return train
        return {"cartpole": {"DP (x)": ("dp", "cartpole_dp", trainer("dp")), "DQN (zoo)": ("dqn", "dqn", trainer("dqn")),
                             "PPO (zoo)": ("ppo", "ppo_cartpole", trainer("ppo"))}}
    return methods


def test_a_partial_comparison_writes_its_own_files_never_the_full_ones(tmp_path, monkeypatch):
    import json

    calls = []
    monkeypatch.setattr(dp_vs_rl, "methods", fake_methods(calls))
    summary = dp_vs_rl.run(tmp_path, quick=True, envs=["cartpole"], methods_only=["dp"], seeds=[0, 1])
    assert sorted(calls) == [("dp", 0), ("dp", 1)]
    assert not (tmp_path / "dp_vs_rl.json").exists() and not list(tmp_path.glob("dp_vs_rl_cartpole_*.png"))
    assert (tmp_path / "dp_vs_rl_partial_cartpole_dp_seed0-1.json").exists()
    assert (tmp_path / "dp_vs_rl_partial_cartpole_dp_seed0-1_cartpole_env_steps.png").exists()
    assert summary["cartpole"]["DP (x)"]["n"] == 2
    full = dp_vs_rl.run(tmp_path, quick=True, seeds=None)  # the rest of the plan: only the missing runs are made
    assert sorted(calls)[2:] == [("dqn", 0), ("ppo", 0)] and len(calls) == 4
    assert (tmp_path / "dp_vs_rl.json").exists() and full["cartpole"]["DP (x)"]["n"] == 1
    fan_out = json.loads((tmp_path / "dp_vs_rl.json").read_text())["fan_out"]
    assert fan_out["runs"] == 2 and fan_out["jobs"] == 1 and fan_out["total_s"] == 2 * 1.0 and fan_out["wall_s"] > 0  # the two runs made here
    dp_vs_rl.run(tmp_path, quick=True, seeds=None)  # nothing left to make: the measured time of the invocation that made runs stays
    assert len(calls) == 4 and json.loads((tmp_path / "dp_vs_rl.json").read_text())["fan_out"] == fan_out


def test_the_summary_reports_final_scores_with_intervals_and_probability_of_improvement(tmp_path, monkeypatch):
    import json

    monkeypatch.setattr(dp_vs_rl, "methods", fake_methods([]))
    summary = dp_vs_rl.run(tmp_path, quick=True, seeds=[0, 1, 2])["cartpole"]
    dp, dqn = summary["DP (x)"], summary["DQN (zoo)"]
    assert dp["final"] == [400.0, 500.0, 600.0] and "best" not in dp  # the final policy's score, never a best over test evaluations
    assert dp["final_median"] == {"point": 500.0, "low": 400.0, "high": 600.0, "n": 3}
    assert dp["improvement"]["DQN (zoo)"]["point"] == 1.0 and "improvement" not in dqn  # 400..600 beat 0..200 in every pair
    assert dp["reached"]["475.0"]["env_steps"] == [None, 1000, 1000]
    assert dp["reached"]["475.0"]["median_env_steps"] == {"point": 1000.0, "low": 1000.0, "high": None, "n": 3}  # None: not reached
    written = json.loads((tmp_path / "dp_vs_rl_partial_all_all_seed0-1-2.json").read_text())
    assert written["summary"]["cartpole"]["DP (x)"]["final"] == dp["final"] and written["made"]["code"]


# ----------------------------------------------------------------------------------------------
# The plan and its execution: here, on joblib's processes, on Ray
# ----------------------------------------------------------------------------------------------
def test_the_plan_is_picklable_specs_longest_first_with_durations_from_kept_runs(tmp_path):
    import pickle

    kept = dict(zip(["pendulum_sac_seed0", "pendulum_sac_seed1", "pendulum_dp_seed0"], [200.0, 100.0, 3.0]))
    for name, seconds in kept.items():
        (tmp_path / f"{name}.json").write_text(__import__("json").dumps({"wall_time": [0.0, seconds]}))
    specs = dp_vs_rl.plan(False, ["pendulum"], ["sac", "dp"], [0, 1, 2], runs=tmp_path)
    assert [s.name for s in specs][:3] == ["pendulum_sac_seed0", "pendulum_sac_seed2", "pendulum_sac_seed1"]
    assert [s.expected_s for s in specs] == [200.0, 150.0, 100.0, 3.0, 3.0, 3.0]  # seed 2: the median of its method's kept runs
    assert pickle.loads(pickle.dumps(specs)) == specs
    assert specs[0].command("R") == "python comparisons/dp_vs_rl.py --env pendulum --method sac --seed 0 --runs R"


def test_critical_path_schedules_longest_first_and_states_its_bound():
    # Longest first onto the least-loaded worker: 6→A, 5→B, 4→B (5 < 6), 3→A (6 < 9), 3→A (9 = 9, the first): A 12 s, B 9 s.
    timing = dp_vs_rl.critical_path([6, 5, 4, 3, 3], 2)
    assert timing == {"workers": 2, "runs": 5, "total_s": 21.0, "longest_s": 6.0, "expected_s": 12, "bound_s": 10.5}
    assert dp_vs_rl.critical_path([6, 5, 4], 64)["expected_s"] == 6
    with pytest.raises(ValueError, match="workers must be at least 1"):
        dp_vs_rl.critical_path([1.0], 0)


def test_the_fan_out_timing_compares_the_wall_time_with_its_bound():
    timing = dp_vs_rl.fan_out_timing(12.0, [6.0, 5.0, 4.0, 3.0, 3.0], jobs=2)
    assert (timing["total_s"], timing["longest_s"], timing["bound_s"]) == (21.0, 6.0, 10.5) and timing["ratio"] == pytest.approx(12 / 10.5)
    assert dp_vs_rl.fan_out_timing(30.0, [20.0, 1.0], jobs=8)["bound_s"] == 20.0  # the longest run bounds it
    on_ray = dp_vs_rl.fan_out_timing(5.0, [1.0], jobs=None, ray="auto")
    assert on_ray["bound_s"] is None and on_ray["ratio"] is None and on_ray["ray"] == "auto"  # Ray's workers are not known here


@pytest.mark.parametrize("jobs, words", [(0, "jobs must be a whole number ≥ 1; got 0"), (True, "jobs must be"), (1.5, "jobs must be")])
def test_bad_jobs_is_one_clear_error(tmp_path, jobs, words):
    with pytest.raises(ValueError, match=words):
        dp_vs_rl.execute_plan([], tmp_path, jobs=jobs)


QUICK_PENDULUM = dict(env="pendulum", label="DP (BPTT, 64 episodes a round)", key="dp", budget_key="pendulum_dp", quick=True)


@pytest.mark.slow
def test_a_small_plan_runs_on_joblib_processes_and_a_crashed_run_is_named(tmp_path):
    """Two workers: seed 0 trains; seed -1 crashes inside the trainer (NumPy refuses a negative
    seed) and is named with its method and seed, while seed 0 is kept."""
    specs = [dp_vs_rl.RunSpec(**QUICK_PENDULUM, seed=0), dp_vs_rl.RunSpec(**QUICK_PENDULUM, seed=-1)]
    with pytest.raises(dp_vs_rl.RunsFailed, match=r"1 of 2 run\(s\) failed \(pendulum dp seed -1: ValueError: expected non-negative integer\); the 1 others are kept"):
        dp_vs_rl.execute_plan(specs, tmp_path, jobs=2)
    kept = TrainingResult.load(tmp_path / "pendulum_dp_seed0.json")
    assert kept.finished and kept.extra["made"]["jobs"] == 2 and kept.extra["made"]["torch_threads"] == 1
    assert kept.extra["dp_vs_rl"] == specs[0].signature and not (tmp_path / "pendulum_dp_seed-1.json").exists()
    again = dp_vs_rl.RunSpec(**QUICK_PENDULUM, seed=0)
    assert dp_vs_rl._kept(tmp_path / "pendulum_dp_seed0.json", again.signature, dp_vs_rl.identity("pendulum", "dp", 0)) is not None  # reused next time


RAY_SCRIPT = """
import json, os, sys
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
import ray
ray.init(num_cpus=2, include_dashboard=False)  # a local instance on loopback, started by the test
try:
    from dprl import dp_vs_rl
    spec = dp_vs_rl.RunSpec(env="pendulum", label="DP (BPTT, 64 episodes a round)", key="dp", budget_key="pendulum_dp", quick=True, seed=1)
    done = dp_vs_rl.execute_plan([spec], sys.argv[1], ray="auto")
    print(json.dumps({name: r.extra["made"]["host"] for name, r in done.items()}))
finally:
    ray.shutdown()
"""


@pytest.mark.slow
def test_a_small_plan_runs_on_a_local_ray_instance(tmp_path):
    import json
    import subprocess
    import sys

    pytest.importorskip("ray", reason="Ray is not installed (pip install -e \".[ray]\")")
    process = subprocess.run([sys.executable, "-c", RAY_SCRIPT, str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert process.returncode == 0, process.stderr[-2000:]
    assert list(json.loads(process.stdout.strip().splitlines()[-1])) == ["pendulum_dp_seed1"]
    assert TrainingResult.load(tmp_path / "pendulum_dp_seed1.json").finished  # the result travelled back and was saved by the driver


@pytest.mark.alone
def test_a_ray_address_that_does_not_answer_is_one_line_and_exit_2_within_30_s(tmp_path):
    import subprocess
    import sys
    import time
    from pathlib import Path

    pytest.importorskip("ray", reason="Ray is not installed (pip install -e \".[ray]\")")
    script = Path(__file__).resolve().parents[1] / "comparisons" / "dp_vs_rl.py"
    start = time.monotonic()
    process = subprocess.run([sys.executable, str(script), "--quick", "--env", "pendulum", "--method", "dp", "--runs", str(tmp_path / "runs"),
                              "--out", str(tmp_path), "--ray", "127.0.0.1:9"], capture_output=True, text=True, timeout=60)
    assert time.monotonic() - start < 30
    assert process.returncode == 2 and process.stdout == ""
    assert process.stderr.count("\n") == 1 and "--ray 127.0.0.1:9: no Ray cluster answers there" in process.stderr


def test_jobs_0_is_one_line_and_exit_2():
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "comparisons" / "dp_vs_rl.py"
    process = subprocess.run([sys.executable, str(script), "--jobs", "0"], capture_output=True, text=True, timeout=60)
    assert process.returncode == 2 and process.stderr.strip() == "comparisons/dp_vs_rl.py: error: --jobs must be a whole number at least 1, got 0"
