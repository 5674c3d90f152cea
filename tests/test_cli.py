"""The `dprl` command line, run as a user would."""

import json
import subprocess
import sys

import pytest


def dprl(*args, env=None):
    return subprocess.run([sys.executable, "-m", "dprl.cli", *args], capture_output=True, text=True, env=env, timeout=600)


def test_shoot_prints_distance_and_gradient():
    result = dprl("shoot", "--wind", "-2", "--angle", "45", "--weight", "200", "--grad", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["distance_m"] == pytest.approx(74.7284, abs=1e-3)
    assert out["gradient"]["wind"] == pytest.approx(4.02, abs=0.005)
    assert out["gradient"]["angle_deg"] == pytest.approx(-0.99, abs=0.005)
    assert 0.0505 <= out["gradient"]["weight_lb"] <= 0.0525


def test_shoot_text_output_names_units():
    result = dprl("shoot", "--grad")
    assert result.returncode == 0
    assert "m per degree" in result.stdout and "m per lb" in result.stdout


@pytest.mark.parametrize(
    "args, name",
    [(["--angle", "95"], "angle_deg"), (["--weight", "-1"], "weight_lb"), (["--wind", "nan"], "wind")],
)
def test_bad_values_give_one_clear_line(args, name):
    result = dprl("shoot", *args)
    assert result.returncode == 2
    assert name in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_help_explains_units():
    result = dprl("shoot", "--help")
    assert result.returncode == 0
    for word in ("m/s", "degrees", "pounds"):
        assert word in result.stdout


def test_julia_backend_without_julia_says_so_in_one_line(tmp_path):
    env = {**__import__("os").environ, "PYTHON_JULIAPKG_EXE": str(tmp_path / "no-julia"), "PYTHON_JULIAPKG_OFFLINE": "yes"}
    env.pop("PYTHON_JULIACALL_EXE", None)
    env.pop("PYTHON_JULIACALL_PROJECT", None)
    result = dprl("shoot", "--backend", "julia", env=env)
    assert result.returncode == 3
    assert "Julia is unavailable" in result.stderr and "PYTHON_JULIAPKG_EXE" in result.stderr
    assert "Traceback" not in result.stderr


def test_julia_trained_aimer_without_julia_says_so_in_one_line(tmp_path):
    env = {**__import__("os").environ, "PYTHON_JULIAPKG_EXE": str(tmp_path / "no-julia"), "PYTHON_JULIAPKG_OFFLINE": "yes"}
    env.pop("PYTHON_JULIACALL_EXE", None)
    env.pop("PYTHON_JULIACALL_PROJECT", None)
    result = dprl("train", "trebuchet", "--optimizer", "adam", "--backend", "julia", "--out", str(tmp_path), env=env)
    assert result.returncode == 3 and "Julia is unavailable" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.julia
def test_train_trebuchet_on_julia_writes_its_result(jl, tmp_path):
    result = dprl("train", "trebuchet", "--optimizer", "adam", "--backend", "julia", "--samples", "300", "--time-budget", "30",
                  "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    saved = json.loads((tmp_path / "trebuchet_adam_julia_seed0.json").read_text())
    assert saved["config"]["backend"] == "julia" and saved["finished"] and len(saved["losses"]) == 300
    assert saved["extra"]["updates"][0] == 0 and saved["extra"]["updates"][-1] == 300
    for suffix in ("_misses.png", "_curve.png", "_throw.gif"):
        assert (tmp_path / f"trebuchet_adam_julia_seed0{suffix}").stat().st_size > 0


def test_train_trebuchet_writes_result_plots_and_gif(tmp_path):
    result = dprl("train", "trebuchet", "--time-budget", "3", "--samples", "64", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    for suffix in (".json", "_misses.png", "_curve.png", "_throw.gif"):
        assert (tmp_path / f"trebuchet_lm_seed0{suffix}").stat().st_size > 0
    saved = json.loads((tmp_path / "trebuchet_lm_seed0.json").read_text())
    assert saved["trainer"] == "trebuchet" and saved["finished"] and len(saved["weights"]) == 4


def test_train_cartpole_writes_result_and_curve(tmp_path):
    result = dprl("train", "cartpole", "--episodes", "2", "--evaluation-episodes", "5", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    saved = json.loads((tmp_path / "cartpole_v1_seed0.json").read_text())
    assert len(saved["scores"]) == 2 and (tmp_path / "cartpole_v1_seed0.png").exists()


def test_train_pendulum_apg_writes_result_and_refuses_the_2019_variant(tmp_path):
    result = dprl("train", "pendulum", "--method", "apg", "--episodes", "2", "--batch", "4", "--fine-tune", "0", "--evaluation-episodes", "3", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    saved = json.loads((tmp_path / "pendulum_apg_seed0.json").read_text())
    assert saved["trainer"] == "pendulum_apg" and len(saved["losses"]) == 2 and saved["env_steps"] == [2 * 4 * 200]
    refused = dprl("train", "pendulum", "--method", "apg", "--variant", "gymjl2019", "--out", str(tmp_path))
    assert refused.returncode == 2 and "--variant" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
