"""The cross-check: the same values, gradients and learning curves from Julia and from PyTorch.

Every input (states, actions, weights, data) is drawn here, in Python, from seeded NumPy streams and
handed to both stacks, so nothing depends on the two languages' random streams. Each case yields
named float64 arrays from each side; they are compared under the tolerances below.

Modes:
- live: both sides now (needs Julia);
- record DIR: one side's outputs, with their inputs and the versions, to DIR/<case>.json (the Julia
  side normally; `record_from="torch"` records PyTorch itself, to test the machinery);
- against DIR: PyTorch now, on the recorded inputs, against the recorded outputs (no Julia needed).

Tolerances, in the max-norm relative error ‖a − b‖∞ / ‖b‖∞ of each quantity:
- 1e-9 for CartPole and Pendulum values and gradients. Both stacks evaluate the same formulas in the
  same order in float64 (rounding 1.1e-16 a step); a window or episode of up to a few hundred
  steps, with the pendulum's sensitivity, stays many orders of magnitude under 1e-9, while a wrong
  constant, sign or clip order shows at 1e-4 or more.
- 1e-8 for the trebuchet: about 350 Euler steps, three bisections to the last ulp and event
  brackets decided by signs, each a little more exposed to rounding than one env step.
- 1e-6 for the learning curves over the first 200 updates (or as many as asked for), and for the
  evaluation scores along them: two trainings fed the same inputs start 1 ulp apart (Zygote and
  autograd sum the same gradient terms in different orders) and the gap grows: Adam divides by √v,
  and Pendulum-v1's swing-up is chaotic, so over 200 updates it grows from 1e-16 to about 1e-6 of
  the curve's scale, while a wrong constant, sign or clip order shows at 1e-4 or more from the first
  updates. Past that span divergence is expected: the table shows the update where the two curves
  part (pointwise relative difference above 1e-6) instead of failing. The curve's error is
  max-norm relative like every other quantity's: a pointwise ratio is meaningless where a loss
  nears 0, as the Pendulum-v1 window cost does once the pendulum balances (about 1e-4).
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from dprl import schema
from dprl.arguments import one_line

VALUE_TOLERANCE = 1e-9
TREBUCHET_TOLERANCE = 1e-8
LOSS_TOLERANCE = 1e-6
CURVE_UPDATES = 200  # per-update losses compared under LOSS_TOLERANCE
EXIT_MISMATCH = 1
EXIT_NO_JULIA = 3


@dataclass
class Case:
    name: str
    env: str  # trebuchet | cartpole | pendulum
    make_inputs: Callable  # (rng, updates) -> dict of JSON-able inputs
    torch_side: Callable  # inputs -> dict of arrays
    julia_side: Callable  # (inputs, bridge) -> dict of arrays
    tolerance: float = VALUE_TOLERANCE
    curves: tuple = field(default_factory=tuple)  # output keys that are per-update losses
    learned: tuple = field(default_factory=tuple)  # evaluations along a training run: the curves' tolerance


# ----------------------------------------------------------------------------------------------
# Inputs
# ----------------------------------------------------------------------------------------------
def _glorot(factory_name, seed):
    from dprl.train import policies

    return [(w.tolist(), b.tolist()) for w, b in policies.glorot_weights(getattr(policies, factory_name), seed)]


def _layers(weights):
    return [(np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64)) for w, b in weights]


def _float64(values, **kwargs):
    """A float64 tensor: both stacks are fed, and compute in, float64 (torch's default is float32)."""
    import torch

    return torch.tensor(values, dtype=torch.float64, **kwargs)


def _flatten_gradients(loss, weights, state):
    out = {"loss": np.array([loss])}
    for i, (w, b) in enumerate(weights, start=1):
        out[f"layer{i}_weight"], out[f"layer{i}_bias"] = np.asarray(w), np.asarray(b)
    out["start_state"] = np.asarray(state)
    return out


# ----------------------------------------------------------------------------------------------
# Trebuchet
# ----------------------------------------------------------------------------------------------
def trebuchet_inputs(rng, updates):
    light = np.column_stack([rng.uniform(-10, 10, 8), rng.uniform(15, 75, 8), rng.uniform(50, 400, 8)])
    # and the heavy-counterweight regime the Levenberg–Marquardt aimer works in (dprl.train.trebuchet)
    heavy = np.column_stack([rng.uniform(-10, 10, 4), rng.uniform(40, 85, 4), rng.uniform(1500, 4500, 4)])
    return {"points": np.vstack([light, heavy]).tolist()}


def trebuchet_torch(inputs):
    import torch

    from dprl.envs import trebuchet

    points = _float64(inputs["points"])
    leaves = [points[:, i].clone().requires_grad_(True) for i in range(3)]
    distance = trebuchet.shoot(*leaves)
    gradient = torch.stack(torch.autograd.grad(distance.sum(), leaves), dim=1)
    return {"distance": distance.detach().numpy(), "gradient": gradient.numpy()}


def trebuchet_julia(inputs, jl):
    pairs = [jl.shoot_gradient(*p) for p in inputs["points"]]
    return {"distance": np.array([d for d, _ in pairs]), "gradient": np.stack([g for _, g in pairs])}


LAUNCH_FIELDS = ("distance", "status", "liftoff_time", "release_time", "landing_time", "release_speed")


def trebuchet_launch_inputs(rng, updates):
    # The boundary weights, at random winds and angles: too light (up to about 15.35 lb), released
    # below ground (about 15.36–15.4 lb, never lands), just landing, and where the sling starts to
    # wrap and throw backwards (from about 560 lb); then ordinary throws.
    weights = np.concatenate([rng.uniform(5, 15.3, 3), rng.uniform(15.36, 15.4, 4), rng.uniform(15.45, 16, 3),
                              rng.uniform(540, 700, 6), rng.uniform(50, 400, 4)])
    return {"points": np.column_stack([rng.uniform(-10, 10, len(weights)), rng.uniform(15, 75, len(weights)), weights]).tolist()}


def trebuchet_launch_torch(inputs):
    import torch

    from dprl.envs import trebuchet

    points = torch.tensor(inputs["points"], dtype=torch.float64)
    with torch.no_grad():
        result = trebuchet.launch(points[:, 0], points[:, 1], points[:, 2])
    return {k: getattr(result, k).to(torch.float64).numpy() for k in LAUNCH_FIELDS}


def trebuchet_launch_julia(inputs, jl):
    throws = [jl.launch(*p) for p in inputs["points"]]
    return {k: np.array([t[k] for t in throws], dtype=np.float64) for k in LAUNCH_FIELDS}


# ----------------------------------------------------------------------------------------------
# CartPole
# ----------------------------------------------------------------------------------------------
def cartpole_step_inputs(rng, updates):
    return {"states": (rng.uniform(-1, 1, (16, 4)) * [1.0, 1.0, 0.15, 1.0]).tolist(), "actions": rng.choice([-1.0, 1.0, 0.5, -0.3], 16).tolist(),
            "episode_start": rng.uniform(-0.05, 0.05, 4).tolist(), "episode_actions": rng.choice([-1.0, 1.0], 200).tolist()}


def cartpole_step_torch(inputs):
    from dprl.envs import cartpole

    params = cartpole.CartPoleParams()
    nxt, _, done = cartpole.step(params, _float64(inputs["states"]), _float64(inputs["actions"]))
    s, trajectory = _float64(inputs["episode_start"]), []
    for a in inputs["episode_actions"]:
        s, _, d = cartpole.step(params, s, _float64(a))
        trajectory.append(s.numpy())
        if bool(d):
            break
    return {"next_states": nxt.numpy(), "done": done.numpy().astype(np.float64), "episode": np.array(trajectory)}


def cartpole_step_julia(inputs, jl):
    steps = [jl.cartpole_step(s, a) for s, a in zip(inputs["states"], inputs["actions"])]
    s, trajectory = inputs["episode_start"], []
    for a in inputs["episode_actions"]:
        s, _, d = jl.cartpole_step(s, a)
        trajectory.append(s)
        if d:
            break
    return {"next_states": np.stack([x for x, _, _ in steps]), "done": np.array([float(d) for _, _, d in steps]), "episode": np.array(trajectory)}


def cartpole_window_inputs(rng, updates):
    return {"weights": _glorot("cartpole_policy", 11), "state": rng.uniform(-0.05, 0.05, 4).tolist(), "n": 8}


def cartpole_window_torch(inputs):
    from dprl.train.cartpole import cartpole_window_gradient

    r = cartpole_window_gradient(_layers(inputs["weights"]), inputs["state"], inputs["n"])
    return _flatten_gradients(r["loss"], r["weights"], r["state"])


def cartpole_window_julia(inputs, jl):
    r = jl.cartpole_window_gradient(_layers(inputs["weights"]), inputs["state"], inputs["n"])
    return _flatten_gradients(r["loss"], r["weights"], r["state"])


def cartpole_training_inputs(rng, updates):
    episodes = max(2, min(50, updates // 4))  # early episodes fall within a few windows
    return {"weights": _glorot("cartpole_policy", 12), "starts": rng.uniform(-0.05, 0.05, (episodes, 4)).tolist(),
            "evaluation": rng.uniform(-0.05, 0.05, (10, 4)).tolist(), "max_steps": 200}


def cartpole_training_torch(inputs):
    from dprl.train.cartpole import train_cartpole

    r = train_cartpole(_layers(inputs["weights"]), inputs["starts"], inputs["evaluation"], max_steps=inputs["max_steps"], solved_score=1e9, progress=False).unless_interrupted()
    return {"losses": np.array(r.losses), "scores": np.array(r.scores)}


def cartpole_training_julia(inputs, jl):
    r = jl.train_cartpole(_layers(inputs["weights"]), inputs["starts"], inputs["evaluation"], max_steps=inputs["max_steps"], solved_score=1e9)
    return {"losses": r["losses"], "scores": r["scores"]}


# ----------------------------------------------------------------------------------------------
# Pendulum
# ----------------------------------------------------------------------------------------------
def pendulum_step_inputs(rng, updates):
    return {"states": np.column_stack([rng.uniform(-np.pi, np.pi, 16), rng.uniform(-8, 8, 16)]).tolist(), "actions": rng.uniform(-3, 3, 16).tolist(),
            "episode_start": [rng.uniform(-np.pi, np.pi), rng.uniform(-1, 1)], "episode_actions": rng.uniform(-3, 3, 200).tolist()}


def _pendulum_steps_torch(inputs, variant):
    from dprl.envs import pendulum

    params = pendulum.PendulumParams(variant=variant)
    nxt, reward, _ = pendulum.step(params, _float64(inputs["states"]), _float64(inputs["actions"]))
    s, trajectory, rewards = _float64(inputs["episode_start"]), [], []
    for a in inputs["episode_actions"]:
        s, r, _ = pendulum.step(params, s, _float64(a))
        trajectory.append(s.numpy())
        rewards.append(r.item())
    return {f"{variant}_next_states": nxt.numpy(), f"{variant}_rewards": reward.numpy(),
            f"{variant}_episode": np.array(trajectory), f"{variant}_episode_rewards": np.array(rewards)}


def _pendulum_steps_julia(inputs, jl, variant):
    steps = [jl.pendulum_step(s, a, variant=variant) for s, a in zip(inputs["states"], inputs["actions"])]
    s, trajectory, rewards = inputs["episode_start"], [], []
    for a in inputs["episode_actions"]:
        s, r, _ = jl.pendulum_step(s, a, variant=variant)
        trajectory.append(s)
        rewards.append(r)
    return {f"{variant}_next_states": np.stack([x for x, _, _ in steps]), f"{variant}_rewards": np.array([r for _, r, _ in steps]),
            f"{variant}_episode": np.array(trajectory), f"{variant}_episode_rewards": np.array(rewards)}


def pendulum_step_torch(inputs):
    return {**_pendulum_steps_torch(inputs, "gymnasium"), **_pendulum_steps_torch(inputs, "gymjl2019")}


def pendulum_step_julia(inputs, jl):
    return {**_pendulum_steps_julia(inputs, jl, "gymnasium"), **_pendulum_steps_julia(inputs, jl, "gymjl2019")}


WINDOW_SETTINGS = (("gymnasium", "cost", 20), ("gymjl2019", "cost2", 4))


def pendulum_window_inputs(rng, updates):
    # Slow starts keep the window away from the ±8 rad/s clip, where finite differences and the
    # two autodiff systems may legitimately pick different one-sided slopes.
    return {"weights": _glorot("pendulum_policy", 13), "states": np.column_stack([rng.uniform(-np.pi, np.pi, 4), rng.uniform(-1, 1, 4)]).tolist()}


def pendulum_window_torch(inputs):
    from dprl.train.pendulum import pendulum_window_gradient

    out = {}
    for variant, loss_kind, n in WINDOW_SETTINGS:
        r = pendulum_window_gradient(_layers(inputs["weights"]), inputs["states"], n, variant=variant, loss=loss_kind)
        out.update({f"{variant}_{k}": v for k, v in _flatten_gradients(r["loss"], r["weights"], r["state"]).items()})
    return out


def pendulum_window_julia(inputs, jl):
    out = {}
    for variant, loss_kind, n in WINDOW_SETTINGS:
        r = jl.pendulum_window_gradient(_layers(inputs["weights"]), inputs["states"], n, variant=variant, loss=loss_kind)
        out.update({f"{variant}_{k}": v for k, v in _flatten_gradients(r["loss"], r["weights"], r["state"]).items()})
    return out


def pendulum_training_inputs(rng, updates):
    # Enough rounds that each preset makes at least `updates` updates: 200 steps per round in
    # windows of 4 (gymjl2019, 50 updates a round) or 20 (gymnasium, 10 a round).
    def starts(*shape):
        return np.stack([rng.uniform(-np.pi, np.pi, shape), rng.uniform(-1, 1, shape)], -1)
    return {"weights": _glorot("pendulum_policy", 14), "blog_starts": starts(max(1, -(-updates // 50))).tolist(),
            "gym_starts": starts(max(1, -(-updates // 10)), 4).tolist(), "evaluation": starts(10).tolist()}


def pendulum_training_torch(inputs):
    from dprl.train.pendulum import train_pendulum

    blog = train_pendulum(_layers(inputs["weights"]), inputs["blog_starts"], inputs["evaluation"], variant="gymjl2019", progress=False).unless_interrupted()
    gym = train_pendulum(_layers(inputs["weights"]), inputs["gym_starts"], inputs["evaluation"], variant="gymnasium", progress=False).unless_interrupted()
    return {"gymjl2019_losses": np.array(blog.losses), "gymjl2019_scores": np.array(blog.scores),
            "gymnasium_losses": np.array(gym.losses), "gymnasium_scores": np.array(gym.scores)}


def pendulum_training_julia(inputs, jl):
    blog = jl.train_pendulum(_layers(inputs["weights"]), inputs["blog_starts"], inputs["evaluation"], variant="gymjl2019")
    gym = jl.train_pendulum(_layers(inputs["weights"]), inputs["gym_starts"], inputs["evaluation"], variant="gymnasium")
    return {"gymjl2019_losses": blog["losses"], "gymjl2019_scores": blog["scores"], "gymnasium_losses": gym["losses"], "gymnasium_scores": gym["scores"]}


# With the whole 200-step horizon the trainer uses, the two stacks' curves part near update 100
# (one episode an update; chaotic divergence, as the tolerances above expect); 30-step episodes
# stay within 1e-15 for 200 updates.
APG_CHECK = {"horizon": 30, "batch": 4, "evaluate_every": 50}


def pendulum_apg_inputs(rng, updates):
    def starts(*shape):
        return np.stack([rng.uniform(-np.pi, np.pi, shape), rng.uniform(-1, 1, shape)], -1)
    return {"weights": _glorot("pendulum_policy", 16), "batches": starts(max(1, updates), APG_CHECK["batch"]).tolist(),
            "evaluation": starts(10).tolist(), "horizon": APG_CHECK["horizon"], "evaluate_every": APG_CHECK["evaluate_every"]}


def pendulum_apg_torch(inputs):
    from dprl.train.pendulum import train_pendulum_apg

    r = train_pendulum_apg(_layers(inputs["weights"]), inputs["batches"], inputs["evaluation"], horizon=inputs["horizon"],
                           evaluate_every=inputs["evaluate_every"], progress=False).unless_interrupted()
    return {"apg_losses": np.array(r.losses), "apg_scores": np.array(r.scores)}


def pendulum_apg_julia(inputs, jl):
    r = jl.train_pendulum_apg(_layers(inputs["weights"]), inputs["batches"], inputs["evaluation"], horizon=inputs["horizon"],
                              evaluate_every=inputs["evaluate_every"])
    return {"apg_losses": r["losses"], "apg_scores": r["scores"]}


def aimer_training_inputs(rng, updates):
    n = 4 * max(1, updates)  # batches of 4: one update each
    return {"weights": _glorot("aimer_policy", 15), "winds": (5 * rng.standard_normal(n)).tolist(), "targets": rng.uniform(20, 100, n).tolist(),
            "learning_rate": 0.01, "batch_size": 4}


def aimer_training_torch(inputs):
    from dprl.train.trebuchet import train_aimer

    r = train_aimer(_layers(inputs["weights"]), inputs["winds"], inputs["targets"], learning_rate=inputs["learning_rate"],
                    batch_size=inputs["batch_size"], progress=False).unless_interrupted()
    return {"losses": np.array(r.losses)}


def aimer_training_julia(inputs, jl):
    r = jl.train_aimer(_layers(inputs["weights"]), inputs["winds"], inputs["targets"], learning_rate=inputs["learning_rate"], batch_size=inputs["batch_size"])
    return {"losses": r["losses"]}


CASES = [
    Case("trebuchet_throws", "trebuchet", trebuchet_inputs, trebuchet_torch, trebuchet_julia, TREBUCHET_TOLERANCE),
    Case("aimer_training", "trebuchet", aimer_training_inputs, aimer_training_torch, aimer_training_julia, TREBUCHET_TOLERANCE, ("losses",)),
    Case("cartpole_steps", "cartpole", cartpole_step_inputs, cartpole_step_torch, cartpole_step_julia),
    Case("cartpole_window_gradient", "cartpole", cartpole_window_inputs, cartpole_window_torch, cartpole_window_julia),
    Case("cartpole_training", "cartpole", cartpole_training_inputs, cartpole_training_torch, cartpole_training_julia, VALUE_TOLERANCE, ("losses",),
         ("scores",)),
    Case("pendulum_steps", "pendulum", pendulum_step_inputs, pendulum_step_torch, pendulum_step_julia),
    Case("pendulum_window_gradient", "pendulum", pendulum_window_inputs, pendulum_window_torch, pendulum_window_julia),
    Case("pendulum_training", "pendulum", pendulum_training_inputs, pendulum_training_torch, pendulum_training_julia, VALUE_TOLERANCE,
         ("gymjl2019_losses", "gymnasium_losses"), ("gymjl2019_scores", "gymnasium_scores")),
    Case("pendulum_apg_training", "pendulum", pendulum_apg_inputs, pendulum_apg_torch, pendulum_apg_julia, VALUE_TOLERANCE, ("apg_losses",),
         ("apg_scores",)),
    # Last, so that adding it left the other cases' seeded inputs as they were.
    Case("trebuchet_launch", "trebuchet", trebuchet_launch_inputs, trebuchet_launch_torch, trebuchet_launch_julia, TREBUCHET_TOLERANCE),
]
ENVS = ("trebuchet", "cartpole", "pendulum")


# ----------------------------------------------------------------------------------------------
# Comparing
# ----------------------------------------------------------------------------------------------
def max_relative(ours: np.ndarray, theirs: np.ndarray) -> tuple[float, float]:
    """(max |a − b|, ‖a − b‖∞ / ‖b‖∞), infinite where the shapes differ or a NaN (an event not
    reached) is on one side only; NaNs on both sides agree."""
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    if ours.shape != theirs.shape:
        return float("inf"), float("inf")
    if (np.isnan(ours) != np.isnan(theirs)).any():
        return float("inf"), float("inf")
    both = np.isnan(ours)
    ours, theirs = np.where(both, 0.0, ours), np.where(both, 0.0, theirs)
    if ours.size == 0:
        return 0.0, 0.0
    diff = float(np.max(np.abs(ours - theirs)))
    scale = float(np.max(np.abs(theirs)))
    return diff, diff / scale if scale > 0 else (0.0 if diff == 0 else float("inf"))


def compare(case: Case, ours: dict, theirs: dict, updates: int = CURVE_UPDATES) -> list[dict]:
    """One row per quantity. A learning curve is compared over its first `updates` updates (both
    runs must have made them, or have stopped at the same update); past the point where the curves
    part, divergence is expected and reported, not failed."""
    rows = []
    for key in sorted(set(ours) | set(theirs)):
        if key not in ours or key not in theirs:
            rows.append({"case": case.name, "quantity": key, "max_abs": float("inf"), "max_rel": float("inf"),
                         "tolerance": case.tolerance, "verdict": "FAIL (missing on one side)"})
            continue
        a, b = np.asarray(ours[key], dtype=np.float64), np.asarray(theirs[key], dtype=np.float64)
        if key in case.curves:
            common = min(len(a), len(b))
            relative = np.abs(a[:common] - b[:common]) / np.maximum(np.abs(b[:common]), 1e-300)
            n = min(common, updates)
            worst = max_relative(a[:n], b[:n])[1]
            parted = np.nonzero(relative > LOSS_TOLERANCE)[0]
            complete = n == updates or len(a) == len(b)
            ok = worst <= LOSS_TOLERANCE and complete
            quantity = f"{key} (first {n} updates)" if n == updates else f"{key} (all {n} of {updates} asked: the runs stop there)"
            if not complete:
                quantity = f"{key} (first {n} of {updates} asked: PyTorch made {len(a)}, Julia {len(b)})"
            rows.append({"case": case.name, "quantity": quantity, "max_abs": float(np.abs(a[:n] - b[:n]).max()) if n else 0.0,
                         "max_rel": worst, "tolerance": LOSS_TOLERANCE, "verdict": "pass" if ok else "FAIL",
                         "curves_part_at_update": int(parted[0]) + 1 if len(parted) else None})
            continue
        diff, rel = max_relative(a, b)
        tolerance = LOSS_TOLERANCE if key in case.learned else case.tolerance
        rows.append({"case": case.name, "quantity": key, "max_abs": diff, "max_rel": rel, "tolerance": tolerance,
                     "verdict": "pass" if rel <= tolerance else "FAIL"})
    return rows


def _to_json(outputs: dict) -> dict:
    return {k: np.asarray(v, dtype=np.float64).tolist() for k, v in outputs.items()}


def versions(side: str, jl=None) -> dict:
    import torch

    from dprl import __version__

    info = {"side": side, "python": platform.python_version(), "torch": torch.__version__, "dprl": __version__}
    if side == "julia" and jl is not None:
        module = jl.start()
        info.update({str(k): str(v) for k, v in module.seval("DPRL.versions()").items()})
    return info


def selected(envs) -> list[Case]:
    unknown = sorted(set(envs) - set(ENVS))
    if unknown:
        raise ValueError(f"--env takes {', '.join(ENVS)}; got {', '.join(unknown)}")
    return [c for c in CASES if c.env in envs]


def case_inputs(case: Case, updates: int, seed: int = 0) -> dict:
    """The case's inputs, from its own seeded stream: the same whichever --env cases run with it."""
    return case.make_inputs(np.random.default_rng([seed, CASES.index(case)]), updates)


def record(directory, envs=ENVS, updates=50, seed=0, record_from="julia", jl=None) -> list[Path]:
    """Write each case's inputs and one side's outputs (with versions) to DIRECTORY/<case>.json."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for case in selected(envs):
        inputs = case_inputs(case, updates, seed)
        outputs = case.julia_side(inputs, jl) if record_from == "julia" else case.torch_side(inputs)
        path = directory / f"{case.name}.json"
        path.write_text(json.dumps({"case": case.name, "env": case.env, "updates": updates, "inputs": inputs,
                                    "outputs": _to_json(outputs), "versions": versions(record_from, jl)}, indent=1))
        written.append(path)
    return written


def missing_recordings(directory, envs=ENVS) -> list[str]:
    """The selected cases that `directory` holds no recording of (listed, not failed: a recording
    may be of some environments only)."""
    return [case.name for case in selected(envs) if not (Path(directory) / f"{case.name}.json").exists()]


def against(directory, envs=ENVS) -> list[dict]:
    """PyTorch now, on each recording's inputs, against its outputs. A recording that cannot be a
    real one (inputs that are not finite numbers, a count of updates below 1, outputs that are not
    numbers or NaN) is refused naming the file and the field."""
    directory = Path(directory)
    rows, found = [], 0
    for case in selected(envs):
        path = directory / f"{case.name}.json"
        if not path.exists():
            continue
        # The recorded inputs must be shaped as the ones this case makes itself, and finite: NaN
        # agrees with NaN in the comparison (an event neither side reached), so NaN inputs with
        # NaN outputs would pass as agreement.
        expected = schema.like(case.make_inputs(np.random.default_rng(0), 1))
        recording = schema.read(path, {"inputs": expected, "outputs": {}, "updates?": schema.NUMBER}, "cross-check recording")
        inputs, theirs = recording["inputs"], recording["outputs"]
        updates = recording.get("updates", CURVE_UPDATES)
        if not isinstance(updates, int) or updates < 1:
            raise ValueError(f"{path} is not a valid cross-check recording: updates must be a whole number, at least 1; got {updates!r}")
        schema.check(theirs, dict.fromkeys(theirs, schema.ARRAY_OR_NAN), path, "cross-check recording's outputs")
        for key, value in theirs.items():
            try:
                np.asarray(value, dtype=np.float64)
            except ValueError:
                raise ValueError(f"{path} is not a valid cross-check recording: outputs.{key} is a ragged array") from None
        try:
            ours = case.torch_side(inputs)
        except (ValueError, RuntimeError, IndexError, TypeError) as error:  # e.g. states of the wrong width
            raise ValueError(f"{path}: the recorded inputs do not fit the case {case.name}: {one_line(error)}") from None
        found += 1
        rows += compare(case, ours, theirs, updates)
    if not found:
        raise ValueError(f"{directory} holds no cross-check recordings (expected files like {CASES[0].name}.json)")
    return rows


def live(envs=ENVS, updates=50, seed=0, jl=None, progress=True) -> tuple[list[dict], dict]:
    """Both sides now; returns the comparison rows and the learning curves for the figures."""
    from tqdm import tqdm

    rows, curves = [], {}
    for case in tqdm(selected(envs), desc="crosscheck", unit="case", disable=not progress):
        inputs = case_inputs(case, updates, seed)
        ours, theirs = case.torch_side(inputs), case.julia_side(inputs, jl)
        rows += compare(case, ours, theirs, updates)
        for key in case.curves:
            curves[f"{case.name}/{key}"] = (np.asarray(ours[key]), np.asarray(theirs[key]))
    return rows, curves


def print_table(rows) -> None:
    print(f"{'case':<26} {'quantity':<34} {'max abs':>10} {'max rel':>10} {'tolerance':>9}  verdict")
    print("-" * 102)
    for r in rows:
        print(f"{r['case']:<26} {r['quantity']:<34} {r['max_abs']:>10.2e} {r['max_rel']:>10.2e} {r['tolerance']:>9.0e}  {r['verdict']}"
              + (f" (curves part at update {r['curves_part_at_update']})" if r.get("curves_part_at_update") else ""))


def curve_figure(curves: dict, path) -> Path | None:
    """Both stacks' loss curves overlaid, and their relative difference on a log scale."""
    if not curves:
        return None
    from dprl import plots

    fig, axes = plots.pyplot().subplots(2, len(curves), figsize=(4.2 * len(curves), 6), squeeze=False)
    for column, (name, (ours, theirs)) in enumerate(curves.items()):
        n = min(len(ours), len(theirs))
        axes[0, column].plot(theirs, label="Julia", lw=2, alpha=0.6)
        axes[0, column].plot(ours, "--", label="PyTorch", lw=1)
        axes[0, column].set_title(name, fontsize=9)
        axes[0, column].set_yscale("log")
        axes[0, column].legend(fontsize=8)
        relative = np.abs(ours[:n] - theirs[:n]) / np.maximum(np.abs(theirs[:n]), 1e-300)
        axes[1, column].semilogy(np.maximum(relative, 1e-18))
        axes[1, column].axhline(LOSS_TOLERANCE, color="red", ls="--", lw=1)
        axes[1, column].set_xlabel("update")
    axes[0, 0].set_ylabel("loss")
    axes[1, 0].set_ylabel("relative difference")
    return plots.save(fig, path, dpi=110)


# ----------------------------------------------------------------------------------------------
# The generic form: any Julia function against any PyTorch function (dprl.gradcheck)
# ----------------------------------------------------------------------------------------------
from dprl.gradcheck import GradcheckReport, gradcheck  # noqa: E402,F401  (re-exported)
