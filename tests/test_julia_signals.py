"""Ctrl-C and Julia's fatal errors during Julia calls (dprl.julia_signals): real SIGINTs sent to
`dprl` and to the Python API in fresh processes, each bounded in time."""

import os
import signal
import subprocess
import sys
import textwrap
import time
import typing

import pytest

# The seconds from Ctrl-C to its answer are measured with no other test running (the `quiet`
# fixture, tests/conftest.py), all in one hold (the `runs` fixture); the child processes start and
# compile at once, beside the other worker.

# A Julia function that never returns (it allocates, so Julia has safepoints to throw at), one
# that waits once for a minute (a root task blocked in `sleep`), one that never returns without
# ever allocating (no safepoint), and one that recurses forever. The first three return at once
# for a negative x: a first call compiles them, so that the Ctrl-C of the test lands in the
# running function, not in the seconds Julia spends compiling (where it is held until the
# compiled code runs).
JULIA_DEFINITIONS = """
import juliacall
juliacall.Main.seval("function dprl_forever(x); s = 0.0; while x[1] > 0; s += sum(rand(3)); end; x; end")
juliacall.Main.seval("function dprl_wait(x); sleep(x[1] > 0 ? 60.0 : 0.0); x; end")
juliacall.Main.seval("function dprl_spin(x); s = 0.0; while x[1] > 0; s += sin(s); end; x; end")
juliacall.Main.seval("dprl_recurse(x) = dprl_recurse(x) + 1.0")
"""
WAIT = 120  # seconds a process may take to start Julia and compile before it is killed


def _wait_for(process, log, marker, deadline, out=None):
    while marker not in log.read_text() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    printed = f"stderr: {log.read_text()!r}" + ("" if out is None else f", stdout: {out.read_text()!r}")
    assert process.poll() is None, printed
    assert marker in log.read_text(), f"no {marker!r} in time; {printed}"


class _Child:
    """A child process, its stdout and stderr in files of `folder`: it prints markers on stderr and
    waits at gates (GATE below) until the test writes a byte to its stdin."""

    def __init__(self, argv, folder, env=None):
        self.log, self.out = folder / "stderr.txt", folder / "stdout.txt"
        with self.log.open("w") as stderr, self.out.open("w") as stdout:
            self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=stdout, stderr=stderr, env=env, cwd=folder)

    def wait_for(self, marker, seconds=WAIT):
        _wait_for(self.process, self.log, marker, time.monotonic() + seconds, self.out)

    def open_gate(self):
        self.process.stdin.write(b"\n")
        self.process.stdin.flush()

    def press(self, presses=1, answered=None):
        """Ctrl-C up to `presses` times, 0.1 s apart, none once the child has exited or printed
        `answered` (like a user); the time of the first press."""
        sent = time.monotonic()
        for _ in range(presses):
            if self.process.poll() is not None or (answered is not None and answered in self.out.read_text()):
                break
            self.process.send_signal(signal.SIGINT)
            time.sleep(0.1)
        return sent

    def gated_exit(self, settle, presses=1, timeout=30):
        """Open the gate, wait `settle` seconds (the Julia call is running), press Ctrl-C: the
        seconds from the first press to the exit."""
        self.open_gate()
        time.sleep(settle)
        sent = self.press(presses)
        self.process.wait(timeout=timeout)
        return time.monotonic() - sent

    def close(self):
        """(exit code, stdout, stderr), killing the child if it still runs."""
        if self.process.poll() is None:
            self.process.kill()
        code = self.process.wait()
        self.process.stdin.close()
        return code, self.out.read_text(), self.log.read_text()


def _interrupt(argv, marker, folder, *, env=None, presses=1, settle=1.0, timeout=30):
    """Run argv, wait for `marker` on its stderr (after which it may wait at a GATE), open the gate,
    wait `settle` seconds more, send SIGINT `presses` times 0.1 s apart: (exit code, stderr,
    stdout, seconds from the first SIGINT to exit). Killed if it outlives `timeout`."""
    child = _Child(argv, folder, env)
    try:
        child.wait_for(marker)
        seconds = child.gated_exit(settle, presses, timeout)
    finally:
        code, out, err = child.close()
    return code, err, out, seconds


