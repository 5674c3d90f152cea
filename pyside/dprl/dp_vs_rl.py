"""Differentiable programming against today's RL baselines, on the same environments and axes.

For CartPole-v1, Pendulum-v1 and the trebuchet aimer: the DP trainers and Stable-Baselines3
agents (RL Baselines3 Zoo settings), over seeds; score against environment steps and against wall
time; each run's final score, and the first crossing of its evaluation curve at the thresholds
(CartPole 475; Pendulum −150 and −140; trebuchet a mean relative miss of 1 %, where lower is
better), with bootstrap intervals over seeds (`dprl.bootstrap`).

Every run is saved as it finishes (`runs/<env>_<method>_seed<k>.json`) with its provenance and
reused by a later call with the same budget and the same code (`dprl.provenance`), so an
interrupted comparison resumes where it stopped. The runs are planned as picklable `RunSpec`s,
longest first, and made here, on joblib's process pool, or as Ray tasks (`execute_plan`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np

from dprl import bootstrap
from dprl import provenance as provenance_
from dprl.goals import THRESHOLDS, reaches
from dprl.provenance import SESSION  # noqa: F401  (kept runs name the invocation that made them)

BUDGETS = {  # seeds; DP episodes (CartPole), rounds (Pendulum) or seconds (trebuchet); RL env steps
    True: {"seeds": 1, "cartpole_dp": 20, "pendulum_dp": 10, "pendulum_apg": 20, "pendulum_apg_fine_tune": 10, "trebuchet_dp_s": 5, "dqn": 5_000, "ppo_cartpole": 4_096,
           "sac": 1_500, "td3": 3_000, "ppo_pendulum": 8_192, "sac_trebuchet": 1_280},
    False: {"seeds": 5, "cartpole_dp": 50, "pendulum_dp": 30, "pendulum_apg": 200, "pendulum_apg_fine_tune": 200, "trebuchet_dp_s": 60, "dqn": 50_000, "ppo_cartpole": 100_000,
            "sac": 20_000, "td3": 20_000, "ppo_pendulum": 100_000, "sac_trebuchet": 50_000},
}
# Ten seeds where a method's runs take seconds (issue 26): more seeds narrow its intervals at no real cost.
MORE_SEEDS = {False: {"cartpole_dp": 10, "pendulum_dp": 10}, True: {}}


def seeds_of(budget_key: str, quick: bool = False) -> list[int]:
    """The seeds a method (its budget key) is run over in the comparison."""
    return list(range(MORE_SEEDS[quick].get(budget_key, BUDGETS[quick]["seeds"])))


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


def provenance(jobs: int = 1, threads: int | None = None) -> dict:
    """Where, when and by what code a run is made (`dprl.provenance.record`): the session id, host,
    torch threads, date and load average, and the dprl version, commit, code hash and library
    versions that tell a kept run made by other code."""
    return provenance_.record(jobs=jobs, threads=threads)


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



def _kept(path: Path, signature: dict, expected: dict | None = None, reuse_stale: bool = False):
    """The kept run at `path` when it can stand for this run, else None (to be run). A kept run made
    by other code is None too, unless `reuse_stale`: then it is returned marked with
    `extra["stale"]` (the reason, for the report). An unreadable run or one of another method is
    moved aside (`.bad`) with a warning; one from a newer dprl is refused (FutureSchemaError)."""
    from dprl.results import TrainingResult

    if not path.exists():
        return None
    try:
        cached = TrainingResult.load(path)
        provenance_.check_schema(cached.extra.get("made"), path)
        if not cached.scores:
            raise ValueError(f"{path} is not a valid dprl training result: it holds no evaluation")
        if expected is not None and (why := _mismatch(cached, expected)):
            raise ValueError(f"{path} is a kept run of another method or seed: {why}")
    except provenance_.FutureSchemaError:
        raise
    except ValueError as error:
        # Keep the bad file for a look, out of the way, and compute the run again.
        aside = path.with_name(path.name + ".bad")
        os.replace(path, aside)
        warnings.warn(f"{error}; moved it to {aside.name} and running it again", RuntimeWarning, stacklevel=3)
        return None
    if not cached.finished or cached.extra.get("dp_vs_rl") != signature:
        return None
    why = provenance_.stale(cached.extra.get("made"))
    if why is None:
        return cached
    if reuse_stale:
        cached.extra["stale"] = why
        return cached
    return None


def _cached_or_run(path: Path, signature: dict, train, seed, expected: dict | None = None, reuse_stale: bool = False):
    cached = _kept(path, signature, expected, reuse_stale)
    if cached is not None:
        return cached
    # The trainers return on Ctrl-C (and at a diverged update): the comparison stops there, finished runs kept.
    result = train(seed).unless_interrupted()
    result.extra["dp_vs_rl"] = signature
    result.extra["made"] = provenance()
    result.save(path)
    return result


def method_runs(env: str, label: str, quick: bool = False, progress: bool = False, runs="comparisons/results/dp_vs_rl_runs",
                device: str = "cpu", reuse_stale: bool = False) -> list:
    """One method's runs over the comparison's seeds, reusing (or adding) the files `run` keeps."""
    budget = BUDGETS[quick]
    key, budget_key, train = methods(budget, progress, device)[env][label]
    signature = _signature(budget_key, budget, quick, device)
    return [_cached_or_run(Path(runs) / f"{env}_{key}_seed{s}.json", signature, train, s, identity(env, key, s), reuse_stale)
            for s in seeds_of(budget_key, quick)]


# ----------------------------------------------------------------------------------------------
# The plan: one picklable spec per run, executed here, by joblib's process pool, or on Ray
# ----------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One run of the comparison: all a worker needs to make it (the trainer is looked up again
    there, so the spec pickles), and the seconds it is expected to take (for longest first)."""
    env: str
    label: str
    key: str
    budget_key: str
    seed: int
    quick: bool = False
    device: str = "cpu"
    expected_s: float = 60.0

    @property
    def name(self) -> str:
        return f"{self.env}_{self.key}_seed{self.seed}"

    @property
    def signature(self) -> dict:
        return _signature(self.budget_key, BUDGETS[self.quick], self.quick, self.device)

    def command(self, runs) -> str:
        """The command that makes this run alone (for a Slurm array or GNU parallel)."""
        return (f"python comparisons/dp_vs_rl.py{' --quick' if self.quick else ''} --env {self.env} --method {self.key} --seed {self.seed} "
                f"--runs {runs}" + (f" --device {self.device}" if self.device != "cpu" else ""))


