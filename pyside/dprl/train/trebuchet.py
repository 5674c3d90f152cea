"""The trebuchet aimer (spec §2): a network that picks the release angle and counterweight for a
(wind, target) pair, trained by backpropagating the miss through the simulator.

Twin of `train_aimer` in `julia/src/train.jl`. The network is 2→16→64→16→2 with sigmoids, in
float64; angle = 90·σ(o₁) degrees and counterweight = o₂ + 200 lb on the raw (wind, target).

Two optimisers:
- `adam` (the original's, and the Julia twin's): Adam on the squared miss over mini-batches;
  `batch_size=1`, learning rate 1e-3 and 100,000 samples from Flux 0.7's initialisation is the
  2019 setting.
- `lm` (Python only, for speed): Levenberg–Marquardt on a fixed training set. The network has
  only 2,226 weights and each shot's miss depends on the simulator only through
  ∂distance/∂(angle, weight), so a damped Gauss-Newton step costs one batched simulation with
  gradient plus the network's per-shot Jacobian (one backward pass). It needs the inputs and the
  counterweight output on a unit scale (`scaled=True`: wind/5, (target − 60)/40, and
  200 + 100·o₂ lb), and minimises a Huber loss of the relative miss (see `_LevenbergMarquardt`).

Where the aimer starts decides what it can learn. Distance is smooth in the counterweight only
up to about 520 lb (from about 560 lb the sling wraps and throws backwards, and between 600 and
1,500 lb distance jumps from one throw to the next), and on that light branch 5.9 % of the
evaluation shots (far targets in headwinds) are out of reach: the best any aimer confined to it
can do is a 0.61 % mean and 2.39 % 95th-percentile relative miss (the reach table of
`python comparisons/bench_aimer.py`). With a counterweight of about 3,000 lb the distance is smooth and monotone in the
release angle from the jump near 36° up to 90°, nearly independent of the weight, and reaches all
but 0.7 % of the shots (bound: 0.09 % mean, 0 % p95). So `train_seeded` starts `lm` there
(`heavy_start`: 70°, 3,200 lb): the seeded Glorot weights with the last layer's biases moved.
The blog's aimer, from Flux's plain initialisation, worked on the light branch.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from tqdm import tqdm

from dprl.envs import trebuchet
from dprl.train import policies
from dprl.train.result import TrainingResult

HUBER_PCT = 0.5  # the Levenberg–Marquardt loss is quadratic in the relative miss up to this, linear beyond
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


def aimer_loss(model, winds, targets, scaled=False, shoot=trebuchet.shoot):
    """Mean squared miss (m²) over a batch, backpropagated through the simulator; `shoot` is
    any differentiable (wind, angle_deg, weight_lb) -> distance, such as the Julia trebuchet
    through `dprl.julia.function`."""
    angle, weight = aim(model, winds, targets, scaled)
    valid = (weight > MIN_WEIGHT_LB) & (angle > 0) & (angle < 90)
    distance = shoot(winds, torch.where(valid, angle, 45.0), torch.where(valid, weight, 200.0))
    return torch.where(valid, (distance - targets) ** 2, 0.0).mean()


def shots(rng: np.random.Generator, n: int):
    """(winds, targets): wind ~ N(0, 5²) m/s (Gaussian, as the original), target ~ U(20, 100) m."""
    return WIND_STD * rng.standard_normal(n), rng.uniform(*TARGET_RANGE, n)


def evaluation_shots(n: int = 1000):
    return shots(np.random.default_rng(EVALUATION_SEED), n)


@torch.no_grad()
def throw_misses(winds, targets, angle, weight):
    """|distance − target| (m) of each throw aimed at (angle, weight), and whether it landed; a
    failed throw, or an aim out of range, misses by the whole target."""
    winds, targets, angle, weight = (torch.as_tensor(v, dtype=torch.float64) for v in (winds, targets, angle, weight))
    valid = (weight > MIN_WEIGHT_LB) & (angle > 0) & (angle < 90)
    result = trebuchet.launch(winds, torch.where(valid, angle, 45.0), torch.where(valid, weight, 200.0))
    landed = valid & (result.status == trebuchet.LANDED)
    return torch.where(landed, (result.distance - targets).abs(), targets), landed


@torch.no_grad()
def misses(model, winds, targets, scaled=False):
    """`throw_misses` of the network's aim for each (wind, target)."""
    winds = torch.as_tensor(winds, dtype=torch.float64)
    targets = torch.as_tensor(targets, dtype=torch.float64)
    return throw_misses(winds, targets, *aim(model, winds, targets, scaled))


