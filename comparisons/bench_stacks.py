"""The two stacks raced on the same trebuchet throws: throws per second, forward and with gradient.

    python comparisons/bench_stacks.py [--batches 1 64 4096 16384 65536] [--repeats 3] [--compile-timeout 1800] [--device cpu] [--out FILE]

Rows (float64 but for one, the same seeded throws for every row: wind ~ N(0, 5²) m/s, angle ~
U(15°, 75°), weight ~ U(100, 300) lb, batch b being the first b of them):
- Julia, 1 and 2 threads, through the bridge: `dprl.julia.launch_batch` (forward) and
  `dprl.julia.shoot_gradient_batch` (ForwardDiff), one juliacall crossing per batch. juliacall reads
  the thread count when Julia starts, so each thread count runs in its own child process
  (PYTHON_JULIACALL_THREADS, with PYTHON_JULIACALL_HANDLE_SIGNALS=yes); the child also reports
  the start-up time (juliacall start + `using DPRL`), the per-call cost of an empty DPRL call and
  of one throw, and, inside Julia with no bridge, DPRL.Trebuchet against a plain Julia
  implementation of the same spec (`julia/bench/plain_trebuchet.jl`) per throw, with the bytes
  one throw allocates.
- PyTorch eager with 1 and with 2 intra-op threads (this process): `dprl.envs.trebuchet_fast.shoot`,
  the gradient by autograd.
- PyTorch compiled, 1 and 2 threads (a child process each, cut off after --compile-timeout
  seconds): `shoot(..., compiled=True)`, which runs each ground and hang step, each chunk of
  flight steps and of their adjoint, and each chunk of the root bisection through
  `torch.compile` (Inductor's C++ kernels), its own row with
  its compile time, or the reason it did not run.
- PyTorch compiled in float32, 2 threads (in the 2-thread child, from batch 4,096, where
  compiling pays): the project's speed mode, its own row, with its distances and gradients
  compared with float64's on the first 4,096 throws. Julia has no float32 row and the crossover
  is taken between the float64 rows, like for like.

Prints a table with each row's throws/s and its ratio to the fastest row at that batch and mode,
and writes the figures to JSON. Julia rows read "not run: no Julia" where Julia cannot start.
Goals (issue 14, on 2 cores): Julia ≥ 15,000 gradients/s on 2 threads at batch 4,096; PyTorch
≥ 100,000 gradients/s at its best batch (reported for the best row and for the best float64
row); DPRL within 1.5× of plain Julia and under 1 KB a forward throw. Timings on a shared
machine are noisy: read the ratios.

--device puts PyTorch's eager rows on that device (on CUDA, `shoot` runs the Triton kernel) and
then writes bench_stacks_<device>.json unless --out is given; the compiled rows are CPU rows
(Inductor's C++ kernels) and read "not run" there. Julia's rows run on the CPU either way.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PLAIN_JULIA = ROOT / "julia" / "bench" / "plain_trebuchet.jl"
GOAL_JULIA_2_THREADS = 15_000  # gradients/s at batch 4096
GOAL_TORCH = 100_000  # gradients/s at PyTorch's best batch
GOAL_PLAIN_RATIO = 1.5  # DPRL's time per throw over plain Julia's
GOAL_BYTES = 1024  # per forward throw
SEED = 14
RACE_THROWS = 2000  # throws timed inside Julia, DPRL against plain
TIME_BUDGET_S = 20.0  # no further repeats of a case once its runs took this long
WARM_BATCH = 4096  # larger batches run code the smaller ones have already warmed up
DEFAULT_BATCHES = [1, 64, 4096, 16384, 65536]
TORCH_THREADS = (1, 2)
# The first compiled calls run at this batch. Inductor fits its kernels' threading to the batch
# that a graph is compiled for: compiled first at batch 64, the gradient at 65,536 ran 1.5×
# slower (48,000 against 72,700/s on two threads).
COMPILE_BATCH = 16_384
FLOAT32_CHECK_THROWS = 4096
FLOAT32_TOLERANCE = 0.01  # a 99th-percentile relative gradient error above this is too far off


def throws(n: int, seed: int = SEED) -> np.ndarray:
    """(n, 3) seeded throws: wind, angle_deg, weight_lb."""
    rng = np.random.default_rng(seed)
    return np.column_stack([5 * rng.standard_normal(n), rng.uniform(15, 75, n), rng.uniform(100, 300, n)])


def best_seconds(function, repeats: int, warm_up: bool = True) -> float:
    """The best of up to `repeats` timed runs after one warm-up, stopping early past the budget."""
    if warm_up:
        function()
    times, spent = [], 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
        spent += times[-1]
        if spent > TIME_BUDGET_S:
            break
    return min(times)


def per_call_seconds(function, calls: int = 200) -> float:
    function()
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - start) / calls


# ----------------------------------------------------------------------------------------------
# Julia (a child process per thread count)
# ----------------------------------------------------------------------------------------------
def julia_worker(batches, repeats) -> dict:
    """Runs in the child: start Julia, time the bridge and the batches; returns the figures."""
    start = time.perf_counter()
    from dprl import julia

    julia.start()
    startup = time.perf_counter() - start
    module = julia.start()
    module.seval(f'include(raw"{PLAIN_JULIA}")')
    points = throws(max(batches))
    race = {str(k): float(v) for k, v in module.seval("PlainTrebuchet.race")(throws(RACE_THROWS, SEED + 1), 3).items()}
    rows = []
    for batch in batches:
        p = points[:batch]
        warm = batch <= WARM_BATCH
        rows.append({"batch": batch,
                     "forward_throws_per_s": batch / best_seconds(lambda: julia.launch_batch(p[:, 0], p[:, 1], p[:, 2]), repeats, warm),
                     "gradient_throws_per_s": batch / best_seconds(lambda: julia.shoot_gradient_batch(p[:, 0], p[:, 1], p[:, 2]), repeats, warm)})
    check = julia.shoot_gradient_batch(points[:64, 0], points[:64, 1], points[:64, 2])  # against PyTorch, in the parent
    return {
        "threads": julia.threads(),
        "startup_s": startup,
        "empty_call_s": per_call_seconds(julia.empty_call),
        "one_throw_call_s": per_call_seconds(lambda: julia.shoot(-2.0, 45.0, 200.0)),
        "one_gradient_call_s": per_call_seconds(lambda: julia.shoot_gradient(-2.0, 45.0, 200.0)),
        "in_julia": race,
        "rows": rows,
        "check_distance": check[0].tolist(),
        "check_gradient": check[1].tolist(),
    }


def run_julia(threads: int, batches, repeats) -> dict:
    """The child's figures, or {"not_run": why}."""
    from dprl import julia

    if julia.locate_julia() is None:
        return {"not_run": "not run: no Julia"}
    env = {**os.environ, "PYTHON_JULIACALL_THREADS": str(threads), "PYTHON_JULIACALL_HANDLE_SIGNALS": "yes"}
    command = [sys.executable, __file__, "--julia-worker", "--batches", *map(str, batches), "--repeats", str(repeats)]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    last = (done.stderr.strip().splitlines() or ["no output"])[-1]
    return {"not_run": f"not run: no Julia ({last[:200]})"}


