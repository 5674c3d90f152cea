"""The APG update of `dprl.train.pendulum` (rollout, backward, gradient clip, Adam step) as one
CUDA graph: the speed module beside that reference, which it must agree with to rounding.

Eager, the update is ~10,000 small kernel launches (200 steps of the policy twice, the step and
their backward) and the GPU waits on Python; replayed as one graph it is a single launch. What a
graph needs, and how it is met here:

- no host synchronisation inside: the loss and a "weights finite" flag are left on the device and
  read together after the replay (one transfer); the reference's `clip_global_norm` and Adam created with
  `capturable=True` keep their arithmetic on the device;
- fixed addresses: the start states are copied into one input buffer, the gradients are made by
  the captured backward (they are None at capture) and rewritten in place by each replay;
- lazy set-up (cuBLAS handles, Adam's state, cached constants) done before capture: the first
  `warmup` updates run eagerly on the stream the capture will use.

`APGUpdate` runs the same code without capture on other devices (or with `graph=False`), so its
logic is tested on the CPU. It is handed the reference's update (`dprl.train.pendulum.apg_backward`)
rather than importing it: the reference imports this module, and imports go one way.
"""

from __future__ import annotations

import math

import torch

from dprl.results import Diverged

WARMUP = 2


class APGUpdate:
    """One APG update a call, on the policy's device: `update(k, starts)` copies `starts` (B, 2)
    into the input buffer, runs (or replays) `backward(buffer)` (rollout, backward and clip: the
    reference's `apg_backward` with its settings bound) and `optimizer.step()`, and
    returns the loss as a float. Where the loss or a weight is not finite it restores the weights
    of before the update and raises Diverged naming update `k`, as `checked_step` does.
    `optimizer` must be made with `capturable=True` for a graph. `graph` (default: on CUDA) captures
    the update after `warmup` eager ones."""

    def __init__(self, policy, optimizer, batch: int, backward, *, graph: bool | None = None, warmup: int = WARMUP):
        self.policy, self.optimizer, self.backward = policy, optimizer, backward
        self.parameters = list(policy.parameters())
        device = self.parameters[0].device
        self.graph = device.type == "cuda" if graph is None else bool(graph)
        if self.graph and device.type != "cuda":
            raise ValueError(f"graph=True needs a policy on a CUDA device; got {device}")
        if self.graph and not all(group.get("capturable") for group in optimizer.param_groups):
            raise ValueError("optimizer must be made with capturable=True to be captured in a CUDA graph")
        self.warmup = max(int(warmup), 1)
        self.starts = torch.zeros(batch, 2, dtype=torch.float64, device=device)
        self.before = [p.detach().clone() for p in self.parameters]
        self.stream = torch.cuda.Stream(device) if self.graph else None
        self.cuda_graph = None
        self.outputs = None
        self.calls = 0

    def _update(self):
        """The update with no host synchronisation: (loss, all weights finite) as device tensors."""
        with torch.no_grad():
            for kept, p in zip(self.before, self.parameters):
                kept.copy_(p)
        loss = self.backward(self.starts)
        self.optimizer.step()
        with torch.no_grad():
            finite = torch.stack([torch.isfinite(p).all() for p in self.parameters]).all()
        return loss.detach(), finite

    def _eager(self):
        self.optimizer.zero_grad()
        if self.stream is None:
            return self._update()
        self.stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(self.stream):
            outputs = self._update()
        torch.cuda.current_stream().wait_stream(self.stream)
        return outputs

    def _capture(self):
        # Capture records without running: the update this call stands for is the first replay.
        self.optimizer.zero_grad(set_to_none=True)
        self.cuda_graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.cuda_graph, stream=self.stream):
            self.outputs = self._update()

    def __call__(self, k: int, starts) -> float:
        starts = torch.as_tensor(starts, dtype=torch.float64)
        if starts.shape != self.starts.shape:
            raise ValueError(f"starts must have shape {tuple(self.starts.shape)}; got {tuple(starts.shape)}")
        self.starts.copy_(starts)
        if self.graph and self.cuda_graph is None and self.calls >= self.warmup:
            self._capture()
        self.calls += 1
        if self.cuda_graph is not None:
            self.cuda_graph.replay()
            loss, finite = self.outputs
        else:
            loss, finite = self._eager()
        value, ok = torch.stack((loss, finite.to(loss.dtype))).tolist()
        if math.isfinite(value) and ok:
            return value
        with torch.no_grad():
            for p, kept in zip(self.parameters, self.before):
                p.copy_(kept)
        raise Diverged(f"update {k} diverged: " + (f"its loss is {value}" if not math.isfinite(value) else "its step made a weight non-finite"))
