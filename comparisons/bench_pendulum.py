"""Pendulum by backpropagation through time: mean return over 1,000 seeded evaluation episodes
after each of the first training rounds, over seeds.

    python comparisons/bench_pendulum.py [--seeds 3] [--rounds 10] [--out FILE]

Two settings (see dprl.train.pendulum.PRESETS):
- Pendulum-v1 (Gymnasium; torque clipped to ±2 N·m; 200 steps): the issue's goal is ≥ −150
  within 10 training episodes (stretch −140; the computed optimum is −136.6). Here a round is
  64 parallel episodes, since single episodes with short windows stall.
- gymjl2019 (the blog's setting: torque never clipped, one episode a round): scored in its own
  environment, whose optimum (≈ −22 to −24) is not comparable with Pendulum-v1's.
Prints a table and writes JSON with every curve.
"""

import argparse
import json
import time
from pathlib import Path

from dprl.train.pendulum import PRESETS, train_seeded

GOAL, STRETCH = -150.0, -140.0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--evaluation-episodes", type=int, default=1000)
    parser.add_argument("--variants", nargs="+", default=["gymnasium", "gymjl2019"], choices=list(PRESETS))
    parser.add_argument("--out", default="comparisons/results/bench_pendulum.json")
    args = parser.parse_args()
    runs = []
    for variant in args.variants:
        for seed in range(args.seeds):
            start = time.perf_counter()
            result = train_seeded(seed, args.rounds, variant=variant, evaluation_episodes=args.evaluation_episodes, progress=False)
            runs.append({"variant": variant, "seed": seed, "scores": result.scores, "env_steps": result.env_steps,
                         "episodes": result.episodes, "seconds": time.perf_counter() - start, "config": result.config})
    print(f"mean return over {args.evaluation_episodes} evaluation episodes after each round (rows: variant/seed)")
    for run in runs:
        print(f"{run['variant']:>9} s{run['seed']} | " + " ".join(f"{s:7.1f}" for s in run["scores"]) + f" | {run['seconds']:.0f} s")
    summary = {}
    for variant in args.variants:
        mine = [r for r in runs if r["variant"] == variant]
        best = [max(r["scores"]) for r in mine]
        first_goal = [next((r["episodes"][i] for i, s in enumerate(r["scores"]) if s >= GOAL), None) for r in mine]
        summary[variant] = {"best_per_seed": best, "episodes_to_goal_per_seed": first_goal,
                            "env_steps_per_round": mine[0]["env_steps"][0] if mine and mine[0]["env_steps"] else None}
        print(f"{variant:>9}: best per seed {[round(b, 1) for b in best]}; training episodes to reach {GOAL:g}: {first_goal}")
    if "gymnasium" in summary:
        met = all(b >= GOAL for b in summary["gymnasium"]["best_per_seed"])
        stretch = all(b >= STRETCH for b in summary["gymnasium"]["best_per_seed"])
        print(f"goal ≥ {GOAL:g} on Pendulum-v1 within {args.rounds} rounds, every seed: {'met' if met else 'not met'}; stretch {STRETCH:g}: {'met' if stretch else 'not met'}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    goal_met = all(b >= GOAL for b in summary["gymnasium"]["best_per_seed"]) if "gymnasium" in summary else None
    out.write_text(json.dumps({"command": "python comparisons/bench_pendulum.py", "goal_met": goal_met, "summary": summary, "runs": runs}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
