"""Seeded runs: each trainer from Flux 0.7's initialisation (seeded) on seeded data, as `dprl train`,
the benchmarks and the comparison run it. The trainers themselves (`dprl.train.*`) take their
weights and data as arguments and are twins of the Julia ones; what a seeded run adds (which
weights, which shots or start states, which phases) is PyTorch's alone and lives here.

Data streams, one NumPy generator each, so that a change of one leaves the others' draws alone:
training data from `default_rng(seed)`, evaluation starts from `default_rng([seed, 1])`
(`dprl.train.pendulum.evaluation_starts`), the APG fine-tune's starts from `default_rng([seed, 2])`;
the aimer's evaluation shots are the task's fixed set (`dprl.envs.trebuchet.evaluation_shots`).

Where the aimer starts decides what it can learn. Distance is smooth in the counterweight only
up to about 520 lb (from about 560 lb the sling wraps and throws backwards, and between 600 and
1,500 lb distance jumps from one throw to the next), and on that light branch 5.9 % of the
evaluation shots (far targets in headwinds) are out of reach: the best any aimer confined to it
can do is a 0.61 % mean and 2.39 % 95th-percentile relative miss (the reach table of
`python comparisons/bench_aimer.py`). With a counterweight of about 3,000 lb the distance is smooth and monotone in the
release angle from the jump near 36° up to 90°, nearly independent of the weight, and reaches all
but 0.7 % of the shots (bound: 0.09 % mean, 0 % p95). So `train_seeded_aimer` starts Levenberg–Marquardt
there (`heavy_start`: 70°, 3,200 lb): the seeded Glorot weights with the last layer's biases moved.
The blog's aimer, from Flux's plain initialisation, worked on the light branch.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from tqdm import tqdm

from dprl.config import (
    PENDULUM_PRESETS,
    AimerConfig,
    LevenbergMarquardtConfig,
    with_settings,
)
from dprl.goals import CARTPOLE_VERSIONS
from dprl.results import TrainingResult, interruptible

# The trainers load torch, so each recipe imports them: the CLI reads this module's constants
# for its help text without loading torch.

# ----------------------------------------------------------------------------------------------
# The trebuchet aimer
# ----------------------------------------------------------------------------------------------
# Julia reports to Python this often (updates), for the progress bar and Ctrl-C; it evaluates less often.
JULIA_REPORT_EVERY = 256


def train_aimer_julia(weights, winds, targets, config: AimerConfig | None = None, *, evaluation=None, stop_at: dict | None = None,
                      progress: bool = True, on_evaluation=None, **settings) -> TrainingResult:
    """`train_aimer` run by its Julia twin (`DPRL.Train.train_aimer`, one Julia thread), with the
    same weights, shots, config, evaluation and result as the PyTorch path: Julia trains and calls
    back every few hundred updates; the evaluation runs here, in PyTorch, on the weights Julia
    hands back. Needs Julia (`dprl.julia`); Ctrl-C returns what finished."""
    from dprl import julia
    from dprl.train import policies
    from dprl.train.trebuchet import Evaluations, shot_tensors

    config = with_settings(config or AimerConfig(), settings)
    winds, targets = (t.numpy() for t in shot_tensors(winds, targets))
    updates = -(-len(winds) // config.batch_size)
    if config.max_updates is not None:
        updates = min(updates, config.max_updates)
    result = TrainingResult(trainer="trebuchet", config={"optimizer": "adam", "backend": "julia", **dataclasses.asdict(config),
                                                         "samples": len(winds), "stop_at": stop_at}, extra={"metrics": [], "updates": []})
    model = policies.load_weights(policies.aimer_policy(), weights)
    # Two shots first, so that Julia compiles the trainer before the clock starts (as PyTorch needs no compile).
    julia.train_aimer(weights, winds[:2], targets[:2], config, batch_size=1, max_updates=None, time_budget=None, evaluate_every=1,
                      on_evaluation=lambda update, layers: False)
    bar = tqdm(total=updates, desc="trebuchet aimer (adam, Julia)", unit="update", disable=not progress)
    evaluations = Evaluations(result, evaluation, config.scaled, stop_at, bar, on_evaluation)
    state = {"evaluated": None, "interrupted": False}

    def report(update, layers) -> bool:
        try:  # Ctrl-C reaches Python only here, between Julia's updates: stop Julia cleanly
            bar.update(update - bar.n)
            policies.load_weights(model, layers)
            result.weights = layers
            last = state["evaluated"]
            out_of_time = evaluations.out_of_time(config.time_budget)
            due = last is None or update - last >= config.evaluate_every or update == updates or out_of_time
            if evaluation is None or not due:
                return out_of_time
            state["evaluated"] = update
            return evaluations.record(update, model, update * config.batch_size) or out_of_time
        except KeyboardInterrupt:
            state["interrupted"] = True
            return True

    with interruptible(result, bar):
        reporting = with_settings(config, {"evaluate_every": min(JULIA_REPORT_EVERY, config.evaluate_every)})
        trained = julia.train_aimer(weights, winds, targets, reporting, on_evaluation=report)
        result.losses = trained["losses"].tolist()
        result.weights = trained["weights"]
        done = len(result.losses)
        if evaluation is not None and state["evaluated"] != done and not state["interrupted"]:
            policies.load_weights(model, result.weights)
            evaluations.record(done, model, done * config.batch_size)
        if state["interrupted"]:
            raise KeyboardInterrupt  # caught by `interruptible`: the result stays unfinished
    return result


def heavy_start(weights, scaled: bool = True, angle_deg: float = 70.0, weight_lb: float = 3200.0):
    """`weights` with the last layer's biases set so the aimer starts near (angle_deg, weight_lb):
    in the heavy-counterweight regime, where distance is smooth in the angle (module docstring)."""
    *hidden, (last_weight, last_bias) = [(np.array(w, dtype=np.float64), np.array(b, dtype=np.float64)) for w, b in weights]
    last_bias[0] = np.log(angle_deg / (90 - angle_deg))  # σ⁻¹(angle/90)
    last_bias[1] = (weight_lb - 200) / 100 if scaled else weight_lb - 200
    return [*hidden, (last_weight, last_bias)]


AIMER_BACKENDS = ("torch", "julia")
AIMER_OPTIMIZERS = ("lm", "adam")


def train_seeded_aimer(seed: int, *, optimizer: str = "lm", samples: int | None = None, start: str | None = None,
                       backend: str = "torch", **kwargs) -> TrainingResult:
    """An aimer from Flux 0.7's initialisation (seeded) on seeded shots, evaluated on the fixed
    1,000 evaluation shots. Defaults: lm (`dprl.train.trebuchet_lm`) on 2,048 shots with scaled
    inputs from `heavy_start`; adam (`train_aimer`) on 100,000 shots, batch 1, learning rate 1e-3,
    from the plain initialisation (the 2019 setting). `start` is "heavy" or "plain" to choose.
    `backend="julia"` trains adam in Julia (`train_aimer_julia`) from the same weights and shots.
    Other keywords go to the trainer (its config's fields, stop_at, progress, on_evaluation)."""
    from dprl.envs import trebuchet
    from dprl.train import policies
    from dprl.train.trebuchet import train_aimer
    from dprl.train.trebuchet_lm import train_aimer_lm

    if optimizer not in AIMER_OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {AIMER_OPTIMIZERS}; got {optimizer!r}")
    if backend not in AIMER_BACKENDS:
        raise ValueError(f"backend must be one of {AIMER_BACKENDS}; got {backend!r}")
    if backend == "julia" and optimizer != "adam":
        raise ValueError(f"the Julia backend trains with adam only (Levenberg–Marquardt is PyTorch's); got optimizer={optimizer!r}")
    if backend == "julia" and kwargs.get("device") not in (None, "cpu"):
        raise ValueError(f"the Julia backend trains on the CPU only; got device={kwargs['device']!r}")
    if backend == "julia":
        kwargs.pop("device", None)
    start = start or ("heavy" if optimizer == "lm" else "plain")
    if start not in ("heavy", "plain"):
        raise ValueError(f"start must be 'heavy' or 'plain'; got {start!r}")
    samples = samples or (2048 if optimizer == "lm" else 100_000)
    winds, targets = trebuchet.shots(np.random.default_rng(seed), samples)
    weights = policies.glorot_weights(policies.aimer_policy, seed)
    if start == "heavy":
        defaults = LevenbergMarquardtConfig if optimizer == "lm" else AimerConfig
        weights = heavy_start(weights, scaled=kwargs.get("scaled", defaults.scaled))
    if optimizer == "lm":
        train = train_aimer_lm
    else:
        train = train_aimer_julia if backend == "julia" else train_aimer
    result = train(weights, winds, targets, evaluation=trebuchet.evaluation_shots(), **kwargs)
    result.config.update(seed=seed, start=start, backend=backend)
    return result


# ----------------------------------------------------------------------------------------------
# CartPole
# ----------------------------------------------------------------------------------------------
def train_seeded_cartpole(seed: int, episodes: int, *, version: str = "v1", evaluation_episodes: int = 100, backend: str = "torch",
                          **kwargs) -> TrainingResult:
    """`train_cartpole` from Flux 0.7's initialisation (as the 2019 code), seeded, and seeded start states
    (training starts from one NumPy stream, evaluation starts from another); `version` sets the
    time limit and solved score as Gymnasium registers them (`dprl.goals.CARTPOLE_VERSIONS`).
    `backend="julia"` trains with the Julia twin from the same weights and starts
    (`dprl.train.julia_trainers`)."""
    from dprl.train import cartpole, julia_trainers, policies

    if version not in CARTPOLE_VERSIONS:
        raise ValueError(f"version must be one of {tuple(CARTPOLE_VERSIONS)}; got {version!r}")
    if episodes < 1 or evaluation_episodes < 0:
        raise ValueError(f"episodes must be at least 1 and evaluation_episodes at least 0; got {episodes}, {evaluation_episodes}")
    train = julia_trainers.train_cartpole_julia if julia_trainers.on_julia(backend, kwargs) else cartpole.train_cartpole
    max_steps, solved = CARTPOLE_VERSIONS[version]
    result = train(
        policies.glorot_weights(policies.cartpole_policy, seed),
        np.random.default_rng(seed).uniform(-0.05, 0.05, (episodes, 4)),
        np.random.default_rng([seed, 1]).uniform(-0.05, 0.05, (evaluation_episodes, 4)),
        **{"max_steps": max_steps, "solved_score": solved, **kwargs},
    )
    result.config.update(seed=seed, version=version, backend=backend)
    return result


# ----------------------------------------------------------------------------------------------
# Pendulum: BPTT, and the two-phase APG recipe
# ----------------------------------------------------------------------------------------------
# The APG recipe: APG_UPDATES updates of APG_BATCH start states, then a second call from those
# weights with a fresh Adam: larger batches average out the chaotic swings, so a longer decay then
# helps instead of diverging (measured: docs/notes/2026-12-04-pendulum-apg-plateau.md).
APG_UPDATES = 200
APG_BATCH = 256
APG_FINE_TUNE = {"updates": 200, "batch": 2048, "learning_rate": 0.002, "gradient_decay": 0.99}


def seeded_inputs(seed: int, rounds: int, batch: int, evaluation_episodes: int):
    """Flux 0.7's initialisation (as the 2019 code), seeded; (rounds, batch) training starts from one
    NumPy stream and the evaluation starts (`pendulum.evaluation_starts`) from another."""
    from dprl.train import pendulum, policies

    if rounds < 1 or batch < 1 or evaluation_episodes < 0:
        raise ValueError(f"rounds and batch must be at least 1, evaluation_episodes at least 0; got {rounds}, {batch}, {evaluation_episodes}")
    return (policies.glorot_weights(policies.pendulum_policy, seed), pendulum.start_states(np.random.default_rng(seed), rounds, batch),
            pendulum.evaluation_starts(seed, evaluation_episodes))


def train_seeded_pendulum(seed: int, rounds: int, *, variant: str = "gymnasium", batch: int | None = None,
                          evaluation_episodes: int = 1000, backend: str = "torch", **kwargs) -> TrainingResult:
    """`train_pendulum` from Flux 0.7's initialisation (as the 2019 code), seeded, and seeded start states
    (training starts from one NumPy stream, evaluation starts from another). `backend="julia"` trains
    with the Julia twin from the same weights and starts (`dprl.train.julia_trainers`)."""
    from dprl.train import julia_trainers, pendulum

    if variant not in PENDULUM_PRESETS:
        raise ValueError(f"variant must be one of {tuple(PENDULUM_PRESETS)}; got {variant!r}")
    train = julia_trainers.train_pendulum_julia if julia_trainers.on_julia(backend, kwargs) else pendulum.train_pendulum
    batch = PENDULUM_PRESETS[variant]["batch"] if not batch else int(batch)
    result = train(*seeded_inputs(seed, rounds, batch, evaluation_episodes), variant=variant, **kwargs)
    result.config.update(seed=seed, backend=backend)
    return result


def train_seeded_apg(seed: int, updates: int = APG_UPDATES, *, batch: int | None = None, evaluation_episodes: int = 1000,
                     fine_tune_updates: int = APG_FINE_TUNE["updates"], fine_tune_batch: int = APG_FINE_TUNE["batch"],
                     on_episode=None, backend: str = "torch", **kwargs) -> TrainingResult:
    """`train_pendulum_apg` from Flux 0.7's initialisation, seeded, with `updates` × `batch` seeded
    start states (one NumPy stream) and the same evaluation starts as `train_seeded_pendulum`; then
    `fine_tune_updates` more from its weights with `fine_tune_batch` start states each (another
    stream) and APG_FINE_TUNE's decay and learning rate. One result: the fine-tune's episodes,
    steps and seconds continue the first phase's. `backend="julia"` runs both phases with the Julia
    twin from the same weights and starts (`dprl.train.julia_trainers`)."""
    from dprl.train import julia_trainers, pendulum

    train = julia_trainers.train_pendulum_apg_julia if julia_trainers.on_julia(backend, kwargs) else pendulum.train_pendulum_apg

    batch = APG_BATCH if not batch else int(batch)
    if int(fine_tune_updates) < 0 or int(fine_tune_batch) < 1:
        raise ValueError(f"fine_tune_updates must be ≥ 0 and fine_tune_batch ≥ 1; got {fine_tune_updates}, {fine_tune_batch}")
    weights, batches, evaluation = seeded_inputs(seed, updates, batch, evaluation_episodes)
    result = train(weights, batches, evaluation, on_episode=on_episode, **kwargs)
    result.config.update(seed=seed, backend=backend)
    if not (result.finished and int(fine_tune_updates)):
        return result
    tune = {"learning_rate": APG_FINE_TUNE["learning_rate"], "gradient_decay": APG_FINE_TUNE["gradient_decay"],
            "updates": int(fine_tune_updates), "batch": int(fine_tune_batch)}
    result.config["fine_tune"] = tune
    offsets = (result.episodes[-1], result.env_steps[-1], result.wall_time[-1]) if result.scores else (0, 0, 0.0)
    first = (len(result.losses), len(result.scores))

    def merge(second: TrainingResult):
        # The fine-tune's curves appended to the first phase's, its counters continuing them.
        del result.losses[first[0]:], result.scores[first[1]:], result.episodes[first[1]:]
        del result.env_steps[first[1]:], result.wall_time[first[1]:]
        result.losses.extend(second.losses)
        result.scores.extend(second.scores)
        result.episodes.extend(offsets[0] + e for e in second.episodes)
        result.env_steps.extend(offsets[1] + n for n in second.env_steps)
        result.wall_time.extend(offsets[2] + t for t in second.wall_time)
        result.weights, result.finished = second.weights, second.finished
        if "diverged" in second.extra:
            result.extra["diverged"] = f"fine-tune {second.extra['diverged']}"
        if on_episode is not None:
            on_episode(result)

    starts = pendulum.start_states(np.random.default_rng([seed, 2]), tune["updates"], tune["batch"])
    second = train(result.weights, starts, evaluation, learning_rate=tune["learning_rate"],
                   gradient_decay=tune["gradient_decay"], on_episode=merge,
                                         **{k: v for k, v in kwargs.items() if k not in ("learning_rate", "gradient_decay", "on_episode")})
    result.finished = False
    merge(second)
    return result
