"""Training stops at the first update whose loss or weights are not finite.

A learning rate far too large (`dprl train pendulum --learning-rate 1e300`) sends the weights to
infinity and every later loss to NaN; carried on, the run would finish "successfully" with NaN
weights. Each trainer's optimizer step goes through `checked_step` instead: the update that
diverged is named in one line (`Diverged`, which `dprl.results.interruptible` turns into an
unfinished result with `extra["diverged"]`), and the weights stay those of the last finite update,
so what finished before is kept.
"""

from __future__ import annotations

import math

import torch

from dprl.results import Diverged


def checked_step(update: int, parameters, step, loss=None) -> float:
    """Take optimizer `step()` as update number `update` and return the update's loss as a float:
    `loss` (a tensor, read before the step) or, without it, what `step()` returns (the
    Levenberg–Marquardt step returns its loss). Raises Diverged, with the weights as they were
    before the step, where the loss or any weight is not finite."""
    parameters = list(parameters)
    value = None if loss is None else loss.item()
    if value is not None and not math.isfinite(value):
        raise Diverged(f"update {update} diverged: its loss is {value}")
    with torch.no_grad():
        before = [p.detach().clone() for p in parameters]
    returned = step()
    value = float(returned) if value is None else value
    finite_weights = all(bool(torch.isfinite(p).all()) for p in parameters)
    if math.isfinite(value) and finite_weights:
        return value
    with torch.no_grad():
        for p, kept in zip(parameters, before):
            p.copy_(kept)
    raise Diverged(f"update {update} diverged: " + (f"its loss is {value}" if not math.isfinite(value) else "its step made a weight non-finite"))
