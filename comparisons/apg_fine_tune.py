"""Variants of the APG fine-tune (issue 15's −140 goal), measured from saved first-phase weights.

The first phase (`train_pendulum_apg`, APG_UPDATES × APG_BATCH) is run once per seed and its
final weights cached as JSON; each variant then fine-tunes from them and is scored on the seed's
1,000 evaluation starts every 10 updates, as `dprl.recipes.train_seeded_apg` does. With no option it is
`train_seeded_apg`'s own fine-tune (same starts, same figures). Options:

- `--ema B,...`: also score Polyak averages of the weights (B per update);
- `--schedule cos`: the learning rate cosine-decayed to 0 over the updates;
- `--hard F`: the fraction F of each batch's starts moved to |θ| ∈ [2.5, π];
- `--noise S`: Gaussian noise (seeded) of deviation S on the pre-tanh output in training rollouts;
- `--search L`: on the first 256 starts of each batch, closed-loop alternatives (a constant ±2 N·m
  for the first 2, 6, …, 26 steps, then the policy); where one beats the policy by over 10, the
  loss gains L × (share of such starts) × the mean squared error between the policy's torque and
  that constant along the prefix's states. Why: the losses are near-bottom starts whose first
  swing falls short (see docs/notes/2026-12-04-pendulum-apg-plateau.md), a choice the gradient cannot flip.
- `--resume FILE`: start from a previous run's final weights (fresh Adam, another start stream);
- `--hidden H1,H2`: another width for the network's two hidden layers (default 24,48, the 2019
  network), with its own first phase (cached apart) from its own Glorot weights.

Run: `OMP_NUM_THREADS=1 python comparisons/apg_fine_tune.py --seed 3 --search 0.2` (one thread,
as the figures in the notes); writes comparisons/results/apg_fine_tune/<name>_seed<N>.json.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from dprl.config import APGConfig
from dprl.envs import pendulum
from dprl.recipes import APG_BATCH, APG_FINE_TUNE, APG_UPDATES, seeded_inputs
from dprl.train import pendulum as apg
from dprl.train import policies

RESULTS = Path(__file__).parent / "results" / "apg_fine_tune"
SEARCH_TORQUES, SEARCH_PREFIXES, SEARCH_STARTS, SEARCH_MARGIN = (-2.0, 2.0), range(2, 30, 4), 256, 10.0


WIDTHS_2019 = (24, 48)  # the 2019 network's hidden widths (policies.pendulum_policy)


def widths(text: str) -> tuple:
    """`--hidden`'s value, two positive widths "H1,H2"."""
    try:
        hidden = tuple(int(h) for h in text.split(","))
    except ValueError:
        hidden = ()
    if len(hidden) != 2 or min(hidden) < 1:
        raise argparse.ArgumentTypeError(f"takes two positive widths, H1,H2; got {text!r}")
    return hidden


def network(hidden):
    """A factory of the 2019 pendulum network with hidden widths `hidden`."""
    if tuple(hidden) == WIDTHS_2019:
        return policies.pendulum_policy
    h1, h2 = hidden
    return lambda: nn.Sequential(nn.Linear(3, h1), nn.ReLU(), nn.Linear(h1, h2), nn.ReLU(), nn.Linear(h2, 1)).double()


def first_phase(seed: int, cache: Path, hidden=WIDTHS_2019) -> dict:
    """The first phase's final weights, score, seconds and env steps; computed once per seed."""
    if cache.exists():
        return json.loads(cache.read_text())
    builtin = policies.pendulum_policy
    policies.pendulum_policy = network(hidden)  # the trainer builds policies.pendulum_policy(); swapped for this run only
    try:
        weights, batches, evaluation = seeded_inputs(seed, APG_UPDATES, APG_BATCH, 1000)
        start = time.perf_counter()
        result = apg.train_pendulum_apg(weights, batches, evaluation, progress=False)
    finally:
        policies.pendulum_policy = builtin
    out = {"weights": [(w.tolist(), b.tolist()) for w, b in result.weights], "best": max(result.scores),
           "seconds": time.perf_counter() - start, "env_steps": result.env_steps[-1]}
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(out))
    return out


def noisy_cost(policy, states, params, decay, noise, generator):
    """`apg_cost` with Gaussian noise on the pre-tanh output (none when `noise` is 0)."""
    s, cost = states, 0.0
    for _ in range(APGConfig.horizon):
        observation = pendulum.observe(params, s)
        output = policy(observation)[..., 0] - policy(apg.mirror(observation))[..., 0]
        if noise:
            output = output + noise * torch.randn(output.shape, generator=generator, dtype=torch.float64)
        s, r, _ = pendulum.step(params, s, apg.torque(params, output))
        s = apg.decay_gradient(s, decay)
        cost = cost + (-r)
    return cost


@torch.no_grad()
def best_alternatives(policy, starts, params):
    """Per start: the gain of the best closed-loop alternative over the policy, its torque and prefix."""
    n, plans = starts.shape[0], [(c, k) for c in SEARCH_TORQUES for k in SEARCH_PREFIXES]
    torques = torch.tensor([c for c, _ in plans], dtype=torch.float64).repeat_interleave(n)
    prefixes = torch.tensor([k for _, k in plans]).repeat_interleave(n)
    s, total = starts.repeat(len(plans), 1), torch.zeros(n * len(plans), dtype=torch.float64)
    for t in range(APGConfig.horizon):
        u = torch.where(prefixes > t, torques, apg.apg_torque(params, policy, pendulum.observe(params, s)))
        s, r, _ = pendulum.step(params, s, u)
        total += r
    total = total.view(len(plans), n)
    best, rows = total.max(0)
    columns = torch.arange(n)
    gain = best - apg.apg_returns(policy, starts, APGConfig.horizon, params)
    return gain, torques.view(len(plans), n)[rows, columns], prefixes.view(len(plans), n)[rows, columns]


