"""Differentiable programming against today's RL baselines, on the same environments and axes.

For CartPole-v1 and Pendulum-v1: the DP trainers and Stable-Baselines3 agents (RL Baselines3 Zoo
settings), over seeds; return against environment steps and against wall time; and the steps and
seconds each needs to reach the thresholds (CartPole 475; Pendulum −150 and −140).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

THRESHOLDS = {"cartpole": (475.0,), "pendulum": (-150.0, -140.0)}
BUDGETS = {  # seeds, DP episodes (CartPole) or rounds (Pendulum), RL steps; full = the zoo's budgets, 5 seeds
    True: {"seeds": 1, "cartpole_dp": 20, "pendulum_dp": 10, "dqn": 10_000, "sac": 3_000},
    False: {"seeds": 5, "cartpole_dp": 50, "pendulum_dp": 30, "dqn": 50_000, "sac": 20_000},
}


def first_reaching(result, threshold):
    """(env steps, seconds) of the first evaluation at or above `threshold`, or (None, None)."""
    for steps, seconds, score in zip(result.env_steps, result.wall_time, result.scores):
        if score >= threshold:
            return steps, seconds
    return None, None


def run(out, quick: bool = False, progress: bool = False) -> dict:
    from dprl import plots
    from dprl.rl.baselines import train_baseline
    from dprl.train import cartpole, pendulum

    out = Path(out)
    budget = BUDGETS[quick]
    seeds = range(budget["seeds"])
    groups = {
        "cartpole": {
            "DP (straight-through sign, BPTT)": [cartpole.train_seeded(s, budget["cartpole_dp"], solved_score=1e9, progress=progress) for s in seeds],
            "DQN (zoo)": [train_baseline("dqn", "cartpole", seed=s, steps=budget["dqn"], progress=progress) for s in seeds],
        },
        "pendulum": {
            "DP (BPTT, 64 episodes a round)": [pendulum.train_seeded(s, budget["pendulum_dp"], evaluation_episodes=100, progress=progress) for s in seeds],
            "SAC (zoo)": [train_baseline("sac", "pendulum", seed=s, steps=budget["sac"], progress=progress) for s in seeds],
        },
    }
    summary = {}
    for env, methods in groups.items():
        for x in ("env_steps", "wall_time"):
            plots.learning_curves(methods, out / f"dp_vs_rl_{env}_{x}.png", x=x, threshold=THRESHOLDS[env][0],
                                  title=f"{env}: differentiable programming vs RL")
        summary[env] = {}
        for method, results in methods.items():
            rows = {}
            for threshold in THRESHOLDS[env]:
                reached = [first_reaching(r, threshold) for r in results]
                rows[str(threshold)] = {"env_steps": [s for s, _ in reached], "seconds": [t for _, t in reached]}
            summary[env][method] = {"reached": rows, "best": [max(r.scores) for r in results], "final": [r.scores[-1] for r in results],
                                    "total_env_steps": [r.env_steps[-1] for r in results]}
    (out / "dp_vs_rl.json").write_text(json.dumps({"quick": quick, "budget": budget, "summary": summary}, indent=1))
    return summary


def describe(summary: dict) -> list[str]:
    """One line per environment, method and threshold."""
    lines = []
    for env, methods in summary.items():
        for method, s in methods.items():
            for threshold, r in s["reached"].items():
                steps = [f"{v:,}" if v is not None else "not reached" for v in r["env_steps"]]
                seconds = [f"{v:.0f} s" if v is not None else "—" for v in r["seconds"]]
                lines.append(f"{env} {method}: to {float(threshold):g}: steps {steps}, time {seconds}; best {np.round(s['best'], 1).tolist()}")
    return lines
