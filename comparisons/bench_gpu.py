"""The PyTorch half on a GPU: the fused trebuchet kernel against eager PyTorch, the APG Pendulum
update, and the batched CartPole and Pendulum steps.

    python comparisons/bench_gpu.py [--device cuda] [--batches 4096 65536 1048576 4194304]
        [--eager-max-batch 1048576] [--apg-batches 256 1024 4096 16384 65536]
        [--step-batch 16777216] [--check-throws 4096] [--repeats 3] [--out FILE]

Parts (the trebuchet throws are comparisons/bench_stacks.py's seeded ones: wind ~ N(0, 5²) m/s,
angle ~ U(15°, 75°), weight ~ U(100, 300) lb, batch b being the first b of them):
- check: the kernel (`dprl.envs.trebuchet_triton`, float64) against the eager float64 reference
  on the CPU, on the first --check-throws throws plus throws too light to lift off and throws that
  never land: status, distances (relative), gradients (relative to each throw's largest partial,
  and partial by partial), event times and release speeds, and the throw with the worst gradient.
  comparisons/trebuchet_rounding.py measures how far the reference moves when its maths
  library rounds differently: the floor under these errors.
- compile: the kernel's first call in this process (Triton compiles it then; a warm on-disk
  cache makes it faster), at batch 4,096 (or the largest of --batches below it), against a
  later call.
- trebuchet: the gradient (distance and its three partials, `shoot` then autograd) per second,
  kernel and eager, float64 and float32, with the device memory a throw and the errors against
  the CPU float64 reference on the first 1,024 throws. The memory, both scored against the goal:
  the allocator's peak during one call of `shoot` and its gradient, with nothing of an earlier
  call held, and during a call made while the previous call's result is still held, as in a
  training loop; over the batch, the call's own outputs counted and the input tensors (made
  before) not. (The 2026-12-03 run took the peak over its timing loop instead: three calls, the
  gradient stacked.) Eager rows stop at --eager-max-batch (4 M throws in eager
  float64 need about 130 GiB). Where the kernel rows' bytes go: the bytes in tensors (any
  device; what the allocator's peak holds beyond them is rounding and operators' scratch, such
  as the sort's) and, on CUDA, the device peak at each stage of the wrapper (the sort, the
  kernel's run, `shoot`, `shoot` with the gradient).
- apg: one APG Pendulum update (`dprl.train.pendulum.apg_loss` over a 200-step rollout, backward,
  gradient clip, Adam step), seconds per update, float64: eager, and on CUDA as one CUDA graph
  (`dprl.train.pendulum_graph`) with its losses against the eager ones, update by update. The
  goal is scored on the faster row.
- steps: one batched step of CartPole and of Pendulum (`dprl.envs.cartpole.step`,
  `dprl.envs.pendulum.step`), steps per second, float64 and float32.
- wrapper (only when named in --parts; runs on the CPU too, in seconds): the tensor bytes a
  throw that the kernel's wrapper holds, the compiled kernel replaced by a stand-in that fills
  its output: one call, a call in a loop, the 2026-12-03 run's timing loop, each stage, and the
  bytes held when the throws' sort returns (on CUDA the sort's scratch memory sits on top of
  that moment). --tree DIR meters another checkout's wrapper instead (a `git worktree` of an
  older commit), to set the device figures of a run of that commit beside its tensor counts.

Goals (issue 28, one H200): float64 gradients at ≥ 10 M/s at a batch of ≥ 1 M; batch 4,096 in
≤ 2 ms; ≤ 128 bytes of device memory a throw; distances within 2e-12 and gradients within 1e-9
of the CPU float64 reference; the APG update at batch 16,384 in ≤ 35 ms; the first call in
≤ 60 s. Without a CUDA device (and no --device) it writes "not run: no CUDA device". With
--device cpu it runs the eager rows on the CPU (the kernel only under TRITON_INTERPRET=1, and
slowly): a dry run of the script, not a benchmark.

Nothing measured is lost to a run stopped early (a time limit, a lost machine): the rows are
saved to FILE's `.partial.json` twin as they come, its headline saying the run stopped early; a
run that reaches its end writes FILE and removes the twin.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SEED = 14  # comparisons/bench_stacks.py's throws
DEFAULT_BATCHES = [4096, 65536, 1048576, 4194304]
DEFAULT_APG_BATCHES = [256, 1024, 4096, 16384, 65536]
ERROR_THROWS = 1024
APG_HORIZON = 200
APG_DECAY = 0.985
# Too light at once and after sliding (15.345 lb), never landing (15.38–15.44 lb at 45°), landing behind the pivot.
EDGE_THROWS = [(0.0, 45.0, 8.0), (0.0, 45.0, 1.0), (0.0, 45.0, 15.345), (0.0, 45.0, 15.35), (0.0, 45.0, 15.38), (0.0, 45.0, 15.42),
               (0.0, 45.0, 15.44), (0.0, 45.0, 15.45), (3.0, 40.0, 180.0)]
GOALS = {
    "gradients_per_s_float64_at_1M": 10e6,
    "seconds_at_4096": 2e-3,
    "bytes_per_throw": 128,
    "distance_rel_error": 2e-12,
    "gradient_rel_error": 1e-9,
    "apg_update_s_at_16384": 35e-3,
    "compile_s": 60.0,
}


def throws(n: int, seed: int = SEED) -> np.ndarray:
    """(n, 3) seeded throws: wind, angle_deg, weight_lb (bench_stacks.py's)."""
    rng = np.random.default_rng(seed)
    return np.column_stack([5 * rng.standard_normal(n), rng.uniform(15, 75, n), rng.uniform(100, 300, n)])


def synchronize(device):
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(function, device, repeats: int):
    """(best seconds of `repeats` calls, the last call's result), after one untimed call."""
    result = function()
    best = math.inf
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        result = function()
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return best, result


def shoot_and_gradient(leaves, kernel):
    """The call a user makes: `shoot` on the leaf tensors, then the gradient of the summed
    distance (by torch.autograd.grad, which leaves their .grad alone, so the leaves are reused):
    (distance, the three partials)."""
    import torch

    distance = fast_paths().shoot(*leaves, kernel=kernel)
    return distance, torch.autograd.grad(distance.sum(), leaves)


def fast_paths():
    """The module whose `shoot` takes `kernel=`: `trebuchet_fast`, or in a checkout older than
    63ff68a (which split it out; `--tree`), `trebuchet`."""
    try:
        from dprl.envs import trebuchet_fast
    except ImportError:
        from dprl.envs import trebuchet as trebuchet_fast
    return trebuchet_fast


def calls_in_a_loop(leaves, kernel):
    """Two calls as a training loop makes them, `result = shoot_and_gradient(...)` each time: the
    second runs while the first's result is still held."""
    result = shoot_and_gradient(leaves, kernel)
    result = shoot_and_gradient(leaves, kernel)
    return result


def gradient_call(leaves, kernel):
    """`shoot_and_gradient`, its gradient stacked (n, 3) for the error checks."""
    import torch

    distance, grads = shoot_and_gradient(leaves, kernel)
    return distance.detach(), torch.stack(grads, dim=1)


def reference(rows: np.ndarray):
    """CPU float64 eager: (launch result, gradient (n, 3)), the gradient of landed throws only."""
    import torch

    from dprl.envs import trebuchet_fast

    leaves = [torch.tensor(c, dtype=torch.float64, requires_grad=True) for c in rows.T]
    result = trebuchet_fast.launch(*leaves, kernel=False)
    landed = torch.where(torch.isfinite(result.distance), result.distance, torch.zeros_like(result.distance))
    grads = torch.autograd.grad(landed.sum(), leaves)
    return result, torch.stack(grads, dim=1).detach()


def throw_errors(distance, gradient, ref_distance, ref_gradient):
    """Per throw, on the CPU in float64: (landed, distance error relative to the reference, gradient
    error relative to the throw's largest partial)."""
    import torch

    distance, gradient = distance.double().cpu(), gradient.double().cpu()
    landed = torch.isfinite(ref_distance)
    d = (distance - ref_distance).abs() / ref_distance.abs()
    g = (gradient - ref_gradient).abs().max(dim=1).values / ref_gradient.abs().max(dim=1).values.clamp_min(1e-300)
    return landed, d, g


def errors(distance, gradient, ref_distance, ref_gradient) -> dict:
    """Worst relative errors: distances; gradients relative to each throw's largest partial, and
    partial by partial (against at least 1e-300)."""
    import torch

    landed, d, by_throw = throw_errors(distance, gradient, ref_distance, ref_gradient)
    distance, gradient = distance.double().cpu(), gradient.double().cpu()
    by_partial = ((gradient - ref_gradient).abs() / ref_gradient.abs().clamp_min(1e-300))[landed]
    return {"distance_rel_error_max": d[landed].max().item(), "gradient_rel_error_max": by_throw[landed].max().item(),
            "gradient_partial_rel_error_max": by_partial.max().item(),
            "gradient_partial_rel_error_p99": torch.quantile(by_partial.flatten(), 0.99).item(),
            "nan_pattern_matches": bool((distance.isnan() == ref_distance.isnan()).all())}


def worst_throw(rows: np.ndarray, distance, gradient, ref_distance, ref_gradient) -> dict:
    """The landed throw with the largest gradient error against its largest partial: its index in
    `rows`, inputs, errors and reference gradient."""
    import torch

    landed, d, by_throw = throw_errors(distance, gradient, ref_distance, ref_gradient)
    i = int(torch.where(landed, by_throw, torch.zeros_like(by_throw)).argmax())
    return {"index": i, "wind": float(rows[i, 0]), "angle_deg": float(rows[i, 1]), "weight_lb": float(rows[i, 2]),
            "gradient_rel_error": by_throw[i].item(), "distance_rel_error": d[i].item(),
            "reference_gradient": ref_gradient[i].tolist()}


def tensor_peak(function):
    """(peak bytes of the tensors that `function` makes and holds at once, its result): every
    storage an operator returns counts from its first appearance until it is freed. Storages that
    existed before the call (the inputs) do not count; allocator rounding, caches and an
    operator's own scratch memory (CUDA's sort) are not tensors and do not count either, so on
    CUDA the allocator's peak minus this is what they cost."""
    peak, _, result = tensor_trace(function)
    return peak, result


def tensor_trace(function):
    """`tensor_peak`, and for each operator the most bytes held in tensors just after it returned
    (its outputs included): (peak, {operator name: bytes}, result). Where an operator's scratch
    memory sits on top of the tensors held (CUDA's sort), that moment is the one to know."""
    import torch
    from torch.multiprocessing.reductions import StorageWeakRef
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_leaves

    class Meter(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.storages = {}  # data pointer -> (weak reference, bytes); a freed pointer may be reused
            self.peak = 0
            self.after = {}

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            before = {t.untyped_storage().data_ptr() for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)}
            out = func(*args, **(kwargs or {}))
            for t in tree_leaves(out):
                if isinstance(t, torch.Tensor):
                    storage = t.untyped_storage()
                    key = storage.data_ptr()
                    known = self.storages.get(key)
                    if key not in before and (known is None or known[0].expired()):
                        self.storages[key] = (StorageWeakRef(storage), storage.nbytes())
            held = sum(n for ref, n in self.storages.values() if not ref.expired())
            self.peak = max(self.peak, held)
            self.after[str(func)] = max(self.after.get(str(func), 0), held)
            return out

    meter = Meter()
    with meter:
        result = function()
    return meter.peak, meter.after, result


def device_peak(function, device):
    """Peak bytes the CUDA caching allocator hands out during `function`, above what was allocated before."""
    import torch

    torch.cuda.synchronize(device)
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats(device)
    base = torch.cuda.memory_allocated(device)
    function()
    torch.cuda.synchronize(device)
    return torch.cuda.max_memory_allocated(device) - base


def kernel_stages(trebuchet_triton, inputs, peak=device_peak) -> dict:
    """Device bytes a throw at each stage of the kernel's wrapper (CUDA): the sort that groups the
    throws, the kernel's run with its output buffer, `shoot`'s forward pass, and the forward pass
    with the gradient; each stage's peak over the batch."""
    wind, angle, weight = (x.detach() for x in inputs)
    device, n = wind.device, wind.numel()
    stages = {"order": lambda: trebuchet_triton._order(angle, weight),
              "run": lambda: trebuchet_triton._run(wind, angle, weight, trebuchet_triton._ROWS_SHOOT),
              "shoot": lambda: fast_paths().shoot(*inputs, kernel=True),
              "shoot and gradient": lambda: shoot_and_gradient(inputs, True)}
    return {name: peak(stage, device) / n for name, stage in stages.items()}


class StandInLaunch:
    """Stands for the compiled kernel, `_launch_kernel[grid](...)`: fills the output as landed
    throws, so that the wrapper's tensors can be metered on any device without the kernel."""

    def __init__(self, kernel_module):
        self.k = kernel_module

    def __getitem__(self, grid):
        def launch(order, wind, angle, weight, release, out, n, full, **options):
            out.fill_(1.0)
            out[self.k._STATUS].fill_(0.0)
        return launch


def wrapper_memory(device, batch: int) -> dict:
    """Tensor bytes a throw that the kernel's wrapper holds, the kernel replaced by
    `StandInLaunch` (so on any device, and without the interpreter's own copies): one call of
    `shoot` and its gradient, a call while the previous result is held (`calls_in_a_loop`), the
    timing loop as the 2026-12-03 run measured memory over it, and each stage; and for each of
    the three, the bytes held when the throws' sort returns, its outputs included (on CUDA the
    sort's scratch memory comes on top of that moment alone)."""
    from unittest import mock

    import torch

    from dprl.envs import trebuchet_triton

    calls = {"one_call": lambda inputs: shoot_and_gradient(inputs, True),
             "in_a_loop": lambda inputs: calls_in_a_loop(inputs, True),
             # as the 2026-12-03 run measured it: the stacked gradient, three calls of `timed`
             "timing_loop": lambda inputs: timed(lambda: gradient_call(inputs, True), device, 2)}
    rows = []
    with mock.patch.multiple(trebuchet_triton, _launch_kernel=StandInLaunch(trebuchet_triton), interpreting=lambda: True):
        for dtype in (torch.float64, torch.float32):
            inputs = [torch.tensor(c, dtype=dtype, device=device, requires_grad=True) for c in throws(batch).T]
            row, at_the_sort = {"dtype": str(dtype).replace("torch.", "")}, {}
            for name, call in calls.items():
                peak, after, _ = tensor_trace(lambda: call(inputs))
                row[name] = peak / batch
                at_the_sort[name] = max(v for op, v in after.items() if op.startswith("aten.sort")) / batch
            row["at_the_sort"] = at_the_sort
            row["stages"] = kernel_stages(trebuchet_triton, inputs, peak=lambda stage, device: tensor_peak(stage)[0])
            rows.append(row)
    return {"batch": batch, "unit": "tensor bytes a throw (inputs not counted)", "rows": rows}


def check(trebuchet, kernel_module, device, n: int) -> dict:
    """The kernel (float64, on `device`) against the CPU float64 eager reference."""
    import torch

    rows = np.vstack([throws(n), np.array(EDGE_THROWS)])
    ref, ref_grad = reference(rows)
    inputs = [torch.tensor(c, dtype=torch.float64, device=device) for c in rows.T]
    leaves = [x.clone().requires_grad_(True) for x in inputs]
    fields = kernel_module.launch(*leaves)
    landed = torch.where(torch.isfinite(fields[0]), fields[0], torch.zeros_like(fields[0]))
    grad = torch.stack(torch.autograd.grad(landed.sum(), leaves), dim=1)
    out = {"throws": len(rows), "edge_throws": EDGE_THROWS}
    out.update(errors(fields[0].detach(), grad, ref.distance.detach(), ref_grad))
    out["worst_throw"] = worst_throw(rows, fields[0].detach(), grad, ref.distance.detach(), ref_grad)
    out["status_matches"] = bool((fields[1].cpu() == ref.status).all())
    out["status_counts"] = {name: int((ref.status == code).sum()) for code, name in trebuchet.STATUS_NAMES.items()}
    for name, got, want in zip(("liftoff_time", "release_time", "landing_time", "release_speed"), fields[2:],
                               (ref.liftoff_time, ref.release_time, ref.landing_time, ref.release_speed)):
        got = got.detach().cpu()
        same_nan = bool((got.isnan() == want.isnan()).all())
        diff = (got - want.detach()).abs().nan_to_num(0.0)
        out[f"{name}_abs_error_max"] = diff.max().item()
        out[f"{name}_nan_pattern_matches"] = same_nan
    light = ref.status == trebuchet.TOO_LIGHT
    out["too_light_gradient_abs_error_max"] = (grad.cpu() - ref_grad).abs()[light].max().item() if bool(light.any()) else None
    never = ref.status == trebuchet.NO_LANDING
    out["never_lands_gradient_is_zero"] = bool((grad.cpu()[never] == 0).all()) if bool(never.any()) else None
    return out


def compile_time(device, dtype, batch) -> dict:
    """The first kernel call in this process (compiling) against a second one."""
    import torch

    inputs = [torch.tensor(c, dtype=dtype, device=device, requires_grad=True) for c in throws(batch).T]
    synchronize(device)
    start = time.perf_counter()
    gradient_call(inputs, True)
    synchronize(device)
    first = time.perf_counter() - start
    start = time.perf_counter()
    gradient_call(inputs, True)
    synchronize(device)
    return {"dtype": str(dtype).replace("torch.", ""), "batch": batch, "first_call_s": first, "second_call_s": time.perf_counter() - start}


def trebuchet_rows(device, batches, eager_max, repeats, ref, ref_grad, kernel_ok, peak=None, on_row=None) -> list[dict]:
    """The gradient rows. `peak(function)`: the bytes above those allocated before that `function`
    needs at once (default on CUDA: the allocator's peak, `device_peak`; elsewhere no device
    bytes are reported). `on_row(rows)`, if given, is called with the rows so far after each row."""
    import torch

    if peak is None and device.type == "cuda":
        def peak(function):
            return device_peak(function, device)

    all_rows = throws(max(batches))
    out = []
    for kernel in (True, False):
        for dtype in (torch.float64, torch.float32):
            for batch in batches:
                row = {"path": "kernel" if kernel else "eager", "dtype": str(dtype).replace("torch.", ""), "batch": batch}
                out.append(row)
                if kernel and not kernel_ok:
                    row["not_run"] = "the kernel needs CUDA (or TRITON_INTERPRET=1)"
                    continue
                if not kernel and batch > eager_max:
                    row["not_run"] = f"eager above --eager-max-batch {eager_max:,}"
                    continue
                inputs = [torch.tensor(c, dtype=dtype, device=device, requires_grad=True) for c in all_rows[:batch].T]
                try:
                    seconds, (distance, gradient) = timed(lambda: gradient_call(inputs, kernel), device, repeats)
                except torch.OutOfMemoryError as error:
                    row["not_run"] = f"out of device memory: {str(error).splitlines()[0]}"
                    continue
                row["seconds"] = seconds
                row["gradients_per_s"] = batch / seconds
                k = min(ERROR_THROWS, batch)
                row.update(errors(distance[:k], gradient[:k], ref.distance[:k].detach(), ref_grad[:k]))
                del distance, gradient
                try:
                    if peak is not None:  # the goal's figures: one call alone, and a call while the previous result is held
                        row["bytes_per_throw_one_call"] = peak(lambda: shoot_and_gradient(inputs, kernel)) / batch
                        row["bytes_per_throw_in_a_loop"] = peak(lambda: calls_in_a_loop(inputs, kernel)) / batch
                    if kernel:  # where the bytes go (the eager path makes too many tensors to meter quickly)
                        from dprl.envs import trebuchet_triton

                        if device.type == "cuda":
                            row["device_bytes_per_throw_by_stage"] = kernel_stages(trebuchet_triton, inputs)
                        row["tensor_bytes_per_throw"] = tensor_peak(lambda: shoot_and_gradient(inputs, kernel))[0] / batch
                except torch.OutOfMemoryError as error:
                    row["memory_not_measured"] = f"out of device memory: {str(error).splitlines()[0]}"
                print(f"  trebuchet {row['path']:6} {row['dtype']:7} {batch:>9,}: {row['gradients_per_s']:>14,.0f} gradients/s "
                      f"({seconds * 1e3:.3f} ms), {row.get('bytes_per_throw_one_call', float('nan')):.0f} B/throw one call, "
                      f"{row.get('bytes_per_throw_in_a_loop', float('nan')):.0f} in a loop "
                      f"({row.get('tensor_bytes_per_throw', float('nan')):.0f} B in tensors), "
                      f"distance err {row['distance_rel_error_max']:.1e}, gradient err {row['gradient_rel_error_max']:.1e}", flush=True)
                del inputs
                if on_row is not None:
                    on_row(out)
    return out


def apg_rows(device, batches, repeats, paths=("eager", "graph"), on_row=None) -> list[dict]:
    """One APG update per call, from the same weights and start states down each path: "eager"
    (as `train_pendulum_apg` with cuda_graph=False) and "graph" (`dprl.train.pendulum_graph`, on
    CUDA only). Both take the same untimed updates first (the graph's warm-up and capture), so the
    k-th losses of the two rows come from the same update; the graph row reports the largest
    relative difference from the eager losses. A path that raises (the graph has a GPU's first run
    to survive) gets a row saying so, and the other rows still run. `on_row(rows)`, if given, is
    called with the rows so far after each row."""
    import torch

    from dprl.envs import pendulum
    from dprl.train import pendulum as train
    from dprl.train import pendulum_graph, policies

    params = pendulum.PendulumParams(variant="gymnasium")
    out = []
    for batch in batches:
        starts = torch.as_tensor(train.start_states(np.random.default_rng(0), batch), device=device)
        eager_losses = None
        for path in paths:
            if path == "graph" and device.type != "cuda":
                continue
            policy = policies.load_weights(policies.pendulum_policy(), policies.glorot_weights(policies.pendulum_policy, 0)).to(device)
            optimizer = torch.optim.Adam(policy.parameters(), lr=1e-2, capturable=path == "graph")
            losses = []
            if path == "graph":
                backward = functools.partial(train.apg_backward, policy, horizon=APG_HORIZON, params=params, decay=APG_DECAY, max_grad_norm=1.0)
                graphed = pendulum_graph.APGUpdate(policy, optimizer, batch, backward)

                def update():
                    losses.append(graphed(len(losses) + 1, starts))
            else:
                def update():
                    loss = train.apg_loss(policy, starts, APG_HORIZON, params, APG_DECAY)
                    optimizer.zero_grad()
                    loss.backward()
                    train.clip_global_norm([p.grad for p in policy.parameters()], 1.0)
                    optimizer.step()
                    losses.append(loss.detach())

            try:
                for _ in range(pendulum_graph.WARMUP):
                    update()
                seconds, _ = timed(update, device, repeats)
            except Exception as error:  # recorded, not raised: a benchmark's one GPU run keeps its other rows
                row = {"batch": batch, "path": path, "failed": f"{type(error).__name__}: {(str(error).strip().splitlines() or [''])[0]}"}
                print(f"  apg update {path:5} {batch:>7,}: failed, {row['failed']}", flush=True)
            else:
                losses = [float(v) for v in losses]
                row = {"batch": batch, "path": path, "seconds": seconds, "loss": losses[-1], "losses": losses}
                if path == "eager":
                    eager_losses = losses
                elif eager_losses is not None:
                    row["loss_rel_diff_vs_eager_max"] = max(abs(g - e) / abs(e) for g, e in zip(losses, eager_losses))
                extra = f", loss rel diff vs eager {row['loss_rel_diff_vs_eager_max']:.1e}" if "loss_rel_diff_vs_eager_max" in row else ""
                print(f"  apg update {path:5} {batch:>7,}: {seconds * 1e3:.1f} ms{extra}", flush=True)
            out.append(row)
            if on_row is not None:
                on_row(out)
    return out


def step_rows(device, batch, repeats, on_row=None) -> list[dict]:
    """Batched CartPole and Pendulum steps; `on_row(rows)`, if given, is called after each row."""
    import torch

    from dprl.envs import cartpole, pendulum

    out = []
    for name, module, params, width in (("cartpole", cartpole, cartpole.CartPoleParams(), 4),
                                        ("pendulum", pendulum, pendulum.PendulumParams(variant="gymnasium"), 2)):
        for dtype in (torch.float64, torch.float32):
            generator = torch.Generator(device=device).manual_seed(0)
            state = 0.1 * torch.rand(batch, width, generator=generator, dtype=dtype, device=device)
            action = torch.rand(batch, generator=generator, dtype=dtype, device=device)
            seconds, _ = timed(lambda: module.step(params, state, action), device, repeats)
            out.append({"env": name, "dtype": str(dtype).replace("torch.", ""), "batch": batch, "seconds": seconds, "steps_per_s": batch / seconds})
            print(f"  {name} step {str(dtype):14} {batch:>11,}: {batch / seconds:,.0f} steps/s", flush=True)
            del state, action
            if on_row is not None:
                on_row(out)
    return out


def goals(result: dict) -> dict:
    """Each goal: the measured figure, the goal, and whether it was met (None: not measured, or
    measured elsewhere than on CUDA, where the goals do not apply)."""
    def row(path, dtype, batch):
        return next((r for r in result.get("trebuchet", []) if r["path"] == path and r["dtype"] == dtype and r["batch"] == batch and "seconds" in r), None)

    out = {}
    big = [r for r in result.get("trebuchet", []) if r["path"] == "kernel" and r["dtype"] == "float64" and r["batch"] >= 1 << 20 and "seconds" in r]
    rate = max((r["gradients_per_s"] for r in big), default=None)
    out["float64 kernel gradients/s at batch >= 1M"] = (rate, GOALS["gradients_per_s_float64_at_1M"], None if rate is None else rate >= GOALS["gradients_per_s_float64_at_1M"])
    small = row("kernel", "float64", 4096)
    seconds = small["seconds"] if small else None
    out["float64 kernel seconds at batch 4,096"] = (seconds, GOALS["seconds_at_4096"], None if seconds is None else seconds <= GOALS["seconds_at_4096"])
    largest = max(big, key=lambda r: r["batch"], default=None)
    for key, name in (("bytes_per_throw_one_call", "one call"), ("bytes_per_throw_in_a_loop", "in a loop")):
        per = largest.get(key) if largest else None
        out[f"float64 kernel device bytes a throw, {name}"] = (per, GOALS["bytes_per_throw"], None if per is None else per <= GOALS["bytes_per_throw"])
    checked = result.get("check")
    for key, goal in (("distance_rel_error_max", "distance_rel_error"), ("gradient_rel_error_max", "gradient_rel_error")):
        value = checked.get(key) if isinstance(checked, dict) else None
        out[f"check {key}"] = (value, GOALS[goal], None if value is None else value <= GOALS[goal])
    apg = min((r for r in result.get("apg", []) if r["batch"] == 16384 and "seconds" in r), key=lambda r: r["seconds"], default=None)
    value = apg["seconds"] if apg else None
    out["APG update seconds at batch 16,384"] = (value, GOALS["apg_update_s_at_16384"], None if value is None else value <= GOALS["apg_update_s_at_16384"])
    first = result.get("compile", {}).get("first_call_s") if isinstance(result.get("compile"), dict) else None
    out["kernel first call (compile) seconds"] = (first, GOALS["compile_s"], None if first is None else first <= GOALS["compile_s"])
    scored = result.get("device_type", "cuda") == "cuda"
    return {k: {"measured": v[0], "goal": v[1], "met": v[2] if scored else None} for k, v in out.items()}


def headline(result: dict) -> str:
    """One line for the report: the goals met of those measured, and the wrapper's bytes."""
    measured = [g for g in result["goals"].values() if g["met"] is not None]
    parts = [f"goals met: {sum(g['met'] for g in measured)} of {len(measured)} measured on {result['device']}" if measured
             else f"no goal measured ({result['device']})"]
    tree = f" of {result['tree']['commit'][:7]}" if "tree" in result else ""
    for row in result.get("wrapper", {}).get("rows", []):
        parts.append(f"wrapper{tree} with a stand-in kernel, {row['dtype']}: {row['one_call']:.0f} B a throw in tensors for one call, "
                     f"{row['in_a_loop']:.0f} B in a loop")
    return "; ".join(parts)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default=None, help="torch device to run on (default: cuda where there is one, else nothing runs)")
    parser.add_argument("--batches", type=int, nargs="+", default=DEFAULT_BATCHES, help="trebuchet gradient batches")
    parser.add_argument("--eager-max-batch", type=int, default=1 << 20, help="largest batch for the eager trebuchet rows")
    parser.add_argument("--apg-batches", type=int, nargs="+", default=DEFAULT_APG_BATCHES, help="APG update batches")
    parser.add_argument("--step-batch", type=int, default=1 << 24, help="states in the batched CartPole and Pendulum steps")
    parser.add_argument("--check-throws", type=int, default=4096, help="seeded throws in the kernel's check against the CPU reference")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per case, after one untimed call; the best is kept")
    parser.add_argument("--parts", nargs="+", default=["check", "compile", "trebuchet", "apg", "steps"],
                        choices=["check", "compile", "trebuchet", "apg", "steps", "wrapper"],
                        help="which parts to run (wrapper, not run by default: the kernel wrapper's tensor memory with a stand-in kernel, on any device)")
    parser.add_argument("--tree", default=None,
                        help="with --parts wrapper alone: meter the wrapper of another checkout of this repository "
                             "(its pyside/dprl, e.g. a `git worktree` of an older commit) instead of this one's")
    parser.add_argument("--out", default=str(ROOT / "comparisons" / "results" / "bench_gpu.json"))
    args = parser.parse_args()
    tree = None
    if args.tree is not None:
        tree = Path(args.tree).resolve()
        if args.parts != ["wrapper"]:
            print("--tree meters only the wrapper: give it with --parts wrapper alone", file=sys.stderr)
            sys.exit(2)
        if not (tree / "pyside" / "dprl" / "envs" / "trebuchet_triton.py").is_file():
            print(f"--tree {args.tree!r} is not a checkout of this repository with the kernel's wrapper "
                  "(no pyside/dprl/envs/trebuchet_triton.py there)", file=sys.stderr)
            sys.exit(2)
        sys.path.insert(0, str(tree / "pyside"))
    for name in ("batches", "apg_batches"):
        if any(b < 1 for b in getattr(args, name)):
            print(f"--{name.replace('_', '-')} must be positive integers", file=sys.stderr)
            sys.exit(2)
    if args.step_batch < 1 or args.check_throws < 1 or args.repeats < 1 or args.eager_max_batch < 1:
        print("--step-batch, --check-throws, --repeats and --eager-max-batch must be at least 1", file=sys.stderr)
        sys.exit(2)

    import torch

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    command = "python comparisons/bench_gpu.py " + " ".join(sys.argv[1:])
    if args.device is None and not torch.cuda.is_available():
        out.write_text(json.dumps({"command": command.strip(), "not_run": "no CUDA device", "goals": GOALS}, indent=2))
        print(f"not run: no CUDA device (wrote {out})")
        return
    try:
        device = torch.device(args.device or "cuda")
        torch.empty(0, device=device)
    except (RuntimeError, AssertionError) as error:
        print(f"--device {args.device!r} is not usable here: {str(error).splitlines()[0]}", file=sys.stderr)
        sys.exit(2)

    from dprl.envs import trebuchet, trebuchet_triton

    if tree is not None:
        import subprocess

        assert Path(trebuchet_triton.__file__).resolve().is_relative_to(tree), trebuchet_triton.__file__
        commit = subprocess.run(["git", "-C", str(tree), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    kernel_ok = device.type == "cuda" or trebuchet_triton.interpreting()
    result = {"command": command.strip(), "device": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or device.type,
              "device_type": device.type, "torch": torch.__version__, "triton": __import__("triton").__version__, "seed": SEED,
              "kernel_block": trebuchet_triton.BLOCK, "kernel_num_warps": trebuchet_triton.NUM_WARPS}
    if tree is not None:
        result["tree"] = {"path": str(tree), "commit": commit or "not a git checkout"}
    started = time.perf_counter()
    # Saved beside --out after each part and row, so that a run stopped early (gpu_run.sh's
    # timeout, a lost machine) keeps what it measured without overwriting an earlier complete file;
    # a run that reaches its end writes --out and removes the partial file.
    partial = out.with_suffix(".partial.json")
    result["headline"] = "stopped early: the run ended before its last part; the parts and rows here are those it finished"

    def save(path=partial):
        unfinished = path.with_name(path.name + ".tmp")
        unfinished.write_text(json.dumps(result, indent=2))
        unfinished.replace(path)  # whole or not at all, should the run be killed while writing

    def rows_of(part):
        def record(rows):
            result[part] = rows
            save()
        return record

    save()
    print(f"device {result['device']}, torch {result['torch']}, triton {result['triton']}; rows saved to {partial} as they come", flush=True)
    # The kernel's first call must come first, to measure the compile.
    if "compile" in args.parts and kernel_ok:
        result["compile"] = compile_time(device, torch.float64, min(4096, max(args.batches)))
        print(f"  compile: first call {result['compile']['first_call_s']:.2f} s, second {result['compile']['second_call_s'] * 1e3:.2f} ms", flush=True)
        save()
    if "check" in args.parts and kernel_ok:
        result["check"] = check(trebuchet, trebuchet_triton, device, args.check_throws)
        print("  check: " + json.dumps(result["check"]), flush=True)
        save()
    if "trebuchet" in args.parts:
        # The first throws of the largest batch's draw (a draw of fewer throws gives other throws).
        ref, ref_grad = reference(throws(max(args.batches))[:ERROR_THROWS])
        result["trebuchet"] = trebuchet_rows(device, args.batches, args.eager_max_batch, args.repeats, ref, ref_grad, kernel_ok,
                                             on_row=rows_of("trebuchet"))
    if "wrapper" in args.parts:
        result["wrapper"] = wrapper_memory(device, min(4096, max(args.batches)))
        for row in result["wrapper"]["rows"]:
            print(f"  wrapper {row['dtype']:7}: one call {row['one_call']:.0f} B/throw, in a loop {row['in_a_loop']:.0f}, "
                  f"timing loop {row['timing_loop']:.0f}; at the sort " + ", ".join(f"{k} {v:.0f}" for k, v in row["at_the_sort"].items())
                  + "; stages " + ", ".join(f"{k} {v:.0f}" for k, v in row["stages"].items()), flush=True)
        save()
    if "apg" in args.parts:
        result["apg"] = apg_rows(device, args.apg_batches, args.repeats, on_row=rows_of("apg"))
    if "steps" in args.parts:
        result["steps"] = step_rows(device, args.step_batch, args.repeats, on_row=rows_of("steps"))
    result["goals"] = goals(result)
    result["headline"] = headline(result)
    result["wall_s"] = time.perf_counter() - started
    lines = ["", f"{'goal':52} {'measured':>14} {'goal':>10}  met"]
    for name, g in result["goals"].items():
        value = "not measured" if g["measured"] is None else f"{g['measured']:.4g}"
        lines.append(f"{name:52} {value:>14} {g['goal']:>10.3g}  {'-' if g['met'] is None else ('yes' if g['met'] else 'no')}")
    print("\n".join(lines))
    save(out)
    partial.unlink(missing_ok=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
