"""dprl.gradcheck and `dprl gradcheck`: for every check a planted bug it must catch and a correct
pair it must pass. The machinery runs on PyTorch callables first (no Julia needed: `julia=` takes
any callable on tensors, whose forward mode is then PyTorch's), then Julia against PyTorch
(marker `julia`). Bad specs and arguments: one ValueError (exit 2) naming the file and the key."""

import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "comparisons" / "gradcheck"


def _function(forward, backward, jvp=None):
    """A one-argument torch function with a hand-written backward (and forward-mode rule)."""
    import torch

    class Planted(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            ctx.save_for_forward(x)
            return forward(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return backward(x, g)

    if jvp is not None:
        Planted.jvp = staticmethod(lambda ctx, t: jvp(ctx.saved_tensors[0], t))
    return Planted.apply


def _sin(backward_factor=1.0, jvp_factor=1.0, jvp=True):
    import torch

    return _function(torch.sin, lambda x, g: g * torch.cos(x) * backward_factor,
                     (lambda x, t: t * torch.cos(x) * jvp_factor) if jvp else None)


def _rows(report, check):
    return [r for r in report.rows if r.check == check]


def _row(report, check, part="all"):
    (row,) = [r for r in report.rows if r.check == check and r.part == part]
    return row


def _check(**kwargs):
    from dprl.gradcheck import gradcheck

    return gradcheck(**kwargs)


# ----------------------------------------------------------------------------------------------
# Without Julia: each check on PyTorch callables
# ----------------------------------------------------------------------------------------------
def test_identical_functions_pass_every_check():
    import torch

    report = _check(julia=torch.sin, torch=torch.sin, inputs={"x": np.linspace(-1, 1, 7)}, second_order=True)
    assert report.passed, report.table()
    assert all(r.verdict == "pass" for r in report.rows), report.table()  # nothing "not run" for sin
    checks = {r.check.split(":")[0] for r in report.rows}
    assert {"values", "gradient", "gradient, cotangent 2", "second backward vs first", "JVP", "dot product <w,Jv> vs <J'w,v>",
            "FD vs gradient", "FD along v vs <gradient,v>", "float32 vs float64", "second order", "inputs unchanged"} <= checks
    assert report.fd_coordinates == report.total_coordinates == 7 and report.directions == 3
    assert not report.kinks


def test_the_public_home_is_dprl_gradcheck_and_crosscheck_keeps_the_name():
    from dprl import crosscheck, gradcheck

    assert crosscheck.gradcheck is gradcheck.gradcheck and crosscheck.GradcheckReport is gradcheck.GradcheckReport


def test_a_value_difference_fails_and_points_at_the_worst_input():
    import torch

    x = np.array([0.1, 0.2, 1.5, 0.3])
    report = _check(julia=lambda x: torch.exp(x) * (1 + 1e-6 * (x > 1)), torch=torch.exp, inputs={"x": x})
    values = _row(report, "values: PyTorch vs Julia")
    assert not report.passed and values.verdict == "FAIL"
    assert values.where == "[2]" and values.point == {"x": 1.5}


def test_elementwise_verdicts_catch_a_small_component_that_the_norm_misses():
    """A gradient 0.5 % off at a component 1e4 times smaller than the largest: the norm-wise error
    (5e-7) is inside the FD tolerance 1e-5, the element-wise check is not."""
    import torch

    scale = torch.tensor([100.0, 0.01], dtype=torch.float64)
    wrong = _function(lambda x: x * scale, lambda x, g: g * scale * torch.tensor([1.0, 1.005], dtype=torch.float64))
    report = _check(julia=wrong, torch=wrong, inputs={"x": [0.3, 0.7]})
    fd = _row(report, "FD vs gradient: Julia autograd", "x")
    assert fd.verdict == "FAIL" and fd.where == "x[1]"
    assert fd.norm_rel < 1e-5  # what the norm-wise check alone would have let through
    assert _row(report, "gradient: PyTorch vs Julia autograd", "x").verdict == "pass"  # a shared bug: AD agrees with AD


def test_a_wrong_backward_fails_its_rows_and_only_those():
    import torch

    report = _check(julia=_sin(backward_factor=1.01), torch=torch.sin, inputs=[np.linspace(0.1, 1.0, 5)])
    verdicts = {(r.check, r.part): r.verdict for r in report.rows}
    assert verdicts[("values: PyTorch vs Julia", "all")] == "pass"
    for failing in (("gradient: PyTorch vs Julia autograd", "arg1"), ("gradient, cotangent 2: PyTorch vs Julia", "all"),
                    ("FD vs gradient: Julia autograd", "arg1"), ("FD along v vs <gradient,v>: Julia", "all"),
                    ("dot product <w,Jv> vs <J'w,v>: Julia", "all")):
        assert verdicts[failing] == "FAIL", failing
    assert verdicts[("JVP: PyTorch vs Julia ForwardDiff", "all")] == "pass"  # its forward mode is right
    assert all(v == "pass" for (check, _), v in verdicts.items() if check.endswith("PyTorch") or "PyTorch autograd" in check)
    assert _row(report, "FD vs gradient: Julia autograd", "arg1").max_abs > 0


def test_a_wrong_forward_mode_fails_the_jvp_and_dot_product_rows():
    import torch

    report = _check(julia=_sin(jvp_factor=1.001), torch=torch.sin, inputs={"x": np.linspace(-1, 1, 6)})
    assert _row(report, "JVP: PyTorch vs Julia ForwardDiff").verdict == "FAIL"
    assert _row(report, "dot product <w,Jv> vs <J'w,v>: Julia").verdict == "FAIL"
    assert _row(report, "dot product <w,Jv> vs <J'w,v>: PyTorch").verdict == "pass"
    assert _row(report, "gradient: PyTorch vs Julia autograd", "x").verdict == "pass"


def test_a_function_without_forward_mode_says_so_in_its_rows():
    import torch

    report = _check(julia=_sin(jvp=False), torch=torch.sin, inputs={"x": np.linspace(-1, 1, 4)})
    assert report.passed
    for check in ("JVP: PyTorch vs Julia ForwardDiff", "dot product <w,Jv> vs <J'w,v>: Julia"):
        row = _row(report, check)
        assert row.verdict == "not run" and "no forward-mode AD through it" in row.note
    assert _row(report, "<w,Jv> PyTorch vs <J'w,v> Julia").verdict == "pass"  # the other side's forward mode still meets it
    wrong = _check(julia=_sin(jvp=False, backward_factor=1.01), torch=torch.sin, inputs={"x": np.linspace(-1, 1, 4)})
    assert _row(wrong, "<w,Jv> PyTorch vs <J'w,v> Julia").verdict == "FAIL"
    assert "not run" in report.table()


def test_a_shared_bug_at_one_coordinate_of_a_large_input_is_found():
    """Both sides share a gradient wrong at one of 2000 coordinates: AD agrees with AD, but finite
    differences on every coordinate (the time budget pays for them) point at it, and finite
    differences along random directions catch it when only a few coordinates are sampled."""
    import torch

    def backward(x, g):
        grad = g * torch.cos(x)
        grad[1234] *= 1.01
        return grad

    wrong = _function(torch.sin, backward, lambda x, t: t * torch.cos(x))
    x = np.random.default_rng(1).uniform(-2, 2, 2000)
    report = _check(julia=wrong, torch=wrong, inputs={"x": x}, fd_budget_s=120)  # about 1 s needed
    assert report.fd_coordinates == 2000
    assert _row(report, "gradient: PyTorch vs Julia autograd", "x").verdict == "pass"
    fd = _row(report, "FD vs gradient: Julia autograd", "x")
    assert fd.verdict == "FAIL" and fd.where == "x[1234]"
    sampled = _check(julia=wrong, torch=wrong, inputs={"x": x}, max_fd_coordinates=16, seed=3)
    assert sampled.fd_coordinates == 16
    assert _row(sampled, "FD along v vs <gradient,v>: Julia").verdict == "FAIL"
    assert _row(sampled, "FD along v vs <gradient,v>: PyTorch").verdict == "FAIL"


def test_the_second_cotangent_catches_a_backward_that_keeps_its_first_cotangent():
    import torch

    remembered = []

    def backward(x, g):
        if not remembered:
            remembered.append(g.clone())
        return remembered[0] * torch.cos(x)

    report = _check(julia=_function(torch.sin, backward, lambda x, t: t * torch.cos(x)), torch=torch.sin, inputs={"x": np.linspace(0, 1, 5)})
    assert _row(report, "gradient: PyTorch vs Julia autograd", "x").verdict == "pass"
    assert _row(report, "second backward vs first: Julia").verdict == "pass"
    assert _row(report, "gradient, cotangent 2: PyTorch vs Julia").verdict == "FAIL"


def test_a_second_backward_that_differs_from_the_first_fails():
    import torch

    calls = []

    def backward(x, g):
        calls.append(1)
        return g * torch.cos(x) * (1 + 1e-6 * (len(calls) == 2))

    report = _check(julia=_function(torch.sin, backward, lambda x, t: t * torch.cos(x)), torch=torch.sin, inputs={"x": np.linspace(0, 1, 5)})
    assert _row(report, "second backward vs first: Julia").verdict == "FAIL"
    assert _row(report, "second backward vs first: PyTorch").verdict == "pass"


def test_float32_rows_catch_a_wrong_float32_path():
    import torch

    def wrong32(x):
        return torch.sin(x) * (1.01 if x.dtype == torch.float32 else 1.0)

    report = _check(julia=wrong32, torch=torch.sin, inputs={"x": np.linspace(-1, 1, 5)})
    assert _row(report, "float32 vs float64: Julia values").verdict == "FAIL"
    assert _row(report, "float32 vs float64: PyTorch values").verdict == "pass"
    assert (_row(report, "float32 vs float64: PyTorch values").rtol, _row(report, "float32 vs float64: PyTorch values").atol) == (1e-3, 1e-5)
    assert not _rows(_check(julia=torch.sin, torch=torch.sin, inputs={"x": [0.5]}, float32=False), "float32 vs float64: Julia values")


def test_a_kink_is_not_differentiable_rather_than_failed_and_the_check_goes_on():
    """relu with slope 1 at 0 against torch's slope 0: the coordinate at 0 is a kink, left out;
    a real bug at another coordinate still fails."""
    import torch

    def relu_backward(x, g, bug=1.0):
        slope = (x >= 0).double()
        slope[3] *= bug
        return g * slope

    x = {"x": [-1.0, -0.5, 0.0, 0.5, 1.0]}
    kinked = _function(torch.relu, relu_backward, lambda x, t: t * (x >= 0).double())
    report = _check(julia=kinked, torch=torch.relu, inputs=x)
    assert report.passed, report.table()
    assert report.kinks[:1] == ["x[2]"] and "not differentiable at x[2]" in report.table()
    buggy = _function(torch.relu, lambda x, g: relu_backward(x, g, bug=1.01), lambda x, t: t * (x >= 0).double())
    report = _check(julia=buggy, torch=torch.relu, inputs=x)
    row = _row(report, "gradient: PyTorch vs Julia autograd", "x")
    assert row.verdict == "FAIL" and row.where == "x[3]" and "x[2]" in report.kinks
    assert _check(julia=torch.abs, torch=torch.abs, inputs={"x": [0.0, 1.0]}).kinks[:1] == ["x[0]"]


def test_an_input_changed_by_a_function_fails_its_row():
    import torch

    def mutating(x):
        y = torch.sin(x)
        x.data[0] += 1.0  # behind autograd's back, as a Julia function writing into its argument
        return y

    report = _check(julia=mutating, torch=torch.sin, inputs={"x": [0.1, 0.2]}, float32=False)
    row = _row(report, "inputs unchanged: Julia")
    assert row.verdict == "FAIL" and row.where.startswith("x[0] changed")
    assert _row(report, "inputs unchanged: PyTorch").verdict == "pass"


def test_second_order_catches_a_gradient_without_its_own_derivative():
    """A backward that detaches its input is right to first order and has a zero Hessian."""
    import torch

    flat = _function(torch.sin, lambda x, g: g * torch.cos(x.detach()), lambda x, t: t * torch.cos(x))
    report = _check(julia=flat, torch=torch.sin, inputs={"x": np.linspace(0.2, 1.2, 4)}, second_order=True)
    assert _row(report, "gradient: PyTorch vs Julia autograd", "x").verdict == "pass"
    assert _row(report, "second order: HVP PyTorch vs Julia", "direction 1").verdict == "FAIL"
    assert _row(report, "second order: FD of gradient vs HVP: Julia", "direction 1").verdict == "FAIL"
    assert _row(report, "second order: FD of gradient vs HVP: PyTorch", "direction 1").verdict == "pass"
    assert _row(report, "second order: gradgradcheck: PyTorch").verdict == "pass"
    assert not _rows(_check(julia=torch.sin, torch=torch.sin, inputs={"x": [0.5]}), "second order: HVP PyTorch vs Julia")


def test_tolerances_take_rtol_and_atol_per_check():
    import torch

    x = {"x": [0.1, 0.2, 1.5]}
    off = lambda x: torch.exp(x) + 1e-7
    assert not _check(julia=off, torch=torch.exp, inputs=x).passed
    loose = _check(julia=off, torch=torch.exp, inputs=x, tolerances={"values": {"atol": 1e-6}})
    assert _row(loose, "values: PyTorch vs Julia").verdict == "pass" and _row(loose, "values: PyTorch vs Julia").rtol == 1e-9
    assert _row(_check(julia=off, torch=torch.exp, inputs=x, tolerances={"values": 1e-6}), "values: PyTorch vs Julia").verdict == "pass"


def test_disagreeing_outputs_are_named():
    import torch

    x = {"x": np.ones(3)}
    with pytest.raises(ValueError, match=r"output 1: the Julia function .* returns shape \(3,\), the PyTorch function .* \(3, 1\)"):
        _check(julia=torch.sin, torch=lambda x: torch.sin(x)[:, None], inputs=x)
    with pytest.raises(ValueError, match="returns 2 outputs, the PyTorch function .* 1"):
        _check(julia=lambda x: (x, x), torch=torch.sin, inputs=x)
    with pytest.raises(ValueError, match=r"returns torch.float64, the PyTorch function .* torch.float32"):
        _check(julia=torch.sin, torch=lambda x: torch.sin(x).float(), inputs=x)
    with pytest.raises(ValueError, match="PyTorch function .* is non-finite at index"):
        _check(julia=torch.sin, torch=lambda x: torch.log(x - 1), inputs=x)
    with pytest.raises(ValueError, match="Julia function .* is non-finite at index"):  # a NaN is bad input, not a FAIL
        _check(julia=lambda x: x * float("nan"), torch=torch.sin, inputs=x)


@pytest.mark.parametrize("kwargs, message", [
    ({"inputs": {"x": [1.0, float("nan")]}}, "input 'x' holds non-finite values"),
    ({"inputs": {"x": []}}, "input 'x' is empty"),
    ({"inputs": {"x": ["a"]}}, "input 'x' is not an array of numbers"),
    ({"inputs": 5}, "inputs must be a dict"),
    ({"tolerances": {"value": 1e-3}}, "tolerances takes values, gradients"),
    ({"tolerances": 5}, "tolerances must be a table"),
    ({"tolerances": {"values": -1.0}}, r"tolerances.values must be a finite number in \[0, inf\)"),
    ({"tolerances": {"values": float("nan")}}, "tolerances.values must be"),
    ({"tolerances": {"values": {"rtol": 1e-3, "btol": 1}}}, "tolerances.values takes rtol and atol"),
    ({"seed": "abc"}, "seed must be an integer"),
    ({"seed": -1}, "seed must be an integer"),
    ({"fd_step": 0.0}, "fd_step must be"),
    ({"max_fd_coordinates": 0}, "max_fd_coordinates must be"),
    ({"directions": 0}, "directions must be"),
    ({"fd_budget_s": float("inf")}, "fd_budget_s must be"),
    ({"julia_kwargs": 5}, "julia_kwargs must be a table"),
    ({"torch_kwargs": {"1x": 2}}, "torch_kwargs must be a table"),
    ({"second_order": "yes"}, "second_order must be true or false"),
    ({"core_ndims": -1}, "core_ndims must be"),
    ({"mode": "reverse"}, "mode must be one of zygote, forwarddiff"),
    ({"torch": 5}, "torch must be a callable"),
    ({"julia": 5}, "julia must be a Julia function name or a callable"),
])
def test_every_argument_is_checked_up_front(kwargs, message):
    import torch

    args = {"julia": torch.sin, "torch": torch.sin, "inputs": {"x": [0.5]}, **kwargs}
    with pytest.raises(ValueError, match=message):
        _check(**args)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(["values", "gradients", "jvp", "finite_differences", "float32"]),
       st.one_of(st.floats(max_value=-1e-300), st.just(math.nan), st.just(math.inf), st.just(-math.inf)))
def test_a_tolerance_out_of_range_is_refused_naming_it(check, value):
    from dprl.gradcheck import prepare

    with pytest.raises(ValueError, match=f"tolerances.{check}"):
        prepare(julia=np.sin, torch=np.sin, inputs={"x": [0.5]}, tolerances={check: value})


@settings(max_examples=50, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True), st.floats(allow_nan=True, allow_infinity=True))
def test_uniform_bounds_draw_inside_or_are_refused_naming_the_key(lo, hi):
    from dprl.gradcheck import draw_inputs

    spec = {"x": {"uniform": [lo, hi], "shape": [5]}}
    if math.isfinite(lo) and math.isfinite(hi) and lo < hi and math.isfinite(hi - lo):
        x = draw_inputs(spec, 0)["x"]
        assert x.shape == (5,) and np.all((x >= lo) & (x <= hi))
    else:
        with pytest.raises((ValueError, OverflowError), match="inputs.x.uniform"):
            draw_inputs(spec, 0)


