"""The trebuchet as one fused Triton kernel with forward-mode gradients: the path of
``trebuchet_fast.launch`` for CUDA tensors.

Speed code beside the reference it must agree with (``trebuchet.py``; the functions below follow
``julia/src/trebuchet.jl``'s order). One program lane runs one whole throw — ground, hang and
flight, with the same Euler steps, DiffEqBase event tests, bisection and Newton-corrected event
times as the reference — and carries the derivative of the distance with respect to (wind,
angle_deg, weight_lb) alongside, as ForwardDiff's dual numbers do in Julia's ``shoot_gradient``.
Nothing is stored per step: a throw costs its inputs, its outputs and the three partials, which
the autograd Function's backward multiplies by the incoming gradient.

Forward mode carries only the partials that can be non-zero: on the ground and in the sling the
state depends on the counterweight alone (one partial), the release adds the angle through the
release time, and flight adds the wind (three partials). That is exact, not an approximation:
the other partials are identically zero there.

Where the kernel's arithmetic differs from the reference's, the difference is rounding only:
- the release condition sin(atan2(v_y, v_x) − r) is computed as (v_y cos r − v_x sin r)/|v|, the
  same function (Triton has no float64 atan2 outside CUDA's libdevice, which its interpreter
  lacks, and the kernel must run there for the tests);
- float32 inputs are simulated in float64 and the results rounded to float32 (the reference
  integrates float32 throws in float32).

Throws are sorted by counterweight (quarter-pound buckets), then angle, before the launch, so that
the lanes of a warp run phases of similar lengths; each lane reads and writes its throw through
the permutation, so the results come back in the caller's order.
"""

from __future__ import annotations

import math

import torch
import triton
import triton.language as tl

from dprl.envs import trebuchet as ref

# ----------------------------------------------------------------------------------------------
# Constants: the reference's, as compile-time constants. Products of constants are formed here
# in the order the reference's Python evaluates them, so every rounding is the same.
# ----------------------------------------------------------------------------------------------
_m_p, _g = ref.PROJECTILE_MASS, ref.GRAVITY
_L_A, _L_s, _L_W, _L_S = ref.LONG_ARM, ref.SHORT_ARM, ref.WEIGHT_ARM, ref.SLING_LENGTH

POUND = tl.constexpr(ref.POUND)
PIVOT_HEIGHT = tl.constexpr(ref.PIVOT_HEIGHT)
L_A = tl.constexpr(_L_A)
L_s = tl.constexpr(_L_s)
L_W = tl.constexpr(_L_W)
L_S = tl.constexpr(_L_S)
NEG_L_A = tl.constexpr(-_L_A)
NEG_L_S = tl.constexpr(-_L_S)
NEG_L_W = tl.constexpr(-_L_W)
M_P = tl.constexpr(_m_p)
NEG_M_P = tl.constexpr(-_m_p)
GRAVITY = tl.constexpr(_g)
NEG_GRAVITY = tl.constexpr(-_g)
WEIGHT_INERTIA = tl.constexpr(ref.WEIGHT_INERTIA)
ARM_INERTIA = tl.constexpr(ref.ARM_INERTIA)
ARM_TERM = tl.constexpr(ref.ARM_MASS * ref.ARM_CG**2)
GROUND_M11_A = tl.constexpr(-_m_p * _L_A**2)  # × (−1 + 2 s_a c_s / σ)
M_P_L_A2 = tl.constexpr(_m_p * _L_A**2)
WEIGHT_ARMS2 = tl.constexpr(_L_s**2 + _L_W**2)
WEIGHT_ARMS_X = tl.constexpr(2 * _L_s * _L_W)
L_W2 = tl.constexpr(_L_W**2)
ARM_GRAVITY = tl.constexpr(_g * ref.ARM_CG * ref.ARM_MASS)
L_A_L_S_M_P = tl.constexpr(_L_A * _L_S * _m_p)
L_A_M_P = tl.constexpr(_L_A * _m_p)
L_s_L_W = tl.constexpr(_L_s * _L_W)
HANG_M11_CONST = tl.constexpr(ref.ARM_INERTIA + ref.WEIGHT_INERTIA + ref.ARM_MASS * ref.ARM_CG**2)
SLING_ARMS2 = tl.constexpr(_L_A**2 + _L_S**2)
SLING_ARMS_X = tl.constexpr(2 * _L_A * _L_S)
L_S_M_P = tl.constexpr(_L_S * _m_p)
M33 = tl.constexpr(_m_p * _L_S**2)
G_M_P = tl.constexpr(_g * _m_p)
WEIGHT_FORCE = tl.constexpr(ref.PROJECTILE_MASS * ref.GRAVITY)
DRAG = tl.constexpr(ref.DRAG_CONSTANT)
NEG_DRAG = tl.constexpr(-ref.DRAG_CONSTANT)
PI = tl.constexpr(math.pi)
DEG = tl.constexpr(math.pi / 180)
DT = tl.constexpr(ref.DT)
MAX_STEPS = tl.constexpr(int(round(ref.MAX_PHASE_TIME * ref.RATE)))
INTERP = tl.constexpr(ref.INTERP_POINTS - 1)  # n: the grid is Θ = i/n
ROOT_ITERATIONS = tl.constexpr(ref.ROOT_ITERATIONS)
JUMP_TOLERANCE = tl.constexpr(ref.JUMP_TOLERANCE)
_theta0 = math.asin(ref.PIVOT_HEIGHT / ref.LONG_ARM)
Q_ARM0 = tl.constexpr(math.pi / 2 + _theta0)
Q_WEIGHT0 = tl.constexpr(-(math.pi / 2 + _theta0))
Q_SLING0 = tl.constexpr(math.pi - _theta0)
LIFTOFF = tl.constexpr(0)  # which event function a sling phase tests
RELEASE = tl.constexpr(1)

# Rows of the kernel's output buffer.
_DISTANCE, _STATUS, _D_WIND, _D_ANGLE, _D_WEIGHT, _LIFTOFF, _RELEASE, _LANDING, _SPEED = range(9)


# ----------------------------------------------------------------------------------------------
# Dual-number arithmetic on (value, partial) pairs; the values round exactly as plain arithmetic.
# ----------------------------------------------------------------------------------------------
@triton.jit
def _mul(a, da, b, db):
    return a * b, da * b + a * db


@triton.jit
def _div(a, da, b, db):
    q = a / b
    return q, (da - q * db) / b


@triton.jit
def _larger(a, b):
    return tl.maximum(a, b)


@triton.jit
def _any(flags):
    """Whether any lane's flag is set. (tl.max is itself a jit function of Triton's, which runs
    in the interpreter only if Triton was imported with it on; tl.reduce is a builtin.)"""
    return tl.reduce(flags.to(tl.int32), 0, _larger) > 0


@triton.jit
def _sign(x):
    """torch.sign, NaN kept."""
    return tl.where(x > 0, 1.0, tl.where(x < 0, -1.0, x))


# ----------------------------------------------------------------------------------------------
# Geometry
# ----------------------------------------------------------------------------------------------
@triton.jit
def sling_end_position(q_a, q_s, dq_a, dq_s):
    """(x, y) and their partials."""
    s_a, c_a = tl.sin(q_a), tl.cos(q_a)
    both = q_a + q_s
    s_b, c_b = tl.sin(both), tl.cos(both)
    d_both = dq_a + dq_s
    x = NEG_L_A * s_a - L_S * s_b
    y = L_A * c_a + L_S * c_b
    dx = NEG_L_A * c_a * dq_a - L_S * c_b * d_both
    dy = -L_A * s_a * dq_a - L_S * s_b * d_both
    return x, y, dx, dy


@triton.jit
def sling_end_velocity(q_a, q_s, w_a, w_s, dq_a, dq_s, dw_a, dw_s):
    """(v_x, v_y) and their partials."""
    total = w_a + w_s
    d_total = dw_a + dw_s
    both = q_a + q_s
    s_b, c_b = tl.sin(both), tl.cos(both)
    s_a, c_a = tl.sin(q_a), tl.cos(q_a)
    d_both = dq_a + dq_s
    a = NEG_L_S * total
    b = L_A * w_a
    vx = a * c_b - b * c_a
    vy = a * s_b - b * s_a
    dvx = NEG_L_S * (d_total * c_b - total * s_b * d_both) - L_A * (dw_a * c_a - w_a * s_a * dq_a)
    dvy = NEG_L_S * (d_total * s_b + total * c_b * d_both) - L_A * (dw_a * s_a + w_a * c_a * dq_a)
    return vx, vy, dvx, dvy


@triton.jit
def _sling_end_vx(q_a, q_s, w_a, w_s):
    """`sling_end_velocity`'s v_x alone, without partials (the lift-off test's hot path)."""
    return NEG_L_S * (w_a + w_s) * tl.cos(q_a + q_s) - L_A * w_a * tl.cos(q_a)


