"""
    Config

Every trainer's settings: one immutable struct a trainer (`Base.@kwdef`, the twin of a frozen
dataclass), its checks in the inner constructor, and the presets. Twin of
`pyside/dprl/config.py`: the same names, fields, defaults and order, and the same range checks with
the same messages (an `ArgumentError` here where Python raises `ValueError`). The Python bridge
(`dprl.julia`) passes a dataclass across as `Config.AimerConfig(; fields...)`.

Conventions shared by both stacks: `nothing` (Python `None`) means unset, i.e. the preset's value
or no limit; `Inf` (Python `math.inf`) as `max_grad_norm` means no clipping.
"""
module Config

_check(name, value, ok::Bool, rule) = ok || throw(ArgumentError("$name must be $rule; got $(repr(value))"))

_is_number(value) = value isa Real && !(value isa Bool)

"""A number above 0 (finite unless `infinite`)."""
function _check_positive(name, value; infinite = false)
    finite = _is_number(value) && (isfinite(value) || (infinite && value == Inf))
    _check(name, value, finite && value > 0, "a number above 0" * (infinite ? " (Inf: none)" : ", finite"))
end

_check_count(name, value, low = 1) = _check(name, value, value isa Integer && !(value isa Bool) && value >= low, "a whole number ≥ $low")

# ----------------------------------------------------------------------------------------------
# Trebuchet aimer
# ----------------------------------------------------------------------------------------------
"""
    AimerConfig(; learning_rate = 1e-3, batch_size = 1, scaled = false, max_updates = nothing,
                time_budget = nothing, evaluate_every = 100)

Settings of `train_aimer`: Adam on the squared miss, backpropagated through the simulator.

- `learning_rate`: Adam's step size (the 2019 setting: 1e-3).
- `batch_size`: shots per update (the 2019 setting: 1).
- `scaled`: feed the network (wind/5, (target − 60)/40) and read the counterweight as
  200 + 100·o₂ lb, instead of the raw inputs and o₂ + 200 lb.
- `max_updates`: stop after this many updates (`nothing`: one pass over the shots).
- `time_budget`: stop after this many seconds of training (`nothing`: no limit).
- `evaluate_every`: updates between evaluations on the evaluation shots.
"""
Base.@kwdef struct AimerConfig
    learning_rate::Float64 = 1e-3
    batch_size::Int = 1
    scaled::Bool = false
    max_updates::Union{Nothing, Int} = nothing
    time_budget::Union{Nothing, Float64} = nothing
    evaluate_every::Int = 100
    function AimerConfig(learning_rate, batch_size, scaled, max_updates, time_budget, evaluate_every)
        _check_positive("learning_rate", learning_rate)
        _check_count("batch_size", batch_size)
        _check("scaled", scaled, scaled isa Bool, "true or false")
        max_updates === nothing || _check_count("max_updates", max_updates)
        time_budget === nothing || _check_positive("time_budget", time_budget)
        _check_count("evaluate_every", evaluate_every)
        return new(learning_rate, batch_size, scaled, max_updates, time_budget, evaluate_every)
    end
end

# ----------------------------------------------------------------------------------------------
# CartPole
# ----------------------------------------------------------------------------------------------
"""
    CartPoleConfig(; learning_rate = 0.03, window = 8, max_steps = 500, solved_score = 475.0)

Settings of `train_cartpole`: Adam on the margin loss of short BPTT windows.

- `learning_rate`: Adam's step size (the 2019 setting).
- `window`: steps backpropagated through per update (the 2019 setting).
- `max_steps`: steps before an episode is cut off (CartPole-v1: 500; v0: 200).
- `solved_score`: stop once the evaluation mean reaches this (CartPole-v1: 475; v0: 195).
"""
Base.@kwdef struct CartPoleConfig
    learning_rate::Float64 = 0.03
    window::Int = 8
    max_steps::Int = 500
    solved_score::Float64 = 475.0
    function CartPoleConfig(learning_rate, window, max_steps, solved_score)
        _check_positive("learning_rate", learning_rate)
        _check_count("window", window)
        _check_count("max_steps", max_steps)
        _check("solved_score", solved_score, _is_number(solved_score) && !isnan(solved_score), "a number")
        return new(learning_rate, window, max_steps, solved_score)
    end
end