def miss_metrics(miss, landed, targets) -> dict:
    """Mean absolute miss (m), mean relative and 95th-percentile relative miss (%), failures."""
    relative = 100 * miss / torch.as_tensor(targets, dtype=torch.float64)
    return {
        "mean_abs_miss_m": miss.mean().item(),
        "mean_rel_miss_pct": relative.mean().item(),
        "p95_rel_miss_pct": torch.quantile(relative, 0.95).item(),
        "failed_throws": int((~landed).sum()),
    }


def evaluate(model, winds, targets, scaled=False) -> dict:
    """Misses on a fixed set: mean absolute (m), mean relative and 95th-percentile relative (%)."""
    return miss_metrics(*misses(model, winds, targets, scaled), targets)


class _LevenbergMarquardt:
    """Damped Gauss-Newton steps on a fixed set of shots, minimising Σ huber(100·miss/target).

    The relative miss is what the goal measures. Huber (quadratic up to HUBER_PCT, linear
    beyond) bounds the pull of the few shots no smooth aim reaches: they sit at a jump of the
    distance, where the linearised step promises what the throw does not deliver, and with
    plain squares they force the damping up for every other shot."""

    def __init__(self, model, winds, targets, scaled):
        self.model, self.winds, self.targets, self.scaled = model, winds, targets, scaled
        self.damping, self.rise = 1000.0, 2.0
        self.shots = 0  # throws simulated, rejected trial steps included

    def _aims(self):
        """`aim` of every shot, with each Linear layer's input and output (pre-activation) kept."""
        inputs, outputs = [], []

        def keep(layer, args, output):
            inputs.append(args[0])
            outputs.append(output)

        hooks = [layer.register_forward_hook(keep) for layer in self.model if isinstance(layer, torch.nn.Linear)]
        try:
            angle, weight = aim(self.model, self.winds, self.targets, self.scaled)
        finally:
            for hook in hooks:
                hook.remove()
        return angle, weight, inputs, outputs

    def residuals(self, jacobian=False):
        with torch.set_grad_enabled(jacobian):
            aimed_angle, aimed_weight, inputs, outputs = self._aims()
        valid = (aimed_weight > MIN_WEIGHT_LB) & (aimed_angle > 0) & (aimed_angle < 90)
        angle = torch.where(valid, aimed_angle, 45.0).detach().requires_grad_(jacobian)
        weight = torch.where(valid, aimed_weight, 200.0).detach().requires_grad_(jacobian)
        distance = trebuchet.shoot(self.winds, angle, weight)
        self.shots += len(self.winds)
        miss = torch.where(valid, distance - self.targets, self.targets)  # a failed throw misses by the whole target
        # ψ with ψ² = 2·huber(r) for r = 100·miss/target; its slope is 1 inside, c/|ψ| outside
        relative = (100 * miss / self.targets).detach()
        outside = relative.abs() > HUBER_PCT
        residual = torch.where(outside, relative.sign() * (2 * HUBER_PCT * relative.abs() - HUBER_PCT**2).sqrt(), relative)
        if not jacobian:
            return residual
        slope = 100 / self.targets * torch.where(outside, HUBER_PCT / residual.abs(), 1.0)
        d_angle, d_weight = torch.autograd.grad(distance.sum(), (angle, weight))  # each shot's own partials
        # Row i of the Jacobian is the gradient of d_angle_i·angle_i + d_weight_i·weight_i. A shot's
        # outputs depend on its own input only, so one backward pass gives every shot's gradient at
        # each layer's output, and a Linear layer's weight gradient is its outer product with the input.
        chained = (d_angle * aimed_angle + d_weight * aimed_weight).sum()
        at_outputs = torch.autograd.grad(chained, outputs)
        rows = []
        for x, g in zip(inputs, at_outputs):
            rows += [(g[:, :, None] * x.detach()[:, None, :]).flatten(1), g]
        return residual, torch.cat(rows, dim=1) * (valid * slope)[:, None]

    def step(self) -> float:
        """One accepted step (up to 8 tries); returns the mean of ψ². The damping follows Nielsen's
        rule: scaled by how well the linearised loss predicted the actual decrease."""
        residual, jacobian = self.residuals(jacobian=True)
        loss = (residual**2).mean().item()
        gram = jacobian @ jacobian.T
        identity = torch.eye(len(residual), dtype=residual.dtype)
        for _ in range(8):
            # The dual form: δ = −Jᵀ (J Jᵀ + λI)⁻¹ r, a symmetric positive-definite solve the size of the batch.
            factor = torch.linalg.cholesky(gram + self.damping * identity)
            delta = -jacobian.T @ torch.cholesky_solve(residual[:, None], factor)[:, 0]
            predicted = loss - ((residual + jacobian @ delta) ** 2).mean().item()
            saved = [p.detach().clone() for p in self.model.parameters()]
            with torch.no_grad():
                offset = 0
                for p in self.model.parameters():
                    p += delta[offset : offset + p.numel()].reshape(p.shape)
                    offset += p.numel()
            trial = (self.residuals() ** 2).mean().item()
            if trial < loss:
                gain = (loss - trial) / max(predicted, 1e-300)
                self.damping = max(self.damping * max(1 / 3, 1 - (2 * gain - 1) ** 3), 1e-8)
                self.rise = 2.0
                return trial
            with torch.no_grad():
                for p, old in zip(self.model.parameters(), saved):
                    p.copy_(old)
            self.damping *= self.rise
            self.rise *= 2
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
    if time_budget is not None and not (math.isfinite(time_budget) and time_budget > 0):
        raise ValueError(f"time_budget must be a finite number of seconds above 0, or None; got {time_budget}")
    if not (math.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"learning_rate must be finite and above 0; got {learning_rate}")
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
    bar = tqdm(total=updates, desc=f"trebuchet aimer ({optimizer})", unit="update", disable=not progress)
    evaluations = _Evaluations(result, evaluation, scaled, stop_at, bar, on_evaluation)

    def thrown(update):
        return lm.shots if optimizer == "lm" else update * batch_size  # every simulated throw is one one-step episode

    try:
        done = evaluation is not None and evaluations.record(0, model, thrown(0))
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
            out_of_time = evaluations.out_of_time(time_budget)
            if evaluation is not None and (update % evaluate_every == 0 or update == updates or out_of_time):
                done = evaluations.record(update, model, thrown(update))
            if out_of_time:
                break
        result.finished = True
    except KeyboardInterrupt:
        pass
    finally:
        bar.close()
        result.weights = policies.weights(model)
    return result