# ----------------------------------------------------------------------------------------------
# Equations of motion, each with the partials of the derivative along the state's partials
# (d*) and the counterweight's (dm_w).
# ----------------------------------------------------------------------------------------------
@triton.jit
def ground_derivative(q_a, q_w, q_s, w_a, w_w, w_s, m_w, dq_a, dq_w, dq_s, dw_a, dw_w, dw_s, dm_w):
    s_a, c_a = tl.sin(q_a), tl.cos(q_a)
    s_s, c_s = tl.sin(q_s), tl.cos(q_s)
    s_w, c_w = tl.sin(q_w), tl.cos(q_w)
    ds_a, dc_a = c_a * dq_a, -s_a * dq_a
    ds_s, dc_s = c_s * dq_s, -s_s * dq_s
    ds_w, dc_w = c_w * dq_w, -s_w * dq_w
    sigma, kappa = tl.sin(q_a + q_s), tl.cos(q_a + q_s)
    dsigma, dkappa = kappa * (dq_a + dq_s), -sigma * (dq_a + dq_s)
    qaw = q_a + q_w
    s_aw = tl.sin(qaw)
    ds_aw = tl.cos(qaw) * (dq_a + dq_w)
    w_a2, dw_a2 = _mul(w_a, dw_a, w_a, dw_a)
    # k = κ w_S (w_S + 2 w_A)/σ + (κ/σ + L_A c_A/(L_S σ)) w_A²
    k1, dk1 = _mul(kappa, dkappa, w_s, dw_s)
    k1, dk1 = _mul(k1, dk1, w_s + 2 * w_a, dw_s + 2 * dw_a)
    k1, dk1 = _div(k1, dk1, sigma, dsigma)
    k2, dk2 = _div(kappa, dkappa, sigma, dsigma)
    k3, dk3 = _div(L_A * c_a, L_A * dc_a, L_S * sigma, L_S * dsigma)
    k4, dk4 = _mul(k2 + k3, dk2 + dk3, w_a2, dw_a2)
    k = k1 + k4
    dk = dk1 + dk4
    # m11
    a1, da1 = _mul(2 * s_a, 2 * ds_a, c_s, dc_s)
    a1, da1 = _div(a1, da1, sigma, dsigma)
    a2, da2 = _mul(s_a, ds_a, s_a, ds_a)
    sig2, dsig2 = _mul(sigma, dsigma, sigma, dsigma)
    a2, da2 = _div(M_P_L_A2 * a2, M_P_L_A2 * da2, sig2, dsig2)
    a3, da3 = _mul(m_w, dm_w, WEIGHT_ARMS2 + WEIGHT_ARMS_X * c_w, WEIGHT_ARMS_X * dc_w)
    m11 = GROUND_M11_A * (-1 + a1) + ARM_INERTIA + WEIGHT_INERTIA + ARM_TERM + a2 + a3
    dm11 = GROUND_M11_A * da1 + da2 + da3
    m12, dm12 = _mul(L_W * m_w, L_W * dm_w, L_W + L_s * c_w, L_s * dc_w)
    m12 = WEIGHT_INERTIA + m12
    m22 = WEIGHT_INERTIA + m_w * L_W2
    dm22 = dm_w * L_W2
    # r1
    t1 = ARM_GRAVITY * s_a
    dt1 = ARM_GRAVITY * ds_a
    ws2, dws2 = _mul(w_a + w_s, dw_a + dw_s, w_a + w_s, dw_a + dw_s)
    t2a, dt2a = _mul(s_s, ds_s, ws2, dws2)
    t2b, dt2b = _mul(c_s, dc_s, k, dk)
    t2 = L_A_L_S_M_P * (t2a + t2b)
    dt2 = L_A_L_S_M_P * (dt2a + dt2b)
    t3a, dt3a = _mul(L_A * s_s, L_A * ds_s, w_a2, dw_a2)
    t3b, dt3b = _mul(L_A_M_P * s_a, L_A_M_P * ds_a, t3a - L_S * k, dt3a - L_S * dk)
    t3, dt3 = _div(t3b, dt3b, sigma, dsigma)
    t4, dt4 = _mul(GRAVITY * m_w, GRAVITY * dm_w, L_s * s_a + L_W * s_aw, L_s * ds_a + L_W * ds_aw)
    ww2, dww2 = _mul(w_a + w_w, dw_a + dw_w, w_a + w_w, dw_a + dw_w)
    t5, dt5 = _mul(L_s_L_W * m_w, L_s_L_W * dm_w, s_w, ds_w)
    t5, dt5 = _mul(t5, dt5, w_a2 - ww2, dw_a2 - dww2)
    r1 = t1 + t2 + t3 - t4 - t5
    dr1 = dt1 + dt2 + dt3 - dt4 - dt5
    b1, db1 = _mul(L_s * s_w, L_s * ds_w, w_a2, dw_a2)
    r2, dr2 = _mul(NEG_L_W * m_w, NEG_L_W * dm_w, GRAVITY * s_aw + b1, GRAVITY * ds_aw + db1)
    # Solve the 2×2 system
    p1, dp1 = _mul(m11, dm11, m22, dm22)
    p2, dp2 = _mul(m12, dm12, m12, dm12)
    det = p1 - p2
    ddet = dp1 - dp2
    e1, de1 = _mul(r1, dr1, m22, dm22)
    e2, de2 = _mul(r2, dr2, m12, dm12)
    alpha_a, dalpha_a = _div(e1 - e2, de1 - de2, det, ddet)
    e3, de3 = _mul(r1, dr1, m12, dm12)
    e4, de4 = _mul(r2, dr2, m11, dm11)
    alpha_w, dalpha_w = _div(-(e3 - e4), -(de3 - de4), det, ddet)
    e5, de5 = _mul(L_A * s_a + L_S * sigma, L_A * ds_a + L_S * dsigma, alpha_a, dalpha_a)
    e5, de5 = _div(e5, de5, L_S * sigma, L_S * dsigma)
    alpha_s = -k - e5
    dalpha_s = -dk - de5
    return w_a, w_w, w_s, alpha_a, alpha_w, alpha_s, dw_a, dw_w, dw_s, dalpha_a, dalpha_w, dalpha_s


