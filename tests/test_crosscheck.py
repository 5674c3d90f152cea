"""The cross-check machinery: record, compare against a recording, fail loudly, and (Julia) live."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dprl import crosscheck

FIXTURES = Path(__file__).parent / "fixtures" / "crosscheck"


def dprl(*args, env=None):
    return subprocess.run([sys.executable, "-m", "dprl.cli", *args], capture_output=True, text=True, env=env, timeout=900)


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    directory = tmp_path_factory.mktemp("recording")
    crosscheck.record(directory, updates=12, record_from="torch")
    return directory


def test_a_recording_of_pytorch_itself_compares_equal(recording, tmp_path):
    result = dprl("crosscheck", "--against", str(recording), "--out", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    rows = json.loads((tmp_path / "crosscheck.json").read_text())["rows"]
    assert rows and all(r["verdict"] == "pass" and r["max_rel"] == 0.0 for r in rows)
    assert {r["case"] for r in rows} == {c.name for c in crosscheck.CASES}


@pytest.mark.parametrize("case, key", [("cartpole_window_gradient", "layer2_weight"), ("trebuchet_throws", "gradient"), ("pendulum_training", "gymjl2019_losses")])
def test_one_perturbed_value_fails_loudly(recording, tmp_path, case, key):
    def perturb(data):
        values = np.asarray(data["outputs"][key], dtype=float)
        flat = values.reshape(-1)
        flat[np.argmax(np.abs(flat))] *= 1 + 1e-5  # the largest entry: never a dead unit's zero
        data["outputs"][key] = values.tolist()

    copy, _ = one_case_with(recording, tmp_path, case, perturb)  # that case alone: the others pass in the test above
    result = dprl("crosscheck", "--against", str(copy), "--out", str(tmp_path / "out"))
    assert result.returncode == crosscheck.EXIT_MISMATCH
    assert f"{case}/{key}" in result.stderr and "FAIL" in result.stdout


def test_without_julia_live_mode_says_so_in_one_line(tmp_path, no_julia_env):
    env = no_julia_env
    result = dprl("crosscheck", "--env", "cartpole", "--out", str(tmp_path), env=env)
    assert result.returncode == crosscheck.EXIT_NO_JULIA
    assert len(result.stderr.strip().splitlines()) == 1 and "Julia is unavailable" in result.stderr and "--against" in result.stderr


def test_bad_recording_folder_is_a_clear_error(tmp_path):
    result = dprl("crosscheck", "--against", str(tmp_path), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "no cross-check recordings" in result.stderr


@pytest.mark.skipif(not list(FIXTURES.glob("*.json")), reason="no Julia recordings in tests/fixtures/crosscheck yet (made with `dprl crosscheck --record` where Julia runs)")
def test_pytorch_matches_the_recorded_julia_outputs(tmp_path):
    rows = crosscheck.against(FIXTURES)
    failed = [f"{r['case']}/{r['quantity']}: {r['max_rel']:.1e} > {r['tolerance']:.0e}" for r in rows if r["verdict"] != "pass"]
    assert not failed, failed


@pytest.mark.julia
@pytest.mark.slow
def test_live_crosscheck_on_short_budgets(jl, tmp_path):
    rows, curves = crosscheck.live(updates=20, jl=jl, progress=False)
    failed = [f"{r['case']}/{r['quantity']}: {r['max_rel']:.1e}" for r in rows if r["verdict"] != "pass"]
    assert not failed, failed
    assert crosscheck.curve_figure(curves, tmp_path / "curves.png").exists()


@pytest.mark.parametrize("case", crosscheck.CASES, ids=lambda c: c.name)
def test_pytorch_side_computes_in_float64(case):
    """Every PyTorch output of the cross-check is float64: a float32 side shows as ~1e-8 'mismatches'."""
    import numpy as np

    inputs = case.make_inputs(np.random.default_rng([0, 1]), 2)
    for key, value in case.torch_side(inputs).items():
        assert np.asarray(value).dtype == np.float64, f"{case.name}/{key} is {np.asarray(value).dtype}"


def test_curves_are_compared_over_the_updates_asked_for():
    import numpy as np

    case = next(c for c in crosscheck.CASES if c.name == "aimer_training")
    curve = np.linspace(1, 2, 300)
    (row,) = crosscheck.compare(case, {"losses": curve}, {"losses": curve.copy()}, updates=250)
    assert row["quantity"] == "losses (first 250 updates)" and row["verdict"] == "pass"
    # Both runs stopped at 40 updates: compared in full, and the label says why there are fewer.
    (row,) = crosscheck.compare(case, {"losses": curve[:40]}, {"losses": curve[:40]}, updates=250)
    assert "all 40 of 250 asked" in row["quantity"] and row["verdict"] == "pass"
    # One side stopped early: a failure that names both lengths.
    (row,) = crosscheck.compare(case, {"losses": curve[:40]}, {"losses": curve[:60]}, updates=250)
    assert row["verdict"] == "FAIL" and "PyTorch made 40, Julia 60" in row["quantity"]
    # A difference past the tolerance inside the compared span fails.
    bent = curve.copy()
    bent[100] *= 1 + 1e-5
    (row,) = crosscheck.compare(case, {"losses": bent}, {"losses": curve}, updates=200)
    assert row["verdict"] == "FAIL" and row["curves_part_at_update"] == 101


@pytest.mark.parametrize("updates", [60, 200])
def test_inputs_give_each_curve_the_updates_asked_for(updates):
    """The inputs make every trainer run at least `updates` updates (the aimer and both Pendulum presets)."""
    import numpy as np

    aimer = crosscheck.aimer_training_inputs(np.random.default_rng(0), updates)
    assert len(aimer["winds"]) // aimer["batch_size"] >= updates
    pendulum = crosscheck.pendulum_training_inputs(np.random.default_rng(0), updates)
    assert len(pendulum["blog_starts"]) * (200 // 4) >= updates and len(pendulum["gym_starts"]) * (200 // 20) >= updates


def one_case_with(recording, tmp_path, case, change):
    """A copy of the recording of `case` alone, with change(data) applied."""
    copy = tmp_path / "changed"
    copy.mkdir()
    data = json.loads((recording / f"{case}.json").read_text())
    change(data)
    (copy / f"{case}.json").write_text(json.dumps(data))
    return copy, copy / f"{case}.json"


@pytest.mark.parametrize("case, change, words", [
    ("trebuchet_throws", lambda d: d["inputs"].update(points="many"), "inputs.points must be a finite number or a list of them"),
    ("cartpole_window_gradient", lambda d: d["inputs"].update(n="8"), "inputs.n must be a finite number"),
    ("cartpole_steps", lambda d: d["inputs"].pop("actions"), "inputs lacks the field 'actions'"),
    ("pendulum_steps", lambda d: d.update(outputs=[1, 2]), "outputs must be an object"),
    ("pendulum_steps", lambda d: d["outputs"].update(gymnasium_rewards=["x"]), "gymnasium_rewards[0] must be a finite number"),
    ("cartpole_steps", lambda d: d["outputs"].update(done=[[1.0], [1.0, 2.0]]), "outputs.done is a ragged array"),
    ("cartpole_steps", lambda d: d["inputs"].update(states=[[0.0, 0.0, 0.0]] * 16), "do not fit the case cartpole_steps: state must have shape"),
    ("pendulum_window_gradient", lambda d: d["inputs"].update(states=[[0.0, 1.0, 0.0]] * 4), "do not fit the case pendulum_window_gradient"),
])
def test_a_recording_with_wrong_types_is_named_in_one_line(recording, tmp_path, case, change, words):
    folder, path = one_case_with(recording, tmp_path, case, change)
    with pytest.raises(ValueError) as error:
        crosscheck.against(folder)
    assert str(error.value).startswith(str(path)) and words in str(error.value), str(error.value)


@pytest.mark.parametrize("case, change, words", [
    # NaN agrees with NaN (an event neither side reached): NaN inputs with NaN outputs must not pass as agreement.
    ("trebuchet_throws", lambda d: (d["inputs"]["points"][0].__setitem__(0, float("nan")), d["outputs"].update(distance=[float("nan")] * 12)),
     "inputs.points[0][0] must be a finite number or a list of them, got NaN"),
    ("trebuchet_throws", lambda d: d["inputs"]["points"][1].__setitem__(2, float("inf")), "must be a finite number or a list of them, got Infinity"),
    ("cartpole_training", lambda d: d.update(updates=0), "updates must be a whole number, at least 1; got 0"),
    ("cartpole_training", lambda d: d.update(updates=-5), "updates must be a whole number, at least 1; got -5"),
    ("cartpole_training", lambda d: d.update(updates=2.5), "updates must be a whole number, at least 1; got 2.5"),
    ("cartpole_window_gradient", lambda d: d["inputs"].update(n=0), "n must be a whole number of steps, at least 1; got 0"),
    ("cartpole_window_gradient", lambda d: d["inputs"].update(n=2.5), "n must be a whole number of steps, at least 1; got 2.5"),
    ("cartpole_steps", lambda d: d["outputs"].update(done=[float("inf")]), "done[0] must be a finite number or a list of them (NaN allowed), got Infinity"),
])
def test_a_recording_that_cannot_be_real_is_refused_naming_the_field(recording, tmp_path, case, change, words):
    folder, path = one_case_with(recording, tmp_path, case, change)
    with pytest.raises(ValueError) as error:
        crosscheck.against(folder)
    assert str(error.value).startswith(str(path)) and words in str(error.value), str(error.value)


def test_the_window_gradients_refuse_a_count_that_is_no_whole_number_of_steps():
    from dprl.train.cartpole import cartpole_window_gradient
    from dprl.train.pendulum import pendulum_window_gradient

    weights = crosscheck.cartpole_window_inputs(np.random.default_rng(0), 1)["weights"]
    for n in (0, -3, 2.5, True, "8"):
        with pytest.raises(ValueError, match="n must be a whole number of steps, at least 1"):
            cartpole_window_gradient(crosscheck._layers(weights), [0.0] * 4, n)
        with pytest.raises(ValueError, match="n must be a whole number of steps, at least 1"):
            pendulum_window_gradient(crosscheck._layers(crosscheck.pendulum_window_inputs(np.random.default_rng(0), 1)["weights"]), [[0.1, 0.0]], n)
    assert np.isfinite(cartpole_window_gradient(crosscheck._layers(weights), [0.0] * 4, np.int64(3))["loss"])


def test_a_folder_with_some_recordings_lists_the_missing_cases(recording, tmp_path):
    folder, _ = one_case_with(recording, tmp_path, "cartpole_steps", lambda d: None)
    missing = crosscheck.missing_recordings(folder)
    assert "cartpole_steps" not in missing and len(missing) == len(crosscheck.CASES) - 1
    result = dprl("crosscheck", "--against", str(folder), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert f"{len(crosscheck.CASES) - 1} cases" not in result.stdout  # the count printed is of cases recorded
    assert f"1 of {len(crosscheck.CASES)} cases recorded" in result.stdout and "trebuchet_throws" in result.stdout
    assert json.loads((tmp_path / "out" / "crosscheck.json").read_text())["not_recorded"] == missing


def test_a_truncated_recording_is_named_by_the_command(recording, tmp_path):
    folder, path = one_case_with(recording, tmp_path, "trebuchet_throws", lambda d: None)
    path.write_text(path.read_text()[:100])
    result = dprl("crosscheck", "--against", str(folder), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()] and f"{path} is not a readable cross-check recording" in result.stderr


def test_nan_agrees_only_with_nan():
    """Event times of throws that never reach the event are NaN on both stacks; a NaN on one
    side only is a mismatch."""
    a, b = np.array([1.0, np.nan, 3.0]), np.array([1.0, np.nan, 3.0 + 3e-15])
    diff, rel = crosscheck.max_relative(a, b)
    assert 0 < rel < 1e-14
    assert crosscheck.max_relative(np.array([1.0, np.nan]), np.array([1.0, 2.0])) == (float("inf"), float("inf"))