@torch.no_grad()
def prefix_states(starts, torques, prefixes, params):
    """The states along each start's forced prefix, and the torque it applied there."""
    states, targets, s = [], [], starts.clone()
    for t in range(int(prefixes.max())):
        keep = prefixes > t
        states.append(s[keep])
        targets.append(torques[keep])
        s, _, _ = pendulum.step(params, s, torques)
    return torch.cat(states), torch.cat(targets)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--name", default=None)
    parser.add_argument("--updates", type=int, default=APG_FINE_TUNE["updates"])
    parser.add_argument("--batch", type=int, default=APG_FINE_TUNE["batch"])
    parser.add_argument("--lr", type=float, default=APG_FINE_TUNE["learning_rate"])
    parser.add_argument("--decay", type=float, default=APG_FINE_TUNE["gradient_decay"])
    parser.add_argument("--schedule", choices=("const", "cos"), default="const")
    parser.add_argument("--ema", default="")
    parser.add_argument("--hard", type=float, default=0.0)
    parser.add_argument("--noise", type=float, default=0.0)
    parser.add_argument("--search", type=float, default=0.0)
    parser.add_argument("--resume", type=Path, default=None)
    parser.add_argument("--hidden", type=widths, default=WIDTHS_2019, help="the two hidden widths, H1,H2 (default 24,48)")
    args = parser.parse_args(argv)
    hidden = args.hidden
    torch.set_num_threads(1)
    width = "" if hidden == WIDTHS_2019 else f"_h{hidden[0]}x{hidden[1]}"
    name = args.name or f"fine_tune{width}"
    params = pendulum.PendulumParams(variant="gymnasium")
    phase = first_phase(args.seed, RESULTS / f"phase1{width}_seed{args.seed}.json", hidden)
    weights = json.loads(args.resume.read_text())["final_weights"] if args.resume else phase["weights"]
    evaluation = apg.evaluation_starts(args.seed, 1000)
    policy = policies.load_weights(network(hidden)(), weights)
    rates = [float(b) for b in args.ema.split(",") if b]
    averages = [policies.load_weights(network(hidden)(), weights) for _ in rates]
    optimizer = torch.optim.Adam(policy.parameters(), lr=args.lr)
    # train_seeded_apg's fine-tune stream; a resumed run draws fresh starts.
    starts = apg.start_states(np.random.default_rng([args.seed, 4] if args.resume else [args.seed, 2]), args.updates, args.batch)
    if args.hard:
        rng, n = np.random.default_rng([args.seed, 3]), int(args.hard * args.batch)
        starts[:, :n, 0] = rng.uniform(2.5, np.pi, (args.updates, n)) * rng.choice([-1, 1], (args.updates, n))
    generator = torch.Generator().manual_seed(7 * args.seed + 5)
    log, start, steps = [], time.perf_counter(), phase["env_steps"]  # every simulated step, the search's too
    for k in range(1, args.updates + 1):
        if args.schedule == "cos":
            optimizer.param_groups[0]["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * (k - 1) / args.updates))
        batch = torch.as_tensor(starts[k - 1])
        loss = noisy_cost(policy, batch, params, args.decay, args.noise, generator).mean() / APGConfig.horizon
        steps += args.batch * APGConfig.horizon
        if args.search:
            searched = batch[:SEARCH_STARTS]
            gain, torques, prefixes = best_alternatives(policy, searched, params)
            steps += len(searched) * APGConfig.horizon * (len(SEARCH_TORQUES) * len(SEARCH_PREFIXES) + 1)
            better = gain > SEARCH_MARGIN
            if better.any():
                states, targets = prefix_states(searched[better], torques[better], prefixes[better], params)
                steps += int(prefixes[better].max()) * int(better.sum())
                imitation = ((apg.apg_torque(params, policy, pendulum.observe(params, states)) - targets) ** 2).mean()
                loss = loss + args.search * better.double().mean() * imitation
        optimizer.zero_grad()
        loss.backward()
        apg.clip_global_norm([p.grad for p in policy.parameters()], APGConfig.max_grad_norm)
        optimizer.step()
        with torch.no_grad():
            for rate, average in zip(rates, averages):
                for a, p in zip(average.parameters(), policy.parameters()):
                    a.mul_(rate).add_(p, alpha=1 - rate)
        if k % APGConfig.evaluate_every == 0 or k == args.updates:
            scores = [apg.apg_returns(m, evaluation, 200, params).mean().item() for m in (policy, *averages)]
            log.append({"update": k, "scores": scores, "seconds": time.perf_counter() - start, "env_steps": steps})
            print(k, " ".join(f"{s:.2f}" for s in scores), f"{log[-1]['seconds']:.0f} s", flush=True)
    best = max(log, key=lambda row: row["scores"][0])
    out = {"seed": args.seed, "args": {k: str(v) for k, v in vars(args).items()}, "first_phase": {k: phase[k] for k in ("best", "seconds", "env_steps")},
           "best": best["scores"][0], "best_update": best["update"], "env_steps_to_best": best["env_steps"],
           "best_ema": {str(r): max(row["scores"][i + 1] for row in log) for i, r in enumerate(rates)}, "seconds": log[-1]["seconds"], "log": log,
           "final_weights": [(w.tolist(), b.tolist()) for w, b in policies.weights(policy)]}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}_seed{args.seed}.json").write_text(json.dumps(out))
    print(f"seed {args.seed} {name}: best {out['best']:.2f} at fine-tune update {out['best_update']}, {out['seconds']:.0f} s "
          f"(first phase {phase['best']:.2f}, {phase['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
