"""
    Modules

Julia's half of `dprl.julia.module` (`pyside/dprl/julia_module.py`): a Functors model (a Flux
`Chain`, `Dense`, a `Flux.@layer` struct) as a PyTorch module. Its trainable arrays are listed
by key path (`Flux.trainables(model; path = true)`, Optimisers 0.4), and PyTorch views their
memory: a torch optimizer's in-place step is the model's new weights, with no copy either way.
The forward pass takes features × batch (one copy of the batch into a Julia `Array`) and keeps
Zygote's pullback with respect to the model and the input until Python asks for the gradients.
"""
module Modules

using Flux
using Zygote

const Functors = Flux.Functors

"""A short description of `model` for error messages (its compact `show`, cut to 100 characters)."""
function describe(model)
    text = sprint(show, model; context = :compact => true)
    return length(text) <= 100 ? text : first(text, 97) * "..."
end

"""The arrays anywhere in `model`, trainable or not, as `path => array` strings: for saying why a
model has no trainable float arrays."""
function all_arrays(model)
    found = String[]
    Functors.fmap_with_path(model) do kp, x
        x isa AbstractArray && push!(found, "$(keypath_string(kp)) ($(typeof(x)))")
        x
    end
    return found
end

keypath_string(kp) = join(string.(kp.keys), ".")

"""
    parameters(model)

`(names, arrays, paths, eltype)` of the trainable arrays of `model`, in `Flux.trainables` order
(tied arrays once). Refuses, naming the array: no trainable arrays, arrays that are not dense
`Array`s of Float32 or Float64 (PyTorch can share only those), and a mix of Float32 and Float64.
"""
function parameters(model)
    pairs = Flux.trainables(model; path = true)
    what = describe(model)
    if isempty(pairs)
        arrays = all_arrays(model)
        held = isempty(arrays) ? "it holds no arrays at all: is it a Flux layer, a Chain or a Flux.@layer struct?" :
               "its arrays are not trainable float arrays: $(join(arrays, ", "))"
        throw(ArgumentError("model $what has no trainable arrays; $held"))
    end
    names = String[keypath_string(kp) for (kp, _) in pairs]
    arrays = Any[a for (_, a) in pairs]
    for (name, a) in zip(names, arrays)
        eltype(a) <: Union{Float32, Float64} ||
            throw(ArgumentError("model $what: parameter $name holds $(eltype(a)); the arrays must hold Float32 or Float64"))
        a isa Array ||
            throw(ArgumentError("model $what: parameter $name is a $(typeof(a)), not an Array; PyTorch can share only a dense Array's memory"))
    end
    types = unique(map(eltype, arrays))
    if length(types) > 1
        examples = [string(names[findfirst(a -> eltype(a) == T, arrays)], " is ", T) for T in types]
        throw(ArgumentError("model $what mixes element types ($(join(examples, ", "))); make it one type with Flux.f32 or Flux.f64"))
    end
    return (names = names, arrays = arrays, paths = [kp for (kp, _) in pairs], eltype = string(only(types)))
end

"""The number of input features of `model` when its first layer says (a `Dense`), else `nothing`."""
input_width(model::Flux.Dense) = size(model.weight, 2)
input_width(model::Flux.Chain) = isempty(model.layers) ? nothing : input_width(first(model.layers))
input_width(model) = nothing

"""
    forward(model, x, record)

`model` applied to `x` (features × batch, any `AbstractMatrix`; copied once into an `Array` of
its own element type so BLAS runs on it). With `record`, the pullback with respect to the model
and the input is kept: `(output, back)`; the output is an `Array` Python views without a copy.
"""
function forward(model, x::AbstractMatrix{T}, record::Bool) where {T}
    xj = Matrix{T}(x)
    y, back = record ? Zygote.pullback((m, a) -> m(a), model, xj) : (model(xj), nothing)
    y isa AbstractMatrix{<:Real} ||
        throw(ArgumentError("model $(describe(model)) returned a $(typeof(y)) for a $(size(xj, 1))×$(size(xj, 2)) input; a model for PyTorch must return a features × batch matrix of reals"))
    size(y, 2) == size(xj, 2) ||
        throw(DimensionMismatch("model $(describe(model)) returned $(size(y, 2)) columns for a batch of $(size(xj, 2)); it must keep the batch"))
    return (output = y isa Array ? y : collect(y), back = back)
end

"""The entry of the structural gradient `g` at key path `kp`, or `nothing` where Zygote gave none."""
function gradient_at(g, kp)
    for k in kp.keys
        g === nothing && return nothing
        if k isa Symbol
            hasproperty(g, k) || return nothing
            g = getproperty(g, k)
        else
            g = g[k]
        end
    end
    return g
end

"""
    backward(back, paths, arrays, ȳ)

Run the pullback kept by `forward` on the cotangent `ȳ` (features × batch): the gradient for
the input and one per trainable array, in `paths` order, each an `Array` of its array's type
(zeros where the model does not depend on it).
"""
function backward(back, paths, arrays, ȳ::AbstractMatrix{T}) where {T}
    gm, gx = back(Matrix{T}(ȳ))
    grads = map(paths, arrays) do kp, a
        g = gradient_at(gm, kp)
        g === nothing ? zeros(eltype(a), size(a)) : g isa Array{eltype(a)} ? g : Array{eltype(a)}(g)
    end
    return (input = gx === nothing ? nothing : (gx isa Array ? gx : collect(gx)), params = grads)
end

"""Flux's train mode (`trainmode!`, dropout and batch statistics on) or test mode (`testmode!`)."""
set_training!(model, training::Bool) = training ? Flux.trainmode!(model) : Flux.testmode!(model)

"""The model with its current weights, as a copy that later training leaves alone."""
snapshot(model) = deepcopy(model)

end # module
