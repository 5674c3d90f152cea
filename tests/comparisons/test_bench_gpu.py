"""comparisons/bench_gpu.py: what it writes without a GPU, its errors against the reference, and how it scores the goals."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).parents[2]
_SPEC = importlib.util.spec_from_file_location("bench_gpu", ROOT / "comparisons" / "bench_gpu.py")
bench = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is here: the benchmark would run")
def test_without_a_cuda_device_it_writes_not_run(tmp_path):
    out = tmp_path / "bench_gpu.json"
    done = subprocess.run([sys.executable, str(ROOT / "comparisons" / "bench_gpu.py"), "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0 and "not run: no CUDA device" in done.stdout
    assert json.loads(out.read_text())["not_run"] == "no CUDA device"


def test_bad_options_exit_2_with_one_line():
    done = subprocess.run([sys.executable, str(ROOT / "comparisons" / "bench_gpu.py"), "--batches", "0"], capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.strip() == "--batches must be positive integers"


def test_errors_are_relative_and_skip_throws_that_did_not_land():
    ref = torch.tensor([10.0, float("nan"), 20.0], dtype=torch.float64)
    ref_grad = torch.tensor([[1.0, -2.0, 4.0], [0.0, 0.0, 0.0], [1e-8, 2.0, 1.0]], dtype=torch.float64)
    got = ref + torch.tensor([1e-11, 0.0, 0.0], dtype=torch.float64)
    got_grad = ref_grad + torch.tensor([[0.0, 0.0, 4e-9], [0.0, 0.0, 0.0], [1e-12, 0.0, 0.0]], dtype=torch.float64)
    e = bench.errors(got, got_grad, ref, ref_grad)
    assert e["distance_rel_error_max"] == pytest.approx(1e-12)
    assert e["gradient_rel_error_max"] == pytest.approx(1e-9)  # 4e-9 against the throw's largest partial, 4
    assert e["gradient_partial_rel_error_max"] == pytest.approx(1e-4)  # 1e-12 against a partial of 1e-8
    assert e["nan_pattern_matches"]


def test_goals_are_scored_from_the_measured_rows_and_unmeasured_ones_stay_none():
    result = {"trebuchet": [{"path": "kernel", "dtype": "float64", "batch": 4096, "seconds": 1.5e-3, "gradients_per_s": 2.7e6},
                            {"path": "kernel", "dtype": "float64", "batch": 1 << 20, "seconds": 0.2, "gradients_per_s": 5.2e6,
                             "bytes_per_throw_one_call": 100.0, "bytes_per_throw_in_a_loop": 140.0}],
              "apg": [{"batch": 16384, "seconds": 0.05}]}
    goals = bench.goals(result)
    assert goals["float64 kernel gradients/s at batch >= 1M"] == {"measured": 5.2e6, "goal": 10e6, "met": False}
    assert goals["float64 kernel seconds at batch 4,096"]["met"] is True
    assert goals["float64 kernel device bytes a throw, one call"]["met"] is True
    assert goals["float64 kernel device bytes a throw, in a loop"] == {"measured": 140.0, "goal": 128, "met": False}
    assert goals["APG update seconds at batch 16,384"]["met"] is False
    assert goals["kernel first call (compile) seconds"] == {"measured": None, "goal": 60.0, "met": None}
    assert goals["check distance_rel_error_max"]["measured"] is None
    # A dry run on the CPU reports its figures but scores no goal.
    assert all(g["met"] is None for g in bench.goals({**result, "device_type": "cpu"}).values())


def test_tensor_peak_counts_the_tensors_held_at_once_and_not_the_inputs():
    given = torch.zeros(1000, dtype=torch.float64)

    def work():
        given.add_(1.0)  # in place on an input: no new bytes
        a = torch.empty(1000, dtype=torch.float64)  # 8,000 B
        b = torch.ones(500, dtype=torch.float64)  # 4,000 B, with a: 12,000
        view = a[:10]  # a view: no new storage
        del a, view
        c = torch.zeros(2000, dtype=torch.float64)  # 16,000 B, with b: 20,000
        return b.sum() + c.sum() - 493

    peak, total = bench.tensor_peak(work)
    assert peak == 20_000 + 3 * 8  # and the two one-element sums with their sum
    assert total.item() == 7.0  # the function's result comes back
    assert bench.tensor_peak(lambda: given.mul_(2.0))[0] == 0


def test_tensor_trace_gives_the_bytes_held_just_after_each_operator():
    given = torch.arange(1000, 0, -1, dtype=torch.float64)

    def work():
        a = torch.empty(1000, dtype=torch.float64)  # 8,000 B
        values, order = torch.sort(given)  # 8,000 B of values and 8,000 of int64 indices: 24,000 held
        del a, values
        return torch.zeros(3000, dtype=torch.float64)  # 24,000 B, with the indices 32,000

    peak, after, result = bench.tensor_trace(work)
    assert after["aten.sort.default"] == 24_000 and peak == 32_000 and after["aten.zeros.default"] == 32_000
    assert result.shape == (3000,)


def test_worst_throw_names_the_landed_throw_with_the_largest_gradient_error():
    rows = np.array([[0.0, 45.0, 100.0], [1.0, 30.0, 200.0], [2.0, 60.0, 300.0]])
    ref = torch.tensor([10.0, 20.0, float("nan")], dtype=torch.float64)
    ref_grad = torch.tensor([[1.0, 2.0, 4.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    got_grad = ref_grad + torch.tensor([[0.0, 0.0, 4e-9], [2e-9, 0.0, 0.0], [1.0, 1.0, 1.0]], dtype=torch.float64)
    worst = bench.worst_throw(rows, ref, got_grad, ref, ref_grad)
    # Throw 2 did not land (its reference distance is NaN), so its error does not count.
    assert worst["index"] == 1 and worst["weight_lb"] == 200.0
    assert worst["gradient_rel_error"] == pytest.approx(2e-9) and worst["distance_rel_error"] == 0.0


@pytest.fixture
def stand_in(monkeypatch):
    """trebuchet_triton with the compiled kernel replaced by bench_gpu's stand-in (the bytes, not the physics, are under test)."""
    pytest.importorskip("triton")
    from dprl.envs import trebuchet_triton

    monkeypatch.setattr(trebuchet_triton, "_launch_kernel", bench.StandInLaunch(trebuchet_triton))
    monkeypatch.setattr(trebuchet_triton, "interpreting", lambda: True)
    return trebuchet_triton


