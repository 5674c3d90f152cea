"""Differentiable programming against today's RL baselines, on the same environments and axes.

For CartPole-v1, Pendulum-v1 and the trebuchet aimer: the DP trainers and Stable-Baselines3
agents (RL Baselines3 Zoo settings), over seeds; score against environment steps and against wall
time; and the steps and seconds each needs to reach the thresholds (CartPole 475; Pendulum −150
and −140; trebuchet a mean relative miss of 1 %, where lower is better).

Every run is saved as it finishes (`runs/<env>_<method>_seed<k>.json`) and reused by a later call
with the same budget, so an interrupted comparison resumes where it stopped.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import uuid
import warnings
from pathlib import Path

import numpy as np

from dprl.goals import THRESHOLDS, reaches

BUDGETS = {  # seeds; DP episodes (CartPole), rounds (Pendulum) or seconds (trebuchet); RL env steps
    True: {"seeds": 1, "cartpole_dp": 20, "pendulum_dp": 10, "pendulum_apg": 20, "pendulum_apg_fine_tune": 10, "trebuchet_dp_s": 5, "dqn": 5_000, "ppo_cartpole": 4_096,
           "sac": 1_500, "td3": 3_000, "ppo_pendulum": 8_192, "sac_trebuchet": 1_280},
    False: {"seeds": 5, "cartpole_dp": 50, "pendulum_dp": 30, "pendulum_apg": 200, "pendulum_apg_fine_tune": 200, "trebuchet_dp_s": 60, "dqn": 50_000, "ppo_cartpole": 100_000,
            "sac": 20_000, "td3": 20_000, "ppo_pendulum": 100_000, "sac_trebuchet": 50_000},
}
# The analytic-policy-gradient trainer (dprl.train.pendulum.train_pendulum_apg), evaluated on the
# same 1,000 seeded episodes as its benchmark (comparisons/bench_pendulum.py).
PENDULUM_APG = "DP (APG: whole episodes, decayed gradient)"
# Every Pendulum method is scored on the same episodes: each seed's 1,000 DP evaluation starts
# (dprl.train.pendulum.evaluation_starts), which the RL agents play through dprl/Pendulum-v1.
PENDULUM_EVALUATION_EPISODES = 1000
# Their signatures name the evaluation, so that runs scored on other episodes are not reused (the
# APG trainer was on these starts from the first).
_SCORED_ON_DP_STARTS = {"pendulum_dp", "sac", "td3", "ppo_pendulum"}


def methods(budget: dict, progress: bool, device: str = "cpu") -> dict:
    """{env: {label: (file key, budget key, train(seed) -> TrainingResult)}}, DP first. `device`:
    where the DP trainers run (the RL baselines run on the CPU, as Stable-Baselines3's MLP
    policies are fastest there)."""
    from dprl import recipes
    from dprl.rl.baselines import train_baseline
    from dprl.train import pendulum

    def rl(algo, env, steps):
        def starts(seed):  # Pendulum: the DP trainers' evaluation episodes
            return pendulum.evaluation_starts(seed, PENDULUM_EVALUATION_EPISODES) if env == "pendulum" else None

        return lambda seed: train_baseline(algo, env, seed=seed, steps=steps, progress=progress, evaluation_states=starts(seed))

    return {
        "cartpole": {
            "DP (straight-through sign, BPTT)": ("dp", "cartpole_dp", lambda s: recipes.train_seeded_cartpole(s, budget["cartpole_dp"], solved_score=1e9, progress=progress,
                                                                                                                device=device)),
            "DQN (zoo)": ("dqn", "dqn", rl("dqn", "cartpole", budget["dqn"])),
            "PPO (zoo)": ("ppo", "ppo_cartpole", rl("ppo", "cartpole", budget["ppo_cartpole"])),
        },
        "pendulum": {
            "DP (BPTT, 64 episodes a round)": ("dp", "pendulum_dp", lambda s: recipes.train_seeded_pendulum(s, budget["pendulum_dp"], evaluation_episodes=PENDULUM_EVALUATION_EPISODES,
                                                                                             progress=progress, device=device)),
            PENDULUM_APG: ("dp_apg", "pendulum_apg", lambda s: recipes.train_seeded_apg(s, budget["pendulum_apg"], fine_tune_updates=budget["pendulum_apg_fine_tune"],
                                                                                                  evaluation_episodes=PENDULUM_EVALUATION_EPISODES, progress=progress,
                                                                                                  device=device)),
            "SAC (zoo)": ("sac", "sac", rl("sac", "pendulum", budget["sac"])),
            "TD3 (zoo)": ("td3", "td3", rl("td3", "pendulum", budget["td3"])),
            "PPO (zoo)": ("ppo", "ppo_pendulum", rl("ppo", "pendulum", budget["ppo_pendulum"])),
        },
        "trebuchet": {
            "DP (Levenberg–Marquardt, 2,048 shots)": ("dp", "trebuchet_dp_s", lambda s: recipes.train_seeded_aimer(s, optimizer="lm", time_budget=budget["trebuchet_dp_s"], progress=progress,
                                                                                                               device=device)),
            "DP (Adam, batch 64)": ("dp_adam", "trebuchet_dp_s", lambda s: recipes.train_seeded_aimer(s, optimizer="adam", batch_size=64, samples=200_000, evaluate_every=20,
                                                                          time_budget=budget["trebuchet_dp_s"], progress=progress, device=device)),
            "SAC (bandit)": ("sac", "sac_trebuchet", rl("sac", "trebuchet", budget["sac_trebuchet"])),
        },
    }


# The DP trainers' budget keys: their runs record a device other than the CPU.
_DP_BUDGETS = {"cartpole_dp", "pendulum_dp", "pendulum_apg", "trebuchet_dp_s"}


def first_reaching(result, threshold, env: str = "cartpole"):
    """(env steps, seconds) of the first evaluation at the threshold or better, or (None, None)."""
    for steps, seconds, score in zip(result.env_steps, result.wall_time, result.scores):
        if reaches(env, score, threshold):
            return steps, seconds
    return None, None


def _signature(budget_key: str, budget: dict, quick: bool, device: str = "cpu") -> dict:
    """What a kept run must have been made with to be reused: the budget, for the APG trainer
    its fine-tune (a change of recipe reruns it), and the device where it is not the CPU."""
    signature = {"quick": quick, budget_key: budget[budget_key]}
    if device != "cpu" and budget_key in _DP_BUDGETS:
        signature["device"] = device
    if budget_key in _SCORED_ON_DP_STARTS:
        signature["evaluation"] = f"the DP's {PENDULUM_EVALUATION_EPISODES} evaluation starts"
    if budget_key == "pendulum_apg":
        from dprl.recipes import APG_FINE_TUNE

        signature["fine_tune"] = {**APG_FINE_TUNE, "updates": budget["pendulum_apg_fine_tune"]}
    return signature


# Which invocation made a run: wall times compare fairly only between runs of one invocation on
# one machine (issue 15's "less wall time than SAC, on the same machine in the same run").
SESSION = uuid.uuid4().hex[:12]


def provenance() -> dict:
    """Where and when a run is made: this process's session id, the host, torch's threads, the date
    (when it finished) and the 1-minute load average then (other work on the machine slows a run)."""
    import torch

    return {"session": SESSION, "host": platform.node(), "torch_threads": torch.get_num_threads(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "load": round(os.getloadavg()[0], 2)}


def same_session(*groups) -> bool:
    """Whether every run of the groups (lists of `provenance` records, None where unrecorded) came
    from one invocation."""
    records = [r for group in groups for r in group]
    return all(groups) and all(r is not None for r in records) and len({r["session"] for r in records}) == 1


# What each kept run must say it is (its trainer, and the config fields that tell apart methods of
# one trainer), so that a run of another method or seed under the right file name is not reused.
_IDENTITIES = {
    ("cartpole", "dp"): {"trainer": "cartpole"}, ("pendulum", "dp"): {"trainer": "pendulum"},
    ("pendulum", "dp_apg"): {"trainer": "pendulum_apg"},
    ("trebuchet", "dp"): {"trainer": "trebuchet", "optimizer": "lm"}, ("trebuchet", "dp_adam"): {"trainer": "trebuchet", "optimizer": "adam"},
}


def identity(env: str, key: str, seed: int) -> dict:
    """The trainer and config fields a run of `env`'s method `key` (a file key) at `seed` records."""
    from dprl.rl.baselines import ENV_IDS

    return {**_IDENTITIES.get((env, key), {"trainer": key, "env": ENV_IDS[env]}), "seed": seed}


