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
    copy = tmp_path / "perturbed"
    copy.mkdir()
    for path in recording.glob("*.json"):
        data = json.loads(path.read_text())
        if data["case"] == case:
            import numpy as np

            values = np.asarray(data["outputs"][key], dtype=float)
            flat = values.reshape(-1)
            flat[np.argmax(np.abs(flat))] *= 1 + 1e-5  # the largest entry: never a dead unit's zero
            data["outputs"][key] = values.tolist()
        (copy / path.name).write_text(json.dumps(data))
    result = dprl("crosscheck", "--against", str(copy), "--out", str(tmp_path / "out"))
    assert result.returncode == crosscheck.EXIT_MISMATCH
    assert f"{case}/{key}" in result.stderr and "FAIL" in result.stdout


def test_without_julia_live_mode_says_so_in_one_line(tmp_path):
    env = {**os.environ, "PYTHON_JULIAPKG_EXE": str(tmp_path / "none"), "PYTHON_JULIAPKG_OFFLINE": "yes"}
    env.pop("PYTHON_JULIACALL_EXE", None)
    env.pop("PYTHON_JULIACALL_PROJECT", None)
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


def test_nan_agrees_only_with_nan():
    """Event times of throws that never reach the event are NaN on both stacks; a NaN on one
    side only is a mismatch."""
    a, b = np.array([1.0, np.nan, 3.0]), np.array([1.0, np.nan, 3.0 + 3e-15])
    diff, rel = crosscheck.max_relative(a, b)
    assert 0 < rel < 1e-14
    assert crosscheck.max_relative(np.array([1.0, np.nan]), np.array([1.0, 2.0])) == (float("inf"), float("inf"))