@triton.jit
def hang_derivative(q_a, q_w, q_s, w_a, w_w, w_s, m_w, dq_a, dq_w, dq_s, dw_a, dw_w, dw_s, dm_w):
    s_a, c_a = tl.sin(q_a), tl.cos(q_a)
    s_s, c_s = tl.sin(q_s), tl.cos(q_s)
    s_w, c_w = tl.sin(q_w), tl.cos(q_w)
    ds_a = c_a * dq_a
    ds_s, dc_s = c_s * dq_s, -s_s * dq_s
    ds_w, dc_w = c_w * dq_w, -s_w * dq_w
    qas, qaw = q_a + q_s, q_a + q_w
    s_as, s_aw = tl.sin(qas), tl.sin(qaw)
    ds_as, ds_aw = tl.cos(qas) * (dq_a + dq_s), tl.cos(qaw) * (dq_a + dq_w)
    w_a2, dw_a2 = _mul(w_a, dw_a, w_a, dw_a)
    a3, da3 = _mul(m_w, dm_w, WEIGHT_ARMS2 + WEIGHT_ARMS_X * c_w, WEIGHT_ARMS_X * dc_w)
    m11 = HANG_M11_CONST + M_P * (SLING_ARMS2 + SLING_ARMS_X * c_s) + a3
    dm11 = M_P * SLING_ARMS_X * dc_s + da3
    m12, dm12 = _mul(L_W * m_w, L_W * dm_w, L_W + L_s * c_w, L_s * dc_w)
    m12 = WEIGHT_INERTIA + m12
    m13 = L_S_M_P * (L_S + L_A * c_s)
    dm13 = L_S_M_P * L_A * dc_s
    m22 = WEIGHT_INERTIA + m_w * L_W2
    dm22 = dm_w * L_W2
    t1 = ARM_GRAVITY * s_a
    dt1 = ARM_GRAVITY * ds_a
    t2 = G_M_P * (L_A * s_a + L_S * s_as)
    dt2 = G_M_P * (L_A * ds_a + L_S * ds_as)
    t3, dt3 = _mul(GRAVITY * m_w, GRAVITY * dm_w, L_s * s_a + L_W * s_aw, L_s * ds_a + L_W * ds_aw)
    ws2, dws2 = _mul(w_a + w_s, dw_a + dw_s, w_a + w_s, dw_a + dw_s)
    t4, dt4 = _mul(L_A_L_S_M_P * s_s, L_A_L_S_M_P * ds_s, w_a2 - ws2, dw_a2 - dws2)
    ww2, dww2 = _mul(w_a + w_w, dw_a + dw_w, w_a + w_w, dw_a + dw_w)
    t5, dt5 = _mul(L_s_L_W * m_w, L_s_L_W * dm_w, s_w, ds_w)
    t5, dt5 = _mul(t5, dt5, w_a2 - ww2, dw_a2 - dww2)
    r1 = t1 + t2 - t3 - t4 - t5
    dr1 = dt1 + dt2 - dt3 - dt4 - dt5
    b1, db1 = _mul(L_s * s_w, L_s * ds_w, w_a2, dw_a2)
    r2, dr2 = _mul(NEG_L_W * m_w, NEG_L_W * dm_w, GRAVITY * s_aw + b1, GRAVITY * ds_aw + db1)
    b2, db2 = _mul(L_A * s_s, L_A * ds_s, w_a2, dw_a2)
    r3 = L_S_M_P * (GRAVITY * s_as - b2)
    dr3 = L_S_M_P * (GRAVITY * ds_as - db2)
    # d = m13 m22 m13 − m33 (m11 m22 − m12²)
    x1, dx1 = _mul(m13, dm13, m22, dm22)
    x1, dx1 = _mul(x1, dx1, m13, dm13)
    y1, dy1 = _mul(m11, dm11, m22, dm22)
    y2, dy2 = _mul(m12, dm12, m12, dm12)
    minor = y1 - y2
    dminor = dy1 - dy2
    d = x1 - M33 * minor
    dd = dx1 - M33 * dminor
    # α_A = −(r1 m22 m33 − r2 m12 m33 − r3 m13 m22)/d
    e1, de1 = _mul(r1, dr1, m22, dm22)
    e2, de2 = _mul(r2, dr2, m12, dm12)
    e3, de3 = _mul(r3, dr3, m13, dm13)
    e3, de3 = _mul(e3, de3, m22, dm22)
    alpha_a, dalpha_a = _div(-(e1 * M33 - e2 * M33 - e3), -(de1 * M33 - de2 * M33 - de3), d, dd)
    # α_W = (r1 m12 m33 − r2 (m11 m33 − m13²) − r3 m13 m12)/d
    f1, df1 = _mul(r1, dr1, m12, dm12)
    m13_2, dm13_2 = _mul(m13, dm13, m13, dm13)
    f2, df2 = _mul(r2, dr2, m11 * M33 - m13_2, dm11 * M33 - dm13_2)
    f3, df3 = _mul(r3, dr3, m13, dm13)
    f3, df3 = _mul(f3, df3, m12, dm12)
    alpha_w, dalpha_w = _div(f1 * M33 - f2 - f3, df1 * M33 - df2 - df3, d, dd)
    # α_S = (r1 m22 m13 − r2 m12 m13 − r3 (m11 m22 − m12²))/d
    g1, dg1 = _mul(e1, de1, m13, dm13)
    g2, dg2 = _mul(e2, de2, m13, dm13)
    g3, dg3 = _mul(r3, dr3, minor, dminor)
    alpha_s, dalpha_s = _div(g1 - g2 - g3, dg1 - dg2 - dg3, d, dd)
    return w_a, w_w, w_s, alpha_a, alpha_w, alpha_s, dw_a, dw_w, dw_s, dalpha_a, dalpha_w, dalpha_s


@triton.jit
def flight_derivative(vx, vy, wind, dvx, dvy, dwind):
    """(a_x, a_y) and their partials along one direction (dwind: the wind's partial, 0 or 1)."""
    rel = wind - vx
    airspeed = tl.sqrt(vy * vy + rel * rel)
    ax = NEG_DRAG * (vx - wind) * airspeed
    ay = NEG_GRAVITY - DRAG * vy * airspeed
    dair = (vy * dvy + rel * (dwind - dvx)) / airspeed
    dax = NEG_DRAG * ((dvx - dwind) * airspeed + (vx - wind) * dair)
    day = -DRAG * (dvy * airspeed + vy * dair)
    return ax, ay, dax, day


@triton.jit
def _drag(vx, vy, wind):
    """`flight_derivative`'s (a_x, a_y) without partials."""
    rel = wind - vx
    airspeed = tl.sqrt(vy * vy + rel * rel)
    return NEG_DRAG * (vx - wind) * airspeed, NEG_GRAVITY - DRAG * vy * airspeed


# ----------------------------------------------------------------------------------------------
# Event functions, on the coordinates they read: (q_A, q_S, ω_A, ω_S) of the state at Θ and of
# the step's start, `elapsed` = Θ·dt. Plain versions for the event tests and the bisection;
# `*_dual` ones with partials along one direction, for the event times' derivatives.
# ----------------------------------------------------------------------------------------------
@triton.jit
def sling_tension(q_a, q_s, w_a, w_s, vx0, elapsed):
    """The tension from the mean x acceleration since the step's start (v_x0 there); 0 where no
    time has elapsed."""
    vx = _sling_end_vx(q_a, q_s, w_a, w_s)
    moved = elapsed > 0
    mean_accel = (vx - vx0) / tl.where(moved, elapsed, 1.0)
    phi = q_a + q_s - PI
    tension = NEG_M_P * mean_accel / tl.sin(phi)
    return tl.where(moved, tension, 0.0)


@triton.jit
def liftoff_condition(q_a, q_s, w_a, w_s, vx0, elapsed, cos_r, sin_r):
    phi = q_a + q_s - PI
    return WEIGHT_FORCE - sling_tension(q_a, q_s, w_a, w_s, vx0, elapsed) * tl.cos(phi)


@triton.jit
def release_condition(q_a, q_s, w_a, w_s, vx0, elapsed, cos_r, sin_r):
    """sin(∠V − r) as (v_y cos r − v_x sin r)/|V| (see the module's docstring)."""
    zero = q_a * 0
    vx, vy, _, _ = sling_end_velocity(q_a, q_s, w_a, w_s, zero, zero, zero, zero)
    return (vy * cos_r - vx * sin_r) / tl.sqrt(vx * vx + vy * vy)


@triton.jit
def _liftoff_condition_dual(q_a, q_s, w_a, w_s, dq_a, dq_s, dw_a, dw_s,
                            q_a0, q_s0, w_a0, w_s0, dq_a0, dq_s0, dw_a0, dw_s0,
                            elapsed, delapsed, cos_r, sin_r, dr):
    vx, _, dvx, _ = sling_end_velocity(q_a, q_s, w_a, w_s, dq_a, dq_s, dw_a, dw_s)
    vx0, _, dvx0, _ = sling_end_velocity(q_a0, q_s0, w_a0, w_s0, dq_a0, dq_s0, dw_a0, dw_s0)
    moved = elapsed > 0
    span = tl.where(moved, elapsed, 1.0)
    mean_accel, dmean = _div(vx - vx0, dvx - dvx0, span, tl.where(moved, delapsed, 0.0))
    phi = q_a + q_s - PI
    dphi = dq_a + dq_s
    s_phi, c_phi = tl.sin(phi), tl.cos(phi)
    tension, dtension = _div(NEG_M_P * mean_accel, NEG_M_P * dmean, s_phi, c_phi * dphi)
    tension = tl.where(moved, tension, 0.0)
    dtension = tl.where(moved, dtension, 0.0)
    g = WEIGHT_FORCE - tension * c_phi
    dg = -(dtension * c_phi - tension * s_phi * dphi)
    return g, dg


@triton.jit
def _release_condition_dual(q_a, q_s, w_a, w_s, dq_a, dq_s, dw_a, dw_s,
                            q_a0, q_s0, w_a0, w_s0, dq_a0, dq_s0, dw_a0, dw_s0,
                            elapsed, delapsed, cos_r, sin_r, dr):
    vx, vy, dvx, dvy = sling_end_velocity(q_a, q_s, w_a, w_s, dq_a, dq_s, dw_a, dw_s)
    speed = tl.sqrt(vx * vx + vy * vy)
    dspeed = (vx * dvx + vy * dvy) / speed
    num = vy * cos_r - vx * sin_r
    dnum = dvy * cos_r - vy * sin_r * dr - dvx * sin_r - vx * cos_r * dr
    return _div(num, dnum, speed, dspeed)


@triton.jit
def hermite(u0, u1, f0, f1, theta):
    """OrdinaryDiffEq's cubic Hermite dense output at Θ (also the partials' map, being linear in
    the states)."""
    return (1 - theta) * u0 + theta * u1 + theta * (theta - 1) * (
        (1 - 2 * theta) * (u1 - u0) + (theta - 1) * DT * f0 + theta * DT * f1
    )


@triton.jit
def _hermite_slope(u0, u1, f0, f1, theta):
    """∂hermite/∂Θ."""
    inner = (1 - 2 * theta) * (u1 - u0) + (theta - 1) * DT * f0 + theta * DT * f1
    return u1 - u0 + (2 * theta - 1) * inner + theta * (theta - 1) * (2 * (u0 - u1) + DT * f0 + DT * f1)


