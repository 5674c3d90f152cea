"""
    Trebuchet

Trebuchet.jl (FluxML, tree 32ee23c, 2019-02-08) as a pure, differentiable function of
(wind, angle_deg, weight_lb). Mirror of `pyside/dprl/envs/trebuchet.py`: same constants, same
functions, same order. Generic over the number type, so ForwardDiff's dual numbers pass through
(`shoot_gradient`), and wrapped in `Zygote.forwarddiff` for Zygote-differentiated training code
(`shoot_differentiable`), as model-zoo did in 2019.

Inputs: wind (m/s, along +x, the throw direction), release angle (degrees, in (0, 90)),
counterweight (pounds, > 0). Output: the landing x in metres, measured from the pivot.

Phases: 1 ground (the projectile slides; lift-off when the sling's vertical pull exceeds its
weight, with the tension estimated from the start of the current step), 2 hang (release when the
velocity points along the release angle), 3 flight (quadratic drag relative to the wind) until
ground level. Explicit Euler at dt = 1/60 s restarting at each event; events located as
DiffEqBase 5.4 did: a sign check at the step's ends, then nine interior points of the cubic
Hermite interpolant, then a root in Θ. Each root is found on plain numbers and given its implicit
derivative by one Newton step on the dual numbers, dΘ/dp = -(∂g/∂p)/(∂g/∂Θ); a root where the
event function jumps (the grid-pinned lift-off), or whose slope in Θ is exactly zero, gets no
derivative (docs/original-2019.md §1.9).

States are tuples (6 numbers on the ground and in the sling, 4 in flight), so the inner loop is
type-stable and allocates nothing: a forward throw allocates no heap memory at all, and
`shoot_gradient` carries three-partial dual numbers through one pass.

After `shoot`, the aiming task: the shot distribution (`shots`, `evaluation_shots`), which aims can
be thrown (`valid_aim`) and how throws are scored (`throw_misses`, `miss_metrics`). Last, what only
Julia needs: forward-mode gradients (`shoot_gradient`, `launch_gradient`), helpers and the
bridge's entry points.
"""
module Trebuchet

using ForwardDiff
using Random
using Statistics
using Zygote

# ----------------------------------------------------------------------------------------------
# Constants (SI). The original took feet and pounds; their values are kept beside each.
# ----------------------------------------------------------------------------------------------
const FOOT = 0.3048  # m
const POUND = 0.45359237  # kg

const PIVOT_HEIGHT = 5.0 * FOOT  # h = l.a: pivot above ground, 5 ft
const LONG_ARM = 6.792 * FOOT  # L_A = l.b: pivot to sling attachment, 6.792 ft
const SHORT_ARM = 1.75 * FOOT  # L_s = l.c: pivot to weight hinge, 1.75 ft
const WEIGHT_ARM = 2.0 * FOOT  # L_W = l.d: weight hinge to weight centre of gravity, 2 ft
const SLING_LENGTH = 6.833 * FOOT  # L_S = l.e: 6.833 ft
const PROJECTILE_RADIUS = 0.1245 * FOOT  # z = l.z: 0.1245 ft
const PROJECTILE_MASS = 0.328 * POUND  # m_P: 0.328 lb
const ARM_MASS = 10.65 * POUND  # m_A: 10.65 lb
const ARM_CG = (LONG_ARM - SHORT_ARM) / 2  # L_cg: arm centre of gravity from the pivot, long side

# Trebuchet.jl assigns `IA3, IW3 = i.iw, i.ia`: the arm's inertia is used where the weight's
# belongs and the reverse. I_W also appears alone, so the swap changes the numbers; it is kept
# to reproduce the blog (docs/original-2019.md §1.3).
const NOMINAL_WEIGHT_INERTIA = 1.0 * POUND * FOOT^2  # i.iw = 1 lb·ft²
const NOMINAL_ARM_INERTIA = ARM_MASS * (LONG_ARM + SHORT_ARM)^2 / 12  # i.ia
const ARM_INERTIA = NOMINAL_WEIGHT_INERTIA  # I_A as used in the equations of motion (swapped)
const WEIGHT_INERTIA = NOMINAL_ARM_INERTIA  # I_W as used in the equations of motion (swapped)

