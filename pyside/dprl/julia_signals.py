"""How Ctrl-C and Julia's fatal errors reach Julia code and come back as Python exceptions.

juliacall offers two settings and neither is what a command line needs. Without Julia's signal
handling (juliacall's default) Python keeps SIGINT, but Python can only act on it between
bytecodes, so a running Julia call finishes first (or never, if it never returns), and a Julia
stack overflow is a plain SIGSEGV that kills Python. With it (`--handle-signals=yes`, which
juliacall asks for with more than one Julia thread) Julia blocks SIGINT on the main thread,
takes it on its own signal-listener thread (`sigwaitinfo`) and, by default, prints every
thread's backtrace and exits; Python never sees a KeyboardInterrupt again.

So Julia always handles signals here, and SIGINT changes hands at each Julia call:

* Between Julia calls Python owns SIGINT, as in a process without Julia: Python's handler is
  the disposition and the main thread has SIGINT unblocked, so the kernel hands a Ctrl-C to the
  main thread (a process-directed signal goes to the thread-group leader when it does not block
  it) and Python raises KeyboardInterrupt, interrupting sleeps and waits as usual. Should the
  listener thread get it anyway, Julia first re-raises SIGINT on itself to see whether the
  disposition is Julia's (`jl_ignore_sigint`); it is not, so Python's handler runs and Julia
  ignores the signal.
* During a Julia call (`interruptible`), the main thread blocks SIGINT and Julia's own handler
  is the disposition, so the listener takes it and, with `Base.exit_on_sigint(false)`, asks the
  main thread to throw InterruptException (`jl_try_deliver_sigint`): at once when Julia waits
  (sleep, I/O, a lock), else at its next safepoint (an allocation, a GC poll, a yield). A loop
  with no safepoint at all is stopped by Julia only when Ctrl-C is pressed repeatedly (about
  five times within a second: Julia's "force throwing a SIGINT"). The InterruptException, bare
  or wrapped (a task that failed, the bridge's SampleError), comes back as KeyboardInterrupt,
  and a Ctrl-C that came too late in a call to be thrown there is thrown and taken on return
  (`drain`), so it neither goes unseen nor fires in some later Julia code (or at exit, where
  Julia has no handler left and dies with "fatal: error thrown and no exception handler").

A Julia stack overflow is then Julia's StackOverflowError, an ordinary exception.

If the user sets PYTHON_JULIACALL_HANDLE_SIGNALS=no themselves, nothing here changes anything:
Ctrl-C is seen when the Julia call returns.
"""

from __future__ import annotations

import atexit
import ctypes
import functools
import os
import signal
import sys
import threading

ENV = "PYTHON_JULIACALL_HANDLE_SIGNALS"
_SIGACTION_BYTES = 512  # larger than any libc's struct sigaction or sigset_t; only copied, never read

_installed = False  # Julia handles signals and the handover below is set up
_depth = 0  # nesting of interruptible() on the main thread (Julia -> Python callback -> Julia)
_python_action = None  # struct sigaction: Python's SIGINT handler
_julia_action = None  # struct sigaction: Julia's SIGINT handler (its listener checks for it)
_sigint_set = None  # sigset_t holding SIGINT
_previous_handler = None  # Python's SIGINT handler before Julia started
_is_interrupt = None  # Julia: e -> whether e is, or wraps, an InterruptException
_drain = None  # Julia, as a C function: whether a pending Ctrl-C was thrown (and caught) at a safepoint
_libc = None


def _on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def prepare() -> None:
    """Before `import juliacall`: ask for Julia's signal handling unless the user chose, and
    remember Python's SIGINT handler (Julia replaces it at start)."""
    global _previous_handler
    if not _on_main_thread():
        return  # only the main thread can give SIGINT back to Python: leave juliacall's default
    if "juliacall-handle-signals" not in sys._xoptions:
        os.environ.setdefault(ENV, "yes")
    _previous_handler = signal.getsignal(signal.SIGINT)


def handles_signals() -> bool:
    """Whether Julia was started with its signal handling on (juliacall's CONFIG)."""
    juliacall = sys.modules.get("juliacall")
    return bool(juliacall is not None and juliacall.CONFIG.get("opt_handle_signals"))


def _current_action():
    """SIGINT's disposition now, as an opaque struct sigaction to set again later."""
    action = ctypes.create_string_buffer(_SIGACTION_BYTES)
    if _libc.sigaction(signal.SIGINT, None, action) != 0:
        raise OSError(ctypes.get_errno(), "sigaction(SIGINT) failed")
    return action