def seeded_leaves(n):
    return [torch.tensor(c, dtype=torch.float64, requires_grad=True) for c in bench.throws(n).T]


def test_the_kernel_stages_are_metered_in_order_of_the_wrapper(stand_in):
    trebuchet_triton = stand_in
    n = 4096
    inputs = seeded_leaves(n)
    stages = bench.kernel_stages(trebuchet_triton, inputs, peak=lambda stage, device: bench.tensor_peak(stage)[0])
    assert list(stages) == ["order", "run", "shoot", "shoot and gradient"]
    # The run holds at least its (5, n) float64 output; the gradient's three float64 partials come on top.
    assert stages["run"] >= 5 * 8 and stages["shoot and gradient"] > stages["shoot"] >= stages["run"]
    assert 0 < stages["order"] < stages["run"]


def test_a_call_in_a_loop_holds_the_previous_result_on_top_of_one_call(stand_in):
    n = 4096
    inputs = seeded_leaves(n)
    one = bench.tensor_peak(lambda: bench.shoot_and_gradient(inputs, True))[0] / n
    loop = bench.tensor_peak(lambda: bench.calls_in_a_loop(inputs, True))[0] / n
    # One call holds at least the (5, n) float64 output and the three float64 partials it returns.
    assert one >= 5 * 8 + 3 * 8
    # In a loop the previous call's distance and partials stay held as well: at least 4 × 8 B more.
    assert loop >= one + 4 * 8


def test_the_rows_report_the_memory_of_one_call_and_of_a_loop_with_the_meter_given(stand_in):
    ref, ref_grad = bench.reference(bench.throws(16))
    rows = bench.trebuchet_rows(torch.device("cpu"), [16], 8, 1, ref, ref_grad, True,
                                peak=lambda function: bench.tensor_peak(function)[0])
    kernel64 = next(r for r in rows if r["path"] == "kernel" and r["dtype"] == "float64")
    assert kernel64["gradients_per_s"] > 0 and kernel64["bytes_per_throw_in_a_loop"] > kernel64["bytes_per_throw_one_call"] > 0
    assert kernel64["tensor_bytes_per_throw"] == kernel64["bytes_per_throw_one_call"]
    assert all(r["not_run"].startswith("eager above") for r in rows if r["path"] == "eager")
    # Without a meter (a CPU run) no device bytes are reported.
    plain = bench.trebuchet_rows(torch.device("cpu"), [16], 8, 1, ref, ref_grad, True)
    assert "bytes_per_throw_one_call" not in plain[0] and "tensor_bytes_per_throw" in plain[0]