class _Evaluations:
    """The aimer's bookkeeping at each evaluation, shared by the PyTorch and the Julia trainer: the
    misses on the evaluation set, the clocks, the checkpoint callback and the stopping rule."""

    def __init__(self, result, evaluation, scaled, stop_at, bar, on_evaluation):
        self.result, self.evaluation, self.scaled, self.stop_at = result, evaluation, scaled, stop_at
        self.bar, self.on_evaluation = bar, on_evaluation
        self.start = time.perf_counter()

    def out_of_time(self, time_budget) -> bool:
        return time_budget is not None and time.perf_counter() - self.start > time_budget

    def record(self, update, model, thrown) -> bool:
        """Evaluate `model` after `update` updates and `thrown` simulated throws; True to stop."""
        metrics = evaluate(model, *self.evaluation, scaled=self.scaled)
        result = self.result
        result.extra["metrics"].append(metrics)
        result.extra["updates"].append(update)
        result.scores.append(metrics["mean_rel_miss_pct"])
        result.episodes.append(thrown)
        result.env_steps.append(thrown)
        result.wall_time.append(time.perf_counter() - self.start)
        self.bar.set_postfix(rel_miss=f"{metrics['mean_rel_miss_pct']:.2f}%", p95=f"{metrics['p95_rel_miss_pct']:.2f}%")
        if self.on_evaluation is not None:
            result.weights = policies.weights(model)
            self.on_evaluation(result)
        return self.stop_at is not None and all(metrics[k] <= v for k, v in self.stop_at.items())


# Julia reports to Python this often (updates), for the progress bar and Ctrl-C; it evaluates less often.
JULIA_REPORT_EVERY = 256


