"""CartPole by differentiable programming: training episodes until the 100-episode evaluation
mean reaches the solved score, over seeds.

    python comparisons/bench_cartpole.py [--seeds 10] [--max-episodes 50] [--device cpu] [--out FILE]

For CartPole-v1 (500 steps, solved at 475; the issue's goal: median ≤ 5 episodes, as the blog
claims) and for CartPole-v0 (200 steps, solved at 195; the setting the blog actually ran). Each
seed fixes the initial weights (Flux 0.7's Glorot initialisation), the training starts and the
100 evaluation starts. Prints a table and writes JSON with every learning curve.
"""

import argparse
import json
import statistics
import time
from pathlib import Path

from dprl.devices import add_device_argument, benchmark_device
from dprl.goals import CARTPOLE_EPISODES_GOAL
from dprl.goals import CARTPOLE_VERSIONS as VERSIONS  # (time limit, solved score)
from dprl.recipes import train_seeded_cartpole

GOAL_MEDIAN_EPISODES = CARTPOLE_EPISODES_GOAL


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--max-episodes", type=int, default=50, help="give up on a seed after this many training episodes")
    parser.add_argument("--versions", nargs="+", default=["v1", "v0"], choices=list(VERSIONS))
    add_device_argument(parser, "the policy and the rollouts")
    args = parser.parse_args()
    device_type = benchmark_device(parser, args, "bench_cartpole")
    summary, runs = {}, []
    for version in args.versions:
        episodes, seconds = [], []
        for seed in range(args.seeds):
            start = time.perf_counter()
            result = train_seeded_cartpole(seed, args.max_episodes, version=version, progress=False, device=args.device)
            seconds.append(time.perf_counter() - start)
            solved = result.scores[-1] >= VERSIONS[version][1]
            episodes.append(len(result.scores) if solved else None)
            runs.append({"version": version, "seed": seed, "scores": result.scores, "episodes_to_solve": episodes[-1], "seconds": seconds[-1],
                         "env_steps": result.env_steps})
        reached = [e for e in episodes if e is not None]
        summary[version] = {
            "solved_score": VERSIONS[version][1],
            "seeds": args.seeds,
            "solved_seeds": len(reached),
            "median_episodes": statistics.median(e if e is not None else float("inf") for e in episodes),
            "worst_episodes": max(e if e is not None else float("inf") for e in episodes),
            "episodes_per_seed": episodes,
            "median_seconds": statistics.median(seconds),
            "total_seconds": sum(seconds),
        }
    print(f"{'version':>7} | {'solved at':>9} | {'seeds solved':>12} | {'median episodes':>15} | {'worst':>5} | {'median wall s':>13}")
    print("-" * 78)
    for version, s in summary.items():
        print(f"{version:>7} | {s['solved_score']:>9g} | {s['solved_seeds']:>5}/{s['seeds']:<6} | {s['median_episodes']:>15} | {s['worst_episodes']:>5} | {s['median_seconds']:>13.1f}")
        print(f"        episodes per seed: {s['episodes_per_seed']}")
    if "v1" in summary:
        met = summary["v1"]["median_episodes"] <= GOAL_MEDIAN_EPISODES
        print(f"goal: median ≤ {GOAL_MEDIAN_EPISODES} episodes to 475 on CartPole-v1: {'met' if met else 'not met'}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    goal_met = summary["v1"]["median_episodes"] <= GOAL_MEDIAN_EPISODES if "v1" in summary else None
    out.write_text(json.dumps({"command": "python comparisons/bench_cartpole.py" + ("" if device_type == "cpu" else f" --device {args.device}"),
                               "device": args.device, "goal_met": goal_met, "summary": summary, "runs": runs}, indent=1, default=str))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