const GRAVITY = 9.80665  # m/s²
const AIR_DENSITY = 1.0  # kg/m³, as in Trebuchet.jl (not 1.225)
const DRAG_COEFFICIENT = 1.0
const DRAG_CONSTANT = AIR_DENSITY * DRAG_COEFFICIENT * pi * PROJECTILE_RADIUS^2 / (2 * PROJECTILE_MASS)

const RATE = 60  # Euler steps per second
const DT = 1.0 / RATE
# Spans of 1 s (ground, hang) and 5 s (flight) are whole numbers of steps, so the original's
# restart at a span's end continues the same grid and needs no code of its own.
const MAX_PHASE_TIME = 60.0  # s of simulated time per phase before a throw is declared stuck
const INTERP_POINTS = 10  # DiffEqBase's interp_points: Θ = 0, 1/9, ..., 1
const ROOT_ITERATIONS = 56  # bisection steps: the bracket ends below one ulp of any Θ ≥ 1/8
const JUMP_TOLERANCE = 1e-6  # |g| left at a converged root above this means g jumps there

# Status of a throw.
const LANDED = 0
const TOO_LIGHT = 1  # the sling tension turned negative on the ground: "Weight is too light"
const NO_LANDING = 2  # released below ground level or stuck in a phase
const STATUS_NAMES = Dict(LANDED => "landed", TOO_LIGHT => "weight too light", NO_LANDING => "never lands")

# ----------------------------------------------------------------------------------------------
# Geometry
# ----------------------------------------------------------------------------------------------
"""Arm tip on the ground, weight hanging straight down, sling flat toward +x, at rest.
State (q_A, q_W, q_S, ω_A, ω_W, ω_S), a 6-tuple."""
function initial_state(dtype::Type{T}) where {T}
    theta0 = asin(PIVOT_HEIGHT / LONG_ARM)
    q_arm = pi / 2 + theta0
    return (T(q_arm), T(-q_arm), T(pi - theta0), zero(T), zero(T), zero(T))
end

"""Projectile position (x, y) in the sling, pivot at the origin (m)."""
function sling_end_position(q_arm, q_sling)
    x = -LONG_ARM * sin(q_arm) - SLING_LENGTH * sin(q_arm + q_sling)
    y = LONG_ARM * cos(q_arm) + SLING_LENGTH * cos(q_arm + q_sling)
    return x, y
end

"""Projectile velocity (v_x, v_y) in the sling (m/s)."""
function sling_end_velocity(q_arm, q_sling, w_arm, w_sling)
    total = w_arm + w_sling
    vx = -SLING_LENGTH * total * cos(q_arm + q_sling) - LONG_ARM * w_arm * cos(q_arm)
    vy = -SLING_LENGTH * total * sin(q_arm + q_sling) - LONG_ARM * w_arm * sin(q_arm)
    return vx, vy
end

