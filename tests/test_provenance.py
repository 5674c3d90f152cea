"""Provenance records: what code and libraries made a measurement, and when a kept one is stale."""

import re
import subprocess
from pathlib import Path

import pytest

from dprl import provenance

ROOT = Path(__file__).resolve().parents[1]


def test_a_record_names_the_code_libraries_threads_jobs_and_host():
    made = provenance.record(jobs=3, threads=2)
    assert made["schema"] == provenance.SCHEMA and made["jobs"] == 3 and made["torch_threads"] == 2
    assert re.fullmatch(r"[0-9a-f]{16}", made["code"]) and made["code"] == provenance.code_hash()
    assert re.fullmatch(r"[0-9a-f]{12}(-dirty)?|unknown", made["commit"])
    import gymnasium
    import torch

    assert made["torch"] == torch.__version__ and made["gymnasium"] == gymnasium.__version__
    assert "julia" not in made  # only where the measurement used Julia
    assert provenance.record(julia=True)["julia"]  # a version, or "not started" where Julia is not running


def test_the_commit_is_the_checkout_s_head():
    head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("not a git checkout")
    assert provenance.git_commit().split("-")[0] == head.stdout.strip()


def test_stale_says_why_a_record_is_not_of_this_code():
    assert provenance.stale(provenance.record()) is None
    assert provenance.stale(None) == "made before provenance was recorded"
    assert provenance.stale({"session": "x"}) == "made before provenance was recorded"
    assert provenance.stale({**provenance.record(), "code": "x", "commit": "abc"}) == "made by other code (commit abc)"


def test_a_future_schema_is_refused_by_name():
    provenance.check_schema(provenance.record(), "here")
    provenance.check_schema(None, "here")
    with pytest.raises(provenance.FutureSchemaError, match=r"^f.json was written by a newer dprl \(provenance schema 3; this dprl reads up to 2\)"):
        provenance.check_schema({"schema": provenance.SCHEMA + 1}, "f.json")


def test_describe_and_of_file():
    assert provenance.describe({"date": "2026-12-01T20:00:00+00:00", "commit": "abc"}) == "2026-12-01, commit abc"
    assert provenance.describe(None) == "an unrecorded date, commit unrecorded"
    assert provenance.of_file(ROOT / "x.json", {"made": {"commit": "c"}}) == {"commit": "c"}
    legacy = provenance.of_file(ROOT / "comparisons" / "results" / "bench_envs.json")  # committed before records were kept
    if legacy:
        assert legacy["from_git"] and re.fullmatch(r"\d{4}-\d\d-\d\d", legacy["date"])


@pytest.mark.julia
def test_a_record_of_work_done_with_julia_names_julia_and_dprl_versions(jl):
    made = provenance.record(julia=True)
    assert re.fullmatch(r"1\.\d+\.\d+.*", made["julia"]) and re.fullmatch(r"\d+\.\d+\.\d+.*|unknown", made["dprl_julia"])


def test_the_code_hash_follows_the_sources_that_measure_not_the_report(tmp_path, monkeypatch):
    package = tmp_path / "pyside" / "dprl"
    (package / "envs").mkdir(parents=True)
    (package / "envs" / "pendulum.py").write_text("g = 10.0\n")
    (package / "report.py").write_text("title = 'a'\n")
    monkeypatch.setattr(provenance, "PACKAGE", package)

    def fresh():
        provenance.code_hash.cache_clear()
        return provenance.code_hash()

    try:
        first = fresh()
        (package / "report.py").write_text("title = 'b'\n")
        assert fresh() == first
        (package / "envs" / "pendulum.py").write_text("g = 9.81\n")
        assert fresh() != first
    finally:
        provenance.code_hash.cache_clear()