def test_the_wrapper_part_meters_with_a_stand_in_and_puts_the_kernel_back(tmp_path):
    pytest.importorskip("triton")
    from dprl.envs import trebuchet_triton

    kernel = trebuchet_triton._launch_kernel
    result = bench.wrapper_memory(torch.device("cpu"), 512)
    assert trebuchet_triton._launch_kernel is kernel
    assert [row["dtype"] for row in result["rows"]] == ["float64", "float32"]
    for row in result["rows"]:
        assert row["timing_loop"] >= row["in_a_loop"] > row["one_call"] == row["stages"]["shoot and gradient"]
        assert list(row["at_the_sort"]) == ["one_call", "in_a_loop", "timing_loop"]
        assert all(0 < row["at_the_sort"][k] <= row[k] for k in row["at_the_sort"])
    # The throws are sorted before the (5, n) float64 output is made: one call holds less than it then.
    assert result["rows"][0]["at_the_sort"]["one_call"] < 5 * 8
    out = tmp_path / "wrapper.json"
    done = subprocess.run([sys.executable, str(ROOT / "comparisons" / "bench_gpu.py"), "--device", "cpu", "--parts", "wrapper",
                           "--batches", "256", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["wrapper"]["batch"] == 256 and "wrapper float64: one call" in done.stdout


def test_tree_meters_another_checkouts_wrapper_and_refuses_what_it_cannot(tmp_path):
    pytest.importorskip("triton")
    script = str(ROOT / "comparisons" / "bench_gpu.py")
    plain, other = tmp_path / "plain.json", tmp_path / "tree.json"
    for out, extra in ((plain, []), (other, ["--tree", str(ROOT)])):
        done = subprocess.run([sys.executable, script, "--device", "cpu", "--parts", "wrapper", "--batches", "256", "--out", str(out)] + extra,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    tree = json.loads(other.read_text())
    assert tree["tree"]["path"] == str(ROOT.resolve()) and "tree" not in json.loads(plain.read_text())
    assert tree["wrapper"] == json.loads(plain.read_text())["wrapper"]  # this checkout's wrapper, metered either way
    for extra, message in ((["--parts", "wrapper", "--tree", str(tmp_path)], "is not a checkout of this repository"),
                           (["--tree", str(ROOT)], "--tree meters only the wrapper")):
        done = subprocess.run([sys.executable, script, "--device", "cpu", "--out", str(tmp_path / "x.json")] + extra,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and message in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_the_headline_counts_the_goals_measured_and_names_the_wrapper_bytes():
    result = {"device": "H200", "goals": {"a": {"met": True}, "b": {"met": False}, "c": {"met": None}},
              "wrapper": {"rows": [{"dtype": "float64", "one_call": 72.0, "in_a_loop": 104.0}]}}
    line = bench.headline(result)
    assert line.startswith("goals met: 1 of 2 measured on H200")
    assert "float64: 72 B a throw in tensors for one call, 104 B in a loop" in line
    assert bench.headline({"device": "cpu", "goals": {"a": {"met": None}}}) == "no goal measured (cpu)"


def test_an_apg_path_that_raises_is_recorded_and_the_next_rows_still_run(monkeypatch):
    from dprl.train import pendulum as train

    real = train.apg_loss

    def apg_loss(policy, states, *args):
        if len(states) == 3:
            raise RuntimeError("operation not permitted when stream is capturing\nmore detail")
        return real(policy, states, *args)

    monkeypatch.setattr(train, "apg_loss", apg_loss)
    seen = []
    rows = bench.apg_rows(torch.device("cpu"), [3, 2], 1, on_row=lambda rows: seen.append(len(rows)))
    assert rows[0] == {"batch": 3, "path": "eager", "failed": "RuntimeError: operation not permitted when stream is capturing"}
    assert rows[1]["batch"] == 2 and rows[1]["seconds"] > 0 and np.isfinite(rows[1]["loss"])
    assert seen == [1, 2]
    assert bench.goals({"device_type": "cuda", "apg": [{"batch": 16384, "path": "graph", "failed": "x"}]})[
        "APG update seconds at batch 16,384"]["measured"] is None


def test_a_run_stopped_early_keeps_its_finished_rows_beside_the_earlier_file(tmp_path, monkeypatch):
    out = tmp_path / "bench_gpu.json"
    out.write_text('{"earlier": "complete run"}')
    real = bench.apg_rows

    def stopped_after_the_first_row(*args, on_row, **kwargs):
        def record(rows):
            on_row(rows)
            raise KeyboardInterrupt  # the run stops here, as at gpu_run.sh's time limit
        return real(*args, on_row=record, **kwargs)

    monkeypatch.setattr(bench, "apg_rows", stopped_after_the_first_row)
    monkeypatch.setattr(sys, "argv", ["bench_gpu.py", "--device", "cpu", "--parts", "apg", "steps", "--apg-batches", "2", "3",
                                      "--step-batch", "10", "--repeats", "1", "--out", str(out)])
    with pytest.raises(KeyboardInterrupt):
        bench.main()
    kept = json.loads((tmp_path / "bench_gpu.partial.json").read_text())
    assert [r["batch"] for r in kept["apg"]] == [2] and kept["apg"][0]["seconds"] > 0
    assert kept["headline"].startswith("stopped early") and "goals" not in kept and "steps" not in kept
    assert json.loads(out.read_text()) == {"earlier": "complete run"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench_gpu.json", "bench_gpu.partial.json"]


def test_a_finished_run_writes_out_and_removes_its_partial_file(tmp_path):
    out = tmp_path / "bench_gpu.json"
    done = subprocess.run([sys.executable, str(ROOT / "comparisons" / "bench_gpu.py"), "--device", "cpu", "--parts", "steps",
                           "--step-batch", "10", "--repeats", "1", "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    written = json.loads(out.read_text())
    assert len(written["steps"]) == 4 and written["headline"].startswith("no goal measured") and "goals" in written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench_gpu.json"]
