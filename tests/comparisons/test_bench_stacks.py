"""comparisons/bench_stacks.py: PyTorch's rows on the device it is given, and a device it cannot use refused up front."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).parents[2]
_SPEC = importlib.util.spec_from_file_location("bench_stacks", ROOT / "comparisons" / "bench_stacks.py")
bench = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench)


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"))])
def test_torch_rows_time_every_batch_on_the_device(device, monkeypatch):
    seen = []
    from dprl.envs import trebuchet_fast

    def shoot(*inputs):
        seen.append({x.device.type for x in inputs})
        return trebuchet_fast.shoot(*inputs)

    rows = bench.torch_rows([1, 3], 1, shoot=shoot, threads=torch.get_num_threads(), device=device)
    assert [r["batch"] for r in rows] == [1, 3] and all(r["gradient_throws_per_s"] > 0 for r in rows)
    assert seen and all(types == {torch.device(device).type} for types in seen)


def test_a_device_it_cannot_use_is_refused_before_anything_runs(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "comparisons" / "bench_stacks.py"), "--device", "meta", "--out", str(tmp_path / "x.json")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "--device: device must be a torch device this machine has" in done.stderr, done.stderr
    assert not (tmp_path / "x.json").exists()