# ----------------------------------------------------------------------------------------------
# Integration with event location
# ----------------------------------------------------------------------------------------------
@triton.jit
def _sling_condition(EVENT: tl.constexpr, q_a, q_s, w_a, w_s, vx0, elapsed, cos_r, sin_r):
    if EVENT == LIFTOFF:
        g = liftoff_condition(q_a, q_s, w_a, w_s, vx0, elapsed, cos_r, sin_r)
    else:
        g = release_condition(q_a, q_s, w_a, w_s, vx0, elapsed, cos_r, sin_r)
    return g


@triton.jit
def _power(a, b, fa, fb, theta: tl.constexpr):
    """The cubic's power form at a grid point, as `on_grid` evaluates it."""
    p = DT * fa
    q = 3 * (b - a) - DT * (2 * fa + fb)
    r = 2 * (a - b) + DT * (fa + fb)
    return a + p * theta + q * (theta * theta) + r * (theta * theta * theta)


@triton.jit
def on_grid_bracket(EVENT: tl.constexpr, a_q_a, a_q_s, a_w_a, a_w_s, b_q_a, b_q_s, b_w_a, b_w_s,
                    fa_q_a, fa_q_s, fa_w_a, fa_w_s, fb_q_a, fb_q_s, fb_w_a, fb_w_s, cos_r, sin_r):
    """`bracket(on_grid(...))` for a sling event: (found, Θ_lo, Θ_hi) of the step a → b."""
    vx0 = _sling_end_vx(a_q_a, a_q_s, a_w_a, a_w_s)
    zero = a_q_a * 0
    prev = _sign(_sling_condition(EVENT, a_q_a, a_q_s, a_w_a, a_w_s, vx0, zero, cos_r, sin_r))
    last = _sign(_sling_condition(EVENT, b_q_a, b_q_s, b_w_a, b_w_s, vx0, zero + DT, cos_r, sin_r))
    at_ends = (prev != 0) & (prev * last <= 0)
    inside = at_ends & False
    lo = zero
    hi = zero + 1.0
    for i in tl.static_range(INTERP - 1, 0, -1):  # from the last interior point back: the first crossing wins
        theta = i / INTERP
        g = _sling_condition(EVENT, _power(a_q_a, b_q_a, fa_q_a, fb_q_a, theta), _power(a_q_s, b_q_s, fa_q_s, fb_q_s, theta),
                             _power(a_w_a, b_w_a, fa_w_a, fb_w_a, theta), _power(a_w_s, b_w_s, fa_w_s, fb_w_s, theta),
                             vx0, zero + theta * DT, cos_r, sin_r)
        crossed = prev * _sign(g) < 0
        inside = inside | crossed
        lo = tl.where(crossed, zero + (i - 1) / INTERP, lo)
        hi = tl.where(crossed, zero + theta, hi)
    inside = inside & ~at_ends
    return at_ends | inside, tl.where(inside, lo, 0.0), tl.where(inside, hi, 1.0)


@triton.jit
def _sling_at(EVENT: tl.constexpr, u0_q_a, u0_q_s, u0_w_a, u0_w_s, u1_q_a, u1_q_s, u1_w_a, u1_w_s,
              f0_q_a, f0_q_s, f0_w_a, f0_w_s, f1_q_a, f1_q_s, f1_w_a, f1_w_s, vx0, theta, cos_r, sin_r):
    """The event function at Θ of the interpolated step."""
    return _sling_condition(EVENT, hermite(u0_q_a, u1_q_a, f0_q_a, f1_q_a, theta), hermite(u0_q_s, u1_q_s, f0_q_s, f1_q_s, theta),
                            hermite(u0_w_a, u1_w_a, f0_w_a, f1_w_a, theta), hermite(u0_w_s, u1_w_s, f0_w_s, f1_w_s, theta),
                            vx0, theta * DT, cos_r, sin_r)


@triton.jit
def _sling_condition_dual(EVENT: tl.constexpr, q_a, q_s, w_a, w_s, dq_a, dq_s, dw_a, dw_s,
                          q_a0, q_s0, w_a0, w_s0, dq_a0, dq_s0, dw_a0, dw_s0, elapsed, delapsed, cos_r, sin_r, dr):
    if EVENT == LIFTOFF:
        g, dg = _liftoff_condition_dual(q_a, q_s, w_a, w_s, dq_a, dq_s, dw_a, dw_s, q_a0, q_s0, w_a0, w_s0,
                                        dq_a0, dq_s0, dw_a0, dw_s0, elapsed, delapsed, cos_r, sin_r, dr)
    else:
        g, dg = _release_condition_dual(q_a, q_s, w_a, w_s, dq_a, dq_s, dw_a, dw_s, q_a0, q_s0, w_a0, w_s0,
                                        dq_a0, dq_s0, dw_a0, dw_s0, elapsed, delapsed, cos_r, sin_r, dr)
    return g, dg


@triton.jit
def locate_sling(EVENT: tl.constexpr, u0_q_a, u0_q_s, u0_w_a, u0_w_s, u1_q_a, u1_q_s, u1_w_a, u1_w_s,
                 f0_q_a, f0_q_s, f0_w_a, f0_w_s, f1_q_a, f1_q_s, f1_w_a, f1_w_s, lo, hi, cos_r, sin_r):
    """Root Θ of a sling event in [lo, hi] by bisection (plain numbers), and what its implicit
    derivative needs: `flat` (a jump, or a zero slope: no derivative) and the slope ∂g/∂Θ."""
    vx0 = _sling_end_vx(u0_q_a, u0_q_s, u0_w_a, u0_w_s)
    sign_lo = _sign(_sling_at(EVENT, u0_q_a, u0_q_s, u0_w_a, u0_w_s, u1_q_a, u1_q_s, u1_w_a, u1_w_s,
                              f0_q_a, f0_q_s, f0_w_a, f0_w_s, f1_q_a, f1_q_s, f1_w_a, f1_w_s, vx0, lo, cos_r, sin_r))
    for _ in range(ROOT_ITERATIONS):
        mid = (lo + hi) / 2
        g = _sling_at(EVENT, u0_q_a, u0_q_s, u0_w_a, u0_w_s, u1_q_a, u1_q_s, u1_w_a, u1_w_s,
                      f0_q_a, f0_q_s, f0_w_a, f0_w_s, f1_q_a, f1_q_s, f1_w_a, f1_w_s, vx0, mid, cos_r, sin_r)
        same = _sign(g) == sign_lo
        lo = tl.where(same, mid, lo)
        hi = tl.where(same, hi, mid)
    root = lo
    g_root = _sling_at(EVENT, u0_q_a, u0_q_s, u0_w_a, u0_w_s, u1_q_a, u1_q_s, u1_w_a, u1_w_s,
                       f0_q_a, f0_q_s, f0_w_a, f0_w_s, f1_q_a, f1_q_s, f1_w_a, f1_w_s, vx0, root, cos_r, sin_r)
    zero = root * 0
    _, slope = _sling_condition_dual(
        EVENT,
        hermite(u0_q_a, u1_q_a, f0_q_a, f1_q_a, root), hermite(u0_q_s, u1_q_s, f0_q_s, f1_q_s, root),
        hermite(u0_w_a, u1_w_a, f0_w_a, f1_w_a, root), hermite(u0_w_s, u1_w_s, f0_w_s, f1_w_s, root),
        _hermite_slope(u0_q_a, u1_q_a, f0_q_a, f1_q_a, root), _hermite_slope(u0_q_s, u1_q_s, f0_q_s, f1_q_s, root),
        _hermite_slope(u0_w_a, u1_w_a, f0_w_a, f1_w_a, root), _hermite_slope(u0_w_s, u1_w_s, f0_w_s, f1_w_s, root),
        u0_q_a, u0_q_s, u0_w_a, u0_w_s, zero, zero, zero, zero, root * DT, zero + DT, cos_r, sin_r, zero)
    flat = (tl.abs(g_root) > JUMP_TOLERANCE) | (slope == 0)
    return root, flat, tl.where(flat, 1.0, slope)


