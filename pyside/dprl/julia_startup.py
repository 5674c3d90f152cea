"""Finding Julia, and its start-up failures as one line, before and while juliacall starts Julia.

`locate_julia()` and `prepared_project()` say which Julia juliacall would use (found without
downloading anything); a failure to start is a JuliaUnavailableError that says HOW_TO_PROVIDE one.

juliacall starts Julia inside `import juliacall`: it runs the executable once to find libjulia
(with no time-out, so a `julia` launcher that never answers hangs the import for good), loads
libjulia into this process and runs `using PythonCall`, which on a project without PythonCall
prints Julia's stack trace to stderr before raising a bare Exception. `check()` probes the
executable under a time-out and reads the prepared project's Project.toml first;
`quiet_stderr()` keeps whatever Julia still prints during the import, shows it again if Julia
started, and makes its ERROR line the exception's message if not.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

TIMEOUT_ENV = "DPRL_JULIA_PROBE_TIMEOUT"
DEFAULT_TIMEOUT = 60.0  # seconds for `julia --version`; it takes well under one even on a loaded machine
REQUIRED_PACKAGES = ("PythonCall", "DPRL")
HOW_TO_PROVIDE = (
    "install Julia 1.10 or 1.11 (https://julialang.org/downloads) and put `julia` on PATH, "
    "or set PYTHON_JULIAPKG_EXE to its executable; offline, also set PYTHON_JULIAPKG_OFFLINE=yes "
    "with DPRL's Julia packages already in the depot, or point PYTHON_JULIACALL_EXE and "
    "PYTHON_JULIACALL_PROJECT at a prepared project. `dprl julia-info` shows what was found."
)


class JuliaUnavailableError(RuntimeError):
    """No Julia runtime with the DPRL package could be started."""


def truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "yes", "true", "y"}


def prepared_project() -> tuple[str, str] | None:
    """(executable, project) when PYTHON_JULIACALL_EXE and _PROJECT name a prepared project."""
    exe, project = os.environ.get("PYTHON_JULIACALL_EXE"), os.environ.get("PYTHON_JULIACALL_PROJECT")
    if exe and project:
        return exe, project
    return None


def locate_julia() -> str | None:
    """The Julia executable juliacall would use, found without downloading anything, or None."""
    prepared = prepared_project()
    if prepared:
        return prepared[0] if Path(prepared[0]).is_file() else None
    configured = os.environ.get("PYTHON_JULIAPKG_EXE")
    if configured:
        return configured if Path(configured).is_file() else None
    for candidate in ("julia", "juliaup"):
        found = shutil.which(candidate)
        if found:
            return found
    # juliapkg's own earlier install: {project}/pyjuliapkg/install/bin/julia
    project = os.environ.get("PYTHON_JULIAPKG_PROJECT") or (
        os.path.join(sys.prefix, "julia_env") if sys.prefix != sys.base_prefix else None
    )
    if project:
        installed = Path(project) / "pyjuliapkg" / "install" / "bin" / "julia"
        if installed.is_file():
            return str(installed)
    return None


def downloads_allowed() -> bool:
    """Whether juliapkg may download Julia when none is found (it may unless told offline)."""
    return not (truthy("PYTHON_JULIAPKG_OFFLINE") or truthy("DPRL_NO_JULIA_DOWNLOAD"))


def probe_timeout() -> float:
    """Seconds `julia --version` may take (DPRL_JULIA_PROBE_TIMEOUT, default 60)."""
    text = os.environ.get(TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{TIMEOUT_ENV} must be a number of seconds > 0; got {text!r}")
    return value


def check() -> None:
    """Raise JuliaUnavailableError (one line) when the Julia executable does not answer
    `--version` in time or the prepared project cannot hold DPRL."""
    timeout = probe_timeout()
    prepared = prepared_project()
    if prepared:
        problem = project_problem(prepared[1])
        if problem:
            raise JuliaUnavailableError(f"PYTHON_JULIACALL_PROJECT={prepared[1]} {problem}. To fix: {HOW_TO_PROVIDE}")
    executable = locate_julia()
    if executable is None:
        return  # juliapkg finds or installs one (or says it cannot)
    try:
        done = subprocess.run([executable, "--version"], capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        raise JuliaUnavailableError(f"{executable} --version did not answer within {timeout:g} s "
                                    f"(set {TIMEOUT_ENV} to wait longer). To fix: {HOW_TO_PROVIDE}") from None
    except OSError as error:
        raise JuliaUnavailableError(f"{executable} cannot be run ({error.strerror}). To fix: {HOW_TO_PROVIDE}") from None
    if done.returncode != 0 or not done.stdout.startswith("julia version"):
        said = (done.stderr.strip() or done.stdout.strip() or f"exit code {done.returncode}").splitlines()[0]
        raise JuliaUnavailableError(f"{executable} --version did not answer as Julia does ({said}). To fix: {HOW_TO_PROVIDE}")


def project_problem(project: str) -> str | None:
    """What keeps `project` (a folder or its Project.toml) from being a prepared DPRL project, or None."""
    path = Path(project)
    if path.is_dir():
        tomls = [path / name for name in ("JuliaProject.toml", "Project.toml") if (path / name).is_file()]
        if not tomls:
            return "has no Project.toml"
        path = tomls[0]
    elif not path.is_file():
        return "does not exist"
    try:
        deps = tomllib.loads(path.read_text(encoding="utf-8")).get("deps", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        return f"has an unreadable {path.name} ({error})"
    missing = [name for name in REQUIRED_PACKAGES if not isinstance(deps, dict) or name not in deps]
    if missing:
        return f"does not list {' or '.join(missing)} in the [deps] of its {path.name}"
    return None


@contextlib.contextmanager
def quiet_stderr():
    """Hold what is written to file descriptor 2 (Julia writes there directly) while the block
    runs; write it out afterwards if the block succeeded, else raise its ERROR line instead."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as held:
        os.dup2(held.fileno(), 2)
        failed = None
        try:
            yield
        except Exception as error:  # noqa: BLE001 -- juliacall raises bare Exceptions; re-raised below
            failed = error
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            text = held.read().decode("utf-8", "replace")
        if failed is None:
            if text:
                sys.stderr.write(text)
                sys.stderr.flush()
            return
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        reason = next((line.removeprefix("ERROR: ") for line in lines if line.startswith("ERROR: ")), None)
        if reason is None:
            raise failed
        raise RuntimeError(f"{reason.rstrip(':')} ({failed})") from failed
