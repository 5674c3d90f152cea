"""Ctrl-C and Julia's fatal errors during Julia calls (dprl.julia_signals): real SIGINTs sent to
`dprl` and to the Python API in fresh processes, each bounded in time."""

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

# The seconds from Ctrl-C to its answer are measured with no other test running (the `quiet`
# fixture, tests/conftest.py); the child processes start and compile beside the other worker.

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


def _interrupt(argv, marker, tmp_path, quiet, *, env=None, presses=1, settle=1.0, timeout=30):
    """Run argv, wait for `marker` on its stderr (after which the child waits at its GATE), open
    the gate, wait `settle` seconds more (so the Julia call is running), send SIGINT `presses` times
    0.1 s apart; (exit code, stderr, stdout, seconds from the first SIGINT to exit). The process is
    killed if it outlives `timeout`. From the gate to the exit no other test runs (`quiet`): the
    seconds are this process's, and no child spins a core while the other worker finishes a test."""
    log, out = tmp_path / "stderr.txt", tmp_path / "stdout.txt"
    with log.open("w") as stderr, out.open("w") as stdout:
        process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=stdout, stderr=stderr, env=env, cwd=tmp_path)
        try:
            _wait_for(process, log, marker, time.monotonic() + WAIT)
            with quiet():
                _open(process)
                time.sleep(settle)
                sent = time.monotonic()
                for press in range(presses):
                    if process.poll() is None:
                        process.send_signal(signal.SIGINT)
                    time.sleep(0.1)
                code = process.wait(timeout=timeout)
                seconds = time.monotonic() - sent
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stdin.close()
    return code, log.read_text(), out.read_text(), seconds


# The child's side of the gate: it waits here (after printing its marker) until the test opens it.
GATE = "sys.stdin.readline()"


def _open(process):
    process.stdin.write(b"\n")
    process.stdin.flush()


