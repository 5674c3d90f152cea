"""
    Train

The differentiable-programming trainers in today's explicit Flux style (`Flux.setup`,
`Flux.withgradient`, `Flux.update!`). Each takes the initial weights and the data as arguments,
so a caller can feed both stacks the same inputs, and returns a Dict of per-update losses,
per-episode evaluation scores and the final weights. Mirrored by `pyside/dprl/train/` (the PyTorch trainers).
"""
module Train

using Flux
using NNlib
using ChainRulesCore
using ..Trebuchet
using ..CartPole
using ..Pendulum
using ..Policies

average(xs) = sum(xs) / length(xs)

# ----------------------------------------------------------------------------------------------
# Trebuchet aimer (spec §2)
# ----------------------------------------------------------------------------------------------
# A counterweight at or under this cannot throw (too light, or released below ground); such a
# sample contributes no loss, as the original's caught errors did.
const MIN_WEIGHT_LB = 16.0

"""(angle in degrees, counterweight in lb) the network aims with: 90·σ(o₁) and o₂ + 200
on the raw inputs; with `scaled`, inputs (wind/5, (target − 60)/40) and 200 + 100·o₂."""
function aim(model, wind, target; scaled = false)
    o = model(scaled ? [wind / 5, (target - 60) / 40] : [wind, target])
    return 90 * NNlib.sigmoid(o[1]), (scaled ? 100 * o[2] : o[2]) + 200
end

"""Mean squared miss (m²) over a batch, backpropagated through the simulator."""
function aimer_loss(model, winds, targets; scaled = false)
    total = 0.0
    for i in eachindex(winds)
        angle, weight = aim(model, winds[i], targets[i]; scaled = scaled)
        if weight > MIN_WEIGHT_LB && 0 < angle < 90
            total += (Trebuchet.shoot_differentiable(winds[i], angle, weight) - targets[i])^2
        end
    end
    return total / length(winds)
end

"""
    train_aimer(layers, winds, targets; learning_rate = 1e-3, batch_size = 1, scaled = false,
                time_budget = Inf, evaluate_every = 0, on_evaluation = nothing)

Adam on the mean squared miss, one pass over (winds, targets) in batches of `batch_size`, from the
(weight, bias) pairs `layers` (the 2019 setting: batch 1, learning rate 1e-3). Training stops past
`time_budget` seconds. Every `evaluate_every` updates (and after the last) it calls
`on_evaluation(update, weights)`, which returns `true` to stop: the caller evaluates, keeps a
checkpoint and shows progress there (the Python bridge does). Returns a Dict of the per-update
losses, the final weights, and the updates and seconds at each evaluation.
"""
function train_aimer(layers, winds, targets; learning_rate = 1e-3, batch_size = 1, scaled = false,
                     time_budget = Inf, evaluate_every = 0, on_evaluation = nothing)
    batch_size >= 1 || throw(ArgumentError("batch_size must be at least 1; got $batch_size"))
    length(winds) == length(targets) ||
        throw(ArgumentError("winds and targets must have one length; got $(length(winds)) and $(length(targets))"))
    model = Policies.load_weights!(Policies.aimer_policy(), layers)
    winds, targets = Vector{Float64}(winds), Vector{Float64}(targets)
    opt_state = Flux.setup(Flux.Adam(learning_rate), model)
    losses, evaluated_at, wall_time = Float64[], Int[], Float64[]
    started = time()
    evaluate(update) = on_evaluation === nothing ? false :
        (push!(evaluated_at, update); push!(wall_time, time() - started); on_evaluation(update, Policies.weights(model)) == true)
    stop = evaluate(0)
    updates = cld(length(winds), batch_size)
    for update in 1:updates
        stop && break
        batch = (update - 1) * batch_size + 1:min(update * batch_size, length(winds))
        loss, grads = Flux.withgradient(m -> aimer_loss(m, winds[batch], targets[batch]; scaled = scaled), model)
        Flux.update!(opt_state, model, grads[1])
        push!(losses, loss)
        out_of_time = time() - started > time_budget
        if evaluate_every > 0 && (update % evaluate_every == 0 || update == updates || out_of_time)
            stop = evaluate(update)
        end
        out_of_time && break
    end
    return Dict{String, Any}("losses" => losses, "weights" => Policies.weights(model),
                             "evaluated_at" => evaluated_at, "wall_time" => wall_time)
