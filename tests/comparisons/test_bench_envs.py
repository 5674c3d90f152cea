"""comparisons/bench_envs.py: the same seeded steps on whatever device it is given."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).parents[2]
_SPEC = importlib.util.spec_from_file_location("bench_envs", ROOT / "comparisons" / "bench_envs.py")
bench = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench)

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"))]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("make", [bench.torch_cartpole, bench.torch_pendulum])
def test_the_steps_are_the_cpus_seeded_steps_on_the_device(device, make):
    on_device, on_cpu = make(5, torch.float64, device), make(5, torch.float64, "cpu")
    for _ in range(3):
        state, reference = on_device(), on_cpu()
    assert state.device.type == torch.device(device).type
    torch.testing.assert_close(state.cpu(), reference, rtol=1e-12, atol=1e-12)
    assert bench.steps_per_second(make(3, torch.float64, device), 3, seconds=0.01, device=device) > 0


def test_it_writes_the_device_and_refuses_one_it_cannot_use(tmp_path):
    out = tmp_path / "envs.json"
    script = str(ROOT / "comparisons" / "bench_envs.py")
    done = subprocess.run([sys.executable, script, "--batches", "2", "--seconds", "0.01", "--device", "cpu", "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    written = json.loads(out.read_text())
    assert written["device"] == "cpu" and written["rows"][0]["batch"] == 2
    for bad in ("meta", "bogus") + (() if torch.cuda.is_available() else ("cuda",)):
        done = subprocess.run([sys.executable, script, "--device", bad, "--out", str(tmp_path / "no.json")],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and "--device: device must be a torch device this machine has" in done.stderr, done.stderr
        assert not (tmp_path / "no.json").exists()
