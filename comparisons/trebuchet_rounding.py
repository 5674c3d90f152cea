"""How far two correct float64 trebuchets can disagree: the rounding floor under issue 28's
accuracy goals (distances within 2e-12, gradients within 1e-9 of the CPU float64 reference).

    python comparisons/trebuchet_rounding.py [--check-throws 4096] [--draw N] [--seeds 8] [--out FILE]

The GPU kernel and the CPU reference do the same operations in the same order, without fused
multiply-adds, and IEEE rounds +, -, ×, ÷ and √ the same everywhere; their sines, cosines,
arctangents and arcsines come from different maths libraries (CUDA's libdevice against PyTorch's
CPU kernels), which may round a result to the neighbouring float64. This script measures what
such one-unit-in-the-last-place (ulp) differences do, on the CPU, to the reference itself
(`trebuchet_fast.launch(..., kernel=False)`, float64, the distance and its three partials by
autograd), on bench_gpu.py's check throws (its seeded throws plus its edge throws):

- maths: every float64 result of sin, cos, atan2 and asin (forward and backward pass) moved one
  ulp down, left, or moved one ulp up, each with probability 1/3, drawn per element and per call
  from a seeded generator: a maths library that disagrees with the reference's often.
- inputs: each throw's wind, angle and weight moved one ulp down, left or up the same way: the
  problem's own conditioning.

Each seed is one such run, scored against the unperturbed reference with bench_gpu.py's metrics
(distance relative; gradient relative to the throw's largest partial, and partial by partial).
Prints a table (the worst seed, the median seed, the most throws one seed puts past each goal, and
the worst throw's inputs) and writes JSON.
A GPU figure above these floors points at the kernel; one inside them cannot be told from a
different maths library.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode

ROOT = Path(__file__).resolve().parents[1]
_SPEC = importlib.util.spec_from_file_location("bench_gpu", ROOT / "comparisons" / "bench_gpu.py")
bench_gpu = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench_gpu)

MATHS = {torch.ops.aten.sin.default, torch.ops.aten.cos.default, torch.ops.aten.atan2.default, torch.ops.aten.asin.default}
METRICS = ("distance_rel_error_max", "gradient_rel_error_max", "gradient_partial_rel_error_max", "gradient_partial_rel_error_p99")


def nudge(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """x with each element moved one ulp down, left, or moved one ulp up (probability 1/3 each)."""
    step = torch.randint(-1, 2, x.shape, generator=generator)
    up = torch.nextafter(x, torch.full_like(x, float("inf")))
    down = torch.nextafter(x, torch.full_like(x, float("-inf")))
    return torch.where(step > 0, up, torch.where(step < 0, down, x))


class NudgedMaths(TorchDispatchMode):
    """Every float64 sin, cos, atan2 and asin result nudged (`nudge`); counts the results it nudged."""

    def __init__(self, generator: torch.Generator):
        super().__init__()
        self.generator = generator
        self.calls = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func in MATHS and isinstance(out, torch.Tensor) and out.dtype == torch.float64:
            self.calls += 1
            return nudge(out, self.generator)
        return out


def run(rows: np.ndarray, kind: str | None, seed: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    """The reference's distances and gradients (n, 3) on `rows`, nudged by `kind` with `seed`."""
    from dprl.envs import trebuchet_fast

    generator = torch.Generator().manual_seed(seed)
    inputs = [torch.tensor(c, dtype=torch.float64) for c in rows.T]
    if kind == "inputs":
        inputs = [nudge(x, generator) for x in inputs]
    leaves = [x.requires_grad_(True) for x in inputs]
    mode = NudgedMaths(generator) if kind == "maths" else None
    if mode is not None:
        mode.__enter__()
    try:
        result = trebuchet_fast.launch(*leaves, kernel=False)
        landed = torch.where(torch.isfinite(result.distance), result.distance, torch.zeros_like(result.distance))
        grads = torch.autograd.grad(landed.sum(), leaves)
    finally:
        if mode is not None:
            mode.__exit__(None, None, None)
    return result.distance.detach(), torch.stack(grads, dim=1), (mode.calls if mode is not None else 0)


