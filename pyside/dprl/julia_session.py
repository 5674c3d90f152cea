"""The one Julia of this process: started once (`start`), refused in a forked child
(`check_process`), Julia's errors as Python's (`julia_error_text`, `with_backtrace`), and code
evaluated in `Main` (`seval`).

`dprl.julia` re-exports all of it as its public face (`dprl.julia.start()`, `dprl.julia.seval(...)`).
It lives below `dprl.julia`, `dprl.julia_function` and `dprl.julia_module` so that each of them
imports it and none of them imports another in a loop.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

from dprl import julia_signals, julia_startup
from dprl.julia_startup import (
    HOW_TO_PROVIDE,
    JuliaUnavailableError,
    downloads_allowed,
    locate_julia,
    prepared_project,
    truthy,
)

_module = None  # the juliacall module holding `using DPRL`, once started
_failure: Exception | None = None  # why Julia could not start, remembered so we fail fast
_pid: int | None = None  # the process that started Julia (a forked child must not use it)


class JuliaError(RuntimeError):
    """An error raised inside Julia, with Julia's message."""


class JuliaForkError(RuntimeError):
    """A forked child process reached for the Julia its parent started."""


def check_process() -> None:
    """Refuse, at once, a forked child's use of the parent's Julia: Julia's threads and locks do not
    survive fork, and a call from the child can hang or crash."""
    if _pid is not None and os.getpid() != _pid:
        raise JuliaForkError(
            f"Julia was started in process {_pid} and cannot be used from this forked child (pid {os.getpid()}); "
            "start child processes with the 'spawn' start method (multiprocessing.get_context('spawn'), "
            "DataLoader(..., multiprocessing_context='spawn')) or keep the work in one process (DataLoader num_workers=0)"
        )


def start(threads: int | str | None = None):
    """Start Julia and load DPRL (once); return the juliacall module that holds it.

    `threads` (an int >= 1 or "auto") sets juliacall's PYTHON_JULIACALL_THREADS before Julia starts,
    and with more than one thread PYTHON_JULIACALL_HANDLE_SIGNALS=yes (juliacall asks for it then;
    `dprl.julia_signals` hands Ctrl-C to Julia during its calls either way). Julia's thread count
    is fixed when it starts: asking for another count later warns and keeps the running one."""
    global _module, _failure, _pid
    if threads is not None:
        _request_threads(threads)
    if _module is not None:
        check_process()
        return _module
    if _failure is not None:
        raise JuliaUnavailableError(str(_failure)) from _failure
    try:
        _module = _start()
        _pid = os.getpid()
    except JuliaUnavailableError as error:
        _failure = error
        raise
    except Exception as error:  # juliacall raises bare Exceptions for missing Julia or packages
        _failure = JuliaUnavailableError(f"Julia could not start: {error}. To fix: {HOW_TO_PROVIDE}")
        raise _failure from error
    return _module


def _start():
    prepared = prepared_project()
    if prepared and not Path(prepared[0]).is_file():
        raise JuliaUnavailableError(f"PYTHON_JULIACALL_EXE={prepared[0]} does not exist. To fix: {HOW_TO_PROVIDE}")
    configured = os.environ.get("PYTHON_JULIAPKG_EXE")
    if not prepared and configured and not Path(configured).is_file():
        raise JuliaUnavailableError(f"PYTHON_JULIAPKG_EXE={configured} does not exist. To fix: {HOW_TO_PROVIDE}")
    if locate_julia() is None and not downloads_allowed():
        raise JuliaUnavailableError(f"no Julia executable found and downloads are off. To fix: {HOW_TO_PROVIDE}")
    if "torch" in sys.modules and "juliacall" not in sys.modules:
        warnings.warn(
            "torch was imported before Julia started; juliacall documents crashes in that order. "
            "Import dprl.julia and call dprl.julia.start() before importing torch.",
            RuntimeWarning,
            stacklevel=3,
        )
    if "juliacall" in sys.modules and not julia_signals.handles_signals():
        # Julia started with juliacall's default before dprl could ask for its signal handling, and that
        # is fixed at start: say so once rather than let a stack overflow end the process with SIGSEGV.
        warnings.warn(
            f"juliacall was imported before dprl.julia.start() without {julia_signals.ENV}=yes, so Julia runs without "
            "its signal handling: Ctrl-C waits for each Julia call to return, and a Julia stack overflow kills Python "
            "(SIGSEGV). Call dprl.julia.start() instead of importing juliacall, or set that variable first.",
            RuntimeWarning,
            stacklevel=3,
        )
    julia_startup.check()  # hook (julia_startup): a launcher that never answers, a project without DPRL
    julia_signals.prepare()  # hook (julia_signals): Julia handles signals; remember Python's SIGINT handler
    with julia_startup.quiet_stderr():  # hook (julia_startup): Julia's start-up trace becomes one line
        import juliacall

    module = juliacall.newmodule("DPRLBridge")
    julia_signals.install(module)  # hook (julia_signals): Ctrl-C handover between Python and Julia
    with julia_signals.interruptible("using DPRL"):  # hook (julia_signals)
        module.seval("using DPRL")
    return module