# ----------------------------------------------------------------------------------------------
# Equations of motion (docs/original-2019.md §1.5). `weight` is the counterweight in kg.
# ----------------------------------------------------------------------------------------------
"""Phase 1: the projectile slides on the ground; all six coordinates are integrated."""
function ground_derivative(u, weight)
    q_a, q_w, q_s, w_a, w_w, w_s = u
    m_p, m_w, g = PROJECTILE_MASS, weight, GRAVITY
    L_A, L_s, L_W, L_S = LONG_ARM, SHORT_ARM, WEIGHT_ARM, SLING_LENGTH
    s_a, c_a = sin(q_a), cos(q_a)
    s_s, c_s = sin(q_s), cos(q_s)
    s_w, c_w = sin(q_w), cos(q_w)
    sigma, kappa = sin(q_a + q_s), cos(q_a + q_s)
    # The ground constraint's centripetal terms, shared by r1 and α_S.
    k = kappa * w_s * (w_s + 2 * w_a) / sigma + (kappa / sigma + L_A * c_a / (L_S * sigma)) * w_a^2
    m11 = (
        -m_p * L_A^2 * (-1 + 2 * s_a * c_s / sigma)
        + ARM_INERTIA
        + WEIGHT_INERTIA
        + ARM_MASS * ARM_CG^2
        + m_p * L_A^2 * s_a^2 / sigma^2
        + m_w * (L_s^2 + L_W^2 + 2 * L_s * L_W * c_w)
    )
    m12 = WEIGHT_INERTIA + L_W * m_w * (L_W + L_s * c_w)
    m22 = WEIGHT_INERTIA + m_w * L_W^2
    r1 = (
        g * ARM_CG * ARM_MASS * s_a
        + L_A * L_S * m_p * (s_s * (w_a + w_s)^2 + c_s * k)
        + L_A * m_p * s_a * (L_A * s_s * w_a^2 - L_S * k) / sigma
        - g * m_w * (L_s * s_a + L_W * sin(q_a + q_w))
        - L_s * L_W * m_w * s_w * (w_a^2 - (w_a + w_w)^2)
    )
    r2 = -L_W * m_w * (g * sin(q_a + q_w) + L_s * s_w * w_a^2)
    det = m11 * m22 - m12 * m12
    alpha_a = (r1 * m22 - r2 * m12) / det
    alpha_w = -(r1 * m12 - r2 * m11) / det
    alpha_s = -k - (L_A * s_a + L_S * sigma) * alpha_a / (L_S * sigma)
    return (w_a, w_w, w_s, alpha_a, alpha_w, alpha_s)
end

"""Phase 2: the projectile swings freely in the sling (three degrees of freedom)."""
function hang_derivative(u, weight)
    q_a, q_w, q_s, w_a, w_w, w_s = u
    m_p, m_w, g = PROJECTILE_MASS, weight, GRAVITY
    L_A, L_s, L_W, L_S = LONG_ARM, SHORT_ARM, WEIGHT_ARM, SLING_LENGTH
    s_a = sin(q_a)
    s_s, c_s = sin(q_s), cos(q_s)
    s_w, c_w = sin(q_w), cos(q_w)
    m11 = (
        ARM_INERTIA
        + WEIGHT_INERTIA
        + ARM_MASS * ARM_CG^2
        + m_p * (L_A^2 + L_S^2 + 2 * L_A * L_S * c_s)
        + m_w * (L_s^2 + L_W^2 + 2 * L_s * L_W * c_w)
    )
    m12 = WEIGHT_INERTIA + L_W * m_w * (L_W + L_s * c_w)
    m13 = L_S * m_p * (L_S + L_A * c_s)
    m22 = WEIGHT_INERTIA + m_w * L_W^2
    m33 = m_p * L_S^2
    r1 = (
        g * ARM_CG * ARM_MASS * s_a
        + g * m_p * (L_A * s_a + L_S * sin(q_a + q_s))
        - g * m_w * (L_s * s_a + L_W * sin(q_a + q_w))
        - L_A * L_S * m_p * s_s * (w_a^2 - (w_a + w_s)^2)
        - L_s * L_W * m_w * s_w * (w_a^2 - (w_a + w_w)^2)
    )
    r2 = -L_W * m_w * (g * sin(q_a + q_w) + L_s * s_w * w_a^2)
    r3 = L_S * m_p * (g * sin(q_a + q_s) - L_A * s_s * w_a^2)
    d = m13 * m22 * m13 - m33 * (m11 * m22 - m12 * m12)
    alpha_a = -(r1 * m22 * m33 - r2 * m12 * m33 - r3 * m13 * m22) / d
    alpha_w = (r1 * m12 * m33 - r2 * (m11 * m33 - m13 * m13) - r3 * m13 * m12) / d
    alpha_s = (r1 * m22 * m13 - r2 * m12 * m13 - r3 * (m11 * m22 - m12 * m12)) / d
    return (w_a, w_w, w_s, alpha_a, alpha_w, alpha_s)