end

# ----------------------------------------------------------------------------------------------
# CartPole (spec §3.2)
# ----------------------------------------------------------------------------------------------
"""sign(x) forward; the upstream gradient passes through unchanged (straight-through)."""
ste_sign(x) = sign(x)
function ChainRulesCore.rrule(::typeof(ste_sign), x)
    ste_sign_pullback(ȳ) = (NoTangent(), ȳ)
    return sign(x), ste_sign_pullback
end

"""The surrogate reward after a step: the product of the margins to the x and θ limits."""
margin_reward(params, state) =
    max(0.0, params.x_threshold - abs(state[1])) * max(0.0, params.theta_threshold - abs(state[3]))

"""The best surrogate reward, 2.4 × 0.20944."""
best_margin(params) = params.x_threshold * params.theta_threshold

"""Up to `n` steps from `state`: (mean of (r_t − R*)², final state, steps taken, done)."""
function cartpole_window(model, state, n, params)
    loss = 0.0
    s = state
    taken = 0
    done = false
    for _ in 1:n
        action = ste_sign(model(s)[1])
        s, _, done = CartPole.step(params, s, action)
        loss += (margin_reward(params, s) - best_margin(params))^2
        taken += 1
        done && break
    end
    return loss / taken, s, taken, done
end

"""Gymnasium return of one episode under the sign of the policy (no learning)."""
function cartpole_return(model, state, max_steps, params)
    s = Vector{Float64}(state)
    for t in 1:max_steps
        s, _, done = CartPole.step(params, s, sign(model(s)[1]))
        done && return Float64(t)
    end
    return Float64(max_steps)
end

"""Rows of `initial_states` start training episodes; rows of `evaluation_states` start the
evaluation episodes after each. Stops once the evaluation mean reaches `solved_score`."""
function train_cartpole(layers, initial_states, evaluation_states; learning_rate = 0.03, window = 8,
                        max_steps = 500, solved_score = 475.0)
    params = CartPole.CartPoleParams()
    model = Policies.load_weights!(Policies.cartpole_policy(), layers)
    opt_state = Flux.setup(Flux.Adam(learning_rate), model)
    losses, scores, lengths = Float64[], Float64[], Int[]
    for e in 1:size(initial_states, 1)
        state = Vector{Float64}(initial_states[e, :])
        t, done = 0, false
        while !done && t < max_steps
            n = min(window, max_steps - t)
            # The window's end state, steps and done come back as withgradient's auxiliary output.
            # (`let` keeps the closure from capturing, and boxing, the reassigned `state`.)
            (loss, state, taken, done), grads = let s = state
                Flux.withgradient(m -> cartpole_window(m, s, n, params), model)
            end
            Flux.update!(opt_state, model, grads[1])
            push!(losses, loss)
            t += taken
        end
        push!(lengths, t)
        size(evaluation_states, 1) == 0 && continue
        score = average([cartpole_return(model, evaluation_states[j, :], max_steps, params) for j in 1:size(evaluation_states, 1)])
        push!(scores, score)
        score >= solved_score && break
    end
    return Dict{String, Any}("losses" => losses, "scores" => scores, "episode_lengths" => lengths,
                             "weights" => Policies.weights(model))
end

# ----------------------------------------------------------------------------------------------
# Pendulum (spec §4.2)
# ----------------------------------------------------------------------------------------------
# `gymjl2019`: the blog's setup. `gymnasium`: what learns with the torque bounded to ±2 N·m
# (see pyside/dprl/train/pendulum.py). A `max_grad_norm` of Inf means no clipping.
const PRESETS = Dict(
    "gymjl2019" => (window = 4, learning_rate = 0.03, loss = "cost2", max_grad_norm = Inf),
    "gymnasium" => (window = 20, learning_rate = 0.003, loss = "cost", max_grad_norm = 1.0),
)
const LOSSES = ("cost2", "cost")