# ----------------------------------------------------------------------------------------------
# Specs
# ----------------------------------------------------------------------------------------------
def test_toml_spec_draws_seeded_inputs_and_imports_the_torch_side(tmp_path):
    from dprl import gradcheck
    from dprl.envs import trebuchet

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
        [tolerances]
        values = 1e-8
        gradients = { rtol = 1e-8, atol = 1e-10 }
    """))
    loaded, again = gradcheck.load_spec(spec), gradcheck.load_spec(spec)
    assert loaded["torch"] is trebuchet.shoot and loaded["core_ndims"] == (0, 0, None)
    assert np.shape(loaded["inputs"]["wind"]) == (4,) and np.all(np.abs(loaded["inputs"]["wind"]) <= 1)
    assert np.array_equal(loaded["inputs"]["wind"], again["inputs"]["wind"])


@pytest.mark.parametrize("body, message", [
    ('julia = "sin"\ninputs = {x = [1.0]}\n', "missing torch"),
    ('julia = "sin"\ntorch = "torch:sin"\ninputs = {x = [1.0]}\ntolerance = 1\n', "unknown keys tolerance"),
    ('julia = "sin"\ntorch = "dprl.nothing_here:f"\ninputs = {x = [1.0]}\n', "cannot import dprl.nothing_here"),
    ('julia = "sin"\ntorch = "torch sin"\ninputs = {x = [1.0]}\n', "torch must be 'package.module:function'"),
    ('julia = 5\ntorch = "torch:sin"\ninputs = {x = [1.0]}\n', "julia must be a Julia function name"),
    ('julia = "sin"\ntorch = "torch:sin"\ninputs = {x = {uniform = [0, 1], normal = [0, 1]}}\n', "inputs.x must be"),
    ('julia = "sin"\ntorch = "torch:sin"\ninputs = {x = {uniform = [0, 1], shape = "abc"}}\n', "inputs.x.shape must be a list"),
    ('julia = "sin"\ntorch = "torch:sin"\ninputs = {x = {uniform = [0, 1], shape = [1000000, 1000000]}}\n', r"inputs.x.shape \(1000000, 1000000\) holds 1e\+12"),
    ('julia = "sin"\ntorch = "torch:sin"\ninputs = {x = {uniform = [-inf, inf], shape = [3]}}\n', "inputs.x.uniform must be a finite number"),
    ('julia = "sin"\ntorch = "torch:sin"\ninputs = {x = {uniform = [1, 0], shape = [3]}}\n', r"inputs.x.uniform must be \[lo, hi\] with lo < hi"),
    ('julia = "sin"\ntorch = "torch:sin"\ninputs = {x = {normal = [0, -1], shape = [3]}}\n', "inputs.x.normal must be"),
    ('julia = "sin"\ntorch = "torch:sin"\ninputs = 5\n', "inputs must be a table"),
    ('julia = "sin"\ntorch = "torch:sin"\ntolerances = 5\ninputs = {x = [1.0]}\n', "tolerances must be a table"),
    ('julia = "sin"\ntorch = "torch:sin"\ntolerances = {values = -1e-3}\ninputs = {x = [1.0]}\n', "tolerances.values must be"),
    ('julia = "sin"\ntorch = "torch:sin"\ntolerances = {values = nan}\ninputs = {x = [1.0]}\n', "tolerances.values must be"),
    ('julia = "sin"\ntorch = "torch:sin"\nseed = "abc"\ninputs = {x = [1.0]}\n', "seed must be an integer"),
    ('julia = "sin"\ntorch = "torch:sin"\njulia_kwargs = 5\ninputs = {x = [1.0]}\n', "julia_kwargs must be a table"),
    ('julia = "sin"\ntorch = "torch:sin"\nmode = "fast"\ninputs = {x = [1.0]}\n', "mode must be one of"),
    ('julia = "sin"\ntorch = "torch:sin"\ncore_ndims = [0, 0]\ninputs = {x = [1.0]}\n', "core_ndims has 2 entries for 1 inputs"),
    ('julia = \n', "not valid TOML"),
])
def test_bad_specs_name_the_file_and_the_key(tmp_path, body, message):
    from dprl import gradcheck

    spec = tmp_path / "spec.toml"
    spec.write_text(body)
    with pytest.raises(ValueError, match=message) as error:
        gradcheck.load_spec(spec)
    assert str(spec) in str(error.value)


@pytest.mark.parametrize("body, message", [
    ("julia = 'sin'\ntorch = (\n", "syntax error at line 2"),
    ("raise RuntimeError('broken spec')\n", "raised RuntimeError: broken spec"),
    ("import nothing_here_at_all\n", "cannot import nothing_here_at_all"),
    ("import sys\nsys.exit(3)\n", r"called exit\(3\)"),
    ("julia = 'sin'\nimport torch\ntorch = torch.sin\ninputs = {'x': {'uniform': [1, 0], 'shape': [2]}}\n", "inputs.x.uniform must be"),
])
def test_bad_python_specs_name_the_file(tmp_path, body, message):
    from dprl import gradcheck

    spec = tmp_path / "spec.py"
    spec.write_text(body)
    with pytest.raises(ValueError, match=message) as error:
        gradcheck.load_spec(spec)
    assert str(spec) in str(error.value)


def test_unreadable_specs_say_what_they_are(tmp_path):
    from dprl import gradcheck

    (tmp_path / "latin1.toml").write_bytes('julia = "café"\n'.encode("latin-1"))
    with pytest.raises(ValueError, match="latin1.toml is not UTF-8 text"):
        gradcheck.read_spec(tmp_path / "latin1.toml")
    with pytest.raises(ValueError, match="is a directory"):
        gradcheck.read_spec(tmp_path)
    with pytest.raises(ValueError, match="does not exist"):
        gradcheck.read_spec(tmp_path / "missing.toml")
    (tmp_path / "spec.json").write_text("{}")
    with pytest.raises(ValueError, match="must be a .toml or .py file"):
        gradcheck.read_spec((tmp_path / "spec.json").resolve())


def test_python_spec_is_read_from_its_top_level_names():
    from dprl import gradcheck

    spec = gradcheck.load_spec(SPECS / "pendulum_step.py")
    assert spec["julia"] == "Pendulum.step" and spec["julia_kwargs"] == {"variant": "gymjl2019"}
    assert callable(spec["torch"]) and spec["torch"].__module__ == "pendulum_step.py"
    assert np.shape(spec["inputs"]["state"]) == (16, 2)


def test_every_shipped_spec_reads():
    from dprl import gradcheck

    specs = sorted(SPECS.glob("*.toml")) + sorted(SPECS.glob("nnlib/*.toml"))
    assert len(specs) >= 21
    for path in specs:
        assert gradcheck.read_spec(path)["julia"]


def test_json_paths_are_checked_before_the_check(tmp_path):
    from dprl import gradcheck

    (tmp_path / "file").write_text("")
    for bad, message in ((tmp_path, "is a directory"), (tmp_path / "file" / "out.json", "cannot be")):
        with pytest.raises(ValueError, match=message):
            gradcheck.check_json_path(bad)
    good = tmp_path / "new" / "out.json"
    assert gradcheck.check_json_path(good) == good and not good.exists()


def _dprl(args, env=None):
    return subprocess.run([sys.executable, "-m", "dprl.cli", "gradcheck", *args], capture_output=True, text=True, env=env, timeout=600, check=False)


@pytest.mark.parametrize("args, message", [
    (["--json", "/proc/no/such/dir/out.json", str(SPECS / "trebuchet.toml")], "--json /proc/no/such/dir/out.json cannot be written"),
    ([], "give a spec file"),
    (["--julia", "NNlib.softplus", "--input", "x=uniform:-3:3:8"], "missing --torch"),
    (["--julia", "NNlib.softplus", "--torch", "torch.nn.functional:softplus", "--input", "x=uniform:3:-3:8"], "inputs.x.uniform must be"),
    (["--julia", "NNlib.softplus", "--torch", "torch.nn.functional:softplus", "--input", "x=cauchy:0:1"], "--input x: not uniform"),
    (["--rtol", "value=1e-3", str(SPECS / "trebuchet.toml")], "--rtol must be CHECK=VALUE"),
    (["--rtol", "values=-1", str(SPECS / "trebuchet.toml")], "--rtol must be a finite number"),
])
def test_command_refuses_bad_input_before_julia(no_julia_env, args, message):
    """Exit 2 and one line, even where Julia is missing: everything is read before Julia starts."""
    result = _dprl(args, env=no_julia_env)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_bad_spec_without_julia_is_bad_input_and_a_good_one_needs_julia(tmp_path, no_julia_env):
    bad = tmp_path / "bad.toml"
    bad.write_text('julia = "sin"\ntorch = "torch:sin"\nseed = "abc"\ninputs = {x = [1.0]}\n')
    result = _dprl([str(bad)], env=no_julia_env)
    assert result.returncode == 2 and "seed must be an integer" in result.stderr
    result = _dprl([str(SPECS / "trebuchet.toml")], env=no_julia_env)
    assert result.returncode == 3
    assert "Julia is unavailable" in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("body, message", [
    ("import torch\nraise RuntimeError('boom')\n", "raised RuntimeError: boom"),
    ("import torch\njulia = 'sum'\ntorch = torch.sum\ninputs = {'x': {'uniform': [0, 1], 'shape': 'abc'}}\n", "inputs.x.shape must be"),
    ("import torch\njulia = 'sum'\n", "missing inputs"),
    ("import no_such_module_dprl\n", "cannot import no_such_module_dprl"),
])
def test_a_bad_python_spec_without_julia_is_bad_input(tmp_path, no_julia_env, body, message):
    """A Python spec is checked by running it; with no Julia that is safe before torch (juliacall never
    loads), so a bad one is exit 2, not exit 3 (issue 29, item 10)."""
    spec = tmp_path / "spec.py"
    spec.write_text(body)
    result = _dprl([str(spec)], env=no_julia_env)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("body", [
    "import torch as th\njulia = 'sum'\ntorch = th.sum\ninputs = {'x': [1.0, 2.0]}\n",
    "import torch as th\nfrom dprl import julia as J\njulia = J.function('sum')\ntorch = th.sum\ninputs = {'x': [1.0, 2.0]}\n",
])
def test_a_valid_python_spec_that_needs_julia_is_exit_3_without_it(tmp_path, no_julia_env, body):
    spec = tmp_path / "spec.py"
    spec.write_text(body)
    result = _dprl([str(spec)], env=no_julia_env)
    assert result.returncode == 3, result.stderr
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
                                  tolerances={"values": crosscheck.TREBUCHET_TOLERANCE, "gradients": crosscheck.TREBUCHET_TOLERANCE},
                                  max_fd_coordinates=12)  # a seeded third of the 36: each costs two simulator batches
    assert report.passed, report.table()
    assert report.julia == "DPRL.Trebuchet.shoot" and report.torch == "dprl.envs.trebuchet.shoot"
    assert _row(report, "dot product <w,Jv> vs <J'w,v>: Julia").verdict == "pass"  # ForwardDiff's JVP against its Jacobian
    # The reference shoot (no custom autograd.Function) has PyTorch's forward mode too.
    assert _row(report, "JVP: PyTorch vs Julia ForwardDiff").verdict == "pass"
    assert _row(report, "dot product <w,Jv> vs <J'w,v>: PyTorch").verdict == "pass"


@pytest.mark.julia
def test_gradcheck_catches_a_julia_function_that_differs(jl):
    import torch

    report = _check(julia="cos", core_ndims=0, torch=torch.sin, inputs={"x": np.linspace(0.2, 1.2, 5)})
    assert not report.passed
    assert _row(report, "values: PyTorch vs Julia").verdict == "FAIL"
    assert _row(report, "JVP: PyTorch vs Julia ForwardDiff").verdict == "FAIL"
    assert _row(report, "FD vs gradient: Julia Zygote", "x").verdict == "pass"  # each side is self-consistent
    assert _row(report, "dot product <w,Jv> vs <J'w,v>: Julia").verdict == "pass"


@pytest.mark.julia
def test_julias_forward_mode_goes_around_a_wrong_rrule(jl):
    """A Julia function whose rrule is 1 % off, against a PyTorch copy of the same wrong rule: the
    gradients agree across the stacks, but ForwardDiff (through the primal code) does not agree
    with Zygote (through the rrule), and finite differences agree with neither gradient."""

    jl.start()
    import juliacall

    juliacall.Main.seval("""
        module GradcheckPlanted
        using ChainRulesCore
        wrongsin(x) = sin(x)
        ChainRulesCore.rrule(::typeof(wrongsin), x) = sin(x), ȳ -> (NoTangent(), 1.01 * ȳ * cos(x))
        end""")
    report = _check(julia="GradcheckPlanted.wrongsin", core_ndims=0, torch=_sin(backward_factor=1.01, jvp_factor=1.01),
                    inputs={"x": np.linspace(0.2, 1.2, 5)})
    assert _row(report, "gradient: PyTorch vs Julia Zygote", "x").verdict == "pass"
    assert _row(report, "dot product <w,Jv> vs <J'w,v>: Julia").verdict == "FAIL"
    assert _row(report, "JVP: PyTorch vs Julia ForwardDiff").verdict == "FAIL"
    assert _row(report, "FD vs gradient: Julia Zygote", "x").verdict == "FAIL"


@pytest.mark.julia
def test_a_julia_function_that_writes_into_its_input_is_caught(jl):

    jl.start()
    import juliacall

    juliacall.Main.seval("gradcheck_writes(x) = (y = sum(abs2, x); x[1] = x[1] + 0.5; y)")
    report = _check(julia="gradcheck_writes", mode="forwarddiff", torch=lambda x: (x ** 2).sum(), inputs={"x": [0.1, 0.2, 0.3]},
                    float32=False)
    row = _row(report, "inputs unchanged: Julia")
    assert row.verdict == "FAIL" and row.where.startswith("x[0] changed")
    assert _row(report, "inputs unchanged: PyTorch").verdict == "pass"


@pytest.mark.julia
def test_second_order_and_float32_through_the_bridge(jl):
    import torch

    # (not at x = 0 exactly: there ForwardDiff over Zygote through NNlib.softplus gives the second
    # derivative the wrong sign along a negative direction, docs/gradcheck.md)
    report = _check(julia="NNlib.softplus", core_ndims=0, torch=torch.nn.functional.softplus, inputs={"x": np.linspace(-2, 2, 8)},
                    second_order=True)
    assert report.passed, report.table()
    for check in ("second order: HVP PyTorch vs Julia", "second order: FD of gradient vs HVP: Julia"):
        assert _row(report, check, "direction 1").verdict == "pass"
    assert _row(report, "float32 vs float64: Julia values").verdict == "pass"
    report = _check(julia="Pendulum.step", julia_kwargs={"variant": "gymjl2019"}, core_ndims=(1, 0), second_order=True,
                    torch=lambda s, a: __import__("dprl.envs.pendulum", fromlist=["x"]).step(
                        __import__("dprl.envs.pendulum", fromlist=["x"]).PendulumParams(variant="gymjl2019"), s, a),
                    inputs={"state": [[0.1, 0.2], [0.3, -0.4]], "action": [0.5, -0.6]})
    assert report.passed, report.table()


@pytest.mark.julia
def test_a_julia_side_returning_nan_is_bad_input(jl):
    from dprl import cli

    jl.start()
    import juliacall

    juliacall.Main.seval("gradcheck_nan(x) = x * NaN")
    assert cli.main(["gradcheck", "--julia", "gradcheck_nan", "--torch", "torch:sin", "--input", "x=0.1,0.2", "--core-ndims", "0"]) == 2


@pytest.mark.julia
def test_command_passes_on_every_shipped_spec_and_writes_json(jl, tmp_path, capsys):
    from dprl import cli

    specs = [SPECS / "trebuchet.toml", SPECS / "pendulum_step.py", *sorted(SPECS.glob("nnlib/*.toml"))]
    out = tmp_path / "all.json"
    # Finite differences on a seeded 12 coordinates of each spec (the trebuchet's 36 would cost
    # two batches of the reference simulator each); comparisons/results/gradcheck.json holds
    # the specs run on their own budgets.
    assert cli.main(["gradcheck", *map(str, specs), "--json", str(out), "--max-fd-coordinates", "12"]) == 0, capsys.readouterr().err
    reports = json.loads(out.read_text())
    assert len(reports) == len(specs) and all(r["passed"] for r in reports)
    assert capsys.readouterr().out.count("verdict: pass") == len(specs)


@pytest.mark.julia
def test_quick_form_finds_gelus_two_definitions_and_takes_overrides(jl, capsys):
    from dprl import cli

    quick = ["gradcheck", "--julia", "NNlib.gelu", "--torch", "torch.nn.functional:gelu", "--input", "x=uniform:-3:3:64", "--core-ndims", "0"]
    assert cli.main(quick) == 1
    err = capsys.readouterr().err
    assert "values: PyTorch vs Julia" in err and len(err.strip().splitlines()) == 1
    assert cli.main([*quick, "--torch-kwarg", "approximate=tanh"]) == 0
    capsys.readouterr()
    # tolerance overrides: loose enough for the exact-vs-tanh difference in values, not in gradients
    assert cli.main([*quick, "--atol", "values=1e-3"]) == 1
    err = capsys.readouterr().err
    assert "values" not in err and "gradient: PyTorch vs Julia Zygote" in err


@pytest.mark.julia
@pytest.mark.parametrize("julia_name, torch_target, code, message", [
    ("cos", "torch:sin", 1, "checks broke their tolerance"),
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
