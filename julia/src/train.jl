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

"""(angle in degrees, counterweight in lb) the network aims with: 90·σ(o₁) and o₂ + 200."""
function aim(model, wind, target)
    o = model([wind, target])
    return 90 * NNlib.sigmoid(o[1]), o[2] + 200
end

"""Mean squared miss (m²) over a batch, backpropagated through the simulator."""
function aimer_loss(model, winds, targets)
    total = 0.0
    for i in eachindex(winds)
        angle, weight = aim(model, winds[i], targets[i])
        if weight > MIN_WEIGHT_LB && 0 < angle < 90
            total += (Trebuchet.shoot_differentiable(winds[i], angle, weight) - targets[i])^2
        end
    end
    return total / length(winds)
end

function train_aimer(layers, winds, targets; learning_rate = 1e-3, batch_size = 1)
    model = Policies.load_weights!(Policies.aimer_policy(), layers)
    winds, targets = Vector{Float64}(winds), Vector{Float64}(targets)
    opt_state = Flux.setup(Flux.Adam(learning_rate), model)
    losses = Float64[]
    for start in 1:batch_size:length(winds)
        batch = start:min(start + batch_size - 1, length(winds))
        loss, grads = Flux.withgradient(m -> aimer_loss(m, winds[batch], targets[batch]), model)
        Flux.update!(opt_state, model, grads[1])
        push!(losses, loss)
    end
    return Dict{String, Any}("losses" => losses, "weights" => Policies.weights(model))
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
            loss, grads = Flux.withgradient(m -> first(cartpole_window(m, state, n, params)), model)
            _, state, taken, done = cartpole_window(model, state, n, params)  # same weights: the window's end
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
"""The torque the network applies: 2·tanh(o) for Gymnasium (so gradients survive the clip),
the raw output for the 2019 Gym.jl variant."""
torque(params, o) = params.variant == "gymnasium" ? params.max_torque * tanh(o) : o

"""`n` steps from `state`: (mean of cost², final state). BPTT through the dynamics."""
function pendulum_window(model, state, n, params)
    loss = 0.0
    s = state
    for _ in 1:n
        u = torque(params, model(Pendulum.observe(params, s))[1])
        s, r, _ = Pendulum.step(params, s, u)
        loss += r^2
    end
    return loss / n, s
end

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

function train_pendulum(layers, initial_states, evaluation_states; learning_rate = 0.03, window = 4,
                        steps = 200, variant = "gymnasium")
    params = Pendulum.PendulumParams(variant = variant)
    model = Policies.load_weights!(Policies.pendulum_policy(), layers)
    opt_state = Flux.setup(Flux.Adam(learning_rate), model)
    losses, scores = Float64[], Float64[]
    for e in 1:size(initial_states, 1)
        state = Vector{Float64}(initial_states[e, :])
        for start in 1:window:steps
            n = min(window, steps - start + 1)
            loss, grads = Flux.withgradient(m -> pendulum_window(m, state, n, params)[1], model)
            _, state = pendulum_window(model, state, n, params)  # same weights: the window's end
            Flux.update!(opt_state, model, grads[1])
            push!(losses, loss)
        end
        size(evaluation_states, 1) == 0 && continue
        push!(scores, average([pendulum_return(model, evaluation_states[j, :], steps, params) for j in 1:size(evaluation_states, 1)]))
    end
    return Dict{String, Any}("losses" => losses, "scores" => scores, "weights" => Policies.weights(model))
end

end # module