def install(module) -> None:
    """After juliacall has started Julia: set up the handover (module docstring). `module` is a
    juliacall module to define the helpers in."""
    global _installed, _python_action, _julia_action, _sigint_set, _is_interrupt, _drain, _libc
    if _installed or not handles_signals() or not _on_main_thread():
        return
    module.seval("Base.exit_on_sigint(false)")
    module.seval("import PythonCall")
    _is_interrupt = module.seval("""
        function dprl_is_interrupt(e)
            e isa InterruptException && return true
            e isa TaskFailedException && return dprl_is_interrupt(e.task.result)
            e isa CompositeException && return any(dprl_is_interrupt, e.exceptions)
            hasfield(typeof(e), :error) && return dprl_is_interrupt(getfield(e, :error))  # SampleError, LoadError
            # a KeyboardInterrupt raised in a Python callback that Julia called (a nested call)
            e isa PythonCall.PyException && return PythonCall.pyisinstance(e.v, PythonCall.pybuiltins.KeyboardInterrupt)
            return false
        end""")
    # a C function, called through ctypes: a juliacall crossing would cost more than the rest
    drain = module.seval("""
        function dprl_drain()::Cint
            try
                GC.safepoint()  # throws a Ctrl-C that arrived after the call's last safepoint
                return 0
            catch e
                e isa InterruptException || rethrow()
                return 1
            end
        end
        UInt(@cfunction(dprl_drain, Cint, ()))""")
    _drain = ctypes.PYFUNCTYPE(ctypes.c_int)(int(drain))  # holding the GIL, as juliacall's calls do
    _libc = ctypes.CDLL(None, use_errno=True)
    _libc.sigaction.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
    _libc.pthread_sigmask.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
    _sigint_set = ctypes.create_string_buffer(_SIGACTION_BYTES)
    _libc.sigemptyset(_sigint_set)
    _libc.sigaddset(_sigint_set, signal.SIGINT)
    _julia_action = _current_action()
    if _previous_handler == signal.SIG_IGN:
        # a process that ignores SIGINT keeps ignoring it, in Julia too: Julia's listener
        # re-raises SIGINT on itself, finds it ignored, and drops it
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        return
    signal.signal(signal.SIGINT, signal.default_int_handler if _previous_handler is None else _previous_handler)
    _python_action = _current_action()
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    _installed = True
    # before juliacall's own exit hook (atexit runs last-registered first): a Ctrl-C still
    # pending in Julia would be thrown in Julia's exit code, where nothing catches it
    atexit.register(_drain_at_exit)


def _drain_at_exit() -> None:
    if _installed:
        _drain()


def _hand_to_julia() -> None:
    _libc.pthread_sigmask(signal.SIG_BLOCK, _sigint_set, None)
    _libc.sigaction(signal.SIGINT, _julia_action, None)


def _hand_to_python() -> None:
    _libc.sigaction(signal.SIGINT, _python_action, None)
    _libc.pthread_sigmask(signal.SIG_UNBLOCK, _sigint_set, None)


class interruptible:
    """`with interruptible(name):` around a Julia call, so that Ctrl-C stops it and comes out as
    KeyboardInterrupt (module docstring); `name` says what was running, for its message. A class
    rather than a generator: it wraps every crossing, and costs half as much so."""

    __slots__ = ("entered", "name", "outermost")

    def __init__(self, name: str = "Julia"):
        self.name = name
        self.entered = self.outermost = False

    def __enter__(self):
        global _depth
        if _installed and threading.current_thread() is threading.main_thread():
            self.entered = True
            # a nested call (Julia -> Python callback -> Julia) leaves SIGINT with Julia
            self.outermost = _depth == 0
            if self.outermost:
                _hand_to_julia()
            _depth += 1
        return self

    def __exit__(self, kind, error, traceback):
        global _depth
        if not self.entered:
            return False
        _depth -= 1
        if self.outermost:
            _hand_to_python()
        if error is not None:
            if isinstance(error, Exception) and _wraps_interrupt(error):
                raise KeyboardInterrupt(f"interrupted in {self.name}") from None
            return False
        if self.outermost and _drain():
            raise KeyboardInterrupt(f"interrupted in {self.name}")
        return False


def from_julia(function):
    """`function` made a Python callback for Julia: while it runs, SIGINT is Python's again, so
    Ctrl-C raises KeyboardInterrupt in it at once (Julia gets it back as a PyException, which
    `interruptible` maps back to KeyboardInterrupt) instead of waiting for Julia's next safepoint
    after it returns; a Julia call inside it hands over afresh."""

    @functools.wraps(function)
    def callback(*args, **kwargs):
        global _depth
        if not (_installed and _depth and threading.current_thread() is threading.main_thread()):
            return function(*args, **kwargs)
        depth, _depth = _depth, 0
        _hand_to_python()
        try:
            return function(*args, **kwargs)
        finally:
            _hand_to_julia()
            _depth = depth

    return callback


def _wraps_interrupt(error: BaseException) -> bool:
    exception = getattr(error, "exception", None)  # juliacall.JuliaError holds the Julia exception
    if exception is None:
        return False
    try:
        return bool(_is_interrupt(exception))
    except Exception:  # noqa: BLE001 -- an exception Julia cannot classify is no interrupt
        return False