end

"""Phase 3: ballistic flight with quadratic drag relative to the wind. State (x, y, v_x, v_y)."""
function flight_derivative(u, wind)
    _, _, vx, vy = u
    airspeed = sqrt(vy^2 + (wind - vx)^2)
    ax = -DRAG_CONSTANT * (vx - wind) * airspeed
    ay = -GRAVITY - DRAG_CONSTANT * vy * airspeed
    return (vx, vy, ax, ay)
end

# ----------------------------------------------------------------------------------------------
# Event functions (docs/original-2019.md §1.6) of the state u interpolated at Θ in a step that began at u_start;
# `elapsed` = Θ·dt.
# ----------------------------------------------------------------------------------------------
"""Tension estimated from the projectile's mean x acceleration since the step's start.
Zero where no time has elapsed, as in Trebuchet.jl: the estimate jumps at each step's start."""
function sling_tension(u, u_start, elapsed)
    elapsed > 0 || return zero(u[1])
    vx, _ = sling_end_velocity(u[1], u[3], u[4], u[6])
    vx0, _ = sling_end_velocity(u_start[1], u_start[3], u_start[4], u_start[6])
    mean_accel = (vx - vx0) / elapsed
    phi = u[1] + u[3] - pi  # sling angle from vertical
    return -PROJECTILE_MASS * mean_accel / sin(phi)
end

"""g1 = m_P g − T cos φ: negative once the sling lifts the projectile."""
function liftoff_condition(u, u_start, elapsed, params)
    phi = u[1] + u[3] - pi
    return PROJECTILE_MASS * GRAVITY - sling_tension(u, u_start, elapsed) * cos(phi)
end

"""g2 = sin(∠V − r): zero when the projectile's velocity points along the release angle."""
function release_condition(u, u_start, elapsed, params)
    vx, vy = sling_end_velocity(u[1], u[3], u[4], u[6])
    return sin(atan(vy, vx) - params.release_angle)
end

"""g3 = y + h: zero at ground level."""
landing_condition(u, u_start, elapsed, params) = u[2] + PIVOT_HEIGHT

"""OrdinaryDiffEq's cubic Hermite dense output on one step, at Θ ∈ [0, 1] (states are tuples)."""
function hermite(u0, u1, f0, f1, theta, dt)
    return each(u0, u1, f0, f1) do a, b, fa, fb
        (1 - theta) * a + theta * b + theta * (theta - 1) * ((1 - 2 * theta) * (b - a) + (theta - 1) * dt * fa + theta * dt * fb)
    end
end

# ----------------------------------------------------------------------------------------------
# Integration with event location (docs/original-2019.md §1.7)
# ----------------------------------------------------------------------------------------------
"""DiffEqBase 5.4's event test on one step from g at Θ = 0, 1/9, ..., 1 (a 10-tuple).
Returns (found, Θ_lo, Θ_hi): an event at the step's ends brackets [0, 1]; otherwise the first
interior point whose sign differs from the start brackets [Θ_{i-1}, Θ_i]."""
function bracket(g)
    prev = sign(g[1])
    if prev != 0 && prev * sign(g[end]) <= 0
        return true, 0.0, 1.0
    end
    n = INTERP_POINTS - 1
    for i in 2:INTERP_POINTS
        if prev * sign(g[i]) < 0
            return true, (i - 2) / n, (i - 1) / n
        end
    end
    return false, 0.0, 0.0
end