# ----------------------------------------------------------------------------------------------
# Pendulum by BPTT (the 2019 trainer)
# ----------------------------------------------------------------------------------------------
# `gymjl2019`: the blog's setup. `gymnasium`: what learns with the torque bounded to ±2 N·m (the
# sweep in comparisons/bench_pendulum.py's notes). `batch` is the parallel episodes a round of the
# seeded runs. A NamedTuple keeps the order, as Python's dict does: `PENDULUM_PRESETS[:gymnasium]`.
const PENDULUM_PRESETS = (
    gymjl2019 = (window = 4, learning_rate = 0.03, loss = "cost2", max_grad_norm = Inf, batch = 1),
    gymnasium = (window = 20, learning_rate = 0.003, loss = "cost", max_grad_norm = 1.0, batch = 64),
)
const PENDULUM_LOSSES = ("cost2", "cost")

"""
    PendulumConfig(; variant = "gymnasium", window = nothing, learning_rate = nothing, loss = nothing,
                   max_grad_norm = nothing, steps = 200)

Settings of `train_pendulum`: Adam on the cost of BPTT windows along each episode. A setting left
as `nothing` comes from `PENDULUM_PRESETS[Symbol(variant)]` (`resolve_preset`).

- `variant`: gymnasium = Pendulum-v1, torque bounded to ±2 N·m; gymjl2019 = the blog's unclamped torque.
- `window`: steps backpropagated through per update (preset: gymnasium 20, gymjl2019 4).
- `learning_rate`: Adam's step size (preset: gymnasium 3e-3, gymjl2019 0.03).
- `loss`: per-step loss, cost (the negative reward) or cost2 (the reward squared) (preset:
  gymnasium cost, gymjl2019 cost2).
- `max_grad_norm`: global gradient-norm clip, Inf for none (preset: gymnasium 1, gymjl2019 Inf).
- `steps`: steps an episode (Gymnasium's time limit).
"""
Base.@kwdef struct PendulumConfig
    variant::String = "gymnasium"
    window::Union{Nothing, Int} = nothing
    learning_rate::Union{Nothing, Float64} = nothing
    loss::Union{Nothing, String} = nothing
    max_grad_norm::Union{Nothing, Float64} = nothing
    steps::Int = 200
    function PendulumConfig(variant, window, learning_rate, loss, max_grad_norm, steps)
        variants = String.(keys(PENDULUM_PRESETS))
        _check("variant", variant, variant isa AbstractString && variant in variants, "one of $variants")
        window === nothing || _check_count("window", window)
        learning_rate === nothing || _check_positive("learning_rate", learning_rate)
        loss === nothing || _check("loss", loss, loss in PENDULUM_LOSSES, "one of $PENDULUM_LOSSES")
        max_grad_norm === nothing || _check_positive("max_grad_norm", max_grad_norm; infinite = true)
        _check_count("steps", steps)
        return new(variant, window, learning_rate, loss, max_grad_norm, steps)
    end
end

"""
    resolve_preset(config)

`config` (a `PendulumConfig`) with every setting left as `nothing` taken from its variant's preset.
"""
function resolve_preset(config)
    preset = PENDULUM_PRESETS[Symbol(config.variant)]
    return PendulumConfig(; variant = config.variant, window = something(config.window, preset.window),
                          learning_rate = something(config.learning_rate, preset.learning_rate),
                          loss = something(config.loss, preset.loss),
                          max_grad_norm = something(config.max_grad_norm, preset.max_grad_norm), steps = config.steps)
end

# ----------------------------------------------------------------------------------------------
# Pendulum-v1 by analytic policy gradient
# ----------------------------------------------------------------------------------------------
"""
    APGConfig(; horizon = 200, learning_rate = 0.01, max_grad_norm = 1.0, gradient_decay = 0.985,
              evaluate_every = 10)

Settings of `train_pendulum_apg`: Adam on the cost of whole episodes from fresh start states, the
gradient through each step's state decayed.

- `horizon`: steps an episode, all backpropagated through.
- `learning_rate`: Adam's step size.
- `max_grad_norm`: global gradient-norm clip, Inf for none.
- `gradient_decay`: factor on the gradient flowing back through each step's state, in (0, 1].
- `evaluate_every`: updates between evaluations.
"""
Base.@kwdef struct APGConfig
    horizon::Int = 200
    learning_rate::Float64 = 0.01
    max_grad_norm::Float64 = 1.0
    gradient_decay::Float64 = 0.985
    evaluate_every::Int = 10
    function APGConfig(horizon, learning_rate, max_grad_norm, gradient_decay, evaluate_every)
        _check_count("horizon", horizon)
        _check_positive("learning_rate", learning_rate)
        _check_positive("max_grad_norm", max_grad_norm; infinite = true)
        _check("gradient_decay", gradient_decay, _is_number(gradient_decay) && 0 < gradient_decay <= 1, "in (0, 1]")
        _check_count("evaluate_every", evaluate_every)
        return new(horizon, learning_rate, max_grad_norm, gradient_decay, evaluate_every)
    end
end

end # module
