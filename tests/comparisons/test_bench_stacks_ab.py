"""comparisons/bench_stacks_ab.py: its table's ratios and its refusals (the race itself is a benchmark, not a test)."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
_SPEC = importlib.util.spec_from_file_location("bench_stacks_ab", ROOT / "comparisons" / "bench_stacks_ab.py")
ab = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(ab)


def _run(scale):
    return {str(t): [{"batch": 64, "forward_throws_per_s": 100.0 * scale * t, "gradient_throws_per_s": 50.0 * scale * t}] for t in (1, 2)}


def test_the_ratios_are_new_over_before_for_the_best_and_the_median_round():
    runs = {"before": [_run(1.0), _run(1.2), _run(0.9)], "new": [_run(1.1), _run(0.8), _run(1.0)]}
    lines, rows = ab.table(runs, [64])
    forward_1 = next(r for r in rows if r["mode"] == "forward" and r["threads"] == 1)
    assert forward_1["before"] == [100.0, 120.0, 90.0] and forward_1["new"] == pytest.approx([110.0, 80.0, 100.0])
    assert forward_1["best_ratio"] == pytest.approx(110 / 120)
    assert forward_1["median_ratio"] == pytest.approx(100 / 100)
    assert len(rows) == 4 and len(lines) == 5  # 2 modes × 2 thread counts, and the header


def test_a_folder_that_is_not_a_checkout_is_refused(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "comparisons" / "bench_stacks_ab.py"), str(tmp_path), str(ROOT)], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip() == f"before must be a dprl checkout (with comparisons/bench_stacks.py and pyside/dprl); got {tmp_path.resolve()}"


def test_the_headline_names_the_slowest_and_the_fastest_row():
    runs = {"before": [_run(1.0), _run(1.0)], "new": [_run(0.9), _run(0.95)]}
    _, rows = ab.table(runs, [64])
    rows[0]["median_ratio"] = 1.2  # forward, 1 thread
    text = ab.headline(rows)
    assert text.startswith("new ÷ before, throws/s: median rounds 0.93× (forward, 2 thread(s), batch 64) to 1.20× (forward, 1 thread(s), batch 64)")
    assert "best rounds 0.95×" in text
