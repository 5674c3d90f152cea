# The Pendulum controllers: the 2019 trainer (Adam on BPTT windows along each episode) and, for
# Pendulum-v1, the analytic policy gradient (whole episodes, the gradient through the state decayed).
# Part of `module Train` (julia/src/train.jl); twin of pyside/dprl/train/pendulum.py.

"""The torque the network applies: 2·tanh(o) for Gymnasium (so gradients survive the clip),
the raw output for the 2019 Gym.jl variant."""
torque(params, output) = params.variant == "gymnasium" ? params.max_torque * tanh(output) : output

"""`n` steps from each row of `states` (B×2): (loss, final states), the loss the mean over steps
and episodes of cost² or cost. BPTT through the dynamics."""
function pendulum_window(policy, states, n, params, loss = "cost2")
    # Each row returns its own sum: a closure that reassigned a captured total would be boxed,
    # which Zygote handles poorly.
    rows = map(1:size(states, 1)) do b
        s = states[b, :]
        row = 0.0
        for _ in 1:n
            u = torque(params, policy(Pendulum.observe(params, s))[1])
            s, r, _ = Pendulum.step(params, s, u)
            row += loss == "cost2" ? r^2 : -r
        end
        (row, s)
    end
    return sum(first, rows) / (n * size(states, 1)), permutedims(reduce(hcat, map(last, rows)))
end

_sum_squares(x::AbstractArray{<:Number}) = sum(abs2, x)
_sum_squares(x::Union{Tuple, NamedTuple}) = isempty(x) ? 0.0 : sum(_sum_squares, x)
_sum_squares(x) = 0.0
_scale_tree!(x::AbstractArray{<:Number}, c) = (x .*= c; nothing)
_scale_tree!(x::Union{Tuple, NamedTuple}, c) = (foreach(y -> _scale_tree!(y, c), x); nothing)
_scale_tree!(x, c) = nothing

"""Scale the gradient tree `grads` in place by min(1, max_norm / (‖g‖ + 1e-6)), as PyTorch's
clip_grad_norm_ does; returns `grads`."""
function clip_global_norm!(grads, max_norm)
    _scale_tree!(grads, min(1.0, max_norm / (sqrt(_sum_squares(grads)) + 1e-6)))
    return grads
end

"""Return of the `steps`-long episode from each row of `states` under the policy (no learning)."""
pendulum_returns(policy, states, steps, params) = _returns(o -> torque(params, policy(o)[1]), states, steps, params)

"""Return of the `steps`-long episode from each row of `states` when `act(observation)` picks the torque."""
function _returns(act, states, steps, params)
    return map(axes(states, 1)) do j
        s = Vector{Float64}(states[j, :])
        total = 0.0
        for _ in 1:steps
            s, r, _ = Pendulum.step(params, s, act(Pendulum.observe(params, s)))
            total += r
        end
        total
    end
end