# ----------------------------------------------------------------------------------------------
# PyTorch
# ----------------------------------------------------------------------------------------------
def torch_rows(batches, repeats, shoot=None, threads=None, dtype=None, device="cpu") -> list[dict]:
    import torch

    from dprl.envs import trebuchet_fast

    shoot = shoot or trebuchet_fast.shoot
    if threads is not None:
        torch.set_num_threads(threads)
    points = torch.from_numpy(throws(max(batches))).to(dtype or torch.float64).to(device)
    # a GPU call returns before its work is done: the time is taken once the device is idle
    synchronize = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)
    rows = []
    for batch in batches:
        wind, angle, weight = points[:batch].T.contiguous()

        def forward():
            with torch.no_grad():
                shoot(wind, angle, weight)
            synchronize()

        def with_gradient():
            leaves = [x.clone().requires_grad_(True) for x in (wind, angle, weight)]
            shoot(*leaves).sum().backward()
            synchronize()

        warm = batch <= WARM_BATCH
        rows.append({"batch": batch, "forward_throws_per_s": batch / best_seconds(forward, repeats, warm),
                     "gradient_throws_per_s": batch / best_seconds(with_gradient, repeats, warm)})
    return rows


def compile_worker(batches, repeats, threads) -> dict:
    """Runs in the child: `shoot(..., compiled=True)`, timing its first gradient and forward call
    (which compile its steps) at COMPILE_BATCH, then the batches."""
    import torch

    from dprl.envs import trebuchet_fast

    torch.set_num_threads(threads)

    def compiled(*inputs):
        return trebuchet_fast.shoot(*inputs, compiled=True)

    def first_calls(dtype):
        """The first gradient and forward call, which compile the steps; their seconds."""
        points = torch.from_numpy(throws(max(batches))[:min(COMPILE_BATCH, max(batches))]).to(dtype)
        start = time.perf_counter()
        leaves = [x.clone().requires_grad_(True) for x in points.T]
        compiled(*leaves).sum().backward()
        with torch.no_grad():  # without autograd, the steps compile again
            compiled(*points.T)
        return time.perf_counter() - start

    result = {"compile_s": first_calls(torch.float64), "threads": threads, "rows": torch_rows(batches, repeats, compiled, threads)}
    large = [b for b in batches if b >= WARM_BATCH]
    if threads == max(TORCH_THREADS) and large:
        result["float32_compile_s"] = first_calls(torch.float32)
        result["float32_rows"] = torch_rows(large, repeats, compiled, threads, torch.float32)
        result["float32"] = float32_check(compiled)
    return result