@triton.jit
def _sling_theta_partial(EVENT: tl.constexpr, root, flat, slope,
                         u0_q_a, u0_q_s, u0_w_a, u0_w_s, u1_q_a, u1_q_s, u1_w_a, u1_w_s,
                         f0_q_a, f0_q_s, f0_w_a, f0_w_s, f1_q_a, f1_q_s, f1_w_a, f1_w_s,
                         d0_q_a, d0_q_s, d0_w_a, d0_w_s, d1_q_a, d1_q_s, d1_w_a, d1_w_s,
                         e0_q_a, e0_q_s, e0_w_a, e0_w_s, e1_q_a, e1_q_s, e1_w_a, e1_w_s, cos_r, sin_r, dr):
    """dΘ along one direction = −(∂g/∂p)/(∂g/∂Θ), the Newton correction's derivative; d0, d1, e0,
    e1 are the partials of u0, u1, f0, f1 along it, dr the release angle's."""
    _, dg = _sling_condition_dual(
        EVENT,
        hermite(u0_q_a, u1_q_a, f0_q_a, f1_q_a, root), hermite(u0_q_s, u1_q_s, f0_q_s, f1_q_s, root),
        hermite(u0_w_a, u1_w_a, f0_w_a, f1_w_a, root), hermite(u0_w_s, u1_w_s, f0_w_s, f1_w_s, root),
        hermite(d0_q_a, d1_q_a, e0_q_a, e1_q_a, root), hermite(d0_q_s, d1_q_s, e0_q_s, e1_q_s, root),
        hermite(d0_w_a, d1_w_a, e0_w_a, e1_w_a, root), hermite(d0_w_s, d1_w_s, e0_w_s, e1_w_s, root),
        u0_q_a, u0_q_s, u0_w_a, u0_w_s, d0_q_a, d0_q_s, d0_w_a, d0_w_s, root * DT, root * 0, cos_r, sin_r, dr)
    return tl.where(flat, 0.0, -dg / slope)


@triton.jit
def _sling_derivative(EVENT: tl.constexpr, q_a, q_w, q_s, w_a, w_w, w_s, m_w, dq_a, dq_w, dq_s, dw_a, dw_w, dw_s, dm_w):
    if EVENT == LIFTOFF:
        out = ground_derivative(q_a, q_w, q_s, w_a, w_w, w_s, m_w, dq_a, dq_w, dq_s, dw_a, dw_w, dw_s, dm_w)
    else:
        out = hang_derivative(q_a, q_w, q_s, w_a, w_w, w_s, m_w, dq_a, dq_w, dq_s, dw_a, dw_w, dw_s, dm_w)
    return out


@triton.jit
def integrate_sling(EVENT: tl.constexpr, q_a, q_w, q_s, w_a, w_w, w_s, dq_a, dq_w, dq_s, dw_a, dw_w, dw_s,
                    m_w, dm_w, active, cos_r, sin_r):
    """Euler at dt = 1/60 on the ground (EVENT = LIFTOFF, with the too-light stop rule) or in the
    sling until the event. A throw freezes at the start of the step that holds its event (or that
    stopped it), so the state and derivative returned are that step's start."""
    f_q_a, f_q_w, f_q_s, f_w_a, f_w_w, f_w_s, df_q_a, df_q_w, df_q_s, df_w_a, df_w_w, df_w_s = _sling_derivative(
        EVENT, q_a, q_w, q_s, w_a, w_w, w_s, m_w, dq_a, dq_w, dq_s, dw_a, dw_w, dw_s, dm_w)
    pending = active
    found = active & False
    stopped = active & False
    zero = q_a * 0
    lo = zero
    hi = zero
    steps = (q_a * 0).to(tl.int32)
    step = 0
    while (step < MAX_STEPS) & _any(pending):
        n_q_a, n_q_w, n_q_s = q_a + DT * f_q_a, q_w + DT * f_q_w, q_s + DT * f_q_s
        n_w_a, n_w_w, n_w_s = w_a + DT * f_w_a, w_w + DT * f_w_w, w_s + DT * f_w_s
        dn_q_a, dn_q_w, dn_q_s = dq_a + DT * df_q_a, dq_w + DT * df_q_w, dq_s + DT * df_q_s
        dn_w_a, dn_w_w, dn_w_s = dw_a + DT * df_w_a, dw_w + DT * df_w_w, dw_s + DT * df_w_s
        g_q_a, g_q_w, g_q_s, g_w_a, g_w_w, g_w_s, dg_q_a, dg_q_w, dg_q_s, dg_w_a, dg_w_w, dg_w_s = _sling_derivative(
            EVENT, n_q_a, n_q_w, n_q_s, n_w_a, n_w_w, n_w_s, m_w, dn_q_a, dn_q_w, dn_q_s, dn_w_a, dn_w_w, dn_w_s, dm_w)
        hit, hit_lo, hit_hi = on_grid_bracket(EVENT, q_a, q_s, w_a, w_s, n_q_a, n_q_s, n_w_a, n_w_s,
                                              f_q_a, f_q_s, f_w_a, f_w_s, g_q_a, g_q_s, g_w_a, g_w_s, cos_r, sin_r)
        hit = hit & pending
        if EVENT == LIFTOFF:
            stop = too_light(q_a, q_s, w_a, w_s, n_q_a, n_q_s, n_w_a, n_w_s) & pending & ~hit
        else:
            stop = hit & False
        lo = tl.where(hit, hit_lo, lo)
        hi = tl.where(hit, hit_hi, hi)
        steps = tl.where(hit, step, steps)
        found = found | hit
        stopped = stopped | stop
        pending = pending & ~hit & ~stop
        q_a, q_w, q_s = tl.where(pending, n_q_a, q_a), tl.where(pending, n_q_w, q_w), tl.where(pending, n_q_s, q_s)
        w_a, w_w, w_s = tl.where(pending, n_w_a, w_a), tl.where(pending, n_w_w, w_w), tl.where(pending, n_w_s, w_s)
        dq_a, dq_w, dq_s = tl.where(pending, dn_q_a, dq_a), tl.where(pending, dn_q_w, dq_w), tl.where(pending, dn_q_s, dq_s)
        dw_a, dw_w, dw_s = tl.where(pending, dn_w_a, dw_a), tl.where(pending, dn_w_w, dw_w), tl.where(pending, dn_w_s, dw_s)
        f_q_a, f_q_w, f_q_s = tl.where(pending, g_q_a, f_q_a), tl.where(pending, g_q_w, f_q_w), tl.where(pending, g_q_s, f_q_s)
        f_w_a, f_w_w, f_w_s = tl.where(pending, g_w_a, f_w_a), tl.where(pending, g_w_w, f_w_w), tl.where(pending, g_w_s, f_w_s)
        df_q_a, df_q_w, df_q_s = tl.where(pending, dg_q_a, df_q_a), tl.where(pending, dg_q_w, df_q_w), tl.where(pending, dg_q_s, df_q_s)
        df_w_a, df_w_w, df_w_s = tl.where(pending, dg_w_a, df_w_a), tl.where(pending, dg_w_w, df_w_w), tl.where(pending, dg_w_s, df_w_s)
        step += 1
    return (q_a, q_w, q_s, w_a, w_w, w_s, dq_a, dq_w, dq_s, dw_a, dw_w, dw_s,
            f_q_a, f_q_w, f_q_s, f_w_a, f_w_w, f_w_s, df_q_a, df_q_w, df_q_s, df_w_a, df_w_w, df_w_s,
            found, stopped, lo, hi, steps)


@triton.jit
def too_light(q_a, q_s, w_a, w_s, n_q_a, n_q_s, n_w_a, n_w_s):
    """The stored tension after a ground step is negative."""
    vx0 = _sling_end_vx(q_a, q_s, w_a, w_s)
    return sling_tension(n_q_a, n_q_s, n_w_a, n_w_s, vx0, q_a * 0 + DT) < 0


@triton.jit
def _flight_partial_step(vx, vy, nvx, nvy, wind, dwind, dx, dy, dvx, dvy, dax, day):
    """One Euler step of the flight state's partials along one direction, and the partials of
    (a_x, a_y) at the step's end (velocity there: nvx, nvy)."""
    ndx, ndy, ndvx, ndvy = dx + DT * dvx, dy + DT * dvy, dvx + DT * dax, dvy + DT * day
    _, _, ndax, nday = flight_derivative(nvx, nvy, wind, ndvx, ndvy, dwind)
    return ndx, ndy, ndvx, ndvy, ndax, nday