"""
    train_pendulum(weights, initial_states, evaluation_states, config = Config.PendulumConfig(); on_episode = nothing)

From the (weight, bias) pairs `weights`, `initial_states` (E×B×2) start E rounds of B parallel
episodes of `config.steps` steps ((E×2) means B = 1), cut into BPTT windows of `config.window`
steps with one Adam update each, the gradient clipped to `config.max_grad_norm` (Inf: no clip);
after each round the mean return from the rows of `evaluation_states` (N×2, none: no evaluation)
is recorded, with the episodes and environment steps trained so far and the seconds since training
began (evaluations included, as in PyTorch). Settings left as `nothing` come from the variant's
preset (`Config.resolve_preset`). Stops at an update whose loss or weights are not finite
("diverged" names it). Returns `trained`'s Dict; `on_episode(result)`, where given, gets it after
every round and returns `true` to stop there.
"""
function train_pendulum(weights, initial_states, evaluation_states, config = Config.PendulumConfig(); on_episode = nothing)
    config = Config.resolve_preset(config)
    window, steps, loss, max_grad_norm = config.window, config.steps, config.loss, config.max_grad_norm
    params = Pendulum.PendulumParams(variant = config.variant)
    model = Policies.load_weights!(Policies.pendulum_policy(), weights)
    opt_state = Flux.setup(Flux.Adam(config.learning_rate), model)
    kept = Policies.weights(model)  # checked_update!'s copy of the weights before each step
    starts = ndims(initial_states) == 2 ? reshape(Array{Float64}(initial_states), size(initial_states, 1), 1, 2) :
             Array{Float64}(initial_states)
    batch = size(starts, 2)
    losses, curve, diverged = Float64[], Curve(), nothing
    started = time_ns()
    for e in 1:size(starts, 1)
        states = starts[e, :, :]
        for start in 1:window:steps
            n = min(window, steps - start + 1)
            # The window's end states come back as withgradient's auxiliary output.
            (value, states), grads = let s = states
                Flux.withgradient(m -> pendulum_window(m, s, n, params, loss), model)
            end
            isinf(max_grad_norm) || clip_global_norm!(grads[1], max_grad_norm)
            diverged = checked_update!(opt_state, model, grads[1], value, length(losses) + 1, kept)
            diverged === nothing || break
            push!(losses, value)
        end
        diverged === nothing || break
        if size(evaluation_states, 1) > 0
            record!(curve, average(pendulum_returns(model, evaluation_states, steps, params)), e * batch, e * batch * steps, started)
        end
        on_episode !== nothing && on_episode(trained(losses, curve, model)) == true && break
    end
    return diverged === nothing ? trained(losses, curve, model) : trained(losses, curve, model, "diverged" => diverged)
end

"""
    pendulum_window_gradient(weights, states, n; variant = "gymnasium", loss = "cost")

The loss of one `pendulum_window` of `n` steps from the rows of `states` (B×2) under the policy
with the (weight, bias) pairs `weights`, and Zygote's gradient of it, for the cross-checks: a Dict
of the "loss", the "weights" gradient as (weight, bias) pairs in nn.Linear's layout, and the
"state" gradient (B×2).
"""
function pendulum_window_gradient(weights, states, n; variant = "gymnasium", loss = "cost")
    loss in Config.PENDULUM_LOSSES || throw(ArgumentError("loss must be one of $(Config.PENDULUM_LOSSES); got $(repr(loss))"))
    n isa Integer && n >= 1 || throw(ArgumentError("n must be a whole number of steps, at least 1; got $(repr(n))"))
    params = Pendulum.PendulumParams(variant = variant)
    model = Policies.load_weights!(Policies.pendulum_policy(), weights)
    value, (g_model, g_states) = Flux.withgradient((m, s) -> pendulum_window(m, s, n, params, loss)[1], model, Matrix{Float64}(states))
    return Dict{String, Any}("loss" => value, "weights" => layer_gradients(model, g_model), "state" => g_states)
end

# ----------------------------------------------------------------------------------------------
# Pendulum-v1 by analytic policy gradient (whole episodes, decayed gradient through the state)
# ----------------------------------------------------------------------------------------------
# Why this method: whole-episode BPTT sees the swing-up but its gradient explodes along chaotic
# swings; decaying it through each step's state bounds it, and an odd torque helps the swing from the
# bottom. The measurements behind it and its settings: docs/notes/2026-12-04-pendulum-apg-plateau.md.

"""The identity forward; the gradient flowing back through it is multiplied by `factor`."""
decay_gradient(x, factor) = x
function ChainRulesCore.rrule(::typeof(decay_gradient), x, factor)
    decay_gradient_pullback(ȳ) = (NoTangent(), factor * ChainRulesCore.unthunk(ȳ), NoTangent())
    return x, decay_gradient_pullback
end

"""The observation of the mirrored state (−θ, −θ̇): (cos θ, −sin θ, −θ̇)."""
mirror(observation) = [observation[1], -observation[2], -observation[3]]

