"""
    Policies

The networks of the 2019 code as Flux `Chain`s in Float64, and their weights as plain arrays in
the layout of PyTorch's `nn.Linear` (weight out×in, bias), so one set of initial weights runs on
both stacks. The PyTorch twins come with the PyTorch trainers (`pyside/dprl/train/`).
"""
module Policies

using Flux
using NNlib

"""Trebuchet aimer (docs/original-2019.md §2): (wind, target) → two raw outputs; 2→16→64→16→2, sigmoid."""
aimer_policy() = Flux.f64(Chain(Dense(2 => 16, NNlib.sigmoid), Dense(16 => 64, NNlib.sigmoid),
                                Dense(64 => 16, NNlib.sigmoid), Dense(16 => 2)))

"""CartPole controller (docs/original-2019.md §3.2): state → tanh output, later a straight-through sign; 4→24→48→1."""
cartpole_policy() = Flux.f64(Chain(Dense(4 => 24, NNlib.relu), Dense(24 => 48, NNlib.relu), Dense(48 => 1, tanh)))

"""Pendulum controller (docs/original-2019.md §4.2): observation → raw output; 3→24→48→1, linear last layer."""
pendulum_policy() = Flux.f64(Chain(Dense(3 => 24, NNlib.relu), Dense(24 => 48, NNlib.relu), Dense(48 => 1)))

"""Copy (weight, bias) pairs into the Dense layers of `model`, checking every shape."""
function load_weights!(model::Chain, layers)
    length(layers) == length(model.layers) ||
        throw(ArgumentError("weights: expected $(length(model.layers)) (weight, bias) pairs, got $(length(layers))"))
    for (i, (layer, (weight, bias))) in enumerate(zip(model.layers, layers))
        size(weight) == size(layer.weight) ||
            throw(ArgumentError("weights: layer $i weight must be $(size(layer.weight)) (out×in), got $(size(weight))"))
        length(bias) == length(layer.bias) ||
            throw(ArgumentError("weights: layer $i bias must have length $(length(layer.bias)), got $(length(bias))"))
        layer.weight .= weight
        layer.bias .= bias
    end
    return model
end

"""The model's (weight, bias) pairs as fresh arrays."""
weights(model::Chain) = [(copy(layer.weight), copy(layer.bias)) for layer in model.layers]

end # module
