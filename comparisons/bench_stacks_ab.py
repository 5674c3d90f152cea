"""Did a change slow the CPU down? bench_stacks.py's PyTorch rows raced between two checkouts.

    git worktree add /tmp/before <commit>
    python comparisons/bench_stacks_ab.py /tmp/before . [--compiled] [--threads 1 2] [--rounds 3]
        [--batches 1 64 4096 16384 65536] [--repeats 3] [--out FILE]

Each checkout runs its own comparisons/bench_stacks.py rows (its own `dprl`, the same seeded
throws, forward under no_grad and forward + backward) in a child process of its own, the two
alternating for --rounds rounds, so that a machine's slow spell falls on both:
- by default the eager rows (`torch_rows`), 1 and then 2 intra-op threads (--threads);
- with --compiled the compiled rows at 2 threads (`compile_worker`: compiled first at its
  compile batch, then timed, and its float32 rows, which are not compared). Each checkout keeps
  its own Inductor cache (a temporary folder, removed at the end), so only its first round
  compiles (7.5 to 8.5 minutes a checkout on 2 cores, its rows included); --inductor-cache DIR
  has both use DIR instead, which a cache warm from earlier runs makes quick.

A shared 2-core machine moves single runs by 10 % and more: read the ratio of the medians over
rounds, and of the best rounds, not one round. Prints a table (throws/s each round, new ÷ before)
and writes JSON (default comparisons/results/bench_stacks_ab.json).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODES = ("forward", "gradient")
EAGER_THREADS = (1, 2)
COMPILED_THREADS = (2,)


def child(tree: Path, batches, repeats, compiled: bool, threads_list) -> dict:
    """This checkout's rows, {threads: rows}: run in a process whose `dprl` is the tree's."""
    sys.path.insert(0, str(tree / "pyside"))
    spec = importlib.util.spec_from_file_location("bench_stacks", tree / "comparisons" / "bench_stacks.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    if compiled:
        return {str(threads): bench.compile_worker(batches, repeats, threads)["rows"] for threads in threads_list}
    return {str(threads): bench.torch_rows(batches, repeats, threads=threads) for threads in threads_list}


def table(runs: dict, batches, threads_list=EAGER_THREADS) -> tuple[list[str], list[dict]]:
    """Rows of (threads, batch, mode): each round's throws/s for both trees and the new ÷ before ratios."""
    lines = [f"{'threads':>7} {'batch':>7} {'mode':8} {'before, each round':>30} {'new, each round':>30} {'best ratio':>10} {'median ratio':>12}"]
    rows = []
    for mode in MODES:
        for threads in threads_list:
            for batch in batches:
                def rates(tree):
                    return [next(r for r in run[str(threads)] if r["batch"] == batch)[f"{mode}_throws_per_s"] for run in runs[tree]]
                before, new = rates("before"), rates("new")
                row = {"threads": threads, "batch": batch, "mode": mode, "before": before, "new": new,
                       "best_ratio": max(new) / max(before), "median_ratio": statistics.median(new) / statistics.median(before)}
                rows.append(row)
                lines.append(f"{threads:>7} {batch:>7,} {mode:8} {' '.join(f'{x:9,.0f}' for x in before):>30} "
                             f"{' '.join(f'{x:9,.0f}' for x in new):>30} {row['best_ratio']:>10.2f} {row['median_ratio']:>12.2f}")
    return lines, rows


def headline(rows: list[dict]) -> str:
    """The slowest and fastest rows, new ÷ before, by the median round and by the best round."""
    parts = []
    for key, label in (("median_ratio", "median rounds"), ("best_ratio", "best rounds")):
        low, high = min(rows, key=lambda r: r[key]), max(rows, key=lambda r: r[key])
        parts.append(f"{label} {low[key]:.2f}× ({low['mode']}, {low['threads']} thread(s), batch {low['batch']:,}) "
                     f"to {high[key]:.2f}× ({high['mode']}, {high['threads']} thread(s), batch {high['batch']:,})")
    return "new ÷ before, throws/s: " + "; ".join(parts)


def commit(tree: Path) -> str | None:
    """The checkout's commit, with "+changes" when its tracked files differ from it (None without git)."""
    try:
        head = subprocess.run(["git", "-C", str(tree), "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(tree), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+changes" if dirty else "")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", type=Path, help="the checkout to compare against (a git worktree of the earlier commit)")
    parser.add_argument("new", type=Path, help="the checkout with the change (usually .)")
    parser.add_argument("--compiled", action="store_true", help="race the compiled rows (2 threads) instead of the eager ones")
    parser.add_argument("--threads", type=int, nargs="+", default=None,
                        help="intra-op thread counts (default 1 2 for the eager rows, 2 for the compiled ones)")
    parser.add_argument("--inductor-cache", type=Path, default=None,
                        help="with --compiled: one Inductor cache folder for both checkouts (default: a new one each)")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the two checkouts")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64, 4096, 16384, 65536])
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per case in each round; the best is kept")
    parser.add_argument("--out", default=str(ROOT / "comparisons" / "results" / "bench_stacks_ab.json"))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    threads_list = tuple(args.threads or (COMPILED_THREADS if args.compiled else EAGER_THREADS))
    if args.child:
        print(json.dumps(child(args.new.resolve(), args.batches, args.repeats, args.compiled, threads_list)))
        return
    for name in ("before", "new"):
        tree = getattr(args, name).resolve()
        if not (tree / "comparisons" / "bench_stacks.py").is_file() or not (tree / "pyside" / "dprl").is_dir():
            print(f"{name} must be a dprl checkout (with comparisons/bench_stacks.py and pyside/dprl); got {tree}", file=sys.stderr)
            sys.exit(2)
    if args.rounds < 1 or args.repeats < 1 or any(b < 1 for b in args.batches) or any(t < 1 for t in threads_list):
        print("--rounds, --repeats, --batches and --threads must be positive integers", file=sys.stderr)
        sys.exit(2)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    runs = {"before": [], "new": []}
    caches = tempfile.TemporaryDirectory(prefix="dprl-ab-inductor-")
    for round_ in range(1, args.rounds + 1):
        for name in ("before", "new"):
            tree = getattr(args, name).resolve()
            env = dict(os.environ)
            if args.compiled:  # each checkout its own Inductor cache, kept between rounds
                env["TORCHINDUCTOR_CACHE_DIR"] = str(args.inductor_cache or Path(caches.name) / name)
            done = subprocess.run([sys.executable, __file__, str(tree), str(tree), "--child", "--repeats", str(args.repeats),
                                   "--batches", *map(str, args.batches), "--threads", *map(str, threads_list),
                                   *(["--compiled"] if args.compiled else [])],
                                  capture_output=True, text=True, env=env)
            if done.returncode != 0:
                print(f"the {name} checkout's rows failed in round {round_}:\n{done.stderr.strip()[-2000:]}", file=sys.stderr)
                sys.exit(1)
            runs[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"  round {round_}: {name} done ({time.perf_counter() - started:.0f} s)", flush=True)
    caches.cleanup()
    lines, rows = table(runs, args.batches, threads_list)
    print("\n".join(["", *lines, headline(rows)]))
    out.write_text(json.dumps({"command": "python comparisons/bench_stacks_ab.py " + " ".join(sys.argv[1:]),
                               "before": str(args.before), "new": str(args.new), "before_commit": commit(args.before.resolve()),
                               "new_commit": commit(args.new.resolve()), "compiled": args.compiled, "rounds": args.rounds, "repeats": args.repeats,
                               "headline": headline(rows), "rows": rows, "runs": runs, "wall_s": time.perf_counter() - started}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
