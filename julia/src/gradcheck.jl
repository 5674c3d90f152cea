"""
    Gradcheck

Julia's half of `dprl gradcheck`'s forward-mode and second-order checks (`pyside/dprl/gradcheck.py`):
directional derivatives by ForwardDiff through a function itself, never through an `rrule` it may
have (a dual number goes through the primal code), and Hessian-vector products by ForwardDiff over
the function's reverse mode (Zygote, or ForwardDiff for functions written for forward mode).

Arguments arrive as in `DPRL.Bridge.forward`: the function, its positional arguments, a core
dimension count per argument (`nothing` for one whole call), the batch shape; a batched call gives
the function one sample at a time (a scalar for a core of 0, a view for more) and an argument
with a core of `nothing` whole to every call.
"""
module Gradcheck

using ForwardDiff
using Zygote

"""Argument `a` at batch index `I` (whole for a core of `nothing` or no batch)."""
sample(a, I, core) = I === nothing || core === nothing ? a : core == 0 ? a[I] : view(a, Tuple(I)..., ntuple(_ -> Colon(), core)...)

scalar_or_array(a) = a isa AbstractArray && ndims(a) == 0 ? a[] : a

outputs_tuple(y) = y isa Tuple ? y : (y,)

batch_indices(core, batch) = core === nothing ? [nothing] : vec(collect(CartesianIndices(Tuple(batch))))

# A proper ForwardDiff tag, so that a function that uses ForwardDiff inside nests correctly
jvp_tag() = ForwardDiff.Tag(jvp, Float64)

tangent_of(y::ForwardDiff.Dual{T}, ::Type{T}) where {T} = ForwardDiff.partials(y, 1)
tangent_of(y::Real, ::Type) = zero(float(y))  # an output that does not depend on the inputs
tangent_of(y::AbstractArray, ::Type{T}) where {T} = map(e -> tangent_of(e, T), y)

moved(a::Number, v, t) = a + t * v
moved(a::AbstractArray, v, t) = a .+ t .* v

"""Per-sample results (tuples of numbers or arrays) stacked into arrays of shape (batch..., sample...)."""
function stack_results(results, core, batch)
    core === nothing && return map(r -> r isa AbstractArray ? collect(r) : r, results[1])
    return ntuple(length(results[1])) do k
        shape = size(results[1][k])
        out = Array{Float64}(undef, Tuple(batch)..., shape...)
        for (n, I) in enumerate(CartesianIndices(Tuple(batch)))
            if isempty(shape)
                out[I] = results[n][k]
            else
                view(out, Tuple(I)..., ntuple(_ -> Colon(), length(shape))...) .= results[n][k]
            end
        end
        out
    end
end

"""
    jvp(f, args, core, batch, tangents; kwargs...)

The directional derivative of every output of `f(args...; kwargs...)` along `tangents` (one array
per argument, shaped as it), by one ForwardDiff dual number per call: a tuple with one array
(or number) per output, shaped as the output. Non-float outputs get zeros.
"""
function jvp(f, args::Tuple, core, batch, tangents::Tuple; kwargs...)
    if core === nothing
        args, tangents = map(scalar_or_array, args), map(scalar_or_array, tangents)
    end
    tag = jvp_tag()
    T = typeof(tag)
    t = ForwardDiff.Dual{T}(0.0, 1.0)
    results = map(batch_indices(core, batch)) do I
        a = I === nothing ? args : map((x, c) -> sample(x, I, c), args, core)
        v = I === nothing ? tangents : map((x, c) -> sample(x, I, c), tangents, core)
        y = f(map((x, d) -> moved(x, d, t), a, v)...; kwargs...)
        map(o -> tangent_of(o, T), outputs_tuple(y))
    end
    return stack_results(results, core, batch)
end

"""The flat float outputs of `y` contracted with the cotangents `w` (nothing for non-float outputs)."""
function contracted(y, w)
    total = 0.0
    for (o, c) in zip(outputs_tuple(y), w)
        c === nothing && continue
        total = total + sum(o .* c)
    end
    return total
end

"""
    hvp(f, args, core, batch, cotangents, tangents, mode; kwargs...)

The Hessian of L = Σₖ ⟨wₖ, yₖ⟩ (the outputs contracted with `cotangents`) times `tangents`, one
array per argument: ForwardDiff's derivative along `tangents` of L's gradient by `mode`'s reverse
mode ("zygote") or by ForwardDiff ("forwarddiff"). Gradients of arguments with a core of
`nothing` sum over the batch, as in the bridge's backward pass.
"""
function hvp(f, args::Tuple, core, batch, cotangents::Tuple, tangents::Tuple, mode::AbstractString; kwargs...)
    if core === nothing
        args, tangents = map(scalar_or_array, args), map(scalar_or_array, tangents)
        cotangents = map(scalar_or_array, cotangents)
    end
    out = map(a -> zeros(Float64, size(a)), args)
    for I in batch_indices(core, batch)
        a = I === nothing ? args : map((x, c) -> sample(x, I, c), args, core)
        v = I === nothing ? tangents : map((x, c) -> sample(x, I, c), tangents, core)
        w = map(cotangents) do c
            c === nothing && return nothing
            I === nothing ? c : (ndims(c) == length(batch) ? c[I] : view(c, Tuple(I)..., ntuple(_ -> Colon(), ndims(c) - length(batch))...))
        end
        sizes = map(x -> x isa Number ? 1 : length(x), a)
        p = reduce(vcat, [x isa Number ? [Float64(x)] : vec(collect(Float64, x)) for x in a])
        q = reduce(vcat, [x isa Number ? [Float64(x)] : vec(collect(Float64, x)) for x in v])
        rebuild(p) = begin
            offset = 0
            map(a, sizes) do x, n
                piece = x isa Number ? p[offset + 1] : reshape(p[offset+1:offset+n], size(x))
                offset += n
                piece
            end
        end
        L(p) = contracted(f(rebuild(p)...; kwargs...), w)
        gradient(p) = mode == "zygote" ? Zygote.gradient(L, p)[1] : ForwardDiff.gradient(L, p)
        Hv = ForwardDiff.derivative(s -> gradient(p .+ s .* q), 0.0)
        offset = 0
        for (i, (x, n)) in enumerate(zip(a, sizes))
            piece = Hv[offset+1:offset+n]
            offset += n
            c = core === nothing ? nothing : core[i]
            if I === nothing || c === nothing
                out[i] .+= reshape(piece, size(out[i]))
            elseif c == 0
                out[i][I] += piece[1]
            else
                view(out[i], Tuple(I)..., ntuple(_ -> Colon(), c)...) .+= reshape(piece, size(x))
            end
        end
    end
    return out
end

end # module
