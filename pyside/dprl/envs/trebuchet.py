"""Trebuchet.jl (FluxML, tree 32ee23c, 2019-02-08) as a batched, differentiable PyTorch function.

Mirror of ``julia/src/trebuchet.jl``: same constants, same functions, same order. This is the
reference path, every phase through ``integrate`` as in Julia; ``trebuchet_fast`` runs the same
throws faster (the default for training and benchmarks), compiled, or on CUDA as a Triton kernel.

## Description
A counterweight trebuchet with a sling, as simulated for the Flux blog post "Differentiable
Programming vs Reinforcement Learning" (2019). The arm turns about a pivot 1.524 m above the
ground; a hinged counterweight hangs from the short arm; a sling of 2.08 m hangs from the long arm
and holds the projectile, which starts on the ground. The equations of motion are those of
virtualtrebuchet.com, as credited by Trebuchet.jl (``docs/original-2019.md`` §1.5).

## Inputs
| name      | unit | range                | meaning                                         |
|-----------|------|----------------------|-------------------------------------------------|
| wind      | m/s  | [-150, 150]          | air speed along +x (the throw direction)        |
| angle_deg | deg  | (0, 90)              | release angle of the projectile's velocity      |
| weight_lb | lb   | (0, 1e6]             | counterweight mass (pounds, as in the original) |

Tensors of float32 or float64 (Python numbers and NumPy arrays become float64); lower
precisions cannot resolve the Euler steps and are refused.

## Output
The distance in metres: the x coordinate where the projectile lands, measured from the pivot
(not from the projectile's start at x = 0.6816 m).

## Phases and events
1. *Ground*: the projectile slides along the ground, the sling constrained. Lift-off when the
   vertical pull of the sling exceeds the projectile's weight, with the sling tension estimated by
   finite differences from the start of the current Euler step (which pins lift-off to the grid;
   docs/original-2019.md §1.7). If that tension turns negative the weight is too light and the throw stops.
2. *Hang*: the projectile swings in the sling. Release when the velocity direction equals the
   release angle.
3. *Released*: ballistic flight with quadratic drag relative to the wind, until ground level.

Explicit Euler with dt = 1/60 s restarting at each event; events located as DiffEqBase 5.4 did:
a sign check at the step ends, then nine interior points of the cubic Hermite interpolant, then a
root in Θ. Each root is found without gradient and given its implicit derivative by one Newton
correction with gradient, dΘ/dp = −(∂g/∂p)/(∂g/∂Θ), which is what ForwardDiff's dual numbers
flowing through the original's root finder amounted to. Where the event function jumps (the
grid-pinned lift-off), or its slope in Θ is exactly zero, the event time gets no gradient (docs/original-2019.md §1.9).

## Throws that do not land
The same rule as the Julia `launch`: the distance is NaN for a throw that never lands (released
below ground level, or stuck in a phase for 60 s), and the projectile's resting x (about 0.68 m)
when the weight is too light; an event time or the release speed is NaN where that event was
not reached.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch

# ----------------------------------------------------------------------------------------------
# Constants (SI). The original took feet and pounds; their values are kept beside each.
# ----------------------------------------------------------------------------------------------
FOOT = 0.3048  # m
POUND = 0.45359237  # kg

PIVOT_HEIGHT = 5.0 * FOOT  # h = l.a: pivot above ground, 5 ft
LONG_ARM = 6.792 * FOOT  # L_A = l.b: pivot to sling attachment, 6.792 ft
SHORT_ARM = 1.75 * FOOT  # L_s = l.c: pivot to weight hinge, 1.75 ft
WEIGHT_ARM = 2.0 * FOOT  # L_W = l.d: weight hinge to weight centre of gravity, 2 ft
SLING_LENGTH = 6.833 * FOOT  # L_S = l.e: 6.833 ft
PROJECTILE_RADIUS = 0.1245 * FOOT  # z = l.z: 0.1245 ft
PROJECTILE_MASS = 0.328 * POUND  # m_P: 0.328 lb
ARM_MASS = 10.65 * POUND  # m_A: 10.65 lb
ARM_CG = (LONG_ARM - SHORT_ARM) / 2  # L_cg: arm centre of gravity from the pivot, long side

# Trebuchet.jl assigns `IA3, IW3 = i.iw, i.ia`: the arm's inertia is used where the weight's
# belongs and the reverse. They enter M11 as a sum, but I_W also appears alone, so the swap
# changes the numbers; it is kept to reproduce the blog (docs/original-2019.md §1.3).
NOMINAL_WEIGHT_INERTIA = 1.0 * POUND * FOOT**2  # i.iw = 1 lb·ft²
NOMINAL_ARM_INERTIA = ARM_MASS * (LONG_ARM + SHORT_ARM) ** 2 / 12  # i.ia
ARM_INERTIA = NOMINAL_WEIGHT_INERTIA  # I_A as used in the equations of motion (swapped)
WEIGHT_INERTIA = NOMINAL_ARM_INERTIA  # I_W as used in the equations of motion (swapped)

GRAVITY = 9.80665  # m/s²
AIR_DENSITY = 1.0  # kg/m³, as in Trebuchet.jl (not 1.225)
DRAG_COEFFICIENT = 1.0
DRAG_CONSTANT = AIR_DENSITY * DRAG_COEFFICIENT * math.pi * PROJECTILE_RADIUS**2 / (2 * PROJECTILE_MASS)

RATE = 60  # Euler steps per second
DT = 1.0 / RATE
# Trebuchet.jl solves each phase over spans of 1 s (ground, hang) or 5 s (flight) and restarts
# the phase at a span's end. Both are whole numbers of steps, so a restart continues the same grid
# and the spans need no code of their own.
MAX_PHASE_TIME = 60.0  # s of simulated time per phase before a throw is declared stuck
INTERP_POINTS = 10  # DiffEqBase's interp_points: Θ = 0, 1/9, ..., 1
ROOT_ITERATIONS = 56  # bisection steps: the bracket ends below one ulp of any Θ ≥ 1/8
JUMP_TOLERANCE = 1e-6  # |g| left at a converged root above this means g jumps there

# Status of a throw.
LANDED = 0
TOO_LIGHT = 1  # the sling tension turned negative on the ground: the original's "Weight is too light"
NO_LANDING = 2  # released below ground level or stuck in a phase: the original would loop forever
STATUS_NAMES = {LANDED: "landed", TOO_LIGHT: "weight too light", NO_LANDING: "never lands"}


# ----------------------------------------------------------------------------------------------
# Geometry
# ----------------------------------------------------------------------------------------------
def initial_state(dtype=torch.float64, *, batch_shape=(), device=None):
    """Arm tip on the ground, weight hanging straight down, sling flat toward +x, at rest.

    State (q_A, q_W, q_S, ω_A, ω_W, ω_S): arm angle, weight angle relative to the arm, sling angle
    relative to the arm (rad), and their rates (rad/s). States are coordinate-major, shape
    (6, *batch_shape): each coordinate is one contiguous block, which keeps elementwise work fast.
    PyTorch only: `batch_shape` and `device`.
    """
    theta0 = math.asin(PIVOT_HEIGHT / LONG_ARM)
    q_arm = math.pi / 2 + theta0
    values = torch.tensor([q_arm, -q_arm, math.pi - theta0, 0.0, 0.0, 0.0], dtype=dtype, device=device)
    return values.reshape(6, *([1] * len(batch_shape))).expand(6, *batch_shape).clone()


def sling_end_position(q_arm, q_sling):
    """Projectile position (x, y) in the sling, pivot at the origin (m)."""
    x = -LONG_ARM * torch.sin(q_arm) - SLING_LENGTH * torch.sin(q_arm + q_sling)
    y = LONG_ARM * torch.cos(q_arm) + SLING_LENGTH * torch.cos(q_arm + q_sling)
    return x, y


def sling_end_velocity(q_arm, q_sling, w_arm, w_sling):
    """Projectile velocity (v_x, v_y) in the sling (m/s)."""
    total = w_arm + w_sling
    vx = -SLING_LENGTH * total * torch.cos(q_arm + q_sling) - LONG_ARM * w_arm * torch.cos(q_arm)
    vy = -SLING_LENGTH * total * torch.sin(q_arm + q_sling) - LONG_ARM * w_arm * torch.sin(q_arm)
    return vx, vy


# ----------------------------------------------------------------------------------------------
# Equations of motion (docs/original-2019.md §1.5). `weight` is the counterweight in kg.
# ----------------------------------------------------------------------------------------------
def ground_derivative(u, weight):
    """Phase 1: the projectile slides on the ground; all six coordinates are integrated."""
    q_a, q_w, q_s, w_a, w_w, w_s = u.unbind(0)
    m_p, m_w, g = PROJECTILE_MASS, weight, GRAVITY
    L_A, L_s, L_W, L_S = LONG_ARM, SHORT_ARM, WEIGHT_ARM, SLING_LENGTH
    s_a, c_a = torch.sin(q_a), torch.cos(q_a)
    s_s, c_s = torch.sin(q_s), torch.cos(q_s)
    s_w, c_w = torch.sin(q_w), torch.cos(q_w)
    sigma, kappa = torch.sin(q_a + q_s), torch.cos(q_a + q_s)
    # The ground constraint's centripetal terms, shared by r1 and α_S.
    k = kappa * w_s * (w_s + 2 * w_a) / sigma + (kappa / sigma + L_A * c_a / (L_S * sigma)) * w_a**2
    m11 = (
        -m_p * L_A**2 * (-1 + 2 * s_a * c_s / sigma)
        + ARM_INERTIA
        + WEIGHT_INERTIA
        + ARM_MASS * ARM_CG**2
        + m_p * L_A**2 * s_a**2 / sigma**2
        + m_w * (L_s**2 + L_W**2 + 2 * L_s * L_W * c_w)
    )
    m12 = WEIGHT_INERTIA + L_W * m_w * (L_W + L_s * c_w)
    m22 = WEIGHT_INERTIA + m_w * L_W**2
    r1 = (
        g * ARM_CG * ARM_MASS * s_a
        + L_A * L_S * m_p * (s_s * (w_a + w_s) ** 2 + c_s * k)
        + L_A * m_p * s_a * (L_A * s_s * w_a**2 - L_S * k) / sigma
        - g * m_w * (L_s * s_a + L_W * torch.sin(q_a + q_w))
        - L_s * L_W * m_w * s_w * (w_a**2 - (w_a + w_w) ** 2)
    )
    r2 = -L_W * m_w * (g * torch.sin(q_a + q_w) + L_s * s_w * w_a**2)
    det = m11 * m22 - m12 * m12
    alpha_a = (r1 * m22 - r2 * m12) / det
    alpha_w = -(r1 * m12 - r2 * m11) / det
    alpha_s = -k - (L_A * s_a + L_S * sigma) * alpha_a / (L_S * sigma)
    return torch.stack((w_a, w_w, w_s, alpha_a, alpha_w, alpha_s))


def hang_derivative(u, weight):
    """Phase 2: the projectile swings freely in the sling (three degrees of freedom)."""
    q_a, q_w, q_s, w_a, w_w, w_s = u.unbind(0)
    m_p, m_w, g = PROJECTILE_MASS, weight, GRAVITY
    L_A, L_s, L_W, L_S = LONG_ARM, SHORT_ARM, WEIGHT_ARM, SLING_LENGTH
    s_a = torch.sin(q_a)
    s_s, c_s = torch.sin(q_s), torch.cos(q_s)
    s_w, c_w = torch.sin(q_w), torch.cos(q_w)
    m11 = (
        ARM_INERTIA
        + WEIGHT_INERTIA
        + ARM_MASS * ARM_CG**2
        + m_p * (L_A**2 + L_S**2 + 2 * L_A * L_S * c_s)
        + m_w * (L_s**2 + L_W**2 + 2 * L_s * L_W * c_w)
    )
    m12 = WEIGHT_INERTIA + L_W * m_w * (L_W + L_s * c_w)
    m13 = L_S * m_p * (L_S + L_A * c_s)
    m22 = WEIGHT_INERTIA + m_w * L_W**2
    m33 = m_p * L_S**2
    r1 = (
        g * ARM_CG * ARM_MASS * s_a
        + g * m_p * (L_A * s_a + L_S * torch.sin(q_a + q_s))
        - g * m_w * (L_s * s_a + L_W * torch.sin(q_a + q_w))
        - L_A * L_S * m_p * s_s * (w_a**2 - (w_a + w_s) ** 2)
        - L_s * L_W * m_w * s_w * (w_a**2 - (w_a + w_w) ** 2)
    )
    r2 = -L_W * m_w * (g * torch.sin(q_a + q_w) + L_s * s_w * w_a**2)
    r3 = L_S * m_p * (g * torch.sin(q_a + q_s) - L_A * s_s * w_a**2)
    d = m13 * m22 * m13 - m33 * (m11 * m22 - m12 * m12)
    alpha_a = -(r1 * m22 * m33 - r2 * m12 * m33 - r3 * m13 * m22) / d
    alpha_w = (r1 * m12 * m33 - r2 * (m11 * m33 - m13 * m13) - r3 * m13 * m12) / d
    alpha_s = (r1 * m22 * m13 - r2 * m12 * m13 - r3 * (m11 * m22 - m12 * m12)) / d
    return torch.stack((w_a, w_w, w_s, alpha_a, alpha_w, alpha_s))


def flight_derivative(u, wind):
    """Phase 3: ballistic flight with quadratic drag relative to the wind. State (x, y, v_x, v_y)."""
    _, _, vx, vy = u.unbind(0)
    return torch.stack((vx, vy, *_drag_acceleration(vx, vy, wind)))


def _drag_acceleration(vx, vy, wind):
    """`flight_derivative`'s (a_x, a_y), from the velocity's coordinates as separate tensors (the
    form trebuchet_fast's compiled chunks of flight steps fuse best)."""
    airspeed = torch.sqrt(vy**2 + (wind - vx) ** 2)
    ax = -DRAG_CONSTANT * (vx - wind) * airspeed
    ay = -GRAVITY - DRAG_CONSTANT * vy * airspeed
    return ax, ay


# ----------------------------------------------------------------------------------------------
# Event functions (docs/original-2019.md §1.6) of the state u interpolated at Θ in a step that began at u_start;
# `elapsed` = Θ·dt. Shapes broadcast: u (n, ...), u_start (n, ...), elapsed (...). u and u_start may
# also be sequences of n coordinates, as trebuchet_fast's compiled steps pass them.
# ----------------------------------------------------------------------------------------------
def sling_tension(u, u_start, elapsed):
    """Tension estimated from the projectile's mean x acceleration since the step's start.

    Zero where no time has elapsed, as in Trebuchet.jl: the estimate jumps at each step's start.
    """
    q_a, _, q_s, w_a, _, w_s = u
    q_a0, _, q_s0, w_a0, _, w_s0 = u_start
    vx, _ = sling_end_velocity(q_a, q_s, w_a, w_s)
    vx0, _ = sling_end_velocity(q_a0, q_s0, w_a0, w_s0)
    moved = elapsed > 0
    mean_accel = (vx - vx0) / torch.where(moved, elapsed, torch.ones_like(elapsed))
    phi = q_a + q_s - math.pi  # sling angle from vertical
    tension = -PROJECTILE_MASS * mean_accel / torch.sin(phi)
    return torch.where(moved, tension, torch.zeros_like(tension))


def liftoff_condition(u, u_start, elapsed, params):
    """g1 = m_P g − T cos φ: negative once the sling lifts the projectile."""
    phi = u[0] + u[2] - math.pi
    return PROJECTILE_MASS * GRAVITY - sling_tension(u, u_start, elapsed) * torch.cos(phi)


def release_condition(u, u_start, elapsed, params):
    """g2 = sin(∠V − r): zero when the projectile's velocity points along the release angle."""
    vx, vy = sling_end_velocity(u[0], u[2], u[3], u[5])
    return torch.sin(torch.atan2(vy, vx) - params["release_angle"])


def landing_condition(u, u_start, elapsed, params):
    """g3 = y + h: zero at ground level."""
    return u[1] + PIVOT_HEIGHT


def hermite(u0, u1, f0, f1, theta, dt):
    """OrdinaryDiffEq's cubic Hermite dense output on one step, at Θ ∈ [0, 1]."""
    return (1 - theta) * u0 + theta * u1 + theta * (theta - 1) * (
        (1 - 2 * theta) * (u1 - u0) + (theta - 1) * dt * f0 + theta * dt * f1
    )


# ----------------------------------------------------------------------------------------------
# Integration with event location (docs/original-2019.md §1.7)
# ----------------------------------------------------------------------------------------------
@dataclass
class _Steps:
    """Where each throw of a batch ended a phase, before its event is located."""

    u_last: torch.Tensor  # state at the start of the step holding the event (B, n)
    steps: torch.Tensor  # Euler steps from the phase's start to u_last (B,)
    lo: torch.Tensor  # bracket of the event in Θ (B,)
    hi: torch.Tensor
    found: torch.Tensor  # the event happened (B,)
    stopped: torch.Tensor  # the phase's stop rule fired instead (B,)
    u_stop: torch.Tensor  # state where it stopped (B, n)


def bracket(g):
    """DiffEqBase 5.4's event test on one step from g at Θ = 0, 1/9, ..., 1 (shape (10, B)).

    Returns (found, Θ_lo, Θ_hi): an event at the step's ends brackets [0, 1]; otherwise the first
    interior point whose sign differs from the start brackets [Θ_{i-1}, Θ_i].
    """
    prev = torch.sign(g[0])
    at_ends = (prev != 0) & (prev * torch.sign(g[-1]) <= 0)
    crossed = prev * torch.sign(g[1:]) < 0
    inside = crossed.any(dim=0) & ~at_ends
    first = (crossed.cumsum(dim=0) == 0).sum(dim=0)  # index into Θ_1..Θ_9 (faster than argmax across rows)
    n = INTERP_POINTS - 1
    lo = torch.where(inside, first.to(g.dtype) / n, torch.zeros_like(g[0]))
    hi = torch.where(inside, (first + 1).to(g.dtype) / n, torch.ones_like(g[0]))
    return at_ends | inside, lo, hi


def on_grid(condition, u0, u1, f0, f1, params):
    """The event function at Θ = 0, 1/9, ..., 1 of each row's step, shape (10, B).

    The interior points come from the cubic's power form, a + pΘ + qΘ² + rΘ³ as in Julia (the
    same polynomial as `hermite`, rounded differently; they only decide brackets). The ends are
    the step's own states, as DiffEqBase used integrator.uprev and integrator.u there. Grid-major,
    (n, 10, B), so that the batch stays the contiguous dimension of every elementwise kernel.
    """
    theta = torch.arange(INTERP_POINTS, dtype=u0.dtype, device=u0.device)[:, None] / (INTERP_POINTS - 1)  # i/9, as Julia
    inner = theta[1:-1]
    a, b, fa, fb = (x[:, None] for x in (u0, u1, f0, f1))
    p, q, r = DT * fa, 3 * (b - a) - DT * (2 * fa + fb), 2 * (a - b) + DT * (fa + fb)
    u = torch.cat((a, a + p * inner + q * (inner * inner) + r * (inner * inner * inner), b), dim=1)
    fixed = {k: v[None] for k, v in params.items()}
    return condition(u, u0[:, None], theta * DT, fixed)


def _detached(params):
    return {k: v.detach() for k, v in params.items()}


def _condition_at(condition, plain, fixed, theta):
    """The event function at Θ of the step (u0, u1, f0, f1) = `plain`, interpolated."""
    return condition(hermite(*plain, theta, DT), plain[0], theta * DT, fixed)


def locate(condition, u0, u1, f0, f1, lo, hi, params):
    """Root Θ of the event function in [lo, hi], with its implicit derivative.

    Bisection without gradient to below an ulp keeps the side of the event's start, as the
    original's prevfloat did; then one Newton step with gradient, Θ − g(Θ)/g'(Θ) with g'(Θ)
    held constant, carries dΘ/dp = −(∂g/∂p)/(∂g/∂Θ). A root where g jumps instead of crossing
    zero (the grid-pinned lift-off) keeps no gradient, and so does a root where g's slope in Θ is
    exactly zero (the implicit derivative would divide by it), as in Julia.
    """
    plain = [x.detach() for x in (u0, u1, f0, f1)]
    fixed = _detached(params)

    def g_plain(theta):
        return _condition_at(condition, plain, fixed, theta)

    with torch.no_grad():
        sign_lo = torch.sign(g_plain(lo))
        for _ in range(ROOT_ITERATIONS):
            mid = (lo + hi) / 2
            same = torch.sign(g_plain(mid)) == sign_lo
            lo = torch.where(same, mid, lo)
            hi = torch.where(same, hi, mid)
        root = lo
        g_root = g_plain(root)
        jump = g_root.abs() > JUMP_TOLERANCE
    with torch.enable_grad():
        theta = root.clone().requires_grad_(True)
        (slope,) = torch.autograd.grad(g_plain(theta).sum(), theta)
    g_live = _condition_at(condition, (u0, u1, f0, f1), params, root)
    flat = jump | (slope == 0)
    safe_slope = torch.where(flat, torch.ones_like(slope), slope)
    newton = root - (g_live - g_root) / safe_slope  # value: the root; derivative: implicit
    return torch.where(flat, root, newton)


def integrate(derivative, condition, u_start, params, stop_rule=None, *, active=None, on_step=None):
    """Euler at dt = 1/60 for every active throw until its event, in lockstep.

    Each throw's grid starts at its own phase start, so lockstep step k is the k-th step of every
    throw's phase. A throw freezes once its event is bracketed (frozen rows must not run on into
    states where the equations break down, or their NaNs would poison the gradient). PyTorch
    only: `active` (default every throw) marks the throws that reached this phase; `on_step`
    receives the state after each step (trebuchet_trajectory records the path with it).
    """
    batch = u_start.shape[1]
    active = torch.ones(batch, dtype=torch.bool, device=u_start.device) if active is None else active
    u = u_start
    f = derivative(u, params)
    pending = active.clone()
    found = torch.zeros_like(active)
    stopped = torch.zeros_like(active)
    u_last = u_stop = u_start
    lo = hi = torch.zeros(batch, dtype=u_start.dtype, device=u_start.device)
    steps = torch.zeros(batch, dtype=torch.long, device=u_start.device)
    for step in range(int(round(MAX_PHASE_TIME * RATE))):
        if not bool(pending.any()):
            break
        u_next = u + DT * f
        f_next = derivative(u_next, params)
        with torch.no_grad():  # every row is tested and the result masked
            plain = [x.detach() for x in (u, u_next, f, f_next)]
            hit, hit_lo, hit_hi = bracket(on_grid(condition, *plain, _detached(params)))
            hit = hit & pending
            stop = stop_rule(plain[0], plain[1]) & pending & ~hit if stop_rule else None
        if bool(hit.any()):
            u_last = torch.where(hit, u, u_last)
            lo, hi = torch.where(hit, hit_lo, lo), torch.where(hit, hit_hi, hi)
            steps = torch.where(hit, step, steps)
            found = found | hit
            pending = pending & ~hit
        if stop is not None and bool(stop.any()):
            u_stop = torch.where(stop, u_next, u_stop)
            stopped = stopped | stop
            pending = pending & ~stop
        u = torch.where(pending, u_next, u)
        f = torch.where(pending, f_next, f)
        if on_step is not None and bool(pending.any()):
            on_step(u.detach())
    return _Steps(u_last, steps, lo, hi, found, stopped, u_stop)


def event(derivative, condition, ended, params):
    """State and time of each throw's event, differentiable, from where its phase ended.

    Only the throws whose event was found are computed (the others keep u_last and Θ = 0): a
    state a throw never reached can have an infinite derivative (a flight at zero airspeed), and
    masking it afterwards would still leave 0·∞ = NaN in the gradient.

    Float32 throws locate their events in float64, from their float32 state: the lift-off's
    event function divides a difference of velocities by the time since the step's start, and
    in float32 that leaves residuals of up to 1e-2 at its root, far above JUMP_TOLERANCE, so that
    nearly every lift-off would be taken for a jump and lose its gradient.
    """
    theta = torch.zeros_like(ended.lo)
    u_event = ended.u_last
    if bool(ended.found.any()):
        rows = ended.found.nonzero().squeeze(1)
        u0 = ended.u_last[:, rows].double()
        reached = {k: v[rows].double() for k, v in params.items()}
        f0 = derivative(u0, reached)
        u1 = u0 + DT * f0
        f1 = derivative(u1, reached)
        root = locate(condition, u0, u1, f0, f1, ended.lo[rows].double(), ended.hi[rows].double(), reached)
        theta = theta.index_put((rows,), root.to(theta.dtype))
        u_event = u_event.clone()
        u_event[:, rows] = hermite(u0, u1, f0, f1, root, DT).to(u_event.dtype)
    return u_event, (ended.steps.to(theta.dtype) + theta) * DT


def too_light(u, u_next):
    """Trebuchet.jl's discrete check after a ground step: the stored tension is negative."""
    dt = torch.full(u.shape[1:], DT, dtype=u.dtype, device=u.device)
    return sling_tension(u_next, u, dt) < 0


def below_ground_and_falling(u, u_next):
    """A projectile under ground level and moving down can never cross it again."""
    return (u_next[1] + PIVOT_HEIGHT < 0) & (u_next[3] <= 0)


# ----------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------
# Physical input ranges (check_inputs). Far beyond them the drag and inertia terms overflow
# and the distance turns NaN (winds of 1e200 m/s; counterweights from about 1e150 lb).
WIND_LIMIT = 150.0  # m/s, either way: above the strongest gust ever measured, 113 m/s
MAX_WEIGHT_LB = 1e6  # lb: 450 t, over a hundred times the heaviest counterweight any aimer uses


def check_inputs(wind, angle_deg, weight_lb):
    """Raise ValueError naming the first bad argument and its allowed range."""
    for name, value, rule, ok in (
        ("wind", wind, f"a finite number of m/s in [-{WIND_LIMIT:g}, {WIND_LIMIT:g}]", lambda v: v.abs() <= WIND_LIMIT),
        ("angle_deg", angle_deg, "finite and strictly between 0 and 90 degrees", lambda v: (v > 0) & (v < 90)),
        ("weight_lb", weight_lb, f"a finite, positive number of pounds, at most {MAX_WEIGHT_LB:g}", lambda v: (v > 0) & (v <= MAX_WEIGHT_LB)),
    ):
        v = value.detach()
        bad = ~torch.isfinite(v) | ~ok(v)
        if bool(bad.any()):
            example = v[bad].flatten()[0].item()
            count = int(bad.sum())
            more = f" ({count} bad values)" if count > 1 else ""
            raise ValueError(f"{name} must be {rule}; got {example!r}{more}")


def _as_tensors(wind, angle_deg, weight_lb, dtype=None):
    named = {"wind": wind, "angle_deg": angle_deg, "weight_lb": weight_lb}
    for name, v in named.items():
        if torch.is_tensor(v) and (v.is_complex() or (v.is_floating_point() and v.dtype not in DTYPES)):
            raise ValueError(f"{name} must be a real tensor of dtype float32 or float64; got {v.dtype}")
    if dtype is None:
        # Tensors keep their floating dtype; Python numbers and NumPy arrays become float64.
        floats = [v.dtype for v in (wind, angle_deg, weight_lb) if torch.is_tensor(v) and v.is_floating_point()]
        dtype = functools.reduce(torch.promote_types, floats) if floats else torch.float64
    elif dtype not in DTYPES:
        raise ValueError(f"dtype must be float32 or float64 (torch.float32, torch.float64); got {dtype}")
    values = []
    for name, v in named.items():
        try:
            values.append(torch.as_tensor(v, dtype=dtype))
        except (TypeError, ValueError, RuntimeError):
            raise ValueError(f"{name} must be a number or an array of numbers; got {type(v).__name__} {v!r:.60}") from None
    device = next((v.device for v in values if v.device.type != "cpu"), values[0].device)
    values = [v.to(dtype=dtype, device=device) for v in values]
    try:
        return torch.broadcast_tensors(*values)
    except RuntimeError:
        shapes = ", ".join(f"{name} {tuple(v.shape)}" for name, v in zip(named, values))
        raise ValueError(f"wind, angle_deg and weight_lb must broadcast to one batch shape; got shapes {shapes}") from None


def _on_ground(u, p):
    return ground_derivative(u, p["weight"])


def _in_sling(u, p):
    return hang_derivative(u, p["weight"])


def _in_flight(u, p):
    return flight_derivative(u, p["wind"])


def launch(wind, angle_deg, weight_lb, *, dtype=None):
    """Simulate a batch of throws; inputs broadcast together. Differentiable in all three.

    A throw that never lands gets a NaN distance; one whose weight is too light, the
    projectile's resting x (see "Throws that do not land" above). This is the reference: every
    phase, the flight too, through `integrate`, autograd recording each step.
    `trebuchet_fast.launch` runs the same throws faster (its eager path gives the same distances
    and gradients equal to rounding), compiled or on CUDA. PyTorch only: `dtype`.
    """
    shape, (wind, angle_deg, weight_lb) = _flat(wind, angle_deg, weight_lb, dtype)
    params = _launch_params(wind, angle_deg, weight_lb)
    u0 = initial_state(wind.dtype, batch_shape=wind.shape, device=wind.device)
    ground = integrate(_on_ground, liftoff_condition, u0, params, too_light)
    u_liftoff, t_ground = event(_on_ground, liftoff_condition, ground, params)
    hang = integrate(_in_sling, release_condition, u_liftoff, params, active=ground.found)
    u_release, t_hang = event(_in_sling, release_condition, hang, params)
    q_a, _, q_s, w_a, _, w_s = u_release.unbind(0)
    x, y = sling_end_position(q_a, q_s)
    vx, vy = sling_end_velocity(q_a, q_s, w_a, w_s)
    # Julia returns before the flight of a throw never released; a batch holds its row, which
    # must not start at rest (zero airspeed: an infinite slope, and NaN in the gradient).
    start = torch.where(hang.found, torch.stack((x, y, vx, vy)), _NOT_RELEASED.to(x)[:, None])
    flight = integrate(_in_flight, landing_condition, start, params, below_ground_and_falling, active=hang.found)
    u_landing, t_flight = event(_in_flight, landing_condition, flight, params)
    return _throw(shape, ground, t_ground, hang, t_hang, vx, vy, flight, u_landing, t_flight)


def shoot(wind, angle_deg, weight_lb, *, dtype=None):
    """Landing distance (m) of each throw; differentiable in wind, angle and weight.

    Inputs broadcast together; the result has their shape. Raises ValueError for out-of-range
    inputs and for throws that never land (counterweights from about 15.35 lb to 15.41–15.46 lb,
    by the angle, release the projectile below ground). Throws whose weight is too light to lift the projectile return its
    resting place, about 0.68 m, as Trebuchet.jl did. The reference, as `launch`.
    """
    result = launch(wind, angle_deg, weight_lb, dtype=dtype)
    _raise_if_never_lands(result.status, wind, angle_deg, weight_lb, dtype)
    return result.distance


# ----------------------------------------------------------------------------------------------
# The aiming task: the shots an aimer is given, when an aim throws at all, and how a miss is scored
# ----------------------------------------------------------------------------------------------
EVALUATION_SEED = 2019  # the fixed evaluation set draws from its own stream, never used in training
WIND_STD = 5.0  # m/s: wind ~ N(0, 5²), Gaussian as in the original
TARGET_RANGE = (20.0, 100.0)  # m: target ~ U(20, 100)
# A counterweight at or under this cannot throw (too light, or released below ground): such an aim,
# like an angle outside (0°, 90°), is no throw. It adds no loss in training (as the original's
# caught errors) and misses by the whole target in an evaluation.
MIN_WEIGHT_LB = 16.0


def shots(rng: np.random.Generator, n: int):
    """(winds, targets) of `n` shots: wind ~ N(0, WIND_STD²) m/s, target ~ U(TARGET_RANGE) m."""
    return WIND_STD * rng.standard_normal(n), rng.uniform(*TARGET_RANGE, n)


def evaluation_shots(n: int = 1000):
    """The fixed evaluation set: `shots` from the stream of EVALUATION_SEED."""
    return shots(np.random.default_rng(EVALUATION_SEED), n)


def valid_aim(angle, weight):
    """Whether an aim (angle in degrees, counterweight in lb) throws at all."""
    return (weight > MIN_WEIGHT_LB) & (angle > 0) & (angle < 90)


@torch.no_grad()
def throw_misses(winds, targets, angles, weights):
    """|distance − target| (m) of each throw aimed at (angles, weights), and whether it landed; a
    failed throw, or an aim that does not throw (`valid_aim`), misses by the whole target."""
    winds, targets, angles, weights = (torch.as_tensor(v, dtype=torch.float64) for v in (winds, targets, angles, weights))
    valid, angles, weights = placeholder_aim(angles, weights)
    result = launch(winds, angles, weights)
    landed = valid & (result.status == LANDED)
    return torch.where(landed, (result.distance - targets).abs(), targets), landed


def miss_metrics(miss, landed, targets) -> dict:
    """Mean absolute miss (m), mean and 95th-percentile relative miss (%), and the failed throws."""
    relative = 100 * miss / torch.as_tensor(targets, dtype=torch.float64, device=miss.device)
    return {
        "mean_abs_miss_m": miss.mean().item(),
        "mean_rel_miss_pct": relative.mean().item(),
        "p95_rel_miss_pct": torch.quantile(relative, 0.95).item(),
        "failed_throws": int((~landed).sum()),
    }


# ----------------------------------------------------------------------------------------------
# PyTorch only: the batch's result type, the dtypes it computes in, the batch's inputs and
# result, and whole-batch aiming
# ----------------------------------------------------------------------------------------------
@dataclass
class Throw:
    """Result of a batch of throws (Julia's `launch` returns a NamedTuple of these fields); every
    field has the batch's shape."""

    distance: torch.Tensor  # m from the pivot, differentiable
    status: torch.Tensor  # LANDED, TOO_LIGHT or NO_LANDING
    liftoff_time: torch.Tensor  # s
    release_time: torch.Tensor  # s
    landing_time: torch.Tensor  # s
    release_speed: torch.Tensor  # m/s


DTYPES = (torch.float32, torch.float64)
_NOT_RELEASED = torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=torch.float64)  # the flight start of a throw never released