# Runs whose length is set by a time budget: they must not get less CPU than they had alone.
_TIME_BUDGETED = {"trebuchet_dp_s"}


def plan(quick: bool = False, envs=None, methods_only=None, seeds=None, device: str = "cpu", runs=None) -> list[RunSpec]:
    """Every run of the comparison (or of the environments, method keys and seeds given; by default
    each method's `seeds_of`), longest
    first by the durations of the runs kept in `runs` (the median of the same method's kept runs
    where this seed has none; a minute where none is kept)."""
    budget = BUDGETS[quick]
    table = methods(budget, False, device)
    envs = list(envs or table)
    unknown = set(envs) - set(table)
    if unknown:
        raise ValueError(f"envs must be among {', '.join(table)}; got {', '.join(sorted(unknown))}")
    known_keys = {key for env in table.values() for key, _, _ in env.values()}
    if methods_only and (bad := set(methods_only) - known_keys):
        raise ValueError(f"methods must be among {', '.join(sorted(known_keys))}; got {', '.join(sorted(bad))}")
    if seeds is not None and (not list(seeds) or any(not isinstance(s, int) or isinstance(s, bool) or s < 0 for s in seeds)):
        raise ValueError(f"seeds must be whole numbers ≥ 0; got {list(seeds)}")
    specs = [RunSpec(env, label, key, budget_key, seed, quick, device)
             for env in envs for label, (key, budget_key, _) in table[env].items() if not methods_only or key in methods_only
             for seed in (seeds_of(budget_key, quick) if seeds is None else seeds)]
    durations = _kept_durations(Path(runs)) if runs is not None else {}
    timed = []
    for spec in specs:
        same_method = [d for name, d in durations.items() if name.startswith(f"{spec.env}_{spec.key}_seed")]
        expected = durations.get(spec.name, float(np.median(same_method)) if same_method else 60.0)
        timed.append(dataclasses.replace(spec, expected_s=round(expected, 1)))
    return sorted(timed, key=lambda s: -s.expected_s)


