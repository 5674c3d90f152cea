"""The trebuchet aimer by Levenberg–Marquardt: PyTorch only, with no Julia twin (the fast path).

The network (`dprl.train.trebuchet.aim`) has only 2,226 weights and each shot's miss depends on
the simulator only through ∂distance/∂(angle, weight), so a damped Gauss-Newton step costs one
batched simulation with gradient plus the network's per-shot Jacobian (one backward pass). It
needs the inputs and the counterweight output on a unit scale (`scaled=True`: wind/5,
(target − 60)/40, and 200 + 100·o₂ lb), and minimises a Huber loss of the relative miss (see
`_LevenbergMarquardt`), on a fixed training set: `dprl.recipes.train_seeded_aimer` uses 2,048 shots from the heavy
start, where it reaches `dprl.goals.AIMER_GOAL` in about 40 s.
"""

from __future__ import annotations

import dataclasses

import torch
from tqdm import tqdm

from dprl.config import LevenbergMarquardtConfig, with_settings
from dprl.envs import trebuchet, trebuchet_fast
from dprl.results import TrainingResult, interruptible
from dprl.train.divergence import checked_step
from dprl.train import policies
from dprl.train.trebuchet import Evaluations, shot_tensors, aim

HUBER_PCT = 0.5  # the loss is quadratic in the relative miss up to this, linear beyond


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
        valid, angle, weight = trebuchet.placeholder_aim(aimed_angle, aimed_weight)
        angle, weight = angle.detach().requires_grad_(jacobian), weight.detach().requires_grad_(jacobian)
        distance = trebuchet_fast.shoot(self.winds, angle, weight)
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
        identity = torch.eye(len(residual), dtype=residual.dtype, device=residual.device)
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


def train_aimer_lm(weights, winds, targets, config: LevenbergMarquardtConfig | None = None, *, evaluation=None,
                   stop_at: dict | None = None, progress: bool = True, on_evaluation=None, device=None, **settings) -> TrainingResult:
    """Levenberg–Marquardt steps on all of (winds, targets) at once, up to `config.max_updates`,
    from the (weight, bias) pairs `weights`; `settings` override fields of `config` (default
    LevenbergMarquardtConfig()). Evaluation, `stop_at`, `on_evaluation` and Ctrl-C as in
    `dprl.train.trebuchet.train_aimer`; its episodes count every simulated throw, rejected trial
    steps included. `device` (default the CPU) runs the network and the throws there."""
    config = with_settings(config or LevenbergMarquardtConfig(), settings)
    device = policies.resolve_device(device)
    model = policies.load_weights(policies.aimer_policy(), weights).to(device)
    winds, targets = shot_tensors(winds, targets, device)
    lm = _LevenbergMarquardt(model, winds, targets, config.scaled)
    result = TrainingResult(trainer="trebuchet", config={"optimizer": "lm", **dataclasses.asdict(config), "batch_size": len(winds),
                                                         "samples": len(winds), "stop_at": stop_at}, extra={"metrics": [], "updates": []})
    bar = tqdm(total=config.max_updates, desc="trebuchet aimer (lm)", unit="update", disable=not progress)
    evaluations = Evaluations(result, evaluation, config.scaled, stop_at, bar, on_evaluation)
    with interruptible(result, bar, lambda: policies.weights(model)):
        done = evaluation is not None and evaluations.record(0, model, 0)
        for update in range(1, config.max_updates + 1):
            if done:
                break
            result.losses.append(checked_step(update, model.parameters(), lm.step))
            bar.update(1)
            out_of_time = evaluations.out_of_time(config.time_budget)
            if evaluation is not None and (update % config.evaluate_every == 0 or update == config.max_updates or out_of_time):
                done = evaluations.record(update, model, lm.shots)
            if out_of_time:
                break
    return result
