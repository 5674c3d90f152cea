"""comparisons/trebuchet_rounding.py: the one-ulp nudges it measures with, and how it counts throws past the goals."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).parents[2]
_SPEC = importlib.util.spec_from_file_location("trebuchet_rounding", ROOT / "comparisons" / "trebuchet_rounding.py")
rounding = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(rounding)


def test_a_nudge_moves_each_element_at_most_one_ulp_and_is_seeded():
    x = torch.linspace(-3.0, 3.0, 3001, dtype=torch.float64)
    nudged = rounding.nudge(x, torch.Generator().manual_seed(0))
    up, down = torch.nextafter(x, torch.tensor(float("inf"), dtype=torch.float64)), torch.nextafter(x, torch.tensor(float("-inf"), dtype=torch.float64))
    assert bool(((nudged == x) | (nudged == up) | (nudged == down)).all())
    # each outcome about a third of the time
    for moved in (nudged == x, nudged == up, nudged == down):
        assert 800 < int(moved.sum()) < 1200
    assert torch.equal(nudged, rounding.nudge(x, torch.Generator().manual_seed(0)))
    assert not torch.equal(nudged, rounding.nudge(x, torch.Generator().manual_seed(1)))


def test_only_the_maths_library_results_are_nudged():
    x = torch.linspace(0.1, 1.0, 1000, dtype=torch.float64, requires_grad=True)
    with rounding.NudgedMaths(torch.Generator().manual_seed(0)) as mode:
        total = (torch.sin(x) + x * 2.0).sum()
        (grad,) = torch.autograd.grad(total, x)  # sin's backward calls cos: nudged too
        exact_sum = x.detach() + x.detach()
    assert mode.calls == 2  # sin forward, cos backward; the additions and products are left alone
    assert torch.equal(exact_sum, 2 * x.detach())
    assert not torch.equal(grad, torch.cos(x.detach()) + 2.0)
    assert (grad - (torch.cos(x.detach()) + 2.0)).abs().max().item() <= 4 * torch.finfo(torch.float64).eps


def test_throws_past_the_goals_are_counted_over_landed_throws_only():
    ref = torch.tensor([10.0, 20.0, float("nan")], dtype=torch.float64)
    ref_grad = torch.tensor([[1.0, 2.0, 4.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    got = ref * torch.tensor([1 + 3e-12, 1.0, 1.0], dtype=torch.float64)
    got_grad = ref_grad + torch.tensor([[0.0, 0.0, 1e-9], [2e-9, 0.0, 0.0], [5.0, 5.0, 5.0]], dtype=torch.float64)
    counts = rounding.over_goals(got, got_grad, ref, ref_grad)
    # throw 0's gradient is 2.5e-10 of its largest partial (within 1e-9), throw 1's 2e-9; throw 2 never landed
    assert counts == {"landed": 2, "throws_over_distance_goal": 1, "throws_over_gradient_goal": 1}


def test_bad_options_exit_2_with_one_line():
    done = subprocess.run([sys.executable, str(ROOT / "comparisons" / "trebuchet_rounding.py"), "--seeds", "0"], capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.strip() == "--check-throws and --seeds must be at least 1"


def test_draw_takes_the_first_throws_of_a_larger_draw_without_the_edge_throws(tmp_path):
    out = tmp_path / "rows.json"
    done = subprocess.run([sys.executable, str(ROOT / "comparisons" / "trebuchet_rounding.py"), "--draw", "100", "--check-throws", "3",
                           "--seeds", "1", "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    result = __import__("json").loads(out.read_text())
    assert result["throws"] == 3 and result["draw"] == 100 and result["edge_throws"] == []
    worst = result["kinds"]["inputs"]["runs"][0]["worst_throw"]
    first = rounding.bench_gpu.throws(100)[worst["index"]]
    assert (worst["wind"], worst["angle_deg"], worst["weight_lb"]) == tuple(first)
    assert tuple(first) != tuple(rounding.bench_gpu.throws(3)[worst["index"]])  # a draw's throws depend on its size
    done = subprocess.run([sys.executable, str(ROOT / "comparisons" / "trebuchet_rounding.py"), "--draw", "2", "--check-throws", "3"],
                          capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.strip() == "--draw must be at least --check-throws (3); got 2"