# The child's side of the gate: it waits here (after printing its marker) until the test opens it,
# writing a byte to its stdin. Not `sys.stdin.readline()`: Julia's libuv makes stdin non-blocking,
# and readline then returns "" at once, so the child ran on into its never-returning function.
GATE = "select.select([0], [], []); os.read(0, 1)"


API_SCRIPT = JULIA_DEFINITIONS + textwrap.dedent("""
    import os, select, sys, time
    import torch
    from dprl import julia, julia_signals
    x = torch.ones(3, dtype=torch.float64, requires_grad=True)
    names = sys.argv[1:]
    functions = {name: julia.function(name) for name in names if name.startswith("dprl_")}
    for name, f in functions.items():
        if name != "dprl_recurse":
            f(-x)  # compiled, returning at once
    julia.shoot(-2.0, 45.0, 200.0)  # compiled too: between the timed calls nothing compiles
    # "callback": Julia calls Python back, which is busy (no sleep to be woken from) when Ctrl-C comes
    drive = julia.start().seval("f -> (for update in 0:10; f(update) && return update; end; -1)")
    drive(julia._julia_callback(lambda update: True))
    def report(update):
        if update == 3:
            print("calling callback", flush=True, file=sys.stderr)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                pass
        return update >= 6
    for name in names:  # one after another in this process: Julia stays usable after each
        if name == "dprl_recurse":  # a stack overflow: an error naming the function
            try:
                functions[name](torch.ones(2, dtype=torch.float64))
            except julia.JuliaError as error:
                print(name, "error:", str(error).splitlines()[0], flush=True)
            print(name, "after", julia.shoot(-2.0, 45.0, 200.0), flush=True)
            continue
        print("ready", name, flush=True, file=sys.stderr)
        GATE
        try:
            if name == "callback":
                with julia_signals.interruptible("drive"):
                    drive(julia._julia_callback(report))
            else:
                print("calling", name, flush=True, file=sys.stderr)
                functions[name](x)
            print(name, "returned", flush=True)
        except KeyboardInterrupt as error:
            print(name, "KeyboardInterrupt:", error, flush=True)
        quiet = time.monotonic() + 1.5  # presses still on their way (the repeated-press test) land here
        while time.monotonic() < quiet:
            try:
                time.sleep(0.05)
            except KeyboardInterrupt:
                pass
        # Julia stays usable, and Ctrl-C in Python code is Python's again
        print(name, "after", julia.shoot(-2.0, 45.0, 200.0), flush=True)
    print("python", flush=True, file=sys.stderr)
    try:
        time.sleep(60)
    except KeyboardInterrupt:
        print("sleep interrupted", flush=True)
""").replace("GATE", GATE)

# `dprl gradcheck` on a spec whose Julia side never returns.
GRADCHECK_SPEC = JULIA_DEFINITIONS + textwrap.dedent("""
    import os, select, sys
    julia = "dprl_forever"
    def torch(x):
        return x * 1.0
    inputs = {"x": [1.0, 2.0, 3.0]}
    print("spec loaded", file=sys.stderr, flush=True)
    GATE
""").replace("GATE", GATE)

# In one child on one Julia thread, Ctrl-C in each in turn: the API's functions and a Python
# callback, the loop without safepoints last (Julia ignores Ctrl-C for a moment after its forced
# throw), then a stack overflow (not timed); dprl_forever again on two threads.
ONE_THREAD = ("dprl_forever", "dprl_wait", "callback", "dprl_spin", "dprl_recurse")
PRESSES = {"dprl_spin": 30}  # a loop without safepoints: pressed until it is answered


class Run(typing.NamedTuple):
    code: object  # the exit code; None when the child did not get so far
    out: str
    err: str
    seconds: dict  # from the first Ctrl-C to its answer: by function name, or "exit"
    problem: str  # what went wrong before the end, else ""