"""The event function at Θ = 0, 1/9, ..., 1 of one step. The interior points use the cubic's
power form (the same polynomial as `hermite`; they only decide brackets); the ends are the
step's own states, as DiffEqBase used integrator.uprev and integrator.u there."""
function on_grid(condition::C, u0, u1, f0, f1, params) where {C}
    c1 = map(f -> DT * f, f0)
    c2 = each((a, b, fa, fb) -> 3 * (b - a) - DT * (2 * fa + fb), u0, u1, f0, f1)
    c3 = each((a, b, fa, fb) -> 2 * (a - b) + DT * (fa + fb), u0, u1, f0, f1)
    n = INTERP_POINTS - 1
    return ntuple(Val(INTERP_POINTS)) do k
        i = k - 1
        theta = i / n
        u = i == 0 ? u0 : i == n ? u1 : each((a, p, q, r) -> a + p * theta + q * theta^2 + r * theta^3, u0, c1, c2, c3)
        condition(u, u0, theta * DT, params)
    end
end

"""Root Θ of the event function in [lo, hi], with its implicit derivative.

Bisection on plain numbers to below an ulp keeps the side of the event's start, as the
original's prevfloat did; then one Newton step on the dual numbers, Θ − (g(Θ) − value(g(Θ)))/g'(Θ),
carries dΘ/dp = −(∂g/∂p)/(∂g/∂Θ) while leaving Θ's value unchanged. A root where g jumps instead
of crossing zero (the grid-pinned lift-off) keeps no derivative, and so does a root where g's
slope in Θ is exactly zero (the implicit derivative would divide by it). The result has the
states' number type either way."""
function locate(condition::C, u0, u1, f0, f1, lo, hi, params) where {C}
    p0, p1, q0, q1 = plain(u0), plain(u1), plain(f0), plain(f1)
    fixed = plain(params)
    g_plain(theta) = condition(hermite(p0, p1, q0, q1, theta, DT), p0, theta * DT, fixed)
    sign_lo = sign(g_plain(lo))
    for _ in 1:ROOT_ITERATIONS
        mid = (lo + hi) / 2
        if sign(g_plain(mid)) == sign_lo
            lo = mid
        else
            hi = mid
        end
    end
    root = lo
    g_root = g_plain(root)
    T = eltype(u0)
    abs(g_root) > JUMP_TOLERANCE && return T(root)
    slope = ForwardDiff.derivative(g_plain, root)
    slope == 0 && return T(root)
    g_live = condition(hermite(u0, u1, f0, f1, root, DT), u0, root * DT, params)
    return root - (g_live - g_root) / slope
end

"""Euler at dt = 1/60 from u_start until the phase's event (or its stop rule, or the time limit).
Returns where the phase ended: the state at the start of the step holding the event. (Function
arguments carry type parameters so that Julia specialises on them even where they are only passed on.)"""
function integrate(derivative::D, condition::C, u_start, params, stop_rule::S = nothing) where {D, C, S}
    u = u_start
    f = derivative(u, params)
    for step in 0:(round(Int, MAX_PHASE_TIME * RATE) - 1)
        u_next = each((a, fa) -> a + DT * fa, u, f)
        f_next = derivative(u_next, params)
        found, lo, hi = bracket(on_grid(condition, plain(u), plain(u_next), plain(f), plain(f_next), plain(params)))
        if found
            return (u_last = u, steps = step, lo = lo, hi = hi, found = true, stopped = false, u_stop = u_next)
        end
        if stop_rule !== nothing && stop_rule(plain(u), plain(u_next))
            return (u_last = u, steps = step, lo = 0.0, hi = 0.0, found = false, stopped = true, u_stop = u_next)
        end
        u, f = u_next, f_next
    end
    return (u_last = u, steps = 0, lo = 0.0, hi = 0.0, found = false, stopped = false, u_stop = u)
end

