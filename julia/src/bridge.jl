"""
    Bridge

Julia's half of `dprl.julia.function` (`pyside/dprl/julia_function.py`): find a function by
name, run it once or over a batch, and keep what its backward pass needs, Zygote pullbacks or
ForwardDiff Jacobians, until Python asks for the gradients. Glue, called once per torch call; the
per-sample work is the user's function.

Arrays arrive as PythonCall `PyArray`s over the tensors' memory, indexed as in PyTorch (a
`(B, 3)` tensor is a `B×3` array here, row-major in memory). A batched call (`core` not
`nothing`) treats the leading `length(batch)` dimensions of each batched argument as the batch
and gives the function one sample at a time: a scalar for a core of 0 dimensions, a view for
more. Arguments with a core of `nothing` reach every call whole, and their gradients sum over the
batch. Outputs and gradients are returned as Julia `Array`s, which Python views without a copy.
"""
module Bridge

using ForwardDiff
using Zygote

# ----------------------------------------------------------------------------------------------
# Names
# ----------------------------------------------------------------------------------------------
"""The module a dotted name starts from: DPRL's own names first, then loaded packages, then Main."""
function first_module(root::Module, head::Symbol)
    isdefined(root, head) && return root
    for m in values(Base.loaded_modules)
        nameof(m) == head && return m
    end
    return Main
end

"""
    resolve(name, root)

`(found = true, f, fullname)` for the function called `name` ("Trebuchet.shoot",
"DPRL.Trebuchet.shoot", "NNlib.softplus", "sin"), or `(found = false, where, missing, names)`
saying which part was not found and what the module it was looked for in defines.
"""
function resolve(name::AbstractString, root::Module)
    parts = Symbol.(split(name, '.'))
    current = first_module(root, parts[1])
    walked = String[string(nameof(current))]
    value = current
    for part in parts
        if !(value isa Module) || !isdefined(value, part)
            defined = value isa Module ? String[string(n) for n in names(value; all = true, imported = true)
                                                if !startswith(string(n), "#")] : String[]
            return (found = false, where = join(walked, "."), missing = string(part), names = defined)
        end
        value = getfield(value, part)
        part == parts[1] && nameof(current) == part || push!(walked, string(part))
    end
    callable = value isa Function || value isa Type || !isempty(methods(value))
    callable || return (found = false, where = join(walked, "."), missing = "", names = [string(typeof(value))])
    fullname = value isa Function ? string(parentmodule(value), ".", nameof(value)) : join(walked, ".")
    return (found = true, f = value, fullname = fullname)
end

"""The argument names of `f`'s method taking `n` positional arguments, or `argN` placeholders."""
function argnames(f, n::Integer)
    for m in methods(f)
        if m.nargs - 1 == n && !m.isva
            names = Base.method_argnames(m)[2:end]
            all(!isempty ∘ string, names) && return String[string(a) for a in names]
        end
    end
    return String["arg$i" for i in 1:n]
end

# ----------------------------------------------------------------------------------------------
# Samples
# ----------------------------------------------------------------------------------------------
"""An error thrown by the user's function, with the batch index it was thrown at."""
struct SampleError <: Exception
    index::Union{Nothing, Tuple}
    stage::String
    error::Any
    backtrace::Any  # where the user's function threw (catch_backtrace()), for Python's julia_backtrace
end
SampleError(index, stage, error) = SampleError(index, stage, error, nothing)

Base.showerror(io::IO, e::SampleError) = showerror(io, e.error)
error_kind(e::SampleError) = string(nameof(typeof(e.error)))
error_message(e::SampleError) = sprint(showerror, e.error)
error_index(e::SampleError) = e.index === nothing ? nothing : collect(e.index)
error_stage(e::SampleError) = e.stage

"""Argument `a` at batch index `I`: whole for a core of `nothing` (or no batch), a scalar for 0, else a view."""
sample(a, I, core) = I === nothing || core === nothing ? a : core == 0 ? a[I] : view(a, Tuple(I)..., ntuple(_ -> Colon(), core)...)