def _kept_durations(runs: Path) -> dict:
    """{run name: seconds} of the runs kept in `runs` (the last evaluation's wall time)."""
    durations = {}
    for path in sorted(runs.glob("*_seed*.json")) if runs.is_dir() else []:
        try:
            wall_time = json.loads(path.read_text()).get("wall_time") or []
            if wall_time and isinstance(wall_time[-1], (int, float)):
                durations[path.stem] = float(wall_time[-1])
        except (OSError, ValueError, AttributeError):
            continue  # an unreadable run is reported when the comparison reads it, not here
    return durations


def critical_path(durations, workers: int) -> dict:
    """Expected wall time of runs of these `durations` on `workers` workers taking them longest
    first (greedy: each free worker takes the next), with the bounds it cannot beat: the total over
    the workers and the longest run."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1; got {workers}")
    loads = [0.0] * workers
    for d in sorted(durations, reverse=True):
        i = loads.index(min(loads))
        loads[i] += d
    total = float(sum(durations))
    return {"workers": workers, "runs": len(durations), "total_s": total, "longest_s": float(max(durations, default=0.0)),
            "expected_s": max(loads), "bound_s": max(total / workers, float(max(durations, default=0.0)))}


def fan_out_timing(wall_s: float, durations, jobs: int | None, ray: str | None = None) -> dict:
    """How close one invocation's making of runs came to the bound it cannot beat: its wall time
    against max(total ÷ workers, longest run) of the runs it made (their own training times).
    Under Ray the workers are not known here, so no bound is given."""
    record = {"runs": len(durations), "jobs": jobs, "ray": ray, "wall_s": float(wall_s), "total_s": float(sum(durations)),
              "longest_s": float(max(durations, default=0.0)), "bound_s": None, "ratio": None,
              "date": provenance_.record(jobs=jobs or 1)["date"]}
    if jobs is not None and durations:
        record["bound_s"] = max(record["total_s"] / jobs, record["longest_s"])
        record["ratio"] = record["wall_s"] / record["bound_s"] if record["bound_s"] > 0 else None
    return record


class RunsFailed(RuntimeError):
    """Some runs crashed in their workers; the message names each (environment, method, seed);
    the other runs finished and are kept."""


def execute(spec: RunSpec, threads: int = 1, jobs: int = 1, progress: bool = False) -> dict:
    """Make one run, in whichever process this is called: {"name", "result": the TrainingResult as
    JSON} or {"name", "error": what went wrong}. The result travels back to the caller (no shared
    file system assumed); torch is pinned to `threads` threads for the run."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        train = methods(BUDGETS[spec.quick], progress, spec.device)[spec.env][spec.label][2]
        result = train(spec.seed).unless_interrupted()
        result.extra["dp_vs_rl"] = spec.signature
        result.extra["made"] = provenance_.record(jobs=jobs, threads=threads)
        return {"name": spec.name, "result": result.to_json()}
    except KeyboardInterrupt:
        if jobs == 1:
            raise  # in the driver's own process, Ctrl-C stops the comparison, finished runs kept
        return {"name": spec.name, "error": "interrupted"}
    except Exception as error:  # noqa: BLE001  a crashed run is reported by name; the others go on
        message = " ".join(str(error).split()) or type(error).__name__
        return {"name": spec.name, "error": f"{type(error).__name__}: {message}"[:500]}
    finally:
        torch.set_num_threads(before)


