"""`import dprl` and the PyTorch side must work without starting Julia."""

import subprocess
import sys


def run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def test_import_dprl_imports_neither_torch_nor_juliacall():
    result = run("import sys, dprl, dprl.julia, dprl.cli; print('torch' in sys.modules, 'juliacall' in sys.modules)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]


def test_pytorch_side_does_not_import_juliacall():
    result = run(
        "import sys; from dprl.envs import trebuchet; trebuchet.shoot(-2.0, 45.0, 200.0); "
        "print('juliacall' in sys.modules)"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
