"""DP against Stable-Baselines3 baselines on CartPole-v1, Pendulum-v1 and the trebuchet, same axes.

    python comparisons/dp_vs_rl.py [--quick] [--env ENV ...] [--method KEY ...] [--seed S ... | --seeds K]
                                   [--jobs N | --ray ADDRESS] [--threads T] [--reuse-stale]
                                   [--print-runs | --collect | --plan N] [--out comparisons/figures]
                                   [--runs comparisons/results/dp_vs_rl_runs]

Prints, for each environment and method, each seed's final score (the final policy on the test
episodes) with bootstrap intervals over seeds, and the steps and seconds of the first crossing of
the evaluation curve at each threshold (CartPole 475; Pendulum −150 and −140; trebuchet a 1 % mean
relative miss); draws the score against steps and against wall time. Full: 5 seeds (10 for the DP
trainers of CartPole and of Pendulum by BPTT, whose runs take seconds), the zoo's
budgets (DQN 50k steps, PPO 100k, SAC and TD3 20k; SAC on the trebuchet bandit 50k throws; DP aimer
60 s; DP APG on Pendulum 200 updates of 256 whole episodes then 200 of 2,048); --quick: 1 seed,
shorter. Every Pendulum method is scored on the same 1,000 episodes a seed.

Each run is saved as it finishes in --runs and reused by a later call with the same budget and the
same code; a kept run made by other code is rerun, or reused and marked stale with --reuse-stale.
Runs are planned longest first and made one after another (--jobs 1), on N processes (--jobs N,
joblib), or as Ray tasks on a cluster (--ray ADDRESS or auto; pip install -e ".[ray]"). A part
(--env, --method, --seed) writes its own dp_vs_rl_partial_*.json and figures, never the full ones.
Exit codes: 0 done, 1 a run failed (named; the others are kept), 2 bad input, 130 interrupted.
"""

import sys
from pathlib import Path

from dprl import dp_vs_rl
from dprl.arguments import Parser, positive_int, whole_number


def build_parser() -> Parser:
    parser = Parser(prog="comparisons/dp_vs_rl.py", description=__doc__, formatter_class=__import__("argparse").RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 seed and small budgets")
    parser.add_argument("--env", nargs="+", choices=list(dp_vs_rl.THRESHOLDS), help="only these environments (default: all)")
    parser.add_argument("--method", nargs="+", choices=["dp", "dp_adam", "dp_apg", "dqn", "ppo", "sac", "td3"], help="only these methods (default: all)")
    seeds = parser.add_mutually_exclusive_group()
    seeds.add_argument("--seed", nargs="+", type=whole_number(0, 2**31 - 1), help="only these seeds (a partial comparison)")
    seeds.add_argument("--seeds", type=positive_int, metavar="K", help="seeds 0..K-1 for every method instead of the budget's (5, or 10 for the cheap DP runs; 1 quick)")
    parser.add_argument("--out", default="comparisons/figures", help="figures and dp_vs_rl.json (default: comparisons/figures)")
    parser.add_argument("--runs", default="comparisons/results/dp_vs_rl_runs", help="per-run results, reused when present")
    parser.add_argument("--device", default="cpu", help="torch device the DP trainers run on: cpu (default), cuda, cuda:1, ...; the RL "
                                                        "baselines stay on the CPU. A run made elsewhere than the CPU records its device")
    engine = parser.add_mutually_exclusive_group()
    engine.add_argument("--jobs", type=positive_int, default=1, help="runs made at once in worker processes (joblib); default 1: one after another here")
    engine.add_argument("--ray", metavar="ADDRESS", help="make the runs as Ray tasks on the cluster at ADDRESS (HOST:PORT, or auto for one "
                                                         "running here); results travel back to this process, no shared file system needed")
    parser.add_argument("--threads", type=positive_int, default=1, help="torch threads of each run (default 1, as the kept runs were made)")
    parser.add_argument("--reuse-stale", action="store_true", help="reuse kept runs made by other code (another commit) instead of rerunning "
                                                                   "them; the report marks them stale")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--print-runs", action="store_true", help="print one command per missing run (for Slurm arrays or GNU parallel) and exit")
    action.add_argument("--collect", action="store_true", help="train nothing: summarise the runs there are (a partial summary if any is missing)")
    action.add_argument("--plan", type=positive_int, metavar="N", help="print the expected wall time on N workers from the kept runs' durations and exit")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from dprl.train.policies import resolve_device

    try:
        resolve_device(args.device)
    except ValueError as error:
        parser.error(str(error))
    seeds = args.seed if args.seed is not None else (list(range(args.seeds)) if args.seeds else None)
    try:
        if args.plan or args.print_runs or args.collect:
            specs = dp_vs_rl.plan(args.quick, args.env, args.method, seeds, args.device, args.runs)
            missing = [s for s in specs if dp_vs_rl._kept(Path(args.runs) / f"{s.name}.json", s.signature,
                                                            dp_vs_rl.identity(s.env, s.key, s.seed), args.reuse_stale) is None]
        if args.plan or args.print_runs:
            if args.print_runs:
                for spec in missing:
                    print(spec.command(args.runs))
                print(f"# {len(missing)} of {len(specs)} runs missing; then: python comparisons/dp_vs_rl.py --collect", file=sys.stderr)
                return 0
            durations = [s.expected_s for s in specs]
            timing = dp_vs_rl.critical_path(durations, args.plan)
            print(f"{timing['runs']} runs, {timing['total_s'] / 60:.1f} min in all, the longest {timing['longest_s'] / 60:.1f} min: "
                  f"expected {timing['expected_s'] / 60:.1f} min on {args.plan} worker(s), longest first "
                  f"(bound max(total/N, longest) = {timing['bound_s'] / 60:.1f} min; durations from {args.runs})")
            return 0
        summary = dp_vs_rl.run(Path(args.out), quick=args.quick, progress=args.jobs == 1 and args.ray is None, runs=args.runs, envs=args.env,
                               methods_only=args.method, device=args.device, seeds=seeds, jobs=args.jobs, ray=args.ray, threads=args.threads,
                               reuse_stale=args.reuse_stale, collect=args.collect)
    except dp_vs_rl.RunsFailed as error:
        print(f"{parser.prog}: {' '.join(str(error).split())}", file=sys.stderr)
        return 1
    except ValueError as error:
        print(f"{parser.prog}: error: {' '.join(str(error).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted; the finished runs are kept in {args.runs}", file=sys.stderr)
        return 130
    for line in dp_vs_rl.describe(summary):
        print(line)
    if args.collect and missing:
        stale = "" if args.reuse_stale else " (a run made by other code counts as missing: --reuse-stale uses it, marked)"
        print(f"{len(missing)} of {len(specs)} run(s) missing{stale}: a partial summary in {Path(args.out) / 'dp_vs_rl_partial_collected.json'}")
    print(f"wrote the summary and figures in {args.out}, and runs in {args.runs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