def _mismatch(result, expected: dict) -> str | None:
    """How a kept run differs from the run it is kept as, in words; None if it does not."""
    for field, want in expected.items():
        have = result.trainer if field == "trainer" else result.config.get(field, want if field == "seed" else None)
        if have != want:
            return f"its {field} is {have!r}, not {want!r}"
    return None


def _cached_or_run(path: Path, signature: dict, train, seed, expected: dict | None = None):
    from dprl.results import TrainingResult

    if path.exists():
        try:
            cached = TrainingResult.load(path)
            if not cached.scores:
                raise ValueError(f"{path} is not a valid dprl training result: it holds no evaluation")
            if expected is not None and (why := _mismatch(cached, expected)):
                raise ValueError(f"{path} is a kept run of another method or seed: {why}")
            if cached.finished and cached.extra.get("dp_vs_rl") == signature:
                return cached
        except ValueError as error:
            # Keep the bad file for a look, out of the way, and compute the run again.
            aside = path.with_name(path.name + ".bad")
            os.replace(path, aside)
            warnings.warn(f"{error}; moved it to {aside.name} and running it again", RuntimeWarning, stacklevel=2)
    # The trainers return on Ctrl-C (and at a diverged update): the comparison stops there, finished runs kept.
    result = train(seed).unless_interrupted()
    result.extra["dp_vs_rl"] = signature
    result.extra["made"] = provenance()
    result.save(path)
    return result