"""2·tanh(o(x) − o(mirror(x))): a torque odd in (θ, θ̇), from the 2019 network."""
apg_torque(params, policy, observation) = torque(params, policy(observation)[1] - policy(mirror(observation))[1])

"""Costs (B) of `horizon`-step episodes from the rows of `states` (B×2) under `apg_torque`, the
gradient through each step's state multiplied by `decay`."""
apg_cost(policy, states, horizon, params, decay) = map(b -> _episode_cost(policy, states[b, :], horizon, params, decay), 1:size(states, 1))

function _episode_cost(policy, state, horizon, params, decay)
    s, cost = state, 0.0
    for _ in 1:horizon
        s, r, _ = Pendulum.step(params, s, apg_torque(params, policy, Pendulum.observe(params, s)))
        s = decay_gradient(s, decay)
        cost += -r
    end
    return cost
end

"""Mean cost per step over the episodes from the rows of `states` (B×2)."""
apg_loss(policy, states, horizon, params, decay) = sum(apg_cost(policy, states, horizon, params, decay)) / (horizon * size(states, 1))

"""Return of the `steps`-long episode from each row of `states` under `apg_torque` (no learning)."""
apg_returns(policy, states, steps, params) = _returns(o -> apg_torque(params, policy, o), states, steps, params)

"""
    train_pendulum_apg(weights, batches, evaluation_states, config = Config.APGConfig(); on_episode = nothing)

Pendulum-v1 by analytic policy gradient from the (weight, bias) pairs `weights`: one Adam update per
slice of `batches` (U×B×2), on the mean cost of B whole `config.horizon`-step episodes from fresh
start states, the gradient through each step's state multiplied by `config.gradient_decay` and
clipped to `config.max_grad_norm` (Inf: no clip). Every `config.evaluate_every` updates (and after
the last) the mean 200-step return from the rows of `evaluation_states` (N×2, none: no
evaluation) is recorded, with the episodes and environment steps trained so far and the seconds
since training began (evaluations included, as in PyTorch). Stops at an update whose loss or
weights are not finite ("diverged" names it). Returns `trained`'s Dict; `on_episode(result)`,
where given, gets it after every evaluation and returns `true` to stop there.
"""
function train_pendulum_apg(weights, batches, evaluation_states, config = Config.APGConfig(); on_episode = nothing)
    ndims(batches) == 3 && size(batches, 3) == 2 || throw(ArgumentError("batches must have shape (U, B, 2); got $(size(batches))"))
    horizon, gradient_decay, max_grad_norm, evaluate_every = config.horizon, config.gradient_decay, config.max_grad_norm, config.evaluate_every
    params = Pendulum.PendulumParams(variant = "gymnasium")
    model = Policies.load_weights!(Policies.pendulum_policy(), weights)
    opt_state = Flux.setup(Flux.Adam(config.learning_rate), model)
    kept = Policies.weights(model)  # checked_update!'s copy of the weights before each step
    starts = Array{Float64}(batches)
    losses, curve, diverged = Float64[], Curve(), nothing
    updates, batch = size(starts, 1), size(starts, 2)
    started = time_ns()
    for k in 1:updates
        value, grads = Flux.withgradient(m -> apg_loss(m, starts[k, :, :], horizon, params, gradient_decay), model)
        isinf(max_grad_norm) || clip_global_norm!(grads[1], max_grad_norm)
        diverged = checked_update!(opt_state, model, grads[1], value, k, kept)
        diverged === nothing || break
        push!(losses, value)
        (k % evaluate_every == 0 || k == updates) && size(evaluation_states, 1) > 0 || continue
        record!(curve, average(apg_returns(model, evaluation_states, 200, params)), k * batch, k * batch * horizon, started)
        on_episode !== nothing && on_episode(trained(losses, curve, model)) == true && break
    end
    return diverged === nothing ? trained(losses, curve, model) : trained(losses, curve, model, "diverged" => diverged)
end
