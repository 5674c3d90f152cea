"""Pendulum by differentiable programming: mean return over 1,000 seeded evaluation episodes
during training, over seeds.

    python comparisons/bench_pendulum.py [--seeds 3] [--rounds 10] [--variants gymnasium gymjl2019 apg] [--out FILE]

Three settings:
- gymnasium (the 2019 trainer on Pendulum-v1: torque clipped to ±2 N·m; 200 steps; see
  dprl.config.PENDULUM_PRESETS): goal ≥ −150 within 10 training rounds (stretch −140; the computed
  optimum is −136.6). A round is 64 parallel episodes, since single episodes with short windows stall.
- gymjl2019 (the blog's setting: torque never clipped, one episode a round): scored in its own
  environment, whose optimum (≈ −22 to −24) is not comparable with Pendulum-v1's.
- apg (dprl.train.pendulum.train_pendulum_apg on Pendulum-v1, over the comparison's 5 seeds and
  200 + 200 fine-tune updates; the runs are shared with comparisons/dp_vs_rl.py through
  comparisons/results/dp_vs_rl_runs, so either script reuses the other's): issue 15's goals, final
  mean return ≥ −150 in every seed and ≥ −140 in at least 3, reaching −150 in less wall time than
  SAC (its runs in the same folder; the output says whether both came from one invocation, which
  `python comparisons/dp_vs_rl.py --env pendulum --method dp_apg sac --runs NEW_FOLDER` makes).
  --seeds and --rounds do not apply to it.
Scores are each run's final evaluation (a best over evaluations would be chosen on the test
episodes). Prints a table and writes JSON with every curve and its provenance.
"""

import argparse
import json
import statistics
import time
from pathlib import Path

from dprl import dp_vs_rl
from dprl.config import PENDULUM_PRESETS as PRESETS
from dprl.goals import PENDULUM_SOLVED, PENDULUM_STRETCH, PENDULUM_STRETCH_SEEDS
from dprl.devices import add_device_argument, benchmark_device
from dprl.recipes import train_seeded_pendulum

GOAL, STRETCH, APG_STRETCH_SEEDS = PENDULUM_SOLVED, PENDULUM_STRETCH, PENDULUM_STRETCH_SEEDS