def method_runs(env: str, label: str, quick: bool = False, progress: bool = False, runs="comparisons/results/dp_vs_rl_runs",
                device: str = "cpu") -> list:
    """One method's runs over the comparison's seeds, reusing (or adding) the files `run` keeps."""
    budget = BUDGETS[quick]
    key, budget_key, train = methods(budget, progress, device)[env][label]
    signature = _signature(budget_key, budget, quick, device)
    return [_cached_or_run(Path(runs) / f"{env}_{key}_seed{s}.json", signature, train, s, identity(env, key, s)) for s in range(budget["seeds"])]


def run(out, quick: bool = False, progress: bool = False, runs=None, envs=None, methods_only=None, device: str = "cpu") -> dict:
    """Train every method over the seeds (or reuse finished runs in `runs`), draw the figures into
    `out` and write `out/dp_vs_rl.json`; returns the summary. `envs` and `methods_only` (file keys
    such as "dp" or "sac") restrict it, e.g. to run parts in parallel processes; `device` is where
    the DP trainers run."""
    from dprl import plots
    from dprl.goals import best_score
    from dprl.rl.baselines import SCORE_LABELS

    out = Path(out)
    runs = Path(runs) if runs is not None else out / "dp_vs_rl_runs"
    budget = BUDGETS[quick]
    table = methods(budget, progress, device)
    envs = list(envs or table)
    unknown = set(envs) - set(table)
    if unknown:
        raise ValueError(f"envs must be among {', '.join(table)}; got {', '.join(sorted(unknown))}")
    groups = {}
    for env in envs:
        groups[env] = {}
        for label, (key, budget_key, train) in table[env].items():
            if methods_only and key not in methods_only:
                continue
            signature = _signature(budget_key, budget, quick, device)
            groups[env][label] = [_cached_or_run(runs / f"{env}_{key}_seed{s}.json", signature, train, s, identity(env, key, s))
                                  for s in range(budget["seeds"])]
    summary = {}
    for env, results_by_method in groups.items():
        for x in ("env_steps", "wall_time"):
            plots.learning_curves(results_by_method, out / f"dp_vs_rl_{env}_{x}.png", x=x, threshold=THRESHOLDS[env][0],
                                  title=f"{env}: differentiable programming vs RL", ylabel=SCORE_LABELS[env], ylog=env == "trebuchet")
        summary[env] = {}
        for method, results in results_by_method.items():
            rows = {}
            for threshold in THRESHOLDS[env]:
                reached = [first_reaching(r, threshold, env) for r in results]
                rows[str(threshold)] = {"env_steps": [s for s, _ in reached], "seconds": [t for _, t in reached]}
            summary[env][method] = {"reached": rows, "best": [best_score(env, r.scores) for r in results], "final": [r.scores[-1] for r in results],
                                    "total_env_steps": [r.env_steps[-1] for r in results], "seconds": [r.wall_time[-1] for r in results],
                                    "made": [r.extra.get("made") for r in results]}
    (out / "dp_vs_rl.json").write_text(json.dumps({"quick": quick, "budget": budget, "summary": summary}, indent=1))
    return summary


def describe(summary: dict) -> list[str]:
    """One line per environment, method and threshold."""
    lines = []
    for env, methods_ in summary.items():
        for method, s in methods_.items():
            for threshold, r in s["reached"].items():
                steps = [f"{v:,}" if v is not None else "not reached" for v in r["env_steps"]]
                seconds = [f"{v:.0f} s" if v is not None else "—" for v in r["seconds"]]
                lines.append(f"{env} {method}: to {float(threshold):g}: steps {steps}, time {seconds}; best {np.round(s['best'], 2).tolist()}")
    return lines