def _keep(outcome: dict, spec: RunSpec, runs: Path, failures: list):
    """Save a worker's result in `runs` (atomically, checked on the way in), or note its failure."""
    from dprl.results import TrainingResult

    if "error" in outcome:
        failures.append(f"{spec.env} {spec.key} seed {spec.seed}: {outcome['error']}")
        return None
    path = runs / f"{spec.name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(outcome["result"], indent=1))
    os.replace(tmp, path)
    return TrainingResult.load(path)


def connect_ray(address: str):
    """Ray, connected to the cluster at `address` ("auto": the one running here), or ValueError in
    one line within seconds when it does not answer or Ray is not installed."""
    try:
        import ray
    except ImportError:
        raise ValueError("--ray needs Ray: pip install -e \".[ray]\"") from None
    if ray.is_initialized():
        return ray  # a Ray this process started (the tests' local instance)
    if address != "auto":
        import socket

        hostport = address.split("://", 1)[-1]
        host, _, port = hostport.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"--ray must be auto or HOST:PORT of a Ray head node (e.g. 10.0.0.5:6379); got {address!r}")
        try:
            socket.create_connection((host, int(port)), timeout=5).close()
        except OSError as error:
            raise ValueError(f"--ray {address}: no Ray cluster answers there ({error})") from None
    try:
        ray.init(address=address, log_to_driver=False, logging_level="ERROR")
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise ValueError(f"--ray {address}: could not connect to Ray ({' '.join(str(error).split())[:200]})") from None
    return ray


def execute_plan(specs, runs, *, jobs: int = 1, ray: str | None = None, threads: int = 1, progress: bool = False) -> dict:
    """Make the runs of `specs` (longest first) and save each in `runs` as it arrives: one after
    another here (jobs 1), on `jobs` processes of joblib's pool, or as Ray tasks of `threads` CPUs
    each on the cluster at `ray`. Returns {name: TrainingResult}; RunsFailed after all others have
    finished and been kept when any crashed."""
    runs = Path(runs)
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ValueError(f"jobs must be a whole number ≥ 1; got {jobs!r}")
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise ValueError(f"threads must be a whole number ≥ 1; got {threads!r}")
    specs = sorted(specs, key=lambda s: -s.expected_s)
    by_name = {s.name: s for s in specs}
    cpus = os.cpu_count() or 1
    if ray is None and jobs > 1 and jobs * threads > cpus and any(s.budget_key in _TIME_BUDGETED for s in specs):
        raise ValueError(f"jobs × threads ({jobs} × {threads}) exceeds the {cpus} CPUs here: the time-budgeted runs "
                         f"({', '.join(sorted({s.env + ' ' + s.key for s in specs if s.budget_key in _TIME_BUDGETED}))}) "
                         "would get less CPU than alone; lower --jobs")
    done, failures = {}, []
    if ray is not None:
        engine = connect_ray(ray)
        remote = engine.remote(num_cpus=threads)(execute)  # Ray reserves the CPUs: a time-budgeted run gets what it had alone
        pending = {remote.remote(s, threads, jobs): s for s in specs}
        while pending:
            ready, _ = engine.wait(list(pending), num_returns=1)
            spec = pending.pop(ready[0])
            try:
                outcome = engine.get(ready[0])
            except Exception as error:  # noqa: BLE001  the worker itself died (out of memory, a lost node)
                outcome = {"name": spec.name, "error": f"{type(error).__name__}: {' '.join(str(error).split())[:300]}"}
            if (result := _keep(outcome, spec, runs, failures)) is not None:
                done[spec.name] = result
    elif jobs > 1:
        try:
            from joblib import Parallel, delayed
        except ImportError:
            raise ValueError("--jobs above 1 needs joblib: pip install -e \".[rl]\"") from None

        outcomes = Parallel(n_jobs=jobs, backend="loky", return_as="generator_unordered")(delayed(execute)(s, threads, jobs) for s in specs)
        for outcome in outcomes:
            spec = by_name[outcome["name"]]
            if (result := _keep(outcome, spec, runs, failures)) is not None:
                done[spec.name] = result
    else:
        for spec in specs:
            if (result := _keep(execute(spec, threads, 1, progress), spec, runs, failures)) is not None:
                done[spec.name] = result
    if failures:
        raise RunsFailed(f"{len(failures)} of {len(specs)} run(s) failed ({'; '.join(failures)}); the {len(done)} others are kept in {runs}")
    return done


