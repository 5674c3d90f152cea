"""dprl.crosscheck.gradcheck and `dprl gradcheck`: the machinery on PyTorch callables (no Julia
needed: `julia=` takes any callable on tensors), then Julia against PyTorch (marker `julia`)."""

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


class _WrongBackward:
    """sin with a backward 1 % off: the gradient pairs that involve it must fail."""

    @staticmethod
    def make():
        import torch

        class WrongSin(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return torch.sin(x)

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return g * torch.cos(x) * 1.01

        return WrongSin.apply


def _rows(report):
    return {r.pair: r for r in report.rows}


# ----------------------------------------------------------------------------------------------
# Without Julia
# ----------------------------------------------------------------------------------------------
def test_identical_functions_pass_every_pair():
    import torch

    from dprl.crosscheck import gradcheck

    x = np.linspace(-1, 1, 7)
    report = gradcheck(julia=torch.sin, torch=torch.sin, inputs={"x": x})
    assert report.passed and len(report.rows) == 4
    assert report.fd_coordinates == report.total_coordinates == 7
    assert all(r.max_rel <= r.tolerance for r in report.rows)


def test_a_value_difference_fails_and_points_at_the_worst_input():
    import torch

    from dprl.crosscheck import gradcheck

    x = np.array([0.1, 0.2, 1.5, 0.3])
    report = gradcheck(julia=lambda x: torch.exp(x) * (1 + 1e-6 * (x > 1)), torch=torch.exp, inputs={"x": x})
    values = _rows(report)["values: PyTorch vs Julia"]
    assert not report.passed and values.verdict == "FAIL"
    assert values.where == "output 1[2]" and values.point == {"x": 1.5}


def test_a_wrong_backward_fails_both_of_its_pairs_and_only_those():
    import torch

    from dprl.crosscheck import gradcheck

    report = gradcheck(julia=_WrongBackward.make(), torch=torch.sin, inputs=[np.linspace(0.1, 1.0, 5)])
    rows = _rows(report)
    assert rows["values: PyTorch vs Julia"].verdict == "pass"
    assert rows["gradient: PyTorch autograd vs Julia Zygote"].verdict == "FAIL"
    assert rows["gradient: Julia FD vs Julia Zygote"].verdict == "FAIL"
    assert rows["gradient: PyTorch FD vs PyTorch autograd"].verdict == "pass"
    assert rows["gradient: Julia FD vs Julia Zygote"].max_rel == pytest.approx(0.01 / 1.01, rel=1e-3)


def test_disagreeing_outputs_are_named():
    import torch

    from dprl.crosscheck import gradcheck

    x = {"x": np.ones(3)}
    with pytest.raises(ValueError, match=r"output 1: the Julia function .* returns shape \(3,\), the PyTorch function .* \(3, 1\)"):
        gradcheck(julia=torch.sin, torch=lambda x: torch.sin(x)[:, None], inputs=x)
    with pytest.raises(ValueError, match="returns 2 outputs, the PyTorch function .* 1"):
        gradcheck(julia=lambda x: (x, x), torch=torch.sin, inputs=x)
    with pytest.raises(ValueError, match=r"returns torch.float64, the PyTorch function .* torch.float32"):
        gradcheck(julia=torch.sin, torch=lambda x: torch.sin(x).float(), inputs=x)
    with pytest.raises(ValueError, match="non-finite at index"):
        gradcheck(julia=torch.sin, torch=lambda x: torch.log(x - 1), inputs=x)
    with pytest.raises(ValueError, match="input 'x' holds non-finite values"):
        gradcheck(julia=torch.sin, torch=torch.sin, inputs={"x": [1.0, float("nan")]})
    with pytest.raises(ValueError, match="tolerances takes values, gradients, finite_differences"):
        gradcheck(julia=torch.sin, torch=torch.sin, inputs=x, tolerances={"value": 1e-3})


def test_finite_differences_are_sampled_when_inputs_are_large():
    import torch

    from dprl.crosscheck import gradcheck

    report = gradcheck(julia=torch.tanh, torch=torch.tanh, inputs={"x": np.linspace(-2, 2, 50)}, max_fd_coordinates=10)
    assert report.fd_coordinates == 10 and report.total_coordinates == 50 and report.passed


def test_toml_spec_draws_seeded_inputs_and_imports_the_torch_side(tmp_path):
    from dprl import gradcheck

    spec = tmp_path / "spec.toml"
    spec.write_text(textwrap.dedent("""
        julia = "Trebuchet.shoot"
        torch = "dprl.envs.trebuchet:shoot"
        core_ndims = [0, 0, "whole"]
        seed = 3
        [inputs]
        wind = { uniform = [-1, 1], shape = [4] }
        angle_deg = [40.0, 45.0, 50.0, 55.0]
        weight_lb = 200.0
    """))
    loaded = gradcheck.load_spec(spec)
    again = gradcheck.load_spec(spec)
    from dprl.envs import trebuchet

    assert loaded["torch"] is trebuchet.shoot and loaded["core_ndims"] == (0, 0, None)
    assert np.shape(loaded["inputs"]["wind"]) == (4,) and np.all(np.abs(loaded["inputs"]["wind"]) <= 1)
    assert np.array_equal(loaded["inputs"]["wind"], again["inputs"]["wind"])


@pytest.mark.parametrize("body, message", [
    ('julia = "sin"\ninputs = {x = [1.0]}\n', "missing torch"),
    ('julia = "sin"\ntorch = "torch:sin"\ninputs = {x = [1.0]}\ntolerance = 1\n', "unknown keys tolerance"),
    ('julia = "sin"\ntorch = "dprl.nothing_here:f"\ninputs = {x = [1.0]}\n', "cannot import dprl.nothing_here"),
    ('julia = "sin"\ntorch = "torch:sin"\ninputs = {x = {uniform = [0, 1], normal = [0, 1]}}\n', "inputs.x must be"),
    ('julia = \n', "not valid TOML"),
])
def test_bad_specs_say_what_is_wrong(tmp_path, body, message):
    from dprl import gradcheck

    spec = tmp_path / "spec.toml"
    spec.write_text(body)
    with pytest.raises(ValueError, match=message):
        gradcheck.load_spec(spec)


def test_python_spec_is_read_from_its_top_level_names():
    from dprl import gradcheck

    spec = gradcheck.load_spec(ROOT / "comparisons" / "gradcheck" / "pendulum_step.py")
    assert spec["julia"] == "Pendulum.step" and spec["julia_kwargs"] == {"variant": "gymjl2019"}
    assert callable(spec["torch"]) and spec["torch"].__module__ == "pendulum_step.py"
    assert np.shape(spec["inputs"]["state"]) == (16, 2)


def test_command_without_julia_says_so_in_one_line(tmp_path, no_julia_env):
    import os
    import subprocess
    import sys

    env = no_julia_env
    result = subprocess.run([sys.executable, "-m", "dprl.cli", "gradcheck", str(ROOT / "comparisons" / "gradcheck" / "trebuchet.toml")],
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 3
    assert "Julia is unavailable" in result.stderr and len(result.stderr.strip().splitlines()) == 1


# ----------------------------------------------------------------------------------------------
# With Julia
# ----------------------------------------------------------------------------------------------
@pytest.mark.julia
def test_the_crosschecks_trebuchet_case_written_with_gradcheck_passes(jl):
    from dprl import crosscheck
    from dprl.envs import trebuchet

    points = np.array(crosscheck.trebuchet_inputs(np.random.default_rng([0, 0]), 0)["points"])
    report = crosscheck.gradcheck(julia="Trebuchet.shoot", mode="forwarddiff", core_ndims=0, torch=trebuchet.shoot,
                                  inputs={"wind": points[:, 0], "angle_deg": points[:, 1], "weight_lb": points[:, 2]},
                                  tolerances={"values": crosscheck.TREBUCHET_TOLERANCE, "gradients": crosscheck.TREBUCHET_TOLERANCE})
    assert report.passed, report.table()
    assert report.julia == "DPRL.Trebuchet.shoot" and report.torch == "dprl.envs.trebuchet.shoot"


@pytest.mark.julia
def test_gradcheck_catches_a_julia_function_that_differs(jl):
    import torch

    from dprl.crosscheck import gradcheck

    report = gradcheck(julia="cos", core_ndims=0, torch=torch.sin, inputs={"x": np.linspace(0.2, 1.2, 5)})
    assert not report.passed
    assert _rows(report)["values: PyTorch vs Julia"].verdict == "FAIL"
    assert _rows(report)["gradient: Julia FD vs Julia Zygote"].verdict == "pass"  # each side is self-consistent


@pytest.mark.julia
def test_command_passes_on_the_shipped_specs_and_writes_json(jl, tmp_path, capsys):
    from dprl import cli

    for spec in ("trebuchet.toml", "pendulum_step.py"):
        out = tmp_path / f"{spec}.json"
        assert cli.main(["gradcheck", str(ROOT / "comparisons" / "gradcheck" / spec), "--json", str(out)]) == 0
        assert json.loads(out.read_text())["passed"] is True
    assert "verdict: pass" in capsys.readouterr().out


@pytest.mark.julia
@pytest.mark.parametrize("julia_name, torch_target, code, message", [
    ("cos", "torch:sin", 1, "pairs broke their tolerance"),
    ("Trebuchet.shot", "torch:sin", 2, "no Julia function 'Trebuchet.shot'"),
    ("Pendulum.step", "torch:atan2", 2, "returns 3 outputs"),
])
def test_command_exit_codes_and_one_line_errors(jl, tmp_path, capsys, julia_name, torch_target, code, message):
    from dprl import cli

    spec = tmp_path / "spec.toml"
    core = "[1, 0]" if julia_name == "Pendulum.step" else "0"
    inputs = 'x = [[0.1, 0.2], [0.3, 0.4]]\ny = [0.5, 0.6]' if julia_name == "Pendulum.step" else "x = [0.2, 0.7]"
    spec.write_text(f'julia = "{julia_name}"\ntorch = "{torch_target}"\ncore_ndims = {core}\n[inputs]\n{inputs}\n')
    assert cli.main(["gradcheck", str(spec)]) == code
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
