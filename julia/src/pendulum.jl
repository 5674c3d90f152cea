"""
    Pendulum

Pendulum swing-up as pure functions, in two variants. Mirror of `pyside/dprl/envs/pendulum.py`.

- `"gymnasium"` (default): Gymnasium's Pendulum-v1. The torque is clipped to ±2 N·m in both the
  dynamics and the cost; θ̇ is clipped to ±8 rad/s *before* it moves θ.
- `"gymjl2019"`: the 2019 Gym.jl Pendulum the blog used. The torque is never clipped (the raw
  action enters the dynamics and the cost); θ moves with the *unclipped* θ̇, which is clipped
  afterwards (gym v0 ordering).

State (θ, θ̇): angle from upright (rad) and angular velocity (rad/s). Observation
(cos θ, sin θ, θ̇). Reward −(angle_normalize(θ)² + 0.1 θ̇² + 0.001 u²) from the state before the
step. Never done: the 200-step limit belongs to the caller. g = 10, m = 1, l = 1, dt = 0.05 s.
"""
module Pendulum

using Random
using ChainRulesCore

const VARIANTS = ("gymnasium", "gymjl2019")

"""
    PendulumParams(; max_speed = 8.0, max_torque = 2.0, dt = 0.05, g = 10.0, m = 1.0, l = 1.0,
                   variant = "gymnasium")

The Pendulum's constants:

- `max_speed`: bound on the angular velocity θ̇ (rad/s, either way).
- `max_torque`: bound on the torque in the `"gymnasium"` variant (N·m, either way).
- `dt`: time step (s).
- `g`: gravitational acceleration (m/s²).
- `m`: mass of the pendulum (kg).
- `l`: length of the pendulum (m).
- `variant`: one of `VARIANTS`: `"gymnasium"` (Pendulum-v1) or `"gymjl2019"` (the blog's Gym.jl
  Pendulum; see the module's docstring).
"""
Base.@kwdef struct PendulumParams
    max_speed::Float64 = 8.0
    max_torque::Float64 = 2.0
    dt::Float64 = 0.05
    g::Float64 = 10.0
    m::Float64 = 1.0
    l::Float64 = 1.0
    variant::String = "gymnasium"
end

"""((x + π) mod 2π) − π with slope 1: the wrap's integer part carries no derivative."""
angle_normalize(x) = x - 2pi * ChainRulesCore.ignore_derivatives(floor((x + pi) / (2pi)))

"""One step: (state, action) -> (state, reward, done). Does not mutate."""
function step(params::PendulumParams, state, action)
    params.variant in VARIANTS || throw(ArgumentError("variant must be one of $(VARIANTS); got $(params.variant)"))
    theta, theta_dot = state[1], state[2]
    u = params.variant == "gymnasium" ? clamp(action, -params.max_torque, params.max_torque) : action
    r = reward(params, state, u)
    accel = 3 * params.g / (2 * params.l) * sin(theta) + 3.0 / (params.m * params.l^2) * u
    if params.variant == "gymnasium"
        new_theta_dot = clamp(theta_dot + accel * params.dt, -params.max_speed, params.max_speed)
        new_theta = theta + new_theta_dot * params.dt
    else
        unclipped = theta_dot + accel * params.dt
        new_theta = theta + unclipped * params.dt
        new_theta_dot = clamp(unclipped, -params.max_speed, params.max_speed)
    end
    next_state = [new_theta, new_theta_dot]
    return next_state, r, is_done(params, next_state)
end
step(state, action; variant = "gymnasium") = step(PendulumParams(variant = variant), state, action)

"""−(angle_normalize(θ)² + 0.1 θ̇² + 0.001 u²) for the torque u actually applied."""
function reward(params::PendulumParams, state, u)
    theta, theta_dot = state[1], state[2]
    return -(angle_normalize(theta)^2 + 0.1 * theta_dot^2 + 0.001 * u^2)
end

"""Pendulum never terminates; episodes are truncated by the caller."""
is_done(params::PendulumParams, state) = false

"""(cos θ, sin θ, θ̇)."""
function observe(params::PendulumParams, state)
    theta, theta_dot = state[1], state[2]
    return [cos(theta), sin(theta), theta_dot]
end

"""θ ~ U(−π, π), θ̇ ~ U(−1, 1)."""
reset_state(params::PendulumParams, rng::AbstractRNG) = [pi * (2 * rand(rng) - 1), 2 * rand(rng) - 1]

end # module
