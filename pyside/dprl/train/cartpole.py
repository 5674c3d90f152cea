"""CartPole by backpropagation through the dynamics (docs/original-2019.md §3.2), in the style of CleanRL.

Twin of `julia/src/train/cartpole.jl`; settings in `dprl.config.CartPoleConfig`. The controller's tanh output passes a sign with a
straight-through gradient, so the force is ±10 N while gradients flow as if the sign were the
identity. The training signal is not the environment's reward but the product of the margins to
the x and θ limits after each step; each window of 8 steps minimises the mean squared gap to its
best value, then the state is detached and the next window starts from it.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import torch
from tqdm import tqdm

from dprl.config import CartPoleConfig, with_settings
from dprl.envs import cartpole
from dprl.results import TrainingResult, interruptible
from dprl.train.divergence import checked_step
from dprl.train import policies


class _StraightThroughSign(torch.autograd.Function):
    """sign(x) forward; the upstream gradient passes through unchanged."""

    @staticmethod
    def forward(ctx, x):
        return torch.sign(x)

    @staticmethod
    def backward(ctx, grad):
        return grad


def ste_sign(x):
    return _StraightThroughSign.apply(x)


def margin_reward(params: cartpole.CartPoleParams, state):
    """The surrogate reward after a step: the product of the margins to the x and θ limits."""
    return torch.clamp_min(params.x_threshold - state[..., 0].abs(), 0.0) * torch.clamp_min(
        params.theta_threshold - state[..., 2].abs(), 0.0
    )


def best_margin(params: cartpole.CartPoleParams) -> float:
    """The best surrogate reward, 2.4 × 0.20944."""
    return params.x_threshold * params.theta_threshold


def cartpole_window(policy, state, n, params):
    """Up to `n` steps from `state`: (mean of (r_t − R*)², final state, steps taken, done)."""
    loss = 0.0
    s = state
    taken = 0
    done = False
    for _ in range(n):
        action = ste_sign(policy(s)[..., 0])
        s, _, done_t = cartpole.step(params, s, action)
        loss = loss + (margin_reward(params, s) - best_margin(params)) ** 2
        taken += 1
        done = bool(done_t)
        if done:
            break
    return loss / taken, s, taken, done


@torch.no_grad()
def cartpole_returns(policy, states, max_steps, params):
    """Gymnasium returns of a batch of episodes under the sign of the policy (no learning), on its device."""
    s = torch.as_tensor(states, dtype=torch.float64, device=policies.model_device(policy)).clone()
    alive = torch.ones(s.shape[0], dtype=torch.bool, device=s.device)
    returns = torch.zeros(s.shape[0], dtype=torch.float64, device=s.device)
    for _ in range(max_steps):
        if not bool(alive.any()):
            break
        nxt, _, done = cartpole.step(params, s, torch.sign(policy(s)[:, 0]))
        returns += alive.to(torch.float64)  # the terminating step earns its reward too
        s = torch.where(alive[:, None], nxt, s)
        alive = alive & ~done
    return returns


def train_cartpole(weights, initial_states, evaluation_states, config: CartPoleConfig | None = None, *, progress: bool = True,
                   on_episode=None, policy=None, device=None, **settings) -> TrainingResult:
    """Rows of `initial_states` start training episodes, each cut into windows of `config.window`
    steps with one Adam update each; rows of `evaluation_states` start the evaluation episodes
    after each. Stops once the evaluation mean reaches `config.solved_score`. `settings` override
    fields of `config` (default CartPoleConfig()).

    `on_episode(result)` is called after every episode (for checkpoints). Ctrl-C returns what was
    finished, with `finished = False`. `policy` (a module mapping states (..., 4) to (..., 1), such
    as `dprl.julia.module` of the Julia policy) is trained in place of the PyTorch policy loaded
    with `weights`, which must then be None. `device` (default the CPU) runs the policy loaded
    from `weights` and the episodes there.
    """
    config = with_settings(config or CartPoleConfig(), settings)
    device = policies.resolve_device(device)
    params = cartpole.CartPoleParams()
    if (policy is None) == (weights is None):
        raise ValueError("give either weights (the PyTorch policy's (weight, bias) pairs) or policy (a module), not both or neither")
    if policy is None:
        policy = policies.load_weights(policies.cartpole_policy(), weights).to(device)
    optimizer = torch.optim.Adam(policy.parameters(), lr=config.learning_rate)
    initial_states = np.asarray(initial_states, dtype=np.float64)
    evaluation_states = np.asarray(evaluation_states, dtype=np.float64).reshape(-1, 4)
    result = TrainingResult(trainer="cartpole", config={**dataclasses.asdict(config), "episodes": len(initial_states),
                                                        "evaluation_episodes": len(evaluation_states)}, extra={"episode_lengths": []})
    start, steps = time.perf_counter(), 0
    bar = tqdm(total=len(initial_states), desc="cartpole", unit="episode", disable=not progress)
    with interruptible(result, bar, lambda: policies.weights(policy)):
        for episode, initial in enumerate(initial_states, start=1):
            state = torch.as_tensor(initial, dtype=torch.float64, device=device)
            t, done = 0, False
            while not done and t < config.max_steps:
                loss, state, taken, done = cartpole_window(policy, state, min(config.window, config.max_steps - t), params)
                optimizer.zero_grad()
                loss.backward()
                result.losses.append(checked_step(len(result.losses) + 1, policy.parameters(), optimizer.step, loss))
                state = state.detach()  # truncate BPTT between windows
                t += taken
            steps += t
            result.extra["episode_lengths"].append(t)
            bar.update(1)
            result.weights = policies.weights(policy)
            if len(evaluation_states):
                score = cartpole_returns(policy, evaluation_states, config.max_steps, params).mean().item()
                result.record(score, episodes=episode, env_steps=steps, started=start, bar=bar)
            if on_episode is not None:
                on_episode(result)
            if result.scores and result.scores[-1] >= config.solved_score:
                break
    return result


def cartpole_window_gradient(weights, state, n: int) -> dict:
    """The loss of one `n`-step window from `state` (4,) and its gradients by autograd: {"loss",
    "weights": (weight, bias) pairs in nn.Linear's layout, "state": ∂loss/∂state}."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a whole number of steps, at least 1; got {n!r}")
    model = policies.load_weights(policies.cartpole_policy(), weights)
    state = torch.as_tensor(np.asarray(state, dtype=np.float64)).requires_grad_()
    loss, *_ = cartpole_window(model, state, int(n), cartpole.CartPoleParams())
    grads = torch.autograd.grad(loss, [*model.parameters(), state])
    return {"loss": loss.item(), "weights": [(grads[i].numpy(), grads[i + 1].numpy()) for i in range(0, len(grads) - 1, 2)],
            "state": grads[-1].numpy()}
