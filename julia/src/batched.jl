"""
    Batched

Many throws or environment steps in one call, for the Python bridge (the batched section of
`pyside/dprl/julia.py`): one juliacall crossing per batch instead of one per row. The rows are
copied into Julia arrays on entry (a NumPy array arrives as a strided `PyArray` view), checked
in order on the calling thread (so a bad row gives the same error whatever the thread count),
then run with `Threads.@threads` over the rows: in parallel when Julia was started with more
than one thread (`PYTHON_JULIACALL_THREADS`) and the batch has at least 8 rows. Results come back as plain Julia arrays, one value
per row, in the rows' order.
"""
module Batched

using ..Trebuchet
using ..CartPole
using ..Pendulum

const MIN_THREADED_ROWS = 8

"""Run `body(i)` for i in 1:n, spread over the threads unless the batch is too small to pay for
waking them (a short batch would wait on threads the OS has not scheduled yet)."""
function each_row(body::F, n::Integer) where {F}
    if Threads.nthreads() == 1 || n < MIN_THREADED_ROWS
        foreach(body, 1:n)
    else
        Threads.@threads for i in 1:n
            body(i)
        end
    end
    return nothing
end

"""Nothing, at once: the bridge's fixed cost per call, for benchmarks."""
empty() = nothing

"""The number of Julia threads the batches are spread over."""
threads() = Threads.nthreads()

"""Rows (wind, angle_deg, weight_lb) as an N×3 Float64 matrix, each row's inputs checked."""
function throw_rows(points::AbstractMatrix)
    size(points, 2) == 3 || throw(ArgumentError("points must have 3 columns (wind, angle_deg, weight_lb); got $(size(points, 2))"))
    rows = Matrix{Float64}(points)
    for i in axes(rows, 1)
        Trebuchet.check_inputs(rows[i, 1], rows[i, 2], rows[i, 3])
    end
    return rows
end

"""`Trebuchet.launch` of every row of `points` (N×3): its fields as vectors, in launch's order
(distance, status, liftoff_time, release_time, landing_time, release_speed)."""
function launch(points::AbstractMatrix)
    rows = throw_rows(points)
    n = size(rows, 1)
    distance, liftoff, release, landing, speed = (Vector{Float64}(undef, n) for _ in 1:5)
    status = Vector{Int}(undef, n)
    each_row(n) do i
        r = Trebuchet.launch(rows[i, 1], rows[i, 2], rows[i, 3])
        distance[i], status[i], liftoff[i], release[i], landing[i], speed[i] =
            r.distance, r.status, r.liftoff_time, r.release_time, r.landing_time, r.release_speed
    end
    return distance, status, liftoff, release, landing, speed
end

"""(distance, status, gradient N×3) of every row: `Trebuchet.launch_gradient` (NaN gradient
where the throw did not land)."""
function launch_gradient(points::AbstractMatrix)
    rows = throw_rows(points)
    n = size(rows, 1)
    distance = Vector{Float64}(undef, n)
    status = Vector{Int}(undef, n)
    gradient = Matrix{Float64}(undef, n, 3)
    each_row(n) do i
        r, g = Trebuchet.launch_gradient(rows[i, 1], rows[i, 2], rows[i, 3])
        distance[i], status[i] = r.distance, r.status
        gradient[i, 1], gradient[i, 2], gradient[i, 3] = g
    end
    return distance, status, gradient
end

"""Row-wise `step(params, state, action)` of an environment over states N×d and actions N:
(next states N×d, rewards N, dones N)."""
function steps(step, states::AbstractMatrix, actions::AbstractVector)
    size(states, 1) == length(actions) ||
        throw(ArgumentError("actions must have one entry per state row ($(size(states, 1))); got $(length(actions))"))
    S, A = Matrix{Float64}(states), Vector{Float64}(actions)
    next, rewards, dones = similar(S), Vector{Float64}(undef, length(A)), Vector{Bool}(undef, length(A))
    each_row(length(A)) do i
        s, r, d = step(view(S, i, :), A[i])
        next[i, :] .= s
        rewards[i], dones[i] = r, d
    end
    return next, rewards, dones
end

"""`CartPole.step` over a batch: states N×4, actions N."""
cartpole_step(states::AbstractMatrix, actions::AbstractVector) =
    steps((s, a) -> CartPole.step(CartPole.CartPoleParams(), s, a), states, actions)

"""`Pendulum.step` over a batch: states N×2 (θ, θ̇), actions N (torques)."""
function pendulum_step(states::AbstractMatrix, actions::AbstractVector; variant = "gymnasium")
    params = Pendulum.PendulumParams(variant = variant)
    params.variant in Pendulum.VARIANTS || throw(ArgumentError("variant must be one of $(Pendulum.VARIANTS); got $(variant)"))
    return steps((s, a) -> Pendulum.step(params, s, a), states, actions)
end

end # module