"""The torque the network applies: 2·tanh(o) for Gymnasium (so gradients survive the clip),
the raw output for the 2019 Gym.jl variant."""
torque(params, o) = params.variant == "gymnasium" ? params.max_torque * tanh(o) : o

"""`n` steps from each row of `states` (B×2): (loss, final states), the loss the mean over steps
and episodes of cost² or cost. BPTT through the dynamics."""
function pendulum_window(model, states, n, params, loss_kind = "cost2")
    # Each row returns its own sum: a closure that reassigned a captured total would be boxed,
    # which Zygote handles poorly.
    rows = map(1:size(states, 1)) do b
        s = states[b, :]
        row = 0.0
        for _ in 1:n
            u = torque(params, model(Pendulum.observe(params, s))[1])
            s, r, _ = Pendulum.step(params, s, u)
            row += loss_kind == "cost2" ? r^2 : -r
        end
        (row, s)
    end
    return sum(first, rows) / (n * size(states, 1)), permutedims(reduce(hcat, map(last, rows)))
end

sum_squares(x::AbstractArray{<:Number}) = sum(abs2, x)
sum_squares(x::Union{Tuple, NamedTuple}) = isempty(x) ? 0.0 : sum(sum_squares, x)
sum_squares(x) = 0.0
scale_tree(x::AbstractArray{<:Number}, c) = x .* c
scale_tree(x::Union{Tuple, NamedTuple}, c) = map(y -> scale_tree(y, c), x)
scale_tree(x, c) = x

"""PyTorch's clip_grad_norm_ on a gradient tree: scale by min(1, max_norm / (‖g‖ + 1e-6))."""
clip_global_norm(grads, max_norm) = scale_tree(grads, min(1.0, max_norm / (sqrt(sum_squares(grads)) + 1e-6)))

"""Return of one `steps`-long episode under the policy (no learning)."""
function pendulum_return(model, state, steps, params)
    s = Vector{Float64}(state)
    total = 0.0
    for _ in 1:steps
        s, r, _ = Pendulum.step(params, s, torque(params, model(Pendulum.observe(params, s))[1]))
        total += r
    end
    return total
end

"""
    train_pendulum(layers, initial_states, evaluation_states; variant = "gymnasium", window = nothing,
                   learning_rate = nothing, loss = nothing, max_grad_norm = nothing, steps = 200)

`initial_states` (E, B, 2) start E rounds of B parallel episodes ((E, 2) means B = 1); after
each round the mean return over the rows of `evaluation_states` is recorded. A setting left as
`nothing` comes from `PRESETS[variant]`; `max_grad_norm = Inf` turns the clip off.
"""
function train_pendulum(layers, initial_states, evaluation_states; variant = "gymnasium", window = nothing,
                        learning_rate = nothing, loss = nothing, max_grad_norm = nothing, steps = 200)
    haskey(PRESETS, variant) || throw(ArgumentError("variant must be one of $(sort(collect(keys(PRESETS)))); got $variant"))
    preset = PRESETS[variant]
    window = something(window, preset.window)
    learning_rate = something(learning_rate, preset.learning_rate)
    loss = something(loss, preset.loss)
    max_grad_norm = Float64(something(max_grad_norm, preset.max_grad_norm))
    loss in LOSSES || throw(ArgumentError("loss must be one of $LOSSES; got $(repr(loss))"))
    max_grad_norm > 0 || throw(ArgumentError("max_grad_norm must be positive (Inf: no clip); got $max_grad_norm"))
    window >= 1 && steps >= 1 || throw(ArgumentError("window and steps must be at least 1; got window=$window, steps=$steps"))
    params = Pendulum.PendulumParams(variant = variant)
    model = Policies.load_weights!(Policies.pendulum_policy(), layers)
    opt_state = Flux.setup(Flux.Adam(learning_rate), model)
    starts = ndims(initial_states) == 2 ? reshape(Array{Float64}(initial_states), size(initial_states, 1), 1, 2) :
             Array{Float64}(initial_states)
    losses, scores = Float64[], Float64[]
    for e in 1:size(starts, 1)
        states = starts[e, :, :]
        for start in 1:window:steps
            n = min(window, steps - start + 1)
            # The window's end states come back as withgradient's auxiliary output.
            (value, states), grads = let s = states
                Flux.withgradient(m -> pendulum_window(m, s, n, params, loss), model)
            end
            g = isinf(max_grad_norm) ? grads[1] : clip_global_norm(grads[1], max_grad_norm)
            Flux.update!(opt_state, model, g)
            push!(losses, value)
        end
        size(evaluation_states, 1) == 0 && continue
        push!(scores, average([pendulum_return(model, evaluation_states[j, :], steps, params) for j in 1:size(evaluation_states, 1)]))
    end
    return Dict{String, Any}("losses" => losses, "scores" => scores, "weights" => Policies.weights(model))