# ----------------------------------------------------------------------------------------------
# The comparison: plan, run what is missing, summarise with intervals over seeds, draw
# ----------------------------------------------------------------------------------------------
def _tag(envs, methods_only, seeds, complete: bool) -> str:
    """The stem of a comparison's outputs: "dp_vs_rl" for the full comparison, else one naming the
    part, so a partial run never overwrites the full comparison's figures."""
    if complete:
        return "dp_vs_rl"
    parts = ["-".join(envs) if envs else "all", "-".join(methods_only) if methods_only else "all"]
    if seeds is not None:
        parts.append("seed" + "-".join(str(s) for s in seeds))
    return "dp_vs_rl_partial_" + "_".join(parts)


def run(out, quick: bool = False, progress: bool = False, runs=None, envs=None, methods_only=None, device: str = "cpu", *, seeds=None,
        jobs: int = 1, ray: str | None = None, threads: int = 1, reuse_stale: bool = False, collect: bool = False) -> dict:
    """Train every method over the seeds (or reuse finished runs in `runs`), draw the figures into
    `out` and write `out/dp_vs_rl.json`; returns the summary. `envs`, `methods_only` (file keys
    such as "dp" or "sac") and `seeds` restrict it: a partial comparison writes its own files
    (`dp_vs_rl_partial_…`), never the full one's. `jobs`/`ray`/`threads`: see `execute_plan`;
    `reuse_stale`: reuse kept runs made by other code (marked in the summary); `collect`: train
    nothing, summarise the runs there are."""
    out = Path(out)
    runs = Path(runs) if runs is not None else out / "dp_vs_rl_runs"
    budget = BUDGETS[quick]
    specs = plan(quick, envs, methods_only, seeds, device, runs)
    kept, missing = {}, []
    for spec in specs:
        cached = _kept(runs / f"{spec.name}.json", spec.signature, identity(spec.env, spec.key, spec.seed), reuse_stale)
        if cached is not None:
            kept[spec.name] = cached
        else:
            missing.append(spec)
    fan_out = None
    if missing and not collect:
        start = time.perf_counter()
        made = execute_plan(missing, runs, jobs=jobs, ray=ray, threads=threads, progress=progress)
        fan_out = fan_out_timing(time.perf_counter() - start, [r.wall_time[-1] for r in made.values()], jobs if ray is None else None, ray)
        kept.update(made)
        missing = []
    complete = not envs and not methods_only and seeds is None and not missing
    tag = _tag(envs, methods_only, seeds, complete) if not (collect and missing) else "dp_vs_rl_partial_collected"
    groups = {}
    for spec in plan(quick, envs, methods_only, seeds, device):  # the table's order, not longest first
        if spec.name in kept:
            groups.setdefault(spec.env, {}).setdefault(spec.label, []).append(kept[spec.name])
    summary = summarize(groups)
    draw(groups, out, tag)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{tag}.json"
    if fan_out is None:  # nothing made here: the last invocation that made runs keeps its measured time
        try:
            fan_out = json.loads(target.read_text()).get("fan_out")
        except (OSError, ValueError, AttributeError):
            fan_out = None
    payload = {"quick": quick, "budget": budget, "complete": complete, "missing": [s.name for s in missing],
               "threads": threads, "jobs": jobs, "ray": ray, "reuse_stale": reuse_stale, "made": provenance_.record(jobs=jobs, threads=threads),
               "fan_out": fan_out, "summary": summary}
    target.write_text(json.dumps(payload, indent=1))
    return summary