def apg_section(runs_dir: str, reuse_stale: bool = False) -> dict:
    """Issue 15's goals for the APG trainer, against SAC's runs in the same folder."""
    apg = dp_vs_rl.method_runs("pendulum", dp_vs_rl.PENDULUM_APG, runs=runs_dir, reuse_stale=reuse_stale)
    sac = dp_vs_rl.method_runs("pendulum", "SAC (zoo)", runs=runs_dir, reuse_stale=reuse_stale)
    print(f"apg: mean return over {apg[0].config['evaluation_episodes']} evaluation episodes every {apg[0].config['evaluate_every']} updates")
    for seed, r in enumerate(apg):
        print(f"  apg s{seed} | " + " ".join(f"{s:7.1f}" for s in r.scores[::2]) + f" | {r.wall_time[-1]:.0f} s, {r.env_steps[-1]:,} steps")
    best = [r.scores[-1] for r in apg]  # the final policy's score
    dp_reach = [dp_vs_rl.first_reaching(r, GOAL, "pendulum") for r in apg]
    sac_reach = [dp_vs_rl.first_reaching(r, GOAL, "pendulum") for r in sac]
    dp_s = [t for _, t in dp_reach if t is not None]
    sac_s = [t for _, t in sac_reach if t is not None]
    faster = len(dp_s) == len(apg) and bool(sac_s) and statistics.median(dp_s) < statistics.median(sac_s)
    goals = {"all_seeds_150": all(b >= GOAL for b in best), "stretch_seeds_140": sum(b >= STRETCH for b in best) >= APG_STRETCH_SEEDS,
             "faster_than_sac": faster}
    print(f"apg final per seed {[round(b, 1) for b in best]}: ≥ {GOAL:g} in {sum(b >= GOAL for b in best)}/{len(best)}, "
          f"≥ {STRETCH:g} in {sum(b >= STRETCH for b in best)}/{len(best)}; worst seed short of {GOAL:g} by {max(0.0, GOAL - min(best)):.1f}")
    one_run = dp_vs_rl.same_session([r.extra.get("made") for r in apg], [r.extra.get("made") for r in sac])
    print(f"to {GOAL:g}: apg {[(s, None if t is None else round(t)) for s, t in dp_reach]} (steps, s); "
          f"SAC {[(s, None if t is None else round(t)) for s, t in sac_reach]} "
          f"({'both from one invocation' if one_run else 'not known to come from one invocation: wall times compare only roughly'})")
    print("goals: " + ", ".join(f"{k} {'met' if v else 'not met'}" for k, v in goals.items()))
    return {"final_per_seed": best, "stale_runs": sum(bool(r.extra.get("stale")) for r in apg + sac), "to_goal_per_seed": [{"env_steps": s, "seconds": t} for s, t in dp_reach],
            "sac_to_goal_per_seed": [{"env_steps": s, "seconds": t} for s, t in sac_reach], "same_invocation": one_run, "goals": goals,
            "runs": [{"seed": k, "scores": r.scores, "env_steps": r.env_steps, "wall_time": r.wall_time, "config": r.config} for k, r in enumerate(apg)]}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--evaluation-episodes", type=int, default=1000)
    parser.add_argument("--variants", nargs="+", default=["gymnasium", "gymjl2019", "apg"], choices=[*PRESETS, "apg"])
    parser.add_argument("--runs", default="comparisons/results/dp_vs_rl_runs", help="apg: the comparison's runs, reused and added to")
    add_device_argument(parser, "the 2019 trainer's policy and rollouts (the APG rows are the comparison's CPU runs)")
    parser.add_argument("--reuse-stale", action="store_true", help="apg: reuse kept runs made by other code instead of rerunning them")
    args = parser.parse_args()
    device_type = benchmark_device(parser, args, "bench_pendulum")
    runs = []
    for variant in [v for v in args.variants if v != "apg"]:
        for seed in range(args.seeds):
            start = time.perf_counter()
            result = train_seeded_pendulum(seed, args.rounds, variant=variant, evaluation_episodes=args.evaluation_episodes, progress=False,
                                           device=args.device)
            runs.append({"variant": variant, "seed": seed, "scores": result.scores, "env_steps": result.env_steps,
                         "episodes": result.episodes, "seconds": time.perf_counter() - start, "config": result.config})
    if runs:
        print(f"mean return over {args.evaluation_episodes} evaluation episodes after each round (rows: variant/seed)")
    for run in runs:
        print(f"{run['variant']:>9} s{run['seed']} | " + " ".join(f"{s:7.1f}" for s in run["scores"]) + f" | {run['seconds']:.0f} s")
    summary = {}
    for variant in [v for v in args.variants if v != "apg"]:
        mine = [r for r in runs if r["variant"] == variant]
        best = [r["scores"][-1] for r in mine]  # the final policy's score
        first_goal = [next((r["episodes"][i] for i, s in enumerate(r["scores"]) if s >= GOAL), None) for r in mine]
        summary[variant] = {"final_per_seed": best, "episodes_to_goal_per_seed": first_goal,
                            "env_steps_per_round": mine[0]["env_steps"][0] if mine and mine[0]["env_steps"] else None}
        print(f"{variant:>9}: final per seed {[round(b, 1) for b in best]}; training episodes to reach {GOAL:g}: {first_goal}")
    if "gymnasium" in summary:
        met = all(b >= GOAL for b in summary["gymnasium"]["final_per_seed"])
        stretch = all(b >= STRETCH for b in summary["gymnasium"]["final_per_seed"])
        print(f"goal ≥ {GOAL:g} on Pendulum-v1 within {args.rounds} rounds, every seed: {'met' if met else 'not met'}; stretch {STRETCH:g}: {'met' if stretch else 'not met'}")
    if "apg" in args.variants:
        summary["apg"] = apg_section(args.runs, args.reuse_stale)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    verdicts = []
    if "gymnasium" in summary:
        verdicts.append(f"2019 BPTT ≥ {GOAL:g} in 10 rounds: {'yes' if all(b >= GOAL for b in summary['gymnasium']['final_per_seed']) else 'no'}")
    if "apg" in summary:
        verdicts.append("APG: " + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in summary["apg"]["goals"].items()))
    out.write_text(json.dumps({"command": "python comparisons/bench_pendulum.py" + ("" if device_type == "cpu" else f" --device {args.device}"),
                               "device": args.device, "goal_met": "; ".join(verdicts) or None,
                               "summary": summary, "runs": runs, "made": dp_vs_rl.provenance()}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