"""A 0-dimensional array (a 0-d tensor) as the number it holds: unbatched calls take scalars as numbers."""
scalar_or_array(a) = a isa AbstractArray && ndims(a) == 0 ? a[] : a

outputs_tuple(y) = y isa Tuple ? y : (y,)

function check_output(y, k)
    y isa Union{Number, AbstractArray{<:Number}} ||
        throw(ArgumentError("output $k is a $(typeof(y)); a function for PyTorch must return numbers, arrays of numbers, or a tuple of them"))
    return y
end

"""The Julia type of an output, named in Python's error for types PyTorch cannot hold."""
type_name(x) = string(typeof(x))

"""A Julia-owned `Array` for output `y`: an `Array` as is, anything else collected."""
owned(y::Array) = y
owned(y::AbstractArray) = collect(y)
owned(y::Number) = fill(y)  # a 0-d Array: Python sees its element type (Float32 stays Float32)

# ----------------------------------------------------------------------------------------------
# Forward
# ----------------------------------------------------------------------------------------------
"""What a forward pass returns: outputs (a tuple), and the backward state (or nothing)."""
struct Forward
    outputs::Tuple
    istuple::Bool
    mode::String  # "none" | "zygote" | "forwarddiff"
    backs::Vector{Any}  # one pullback or Jacobian per sample
    args::Tuple
    core::Union{Nothing, Tuple}
    batch::Tuple
    differentiable::Tuple  # which arguments are tensors (need a gradient)
end

"""
    forward(f, args, core, batch, mode, differentiable; kwargs...)

Run `f(args...; kwargs...)`, once (`core === nothing`) or for each index of the batch shape
`batch`, recording pullbacks (`mode = "zygote"`) or Jacobians (`"forwarddiff"`) for `backward`.
"""
function forward(f, args::Tuple, core, batch::Tuple, mode::AbstractString, differentiable::Tuple; kwargs...)
    g(a...) = f(a...; kwargs...)
    core === nothing && (args = map(scalar_or_array, args))
    indices = core === nothing ? [nothing] : vec(collect(CartesianIndices(batch)))
    isempty(indices) && throw(ArgumentError("the batch shape $(batch) is empty; give at least one sample"))
    backs = Vector{Any}(undef, mode == "none" ? 0 : length(indices))
    results = Vector{Any}(undef, length(indices))
    tuples = Vector{Bool}(undef, length(indices))
    at(n) = indices[n] === nothing ? nothing : Tuple(indices[n])
    each_sample(length(indices), "forward", at) do n
        I = indices[n]
        sampled = I === nothing ? args : map((a, c) -> sample(a, I, c), args, core)
        if mode == "zygote"
            y, backs[n] = Zygote.pullback(g, sampled...)
        elseif mode == "forwarddiff"
            y, backs[n] = value_and_jacobian(g, sampled, differentiable)
        else
            y = g(sampled...)
        end
        tuples[n] = y isa Tuple
        results[n] = map(check_output, outputs_tuple(y), ntuple(identity, length(outputs_tuple(y))))
    end
    outputs = core === nothing ? map(owned, results[1]) : stack_samples(results, batch)
    return Forward(outputs, tuples[1], String(mode), backs, args, core, batch, differentiable)
end

"""Samples below this many run on the calling thread: waking threads costs more than they save."""
const MIN_THREADED_SAMPLES = 8

