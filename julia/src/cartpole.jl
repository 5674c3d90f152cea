"""
    CartPole

Gymnasium's CartPole-v1 physics (Barto, Sutton & Anderson 1983) as pure functions. Mirror of
`pyside/dprl/envs/cartpole.py`: same constants, same functions, same order.

State (x, ẋ, θ, θ̇): cart position (m), velocity (m/s), pole angle from upright (rad), angular
velocity (rad/s). Action: a real a in [-1, 1]; the force on the cart is a × 10 N (the DP
controller uses ±1, Gymnasium's Discrete(2) maps 0 → -1 and 1 → +1). Reward: 1 for every step,
including the one that ends the episode. Episode end: |x| > 2.4 or |θ| > 12° (strict); the time
limit (200 for v0, 500 for v1) belongs to the caller. Explicit Euler with τ = 0.02 s: positions
move with the old velocities.
"""
module CartPole

using Random

"""
    CartPoleParams(; gravity = 9.8, masscart = 1.0, masspole = 0.1, length = 0.5, force_mag = 10.0,
                   tau = 0.02, theta_threshold = 12 * 2π / 360, x_threshold = 2.4)

Gymnasium's CartPole constants:

- `gravity`: gravitational acceleration (m/s²).
- `masscart`: mass of the cart (kg).
- `masspole`: mass of the pole (kg).
- `length`: half the pole's length (m).
- `force_mag`: force on the cart at action ±1 (N).
- `tau`: time between state updates (s).
- `theta_threshold`: pole angle from upright past which the episode ends (rad; 12°, 0.20944).
- `x_threshold`: cart position past which the episode ends (m, either way).
"""
Base.@kwdef struct CartPoleParams
    gravity::Float64 = 9.8
    masscart::Float64 = 1.0
    masspole::Float64 = 0.1
    length::Float64 = 0.5  # half the pole's length
    force_mag::Float64 = 10.0
    tau::Float64 = 0.02  # seconds between state updates
    theta_threshold::Float64 = 12 * 2 * pi / 360  # 0.20944 rad
    x_threshold::Float64 = 2.4
end

"""Mass of the cart and pole together (kg)."""
total_mass(params::CartPoleParams) = params.masspole + params.masscart

"""Pole mass times half its length (kg·m)."""
polemass_length(params::CartPoleParams) = params.masspole * params.length

"""One Euler step: (state, action) -> (state, reward, done). Does not mutate."""
function step(params::CartPoleParams, state, action)
    x, x_dot, theta, theta_dot = state[1], state[2], state[3], state[4]
    force = action * params.force_mag
    costheta, sintheta = cos(theta), sin(theta)
    temp = (force + polemass_length(params) * theta_dot^2 * sintheta) / total_mass(params)
    thetaacc = (params.gravity * sintheta - costheta * temp) /
               (params.length * (4.0 / 3.0 - params.masspole * costheta^2 / total_mass(params)))
    xacc = temp - polemass_length(params) * thetaacc * costheta / total_mass(params)
    next_state = [x + params.tau * x_dot, x_dot + params.tau * xacc, theta + params.tau * theta_dot, theta_dot + params.tau * thetaacc]
    return next_state, reward(params, state, action, next_state), is_done(params, next_state)
end
step(state, action) = step(CartPoleParams(), state, action)

"""Gymnasium's reward: 1 per step, the terminating step included."""
reward(params::CartPoleParams, state, action, next_state) = 1.0

"""The pole fell past 12° or the cart left [-2.4, 2.4] (strict comparisons, as Gymnasium)."""
function is_done(params::CartPoleParams, state)
    x, theta = state[1], state[3]
    return x < -params.x_threshold || x > params.x_threshold ||
           theta < -params.theta_threshold || theta > params.theta_threshold
end

"""The observation is the state itself."""
observe(params::CartPoleParams, state) = state

"""Each of the four state components uniform in [-0.05, 0.05]."""
reset_state(params::CartPoleParams, rng::AbstractRNG) = 0.1 .* rand(rng, 4) .- 0.05

end # module