def train_aimer_julia(
    weights,
    winds,
    targets,
    *,
    learning_rate: float = 1e-3,
    batch_size: int = 1,
    scaled: bool = False,
    evaluation=None,
    evaluate_every: int = 100,
    time_budget: float | None = None,
    stop_at: dict | None = None,
    progress: bool = True,
    on_evaluation=None,
) -> TrainingResult:
    """`train_aimer(optimizer="adam")` run by its Julia twin (`DPRL.Train.train_aimer`, one Julia
    thread), with the same weights, shots, evaluation and result as the PyTorch path: Julia trains
    and calls back every few hundred updates; the evaluation runs here, in PyTorch, on the weights
    Julia hands back. Needs Julia (`dprl.julia`); Ctrl-C returns what finished."""
    from dprl import julia

    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1; got {batch_size}")
    winds, targets = np.asarray(winds, dtype=np.float64), np.asarray(targets, dtype=np.float64)
    if winds.shape != targets.shape or winds.ndim != 1:
        raise ValueError(f"winds and targets must be 1-D of one length; got {winds.shape} and {targets.shape}")
    updates = (len(winds) + batch_size - 1) // batch_size
    result = TrainingResult(
        trainer="trebuchet",
        config={"optimizer": "adam", "backend": "julia", "learning_rate": learning_rate, "batch_size": batch_size, "scaled": scaled,
                "samples": len(winds), "evaluate_every": evaluate_every, "time_budget": time_budget, "stop_at": stop_at},
        extra={"metrics": [], "updates": []},
    )
    model = policies.load_weights(policies.aimer_policy(), weights)
    # Two shots first, so that Julia compiles the trainer before the clock starts (as PyTorch needs no compile).
    julia.train_aimer(weights, winds[:2], targets[:2], learning_rate=learning_rate, batch_size=1, scaled=scaled,
                      evaluate_every=1, on_evaluation=lambda update, layers: False)
    bar = tqdm(total=updates, desc="trebuchet aimer (adam, Julia)", unit="update", disable=not progress)
    evaluations = _Evaluations(result, evaluation, scaled, stop_at, bar, on_evaluation)
    state = {"evaluated": None, "interrupted": False}

    def report(update, layers) -> bool:
        try:  # Ctrl-C reaches Python only here, between Julia's updates: stop Julia cleanly
            bar.update(update - bar.n)
            policies.load_weights(model, layers)
            result.weights = layers
            last = state["evaluated"]
            out_of_time = evaluations.out_of_time(time_budget)
            if evaluation is None or not (last is None or update - last >= evaluate_every or update == updates or out_of_time):
                return out_of_time
            state["evaluated"] = update
            return evaluations.record(update, model, update * batch_size) or out_of_time
        except KeyboardInterrupt:
            state["interrupted"] = True
            return True

    try:
        trained = julia.train_aimer(weights, winds, targets, learning_rate=learning_rate, batch_size=batch_size, scaled=scaled,
                                    time_budget=time_budget, evaluate_every=min(JULIA_REPORT_EVERY, max(1, evaluate_every)),
                                    on_evaluation=report)
        result.losses = trained["losses"].tolist()
        result.weights = trained["weights"]
        done = len(result.losses)
        if evaluation is not None and state["evaluated"] != done and not state["interrupted"]:
            policies.load_weights(model, result.weights)
            evaluations.record(done, model, done * batch_size)
        result.finished = not state["interrupted"]
    except KeyboardInterrupt:
        pass
    finally:
        bar.close()
    return result


def heavy_start(weights, scaled: bool = True, angle_deg: float = 70.0, weight_lb: float = 3200.0):
    """`weights` with the last layer's biases set so the aimer starts near (angle_deg, weight_lb):
    in the heavy-counterweight regime, where distance is smooth in the angle (module docstring)."""
    *hidden, (last_weight, last_bias) = [(np.array(w, dtype=np.float64), np.array(b, dtype=np.float64)) for w, b in weights]
    last_bias[0] = np.log(angle_deg / (90 - angle_deg))  # σ⁻¹(angle/90)
    last_bias[1] = (weight_lb - 200) / 100 if scaled else weight_lb - 200
    return [*hidden, (last_weight, last_bias)]


BACKENDS = ("torch", "julia")


def train_seeded(seed: int, *, optimizer: str = "lm", samples: int | None = None, start: str | None = None,
                 backend: str = "torch", **kwargs) -> TrainingResult:
    """`train_aimer` from Flux 0.7's initialisation (seeded) on seeded shots, evaluated on the fixed
    1,000-shot evaluation set. Defaults: lm on 2,048 shots with scaled inputs from `heavy_start`;
    adam on 100,000 shots, batch 1, learning rate 1e-3, from the plain initialisation (the 2019
    setting). `start` is "heavy" or "plain" to choose. `backend="julia"` trains adam in Julia
    (`train_aimer_julia`) from the same weights and shots."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}; got {backend!r}")
    if backend == "julia" and optimizer != "adam":
        raise ValueError(f"the Julia backend trains with adam only (Levenberg–Marquardt is PyTorch's); got optimizer={optimizer!r}")
    start = start or ("heavy" if optimizer == "lm" else "plain")
    if start not in ("heavy", "plain"):
        raise ValueError(f"start must be 'heavy' or 'plain'; got {start!r}")
    if optimizer == "lm":
        samples = samples or 2048
        kwargs.setdefault("scaled", True)
        kwargs.setdefault("evaluate_every", 5)
    else:
        samples = samples or 100_000
    winds, targets = shots(np.random.default_rng(seed), samples)
    weights = policies.glorot_weights(policies.aimer_policy, seed)
    if start == "heavy":
        weights = heavy_start(weights, scaled=kwargs.get("scaled", False))
    if backend == "julia":
        result = train_aimer_julia(weights, winds, targets, evaluation=evaluation_shots(), **kwargs)
    else:
        result = train_aimer(weights, winds, targets, optimizer=optimizer, evaluation=evaluation_shots(), **kwargs)
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
