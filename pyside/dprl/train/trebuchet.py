"""The trebuchet aimer (docs/original-2019.md §2): a network that picks the release angle and
counterweight for a (wind, target) pair, trained by backpropagating the miss through the simulator.

Twin of `julia/src/train/trebuchet.jl`. The network is 2→16→64→16→2 with sigmoids, in float64;
angle = 90·σ(o₁) degrees and counterweight = o₂ + 200 lb on the raw (wind, target). `train_aimer`
is the 2019 trainer: Adam on the squared miss over mini-batches; `batch_size=1`, learning rate
1e-3 and 100,000 shots from Flux 0.7's initialisation is the 2019 setting (`AimerConfig`). The
shots, the rule for an aim that throws at all and the miss metrics are the task's, in
`dprl.envs.trebuchet`. A faster PyTorch-only trainer, Levenberg–Marquardt, is in
`dprl.train.trebuchet_lm`.

The seeded runs (which weights and shots, the heavy start of Levenberg–Marquardt) and the
Julia-driven trainer are in `dprl.recipes`.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import torch
from tqdm import tqdm

from dprl.config import AimerConfig, with_settings
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
    winds, targets = shot_tensors(winds, targets, device)
    updates = -(-len(winds) // config.batch_size)
    if config.max_updates is not None:
        updates = min(updates, config.max_updates)
    adam = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    result = TrainingResult(trainer="trebuchet", config={"optimizer": "adam", **dataclasses.asdict(config), "samples": len(winds),
                                                         "stop_at": stop_at}, extra={"metrics": [], "updates": []})
    bar = tqdm(total=updates, desc="trebuchet aimer (adam)", unit="update", disable=not progress)
    evaluations = Evaluations(result, evaluation, config.scaled, stop_at, bar, on_evaluation)
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
# PyTorch only: the evaluation's bookkeeping, and the blog's addendum
# ----------------------------------------------------------------------------------------------
def shot_tensors(winds, targets, device=None):
    winds = torch.as_tensor(np.asarray(winds, dtype=np.float64), device=device)
    targets = torch.as_tensor(np.asarray(targets, dtype=np.float64), device=device)
    if winds.shape != targets.shape or winds.ndim != 1:
        raise ValueError(f"winds and targets must be 1-D of one length; got {tuple(winds.shape)} and {tuple(targets.shape)}")
    return winds, targets


class Evaluations:
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
