"""Shared fixtures. Julia, when it is installed here, is started before any test imports torch.

juliacall documents crashes when torch is loaded first, and test modules import torch at
collection. So `pytest_configure` (which runs before collection) starts Julia when an executable
is found and the run selects julia-marked tests. Nothing here downloads Julia: with no Julia
found, downloads are switched off and the `julia` tests skip with the reason. The suite runs on
pytest-xdist's workers (`-n 2` in pyproject.toml; `-n 0` for one process): each worker starts its
own Julia and the controller, which runs no test, none. The tests that call the workers' Julia all
run on one of them, so that Julia compiles what they call once (`pytest_xdist_make_scheduler`).

Tests marked `alone` measure a reaction time (Ctrl-C answered within seconds): while one runs, the
other workers finish the test they are in and wait, so no other test's load decides the outcome.
A test whose timed part is short takes the `quiet` fixture instead: only that part runs alone.
"""

import json
import os
import tempfile
from pathlib import Path

import pytest

# Each worker's torch on one thread: two workers on two cores, neither spinning threads the other
# needs (small tensors gain nothing from a second thread). Subprocesses inherit it; tests that
# mean a thread count set it themselves.
os.environ.setdefault("OMP_NUM_THREADS", "1")

_julia_failure = None

# The suite's longest files (outside the UNITS below), longest first (their seconds on 2 cores:
# docs/notes/2026-12-04-suite-time.md). pytest-xdist hands out whole files in collection order
# (`--no-loadscope-reorder` in pyproject.toml), taking the next one whenever a worker is nearly out
# of tests: started first, no long file is left for one worker to finish while the other has
# nothing to do. The rest follow in collection order.
LONGEST_FIRST = [
    "tests/test_julia_signals.py",  # mostly its children starting Julia
    "tests/envs/test_trebuchet_triton.py",
    "tests/test_crosscheck.py",
    "tests/test_cli.py",
    "tests/envs/test_trebuchet_fast.py",
    "tests/train/test_trebuchet.py",
    "tests/envs/test_trebuchet.py",
    "tests/test_reproduce.py",
    "tests/test_devices.py",
    "tests/rl/test_baselines.py",
]

# Two units are handed out first, each to one worker, before the files:
# - the tests that call this process's Julia (they take `jl` or `jl_or_none`): Julia compiles a
#   function once a process, and most of their time is that compiling (spread over two workers,
#   it was done twice);
# - the `alone` tests, one after another, so that the other workers wait for them once.
# Each worker writes the units' node ids beside the run's lock files once it has collected; the
# controller's scheduler reads them.
UNITS = ("this Julia", "alone")
_run_uid = None  # the controller's: the pytest-xdist run id its workers got


def _run_base(uid):
    return Path(tempfile.gettempdir()) / f"dprl-pytest-{uid}"


def _unit(item):
    if _is_alone(item):
        return "alone"
    if "jl" in item.fixturenames or "jl_or_none" in item.fixturenames:
        return "this Julia"
    return None