end

# ----------------------------------------------------------------------------------------------
# Pendulum-v1 by analytic policy gradient (whole episodes, decayed gradient through the state)
# ----------------------------------------------------------------------------------------------
# Why this method (measured, see pyside/dprl/train/pendulum.py): BPTT through the whole 200-step
# episode sees the swing-up, but its gradient explodes along chaotic swings; decaying the gradient
# that flows back through each step keeps it bounded and still reaches ≈ 3 s ahead. The torque is
# odd in (θ, θ̇), as the optimal controller is, which helps the swing from the bottom. Seeded runs
# (Python's train_seeded_apg) call train_pendulum_apg twice: 200 updates, then a fine-tune from
# those weights with 1,024 starts per update, the decay 0.99 and learning rate 2e-3.
const APG_DEFAULTS = (horizon = 200, learning_rate = 0.01, max_grad_norm = 1.0, gradient_decay = 0.985, evaluate_every = 10)

"""The identity forward; the gradient flowing back through it is multiplied by `factor`."""
decay_gradient(x, factor) = x
function ChainRulesCore.rrule(::typeof(decay_gradient), x, factor)
    decay_gradient_pullback(ȳ) = (NoTangent(), factor * ChainRulesCore.unthunk(ȳ), NoTangent())
    return x, decay_gradient_pullback
end

"""The observation of the mirrored state (−θ, −θ̇): (cos θ, −sin θ, −θ̇)."""
mirror(o) = [o[1], -o[2], -o[3]]

"""2·tanh(o(x) − o(mirror(x))): a torque odd in (θ, θ̇), from the 2019 network."""
apg_torque(params, model, o) = torque(params, model(o)[1] - model(mirror(o))[1])

"""Cost of one `horizon`-step episode from `state` under `apg_torque`, the gradient through each
step's state multiplied by `decay`."""
function apg_cost(model, state, horizon, params, decay)
    s, cost = state, 0.0
    for _ in 1:horizon
        s, r, _ = Pendulum.step(params, s, apg_torque(params, model, Pendulum.observe(params, s)))
        s = decay_gradient(s, decay)
        cost += -r
    end
    return cost
end

"""Mean cost per step over the episodes from the rows of `states` (B×2)."""
apg_loss(model, states, horizon, params, decay) =
    sum(map(b -> apg_cost(model, states[b, :], horizon, params, decay), 1:size(states, 1))) / (horizon * size(states, 1))

"""Return of one `steps`-long episode under `apg_torque` (no learning)."""
function apg_return(model, state, steps, params)
    s = Vector{Float64}(state)
    total = 0.0
    for _ in 1:steps
        s, r, _ = Pendulum.step(params, s, apg_torque(params, model, Pendulum.observe(params, s)))
        total += r
    end
    return total