def _api_child(folder, names, threads):
    script = folder / "api.py"
    script.write_text("from dprl import julia\njulia.start()\n" + API_SCRIPT)
    env = {**os.environ, "PYTHON_JULIACALL_THREADS": str(threads)}
    env.pop("PYTHON_JULIACALL_HANDLE_SIGNALS", None)  # dprl's default: Julia handles signals
    return _Child([sys.executable, str(script), *names], folder, env)


def _api_answer(child, name):
    """Let `name` run, press Ctrl-C until it is answered: the seconds from the first press."""
    answered = f"{name} KeyboardInterrupt"
    child.wait_for(f"ready {name}", 30)
    child.open_gate()
    child.wait_for(f"calling {name}", 30)
    time.sleep(0.5)
    sent = child.press(PRESSES.get(name, 1), answered)
    deadline = time.monotonic() + 30
    while answered not in child.out.read_text() and child.process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    return time.monotonic() - sent


@pytest.fixture(scope="module")
def runs(tmp_path_factory, quiet):
    """Every child whose Ctrl-C is timed, started at once (they compile beside each other and the
    other worker's test), then pressed in turn inside one `quiet` hold, so that the seconds are
    theirs and the other worker waits once: {part: Run}."""
    folder = {part: tmp_path_factory.mktemp(part) for part in ("one_thread", "two_threads", "gradcheck")}
    (folder["gradcheck"] / "forever.py").write_text(GRADCHECK_SPEC)
    children = {
        "one_thread": _api_child(folder["one_thread"], ONE_THREAD, 1),
        "two_threads": _api_child(folder["two_threads"], ("dprl_forever",), 2),
        "gradcheck": _Child([sys.executable, "-m", "dprl.cli", "gradcheck", "forever.py"], folder["gradcheck"]),
    }
    first = {"one_thread": "ready dprl_forever", "two_threads": "ready dprl_forever", "gradcheck": "spec loaded"}
    timed = {
        "one_thread": [(name, lambda child, name=name: _api_answer(child, name)) for name in ONE_THREAD if name != "dprl_recurse"],
        "two_threads": [("dprl_forever", lambda child: _api_answer(child, "dprl_forever"))],
        "gradcheck": [("exit", lambda child: child.gated_exit(settle=2.0))],
    }
    seconds = {part: {} for part in children}
    problem = dict.fromkeys(children, "")
    try:
        for part, child in children.items():
            try:
                child.wait_for(first[part])
            except AssertionError as error:
                problem[part] = str(error)
        with quiet():
            for part, child in children.items():
                for key, measure in timed[part] if not problem[part] else ():
                    try:
                        seconds[part][key] = measure(child)
                    except (AssertionError, subprocess.TimeoutExpired) as error:
                        problem[part] = str(error)
                        break
        for part in ("one_thread", "two_threads"):  # Ctrl-C in Python's sleep afterwards: Python's again
            child = children[part]
            if not problem[part]:
                try:
                    child.wait_for("python", 30)
                    time.sleep(0.5)
                    child.process.send_signal(signal.SIGINT)
                    child.process.wait(timeout=30)
                except (AssertionError, subprocess.TimeoutExpired) as error:
                    problem[part] = str(error)
    finally:
        ended = {part: child.close() for part, child in children.items()}
    return {part: Run(*ended[part], seconds[part], problem[part]) for part in children}


def _answered(run, name):
    """(name's part of the stdout, its seconds), asserting that the child got through it."""
    mine = "\n".join(line for line in run.out.splitlines() if line.startswith(f"{name} "))
    assert f"{name} KeyboardInterrupt:" in mine and name in run.seconds, (run.problem, run.out, run.err)
    return mine, run.seconds[name]


@pytest.mark.julia
@pytest.mark.parametrize(("name", "threads"), [("dprl_forever", 1), ("dprl_forever", 2), ("dprl_wait", 1)])
def test_ctrl_c_stops_a_julia_function_that_never_returns_and_julia_stays_usable(julia_for_children, runs, name, threads):
    run = runs["one_thread" if threads == 1 else "two_threads"]
    mine, seconds = _answered(run, name)
    assert f"{name} KeyboardInterrupt: interrupted in Main.{name}" in mine, (run.out, run.err)
    assert seconds < 3.0, seconds
    assert f"{name} after 74.7" in mine and "sleep interrupted" in run.out, (run.out, run.err)
    assert run.code == 0 and "signal (" not in run.err and "fatal" not in run.err, run.err


