"""Julia start-up failures as one line (dprl.julia_startup): a launcher that never answers, a
prepared project without DPRL, and what Julia prints while it fails."""

import os
import subprocess
import sys
import time

import pytest
from dprl import julia_startup

PROJECT = '[deps]\nDPRL = "7bfc7615-9031-457c-96dd-512a45bad454"\nPythonCall = "6099a3de-0909-46bc-b1f4-468b9a2dfc0d"\n'


def _dprl_shoot(env, timeout=60):
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "dprl.cli", "shoot", "--backend", "julia"], capture_output=True, text=True,
                          env=env, timeout=timeout, check=False)
    return done, time.monotonic() - started


def _prepared_env(exe, project):
    return {**os.environ, "PYTHON_JULIACALL_EXE": str(exe), "PYTHON_JULIACALL_PROJECT": str(project)}


@pytest.mark.alone
def test_a_julia_launcher_that_never_answers_is_one_line_and_exit_3(tmp_path):
    launcher = tmp_path / "julia"
    launcher.write_text("#!/bin/sh\nexec sleep 600\n")
    launcher.chmod(0o755)
    (tmp_path / "Project.toml").write_text(PROJECT)
    env = {**_prepared_env(launcher, tmp_path), julia_startup.TIMEOUT_ENV: "2"}
    done, seconds = _dprl_shoot(env)
    assert done.returncode == 3, done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()], done.stderr
    assert "--version did not answer within 2 s" in done.stderr and julia_startup.TIMEOUT_ENV in done.stderr
    assert seconds < 30, seconds


def test_a_launcher_that_is_not_julia_is_one_line_and_exit_3(tmp_path):
    launcher = tmp_path / "julia"
    launcher.write_text("#!/bin/sh\necho 'no such thing' >&2\nexit 1\n")
    launcher.chmod(0o755)
    (tmp_path / "Project.toml").write_text(PROJECT)
    done, _ = _dprl_shoot(_prepared_env(launcher, tmp_path))
    assert done.returncode == 3 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "did not answer as Julia does (no such thing)" in done.stderr


@pytest.mark.parametrize("content, says", [
    (None, "has no Project.toml"),
    ("", "does not list PythonCall or DPRL in the [deps] of its Project.toml"),
    ('[deps]\nPythonCall = "6099a3de-0909-46bc-b1f4-468b9a2dfc0d"\n', "does not list DPRL in the [deps]"),
    ("[deps\n", "has an unreadable Project.toml"),
])
def test_an_empty_or_broken_prepared_project_is_one_line_and_exit_3_before_julia_starts(tmp_path, content, says):
    exe = tmp_path / "julia"
    exe.write_text("#!/bin/sh\nexit 99\n")  # never run: the project is read first
    exe.chmod(0o755)
    project = tmp_path / "project"
    project.mkdir()
    if content is not None:
        (project / "Project.toml").write_text(content)
    done, _ = _dprl_shoot(_prepared_env(exe, project))
    assert done.returncode == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dprl shoot: Julia is unavailable: PYTHON_JULIACALL_PROJECT="), done.stderr
    assert says in lines[0]


def test_project_problem_accepts_a_project_with_dprl_and_pythoncall(tmp_path):
    (tmp_path / "Project.toml").write_text(PROJECT)
    assert julia_startup.project_problem(str(tmp_path)) is None
    assert julia_startup.project_problem(str(tmp_path / "Project.toml")) is None
    assert julia_startup.project_problem(str(tmp_path / "missing")) == "does not exist"


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "abc"])
def test_a_bad_probe_timeout_is_refused_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv(julia_startup.TIMEOUT_ENV, value)
    with pytest.raises(ValueError, match=julia_startup.TIMEOUT_ENV):
        julia_startup.probe_timeout()


def test_quiet_stderr_shows_what_was_written_when_the_block_succeeds(capfd):
    with julia_startup.quiet_stderr():
        os.write(2, b"Precompiling PythonCall\n")
        assert capfd.readouterr().err == ""  # held back while the block runs
    assert capfd.readouterr().err == "Precompiling PythonCall\n"


def test_quiet_stderr_turns_a_printed_julia_error_into_the_exceptions_message(capfd):
    message = r"^ArgumentError: Package PythonCall not found in current path\. \(did not start\)$"
    with pytest.raises(RuntimeError, match=message), julia_startup.quiet_stderr():
        os.write(2, b"ERROR: ArgumentError: Package PythonCall not found in current path.\nStacktrace:\n [1] top-level scope\n")
        raise Exception("did not start")  # noqa: TRY002 -- what juliacall raises
    assert capfd.readouterr().err == ""


@pytest.mark.julia
def test_a_prepared_project_whose_packages_are_not_installed_is_one_line(julia_for_children, tmp_path):
    """Project.toml names DPRL and PythonCall but nothing is installed for it: Julia fails
    inside `import juliacall` and prints its stack trace, which dprl turns into one line."""
    (tmp_path / "Project.toml").write_text(PROJECT)
    env = _prepared_env(os.environ["PYTHON_JULIACALL_EXE"], tmp_path)
    done, _ = _dprl_shoot(env, timeout=300)
    assert done.returncode == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Stacktrace" not in done.stderr, done.stderr
    assert "PythonCall" in lines[0]
