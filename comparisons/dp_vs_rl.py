"""DP against Stable-Baselines3 baselines on CartPole-v1 and Pendulum-v1, same axes.

    python comparisons/dp_vs_rl.py [--quick] [--out comparisons/figures]

Prints, for each environment and method, the environment steps and seconds to each threshold
(CartPole 475; Pendulum −150 and −140), and draws return against steps and against wall time.
Full: 3 seeds, DQN 50k steps, SAC 20k steps (the zoo's budgets); --quick: 1 seed, shorter.
"""

import argparse
from pathlib import Path

from dprl import dp_vs_rl


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default="comparisons/figures")
    args = parser.parse_args()
    summary = dp_vs_rl.run(Path(args.out), quick=args.quick, progress=True)
    for line in dp_vs_rl.describe(summary):
        print(line)
    print(f"wrote {Path(args.out) / 'dp_vs_rl.json'} and figures")


if __name__ == "__main__":
    main()