@triton.jit
def integrate_flight(x, y, vx, vy, wind, active,
                     dx_0, dy_0, dvx_0, dvy_0, dx_1, dy_1, dvx_1, dvy_1, dx_2, dy_2, dvx_2, dvy_2):
    """Euler in flight until the landing (or below ground and falling, or the time limit), with
    the partials along wind (_0), angle (_1) and counterweight (_2); each throw freezes at the
    start of its landing step."""
    ax, ay = _drag(vx, vy, wind)
    zero = x * 0
    one = zero + 1.0
    _, _, dax_0, day_0 = flight_derivative(vx, vy, wind, dvx_0, dvy_0, one)
    _, _, dax_1, day_1 = flight_derivative(vx, vy, wind, dvx_1, dvy_1, zero)
    _, _, dax_2, day_2 = flight_derivative(vx, vy, wind, dvx_2, dvy_2, zero)
    pending = active
    found = active & False
    stopped = active & False
    lo = zero
    hi = zero
    steps = (x * 0).to(tl.int32)
    step = 0
    while (step < MAX_STEPS) & _any(pending):
        nx, ny, nvx, nvy = x + DT * vx, y + DT * vy, vx + DT * ax, vy + DT * ay
        nax, nay = _drag(nvx, nvy, wind)
        e_x_0, e_y_0, e_vx_0, e_vy_0, e_ax_0, e_ay_0 = _flight_partial_step(vx, vy, nvx, nvy, wind, one, dx_0, dy_0, dvx_0, dvy_0, dax_0, day_0)
        e_x_1, e_y_1, e_vx_1, e_vy_1, e_ax_1, e_ay_1 = _flight_partial_step(vx, vy, nvx, nvy, wind, zero, dx_1, dy_1, dvx_1, dvy_1, dax_1, day_1)
        e_x_2, e_y_2, e_vx_2, e_vy_2, e_ax_2, e_ay_2 = _flight_partial_step(vx, vy, nvx, nvy, wind, zero, dx_2, dy_2, dvx_2, dvy_2, dax_2, day_2)
        prev = y + PIVOT_HEIGHT
        next_ = ny + PIVOT_HEIGHT
        ends = pending & (prev != 0) & (_sign(prev) * _sign(next_) <= 0)
        # DiffEqBase's interior points matter only where the interpolant may dip to the ground:
        # after an Euler step it lies at most dt·|v_y1 − v_y0|/4 below the chord.
        sag = DT * tl.abs(nvy - vy) / 4
        graze = pending & ~ends & (tl.minimum(prev, next_) - sag <= 1e-9)
        if _any(graze):
            inside = graze & False
            in_lo = zero
            in_hi = zero + 1.0
            for i in tl.static_range(INTERP - 1, 0, -1):  # from the last point back: the first crossing wins
                theta = i / INTERP
                crossed = _sign(prev) * _sign(_power(y, ny, vy, nvy, theta) + PIVOT_HEIGHT) < 0
                inside = inside | crossed
                in_lo = tl.where(crossed, zero + (i - 1) / INTERP, in_lo)
                in_hi = tl.where(crossed, zero + theta, in_hi)
            inside = inside & graze
            ends = ends | inside
            lo = tl.where(inside, in_lo, lo)
            hi = tl.where(inside, in_hi, hi)
            stop = graze & ~inside & below_ground_and_falling(next_, nvy)
            stopped = stopped | stop
            pending = pending & ~stop
        hi = tl.where(ends & (hi == 0), 1.0, hi)
        steps = tl.where(ends, step, steps)
        found = found | ends
        pending = pending & ~ends
        x, y = tl.where(pending, nx, x), tl.where(pending, ny, y)
        vx, vy = tl.where(pending, nvx, vx), tl.where(pending, nvy, vy)
        ax, ay = tl.where(pending, nax, ax), tl.where(pending, nay, ay)
        dx_0, dy_0 = tl.where(pending, e_x_0, dx_0), tl.where(pending, e_y_0, dy_0)
        dvx_0, dvy_0 = tl.where(pending, e_vx_0, dvx_0), tl.where(pending, e_vy_0, dvy_0)
        dax_0, day_0 = tl.where(pending, e_ax_0, dax_0), tl.where(pending, e_ay_0, day_0)
        dx_1, dy_1 = tl.where(pending, e_x_1, dx_1), tl.where(pending, e_y_1, dy_1)
        dvx_1, dvy_1 = tl.where(pending, e_vx_1, dvx_1), tl.where(pending, e_vy_1, dvy_1)
        dax_1, day_1 = tl.where(pending, e_ax_1, dax_1), tl.where(pending, e_ay_1, day_1)
        dx_2, dy_2 = tl.where(pending, e_x_2, dx_2), tl.where(pending, e_y_2, dy_2)
        dvx_2, dvy_2 = tl.where(pending, e_vx_2, dvx_2), tl.where(pending, e_vy_2, dvy_2)
        dax_2, day_2 = tl.where(pending, e_ax_2, dax_2), tl.where(pending, e_ay_2, day_2)
        step += 1
    return (x, y, vx, vy, ax, ay, found, stopped, lo, hi, steps,
            dx_0, dy_0, dvx_0, dvy_0, dax_0, day_0, dx_1, dy_1, dvx_1, dvy_1, dax_1, day_1,
            dx_2, dy_2, dvx_2, dvy_2, dax_2, day_2)


@triton.jit
def below_ground_and_falling(next_height, next_vy):
    """A projectile under ground level (y + h < 0 at the step's end) and moving down."""
    return (next_height < 0) & (next_vy <= 0)


@triton.jit
def locate_landing(y0, y1, f0, f1, lo, hi):
    """Root Θ of y + h in [lo, hi] on the step's y coordinate, with `flat` and the slope."""
    sign_lo = _sign(hermite(y0, y1, f0, f1, lo) + PIVOT_HEIGHT)
    for _ in range(ROOT_ITERATIONS):
        mid = (lo + hi) / 2
        same = _sign(hermite(y0, y1, f0, f1, mid) + PIVOT_HEIGHT) == sign_lo
        lo = tl.where(same, mid, lo)
        hi = tl.where(same, hi, mid)
    root = lo
    g_root = hermite(y0, y1, f0, f1, root) + PIVOT_HEIGHT
    slope = _hermite_slope(y0, y1, f0, f1, root)
    flat = (tl.abs(g_root) > JUMP_TOLERANCE) | (slope == 0)
    return root, flat, tl.where(flat, 1.0, slope)


@triton.jit
def _landing_partial(vx, vy, ax, ay, root, flat, neg_inv, x_slope, dx, dy, dvx, dvy, dax, day):
    """The landing x's partial along one direction: through the landing step's states, and through
    the landing time, whose partial is −(∂g/∂p)/(∂g/∂Θ). The interpolants of x and y have the
    velocities as derivatives, so the step's end needs no new derivative evaluation."""
    dtheta = tl.where(flat, 0.0, hermite(dy, dy + DT * dvy, dvy, dvy + DT * day, root) * neg_inv)
    return hermite(dx, dx + DT * dvx, dvx, dvx + DT * dax, root) + x_slope * dtheta


@triton.jit
def event_sling(EVENT: tl.constexpr, q_a, q_w, q_s, w_a, w_w, w_s, dq_a, dq_w, dq_s, dw_a, dw_w, dw_s,
                f_q_a, f_q_w, f_q_s, f_w_a, f_w_w, f_w_s, df_q_a, df_q_w, df_q_s, df_w_a, df_w_w, df_w_s,
                m_w, dm_w, lo, hi, cos_r, sin_r):
    """The state at a sling event with its partials along the counterweight, and the root Θ,
    from the start of the step that holds it (u0 and f0 = derivative(u0))."""
    u1_q_a, u1_q_w, u1_q_s = q_a + DT * f_q_a, q_w + DT * f_q_w, q_s + DT * f_q_s
    u1_w_a, u1_w_w, u1_w_s = w_a + DT * f_w_a, w_w + DT * f_w_w, w_s + DT * f_w_s
    d1_q_a, d1_q_w, d1_q_s = dq_a + DT * df_q_a, dq_w + DT * df_q_w, dq_s + DT * df_q_s
    d1_w_a, d1_w_w, d1_w_s = dw_a + DT * df_w_a, dw_w + DT * df_w_w, dw_s + DT * df_w_s
    g_q_a, g_q_w, g_q_s, g_w_a, g_w_w, g_w_s, dg_q_a, dg_q_w, dg_q_s, dg_w_a, dg_w_w, dg_w_s = _sling_derivative(
        EVENT, u1_q_a, u1_q_w, u1_q_s, u1_w_a, u1_w_w, u1_w_s, m_w, d1_q_a, d1_q_w, d1_q_s, d1_w_a, d1_w_w, d1_w_s, dm_w)
    root, flat, slope = locate_sling(EVENT, q_a, q_s, w_a, w_s, u1_q_a, u1_q_s, u1_w_a, u1_w_s,
                                     f_q_a, f_q_s, f_w_a, f_w_s, g_q_a, g_q_s, g_w_a, g_w_s, lo, hi, cos_r, sin_r)
    zero = root * 0
    th = _sling_theta_partial(EVENT, root, flat, slope, q_a, q_s, w_a, w_s, u1_q_a, u1_q_s, u1_w_a, u1_w_s,
                              f_q_a, f_q_s, f_w_a, f_w_s, g_q_a, g_q_s, g_w_a, g_w_s,
                              dq_a, dq_s, dw_a, dw_s, d1_q_a, d1_q_s, d1_w_a, d1_w_s,
                              df_q_a, df_q_s, df_w_a, df_w_s, dg_q_a, dg_q_s, dg_w_a, dg_w_s, cos_r, sin_r, zero)
    e_q_a = hermite(q_a, u1_q_a, f_q_a, g_q_a, root)
    e_q_w = hermite(q_w, u1_q_w, f_q_w, g_q_w, root)
    e_q_s = hermite(q_s, u1_q_s, f_q_s, g_q_s, root)
    e_w_a = hermite(w_a, u1_w_a, f_w_a, g_w_a, root)
    e_w_w = hermite(w_w, u1_w_w, f_w_w, g_w_w, root)
    e_w_s = hermite(w_s, u1_w_s, f_w_s, g_w_s, root)
    de_q_a = hermite(dq_a, d1_q_a, df_q_a, dg_q_a, root) + _hermite_slope(q_a, u1_q_a, f_q_a, g_q_a, root) * th
    de_q_w = hermite(dq_w, d1_q_w, df_q_w, dg_q_w, root) + _hermite_slope(q_w, u1_q_w, f_q_w, g_q_w, root) * th
    de_q_s = hermite(dq_s, d1_q_s, df_q_s, dg_q_s, root) + _hermite_slope(q_s, u1_q_s, f_q_s, g_q_s, root) * th
    de_w_a = hermite(dw_a, d1_w_a, df_w_a, dg_w_a, root) + _hermite_slope(w_a, u1_w_a, f_w_a, g_w_a, root) * th
    de_w_w = hermite(dw_w, d1_w_w, df_w_w, dg_w_w, root) + _hermite_slope(w_w, u1_w_w, f_w_w, g_w_w, root) * th
    de_w_s = hermite(dw_s, d1_w_s, df_w_s, dg_w_s, root) + _hermite_slope(w_s, u1_w_s, f_w_s, g_w_s, root) * th
    return (e_q_a, e_q_w, e_q_s, e_w_a, e_w_w, e_w_s, de_q_a, de_q_w, de_q_s, de_w_a, de_w_w, de_w_s, root)


