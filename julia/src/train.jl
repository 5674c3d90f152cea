"""
    Train

The differentiable-programming trainers in today's explicit Flux style (`Flux.setup`,
`Flux.withgradient`, `Flux.update!`). Each takes the initial weights, the data and a config
(`DPRL.Config`) as arguments, so a caller can feed both stacks the same inputs, and returns a Dict
of per-update losses, per-episode evaluation scores and the final weights. One file a task, each
the twin of the PyTorch trainer of the same name: `train/trebuchet.jl` ↔ `pyside/dprl/train/trebuchet.py`.
"""
module Train

using Flux
using NNlib
using ChainRulesCore
using ..Config
using ..Trebuchet
using ..CartPole
using ..Pendulum
using ..Policies

# Helpers of all three trainers (PyTorch has them built in: `Tensor.mean`, `autograd.grad`).
average(xs) = sum(xs) / length(xs)

"""Zygote's gradient of a Chain as (weight, bias) pairs in nn.Linear's layout (zeros where none)."""
layer_gradients(model, g) = [(gl === nothing || gl.weight === nothing ? zero(l.weight) : gl.weight,
                              gl === nothing || gl.bias === nothing ? zero(l.bias) : gl.bias)
                             for (l, gl) in zip(model.layers, g === nothing ? fill(nothing, length(model.layers)) : g.layers)]

include("train/trebuchet.jl")
include("train/cartpole.jl")
include("train/pendulum.jl")

end # module