"""State and time of a phase's event, differentiable, from where the phase ended."""
function event(derivative::D, condition::C, ended, params) where {D, C}
    ended.found || return (ended.u_last, eltype(ended.u_last)(ended.steps * DT))
    u0 = ended.u_last
    f0 = derivative(u0, params)
    u1 = each((a, fa) -> a + DT * fa, u0, f0)
    f1 = derivative(u1, params)
    theta = locate(condition, u0, u1, f0, f1, ended.lo, ended.hi, params)
    return hermite(u0, u1, f0, f1, theta, DT), (ended.steps + theta) * DT
end

"""Trebuchet.jl's discrete check after a ground step: the stored tension is negative."""
too_light(u, u_next) = sling_tension(u_next, u, DT) < 0

"""A projectile under ground level and moving down can never cross it again."""
below_ground_and_falling(u, u_next) = u_next[2] + PIVOT_HEIGHT < 0 && u_next[4] <= 0

# ----------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------
# Physical input ranges (check_inputs). Far beyond them the drag and inertia terms overflow
# and the distance turns NaN (winds of 1e200 m/s; counterweights from about 1e150 lb).
const WIND_LIMIT = 150.0  # m/s, either way: above the strongest gust ever measured, 113 m/s
const MAX_WEIGHT_LB = 1e6  # lb: 450 t, over a hundred times the heaviest counterweight any aimer uses

"""Throw `ArgumentError` naming the first bad argument and its allowed range."""
function check_inputs(wind, angle_deg, weight_lb)
    w, a, m = plain(wind), plain(angle_deg), plain(weight_lb)
    (isfinite(w) && abs(w) <= WIND_LIMIT) ||
        throw(ArgumentError("wind must be a finite number of m/s in [-$(WIND_LIMIT), $(WIND_LIMIT)]; got $w"))
    (isfinite(a) && 0 < a < 90) || throw(ArgumentError("angle_deg must be finite and strictly between 0 and 90 degrees; got $a"))
    (isfinite(m) && 0 < m <= MAX_WEIGHT_LB) ||
        throw(ArgumentError("weight_lb must be a finite, positive number of pounds, at most $(MAX_WEIGHT_LB); got $m"))
    return nothing
end

"""One throw: distance (m), status, event times (s), release speed (m/s).

Generic over the number type; the distance carries dual numbers through. What a throw that
does not land reports (the same rule as PyTorch's `launch`): the distance is NaN when it never
lands, and the projectile's resting x (about 0.68 m) when the weight is too light; an event time
or the release speed is NaN where that event was not reached."""
function launch(wind, angle_deg, weight_lb)
    check_inputs(wind, angle_deg, weight_lb)
    T = promote_type(typeof(wind), typeof(angle_deg), typeof(weight_lb), Float64)
    # One number type throughout, so every phase's state has one concrete type.
    wind, angle_deg, weight_lb = T(wind), T(angle_deg), T(weight_lb)
    params = (weight = weight_lb * POUND, release_angle = asin(sin(deg2rad(angle_deg))), wind = wind)
    nan = T(NaN)

    ground = integrate(on_ground, liftoff_condition, initial_state(T), params, too_light)
    if ground.stopped
        x_stop, _ = sling_end_position(ground.u_stop[1], ground.u_stop[3])
        return (distance = x_stop, status = TOO_LIGHT, liftoff_time = nan, release_time = nan, landing_time = nan, release_speed = nan)
    end
    if !ground.found
        return (distance = nan, status = NO_LANDING, liftoff_time = nan, release_time = nan, landing_time = nan, release_speed = nan)
    end
    u_liftoff, t_ground = event(on_ground, liftoff_condition, ground, params)
    hang = integrate(in_sling, release_condition, u_liftoff, params)
    if !hang.found
        return (distance = nan, status = NO_LANDING, liftoff_time = t_ground, release_time = nan, landing_time = nan, release_speed = nan)
    end
    u_release, t_hang = event(in_sling, release_condition, hang, params)
    x, y = sling_end_position(u_release[1], u_release[3])
    vx, vy = sling_end_velocity(u_release[1], u_release[3], u_release[4], u_release[6])
    flight = integrate(in_flight, landing_condition, (x, y, vx, vy), params, below_ground_and_falling)
    release = t_ground + t_hang
    speed = sqrt(vx^2 + vy^2)
    if !flight.found
        return (distance = nan, status = NO_LANDING, liftoff_time = t_ground, release_time = release, landing_time = nan, release_speed = speed)
    end
    u_landing, t_flight = event(in_flight, landing_condition, flight, params)
    return (distance = u_landing[1], status = LANDED, liftoff_time = t_ground, release_time = release,
            landing_time = release + t_flight, release_speed = speed)