"""
    each_sample(body, n)

`body(n)` for every sample, spread over Julia's threads when it has more than one (each sample
writes only its own slots, so the results are those of one thread). An error is re-thrown as the
`SampleError` of the first failing sample in batch order, whatever the thread count.
"""
function each_sample(body::F, n::Integer, stage::AbstractString = "forward", index = i -> nothing) where {F}
    failures = Vector{Any}(nothing, n)
    run(i) = try
        body(i)
    catch err
        failures[i] = (err, catch_backtrace())
    end
    if Threads.nthreads() == 1 || n < MIN_THREADED_SAMPLES
        for i in 1:n
            run(i)
            failures[i] === nothing || break  # the first failure in order is the one reported
        end
    else
        Threads.@threads for i in 1:n
            run(i)
        end
    end
    first_failure = findfirst(!isnothing, failures)
    if first_failure !== nothing
        err, bt = failures[first_failure]
        err isa SampleError && throw(err)
        throw(SampleError(index(first_failure), stage, err, bt))
    end
    return nothing
end

"""Per-sample output tuples stacked into arrays of shape (batch..., sample shape...)."""
function stack_samples(results, batch)
    first_result = results[1]
    return ntuple(length(first_result)) do k
        shape = size(first_result[k])
        T = mapreduce(r -> eltype(r[k]), promote_type, results)
        out = Array{T}(undef, batch..., shape...)
        for (n, I) in enumerate(CartesianIndices(batch))
            y = results[n][k]
            size(y) == shape || throw(SampleError(Tuple(I), "forward", DimensionMismatch(
                "output $k has size $(size(y)) here but $shape at the first sample; every sample must return the same shapes")))
            if isempty(shape)
                out[I] = y
            else
                view(out, Tuple(I)..., ntuple(_ -> Colon(), length(shape))...) .= y
            end
        end
        out
    end
end

"""(value, Jacobian of every float output with respect to every differentiable argument) by ForwardDiff."""
function value_and_jacobian(g, sampled::Tuple, differentiable::Tuple)
    positions = [i for i in eachindex(sampled) if differentiable[i]]
    p = isempty(positions) ? Float64[] : reduce(vcat, [vec(collect(sampled[i])) for i in positions])
    primal = Ref{Any}(nothing)
    function flat(q)
        offset = 0
        rebuilt = map(eachindex(sampled)) do i
            differentiable[i] || return sampled[i]
            a = sampled[i]
            n = length(a)
            piece = a isa Number ? q[offset + 1] : reshape(q[offset+1:offset+n], size(a))
            offset += n
            piece
        end
        y = g(rebuilt...)
        ys = outputs_tuple(y)
        values = map(o -> o isa AbstractArray ? ForwardDiff.value.(o) : ForwardDiff.value(o), ys)
        primal[] = y isa Tuple ? values : values[1]
        floats = [vec(collect(o)) for o in ys if eltype(o) <: Union{AbstractFloat, ForwardDiff.Dual}]
        return isempty(floats) ? zeros(eltype(q), 0) : reduce(vcat, floats)
    end
    if isempty(p)
        return g(sampled...), zeros(0, 0)
    end
    J = ForwardDiff.jacobian(flat, p)
    return primal[], J
end

# ----------------------------------------------------------------------------------------------
# Backward
# ----------------------------------------------------------------------------------------------
"""Gradient arrays for each differentiable argument, zero where the function gives none."""
function backward(state::Forward, cotangents::Tuple)
    grads = map(state.args, state.differentiable) do a, d
        d ? zeros(eltype(a), size(a)) : nothing
    end
    indices = state.core === nothing ? [nothing] : vec(collect(CartesianIndices(state.batch)))
    at(n) = indices[n] === nothing ? nothing : Tuple(indices[n])
    per_sample = Vector{Any}(undef, length(indices))
    each_sample(length(indices), "backward", at) do n
        I = indices[n]
        ȳ = map(cotangents, state.outputs) do c, o
            # an unbatched scalar output crossed as a 0-d array: its cotangent is a number again
            c === nothing ? nothing : I === nothing ? scalar_or_array(c) : sample(c, I, ndims(o) - length(state.batch))
        end
        per_sample[n] = state.mode == "zygote" ? state.backs[n](state.istuple ? ȳ : ȳ[1]) : jacobian_pullback(state.backs[n], ȳ, state, I)
    end
    # summed in batch order on one thread: arguments passed whole get the same sums at any thread count
    for (n, I) in enumerate(indices)
        sample_grads = per_sample[n]
        for i in eachindex(state.args)
            state.differentiable[i] || continue
            gi = sample_grads[i]
            gi === nothing && continue
            gi isa Union{Number, AbstractArray{<:Number}} || throw(SampleError(I === nothing ? nothing : Tuple(I), "backward",
                ArgumentError("the gradient for argument $i is a $(typeof(gi)), not a number or array")))
            accumulate!(grads[i], gi, I, state.core === nothing ? nothing : state.core[i], i)
        end
    end
    return grads
