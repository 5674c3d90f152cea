"""The cost of a Julia model inside PyTorch (`dprl.julia.module`): one training update (forward,
backward, torch Adam step) of the 2019 policies through the Julia model against the same
`nn.Sequential` in PyTorch, at several batch sizes and Julia thread counts, and the per-call cost
of the crossing.

    python comparisons/bench_julia_module.py [--batches 1 64 4096] [--threads 1 2] [--torch-threads 1] [--seconds 0.2] [--out FILE]

Julia's thread count is fixed when it starts, so each thread count runs in a child process of
its own (`--worker N` is that child). Prints a table and writes the figures to JSON. Needs Julia
(exit 3 without it). Weights are the seeded Glorot weights of `dprl.train.policies`, the same in
both stacks; inputs are seeded normal draws; float64 throughout, as the policies are.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

POLICIES = ("aimer", "cartpole", "pendulum")


def rate(function, seconds):
    """Calls per second of `function`, timed over about `seconds` after a warm-up (the best of 3)."""
    function()
    function()  # compilation and first-touch done
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < seconds / 3 or n < 3:
        function()
        n += 1
    per_call = (time.perf_counter() - start) / n
    best = per_call
    for _ in range(2):
        start = time.perf_counter()
        for _ in range(n):
            function()
        best = min(best, (time.perf_counter() - start) / n)
    return 1.0 / best


def worker(threads, batches, seconds, torch_threads):
    from dprl import julia

    julia.start(threads=threads)  # before torch
    import numpy as np
    import torch

    torch.set_num_threads(torch_threads)
    from dprl.train import policies

    def update(model, x):
        adam = torch.optim.Adam(model.parameters(), lr=1e-4)

        def step():
            loss = model(x).square().mean()
            adam.zero_grad()
            loss.backward()
            adam.step()
        return step

    jl = julia.start()
    rows = []
    for name in POLICIES:
        factory = getattr(policies, f"{name}_policy")
        weights = policies.glorot_weights(factory, 0)
        twin = policies.load_weights(factory(), weights)
        julia_model = jl.seval("DPRL.Policies.load_weights!")(jl.seval(f"DPRL.Policies.{name}_policy()"), julia._layers(weights))
        module = julia.module(julia_model)
        width = twin[0].in_features
        for batch in batches:
            x = torch.tensor(np.random.default_rng(batch).normal(size=(batch, width)))
            rows.append({
                "policy": name, "batch": batch, "julia_threads": threads,
                "julia_module_updates_per_s": rate(update(module, x), seconds),
                "pytorch_updates_per_s": rate(update(twin, x), seconds),
            })
    tiny = julia.module("using Flux; Flux.f64(Dense(1 => 1))")
    one = torch.ones(1, 1, dtype=torch.float64)
    return {
        "julia_threads": int(julia.threads()),
        "blas_threads": int(jl.seval("using LinearAlgebra; LinearAlgebra.BLAS.get_num_threads()")),
        "torch_threads": torch.get_num_threads(),
        "empty_call_s": 1.0 / rate(julia.empty_call, seconds),
        "tiny_module_update_s": 1.0 / rate(update(tiny, one), seconds),
        "julia": str(jl.seval("DPRL.versions()")),
        "torch": torch.__version__,
        "rows": rows,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64, 4096], help="batch sizes of one update")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="Julia thread counts, one child process each")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="PyTorch's intra-op threads in every child (1: on a shared machine, OpenMP's waits on busy cores swamp these small layers)")
    parser.add_argument("--seconds", type=float, default=0.2, help="time spent measuring each figure (about; the best of 3 thirds)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_julia_module.json"), help="JSON result file")
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)  # the child: one thread count, JSON on stdout
    args = parser.parse_args()
    if any(b < 1 for b in args.batches) or any(t < 1 for t in args.threads) or args.torch_threads < 1 or not args.seconds > 0:
        print("bench_julia_module: --batches, --threads and --torch-threads must be >= 1 and --seconds > 0", file=sys.stderr)
        return 2
    from dprl import julia

    if args.worker is not None:
        try:
            print(json.dumps(worker(args.worker, args.batches, args.seconds, args.torch_threads)))
        except julia.JuliaUnavailableError as error:
            print(f"bench_julia_module: Julia is unavailable: {error}", file=sys.stderr)
            return 3
        return 0
    results = []
    for threads in args.threads:
        command = [sys.executable, __file__, "--worker", str(threads), "--seconds", str(args.seconds), "--torch-threads", str(args.torch_threads),
                   "--batches", *map(str, args.batches)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"worker exited {done.returncode}", file=sys.stderr)
            return done.returncode
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print("crossing: " + ", ".join(f"{r['julia_threads']} thread(s): empty DPRL call {r['empty_call_s'] * 1e6:.0f} µs, "
                                   f"update of a Dense(1 => 1) module {r['tiny_module_update_s'] * 1e6:.0f} µs" for r in results))
    print(f"{'policy':>9} {'batch':>6} {'threads':>7} {'Julia module':>13} {'PyTorch':>9} {'ratio':>6}   updates/s (forward, backward, Adam), float64")
    for r in results:
        for row in r["rows"]:
            ratio = row["julia_module_updates_per_s"] / row["pytorch_updates_per_s"]
            print(f"{row['policy']:>9} {row['batch']:>6} {row['julia_threads']:>7} {row['julia_module_updates_per_s']:>13.0f} "
                  f"{row['pytorch_updates_per_s']:>9.0f} {ratio:>6.2f}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "command": "python comparisons/bench_julia_module.py " + " ".join(sys.argv[1:]), "dtype": "float64",
        "cpu_count": os.cpu_count(), "machine": platform.machine(), "seconds_per_figure": args.seconds, "runs": results,
    }, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
