"""The trebuchet aimer: time to a given accuracy, and the blog's two ways of aiming.

    python comparisons/bench_aimer.py [--budget 60] [--out FILE]

1. Training (`dprl.train.trebuchet`), Levenberg–Marquardt on 2,048 seeded shots, evaluated on the
   fixed 1,000-shot set every 5 updates: the seconds until the mean relative miss ≤ 0.3 % and the
   95th percentile ≤ 1 % (issue 5's goal, within 60 s on 2 cores), or the best reached in the budget.
   Adam at the original's learning rate with batch 64 is run for the same budget for comparison.
2. Aiming (the blog's 2019-06-13 addendum: ~100 ms per target by gradient descent, ~5 µs per network
   evaluation): gradient descent on (angle, weight) per target, one target alone and 1,000 in one
   batch, against the trained network on the same targets.
Prints a table and writes JSON.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from dprl.train import policies
from dprl.train import trebuchet as aimer

GOAL = {"mean_rel_miss_pct": 0.3, "p95_rel_miss_pct": 1.0}


def training(optimizer, budget, **kwargs):
    result = aimer.train_seeded(0, optimizer=optimizer, time_budget=budget, stop_at=GOAL, progress=False, **kwargs)
    metrics = result.extra["metrics"]
    reached = next((t for t, m in zip(result.wall_time, metrics) if all(m[k] <= v for k, v in GOAL.items())), None)
    best = min(metrics, key=lambda m: m["mean_rel_miss_pct"])
    return {"optimizer": optimizer, "config": result.config, "seconds_to_goal": reached, "best": best, "final": metrics[-1],
            "curve": [{"seconds": t, **m} for t, m in zip(result.wall_time, metrics)], "weights": result.weights}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=60.0, help="training seconds per optimiser")
    parser.add_argument("--targets", type=int, default=1000, help="targets for the batched gradient-descent aiming")
    parser.add_argument("--out", default="comparisons/results/bench_aimer.json")
    args = parser.parse_args()

    runs = [training("lm", args.budget), training("adam", args.budget, batch_size=64, samples=200_000, evaluate_every=20)]
    print(f"{'optimiser':>9} | {'seconds to goal':>15} | {'best mean rel %':>15} | {'its p95 %':>9} | {'mean miss m':>11}")
    print("-" * 72)
    for r in runs:
        to_goal = f"{r['seconds_to_goal']:.1f}" if r["seconds_to_goal"] is not None else f"> {args.budget:g}"
        print(f"{r['optimizer']:>9} | {to_goal:>15} | {r['best']['mean_rel_miss_pct']:>15.2f} | {r['best']['p95_rel_miss_pct']:>9.2f} | {r['best']['mean_abs_miss_m']:>11.2f}")
    met = runs[0]["seconds_to_goal"] is not None and runs[0]["seconds_to_goal"] <= 60
    print(f"goal: mean ≤ 0.3 % and 95th percentile ≤ 1 % within 60 s: {'met' if met else 'not met'}")

    winds, targets = aimer.evaluation_shots(args.targets)
    start = time.perf_counter()
    _, _, miss_one = aimer.aim_by_gradient_descent(winds[:1], targets[:1])
    one = time.perf_counter() - start
    start = time.perf_counter()
    _, _, miss_batch = aimer.aim_by_gradient_descent(winds, targets)
    batch = time.perf_counter() - start
    network = policies.load_weights(policies.aimer_policy(), runs[0]["weights"])
    w, t = torch.as_tensor(winds), torch.as_tensor(targets)
    with torch.no_grad():
        aimer.aim(network, w[:1], t[:1], True)
        repeats, start = 1000, time.perf_counter()
        for _ in range(repeats):
            aimer.aim(network, w[:1], t[:1], True)
        single_network = (time.perf_counter() - start) / repeats
        start = time.perf_counter()
        aimer.aim(network, w, t, True)
        batched_network = (time.perf_counter() - start) / len(winds)
    aiming = {
        "gradient_descent_one_target_s": one,
        "gradient_descent_batched_per_target_s": batch / len(winds),
        "gradient_descent_median_rel_miss_pct": float(np.median(100 * miss_batch / targets)),
        "network_one_target_s": single_network,
        "network_batched_per_target_s": batched_network,
        "network_mean_rel_miss_pct": runs[0]["final"]["mean_rel_miss_pct"],
    }
    print()
    print(f"{'aiming':<44} | {'time per target':>15}")
    print("-" * 63)
    print(f"{'gradient descent, 100 Adam steps, one target':<44} | {one * 1e3:>12.1f} ms")
    print(f"{'gradient descent, 1,000 targets in a batch':<44} | {batch / len(winds) * 1e3:>12.2f} ms")
    print(f"{'network, one target':<44} | {single_network * 1e6:>12.1f} µs")
    print(f"{'network, 1,000 targets in a batch':<44} | {batched_network * 1e6:>12.3f} µs")
    print(f"gradient descent median relative miss {aiming['gradient_descent_median_rel_miss_pct']:.3f} %")
    for r in runs:
        r.pop("weights")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"command": "python comparisons/bench_aimer.py", "goal": GOAL, "goal_met": met, "training": runs, "aiming": aiming}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
