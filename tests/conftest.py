"""Shared fixtures. Julia, when it is installed here, is started before any test imports torch.

juliacall documents crashes when torch is loaded first, and test modules import torch at
collection. So `pytest_configure` (which runs before collection) starts Julia when an executable
is found and the run selects julia-marked tests. Nothing here downloads Julia: with no Julia
found, downloads are switched off and the `julia` tests skip with the reason. The suite runs on
pytest-xdist's workers (`-n 2` in pyproject.toml; `-n 0` for one process): each worker starts its
own Julia and the controller, which runs no test, none.

Tests marked `alone` measure a reaction time (Ctrl-C answered within seconds): while one runs, the
other workers finish the test they are in and wait, so no other test's load decides the outcome.
"""

import os
import tempfile
from pathlib import Path

import pytest

# Each worker's torch on one thread: two workers on two cores, neither spinning threads the other
# needs (small tensors gain nothing from a second thread). Subprocesses inherit it; tests that
# mean a thread count set it themselves.
os.environ.setdefault("OMP_NUM_THREADS", "1")

_julia_failure = None


def pytest_configure(config):
    global _julia_failure
    from dprl import julia

    if julia.locate_julia() is None:
        os.environ.setdefault("PYTHON_JULIAPKG_OFFLINE", "yes")  # never download Julia in tests
        _julia_failure = "no Julia executable found (PATH, juliaup, PYTHON_JULIAPKG_EXE or PYTHON_JULIACALL_EXE); tests never download Julia"
        return
    if "not julia" in (config.getoption("markexpr", "") or ""):
        _julia_failure = "julia tests deselected"
        return
    if config.getoption("dist", "no") != "no" and not hasattr(config, "workerinput"):
        # pytest-xdist's controller (`pytest -n 2`) runs no test: each worker starts its own Julia.
        _julia_failure = "this process runs no tests (pytest-xdist controller)"
        return
    try:
        julia.start()
    except julia.JuliaUnavailableError as error:
        _julia_failure = f"Julia could not start: {error}"


@pytest.fixture(scope="session")
def jl():
    """The dprl.julia bridge with Julia started, or a skip that says why not."""
    if _julia_failure is not None:
        pytest.skip(_julia_failure)
    from dprl import julia

    return julia


@pytest.fixture
def no_julia_env(tmp_path):
    """os.environ as a process sees it on a machine with no Julia, even where one is set up here
    (the prepared project's PYTHON_JULIACALL_EXE/PROJECT would otherwise win): for subprocess tests
    of what users without Julia get."""
    env = {**os.environ, "PYTHON_JULIAPKG_EXE": str(tmp_path / "no-julia"), "PYTHON_JULIAPKG_OFFLINE": "yes"}
    env.pop("PYTHON_JULIACALL_EXE", None)
    env.pop("PYTHON_JULIACALL_PROJECT", None)
    return env


@pytest.fixture
def ctrl_c():
    """`ctrl_c(process)`: send a running `dprl` subprocess Ctrl-C and return its exit code, killing
    it if it outlives the wait (a swallowed Ctrl-C fails the test without leaving the run behind)."""
    import signal

    def send(process, timeout=60):
        process.send_signal(signal.SIGINT)
        try:
            return process.wait(timeout=timeout)
        finally:
            if process.poll() is None:
                process.kill()

    return send


@pytest.fixture(autouse=True)
def _alone_or_beside_others(request):
    """A readers–writer lock over the workers of one pytest-xdist run (files named by the run's id):
    an `alone` test holds it exclusively, every other test shares it. The turnstile keeps a waiting
    `alone` test from being overtaken by the other workers' next tests."""
    workerinput = getattr(request.config, "workerinput", None)
    try:
        import fcntl
    except ImportError:  # not on Linux or macOS: no lock, the tests still run
        fcntl = None
    if workerinput is None or fcntl is None:
        yield
        return
    base = Path(tempfile.gettempdir()) / f"dprl-pytest-{workerinput['testrunuid']}"
    alone = request.node.get_closest_marker("alone") is not None
    with open(f"{base}.turnstile", "a") as turnstile, open(f"{base}.room", "a") as room:
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        try:
            fcntl.flock(room, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        finally:
            fcntl.flock(turnstile, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(room, fcntl.LOCK_UN)
