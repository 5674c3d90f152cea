"""The shape check of the pure step functions (`cartpole.step`, `pendulum.step`): broadcasting
would otherwise turn a wrong shape into a wrong answer, e.g. a (10, 1) action and a (10, 2)
state into a (10, 10, 2) next state."""

from __future__ import annotations

import torch


def check_shapes(state, action, size: int, layout: str) -> None:
    """Raise ValueError unless `state` is a tensor of shape (..., size) and `action` has its
    batch shape `state.shape[:-1]` (or is one action for the whole batch, shape ())."""
    if not torch.is_tensor(state):
        raise ValueError(f"state must be a tensor of shape (..., {size}) {layout}; got {type(state).__name__}")
    shape = action.shape if torch.is_tensor(action) else torch.Size(getattr(action, "shape", ()))
    if state.shape[-1:] != (size,) or (shape != state.shape[:-1] and shape != ()):
        raise ValueError(f"state must have shape (..., {size}) {layout} and action the batch shape (...) or (); "
                         f"got state {tuple(state.shape)}, action {tuple(shape)}")
