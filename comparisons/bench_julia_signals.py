"""What making Julia calls interruptible costs and gives (`dprl.julia_signals`): the per-call
cost of handing SIGINT to Julia and back (an empty DPRL call with and without the handover),
and the time from a SIGINT to KeyboardInterrupt during a Julia call that never returns, in a
fresh process on 1 and 2 Julia threads.

    python comparisons/bench_julia_signals.py [--calls 20000] [--repeats 5] [--interrupts 3] [--out FILE]

Prints a table and writes the figures to JSON. Needs Julia (exit 3 without it).
"""

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
import timeit
from pathlib import Path

from dprl import julia, julia_signals

NEVER_RETURNS = """
import sys, time
from dprl import julia, julia_signals
julia.start()
import juliacall
juliacall.Main.seval("function dprl_forever(); s = 0.0; while true; s += sum(rand(3)); end; s; end")
print("calling", file=sys.stderr, flush=True)
try:
    with julia_signals.interruptible("dprl_forever"):
        juliacall.Main.dprl_forever()
except KeyboardInterrupt:
    print(time.monotonic(), flush=True)
"""


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1; got {text}")
    return value


def interrupt_latency(threads: int) -> float:
    """Seconds from SIGINT to KeyboardInterrupt in a fresh process running a Julia call that never returns."""
    env = {**os.environ, "PYTHON_JULIACALL_THREADS": str(threads)}
    process = subprocess.Popen([sys.executable, "-c", NEVER_RETURNS], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 300
        while process.stderr.readline().strip() != "calling":
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Julia call did not start: {process.stderr.read()}")
        time.sleep(1.0)  # let the call run (and compile)
        sent = time.monotonic()  # CLOCK_MONOTONIC is shared by both processes
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=60)
        return float(out.split()[0]) - sent
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=positive_int, default=20000, help="empty calls per timing (default 20000)")
    parser.add_argument("--repeats", type=positive_int, default=5, help="timings of the per-call cost; the best is kept (default 5)")
    parser.add_argument("--interrupts", type=positive_int, default=3, help="interrupted processes per thread count (default 3)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_julia_signals.json"),
                        help="the JSON to write (default comparisons/results/bench_julia_signals.json)")
    args = parser.parse_args()
    try:
        julia.start()
    except julia.JuliaUnavailableError as error:
        print(f"bench_julia_signals: Julia is unavailable: {error}", file=sys.stderr)
        return 3
    if not julia_signals._installed:
        print("bench_julia_signals: Julia was started without its signal handling (PYTHON_JULIACALL_HANDLE_SIGNALS=no)", file=sys.stderr)
        return 2

    julia.empty_call()

    def per_call_us():
        return 1e6 * min(timeit.repeat(julia.empty_call, number=args.calls, repeat=args.repeats)) / args.calls

    with_handover = per_call_us()
    julia_signals._installed = False  # the same call without the handover
    without_handover = per_call_us()
    julia_signals._installed = True

    latencies = {threads: [interrupt_latency(threads) for _ in range(args.interrupts)] for threads in (1, 2)}
    print(f"empty DPRL call: {with_handover:.2f} us with the SIGINT handover, {without_handover:.2f} us without "
          f"(+{with_handover - without_handover:.2f} us)")
    print("SIGINT -> KeyboardInterrupt in a Julia call that never returns (s):")
    print(f"{'threads':>8} {'median':>8} {'max':>8}")
    for threads, values in latencies.items():
        print(f"{threads:>8} {statistics.median(values):>8.3f} {max(values):>8.3f}")
    result = {
        "empty_call_us": {"with_handover": with_handover, "without_handover": without_handover},
        "interrupt_latency_s": {str(threads): values for threads, values in latencies.items()},
        "calls": args.calls, "repeats": args.repeats,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
                    "loadavg_1min": os.getloadavg()[0]},
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