end

"""Landing distance (m). Throws ArgumentError for bad inputs and for throws that never land."""
function shoot(wind, angle_deg, weight_lb)
    result = launch(wind, angle_deg, weight_lb)
    result.status == NO_LANDING && throw_no_landing(wind, angle_deg, weight_lb)
    return result.distance
end

# ----------------------------------------------------------------------------------------------
# The aiming task: the shots an aimer is trained and scored on, and how a throw is scored
# ----------------------------------------------------------------------------------------------
const EVALUATION_SEED = 2019  # the fixed evaluation set: its own stream, never used in training
const WIND_STD = 5.0  # m/s
const TARGET_RANGE = (20.0, 100.0)  # m
# A counterweight at or under this cannot throw (too light, or released below ground); such a
# sample contributes no loss, as the original's caught errors did.
const MIN_WEIGHT_LB = 16.0

"""(winds, targets): wind ~ N(0, WIND_STD²) m/s (Gaussian, as the original), target ~
U(TARGET_RANGE) m. Julia's random stream differs from NumPy's, so the same seed gives other shots
than Python's `shots`: cross-checks draw in Python and pass the same shots to both stacks."""
function shots(rng::AbstractRNG, n)
    return WIND_STD .* randn(rng, n), TARGET_RANGE[1] .+ (TARGET_RANGE[2] - TARGET_RANGE[1]) .* rand(rng, n)
end

"""The fixed evaluation shots, `shots` from `Xoshiro(EVALUATION_SEED)`: not Python's evaluation
shots (another random stream; see `shots`)."""
evaluation_shots(n = 1000) = shots(Random.Xoshiro(EVALUATION_SEED), n)

"""Whether an aim can be thrown: a counterweight above MIN_WEIGHT_LB and an angle in (0°, 90°)."""
valid_aim(angle, weight) = weight > MIN_WEIGHT_LB && 0 < angle < 90

"""(miss, landed): |distance − target| (m) of each throw aimed at (angles[i], weights[i]), and
whether it landed; a failed throw, or an invalid aim, misses by the whole target. As in PyTorch,
an invalid aim is thrown at (45°, 200 lb) and its result discarded."""
function throw_misses(winds, targets, angles, weights)
    n = length(winds)
    length(targets) == length(angles) == length(weights) == n ||
        throw(ArgumentError("winds, targets, angles and weights must have one length; got " *
                            "$n, $(length(targets)), $(length(angles)) and $(length(weights))"))
    miss, landed = Vector{Float64}(undef, n), Vector{Bool}(undef, n)
    for i in 1:n
        valid = valid_aim(angles[i], weights[i])
        result = launch(winds[i], valid ? angles[i] : 45.0, valid ? weights[i] : 200.0)
        landed[i] = valid && result.status == LANDED
        miss[i] = landed[i] ? abs(result.distance - targets[i]) : Float64(targets[i])
    end
    return miss, landed
end

