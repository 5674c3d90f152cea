"""The cost of Julia inside PyTorch (`dprl.julia.function`): the bridge's per-call overhead, and
trebuchet throws per second with gradient through the Julia simulator as a torch layer against
the PyTorch simulator and against the per-throw NumPy bridge (`dprl.julia.shoot_gradient`).

    python comparisons/bench_julia_function.py [--batches 1 64 1024] [--repeats 3] [--out FILE]

Prints a table and writes the figures to JSON. Needs Julia (exit 3 without it). Inputs are
seeded as in bench_trebuchet.py: wind ~ N(0, 5²) m/s, angle ~ U(15°, 75°), weight ~ U(100, 300) lb.
"""

import argparse
import json
import os
import platform
import sys
import timeit
from pathlib import Path

from dprl import julia


def best_seconds(function, repeats):
    function()  # warm-up (and Julia's compilation)
    return min(timeit.repeat(function, number=1, repeat=repeats))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64, 1024])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_julia_function.json"))
    args = parser.parse_args()
    try:
        julia.start()  # before torch
    except julia.JuliaUnavailableError as error:
        print(f"bench_julia_function: Julia is unavailable: {error}", file=sys.stderr)
        return 3
    import torch

    from dprl.envs import trebuchet_fast

    from bench_trebuchet import inputs  # the same seeded throws

    tiny = torch.zeros(1, dtype=torch.float64)
    total = julia.function("sum")
    overhead_s = best_seconds(lambda: [total(tiny) for _ in range(1000)], args.repeats) / 1000
    layer = julia.function("Trebuchet.shoot", mode="forwarddiff", core_ndims=0)

    rows = []
    for batch in args.batches:
        wind, angle, weight = inputs(batch)

        def through(shoot):
            def run():
                leaves = [x.clone().requires_grad_(True) for x in (wind, angle, weight)]
                shoot(*leaves).sum().backward()
            return run

        def numpy_bridge():
            for w, a, m in zip(wind.tolist(), angle.tolist(), weight.tolist()):
                julia.shoot_gradient(w, a, m)

        rows.append({
            "batch": batch,
            "julia_layer_throws_per_s": batch / best_seconds(through(layer), args.repeats),
            "pytorch_throws_per_s": batch / best_seconds(through(trebuchet_fast.shoot), args.repeats),
            "numpy_bridge_throws_per_s": batch / best_seconds(numpy_bridge, args.repeats),
        })

    print(f"bridge overhead per call (julia.function('sum') on a 1-element tensor, no gradient): {overhead_s * 1e6:.0f} µs")
    print(f"{'batch':>6} {'Julia layer':>12} {'PyTorch':>10} {'NumPy bridge':>13}   throws/s with gradient, float64")
    for r in rows:
        print(f"{r['batch']:>6} {r['julia_layer_throws_per_s']:>12.0f} {r['pytorch_throws_per_s']:>10.0f} {r['numpy_bridge_throws_per_s']:>13.0f}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "command": "python comparisons/bench_julia_function.py", "dtype": "float64", "torch": torch.__version__,
        "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(), "machine": platform.machine(),
        "julia": str(julia.start().seval("DPRL.versions()")), "bridge_overhead_s": overhead_s, "rows": rows,
    }, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
