"""`dprl report`: REPORT.md from the result files alone, the same text every time, and the
committed REPORT.md a fresh render of the committed result files."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dprl import report

ROOT = Path(__file__).resolve().parents[1]
COMPARISONS = ROOT / "comparisons"


def test_the_committed_report_is_a_fresh_render_of_the_committed_results():
    committed = (COMPARISONS / "REPORT.md").read_text()
    fresh = report.render_text(COMPARISONS)
    assert committed == fresh, "comparisons/REPORT.md differs from a fresh render: run `dprl report` and commit it"


def test_the_report_holds_no_typed_figure_of_the_pendulum_plateau():
    """The figures of the research notes (issue 26) live in docs/notes, which the report links to."""
    text = (COMPARISONS / "REPORT.md").read_text()
    assert "about 58 of the 1,000" not in text and "−146.7 … −140.2" not in text
    assert "docs/notes/2026-12-04-pendulum-apg-plateau.md" in text


def test_the_report_gives_intervals_seeds_and_provenance_for_the_comparison():
    text = (COMPARISONS / "REPORT.md").read_text()
    payload = json.loads((COMPARISONS / "results" / "dp_vs_rl.json").read_text())
    for env, methods in payload["summary"].items():
        for method, s in methods.items():
            cell = report.interval(s["final_iqm"], 2 if env != "cartpole" else 1)
            assert any(line.startswith(f"| {method} | {s['n']} |") and cell in line for line in text.splitlines()), (env, method)
    assert "## Provenance" in text and "P(DP > RL)" in text


def copy_results(tmp_path, names=("trebuchet_gradient", "dp_vs_rl", "bench_envs")):
    (tmp_path / "results").mkdir()
    for name in names:
        shutil.copy(COMPARISONS / "results" / f"{name}.json", tmp_path / "results" / f"{name}.json")
    return tmp_path


def test_render_reads_only_the_result_files_and_is_deterministic(tmp_path):
    out = copy_results(tmp_path)
    first = report.render(out).read_text()
    assert report.render(out).read_text() == first  # no clock, no machine state
    assert "results/trebuchet_gradient.json" in first and "results/cartpole.json" not in first


def test_the_comparison_states_its_wall_time_against_the_bound(tmp_path):
    out = copy_results(tmp_path, ("dp_vs_rl",))
    path = out / "results" / "dp_vs_rl.json"
    payload = json.loads(path.read_text())
    payload["fan_out"] = {"runs": 4, "jobs": 2, "ray": None, "wall_s": 690.0, "total_s": 1200.0, "longest_s": 300.0,
                          "bound_s": 600.0, "ratio": 1.15, "date": "2026-12-05T01:00:00+00:00"}
    path.write_text(json.dumps(payload))
    text = report.render_text(out)
    assert ("4 run(s) on 2 job(s) took 11.5 min of wall time (2026-12-05); their own training times sum to 20.0 min, the longest "
            "5.0 min, so the bound max(total ÷ jobs, longest) is 10.0 min and the wall time is 1.15× it") in text


def test_a_kept_result_is_marked_with_its_date_commit_and_reason(tmp_path):
    out = copy_results(tmp_path, ("trebuchet_gradient",))
    path = out / "results" / "trebuchet_gradient.json"
    payload = json.loads(path.read_text())
    payload["kept"] = {"from": "2026-12-01, commit abc123", "reason": "no Julia (no Julia found)"}
    path.write_text(json.dumps(payload))
    text = report.render_text(out)
    assert "| from 2026-12-01, commit abc123, not rerun here: no Julia (no Julia found). (4.0223" in text
    assert report.claims(out)[0][1].startswith("from 2026-12-01, commit abc123, not rerun here")


def test_the_claims_table_has_claim_holds_and_measured_in_short(tmp_path):
    out = copy_results(tmp_path, ("trebuchet_gradient", "dp_vs_rl"))
    table = report.claims_table(out).splitlines()
    assert table[0].split()[:2] == ["claim", "holds"]
    assert len(table) == 2 + sum(len(json.loads((out / "results" / f).read_text())["rows"]) for f in ("trebuchet_gradient.json", "dp_vs_rl.json"))
    assert all(len(line) < 220 for line in table)
    assert report.short("a; b") == "a" and report.short("x " * 100).endswith("…")


def test_dprl_report_writes_and_checks(tmp_path):
    out = copy_results(tmp_path)
    command = [sys.executable, "-m", "dprl.cli", "report", "--out", str(out)]
    check = subprocess.run(command + ["--check"], capture_output=True, text=True, timeout=120)
    assert check.returncode == 1 and "differs from a fresh render" in check.stderr  # no REPORT.md yet
    written = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert written.returncode == 0 and written.stdout.rstrip().endswith(f"wrote {out / 'REPORT.md'}") and "holds" in written.stdout
    assert subprocess.run(command + ["--check"], capture_output=True, text=True, timeout=120).returncode == 0


@pytest.mark.parametrize("content, words", [("{", "is not a readable reproduction result file"), ('{"rows": 1}', "rows must be a list")])
def test_a_corrupt_result_file_is_one_line_and_exit_2(tmp_path, content, words):
    out = copy_results(tmp_path, ("trebuchet_gradient",))
    (out / "results" / "trebuchet_gradient.json").write_text(content)
    result = subprocess.run([sys.executable, "-m", "dprl.cli", "report", "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1 and words in result.stderr


def test_no_results_folder_is_one_clear_error(tmp_path):
    with pytest.raises(ValueError, match="is not a folder: nothing to render a report from"):
        report.render(tmp_path)


def test_a_benchmark_without_a_headline_is_summed_up_from_the_goals_it_scored():
    goals = {"rate": {"measured": 2.5e7, "goal": 1e7, "met": True}, "bytes": {"measured": 160.2, "goal": 128, "met": False},
             "apg": {"measured": None, "goal": 0.035, "met": None}}
    met, line = report.benchmark_cells({"device": "H200", "goals": goals})
    assert met == "1 of 2 goals"
    assert line == "on H200: rate 2.5e+07 (goal 1e+07, met); bytes 160.2 (goal 128, not met)"
    # Its own fields win; a benchmark with neither stays "—".
    assert report.benchmark_cells({"goal_met": False, "headline": "h", "goals": goals}) == ("no", "h")
    assert report.benchmark_cells({"goal_met": "2 of 3", "goals": {"x": {"measured": None, "goal": 1, "met": None}}}) == ("2 of 3", "—")
    assert report.benchmark_cells({"command": "c"}) == ("—", "—")
