"""The trebuchet aimer (docs/original-2019.md §2): a network that picks the release angle and
counterweight for a (wind, target) pair, trained by backpropagating the miss through the simulator.

Twin of `julia/src/train/trebuchet.jl`. The network is 2→16→64→16→2 with sigmoids, in float64;
angle = 90·σ(o₁) degrees and counterweight = o₂ + 200 lb on the raw (wind, target). `train_aimer`
is the 2019 trainer: Adam on the squared miss over mini-batches; `batch_size=1`, learning rate
1e-3 and 100,000 shots from Flux 0.7's initialisation is the 2019 setting (`AimerConfig`). The
shots, the rule for an aim that throws at all and the miss metrics are the task's, in
`dprl.envs.trebuchet`. A faster PyTorch-only trainer, Levenberg–Marquardt, is in
`dprl.train.trebuchet_lm`.

Where the aimer starts decides what it can learn. Distance is smooth in the counterweight only
up to about 520 lb (from about 560 lb the sling wraps and throws backwards, and between 600 and
1,500 lb distance jumps from one throw to the next), and on that light branch 5.9 % of the
evaluation shots (far targets in headwinds) are out of reach: the best any aimer confined to it
can do is a 0.61 % mean and 2.39 % 95th-percentile relative miss (the reach table of
`python comparisons/bench_aimer.py`). With a counterweight of about 3,000 lb the distance is smooth and monotone in the
release angle from the jump near 36° up to 90°, nearly independent of the weight, and reaches all
but 0.7 % of the shots (bound: 0.09 % mean, 0 % p95). So `train_seeded` starts Levenberg–Marquardt
there (`heavy_start`: 70°, 3,200 lb): the seeded Glorot weights with the last layer's biases moved.
The blog's aimer, from Flux's plain initialisation, worked on the light branch.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import torch
from tqdm import tqdm

from dprl.config import AimerConfig, LevenbergMarquardtConfig, with_settings
from dprl.envs import trebuchet, trebuchet_fast
from dprl.results import TrainingResult, interruptible
from dprl.train.divergence import checked_step
from dprl.train import policies


def aim(model, wind, target, scaled=False):
    """(angle in degrees, counterweight in lb) the network aims with: 90·σ(o₁) and o₂ + 200
    on the raw inputs; with `scaled`, inputs (wind/5, (target − 60)/40) and 200 + 100·o₂."""
    x = torch.stack((wind / 5, (target - 60) / 40) if scaled else (wind, target), dim=-1)
    o = model(x)
    return 90 * torch.sigmoid(o[..., 0]), (100 * o[..., 1] if scaled else o[..., 1]) + 200


def aimer_loss(model, winds, targets, scaled=False, shoot=trebuchet_fast.shoot):
    """Mean squared miss (m²) over a batch, backpropagated through the simulator; an aim that does
    not throw adds nothing. `shoot` is any differentiable (wind, angle_deg, weight_lb) -> distance,
    such as the Julia trebuchet through `dprl.julia.function`."""
    valid, angle, weight = trebuchet.placeholder_aim(*aim(model, winds, targets, scaled))
    distance = shoot(winds, angle, weight)
    return torch.where(valid, (distance - targets) ** 2, 0.0).mean()


@torch.no_grad()
def misses(model, winds, targets, scaled=False):
    """`throw_misses` of the network's aim for each (wind, target), on the network's device."""
    winds = torch.as_tensor(winds, dtype=torch.float64, device=policies.model_device(model))
    targets = torch.as_tensor(targets, dtype=torch.float64, device=winds.device)
    return trebuchet_fast.throw_misses(winds, targets, *aim(model, winds, targets, scaled))


def evaluate(model, winds, targets, scaled=False) -> dict:
    """`miss_metrics` of the network's aim on a fixed set of shots."""
    return trebuchet.miss_metrics(*misses(model, winds, targets, scaled), targets)