"""Mean absolute miss (m), mean relative and 95th-percentile relative miss (%; the linear
quantile, as `torch.quantile`), and the throws that did not land."""
function miss_metrics(miss, landed, targets)
    relative = 100 .* miss ./ targets
    return Dict{String, Any}(
        "mean_abs_miss_m" => Statistics.mean(miss),
        "mean_rel_miss_pct" => Statistics.mean(relative),
        "p95_rel_miss_pct" => Statistics.quantile(relative, 0.95),
        "failed_throws" => count(!, landed),
    )
end

# ----------------------------------------------------------------------------------------------
# Julia only: forward-mode gradients, helpers and the bridge's entry points
# ----------------------------------------------------------------------------------------------
# (Julia looks functions up when they are called, so the helpers above may use these.)
"""`map` over states of equal length, written out with `ntuple` so that it always inlines
(Base's `map` over several tuples recurses, and gives up inlining in the ODE loop)."""
@inline each(f, a::NTuple{N, Any}, b::NTuple{N, Any}) where {N} = ntuple(i -> f(a[i], b[i]), Val(N))
@inline each(f, a::NTuple{N, Any}, b::NTuple{N, Any}, c::NTuple{N, Any}, d::NTuple{N, Any}) where {N} =
    ntuple(i -> f(a[i], b[i], c[i], d[i]), Val(N))

"""The plain value of a number, state tuple or parameter NamedTuple: events are located on plain numbers."""
plain(x) = ForwardDiff.value(x)
plain(x::Tuple) = map(plain, x)
plain(params::NamedTuple) = map(plain, params)

# The phases' derivatives as functions of (state, params), named so each gets one specialisation.
on_ground(u, p) = ground_derivative(u, p.weight)
in_sling(u, p) = hang_derivative(u, p.weight)
in_flight(u, p) = flight_derivative(u, p.wind)

@noinline function throw_no_landing(wind, angle_deg, weight_lb)
    throw(ArgumentError("the throw at wind=$(plain(wind)) m/s, angle_deg=$(plain(angle_deg)), " *
        "weight_lb=$(plain(weight_lb)) never lands (released below ground level or stuck for 60 s)"))
end

"""ForwardDiff's tag for `shoot_gradient`'s dual numbers."""
struct GradientTag end

"""The three inputs as dual numbers seeded with the unit partials, as ForwardDiff.gradient
seeds a 3-vector in one chunk."""
function seeded(wind, angle_deg, weight_lb)
    D(x, i) = ForwardDiff.Dual{GradientTag}(Float64(x), ForwardDiff.Partials(ntuple(j -> Float64(j == i), Val(3))))
    return D(wind, 1), D(angle_deg, 2), D(weight_lb, 3)
end

"""(distance, [∂/∂wind, ∂/∂angle_deg, ∂/∂weight_lb]) by ForwardDiff through the whole simulator:
one pass with three partials (the distance is the duals' value)."""
function shoot_gradient(wind, angle_deg, weight_lb)
    d = shoot(seeded(wind, angle_deg, weight_lb)...)
    return ForwardDiff.value(d), collect(ForwardDiff.partials(d))
end

"""`launch` with the gradient of the distance: (launch's NamedTuple of plain values, gradient as a
3-tuple). The gradient is NaN where the throw did not land."""
function launch_gradient(wind, angle_deg, weight_lb)
    result = launch(seeded(wind, angle_deg, weight_lb)...)
    values = map(plain, result)
    gradient = result.status == LANDED ? ForwardDiff.partials(result.distance).values : (NaN, NaN, NaN)
    return values, gradient
end

"""`launch` as a Dict of plain values, for the Python bridge."""
launch_dict(wind, angle_deg, weight_lb) = Dict(string(k) => v for (k, v) in pairs(launch(wind, angle_deg, weight_lb)))

"""`shoot` for Zygote-differentiated code: forward mode through the simulator, one reverse node."""
shoot_differentiable(wind, angle_deg, weight_lb) =
    Zygote.forwarddiff(p -> shoot(p[1], p[2], p[3]), [wind, angle_deg, weight_lb])

end # module