def draw(groups: dict, out: Path, tag: str = "dp_vs_rl") -> None:
    """The learning curves of each environment, against steps and against wall time."""
    from dprl import plots
    from dprl.rl.baselines import SCORE_LABELS

    for env, results_by_method in groups.items():
        for x in ("env_steps", "wall_time"):
            plots.learning_curves(results_by_method, out / f"{tag}_{env}_{x}.png", x=x, threshold=THRESHOLDS[env][0],
                                  title=f"{env}: differentiable programming vs RL", ylabel=SCORE_LABELS[env], ylog=env == "trebuchet")


def _lower_is_better(env: str) -> bool:
    return reaches(env, 0.0, 1.0)  # 0 "reaches" a threshold of 1 only where lower is better (a miss)


def summarize(groups: dict) -> dict:
    """Per environment and method: each seed's final score (the final policy on the test episodes,
    never a best over them), its first crossing of the evaluation curve at each threshold (steps,
    seconds; None when never reached), with bootstrap intervals over seeds: the median and IQM of
    the final scores, the median steps and seconds to each threshold (a seed that never reaches it
    counts as infinite), and each DP method's probability of improving on each RL method."""
    summary = {}
    for env, results_by_method in groups.items():
        summary[env] = {}
        for method, results in results_by_method.items():
            final = [float(r.scores[-1]) for r in results]
            rows = {}
            for threshold in THRESHOLDS[env]:
                reached = [first_reaching(r, threshold, env) for r in results]
                steps, seconds = [s for s, _ in reached], [t for _, t in reached]
                rows[str(threshold)] = {"env_steps": steps, "seconds": seconds,
                                        "median_env_steps": _jsonable(bootstrap.interval([s if s is not None else np.inf for s in steps], "median")),
                                        "median_seconds": _jsonable(bootstrap.interval([t if t is not None else np.inf for t in seconds], "median"))}
            summary[env][method] = {
                "seeds": [r.config.get("seed") for r in results], "n": len(results), "final": final,
                "final_median": bootstrap.interval(final, "median"), "final_iqm": bootstrap.interval(final, "iqm"),
                "reached": rows, "total_env_steps": [r.env_steps[-1] for r in results], "seconds": [r.wall_time[-1] for r in results],
                "made": [r.extra.get("made") for r in results], "stale": [r.extra.get("stale") for r in results]}
        sign = -1.0 if _lower_is_better(env) else 1.0
        for method, s in summary[env].items():
            if method.startswith("DP"):
                s["improvement"] = {other: bootstrap.improvement(sign * np.asarray(s["final"]), sign * np.asarray(o["final"]))
                                    for other, o in summary[env].items() if not other.startswith("DP")}
    return summary


def _jsonable(estimate: dict) -> dict:
    """An interval with infinite bounds (not reached) as None: JSON has no infinity."""
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in estimate.items()}


def describe(summary: dict) -> list[str]:
    """One line per environment, method and threshold."""
    lines = []
    for env, methods_ in summary.items():
        for method, s in methods_.items():
            f = s["final_iqm"]
            for threshold, r in s["reached"].items():
                steps = [f"{v:,}" if v is not None else "not reached" for v in r["env_steps"]]
                seconds = [f"{v:.0f} s" if v is not None else "—" for v in r["seconds"]]
                lines.append(f"{env} {method} ({s['n']} seeds): first crossing of the evaluation curve at {float(threshold):g}: steps {steps}, "
                             f"time {seconds}; final score IQM {f['point']:.2f} [95% CI {f['low']:.2f}, {f['high']:.2f}]")
    return lines