API_SCRIPT = JULIA_DEFINITIONS + textwrap.dedent("""
    import sys, time
    import torch
    from dprl import julia
    x = torch.ones(3, dtype=torch.float64, requires_grad=True)
    for name in sys.argv[1:]:  # one after another in this process: Julia stays usable after each
        f = julia.function(name)
        f(-x)  # compiled, returning at once
        print("ready", name, flush=True, file=sys.stderr)
        GATE
        print("calling", name, flush=True, file=sys.stderr)
        try:
            f(x)
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


def _api(tmp_path, quiet, names, threads, presses):
    """Run API_SCRIPT with Julia on `threads` threads over the Julia functions `names` in turn,
    pressing Ctrl-C in each (up to presses[name] times, 0.1 s apart, until it is answered): (exit
    code, stdout, stderr, {name: seconds from the first press to its KeyboardInterrupt}). Each
    function's gate is opened and its seconds measured with no other test running (`quiet`)."""
    script = tmp_path / "api.py"
    script.write_text("from dprl import julia\njulia.start()\n" + API_SCRIPT)
    env = {**os.environ, "PYTHON_JULIACALL_THREADS": str(threads)}
    env.pop("PYTHON_JULIACALL_HANDLE_SIGNALS", None)  # dprl's default: Julia handles signals
    log, out = tmp_path / "stderr.txt", tmp_path / "stdout.txt"
    seconds, code = {}, None
    with log.open("w") as stderr, out.open("w") as stdout:
        process = subprocess.Popen([sys.executable, str(script), *names], stdin=subprocess.PIPE, stdout=stdout, stderr=stderr, env=env,
                                   cwd=tmp_path)
        try:
            for name in names:
                answered = f"{name} KeyboardInterrupt"
                _wait_for(process, log, f"ready {name}", time.monotonic() + WAIT, out)
                with quiet():
                    _open(process)
                    _wait_for(process, log, f"calling {name}", time.monotonic() + 30, out)
                    time.sleep(0.5)
                    sent = time.monotonic()
                    for _ in range(presses.get(name, 1)):  # like a user, no more presses once the interrupt has come
                        if answered in out.read_text():
                            break
                        process.send_signal(signal.SIGINT)
                        time.sleep(0.1)
                    deadline = time.monotonic() + 30
                    while answered not in out.read_text() and process.poll() is None and time.monotonic() < deadline:
                        time.sleep(0.02)
                    seconds[name] = time.monotonic() - sent
            _wait_for(process, log, "python", time.monotonic() + 30, out)
            time.sleep(0.5)
            process.send_signal(signal.SIGINT)
            code = process.wait(timeout=30)
        except AssertionError:
            pass  # each test reads what it needs from the output and names what is missing
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stdin.close()
    return code, out.read_text(), log.read_text(), seconds


# The functions run in one child on one Julia thread, Ctrl-C in each in turn; the loop without
# safepoints last (Julia ignores Ctrl-C for a moment after its forced throw).
ONE_THREAD = ("dprl_forever", "dprl_wait", "dprl_spin")
PRESSES = {"dprl_spin": 30}  # a loop without safepoints: pressed until it is answered


@pytest.fixture(scope="module")
def one_thread_run(tmp_path_factory, quiet):
    return _api(tmp_path_factory.mktemp("api"), quiet, ONE_THREAD, 1, PRESSES)


def _answered(run, name):
    """(name's part of the stdout, its seconds), asserting that the child got through it."""
    code, out, err, seconds = run
    mine = "\n".join(line for line in out.splitlines() if line.startswith(f"{name} "))
    assert f"{name} KeyboardInterrupt:" in mine and name in seconds, (out, err)
    return mine, seconds[name]


@pytest.mark.julia
@pytest.mark.parametrize(("name", "threads"), [("dprl_forever", 1), ("dprl_forever", 2), ("dprl_wait", 1)])
def test_ctrl_c_stops_a_julia_function_that_never_returns_and_julia_stays_usable(jl, request, tmp_path, quiet, name, threads):
    run = request.getfixturevalue("one_thread_run") if threads == 1 else _api(tmp_path, quiet, (name,), threads, {})
    mine, seconds = _answered(run, name)
    code, out, err, _ = run
    assert f"{name} KeyboardInterrupt: interrupted in Main.{name}" in mine, (out, err)
    assert seconds < 3.0, seconds
    assert f"{name} after 74.7" in mine and "sleep interrupted" in out, (out, err)
    assert code == 0 and "signal (" not in err and "fatal" not in err, err


@pytest.mark.julia
def test_repeated_ctrl_c_stops_a_loop_without_safepoints(jl, one_thread_run):
    """A loop that never allocates gives Julia no safepoint; Julia throws there only when
    Ctrl-C comes several times within about a second (its force-throw)."""
    mine, seconds = _answered(one_thread_run, "dprl_spin")
    code, out, err, _ = one_thread_run
    # Named by dprl when Julia's forced throw comes back through the call; a bare KeyboardInterrupt
    # when a press lands in Python's handler as the call returns: both stop it.
    assert "dprl_spin returned" not in mine, (out, err)
    assert seconds < 5.0, seconds
    assert "dprl_spin after 74.7" in mine and code == 0, (out, err)


@pytest.mark.julia
def test_ctrl_c_in_dprl_gradcheck_inside_julia_is_exit_130_with_one_line(jl, tmp_path, quiet):
    spec = tmp_path / "forever.py"
    spec.write_text(JULIA_DEFINITIONS + textwrap.dedent("""
        import sys
        julia = "dprl_forever"
        def torch(x):
            return x * 1.0
        inputs = {"x": [1.0, 2.0, 3.0]}
        print("spec loaded", file=sys.stderr, flush=True)
        GATE
    """).replace("GATE", GATE))
    code, err, _, seconds = _interrupt([sys.executable, "-m", "dprl.cli", "gradcheck", str(spec)], "spec loaded", tmp_path, quiet, settle=2.0)
    lines = [line for line in err.splitlines() if line.strip() and line != "spec loaded"]
    assert code == 130, err
    assert lines == ["dprl gradcheck: interrupted; nothing was written"], err
    assert seconds < 3.0, seconds


@pytest.mark.julia
def test_a_julia_stack_overflow_is_an_error_naming_the_function(jl, tmp_path):
    script = tmp_path / "overflow.py"
    script.write_text("from dprl import julia\njulia.start()\n" + JULIA_DEFINITIONS + textwrap.dedent("""
        import torch
        f = julia.function("dprl_recurse")
        try:
            f(torch.ones(2, dtype=torch.float64))
        except julia.JuliaError as error:
            print("error:", str(error).splitlines()[0])
        print("after", julia.shoot(-2.0, 45.0, 200.0))
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "error: Main.dprl_recurse(x) raised StackOverflowError" in done.stdout, done.stdout
    assert "after 74.7" in done.stdout


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
def test_a_process_that_ignores_sigint_keeps_ignoring_it_in_julia(jl, tmp_path):
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
    code, err, out, _ = _interrupt([sys.executable, str(script)], "calling", tmp_path, contextlib.nullcontext, settle=0.5, presses=2)
    assert code == 0, err
    assert "slept 3.0" in out and "shot 74.7" in out, (out, err)


@pytest.mark.julia
def test_ctrl_c_in_a_python_callback_that_julia_called_is_a_keyboard_interrupt_at_once(jl, tmp_path, quiet):
    """Julia calls Python back (the aimer's training at each evaluation, through the same
    `julia._julia_callback`; tests/test_julia.py checks that the aimer's callback runs with
    SIGINT Python's): Ctrl-C there is Python's, not held until the callback returns to Julia."""
    script = tmp_path / "callback.py"
    script.write_text(textwrap.dedent("""
        import sys, time
        from dprl import julia, julia_signals
        module = julia.start()
        drive = module.seval("f -> (for update in 0:10; f(update) && return update; end; -1)")
        def report(update):
            if update == 3:
                print("in callback", file=sys.stderr, flush=True)
                GATE
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:  # busy Python code, no sleep to be woken from
                    pass
            return update >= 6
        try:
            with julia_signals.interruptible("drive"):
                drive(julia._julia_callback(report))
            print("returned", flush=True)
        except KeyboardInterrupt:
            print("KeyboardInterrupt", time.monotonic(), flush=True)
        print("after", julia.shoot(-2.0, 45.0, 200.0), flush=True)
    """).replace("GATE", GATE))
    code, err, out, seconds = _interrupt([sys.executable, str(script)], "in callback", tmp_path, quiet, settle=0.5)
    assert code == 0, err
    assert "KeyboardInterrupt" in out and "returned" not in out and "after 74.7" in out, (out, err)
    assert seconds < 3.0, seconds