def train_aimer(weights, winds, targets, config: AimerConfig | None = None, *, evaluation=None, stop_at: dict | None = None,
                progress: bool = True, on_evaluation=None, device=None, **settings) -> TrainingResult:
    """Adam on the mean squared miss, one pass over (winds, targets) in batches of
    `config.batch_size` (at most `config.max_updates` updates), from the (weight, bias) pairs
    `weights`. `settings` override fields of `config` (default AimerConfig()).

    Every `config.evaluate_every` updates the misses on `evaluation` = (winds, targets) are
    recorded and `on_evaluation(result)` called (a checkpoint); training stops past
    `config.time_budget` seconds, or once every metric in `stop_at` is at or below its bound (e.g.
    `dprl.goals.AIMER_GOAL`). `device` (default the CPU) runs the network and the throws there
    (on CUDA the throws run `dprl.envs.trebuchet_triton`'s kernel). Ctrl-C returns what finished."""
    config = with_settings(config or AimerConfig(), settings)
    device = policies.resolve_device(device)
    model = policies.load_weights(policies.aimer_policy(), weights).to(device)
    winds, targets = _shot_tensors(winds, targets, device)
    updates = -(-len(winds) // config.batch_size)
    if config.max_updates is not None:
        updates = min(updates, config.max_updates)
    adam = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    result = TrainingResult(trainer="trebuchet", config={"optimizer": "adam", **dataclasses.asdict(config), "samples": len(winds),
                                                         "stop_at": stop_at}, extra={"metrics": [], "updates": []})
    bar = tqdm(total=updates, desc="trebuchet aimer (adam)", unit="update", disable=not progress)
    evaluations = _Evaluations(result, evaluation, config.scaled, stop_at, bar, on_evaluation)
    with interruptible(result, bar, lambda: policies.weights(model)):
        done = evaluation is not None and evaluations.record(0, model, 0)
        for update in range(1, updates + 1):
            if done:
                break
            batch = slice((update - 1) * config.batch_size, update * config.batch_size)
            loss = aimer_loss(model, winds[batch], targets[batch], config.scaled)
            adam.zero_grad()
            loss.backward()
            result.losses.append(checked_step(update, model.parameters(), adam.step, loss))
            bar.update(1)
            out_of_time = evaluations.out_of_time(config.time_budget)
            if evaluation is not None and (update % config.evaluate_every == 0 or update == updates or out_of_time):
                done = evaluations.record(update, model, update * config.batch_size)  # each throw is a one-step episode
            if out_of_time:
                break
    return result


# ----------------------------------------------------------------------------------------------
# PyTorch only: the evaluation's bookkeeping, the Julia trainer driven from Python, seeded runs
# ----------------------------------------------------------------------------------------------
def _shot_tensors(winds, targets, device=None):
    winds = torch.as_tensor(np.asarray(winds, dtype=np.float64), device=device)
    targets = torch.as_tensor(np.asarray(targets, dtype=np.float64), device=device)
    if winds.shape != targets.shape or winds.ndim != 1:
        raise ValueError(f"winds and targets must be 1-D of one length; got {tuple(winds.shape)} and {tuple(targets.shape)}")
    return winds, targets


class _Evaluations:
    """The aimer's bookkeeping at each evaluation, shared by every aimer trainer: the misses on the
    evaluation set, the clocks, the checkpoint callback and the stopping rule."""

    def __init__(self, result, evaluation, scaled, stop_at, bar, on_evaluation):
        self.result, self.evaluation, self.scaled, self.stop_at = result, evaluation, scaled, stop_at
        self.bar, self.on_evaluation = bar, on_evaluation
        self.start = time.perf_counter()

    def out_of_time(self, time_budget) -> bool:
        return time_budget is not None and time.perf_counter() - self.start > time_budget

    def record(self, update, model, thrown) -> bool:
        """Evaluate `model` after `update` updates and `thrown` simulated throws; True to stop."""
        metrics = evaluate(model, *self.evaluation, scaled=self.scaled)
        self.result.extra["metrics"].append(metrics)
        self.result.extra["updates"].append(update)
        self.result.record(metrics["mean_rel_miss_pct"], episodes=thrown, env_steps=thrown, started=self.start)
        self.bar.set_postfix(rel_miss=f"{metrics['mean_rel_miss_pct']:.2f}%", p95=f"{metrics['p95_rel_miss_pct']:.2f}%")
        if self.on_evaluation is not None:
            self.result.weights = policies.weights(model)
            self.on_evaluation(self.result)
        return self.stop_at is not None and all(metrics[k] <= v for k, v in self.stop_at.items())


# Julia reports to Python this often (updates), for the progress bar and Ctrl-C; it evaluates less often.
JULIA_REPORT_EVERY = 256


def train_aimer_julia(weights, winds, targets, config: AimerConfig | None = None, *, evaluation=None, stop_at: dict | None = None,
                      progress: bool = True, on_evaluation=None, **settings) -> TrainingResult:
    """`train_aimer` run by its Julia twin (`DPRL.Train.train_aimer`, one Julia thread), with the
    same weights, shots, config, evaluation and result as the PyTorch path: Julia trains and calls
    back every few hundred updates; the evaluation runs here, in PyTorch, on the weights Julia
    hands back. Needs Julia (`dprl.julia`); Ctrl-C returns what finished."""
    from dprl import julia

    config = with_settings(config or AimerConfig(), settings)
    winds, targets = (t.numpy() for t in _shot_tensors(winds, targets))
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
    evaluations = _Evaluations(result, evaluation, config.scaled, stop_at, bar, on_evaluation)
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


BACKENDS = ("torch", "julia")
OPTIMIZERS = ("lm", "adam")


def train_seeded(seed: int, *, optimizer: str = "lm", samples: int | None = None, start: str | None = None,
                 backend: str = "torch", **kwargs) -> TrainingResult:
    """An aimer from Flux 0.7's initialisation (seeded) on seeded shots, evaluated on the fixed
    1,000 evaluation shots. Defaults: lm (`dprl.train.trebuchet_lm`) on 2,048 shots with scaled
    inputs from `heavy_start`; adam (`train_aimer`) on 100,000 shots, batch 1, learning rate 1e-3,
    from the plain initialisation (the 2019 setting). `start` is "heavy" or "plain" to choose.
    `backend="julia"` trains adam in Julia (`train_aimer_julia`) from the same weights and shots.
    Other keywords go to the trainer (its config's fields, stop_at, progress, on_evaluation)."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}; got {optimizer!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}; got {backend!r}")
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
        from dprl.train.trebuchet_lm import train_aimer_lm as train
    else:
        train = train_aimer_julia if backend == "julia" else train_aimer
    result = train(weights, winds, targets, evaluation=trebuchet.evaluation_shots(), **kwargs)
    result.config.update(seed=seed, start=start, backend=backend)
    return result


def aim_by_gradient_descent(winds, targets, *, steps: int = 100, learning_rate: float = 0.05):
    """The blog's addendum: solve the inverse problem for each target directly, by Adam on
    (angle, weight) from (45°, 200 lb) through the simulator, all targets in one batch.
    Returns (angles in degrees, weights in lb, misses in m) as arrays."""
    winds = torch.as_tensor(np.atleast_1d(np.asarray(winds, dtype=np.float64)))
    targets = torch.as_tensor(np.atleast_1d(np.asarray(targets, dtype=np.float64)))
    logit = torch.zeros_like(winds, requires_grad=True)  # angle = 90·σ(logit): 45° at the start
    offset = torch.zeros_like(winds, requires_grad=True)  # weight = 200 + 100·offset lb
    optimizer = torch.optim.Adam([logit, offset], lr=learning_rate)
    for _ in range(steps):
        valid, angle, weight = trebuchet.placeholder_aim(90 * torch.sigmoid(logit), 200 + 100 * offset)
        distance = trebuchet_fast.shoot(winds, angle, weight)
        optimizer.zero_grad()
        torch.where(valid, (distance - targets) ** 2, 0.0).sum().backward()
        optimizer.step()
    with torch.no_grad():
        angle, weight = 90 * torch.sigmoid(logit), (200 + 100 * offset).clamp_min(trebuchet.MIN_WEIGHT_LB + 1)
        miss = (trebuchet_fast.shoot(winds, angle, weight) - targets).abs()
    return angle.numpy(), weight.numpy(), miss.numpy()