# ----------------------------------------------------------------------------------------------
# The kernel: one lane, one throw
# ----------------------------------------------------------------------------------------------
# One compiled variant for every batch: the batch size and whether to write the times are
# plain arguments, not specialised on (a compile takes tens of seconds).
@triton.jit(do_not_specialize=["n", "full"])
def _launch_kernel(order_ptr, wind_ptr, angle_ptr, weight_ptr, release_ptr, out_ptr, n, full, BLOCK: tl.constexpr):
    lane = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    live = lane < n
    row = tl.load(order_ptr + lane, mask=live, other=0)
    wind = tl.load(wind_ptr + row, mask=live, other=0.0)
    angle = tl.load(angle_ptr + row, mask=live, other=45.0)
    weight_lb = tl.load(weight_ptr + row, mask=live, other=200.0)
    release_angle = tl.load(release_ptr + row, mask=live, other=0.5)
    m_w = weight_lb * POUND
    dm_w = m_w * 0 + POUND  # ∂m_w/∂weight_lb
    cos_r, sin_r = tl.cos(release_angle), tl.sin(release_angle)
    # ∂r/∂angle_deg of r = asin(sin(angle·π/180)), as the reference's autograd forms it
    s_deg = tl.sin(angle * DEG)
    dr = DEG * tl.cos(angle * DEG) / tl.sqrt(1 - s_deg * s_deg)
    zero = wind * 0
    nan = zero + float("nan")

    # Phase 1: ground (partials along the counterweight)
    (q_a, q_w, q_s, w_a, w_w, w_s, dq_a, dq_w, dq_s, dw_a, dw_w, dw_s,
     f_q_a, f_q_w, f_q_s, f_w_a, f_w_w, f_w_s, df_q_a, df_q_w, df_q_s, df_w_a, df_w_w, df_w_s,
     g_found, g_stopped, lo, hi, g_steps) = integrate_sling(
        LIFTOFF, zero + Q_ARM0, zero + Q_WEIGHT0, zero + Q_SLING0, zero, zero, zero,
        zero, zero, zero, zero, zero, zero, m_w, dm_w, live, cos_r, sin_r)
    # Too light: the resting place, the state after the stopping step.
    x_stop, _, dx_stop, _ = sling_end_position(q_a + DT * f_q_a, q_s + DT * f_q_s, dq_a + DT * df_q_a, dq_s + DT * df_q_s)
    # Lift-off: the event's step, its root and the state there.
    (q_a, q_w, q_s, w_a, w_w, w_s, dq_a, dq_w, dq_s, dw_a, dw_w, dw_s, theta) = event_sling(
        LIFTOFF, q_a, q_w, q_s, w_a, w_w, w_s, dq_a, dq_w, dq_s, dw_a, dw_w, dw_s,
        f_q_a, f_q_w, f_q_s, f_w_a, f_w_w, f_w_s, df_q_a, df_q_w, df_q_s, df_w_a, df_w_w, df_w_s,
        m_w, dm_w, lo, hi, cos_r, sin_r)
    t_ground = (g_steps.to(tl.float64) + theta) * DT

    # Phase 2: hang (partials along the counterweight)
    (q_a, q_w, q_s, w_a, w_w, w_s, dq_a, dq_w, dq_s, dw_a, dw_w, dw_s,
     f_q_a, f_q_w, f_q_s, f_w_a, f_w_w, f_w_s, df_q_a, df_q_w, df_q_s, df_w_a, df_w_w, df_w_s,
     h_found, _, lo, hi, h_steps) = integrate_sling(
        RELEASE, q_a, q_w, q_s, w_a, w_w, w_s, dq_a, dq_w, dq_s, dw_a, dw_w, dw_s, m_w, dm_w, g_found, cos_r, sin_r)
    # Release: the root's partials along the counterweight and along the angle.
    u1_q_a, u1_q_s, u1_w_a, u1_w_s = q_a + DT * f_q_a, q_s + DT * f_q_s, w_a + DT * f_w_a, w_s + DT * f_w_s
    d1_q_a, d1_q_s, d1_w_a, d1_w_s = dq_a + DT * df_q_a, dq_s + DT * df_q_s, dw_a + DT * df_w_a, dw_s + DT * df_w_s
    _, _, _, g_w_a, g_w_w, g_w_s, _, _, _, dg_w_a, dg_w_w, dg_w_s = hang_derivative(
        u1_q_a, q_w + DT * f_q_w, u1_q_s, u1_w_a, w_w + DT * f_w_w, u1_w_s, m_w,
        d1_q_a, dq_w + DT * df_q_w, d1_q_s, d1_w_a, dw_w + DT * df_w_w, d1_w_s, dm_w)
    # f = (ω, α): the angles' derivatives at the step's end are its rates.
    g_q_a, g_q_s, dg_q_a, dg_q_s = u1_w_a, u1_w_s, d1_w_a, d1_w_s
    root, flat, slope = locate_sling(RELEASE, q_a, q_s, w_a, w_s, u1_q_a, u1_q_s, u1_w_a, u1_w_s,
                                     f_q_a, f_q_s, f_w_a, f_w_s, g_q_a, g_q_s, g_w_a, g_w_s, lo, hi, cos_r, sin_r)
    th_w = _sling_theta_partial(RELEASE, root, flat, slope, q_a, q_s, w_a, w_s, u1_q_a, u1_q_s, u1_w_a, u1_w_s,
                                f_q_a, f_q_s, f_w_a, f_w_s, g_q_a, g_q_s, g_w_a, g_w_s,
                                dq_a, dq_s, dw_a, dw_s, d1_q_a, d1_q_s, d1_w_a, d1_w_s,
                                df_q_a, df_q_s, df_w_a, df_w_s, dg_q_a, dg_q_s, dg_w_a, dg_w_s, cos_r, sin_r, zero)
    th_r = _sling_theta_partial(RELEASE, root, flat, slope, q_a, q_s, w_a, w_s, u1_q_a, u1_q_s, u1_w_a, u1_w_s,
                                f_q_a, f_q_s, f_w_a, f_w_s, g_q_a, g_q_s, g_w_a, g_w_s,
                                zero, zero, zero, zero, zero, zero, zero, zero,
                                zero, zero, zero, zero, zero, zero, zero, zero, cos_r, sin_r, dr)
    t_hang = (h_steps.to(tl.float64) + root) * DT
    r_q_a = hermite(q_a, u1_q_a, f_q_a, g_q_a, root)
    r_q_s = hermite(q_s, u1_q_s, f_q_s, g_q_s, root)
    r_w_a = hermite(w_a, u1_w_a, f_w_a, g_w_a, root)
    r_w_s = hermite(w_s, u1_w_s, f_w_s, g_w_s, root)
    s_q_a = _hermite_slope(q_a, u1_q_a, f_q_a, g_q_a, root)
    s_q_s = _hermite_slope(q_s, u1_q_s, f_q_s, g_q_s, root)
    s_w_a = _hermite_slope(w_a, u1_w_a, f_w_a, g_w_a, root)
    s_w_s = _hermite_slope(w_s, u1_w_s, f_w_s, g_w_s, root)
    # The release state's partials: along the counterweight, and along the angle (only through Θ).
    rw_q_a = hermite(dq_a, d1_q_a, df_q_a, dg_q_a, root) + s_q_a * th_w
    rw_q_s = hermite(dq_s, d1_q_s, df_q_s, dg_q_s, root) + s_q_s * th_w
    rw_w_a = hermite(dw_a, d1_w_a, df_w_a, dg_w_a, root) + s_w_a * th_w
    rw_w_s = hermite(dw_s, d1_w_s, df_w_s, dg_w_s, root) + s_w_s * th_w
    x, y, dx_w, dy_w = sling_end_position(r_q_a, r_q_s, rw_q_a, rw_q_s)
    vx, vy, dvx_w, dvy_w = sling_end_velocity(r_q_a, r_q_s, r_w_a, r_w_s, rw_q_a, rw_q_s, rw_w_a, rw_w_s)
    _, _, dx_r, dy_r = sling_end_position(r_q_a, r_q_s, s_q_a * th_r, s_q_s * th_r)
    _, _, dvx_r, dvy_r = sling_end_velocity(r_q_a, r_q_s, r_w_a, r_w_s, s_q_a * th_r, s_q_s * th_r, s_w_a * th_r, s_w_s * th_r)
    speed = tl.sqrt(vx * vx + vy * vy)

    # Phase 3: flight, with the partials along wind (_0), angle (_1) and counterweight (_2).
    (x, y, vx, vy, ax, ay, l_found, _, lo, hi, l_steps,
     dx_0, dy_0, dvx_0, dvy_0, dax_0, day_0, dx_1, dy_1, dvx_1, dvy_1, dax_1, day_1,
     dx_2, dy_2, dvx_2, dvy_2, dax_2, day_2) = integrate_flight(
        x, y, vx, vy, wind, h_found, zero, zero, zero, zero, dx_r, dy_r, dvx_r, dvy_r, dx_w, dy_w, dvx_w, dvy_w)
    # Landing: the root of y + h in the landing step, and the landing x.
    nvx, nvy = vx + DT * ax, vy + DT * ay
    root_l, flat_l, slope_l = locate_landing(y, y + DT * vy, vy, nvy, lo, hi)
    neg_inv = -1 / slope_l
    x_slope = _hermite_slope(x, x + DT * vx, vx, nvx, root_l)
    distance = hermite(x, x + DT * vx, vx, nvx, root_l)
    t_flight = (l_steps.to(tl.float64) + root_l) * DT
    d_wind = _landing_partial(vx, vy, ax, ay, root_l, flat_l, neg_inv, x_slope, dx_0, dy_0, dvx_0, dvy_0, dax_0, day_0)
    d_angle = _landing_partial(vx, vy, ax, ay, root_l, flat_l, neg_inv, x_slope, dx_1, dy_1, dvx_1, dvy_1, dax_1, day_1)
    d_weight = _landing_partial(vx, vy, ax, ay, root_l, flat_l, neg_inv, x_slope, dx_2, dy_2, dvx_2, dvy_2, dax_2, day_2)

    # Outputs, through the permutation
    distance = tl.where(g_stopped, x_stop, tl.where(l_found, distance, nan))
    d_weight = tl.where(g_stopped, dx_stop, tl.where(l_found, d_weight, 0.0))
    d_wind = tl.where(l_found & ~g_stopped, d_wind, 0.0)
    d_angle = tl.where(l_found & ~g_stopped, d_angle, 0.0)
    status = tl.where(g_stopped, 1.0, tl.where(l_found, 0.0, 2.0))
    liftoff = t_ground
    release = liftoff + t_hang
    landing = release + t_flight
    tl.store(out_ptr + 0 * n + row, distance, mask=live)
    tl.store(out_ptr + 1 * n + row, status, mask=live)
    tl.store(out_ptr + 2 * n + row, d_wind, mask=live)
    tl.store(out_ptr + 3 * n + row, d_angle, mask=live)
    tl.store(out_ptr + 4 * n + row, d_weight, mask=live)
    if full != 0:
        tl.store(out_ptr + 5 * n + row, tl.where(g_found, liftoff, nan), mask=live)
        tl.store(out_ptr + 6 * n + row, tl.where(h_found, release, nan), mask=live)
        tl.store(out_ptr + 7 * n + row, tl.where(l_found, landing, nan), mask=live)
        tl.store(out_ptr + 8 * n + row, tl.where(h_found, speed, nan), mask=live)