end

function accumulate!(G, g, I, core, i)
    target = I === nothing || core === nothing ? G : core == 0 ? nothing : view(G, Tuple(I)..., ntuple(_ -> Colon(), core)...)
    if target === nothing
        G[I] += g
        return
    end
    size(g) == size(target) || throw(SampleError(I === nothing ? nothing : Tuple(I), "backward",
        DimensionMismatch("the gradient for argument $i has size $(size(g)), the argument $(size(target))")))
    target .+= g
end

"""
    pushforward(state, tangents)

Forward mode (torch's `jvp`), for a ForwardDiff forward pass: J·ṫ for each sample, with `tangents`
one per argument (`nothing` where an argument has none), as arrays of the outputs' shapes
(`nothing` for outputs that are not floats).
"""
function pushforward(state::Forward, tangents::Tuple)
    state.mode == "forwarddiff" || throw(ArgumentError("forward mode needs the Jacobian of mode=\"forwarddiff\"; this call ran in mode=\"$(state.mode)\""))
    indices = state.core === nothing ? [nothing] : vec(collect(CartesianIndices(state.batch)))
    nb = length(state.batch)
    result = map(o -> eltype(o) <: AbstractFloat ? zeros(eltype(o), size(o)) : nothing, state.outputs)
    for (n, I) in enumerate(indices)
        J = state.backs[n]
        isempty(J) && continue
        pieces = [begin
                      a = sample(state.args[i], I, state.core === nothing ? nothing : state.core[i])
                      t = tangents[i]
                      t === nothing ? zeros(length(a)) : vec(collect(sample(t, I, state.core === nothing ? nothing : state.core[i])))
                  end for i in eachindex(state.args) if state.differentiable[i]]
        ẏ = J * reduce(vcat, pieces)
        offset = 0
        for (k, o) in enumerate(state.outputs)
            result[k] === nothing && continue
            target = I === nothing || nb == 0 ? result[k] : view(result[k], Tuple(I)..., ntuple(_ -> Colon(), ndims(o) - nb)...)
            m = length(target)
            if target isa AbstractArray && ndims(target) == 0
                target[] = ẏ[offset+1]
            elseif target isa AbstractArray
                target .= reshape(ẏ[offset+1:offset+m], size(target))
            end
            offset += m
        end
    end
    return result
end

"""Jᵀȳ, split into one gradient per argument (nothing for the non-differentiable ones)."""
function jacobian_pullback(J, ȳ, state::Forward, I)
    sampled_outputs = map(o -> sample(o, I, ndims(o) - length(state.batch)), state.outputs)
    floats = [c === nothing ? zeros(length(o)) : vec(collect(c)) for (c, o) in zip(ȳ, sampled_outputs) if eltype(o) <: AbstractFloat]
    isempty(J) && return map(_ -> nothing, state.args)
    gp = J' * reduce(vcat, floats)
    offset = 0
    return map(eachindex(state.args)) do i
        state.differentiable[i] || return nothing
        a = sample(state.args[i], I, state.core === nothing ? nothing : state.core[i])
        n = length(a)
        piece = a isa Number ? gp[offset + 1] : reshape(gp[offset+1:offset+n], size(a))
        offset += n
        piece
    end
end

end # module
