"""The trebuchet aimer (spec §2): a network that picks the release angle and counterweight for a
(wind, target) pair, trained by backpropagating the squared miss through the simulator.

Twin of `train_aimer` in `julia/src/train.jl`. The network is 2→16→64→16→2 with sigmoids, in
float64; angle = 90·σ(o₁) degrees and counterweight = o₂ + 200 lb on the raw (wind, target).

Two optimisers:
- `adam` (the original's, and the Julia twin's): Adam on mini-batches; `batch_size=1`,
  learning rate 1e-3 and 100,000 samples is the 2019 setting.
- `lm` (Python only, for speed): Levenberg–Marquardt on a fixed training set. The network has
  only 2,226 weights and each shot's miss depends on the simulator only through
  ∂distance/∂(angle, weight), so a damped Gauss-Newton step costs one batched simulation with
  gradient plus the network's Jacobian. It needs the inputs and the counterweight output on a
  unit scale (`scaled=True`: wind/5, (target − 60)/40, and 200 + 100·o₂ lb).

Distance is far from monotonic in the counterweight (at −12 m/s, 400 lb throws 63 m, 800 lb 91 m,
1,500 lb 66 m): far targets in strong headwinds sit behind plateaus where the gradient vanishes,
and a locally trained aimer misses them.
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


def aim(model, wind, target, scaled=False):
    """(angle in degrees, counterweight in lb) the network aims with: 90·σ(o₁) and o₂ + 200
    on the raw inputs; with `scaled`, inputs (wind/5, (target − 60)/40) and 200 + 100·o₂."""
    x = torch.stack((wind / 5, (target - 60) / 40) if scaled else (wind, target), dim=-1)
    o = model(x)
    return 90 * torch.sigmoid(o[..., 0]), (100 * o[..., 1] if scaled else o[..., 1]) + 200


def aimer_loss(model, winds, targets, scaled=False):
    """Mean squared miss (m²) over a batch, backpropagated through the simulator."""
    angle, weight = aim(model, winds, targets, scaled)
    valid = (weight > MIN_WEIGHT_LB) & (angle > 0) & (angle < 90)
    distance = trebuchet.shoot(winds, torch.where(valid, angle, 45.0), torch.where(valid, weight, 200.0))
    return torch.where(valid, (distance - targets) ** 2, 0.0).mean()


def shots(rng: np.random.Generator, n: int):
    """(winds, targets): wind ~ N(0, 5²) m/s (Gaussian, as the original), target ~ U(20, 100) m."""
    return WIND_STD * rng.standard_normal(n), rng.uniform(*TARGET_RANGE, n)


def evaluation_shots(n: int = 1000):
    return shots(np.random.default_rng(EVALUATION_SEED), n)


@torch.no_grad()
def misses(model, winds, targets, scaled=False):
    """|distance − target| (m) of each shot; a failed throw misses by the whole target."""
    winds = torch.as_tensor(winds, dtype=torch.float64)
    targets = torch.as_tensor(targets, dtype=torch.float64)
    angle, weight = aim(model, winds, targets, scaled)
    valid = (weight > MIN_WEIGHT_LB) & (angle > 0) & (angle < 90)
    result = trebuchet.launch(winds, torch.where(valid, angle, 45.0), torch.where(valid, weight, 200.0))
    landed = valid & (result.status == trebuchet.LANDED)
    return torch.where(landed, (result.distance - targets).abs(), targets), landed


def evaluate(model, winds, targets, scaled=False) -> dict:
    """Misses on a fixed set: mean absolute (m), mean relative and 95th-percentile relative (%)."""
    miss, landed = misses(model, winds, targets, scaled)
    relative = 100 * miss / torch.as_tensor(targets, dtype=torch.float64)
    return {
        "mean_abs_miss_m": miss.mean().item(),
        "mean_rel_miss_pct": relative.mean().item(),
        "p95_rel_miss_pct": torch.quantile(relative, 0.95).item(),
        "failed_throws": int((~landed).sum()),
    }


class _LevenbergMarquardt:
    """Damped Gauss-Newton steps on the squared misses of a fixed set of shots."""

    def __init__(self, model, winds, targets, scaled):
        self.model, self.winds, self.targets, self.scaled = model, winds, targets, scaled
        self.names = [n for n, _ in model.named_parameters()]
        self.damping = 1.0

    def residuals(self, jacobian=False):
        from torch.func import functional_call, jacrev, vmap

        params = {n: p.detach() for n, p in self.model.named_parameters()}

        def outputs(p, wind, target):
            x = torch.stack((wind / 5, (target - 60) / 40) if self.scaled else (wind, target), dim=-1)
            o = functional_call(self.model, p, (x,))
            return torch.stack((90 * torch.sigmoid(o[..., 0]), (100 * o[..., 1] if self.scaled else o[..., 1]) + 200), dim=-1)

        angle, weight = outputs(params, self.winds, self.targets).unbind(-1)
        valid = (weight > MIN_WEIGHT_LB) & (angle > 0) & (angle < 90)
        angle = torch.where(valid, angle, 45.0).requires_grad_(jacobian)
        weight = torch.where(valid, weight, 200.0).requires_grad_(jacobian)
        distance = trebuchet.shoot(self.winds, angle, weight)
        residual = torch.where(valid, distance - self.targets, self.targets)  # a failed throw misses by the whole target
        if not jacobian:
            return residual.detach()
        d_angle, d_weight = torch.autograd.grad(distance.sum(), (angle, weight))  # each shot's own partials
        network = vmap(jacrev(outputs), in_dims=(None, 0, 0))(params, self.winds, self.targets)
        network = torch.cat([network[n].reshape(len(self.winds), 2, -1) for n in self.names], dim=2)
        return residual.detach(), (d_angle[:, None] * network[:, 0] + d_weight[:, None] * network[:, 1]) * valid[:, None]

    def step(self) -> float:
        """One accepted step (up to 8 tries with rising damping); returns the mean squared miss."""
        residual, jacobian = self.residuals(jacobian=True)
        loss = (residual**2).mean().item()
        identity = torch.eye(len(residual), dtype=residual.dtype)
        for _ in range(8):
            # The dual form: δ = −Jᵀ (J Jᵀ + λI)⁻¹ r, a solve the size of the batch.
            delta = -jacobian.T @ torch.linalg.solve(jacobian @ jacobian.T + self.damping * identity, residual)
            saved = [p.detach().clone() for p in self.model.parameters()]
            with torch.no_grad():
                offset = 0
                for p in self.model.parameters():
                    p += delta[offset : offset + p.numel()].reshape(p.shape)
                    offset += p.numel()
            trial = (self.residuals() ** 2).mean().item()
            if trial < loss:
                self.damping = max(self.damping / 3, 1e-8)
                return trial
            with torch.no_grad():
                for p, old in zip(self.model.parameters(), saved):
                    p.copy_(old)
            self.damping *= 5
        return loss


def train_aimer(
    weights,
    winds,
    targets,
    *,
    optimizer: str = "adam",
    learning_rate: float = 1e-3,
    batch_size: int = 1,
    scaled: bool = False,
    evaluation=None,
    evaluate_every: int = 100,
    time_budget: float | None = None,
    max_updates: int | None = None,
    stop_at: dict | None = None,
    progress: bool = True,
    on_evaluation=None,
) -> TrainingResult:
    """Train the aimer on (winds, targets).

    adam: one pass in batches of `batch_size`, one Adam step each. lm: Levenberg–Marquardt steps
    on all of (winds, targets) at once, up to `max_updates` (default 200). Every `evaluate_every`
    updates the misses on `evaluation` = (winds, targets) are recorded; training stops past
    `time_budget` seconds, or once every metric in `stop_at` is at or below its bound (e.g.
    {"mean_rel_miss_pct": 0.3, "p95_rel_miss_pct": 1.0}). Ctrl-C returns what finished."""
    if optimizer not in ("adam", "lm"):
        raise ValueError(f"optimizer must be 'adam' or 'lm'; got {optimizer!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1; got {batch_size}")
    model = policies.load_weights(policies.aimer_policy(), weights)
    winds = torch.as_tensor(np.asarray(winds, dtype=np.float64))
    targets = torch.as_tensor(np.asarray(targets, dtype=np.float64))
    if winds.shape != targets.shape or winds.ndim != 1:
        raise ValueError(f"winds and targets must be 1-D of one length; got {tuple(winds.shape)} and {tuple(targets.shape)}")
    if optimizer == "adam":
        updates = (len(winds) + batch_size - 1) // batch_size
        adam = torch.optim.Adam(model.parameters(), lr=learning_rate)
    else:
        updates, batch_size = max_updates or 200, len(winds)
        lm = _LevenbergMarquardt(model, winds, targets, scaled)
    if max_updates is not None:
        updates = min(updates, max_updates)
    result = TrainingResult(
        trainer="trebuchet",
        config={"optimizer": optimizer, "learning_rate": learning_rate, "batch_size": batch_size, "scaled": scaled,
                "samples": len(winds), "evaluate_every": evaluate_every, "time_budget": time_budget, "stop_at": stop_at},
        extra={"metrics": [], "updates": []},
    )
    start = time.perf_counter()
    bar = tqdm(total=updates, desc=f"trebuchet aimer ({optimizer})", unit="update", disable=not progress)

    def record(update):
        metrics = evaluate(model, *evaluation, scaled=scaled)
        result.extra["metrics"].append(metrics)
        result.extra["updates"].append(update)
        result.scores.append(metrics["mean_rel_miss_pct"])
        result.episodes.append(update * batch_size)  # shots simulated with gradient
        result.env_steps.append(update * batch_size)
        result.wall_time.append(time.perf_counter() - start)
        bar.set_postfix(rel_miss=f"{metrics['mean_rel_miss_pct']:.2f}%", p95=f"{metrics['p95_rel_miss_pct']:.2f}%")
        if on_evaluation is not None:
            result.weights = policies.weights(model)
            on_evaluation(result)
        return stop_at is not None and all(metrics[k] <= v for k, v in stop_at.items())

    try:
        done = evaluation is not None and record(0)
        for update in range(1, updates + 1):
            if done:
                break
            if optimizer == "adam":
                batch = slice((update - 1) * batch_size, update * batch_size)
                loss = aimer_loss(model, winds[batch], targets[batch], scaled)
                adam.zero_grad()
                loss.backward()
                adam.step()
                result.losses.append(loss.item())
            else:
                result.losses.append(lm.step())
            bar.update(1)
            out_of_time = time_budget is not None and time.perf_counter() - start > time_budget
            if evaluation is not None and (update % evaluate_every == 0 or update == updates or out_of_time):
                done = record(update)
            if out_of_time:
                break
        result.finished = True
    except KeyboardInterrupt:
        pass
    finally:
        bar.close()
        result.weights = policies.weights(model)
    return result


def train_seeded(seed: int, *, optimizer: str = "lm", samples: int | None = None, **kwargs) -> TrainingResult:
    """`train_aimer` from Flux 0.7's initialisation (seeded) on seeded shots, evaluated on the fixed
    1,000-shot evaluation set. Defaults: lm on 2,048 shots with scaled inputs; adam on 100,000
    shots, batch 1, learning rate 1e-3 (the 2019 setting)."""
    if optimizer == "lm":
        samples = samples or 2048
        kwargs.setdefault("scaled", True)
        kwargs.setdefault("evaluate_every", 5)
    else:
        samples = samples or 100_000
    winds, targets = shots(np.random.default_rng(seed), samples)
    result = train_aimer(policies.glorot_weights(policies.aimer_policy, seed), winds, targets, optimizer=optimizer,
                         evaluation=evaluation_shots(), **kwargs)
    result.config["seed"] = seed
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
        angle, weight = 90 * torch.sigmoid(logit), 200 + 100 * offset
        valid = (weight > MIN_WEIGHT_LB) & (angle > 0) & (angle < 90)
        distance = trebuchet.shoot(winds, torch.where(valid, angle, 45.0), torch.where(valid, weight, 200.0))
        optimizer.zero_grad()
        torch.where(valid, (distance - targets) ** 2, 0.0).sum().backward()
        optimizer.step()
    with torch.no_grad():
        angle, weight = 90 * torch.sigmoid(logit), (200 + 100 * offset).clamp_min(MIN_WEIGHT_LB + 1)
        miss = (trebuchet.shoot(winds, angle, weight) - targets).abs()
    return angle.numpy(), weight.numpy(), miss.numpy()