def pytest_collection_modifyitems(config, items):
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    order = {unit: i for i, unit in enumerate(UNITS)}

    def key(item):
        unit = _unit(item)
        return order.get(unit, len(order)), rank.get(item.nodeid.split("::", 1)[0], len(rank))

    items.sort(key=key)  # stable: a file's own order stays
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        base = _run_base(workerinput["testrunuid"])
        mine = Path(f"{base}.units-{workerinput['workerid']}")
        mine.write_text(json.dumps({item.nodeid: _unit(item) for item in items if _unit(item) is not None}))
        os.replace(mine, f"{base}.units")  # whole, whichever worker writes last: they collect the same tests


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    global _run_uid
    _run_uid = node.workerinput["testrunuid"]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadfile`, except for the UNITS above."""
    if config.getoption("dist", "no") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class UnitsFirst(LoadFileScheduling):
        def __init__(self, config, log=None):
            super().__init__(config, log)
            self.units = {}

        def schedule(self):
            if self.collection is None:  # the first call, once every worker has collected
                listed = Path(f"{_run_base(_run_uid)}.units")
                self.units = json.loads(listed.read_text()) if listed.exists() else {}
            super().schedule()

        def _split_scope(self, nodeid):
            return self.units.get(nodeid) or super()._split_scope(nodeid)

    return UnitsFirst(config, log)


def pytest_unconfigure(config):
    if _run_uid is not None:  # the controller: the run's lock files and list go with it
        for path in Path(tempfile.gettempdir()).glob(f"dprl-pytest-{_run_uid}.*"):
            path.unlink(missing_ok=True)


def pytest_configure(config):
    global _julia_failure
    import signal

    # A process started in the background by a shell without job control (`bash .ci/run &`)
    # inherits SIGINT ignored, and so would every `dprl` child the Ctrl-C tests start: give this
    # process (the controller and each worker) a handler, which a child's exec resets to the default.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
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
    return _julia_or_skip()


def _julia_or_skip():
    if _julia_failure is not None:
        pytest.skip(_julia_failure)
    from dprl import julia

    return julia


@pytest.fixture(scope="session")
def jl_or_none():
    """The dprl.julia bridge when this process started Julia, else None: for a test that runs
    with or without Julia (it is scheduled with the `jl` tests)."""
    from dprl import julia

    return julia if _julia_failure is None and julia.is_started() else None


@pytest.fixture(scope="session")
def julia_for_children():
    """The dprl.julia bridge, or a skip that says why Julia cannot start, for a test whose Julia
    runs in child processes: it does not call this process's Julia, so it runs on any worker (not
    `jl` itself, which would schedule it with the `jl` tests)."""
    return _julia_or_skip()


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


# While this worker holds the room alone (a run of consecutive `alone` tests): its lock files;
# while the running test shares it: those.
_alone = None
_shared = None


def _fcntl(config):
    """fcntl where the workers of a pytest-xdist run share the locks below; None without
    pytest-xdist (one process) or without fcntl (not Linux or macOS): nothing to lock."""
    try:
        import fcntl
    except ImportError:
        return None
    return fcntl if getattr(config, "workerinput", None) is not None else None


def _enter(config, how):
    """Open the run's two lock files and take the room `how` (fcntl.LOCK_EX or LOCK_SH), passing
    through the turnstile so that a waiting exclusive taker is not overtaken."""
    import fcntl

    base = Path(tempfile.gettempdir()) / f"dprl-pytest-{config.workerinput['testrunuid']}"
    turnstile, room = open(f"{base}.turnstile", "a"), open(f"{base}.room", "a")
    fcntl.flock(turnstile, fcntl.LOCK_EX)
    try:
        fcntl.flock(room, how)
    finally:
        fcntl.flock(turnstile, fcntl.LOCK_UN)
    return turnstile, room


def _leave(files):
    import fcntl

    turnstile, room = files
    fcntl.flock(room, fcntl.LOCK_UN)
    room.close()
    turnstile.close()


def _is_alone(item):
    return item is not None and item.get_closest_marker("alone") is not None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """A readers–writer lock over the workers of one pytest-xdist run (files named by the run's id):
    `alone` tests hold it exclusively, from the first of a run of them to the last (so their
    module waits once for the other workers' current tests), every other test shares it for its
    own setup, call and teardown. Without pytest-xdist, or without fcntl, there is nothing to do."""
    global _alone, _shared
    fcntl = _fcntl(item.config)
    if fcntl is None:
        yield
        return
    alone = _is_alone(item)
    if alone and _alone is None:
        _alone = _enter(item.config, fcntl.LOCK_EX)
    _shared = None if alone else _enter(item.config, fcntl.LOCK_SH)
    try:
        yield
    finally:
        if _shared is not None:
            _leave(_shared)
            _shared = None
        if _alone is not None and not _is_alone(nextitem):  # the run of `alone` tests ends here
            _leave(_alone)
            _alone = None


@pytest.fixture(scope="session")  # it only reads the run's configuration: module fixtures may take it too
def quiet(request):
    """`with quiet():` around the part of a test that measures a reaction time: inside it no other
    pytest-xdist worker runs a test (they finish the one they are in and wait), so a Julia child
    started outside it compiles beside the others' load, and only the timed seconds run alone."""
    import contextlib

    @contextlib.contextmanager
    def hold():
        global _shared
        fcntl = _fcntl(request.config)
        if fcntl is None or _alone is not None:
            yield
            return
        if _shared is not None:  # this test's shared hold, given up first: flock would wait on itself
            _leave(_shared)
            _shared = None
        files = _enter(request.config, fcntl.LOCK_EX)
        try:
            yield
        finally:
            _leave(files)

    return hold
