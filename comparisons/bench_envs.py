"""Batched environment throughput: raw steps per second of the pure PyTorch step functions.

    python comparisons/bench_envs.py [--batches 1 1000 1000000] [--dtype float32] [--device cpu] [--out FILE]

CartPole and Pendulum at each batch size (random actions, done rows reset by mask, no policy),
against Gymnasium's own NumPy `CartPoleVectorEnv` stepped in the same run. Prints a table and
writes JSON. Goal (issue 4): ≥ 10 million CartPole steps/s on 2 cores at the largest batch.

Then the single Gymnasium environments, `gym.make("dprl/CartPole-v1")` and `dprl/Pendulum-v1`,
against Gymnasium's own `CartPole-v1` and `Pendulum-v1` made the same way (wrappers included),
stepped one at a time with random actions and reset at each episode's end. Goal (issue 14): one
step within 3× of Gymnasium's own.

--device runs the PyTorch rows on that device (the same seeded states, drawn on the CPU and
moved); Gymnasium's rows are NumPy and stay on the CPU. A run on another device writes its own
file (bench_envs_<device>.json) unless --out is given.
"""

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from dprl.envs import cartpole, pendulum
from dprl.devices import add_device_argument, benchmark_device

GOAL = 10_000_000
SINGLE_GOAL_RATIO = 3.0  # our single-environment step time over Gymnasium's


def _synchronize(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def steps_per_second(step, batch, seconds=1.0, device="cpu"):
    step()  # warm-up
    _synchronize(device)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        count += 1
    _synchronize(device)  # queued GPU work is part of the time
    return count * batch / (time.perf_counter() - start)


def torch_cartpole(batch, dtype, device="cpu"):
    params = cartpole.CartPoleParams()
    generator = torch.Generator().manual_seed(0)
    state = cartpole.reset_state(params, generator, (batch,), dtype=dtype).to(device)
    actions = torch.where(torch.rand(batch, generator=generator) < 0.5, -1.0, 1.0).to(dtype).to(device)
    fresh = cartpole.reset_state(params, generator, (batch,), dtype=dtype).to(device)

    def step():
        nonlocal state
        state, _, done = cartpole.step(params, state, actions)
        state = torch.where(done[:, None], fresh, state)
        return state

    return step


def torch_pendulum(batch, dtype, device="cpu"):
    params = pendulum.PendulumParams()
    generator = torch.Generator().manual_seed(0)
    state = pendulum.reset_state(params, generator, (batch,), dtype=dtype).to(device)
    actions = (4 * torch.rand(batch, generator=generator) - 2).to(dtype).to(device)

    def step():
        nonlocal state
        state, _, _ = pendulum.step(params, state, actions)
        return state

    return step


def gymnasium_cartpole(batch):
    from gymnasium.envs.classic_control.cartpole import CartPoleVectorEnv

    env = CartPoleVectorEnv(num_envs=batch)
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 2, batch)
    return lambda: env.step(actions)


def single_steps_per_second(env_id, seconds=1.0):
    """Steps per second of one `gym.make(env_id)`, random actions, reset at each episode's end."""
    import gymnasium as gym

    import dprl.envs  # noqa: F401  (registers the dprl/ ids)

    env = gym.make(env_id)
    env.reset(seed=0)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(1000)]
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        _, _, terminated, truncated, _ = env.step(actions[count % 1000])
        count += 1
        if terminated or truncated:
            env.reset()
    return count / (time.perf_counter() - start)


def single_rows(seconds):
    rows = []
    for ours, theirs in (("dprl/CartPole-v1", "CartPole-v1"), ("dprl/Pendulum-v1", "Pendulum-v1")):
        a, b = single_steps_per_second(ours, seconds), single_steps_per_second(theirs, seconds)
        rows.append({"env": ours, "steps_per_s": a, "gymnasium_env": theirs, "gymnasium_steps_per_s": b, "slowdown": b / a})
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 1000, 1_000_000])
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--seconds", type=float, default=1.0, help="time per case")
    add_device_argument(parser, "the PyTorch rows")
    args = parser.parse_args()
    device_type = benchmark_device(parser, args, "bench_envs")
    dtype = getattr(torch, args.dtype)
    rows = []
    for batch in args.batches:
        with torch.no_grad():
            row = {
                "batch": batch,
                "cartpole_torch": steps_per_second(torch_cartpole(batch, dtype, args.device), batch, args.seconds, args.device),
                "pendulum_torch": steps_per_second(torch_pendulum(batch, dtype, args.device), batch, args.seconds, args.device),
                "cartpole_gymnasium_numpy": steps_per_second(gymnasium_cartpole(batch), batch, args.seconds),
            }
        rows.append(row)
    print(f"{'batch':>9} | {'CartPole torch':>15} | {'Pendulum torch':>15} | {'CartPole Gymnasium NumPy':>25}   (steps/s, {args.dtype}, torch on {args.device})")
    print("-" * 78)
    for r in rows:
        print(f"{r['batch']:>9,} | {r['cartpole_torch']:>15,.0f} | {r['pendulum_torch']:>15,.0f} | {r['cartpole_gymnasium_numpy']:>25,.0f}")
    largest = max(rows, key=lambda r: r["batch"])
    met = largest["cartpole_torch"] >= GOAL
    print(f"goal ≥ {GOAL:,} CartPole steps/s at the largest batch ({largest['batch']:,}): {'met' if met else 'not met'}")
    single = single_rows(args.seconds)
    print(f"\n{'single environment':<18} | {'steps/s':>9} | {'Gymnasium':<12} | {'steps/s':>9} | slowdown")
    print("-" * 68)
    for r in single:
        print(f"{r['env']:<18} | {r['steps_per_s']:>9,.0f} | {r['gymnasium_env']:<12} | {r['gymnasium_steps_per_s']:>9,.0f} | {r['slowdown']:.2f}×")
    single_met = all(r["slowdown"] <= SINGLE_GOAL_RATIO for r in single)
    print(f"goal: one step within {SINGLE_GOAL_RATIO:g}× of Gymnasium's own: {'met' if single_met else 'not met'}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "command": "python comparisons/bench_envs.py" + ("" if device_type == "cpu" else f" --device {args.device}"),
        "dtype": args.dtype, "device": args.device, "torch": torch.__version__,
        "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(), "machine": platform.machine(),
        "rows": rows, "goal_cartpole_steps_per_s": GOAL, "goal_met": met,
        "single": single, "single_goal_ratio": SINGLE_GOAL_RATIO, "single_goal_met": single_met,
    }, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
