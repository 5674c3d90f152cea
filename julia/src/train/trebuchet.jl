# The trebuchet aimer (the 2019 trainer): Adam on the squared miss, backpropagated through the
# simulator. Part of `module Train` (julia/src/train.jl); twin of pyside/dprl/train/trebuchet.py.

"""(angle in degrees, counterweight in lb) the network aims with: 90·σ(o₁) and o₂ + 200
on the raw inputs; with `scaled`, inputs (wind/5, (target − 60)/40) and 200 + 100·o₂."""
function aim(model, wind, target; scaled = false)
    o = model(scaled ? [wind / 5, (target - 60) / 40] : [wind, target])
    return 90 * NNlib.sigmoid(o[1]), (scaled ? 100 * o[2] : o[2]) + 200
end

"""Mean squared miss (m²) over a batch, backpropagated through the simulator; an aim that cannot
be thrown (`Trebuchet.valid_aim`) contributes no loss, as the original's caught errors did."""
function aimer_loss(model, winds, targets; scaled = false)
    total = 0.0
    for i in eachindex(winds)
        angle, weight = aim(model, winds[i], targets[i]; scaled = scaled)
        if Trebuchet.valid_aim(angle, weight)
            total += (Trebuchet.shoot_differentiable(winds[i], angle, weight) - targets[i])^2
        end
    end
    return total / length(winds)
end

"""`Trebuchet.throw_misses` of the network's aim for each (wind, target): (miss in m, landed)."""
function misses(model, winds, targets; scaled = false)
    aims = [aim(model, w, t; scaled = scaled) for (w, t) in zip(winds, targets)]
    return Trebuchet.throw_misses(winds, targets, first.(aims), last.(aims))
end

"""Misses on a fixed set (`Trebuchet.miss_metrics`): mean absolute (m), mean relative and
95th-percentile relative (%), failed throws."""
evaluate(model, winds, targets; scaled = false) = Trebuchet.miss_metrics(misses(model, winds, targets; scaled = scaled)..., targets)

"""
    train_aimer(weights, winds, targets, config = Config.AimerConfig(); on_evaluation = nothing)

Adam on the mean squared miss, one pass over (winds, targets) in batches of `config.batch_size`
(at most `config.max_updates` updates), from the (weight, bias) pairs `weights` (the 2019 setting:
batch 1, learning rate 1e-3). Training stops past `config.time_budget` seconds (`nothing`: no
limit). When `on_evaluation` is given it is called as `on_evaluation(update, weights)` at update 0,
every `config.evaluate_every` updates, after the last and when out of time, and returns `true` to
stop: the caller evaluates, keeps a checkpoint and shows progress there (the Python bridge does).
Returns a Dict of the per-update "losses", the final "weights", and the updates and seconds at each
evaluation ("evaluated_at", "wall_time").
"""
function train_aimer(weights, winds, targets, config = Config.AimerConfig(); on_evaluation = nothing)
    length(winds) == length(targets) ||
        throw(ArgumentError("winds and targets must have one length; got $(length(winds)) and $(length(targets))"))
    model = Policies.load_weights!(Policies.aimer_policy(), weights)
    winds, targets = Vector{Float64}(winds), Vector{Float64}(targets)
    batch_size, scaled, time_budget = config.batch_size, config.scaled, something(config.time_budget, Inf)
    opt_state = Flux.setup(Flux.Adam(config.learning_rate), model)
    losses, evaluated_at, wall_time = Float64[], Int[], Float64[]
    started = time()
    report(update) = on_evaluation === nothing ? false :
        (push!(evaluated_at, update); push!(wall_time, time() - started); on_evaluation(update, Policies.weights(model)) == true)
    stop = report(0)
    updates = min(cld(length(winds), batch_size), something(config.max_updates, typemax(Int)))
    for update in 1:updates
        stop && break
        batch = (update - 1) * batch_size + 1:min(update * batch_size, length(winds))
        loss, grads = Flux.withgradient(m -> aimer_loss(m, winds[batch], targets[batch]; scaled = scaled), model)
        Flux.update!(opt_state, model, grads[1])
        push!(losses, loss)
        out_of_time = time() - started > time_budget
        if update % config.evaluate_every == 0 || update == updates || out_of_time
            stop = report(update)
        end
        out_of_time && break
    end
    return Dict{String, Any}("losses" => losses, "weights" => Policies.weights(model),
                             "evaluated_at" => evaluated_at, "wall_time" => wall_time)
end