# ----------------------------------------------------------------------------------------------
# PyTorch only: the launch, its autograd Function, and the throws' grouping
# ----------------------------------------------------------------------------------------------
BLOCK = 32  # throws a program: one warp, so that a lane finishing early idles only its own warp
NUM_WARPS = 1
_ROWS_SHOOT = 5  # distance, status, three partials
_ROWS_LAUNCH = 9  # and lift-off, release and landing times, release speed


def interpreting() -> bool:
    """Whether Triton's interpreter runs this module's kernel (TRITON_INTERPRET=1 when it was
    imported): then it runs on CPU tensors, slowly, for tests."""
    return not hasattr(_launch_kernel, "warmup") or type(_launch_kernel).__name__ == "InterpretedFunction"


def _order(angle_deg, weight_lb):
    """A permutation grouping throws by counterweight (quarter-pound buckets), then angle: the
    ground and hang phases' lengths depend on the counterweight, the release on the angle too.
    The key is float32: the grouping only steers speed (each lane writes its own row), and sorting
    4-byte keys takes less device memory than 8-byte ones."""
    key = torch.floor(weight_lb.float() * 4) * 128 + angle_deg.float()  # angles lie in (0, 90)
    return torch.argsort(key)


def _run(wind, angle_deg, weight_lb, rows):
    """The kernel on flat, validated inputs of one dtype and device: a (rows, n) float64 buffer."""
    if wind.device.type != "cuda" and not interpreting():
        raise ValueError(f"the trebuchet kernel needs CUDA tensors (or TRITON_INTERPRET=1 for Triton's interpreter); got device {wind.device}")
    n = wind.numel()
    if n == 0:
        return torch.empty((rows, 0), dtype=torch.float64, device=wind.device)
    # Float32 throws are simulated in float64 (one compiled variant, and float64's accuracy).
    wind, angle_deg, weight_lb = (x.double() for x in (wind, angle_deg, weight_lb))
    # The release angle as the reference forms it (Triton has no float64 arcsine outside libdevice).
    release = torch.asin(torch.sin(torch.deg2rad(angle_deg)))
    order = _order(angle_deg, weight_lb)
    # Made after the sort, so that the sort's scratch memory and the output are not held at once.
    out = torch.empty((rows, n), dtype=torch.float64, device=wind.device)
    grid = (triton.cdiv(n, BLOCK),)
    # No fused multiply-adds: the reference rounds every product and sum, and the events are sign tests.
    _launch_kernel[grid](order, wind, angle_deg, weight_lb, release, out, n, int(rows == _ROWS_LAUNCH), BLOCK=BLOCK, num_warps=NUM_WARPS,
                         enable_fp_fusion=False)
    return out


class _Throws(torch.autograd.Function):
    """The kernel as an autograd Function: forward mode inside, so the backward pass is the
    incoming gradient times the stored partials."""

    @staticmethod
    def forward(ctx, wind, angle_deg, weight_lb, rows):
        out = _run(wind.detach(), angle_deg.detach(), weight_lb.detach(), rows)
        ctx.save_for_backward(out[_D_WIND:_D_WEIGHT + 1])
        ctx.dtypes = (wind.dtype, angle_deg.dtype, weight_lb.dtype)
        # Copies, not views: a caller holding a distance would otherwise hold the whole buffer,
        # which the graph frees after the backward pass.
        distance = out[_DISTANCE].to(wind.dtype, copy=True)
        rest = tuple(out[k].to(wind.dtype, copy=True) for k in range(_LIFTOFF, rows))
        status = out[_STATUS].to(torch.long)
        ctx.mark_non_differentiable(status, *rest)
        ctx.set_materialize_grads(False)  # no zero gradients made for the outputs that have none
        return (distance, status, *rest)

    @staticmethod
    def backward(ctx, grad_distance, *_):
        if grad_distance is None:
            return None, None, None, None
        (partials,) = ctx.saved_tensors
        grads = [(grad_distance * p).to(dtype) if needed else None
                 for p, dtype, needed in zip(partials, ctx.dtypes, ctx.needs_input_grad[:3])]
        return (*grads, None)


def launch(wind, angle_deg, weight_lb):
    """`trebuchet_fast.launch` on flat, validated inputs (one dtype and device): (distance, status,
    lift-off, release and landing times, release speed), flat, the distance differentiable."""
    return _Throws.apply(wind, angle_deg, weight_lb, _ROWS_LAUNCH)


def shoot(wind, angle_deg, weight_lb):
    """(distance, status) on flat, validated inputs: `launch` without the times, in less memory."""
    return _Throws.apply(wind, angle_deg, weight_lb, _ROWS_SHOOT)