def is_started() -> bool:
    return _module is not None


def _request_threads(threads) -> None:
    if not (threads == "auto" or (isinstance(threads, int) and not isinstance(threads, bool) and threads >= 1)):
        raise ValueError(f"threads must be an int >= 1 or 'auto'; got {threads!r}")
    if "juliacall" in sys.modules:  # Julia runs already: its count is fixed
        import juliacall

        running = int(juliacall.Main.seval("Threads.nthreads()"))
        wanted = os.cpu_count() if threads == "auto" else threads
        if running != wanted:
            warnings.warn(f"Julia already runs with {running} thread(s); threads={threads!r} takes effect only in a new "
                          "process (call dprl.julia.start(threads=...) before anything starts Julia)", RuntimeWarning, stacklevel=3)
        return
    os.environ["PYTHON_JULIACALL_THREADS"] = str(threads)
    if threads == "auto" or threads > 1:
        os.environ.setdefault("PYTHON_JULIACALL_HANDLE_SIGNALS", "yes")


# ----------------------------------------------------------------------------------------------
# Julia errors as Python ones: one line, with Julia's backtrace kept on the exception
# ----------------------------------------------------------------------------------------------
_error_helpers = None


def _helpers():
    global _error_helpers
    if _error_helpers is None:
        _error_helpers = start().seval("""(
            kind = e -> string(nameof(typeof(e isa DPRL.Bridge.SampleError ? e.error : e))),
            message = e -> sprint(showerror, e isa DPRL.Bridge.SampleError ? e.error : e),
            backtrace = (e, bt) -> sprint(Base.show_backtrace, e isa DPRL.Bridge.SampleError && e.backtrace !== nothing ? e.backtrace : bt),
        )""")
    return _error_helpers


def julia_error_text(error) -> str:
    """`Kind: first paragraph of Julia's message`, on one line, for a juliacall.JuliaError."""
    helpers = _helpers()
    kind = str(helpers.kind(error.exception))
    message = str(helpers.message(error.exception))
    first = " ".join(message.strip().split("\n\n")[0].split()) or kind
    return f"{kind}: {first.removeprefix(kind + ': ')}"


def with_backtrace(exc: Exception, error) -> Exception:
    """`exc` with Julia's backtrace of `error` (a juliacall.JuliaError) as `exc.julia_backtrace`,
    and appended to its message when DPRL_JULIA_BACKTRACE=1."""
    try:
        trace = str(_helpers().backtrace(error.exception, error.backtrace))
    except Exception:  # noqa: BLE001 - a backtrace that cannot be shown must not hide the error
        trace = ""
    exc.julia_backtrace = trace
    if trace and truthy("DPRL_JULIA_BACKTRACE"):
        exc.args = (f"{exc.args[0]}\nJulia backtrace:{trace}", *exc.args[1:])
    return exc


# ----------------------------------------------------------------------------------------------
# The user's own Julia code, evaluated into Main
# ----------------------------------------------------------------------------------------------
def seval(code: str):
    """Evaluate Julia source in `Main` and return its value (a juliacall handle or a Python value).
    A Julia error is a JuliaError (a ParseError a ValueError) with Julia's first line; the
    backtrace is on its `julia_backtrace`."""
    if not isinstance(code, str):
        raise ValueError(f"code must be a str of Julia source; got {type(code).__name__}")
    start()
    import juliacall

    try:
        return juliacall.Main.seval(code)
    except juliacall.JuliaError as error:
        text = julia_error_text(error)
        kind = text.split(":", 1)[0]
        exc = ValueError(f"Julia could not parse the code: {text}") if "ParseError" in kind else JuliaError(text)
        raise with_backtrace(exc, error) from None
