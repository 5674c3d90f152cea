"""The 2019 networks in float64, and their weights as (weight out×in, bias) pairs.

Twin of `julia/src/policies.jl`. The pairs are nn.Linear's own layout, which the Julia side loads
as is, so one set of initial weights runs on both stacks.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def aimer_policy() -> nn.Sequential:
    """Trebuchet aimer (docs/original-2019.md §2): (wind, target) → two raw outputs; 2→16→64→16→2, sigmoid."""
    return nn.Sequential(
        nn.Linear(2, 16), nn.Sigmoid(), nn.Linear(16, 64), nn.Sigmoid(), nn.Linear(64, 16), nn.Sigmoid(), nn.Linear(16, 2)
    ).double()


def cartpole_policy() -> nn.Sequential:
    """CartPole controller (docs/original-2019.md §3.2): state → tanh output, later a straight-through sign; 4→24→48→1."""
    return nn.Sequential(nn.Linear(4, 24), nn.ReLU(), nn.Linear(24, 48), nn.ReLU(), nn.Linear(48, 1), nn.Tanh()).double()


def pendulum_policy() -> nn.Sequential:
    """Pendulum controller (docs/original-2019.md §4.2): observation → raw output; 3→24→48→1, linear last layer."""
    return nn.Sequential(nn.Linear(3, 24), nn.ReLU(), nn.Linear(24, 48), nn.ReLU(), nn.Linear(48, 1)).double()


def _linear_layers(model: nn.Module) -> list[nn.Linear]:
    return [m for m in model if isinstance(m, nn.Linear)]


def load_weights(model: nn.Module, layers) -> nn.Module:
    """Copy (weight, bias) pairs into the Linear layers of `model`, checking every shape."""
    linears = _linear_layers(model)
    if len(layers) != len(linears):
        raise ValueError(f"weights: expected {len(linears)} (weight, bias) pairs, got {len(layers)}")
    with torch.no_grad():
        for i, (linear, (weight, bias)) in enumerate(zip(linears, layers), start=1):
            weight = torch.as_tensor(np.asarray(weight), dtype=linear.weight.dtype)
            bias = torch.as_tensor(np.asarray(bias), dtype=linear.bias.dtype)
            if weight.shape != linear.weight.shape:
                raise ValueError(f"weights: layer {i} weight must be {tuple(linear.weight.shape)} (out×in), got {tuple(weight.shape)}")
            if bias.shape != linear.bias.shape:
                raise ValueError(f"weights: layer {i} bias must have length {linear.bias.shape[0]}, got {tuple(bias.shape)}")
            if not (torch.isfinite(weight).all() and torch.isfinite(bias).all()):
                raise ValueError(f"weights: layer {i} holds non-finite values")
            linear.weight.copy_(weight)
            linear.bias.copy_(bias)
    return model


def weights(model: nn.Module) -> list[tuple[np.ndarray, np.ndarray]]:
    """The model's (weight, bias) pairs as fresh float64 NumPy arrays. A model without nn.Linear
    layers (`dprl.julia.module` of a Flux Chain of Dense layers) gives its parameters in pairs,
    which for Dense layers are (weight out×in, bias) too."""
    if isinstance(model, nn.Sequential):
        pairs = [(m.weight, m.bias) for m in _linear_layers(model)]
    else:
        parameters = list(model.parameters())
        pairs = list(zip(parameters[::2], parameters[1::2]))
    return [(w.detach().cpu().numpy().astype(np.float64), b.detach().cpu().numpy().astype(np.float64)) for w, b in pairs]


# ----------------------------------------------------------------------------------------------
# PyTorch only: seeded initial weights (drawn here and handed to both stacks)
# ----------------------------------------------------------------------------------------------
def glorot_weights(factory, seed: int):
    """Flux 0.7's default initialisation, which the 2019 code used: Glorot-uniform weights,
    U(±√(6/(fan_in + fan_out))), and zero biases; seeded, as (weight, bias) pairs."""
    generator = torch.Generator().manual_seed(seed)
    layers = []
    for linear in _linear_layers(factory()):
        fan_out, fan_in = linear.weight.shape
        limit = (6 / (fan_in + fan_out)) ** 0.5
        weight = (torch.rand(fan_out, fan_in, generator=generator, dtype=torch.float64) * 2 - 1) * limit
        layers.append((weight.numpy(), np.zeros(fan_out)))
    return layers


def initial_weights(factory, seed: int):
    """PyTorch's default initialisation of `factory()`, seeded, as (weight, bias) pairs."""
    generator_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        return weights(factory())
    finally:
        torch.random.set_rng_state(generator_state)


def resolve_device(device) -> torch.device:
    """A trainer's `device` (None: the CPU) as a torch.device; ValueError naming it when it is no
    device, or not one this machine has."""
    if device is None:
        return torch.device("cpu")
    try:
        device = torch.device(device)
        if device.type == "meta":
            raise RuntimeError("a meta tensor holds no data to train or time")
        torch.empty(0, device=device)
    except (RuntimeError, TypeError, AssertionError) as error:
        raise ValueError(f"device must be a torch device this machine has, such as 'cpu' or 'cuda' (where CUDA is available); "
                         f"got {str(device)!r} ({str(error).splitlines()[0]})") from None
    return device


def model_device(model) -> torch.device | None:
    """The device a model's parameters live on; None for a policy that is a plain function."""
    parameters = model.parameters() if isinstance(model, nn.Module) else ()
    return next((p.device for p in parameters), None)
