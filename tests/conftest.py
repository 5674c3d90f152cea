"""Shared fixtures. Julia, when it is installed here, is started before any test imports torch.

juliacall documents crashes when torch is loaded first, and test modules import torch at
collection. So `pytest_configure` (which runs before collection) starts Julia when an executable
is found and the run selects julia-marked tests. Nothing here downloads Julia: with no Julia
found, downloads are switched off and the `julia` tests skip with the reason. Under pytest-xdist
(`pytest -n 2`, if pytest-xdist is installed; CI runs plain `pytest`) each worker starts its own Julia and the controller, which runs no
test, none.
"""

import os

import pytest

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
