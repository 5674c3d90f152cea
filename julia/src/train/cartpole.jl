# The CartPole controller: a straight-through sign, Adam on the margin loss of short BPTT windows.
# Part of `module Train` (julia/src/train.jl); twin of pyside/dprl/train/cartpole.py.

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
function cartpole_window(policy, state, n, params)
    loss = 0.0
    s = state
    taken = 0
    done = false
    for _ in 1:n
        action = ste_sign(policy(s)[1])
        s, _, done = CartPole.step(params, s, action)
        loss += (margin_reward(params, s) - best_margin(params))^2
        taken += 1
        done && break
    end
    return loss / taken, s, taken, done
end

"""Gymnasium return of the episode from each row of `states` under the sign of the policy (no
learning), each cut off at `max_steps`."""
function cartpole_returns(policy, states::AbstractMatrix, max_steps, params)
    return map(axes(states, 1)) do j
        s = Vector{Float64}(states[j, :])
        for t in 1:max_steps
            s, _, done = CartPole.step(params, s, sign(policy(s)[1]))
            done && return Float64(t)
        end
        Float64(max_steps)
    end
end

"""
    train_cartpole(weights, initial_states, evaluation_states, config = Config.CartPoleConfig(); on_episode = nothing)

From the (weight, bias) pairs `weights`, each row of `initial_states` (E×4) starts a training
episode of up to `config.max_steps` steps, cut into BPTT windows of `config.window` steps with one
Adam update each; after every episode the mean return from the rows of `evaluation_states` (N×4,
none: no evaluation) is recorded, with the episodes and environment steps trained so far and the
seconds since training began (evaluations included, as in PyTorch). Stops once it reaches
`config.solved_score`, or at an update whose loss or weights are not finite ("diverged" names it;
the weights stay the last finite ones). Returns `trained`'s Dict with the per-episode
"episode_lengths". `on_episode(result)`, where given, gets that Dict after every episode and
returns `true` to stop there (the Python bridge keeps a checkpoint).
"""
function train_cartpole(weights, initial_states, evaluation_states, config = Config.CartPoleConfig(); on_episode = nothing)
    params = CartPole.CartPoleParams()
    window, max_steps = config.window, config.max_steps
    model = Policies.load_weights!(Policies.cartpole_policy(), weights)
    opt_state = Flux.setup(Flux.Adam(config.learning_rate), model)
    kept = Policies.weights(model)  # checked_update!'s copy of the weights before each step
    losses, lengths, curve = Float64[], Int[], Curve()
    diverged, steps = nothing, 0
    started = time_ns()
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
            diverged = checked_update!(opt_state, model, grads[1], loss, length(losses) + 1, kept)
            diverged === nothing || break
            push!(losses, loss)
            t += taken
        end
        diverged === nothing || break
        steps += t
        push!(lengths, t)
        if size(evaluation_states, 1) > 0
            record!(curve, average(cartpole_returns(model, evaluation_states, max_steps, params)), e, steps, started)
        end
        on_episode !== nothing && on_episode(trained(losses, curve, model, "episode_lengths" => lengths)) == true && break
        !isempty(curve.scores) && last(curve.scores) >= config.solved_score && break
    end
    extra = diverged === nothing ? () : ("diverged" => diverged,)
    return trained(losses, curve, model, "episode_lengths" => lengths, extra...)
end

"""
    cartpole_window_gradient(weights, state, n)

The loss of one `cartpole_window` of `n` steps from `state` under the policy with the (weight,
bias) pairs `weights`, and Zygote's gradient of it, for the cross-checks: a Dict of the "loss", the
"weights" gradient as (weight, bias) pairs in nn.Linear's layout, and the "state" gradient (4).
"""
function cartpole_window_gradient(weights, state, n)
    n isa Integer && n >= 1 || throw(ArgumentError("n must be a whole number of steps, at least 1; got $(repr(n))"))
    params = CartPole.CartPoleParams()
    model = Policies.load_weights!(Policies.cartpole_policy(), weights)
    loss, (g_model, g_state) = Flux.withgradient((m, s) -> first(cartpole_window(m, s, n, params)), model, Vector{Float64}(state))
    return Dict{String, Any}("loss" => loss, "weights" => layer_gradients(model, g_model), "state" => g_state)
end
