"""dprl.devices: a benchmark's --device checked up front, and its results kept apart from the CPU's."""

import argparse
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dprl.devices import add_device_argument, benchmark_device

ROOT = Path(__file__).resolve().parents[1]


def parse(argv):
    parser = argparse.ArgumentParser(prog="bench_x")
    add_device_argument(parser, "the rows")
    args = parser.parse_args(argv)
    return parser, args


def test_the_cpu_writes_the_kept_file_and_another_out_is_respected():
    parser, args = parse([])
    assert benchmark_device(parser, args, "bench_x") == "cpu" and args.out == "comparisons/results/bench_x.json"
    parser, args = parse(["--device", "cpu", "--out", "/tmp/elsewhere.json"])
    assert benchmark_device(parser, args, "bench_x") == "cpu" and args.out == "/tmp/elsewhere.json"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_a_cuda_run_writes_its_own_file():
    parser, args = parse(["--device", "cuda"])
    assert benchmark_device(parser, args, "bench_x") == "cuda" and args.out == "comparisons/results/bench_x_cuda.json"


@pytest.mark.parametrize("device", ["meta", "bogus"] + ([] if torch.cuda.is_available() else ["cuda"]))
def test_a_device_this_machine_lacks_is_one_line_and_exit_2(device, capsys):
    parser, args = parse(["--device", device])
    with pytest.raises(SystemExit) as stop:
        benchmark_device(parser, args, "bench_x")
    err = capsys.readouterr().err.strip().splitlines()
    assert stop.value.code == 2 and err[-1].startswith("bench_x: error: --device: device must be a torch device this machine has")


@pytest.mark.parametrize("script", ["bench_cartpole", "bench_pendulum", "bench_aimer", "bench_envs", "bench_stacks"])
def test_every_training_and_timing_benchmark_takes_device(script, tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "comparisons" / f"{script}.py"), "--device", "meta", "--out", str(tmp_path / "x.json")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "--device: device must be a torch device this machine has" in done.stderr, done.stderr
    assert not (tmp_path / "x.json").exists()


def test_the_training_benchmarks_hand_the_device_to_the_trainer(tmp_path, monkeypatch):
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location("bench_cartpole", ROOT / "comparisons" / "bench_cartpole.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    real, seen = bench.train_seeded_cartpole, []
    monkeypatch.setattr(bench, "train_seeded_cartpole", lambda *a, **k: seen.append(k["device"]) or real(*a, **k))
    out = tmp_path / "cartpole.json"
    monkeypatch.setattr(sys, "argv", ["bench_cartpole.py", "--seeds", "1", "--max-episodes", "1", "--versions", "v0", "--out", str(out)])
    bench.main()
    assert seen == ["cpu"] and json.loads(out.read_text())["device"] == "cpu"
