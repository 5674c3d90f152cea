"""The trebuchet aimer (spec §2): a network that picks the release angle and counterweight for a
(wind, target) pair, trained by backpropagating the squared miss through the simulator.

Twin of `train_aimer` in `julia/src/train.jl`. The network is 2→16→64→16→2 with sigmoids, in
float64; angle = 90·σ(o₁) degrees and counterweight = o₂ + 200 lb. The original trained on one
sample at a time (batch size 1) for 100,000 Adam steps; the batched simulator lets mini-batches
do the same work far faster, and `batch_size=1` stays faithful to the original.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from tqdm import tqdm

from dprl.envs import trebuchet
from dprl.train import policies
from dprl.train.result import TrainingResult

# A counterweight at or under this cannot throw (too light, or released below ground); such a
# sample contributes no loss, as the original's caught errors did.
MIN_WEIGHT_LB = 16.0
EVALUATION_SEED = 2019  # the fixed evaluation set: its own stream, never used in training
WIND_STD, TARGET_RANGE = 5.0, (20.0, 100.0)


def aim(model, wind, target):
    """(angle in degrees, counterweight in lb) the network aims with: 90·σ(o₁) and o₂ + 200."""
    o = model(torch.stack((wind, target), dim=-1))
    return 90 * torch.sigmoid(o[..., 0]), o[..., 1] + 200


def aimer_loss(model, winds, targets):
    """Mean squared miss (m²) over a batch, backpropagated through the simulator."""
    angle, weight = aim(model, winds, targets)
    valid = (weight > MIN_WEIGHT_LB) & (angle > 0) & (angle < 90)
    distance = trebuchet.shoot(winds, torch.where(valid, angle, 45.0), torch.where(valid, weight, 200.0))
    return torch.where(valid, (distance - targets) ** 2, 0.0).mean()


def shots(rng: np.random.Generator, n: int):
    """(winds, targets): wind ~ N(0, 5²) m/s (Gaussian, as the original), target ~ U(20, 100) m."""
    return WIND_STD * rng.standard_normal(n), rng.uniform(*TARGET_RANGE, n)


def evaluation_shots(n: int = 1000):
    return shots(np.random.default_rng(EVALUATION_SEED), n)


@torch.no_grad()
def evaluate(model, winds, targets) -> dict:
    """Misses on a fixed set: mean absolute (m), mean relative and 95th-percentile relative (%)."""
    winds = torch.as_tensor(winds, dtype=torch.float64)
    targets = torch.as_tensor(targets, dtype=torch.float64)
    angle, weight = aim(model, winds, targets)
    valid = (weight > MIN_WEIGHT_LB) & (angle > 0) & (angle < 90)
    result = trebuchet.launch(winds, torch.where(valid, angle, 45.0), torch.where(valid, weight, 200.0))
    landed = valid & (result.status == trebuchet.LANDED)
    miss = torch.where(landed, (result.distance - targets).abs(), targets)  # a failed throw misses by the whole target
    relative = 100 * miss / targets
    return {
        "mean_abs_miss_m": miss.mean().item(),
        "mean_rel_miss_pct": relative.mean().item(),
        "p95_rel_miss_pct": torch.quantile(relative, 0.95).item(),
        "failed_throws": int((~landed).sum()),
    }


def train_aimer(
    weights,
    winds,
    targets,
    *,
    learning_rate: float = 1e-3,
    batch_size: int = 1,
    evaluation=None,
    evaluate_every: int = 100,
    time_budget: float | None = None,
    stop_at: dict | None = None,
    progress: bool = True,
    on_evaluation=None,
) -> TrainingResult:
    """One pass over (winds, targets) in batches of `batch_size`, one Adam step each. Every
    `evaluate_every` updates the misses on `evaluation` = (winds, targets) are recorded; training
    stops early past `time_budget` seconds, or once every metric in `stop_at` is at or below its
    bound (e.g. {"mean_rel_miss_pct": 0.3, "p95_rel_miss_pct": 1.0}). Ctrl-C returns what finished."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1; got {batch_size}")
    model = policies.load_weights(policies.aimer_policy(), weights)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    winds = torch.as_tensor(np.asarray(winds, dtype=np.float64))
    targets = torch.as_tensor(np.asarray(targets, dtype=np.float64))
    if winds.shape != targets.shape or winds.ndim != 1:
        raise ValueError(f"winds and targets must be 1-D of one length; got {tuple(winds.shape)} and {tuple(targets.shape)}")
    result = TrainingResult(
        trainer="trebuchet",
        config={"learning_rate": learning_rate, "batch_size": batch_size, "samples": len(winds), "evaluate_every": evaluate_every,
                "time_budget": time_budget, "stop_at": stop_at},
        extra={"metrics": [], "updates": []},
    )
    start = time.perf_counter()
    updates = (len(winds) + batch_size - 1) // batch_size
    bar = tqdm(total=updates, desc="trebuchet aimer", unit="update", disable=not progress)

    def record(update):
        metrics = evaluate(model, *evaluation)
        result.extra["metrics"].append(metrics)
        result.extra["updates"].append(update)
        result.scores.append(metrics["mean_rel_miss_pct"])
        result.episodes.append(update * batch_size)  # samples seen
        result.env_steps.append(update * batch_size)  # one throw per sample
        result.wall_time.append(time.perf_counter() - start)
        bar.set_postfix(rel_miss=f"{metrics['mean_rel_miss_pct']:.2f}%")
        if on_evaluation is not None:
            result.weights = policies.weights(model)
            on_evaluation(result)
        return stop_at is not None and all(metrics[k] <= v for k, v in stop_at.items())

    try:
        if evaluation is not None and record(0):
            result.finished = True
        for update in range(1, updates + 1):
            if result.finished:
                break
            batch = slice((update - 1) * batch_size, update * batch_size)
            loss = aimer_loss(model, winds[batch], targets[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            result.losses.append(loss.item())
            bar.update(1)
            out_of_time = time_budget is not None and time.perf_counter() - start > time_budget
            if evaluation is not None and (update % evaluate_every == 0 or update == updates or out_of_time):
                if record(update):
                    break
            if out_of_time:
                break
        result.finished = True
    except KeyboardInterrupt:
        pass
    finally:
        bar.close()
        result.weights = policies.weights(model)
    return result