def float32_check(shoot) -> dict:
    """How far compiled float32's distances and gradients fall from float64's on the first
    FLOAT32_CHECK_THROWS throws (relative; gradients against at least 0.01)."""
    import torch

    points = throws(FLOAT32_CHECK_THROWS)

    def distance_and_gradient(dtype, rows):
        leaves = [torch.tensor(x, dtype=dtype).requires_grad_(True) for x in points[:rows].T]
        distance = shoot(*leaves)
        distance.sum().backward()
        return distance.detach().double(), torch.stack([x.grad.double() for x in leaves], dim=1)

    (d32, g32), (d64, g64) = (distance_and_gradient(dtype, FLOAT32_CHECK_THROWS) for dtype in (torch.float32, torch.float64))
    distance_error = (d32 - d64).abs() / d64.abs()
    gradient_error = (g32 - g64).abs() / g64.abs().clamp_min(1e-2)
    return {"throws_checked": FLOAT32_CHECK_THROWS,
            "distance_rel_error_max": distance_error.max().item(), "gradient_rel_error_median": gradient_error.median().item(),
            "gradient_rel_error_p99": torch.quantile(gradient_error.flatten(), 0.99).item()}


def run_compile(batches, repeats, timeout, threads) -> dict:
    command = [sys.executable, __file__, "--compile-worker", "--threads", str(threads), "--batches", *map(str, batches), "--repeats", str(repeats)]
    try:
        # An empty Inductor cache, so that the compile time is the one a first run pays.
        with tempfile.TemporaryDirectory(prefix="dprl-inductor-") as cache:
            env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": cache}
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"not_run": f"not run: compiling and timing took over {timeout:g} s"}
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    errors = [line for line in done.stderr.strip().splitlines() if "Error" in line] or done.stderr.strip().splitlines()[-1:] or ["no output"]
    return {"not_run": f"not run: {errors[-1][:200]}"}


# ----------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------
def table(stacks: dict, batches) -> list[str]:
    """Throws/s per stack, mode and batch, each with its ratio to the fastest at that column."""
    lines = []
    width = max(map(len, stacks), default=28)
    for mode in ("forward", "gradient"):
        key = f"{mode}_throws_per_s"
        fastest = {b: max((r[key] for s in stacks.values() for r in s.get("rows", []) if r["batch"] == b), default=None) for b in batches}
        lines.append(f"{mode + ' throws/s':<{width}}" + "".join(f" | {'batch ' + format(b, ','):>19}" for b in batches))
        lines.append("-" * (width + 22 * len(batches)))
        for name, stack in stacks.items():
            if "not_run" in stack:
                lines.append(f"{name:<{width}} | {stack['not_run']}")
                continue
            by_batch = {r["batch"]: r[key] for r in stack["rows"]}
            cells = [f"{by_batch[b]:>10,.0f} ({fastest[b] / by_batch[b]:>4.1f}×)" if b in by_batch else f"{'—':>17}" for b in batches]
            lines.append(f"{name:<{width}}" + "".join(f" | {c:>19}" for c in cells))
        lines.append("")
    return lines


def crossover(stacks: dict, batches):
    """The smallest batch at which PyTorch's best gradient rate passes Julia's best, or None."""
    def best(names, b):
        rates = [r["gradient_throws_per_s"] for n in names if "rows" in stacks[n] for r in stacks[n]["rows"] if r["batch"] == b]
        return max(rates, default=None)

    torch_names = [n for n in stacks if n.startswith("PyTorch") and stacks[n].get("dtype") != "float32"]  # like for like
    julia_names = [n for n in stacks if n.startswith("Julia")]
    for b in batches:
        t, j = best(torch_names, b), best(julia_names, b)
        if t is not None and j is not None and t > j:
            return b
    return None


