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

# The bookkeeping at each evaluation, as Python's `TrainingResult.record`: the score, the training
# episodes and environment steps done so far, and the seconds since the clock started (`time_ns()`).
struct Curve
    scores::Vector{Float64}
    episodes::Vector{Int}
    env_steps::Vector{Int}
    wall_time::Vector{Float64}
end
Curve() = Curve(Float64[], Int[], Int[], Float64[])

function record!(curve::Curve, score, episodes, env_steps, started::UInt64)
    push!(curve.scores, score)
    push!(curve.episodes, episodes)
    push!(curve.env_steps, env_steps)
    push!(curve.wall_time, (time_ns() - started) / 1e9)
    return curve
end

"""What a trainer returns (and hands `on_episode`): the per-update "losses", the curve's per-evaluation
"scores", "episodes", "env_steps" and "wall_time", the "weights", and the `extra` pairs."""
trained(losses, curve::Curve, model, extra...) =
    Dict{String, Any}("losses" => losses, "scores" => curve.scores, "episodes" => curve.episodes, "env_steps" => curve.env_steps,
                      "wall_time" => curve.wall_time, "weights" => Policies.weights(model), extra...)

"""Adam's step on `model` as update number `update`, unless the loss or a stepped weight is not
finite: then the weights stay as they were and the message naming the update is returned (Python's
`dprl.train.divergence.checked_step`); `nothing` when the step was taken. `kept` (from
`Policies.weights(model)`, made once a run) holds the weights before the step."""
function checked_update!(opt_state, model, grads, loss, update, kept)
    isfinite(loss) || return "update $update diverged: its loss is $(lowercase(string(loss)))"
    foreach(((w, b), layer) -> (copyto!(w, layer.weight); copyto!(b, layer.bias)), kept, model.layers)
    Flux.update!(opt_state, model, grads)
    all(layer -> all(isfinite, layer.weight) && all(isfinite, layer.bias), model.layers) && return nothing
    Policies.load_weights!(model, kept)
    return "update $update diverged: its step made a weight non-finite"
end

include("train/trebuchet.jl")
include("train/cartpole.jl")
include("train/pendulum.jl")

end # module