@pytest.mark.julia
def test_repeated_ctrl_c_stops_a_loop_without_safepoints(julia_for_children, runs):
    """A loop that never allocates gives Julia no safepoint; Julia throws there only when
    Ctrl-C comes several times within about a second (its force-throw)."""
    run = runs["one_thread"]
    mine, seconds = _answered(run, "dprl_spin")
    # Named by dprl when Julia's forced throw comes back through the call; a bare KeyboardInterrupt
    # when a press lands in Python's handler as the call returns: both stop it.
    assert "dprl_spin returned" not in mine, (run.out, run.err)
    assert seconds < 5.0, seconds
    assert "dprl_spin after 74.7" in mine and run.code == 0, (run.out, run.err)


@pytest.mark.julia
def test_ctrl_c_in_dprl_gradcheck_inside_julia_is_exit_130_with_one_line(julia_for_children, runs):
    run = runs["gradcheck"]
    assert "exit" in run.seconds, (run.problem, run.err)
    lines = [line for line in run.err.splitlines() if line.strip() and line != "spec loaded"]
    assert run.code == 130, run.err
    assert lines == ["dprl gradcheck: interrupted; nothing was written"], run.err
    assert run.seconds["exit"] < 3.0, run.seconds


@pytest.mark.julia
def test_a_julia_stack_overflow_is_an_error_naming_the_function(julia_for_children, runs):
    run = runs["one_thread"]
    assert "dprl_recurse error: Main.dprl_recurse(x) raised StackOverflowError" in run.out, (run.problem, run.out, run.err)
    assert "dprl_recurse after 74.7" in run.out, (run.out, run.err)


def test_interruptible_does_nothing_before_julia_handles_signals(monkeypatch):
    from dprl import julia_signals

    monkeypatch.setattr(julia_signals, "_installed", False)
    with julia_signals.interruptible("nothing"):
        value = 1
    assert value == 1
    with pytest.raises(ValueError), julia_signals.interruptible("nothing"):
        raise ValueError("passes through")


def test_prepare_asks_for_julias_signal_handling_unless_the_user_chose(monkeypatch):
    from dprl import julia_signals

    monkeypatch.delenv(julia_signals.ENV, raising=False)
    julia_signals.prepare()
    assert os.environ[julia_signals.ENV] == "yes"
    monkeypatch.setenv(julia_signals.ENV, "no")
    julia_signals.prepare()
    assert os.environ[julia_signals.ENV] == "no"


@pytest.mark.julia
def test_a_process_that_ignores_sigint_keeps_ignoring_it_in_julia(julia_for_children, tmp_path):
    script = tmp_path / "ignored.py"
    script.write_text(textwrap.dedent("""
        import signal, sys
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        from dprl import julia
        julia.start()
        print("calling", file=sys.stderr, flush=True)
        from dprl import julia_signals
        with julia_signals.interruptible("sleep"):
            slept = julia.start().seval("t -> (sleep(t); t)")(3.0)
        print("slept", slept, flush=True)
        print("shot", julia.shoot(-2.0, 45.0, 200.0), flush=True)
    """))
    code, err, out, _ = _interrupt([sys.executable, str(script)], "calling", tmp_path, settle=0.5, presses=2)
    assert code == 0, err
    assert "slept 3.0" in out and "shot 74.7" in out, (out, err)


@pytest.mark.julia
def test_ctrl_c_in_a_python_callback_that_julia_called_is_a_keyboard_interrupt_at_once(julia_for_children, runs):
    """Julia calls Python back (the aimer's training at each evaluation, through the same
    `julia._julia_callback`; tests/test_julia.py checks that the aimer's callback runs with
    SIGINT Python's): Ctrl-C there is Python's, not held until the callback returns to Julia."""
    mine, seconds = _answered(runs["one_thread"], "callback")
    assert "callback returned" not in mine and "callback after 74.7" in mine, mine
    assert seconds < 3.0, seconds
