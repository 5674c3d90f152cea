"""Trebuchet throughput: throws per second, forward only and forward + gradient, in float64.

    python comparisons/bench_trebuchet.py [--batches 1 64 4096] [--repeats 3] [--device cpu] [--out FILE]

Prints a table and writes the figures to JSON. Goal (issue 2): ≥ 10,000 throws/s with gradient at
batch 4096 on a 2-core CPU. Inputs are seeded: wind ~ N(0, 5²) m/s, angle ~ U(15°, 75°),
weight ~ U(100, 300) lb, the aimer's working range. --device cuda times CUDA tensors (the Triton
kernel of `dprl.envs.trebuchet_triton`; comparisons/bench_gpu.py compares it with eager).
"""

import argparse
import json
import os
import platform
import timeit
from pathlib import Path

import torch

from dprl.envs import trebuchet_fast

GOAL_WITH_GRADIENT = 10_000  # throws/s at batch 4096


def inputs(batch, seed=0):
    generator = torch.Generator().manual_seed(seed)
    wind = torch.randn(batch, generator=generator, dtype=torch.float64) * 5
    angle = torch.rand(batch, generator=generator, dtype=torch.float64) * 60 + 15
    weight = torch.rand(batch, generator=generator, dtype=torch.float64) * 200 + 100
    return wind, angle, weight


def best_seconds(function, repeats):
    function()  # warm-up
    return min(timeit.repeat(function, number=1, repeat=repeats))


def measure(batch, repeats, device="cpu"):
    wind, angle, weight = (x.to(device) for x in inputs(batch))
    synchronize = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)

    def forward():
        with torch.no_grad():
            trebuchet_fast.shoot(wind, angle, weight)
        synchronize()

    def with_gradient():
        leaves = [x.clone().requires_grad_(True) for x in (wind, angle, weight)]
        trebuchet_fast.shoot(*leaves).sum().backward()
        synchronize()

    return {
        "batch": batch,
        "forward_throws_per_s": batch / best_seconds(forward, repeats),
        "gradient_throws_per_s": batch / best_seconds(with_gradient, repeats),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64, 4096])
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per case; the best is kept")
    parser.add_argument("--device", default="cpu", help="torch device of the throws (default cpu; cuda runs the Triton kernel)")
    parser.add_argument("--out", default="comparisons/results/bench_trebuchet.json")
    args = parser.parse_args()
    try:
        torch.empty(0, device=args.device)
    except (RuntimeError, AssertionError) as error:
        parser.error(f"--device {args.device!r} is not usable here: {str(error).splitlines()[0]}")
    rows = [measure(b, args.repeats, args.device) for b in args.batches]
    print(f"{'batch':>6} | {'forward throws/s':>17} | {'with gradient throws/s':>23}")
    print("-" * 54)
    for row in rows:
        print(f"{row['batch']:>6} | {row['forward_throws_per_s']:>17,.0f} | {row['gradient_throws_per_s']:>23,.0f}")
    largest = max(rows, key=lambda r: r["batch"])
    met = largest["batch"] >= 4096 and largest["gradient_throws_per_s"] >= GOAL_WITH_GRADIENT
    print(f"goal ≥ {GOAL_WITH_GRADIENT:,} throws/s with gradient at batch 4096: {'met' if met else 'not met'}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "command": "python comparisons/bench_trebuchet.py" + ("" if args.device == "cpu" else f" --device {args.device}"),
                "dtype": "float64",
                "device": args.device,
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "cpu_count": os.cpu_count(),
                "machine": platform.machine(),
                "rows": rows,
                "goal_with_gradient_at_4096": GOAL_WITH_GRADIENT,
                "goal_met": met,
            },
            indent=2,
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