def _flat(wind, angle_deg, weight_lb, dtype):
    """`launch`'s inputs checked, broadcast and flattened: (batch shape, flat inputs)."""
    wind, angle_deg, weight_lb = _as_tensors(wind, angle_deg, weight_lb, dtype)
    check_inputs(wind, angle_deg, weight_lb)
    # Contiguous: a compiled step (trebuchet_fast) is specialised to its inputs' strides, and a
    # column of a transposed (n, 3) array would compile it again.
    return wind.shape, tuple(x.reshape(-1).contiguous() for x in (wind, angle_deg, weight_lb))


def _launch_params(wind, angle_deg, weight_lb):
    return {"weight": weight_lb * POUND, "release_angle": torch.asin(torch.sin(torch.deg2rad(angle_deg))), "wind": wind}


def _throw(shape, ground, t_ground, hang, t_hang, vx, vy, flight, u_landing, t_flight):
    """The batch's `Throw` from where its phases ended: Julia's `launch` returns early where a
    phase ends a throw; a batch masks instead."""
    x_stop, _ = sling_end_position(ground.u_stop[0], ground.u_stop[2])
    nan = torch.full_like(t_ground, float("nan"))
    distance = torch.where(ground.stopped, x_stop, torch.where(flight.found, u_landing[0], nan))
    status = torch.full(t_ground.shape, NO_LANDING, dtype=torch.long, device=t_ground.device)
    status = torch.where(flight.found, LANDED, status)
    status = torch.where(ground.stopped, TOO_LIGHT, status)
    liftoff = t_ground
    release = liftoff + t_hang
    landing = release + t_flight
    return Throw(
        distance=distance.reshape(shape),
        status=status.reshape(shape),
        liftoff_time=torch.where(ground.found, liftoff, nan).reshape(shape),
        release_time=torch.where(hang.found, release, nan).reshape(shape),
        landing_time=torch.where(flight.found, landing, nan).reshape(shape),
        release_speed=torch.where(hang.found, torch.sqrt(vx**2 + vy**2), nan).reshape(shape),
    )


def _raise_if_never_lands(status, wind, angle_deg, weight_lb, dtype):
    """`shoot`'s error (Julia's `throw_no_landing`), naming the first throw that never lands."""
    never = status == NO_LANDING
    if bool(never.any()):
        w, a, m = (x.detach().expand(status.shape)[never][0].item() for x in _as_tensors(wind, angle_deg, weight_lb, dtype))
        raise ValueError(
            f"the throw at wind={w!r} m/s, angle_deg={a!r}, weight_lb={m!r} never lands "
            "(released below ground level or stuck for 60 s); the original simulator loops forever here"
        )


def placeholder_aim(angle, weight):
    """(valid, angle, weight) with every aim that does not throw replaced by (45°, 200 lb). A batch
    simulates every row, so such a row is thrown at a harmless aim whose result is then discarded
    (`torch.where` on `valid`), which keeps the batch whole and its gradients finite; Julia skips
    the row instead."""
    valid = valid_aim(angle, weight)
    return valid, torch.where(valid, angle, 45.0), torch.where(valid, weight, 200.0)