end

"""`batches` (U, B, 2): one update per slice, from B fresh start states; every `evaluate_every`
updates (and after the last) the mean return over the rows of `evaluation_states` is recorded."""
function train_pendulum_apg(layers, batches, evaluation_states; horizon = APG_DEFAULTS.horizon,
                            learning_rate = APG_DEFAULTS.learning_rate, max_grad_norm = APG_DEFAULTS.max_grad_norm,
                            gradient_decay = APG_DEFAULTS.gradient_decay, evaluate_every = APG_DEFAULTS.evaluate_every)
    ndims(batches) == 3 && size(batches, 3) == 2 || throw(ArgumentError("batches must have shape (U, B, 2); got $(size(batches))"))
    horizon >= 1 && evaluate_every >= 1 || throw(ArgumentError("horizon and evaluate_every must be at least 1; got $horizon, $evaluate_every"))
    0 < gradient_decay <= 1 || throw(ArgumentError("gradient_decay must be in (0, 1]; got $gradient_decay"))
    learning_rate > 0 && max_grad_norm > 0 ||
        throw(ArgumentError("learning_rate and max_grad_norm must be > 0 (max_grad_norm = Inf: no clip); got $learning_rate, $max_grad_norm"))
    params = Pendulum.PendulumParams(variant = "gymnasium")
    model = Policies.load_weights!(Policies.pendulum_policy(), layers)
    opt_state = Flux.setup(Flux.Adam(learning_rate), model)
    starts = Array{Float64}(batches)
    losses, scores = Float64[], Float64[]
    updates = size(starts, 1)
    for k in 1:updates
        value, grads = Flux.withgradient(m -> apg_loss(m, starts[k, :, :], horizon, params, gradient_decay), model)
        g = isinf(max_grad_norm) ? grads[1] : clip_global_norm(grads[1], max_grad_norm)
        Flux.update!(opt_state, model, g)
        push!(losses, value)
        (k % evaluate_every == 0 || k == updates) && size(evaluation_states, 1) > 0 || continue
        push!(scores, average([apg_return(model, evaluation_states[j, :], 200, params) for j in 1:size(evaluation_states, 1)]))
    end
    return Dict{String, Any}("losses" => losses, "scores" => scores, "weights" => Policies.weights(model))
end

# ----------------------------------------------------------------------------------------------
# Gradients for the cross-checks: a window's loss with respect to every weight and the start state
# ----------------------------------------------------------------------------------------------
"""Zygote's gradient of a Chain as (weight, bias) pairs in nn.Linear's layout (zeros where none)."""
layer_gradients(model, g) = [(gl === nothing || gl.weight === nothing ? zero(l.weight) : gl.weight,
                              gl === nothing || gl.bias === nothing ? zero(l.bias) : gl.bias)
                             for (l, gl) in zip(model.layers, g === nothing ? fill(nothing, length(model.layers)) : g.layers)]

function cartpole_window_gradient(layers, state, n)
    params = CartPole.CartPoleParams()
    model = Policies.load_weights!(Policies.cartpole_policy(), layers)
    loss, (g_model, g_state) = Flux.withgradient((m, s) -> first(cartpole_window(m, s, n, params)), model, Vector{Float64}(state))
    return Dict{String, Any}("loss" => loss, "weights" => layer_gradients(model, g_model), "state" => g_state)
end

function pendulum_window_gradient(layers, states, n; variant = "gymnasium", loss = "cost")
    loss in LOSSES || throw(ArgumentError("loss must be one of $LOSSES; got $(repr(loss))"))
    params = Pendulum.PendulumParams(variant = variant)
    model = Policies.load_weights!(Policies.pendulum_policy(), layers)
    value, (g_model, g_states) = Flux.withgradient((m, s) -> pendulum_window(m, s, n, params, loss)[1], model, Matrix{Float64}(states))
    return Dict{String, Any}("loss" => value, "weights" => layer_gradients(model, g_model), "state" => g_states)
end

end # module