def main():
    from dprl.devices import add_device_argument

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, nargs="+", default=DEFAULT_BATCHES)
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per case; the best is kept")
    parser.add_argument("--compile-timeout", type=float, default=1800.0, help="seconds before a torch.compile child (compiling and timing its rows) gives up; with a cold cache it compiles for about 5 minutes and took 13 in all on 2 cores")
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    add_device_argument(parser, "PyTorch's eager rows")
    parser.add_argument("--julia-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--compile-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.julia_worker or args.compile_worker:
        result = julia_worker(args.batches, args.repeats) if args.julia_worker else compile_worker(args.batches, args.repeats, args.threads)
        print("RESULT " + json.dumps(result), flush=True)
        return
    from dprl.devices import benchmark_device

    device_type = benchmark_device(parser, args, "bench_stacks")
    on = "" if device_type == "cpu" else f" on {args.device}"

    julia = {threads: run_julia(threads, args.batches, args.repeats) for threads in (1, 2)}
    stacks = {f"Julia, {t} thread{'s' if t > 1 else ''} (bridge)": j for t, j in julia.items()}
    # Intra-op threads: on a busy machine PyTorch's two threads wait on each other at every one of
    # its small kernels, so one thread can be the faster; both are measured.
    for threads in TORCH_THREADS:
        stacks[f"PyTorch eager{on}, {threads} thread{'s' if threads > 1 else ''}"] = {
            "rows": torch_rows(args.batches, args.repeats, threads=threads, device=args.device)}
    if device_type == "cpu":
        compiled = {threads: run_compile(args.batches, args.repeats, args.compile_timeout, threads) for threads in TORCH_THREADS}
    else:
        compiled = {threads: {"not_run": f"not run: --device {args.device} (the compiled rows are CPU rows)"} for threads in TORCH_THREADS}
    for threads, row in compiled.items():
        stacks[f"PyTorch compiled, {threads} thread{'s' if threads > 1 else ''}"] = row
    for threads, row in compiled.items():
        if "float32_rows" in row:
            stacks[f"PyTorch compiled float32, {threads} threads"] = {"rows": row.pop("float32_rows"), "dtype": "float32"}

    table_lines = table(stacks, args.batches)
    lines = []  # the findings under the table, also kept in the JSON
    for threads, row in compiled.items():
        if "compile_s" in row:
            lines.append(f"torch.compile, {threads} thread(s): {row['compile_s']:.1f} s to compile (the first gradient and forward call, batch "
                         f"{min(COMPILE_BATCH, max(args.batches)):,}, from an empty Inductor cache; a later process reads the cache and compiles in seconds)")
        if "float32" in row:
            f32 = row["float32"]
            lines.append(f"compiled in float32, {threads} thread(s): {row['float32_compile_s']:.1f} s more to compile; against float64 "
                         f"on {f32['throws_checked']:,} throws, distances within {f32['distance_rel_error_max']:.1e} relative, gradients "
                         f"{f32['gradient_rel_error_median']:.1e} (median) and {f32['gradient_rel_error_p99']:.1e} (99th percentile)"
                         + (": too far off to train on" if f32["gradient_rel_error_p99"] > FLOAT32_TOLERANCE else ""))
    for t, j in julia.items():
        if "not_run" in j:
            continue
        race = j["in_julia"]
        lines.append(f"Julia {t} thread(s): start-up {j['startup_s']:.1f} s (juliacall + using DPRL); per call: empty {1e6 * j['empty_call_s']:.1f} µs, "
                     f"one throw {1e6 * j['one_throw_call_s']:.0f} µs, one gradient {1e6 * j['one_gradient_call_s']:.0f} µs")
    one = julia[1]
    goals = {}
    if "in_julia" in one:
        race = one["in_julia"]
        forward_ratio, gradient_ratio = race["dprl_forward_s"] / race["plain_forward_s"], race["dprl_gradient_s"] / race["plain_gradient_s"]
        lines.append(f"in Julia, no bridge, {RACE_THROWS:,} throws, per throw: plain {1e6 * race['plain_forward_s']:.0f} µs forward, "
                     f"{1e6 * race['plain_gradient_s']:.0f} µs gradient; DPRL {forward_ratio:.2f}× and {gradient_ratio:.2f}× that; "
                     f"bytes per forward throw: DPRL {race['dprl_forward_bytes']:.0f}, plain {race['plain_forward_bytes']:.0f}")
        goals["dprl_within_1.5x_of_plain"] = max(forward_ratio, gradient_ratio) <= GOAL_PLAIN_RATIO
        goals["dprl_under_1kb_per_forward_throw"] = race["dprl_forward_bytes"] < GOAL_BYTES
    two = julia[2]
    at_4096 = next((r["gradient_throws_per_s"] for r in two.get("rows", []) if r["batch"] == 4096), None)
    if at_4096 is not None:
        goals["julia_2_threads_15000_gradients_per_s_at_4096"] = at_4096 >= GOAL_JULIA_2_THREADS

    def best_row(names):
        name, row = max(((n, r) for n in names for r in stacks[n].get("rows", [])), key=lambda nr: nr[1]["gradient_throws_per_s"])
        return {"stack": name, **row}

    torch_names = [n for n in stacks if n.startswith("PyTorch")]
    torch_best = best_row(torch_names)
    torch_best_float64 = best_row([n for n in torch_names if stacks[n].get("dtype") != "float32"])
    # Float32 is the project's speed mode (float64 for cross-checks); the goal counts either, and says which.
    goals["pytorch_100000_gradients_per_s"] = torch_best["gradient_throws_per_s"] >= GOAL_TORCH
    goals["pytorch_float64_100000_gradients_per_s"] = torch_best_float64["gradient_throws_per_s"] >= GOAL_TORCH
    cross = crossover(stacks, args.batches)
    lines.append(f"PyTorch's best: {torch_best['gradient_throws_per_s']:,.0f} gradients/s at batch {torch_best['batch']:,} ({torch_best['stack']}); "
                 f"in float64 {torch_best_float64['gradient_throws_per_s']:,.0f} at batch {torch_best_float64['batch']:,} ({torch_best_float64['stack']}), "
                 + (f"which overtakes Julia's best at batch {cross:,}" if cross else "which does not overtake Julia at any batch measured"))
    if "check_distance" in one:
        import torch

        from dprl.envs import trebuchet_fast

        p = torch.from_numpy(throws(max(args.batches))[:64])
        leaves = [x.clone().requires_grad_(True) for x in p.T]
        distance = trebuchet_fast.shoot(*leaves)
        gradient = torch.stack(torch.autograd.grad(distance.sum(), leaves), dim=1)
        agreement = max(float(np.max(np.abs(distance.detach().numpy() - one["check_distance"]))),
                        float(np.max(np.abs(gradient.numpy() - np.array(one["check_gradient"])))))
        lines.append(f"the stacks agree on the first {len(p)} throws to {agreement:.1e} (max abs, distance and gradient)")
    for goal, met in goals.items():
        lines.append(f"goal {goal}: {'met' if met else 'not met'}")

    def rate(name, batch):
        return next((f"{r['gradient_throws_per_s']:,.0f}" for r in stacks[name].get("rows", []) if r["batch"] == batch), "not run")

    widest = max(args.batches)
    headline = (f"gradients/s at batch {widest:,}: " + ", ".join(f"{name} {rate(name, widest)}" for name in stacks)
                + f"; PyTorch's best {torch_best['gradient_throws_per_s']:,.0f} at batch {torch_best['batch']:,} ({torch_best['stack']}), "
                + f"in float64 {torch_best_float64['gradient_throws_per_s']:,.0f} at batch {torch_best_float64['batch']:,}; "
                + (f"PyTorch (float64) overtakes Julia at batch {cross:,}" if cross else "PyTorch (float64) does not overtake Julia at any batch measured"))
    if "in_julia" in one:
        headline += f"; DPRL.Trebuchet per throw {forward_ratio:.2f}× (forward) and {gradient_ratio:.2f}× (gradient) plain Julia's time"
    print("\n".join(table_lines + lines))

    import torch

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "command": "python comparisons/bench_stacks.py" + ("" if args.batches == DEFAULT_BATCHES else " --batches " + " ".join(map(str, args.batches)))
                   + ("" if device_type == "cpu" else f" --device {args.device}"),
        "device": args.device,
        "dtype": "float64 (the float32 row: float32)", "torch": torch.__version__, "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
        "machine": platform.machine(), "seed": SEED, "stacks": stacks, "crossover_batch": cross,
        "pytorch_best": torch_best, "pytorch_best_float64": torch_best_float64, "goals": goals,
        "goal_met": "; ".join(f"{k}: {'yes' if v else 'no'}" for k, v in goals.items()),
        "summary": lines, "headline": headline,
    }, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
