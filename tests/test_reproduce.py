"""`dprl reproduce --quick` writes a report whose every row comes from a result file."""

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


# The comparison's budgets for this test: every method still trains, is evaluated and is written
# to a result file (what the report is built from), in seconds rather than --quick's minutes. A
# baseline is evaluated every twentieth of its steps, so PPO gets one whole rollout (the zoo's
# 8 × 32 and 4 × 1,024 steps): fewer steps would evaluate hundreds of times inside it.
PLUMBING_BUDGET = {"seeds": 1, "cartpole_dp": 2, "pendulum_dp": 1, "pendulum_apg": 2, "pendulum_apg_fine_tune": 1, "trebuchet_dp_s": 1,
                   "dqn": 1200, "ppo_cartpole": 256, "sac": 300, "td3": 300, "ppo_pendulum": 4096, "sac_trebuchet": 256}

# The other reproductions' --quick settings, smaller still: each aimer trains for seconds, one seed.
PLUMBING_QUICK = {"aimer_s": 1.0, "aimer_2019_s": 1.0, "aiming_targets": 20, "aiming_steps": 5, "cartpole_seeds": 1, "pendulum_seeds": 1,
                  "pendulum_evaluation": 20, "crosscheck_updates": 4, "gif_frames": 8}


def test_quick_reproduce_writes_report_from_result_files(tmp_path, monkeypatch, capsys, jl_or_none):
    """In this process (the session's Julia, when there is one, runs the Julia rows): the command
    line and its parts are what is tested, not a second start of Julia and torch."""
    from dprl import cli, crosscheck, dp_vs_rl, julia, reproduce
    from dprl.rl import baselines

    if jl_or_none is None:  # none here, or julia tests deselected: never start Julia after torch
        monkeypatch.setattr(julia, "locate_julia", lambda: None)
    monkeypatch.setitem(dp_vs_rl.BUDGETS, True, PLUMBING_BUDGET)
    monkeypatch.setattr(dp_vs_rl, "PENDULUM_EVALUATION_EPISODES", 10)
    # Each baseline evaluated twice, not twenty times: the same plumbing, a tenth of the episodes.
    train = baselines.train_baseline
    monkeypatch.setattr(baselines, "train_baseline", lambda *args, steps, **kwargs: train(*args, steps=steps, evaluate_every=max(steps // 2, 1), **kwargs))
    monkeypatch.setattr(reproduce, "QUICK", PLUMBING_QUICK)
    # The cross-check's row from one environment's cases: every case is cross-checked live in
    # test_crosscheck.py; here Julia would compile all the trainers again for the row's plumbing.
    live = crosscheck.live
    monkeypatch.setattr(crosscheck, "live", lambda updates, jl, progress: live(envs=["trebuchet"], updates=updates, jl=jl, progress=progress))
    code = cli.main(["reproduce", "--quick", "--out", str(tmp_path)])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    report = (tmp_path / "REPORT.md").read_text()
    assert "Quick run" in report
    claims = report.split("| claim |", 1)[1].split("\n\n", 1)[0]  # the claims table, before the comparison's and provenance's
    table = [line for line in claims.splitlines()[2:] if line.startswith("| ")]
    rows = []
    for path in sorted((tmp_path / "results").glob("*.json")):
        payload = json.loads(path.read_text())
        assert "command" in payload
        rows += [(row, path.name) for row in payload["rows"]]
    assert len(table) == len(rows) >= 12
    for figure in ("aimer_misses.png", "aimer_throw.gif", "cartpole_v0.png", "cartpole_v1.png", "pendulum.png"):
        assert (tmp_path / "figures" / figure).stat().st_size > 0
    for row, name in rows:
        line = next(line for line in table if row["claim"] in line)
        assert row["measured"] in line and f"results/{name}" in line and row["holds"] in line
    gradient = json.loads((tmp_path / "results" / "trebuchet_gradient.json").read_text())
    assert gradient["rows"][0]["holds"] == "yes" and gradient["made"]["code"]  # every result file says what made it
    assert "## DP vs RL, with intervals over seeds" in report and "## Provenance" in report
    assert printed.out.rstrip().endswith(f"the report: {tmp_path / 'REPORT.md'}")
    assert abs(gradient["gradient"][0] - 4.02) <= 0.005


def test_quick_shrinks_the_same_settings_the_full_run_has():
    from dprl import reproduce

    assert set(reproduce.QUICK) == set(reproduce.FULL) and all(reproduce.QUICK[k] <= reproduce.FULL[k] for k in reproduce.FULL)
    assert reproduce.budgets(True) is reproduce.QUICK and reproduce.budgets(False) is reproduce.FULL


def test_missing_julia_is_a_row_not_a_crash(tmp_path, no_julia_env):
    result = subprocess.run([sys.executable, "-m", "dprl.cli", "reproduce", "--quick", "--out", str(tmp_path),
                             "--only", "julia_trebuchet_gradient"], capture_output=True, text=True, env=no_julia_env, timeout=600)
    assert result.returncode == 0, result.stderr
    gradient = json.loads((tmp_path / "results" / "julia_trebuchet_gradient.json").read_text())
    assert gradient["rows"][0]["measured"].startswith("not run: no Julia") and gradient["ran"] is False
    assert (tmp_path / "REPORT.md").read_text().count("not run: no Julia") == 1
    # It ends with the claims table (claim, holds, measured in short) and where the report is.
    assert result.stdout.splitlines()[0].split()[:2] == ["claim", "holds"] and "not run: no Julia" in result.stdout
    assert result.stdout.rstrip().endswith(f"the report: {tmp_path / 'REPORT.md'}")


def test_without_julia_the_crosscheck_row_compares_with_the_recorded_julia_outputs(tmp_path, monkeypatch):
    """The recording in tests/fixtures (all of it is compared in test_crosscheck.py; here its
    trebuchet case, so that the row's plumbing is what this test costs)."""
    import shutil

    from dprl import crosscheck, julia, reproduce

    fixtures = str(Path(reproduce.__file__).resolve().parents[2] / "tests" / "fixtures" / "crosscheck")
    one_case = tmp_path / "one_case"
    one_case.mkdir()
    shutil.copy(f"{fixtures}/trebuchet_throws.json", one_case)
    asked = []
    compare = crosscheck.against
    monkeypatch.setattr(crosscheck, "against", lambda folder: asked.append(str(folder)) or compare(one_case))
    monkeypatch.setattr(julia, "is_started", lambda: False)
    path = reproduce.crosscheck(tmp_path / "results", quick=True)
    check = json.loads(path.read_text())
    assert asked == [fixtures] and check["source"] == "a recording of Julia's outputs" and check["rows"][0]["holds"] == "yes"
    assert check["command"] == "dprl crosscheck --against tests/fixtures/crosscheck"


def test_unknown_reproduction_is_one_clear_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "dprl.cli", "reproduce", "--only", "nope", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "--only takes" in result.stderr and "Traceback" not in result.stderr


def test_zoo_row_says_by_how_much_a_baseline_misses_the_published_return():
    from dprl.reproduce import zoo_row

    def method(final):
        return {"final": final, "reached": {}}

    summary = {"cartpole": {"DP (x)": method([500.0]), "DQN (zoo)": method([120.0, 500.0]), "PPO (zoo)": method([480.0, 490.0])},
               "pendulum": {"SAC (zoo)": method([-150.0]), "TD3 (zoo)": method([-160.0]), "PPO (zoo)": method([-172.0])}}
    row = zoo_row(summary)
    assert row["holds"] == "no: PPO cartpole by 10.0, TD3 pendulum by 8.1 (final evaluation)"
    assert "DQN cartpole: final 500.0 (best seed; median 310.0, 2 seeds)" in row["measured"]
    summary["cartpole"]["PPO (zoo)"] = method([500.0])
    summary["pendulum"]["TD3 (zoo)"] = method([-151.0])
    assert zoo_row(summary)["holds"] == "yes"


def test_pendulum_goal_row_says_by_how_much_apg_misses_and_how_it_compares_with_sac():
    from dprl.dp_vs_rl import PENDULUM_APG
    from dprl.reproduce import _short_name, pendulum_goal_row

    def method(final, seconds, steps):
        return {"final": final, "reached": {"-150.0": {"seconds": seconds, "env_steps": steps}}}

    summary = {"pendulum": {PENDULUM_APG: method([-139.0, -138.0, -137.5, -145.0, -152.5], [10.0, 12.0, 9.0, 20.0, None], [1, 2, 3, 4, None]),
                            "SAC (zoo)": method([-140.0], [100.0], [5_000])}}
    row = pendulum_goal_row(summary, "python comparisons/dp_vs_rl.py")
    assert row["holds"] == "no" and "≥ −150 in 4/5 seeds" in row["measured"] and "misses −150 by 2.5" in row["measured"]
    assert "SAC's final per seed is -140.0 (≥ −140 in 1/1)" in row["measured"]
    assert "docs/notes/2026-12-04-pendulum-apg-plateau.md" in row["measured"] and "about 58 of the 1,000" not in row["measured"]
    summary["pendulum"][PENDULUM_APG] = method([-139.0, -138.0, -137.5, -145.0, -149.0], [10.0, 12.0, 9.0, 20.0, 30.0], [1, 2, 3, 4, 5])
    assert pendulum_goal_row(summary, "x")["holds"] == "yes"
    assert "not known to come from one invocation" in row["measured"]  # no record of which invocation made them
    made = {"session": "abc", "host": "box", "torch_threads": 1, "date": "2026-12-01T20:00:00+00:00", "load": 1.5}
    summary["pendulum"][PENDULUM_APG]["made"] = [made] * 5
    summary["pendulum"]["SAC (zoo)"]["made"] = [{**made, "load": 0.9}]
    assert "both from one invocation on box (1 torch thread, one run after another, 2026-12-01; load average 0.9–1.5" in pendulum_goal_row(summary, "x")["measured"]
    summary["pendulum"]["SAC (zoo)"]["made"] = [{**made, "session": "def"}]
    assert "not known to come from one invocation" in pendulum_goal_row(summary, "x")["measured"]
    summary["pendulum"]["SAC (zoo)"] = method([-140.0], [11.0], [5_000])  # DP's median 12 s is not faster
    assert pendulum_goal_row(summary, "x")["holds"] == "no"
    assert pendulum_goal_row({"pendulum": {}}, "x") is None
    assert _short_name(PENDULUM_APG) == "DP APG" and _short_name("DP (BPTT, 64 episodes a round)") == "DP"


def kept_result(tmp_path, name, payload):
    results = tmp_path / "results"
    results.mkdir(exist_ok=True)
    path = results / f"{name}.json"
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    return path


@pytest.mark.parametrize("name, payload, words", [
    ("cartpole", '{"rows": [{"claim": "c"', "is not a readable reproduction result file"),
    ("cartpole", {"rows": "none"}, "rows must be a list"),
    ("pendulum", {"rows": [{"claim": "c", "published": "p", "measured": 3, "command": "x", "holds": "yes"}]}, "rows[0].measured must be a string"),
    ("trebuchet_gradient", {"rows": [], "gradient": "4.02"}, "gradient must be a list"),
    ("bench_envs", [1, 2], "is not a valid benchmark result file"),
])
def test_a_corrupt_kept_file_is_named_before_any_work(tmp_path, name, payload, words):
    from dprl import reproduce

    path = kept_result(tmp_path, name, payload)
    with pytest.raises(ValueError) as error:
        reproduce.run(out=tmp_path, julia="off", only=["crosscheck"])
    assert str(error.value).startswith(str(path)) and words in str(error.value)
    assert ("--only " + name if not name.startswith("bench") else f"comparisons/{name}.py") in str(error.value)
    assert not (tmp_path / "results" / "crosscheck.json").exists()  # it stopped before running anything


def test_a_corrupt_kept_file_is_one_line_from_the_command(tmp_path):
    path = kept_result(tmp_path, "cartpole", "")
    result = subprocess.run([sys.executable, "-m", "dprl.cli", "reproduce", "--only", "trebuchet_gradient", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and str(path) in result.stderr


@pytest.mark.alone
def test_ctrl_c_keeps_the_finished_reproductions_and_exits_130(tmp_path, ctrl_c):
    log = tmp_path / "stderr.txt"
    with log.open("w") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "dprl.cli", "reproduce", "--quick", "--julia", "off", "--out", str(tmp_path)],
                                   stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = time.monotonic() + 300
        while not re.search(r"\b1/\d+\b", log.read_text()) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        code = ctrl_c(process)
    text = log.read_text()
    # 130, or (in 2 of 9 suite runs on 2026-12-05, never in 34 runs of the command alone) an end
    # by SIGINT after the line was printed, which a shell reports as 130 too: docs/notes/2026-12-04-suite-time.md
    assert code in (130, -signal.SIGINT) and "Traceback" not in text, text
    assert text.replace("\r", "\n").strip().splitlines()[-1].startswith("dprl reproduce: interrupted; the reproductions that finished are in ")
    assert json.loads((tmp_path / "results" / "trebuchet_gradient.json").read_text())["rows"]
    assert not (tmp_path / "REPORT.md").exists()


def test_a_ctrl_c_inside_the_2019_aimer_stops_the_reproduction(tmp_path, monkeypatch):
    """The trainers return on Ctrl-C (an unfinished result); the reproduction must raise it again,
    not report half a run and go on to the next claim."""
    from dprl import recipes, reproduce
    from dprl.results import TrainingResult

    monkeypatch.setattr(recipes, "train_seeded_aimer", lambda *args, **kwargs: TrainingResult(trainer="trebuchet", config={}, finished=False))
    with pytest.raises(KeyboardInterrupt):
        reproduce.aimer_2019(tmp_path, quick=True)
    assert not (tmp_path / "aimer_2019.json").exists()


def test_a_reproduction_that_cannot_run_here_keeps_the_measurement_it_finds(tmp_path, monkeypatch):
    """Without Julia, a Julia measurement found is kept, marked "from <date>, <commit>, not rerun
    here: <reason>"; with none to keep, a "not run" row is written."""
    from dprl import julia, reproduce

    monkeypatch.setattr(julia, "is_started", lambda: False)
    monkeypatch.setattr(julia, "locate_julia", lambda: None)
    fresh = tmp_path / "fresh"
    assert json.loads(reproduce.julia_trebuchet_gradient(fresh, quick=False).read_text())["ran"] is False
    measured = {"command": "c", "ran": True, "gradient": [4.0, -1.0, 0.05], "made": {"date": "2026-12-01T20:00:00+00:00", "commit": "abc123"},
                "rows": [{"claim": "c", "published": "—", "measured": "(4.0223, …)", "command": "c", "holds": "yes"}]}
    path = kept_result(tmp_path, "julia_trebuchet_gradient", measured)
    reproduce.julia_trebuchet_gradient(path.parent, quick=False)
    after = json.loads(path.read_text())
    assert after["rows"] == measured["rows"] and after["gradient"] == measured["gradient"] and after["made"] == measured["made"]
    assert after["kept"]["from"] == "2026-12-01, commit abc123" and after["kept"]["reason"] == "no Julia (no Julia found)"
    from dprl import report

    assert "from 2026-12-01, commit abc123, not rerun here: no Julia (no Julia found). (4.0223" in report.render_text(tmp_path)


def test_the_comparison_without_stable_baselines3_keeps_its_summary(tmp_path, monkeypatch):
    from dprl import reproduce

    monkeypatch.setitem(sys.modules, "stable_baselines3", None)  # import fails as where it is not installed
    kept = {"command": "c", "summary": {"cartpole": {}}, "rows": [{"claim": "c", "published": "—", "measured": "m", "command": "c", "holds": "yes"}]}
    path = kept_result(tmp_path, "dp_vs_rl", kept)
    reproduce.dp_vs_rl(path.parent, quick=False)
    after = json.loads(path.read_text())
    assert after["summary"] == kept["summary"] and after["kept"]["reason"] == "Stable-Baselines3 missing (pip install -e \".[rl]\")"
    assert after["kept"]["from"] == "an unrecorded date and commit"  # no record, and no git history for a file outside the repository


def test_a_kept_result_from_a_future_schema_is_refused_before_any_work(tmp_path):
    from dprl import reproduce

    kept_result(tmp_path, "cartpole", {"rows": [], "made": {"schema": 99}})
    with pytest.raises(ValueError, match="cartpole.json was written by a newer dprl"):
        reproduce.run(out=tmp_path, julia="off", only=["trebuchet_gradient"])


def test_without_julia_a_live_crosscheck_and_the_2019_aimer_s_julia_half_are_kept_not_remade(tmp_path, monkeypatch):
    from dprl import julia, recipes, reproduce

    monkeypatch.setattr(julia, "is_started", lambda: False)
    monkeypatch.setattr(julia, "locate_julia", lambda: "/usr/bin/julia")  # found, but it did not start
    monkeypatch.setattr(recipes, "train_seeded_aimer", lambda *a, **k: pytest.fail("the kept 2019 aimer must not be retrained"))
    row = {"claim": "c", "published": "—", "measured": "m", "command": "c", "holds": "yes"}
    for name, payload in (("crosscheck", {"command": "c", "source": "live", "rows": [row]}),
                          ("aimer_2019", {"command": "c", "julia": {"updates": 100000}, "rows": [row]})):
        path = kept_result(tmp_path, name, payload)
        getattr(reproduce, name)(path.parent, quick=True)
        after = json.loads(path.read_text())
        assert after["rows"] == [row] and after["kept"]["reason"] == "no Julia (Julia did not start)", name


def test_a_ray_address_that_does_not_answer_stops_the_reproduction_before_any_work(tmp_path):
    pytest.importorskip("ray", reason="Ray is not installed (pip install -e \".[ray]\")")
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "dprl.cli", "reproduce", "--julia", "off", "--ray", "127.0.0.1:9", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert time.monotonic() - start < 30
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("dprl reproduce: --ray 127.0.0.1:9: no Ray cluster answers there (")
    assert not (tmp_path / "results").exists()