def over_goals(distance, gradient, ref_distance, ref_gradient) -> dict:
    """How many landed throws miss each of issue 28's accuracy goals in this run."""
    landed, d, g = bench_gpu.throw_errors(distance, gradient, ref_distance, ref_gradient)
    return {"landed": int(landed.sum()),
            "throws_over_distance_goal": int((d[landed] > bench_gpu.GOALS["distance_rel_error"]).sum()),
            "throws_over_gradient_goal": int((g[landed] > bench_gpu.GOALS["gradient_rel_error"]).sum())}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check-throws", type=int, default=4096, help="seeded throws (bench_gpu.py's), before its edge throws")
    parser.add_argument("--draw", type=int, default=None,
                        help="take the first --check-throws of a seeded draw of this many throws, without the edge throws: "
                             "bench_gpu.py's trebuchet rows score their errors on the first 1,024 of a draw of their largest batch "
                             "(--draw 4194304 --check-throws 1024 for its default batches); default: the check's throws and edge throws")
    parser.add_argument("--seeds", type=int, default=8, help="nudged runs of each kind")
    parser.add_argument("--out", default=str(ROOT / "comparisons" / "results" / "trebuchet_rounding.json"))
    args = parser.parse_args()
    if args.check_throws < 1 or args.seeds < 1:
        print("--check-throws and --seeds must be at least 1", file=sys.stderr)
        sys.exit(2)
    if args.draw is not None and args.draw < args.check_throws:
        print(f"--draw must be at least --check-throws ({args.check_throws}); got {args.draw}", file=sys.stderr)
        sys.exit(2)
    torch.set_default_dtype(torch.float64)
    started = time.perf_counter()
    if args.draw is None:
        rows = np.vstack([bench_gpu.throws(args.check_throws), np.array(bench_gpu.EDGE_THROWS)])
    else:  # a draw's columns depend on its size, so these are other throws than the check's
        rows = bench_gpu.throws(args.draw)[:args.check_throws]
    ref_distance, ref_gradient, _ = run(rows, None, 0)
    result = {"command": "python comparisons/trebuchet_rounding.py " + " ".join(sys.argv[1:]), "torch": torch.__version__,
              "throws": len(rows), "seed": bench_gpu.SEED, "draw": args.draw, "edge_throws": bench_gpu.EDGE_THROWS if args.draw is None else [],
              "goals": {"distance_rel_error": bench_gpu.GOALS["distance_rel_error"], "gradient_rel_error": bench_gpu.GOALS["gradient_rel_error"]},
              "kinds": {}}
    lines = [f"{'nudged':8} {'seeds':>5} {'distance (worst)':>17} {'(median)':>9} {'gradient (worst)':>17} {'(median)':>9} "
             f"{'partial p99 (worst)':>20} {'over goals (d, g)':>17}  worst throw (wind, angle, weight)"]
    for kind in ("maths", "inputs"):
        runs = []
        for seed in range(args.seeds):
            distance, gradient, calls = run(rows, kind, seed)
            errors = bench_gpu.errors(distance, gradient, ref_distance, ref_gradient)
            errors.update(seed=seed, nudged_results=calls, worst_throw=bench_gpu.worst_throw(rows, distance, gradient, ref_distance, ref_gradient),
                          **over_goals(distance, gradient, ref_distance, ref_gradient))
            runs.append(errors)
            print(f"  {kind} seed {seed}: distance {errors['distance_rel_error_max']:.2e}, gradient {errors['gradient_rel_error_max']:.2e}", flush=True)
        summary = {f"{m}_worst": max(r[m] for r in runs) for m in METRICS}
        summary.update({f"{m}_median": statistics.median(r[m] for r in runs) for m in METRICS})
        worst = max(runs, key=lambda r: r["gradient_rel_error_max"])["worst_throw"]
        summary["throws_over_distance_goal_max"] = max(r["throws_over_distance_goal"] for r in runs)
        summary["throws_over_gradient_goal_max"] = max(r["throws_over_gradient_goal"] for r in runs)
        over = f"{summary['throws_over_distance_goal_max']}, {summary['throws_over_gradient_goal_max']}"
        result["kinds"][kind] = {"summary": summary, "runs": runs}
        lines.append(f"{kind:8} {args.seeds:>5} {summary['distance_rel_error_max_worst']:>17.2e} {summary['distance_rel_error_max_median']:>9.2e} "
                     f"{summary['gradient_rel_error_max_worst']:>17.2e} {summary['gradient_rel_error_max_median']:>9.2e} "
                     f"{summary['gradient_partial_rel_error_p99_worst']:>20.2e} {over:>17}  "
                     f"({worst['wind']:.3f}, {worst['angle_deg']:.3f}, {worst['weight_lb']:.3f}), #{worst['index']}")
    result["wall_s"] = time.perf_counter() - started
    print("\n".join(["", *lines]))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
