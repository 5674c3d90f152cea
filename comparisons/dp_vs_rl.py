"""DP against Stable-Baselines3 baselines on CartPole-v1, Pendulum-v1 and the trebuchet, same axes.

    python comparisons/dp_vs_rl.py [--quick] [--env ENV ...] [--method KEY ...] [--out comparisons/figures]
                                   [--runs comparisons/results/dp_vs_rl_runs]

Prints, for each environment and method, the environment steps and seconds to each threshold
(CartPole 475; Pendulum −150 and −140; trebuchet a 1 % mean relative miss), and draws the score
against steps and against wall time. Full: 5 seeds, the zoo's budgets (DQN 50k steps, PPO 100k,
SAC and TD3 20k; SAC on the trebuchet bandit 50k throws; DP aimer 60 s; DP APG on Pendulum 200 updates of
256 whole episodes then 200 of 2,048); --quick: 1 seed, shorter. Every Pendulum method is scored on the
same 1,000 episodes a seed (the DP evaluation starts; the RL agents play them through dprl/Pendulum-v1).
Each run records which invocation made it: for wall times that compare fairly, run the methods in one
invocation with a fresh --runs folder.
Each run is saved as it finishes in --runs, and a rerun with the same budget reuses it.
"""

import argparse
from pathlib import Path

from dprl import dp_vs_rl


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 seed and small budgets")
    parser.add_argument("--env", nargs="+", choices=list(dp_vs_rl.THRESHOLDS), help="only these environments (default: all)")
    parser.add_argument("--method", nargs="+", choices=["dp", "dp_adam", "dp_apg", "dqn", "ppo", "sac", "td3"], help="only these methods (default: all)")
    parser.add_argument("--out", default="comparisons/figures", help="figures and dp_vs_rl.json (default: comparisons/figures)")
    parser.add_argument("--runs", default="comparisons/results/dp_vs_rl_runs", help="per-run results, reused when present")
    parser.add_argument("--device", default="cpu", help="torch device the DP trainers run on: cpu (default), cuda, cuda:1, ...; the RL "
                                                        "baselines stay on the CPU. A run made elsewhere than the CPU records its device")
    args = parser.parse_args()
    from dprl.train.policies import resolve_device

    try:
        resolve_device(args.device)
    except ValueError as error:
        parser.error(str(error))
    summary = dp_vs_rl.run(Path(args.out), quick=args.quick, progress=True, runs=args.runs, envs=args.env, methods_only=args.method,
                           device=args.device)
    for line in dp_vs_rl.describe(summary):
        print(line)
    print(f"wrote {Path(args.out) / 'dp_vs_rl.json'}, figures, and runs in {args.runs}")


if __name__ == "__main__":
    main()
