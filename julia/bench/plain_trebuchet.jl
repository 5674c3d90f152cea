"""
    PlainTrebuchet

The speed reference for `DPRL.Trebuchet`: the trebuchet of `docs/original-2019.md` §1.3–1.9
written the plain way, straight from the equations, for timing only (not part of DPRL, never
used for values). Scalars and tuples, Float64 or ForwardDiff duals, no event machinery shared
with DPRL: Euler at 1/60 s, DiffEqBase's ten-point Hermite event test, bisection of the root and
one Newton step on the duals for the event time's derivative (none at a jump).

`race(points, repeats)` times both implementations on the same throws in this process.
"""
module PlainTrebuchet

using ForwardDiff
using DPRL

const ft, lb = 0.3048, 0.45359237
const h, LA, Ls, LW, LS = 5ft, 6.792ft, 1.75ft, 2ft, 6.833ft
const mP, mA = 0.328lb, 10.65lb
const Lcg = (LA - Ls) / 2
const IA, IW = 1lb * ft^2, mA * (LA + Ls)^2 / 12  # the original's swapped inertias
const g = 9.80665
const kdrag = pi * (0.1245ft)^2 / (2mP)
const dt = 1 / 60
const nsteps = 3600

function ground(u, mW)
    qa, qw, qs, wa, ww, ws = u
    sa, ca, ss, cs, sw, cw = sin(qa), cos(qa), sin(qs), cos(qs), sin(qw), cos(qw)
    sg, kp = sin(qa + qs), cos(qa + qs)
    K = kp * ws * (ws + 2wa) / sg + (kp / sg + LA * ca / (LS * sg)) * wa^2
    M11 = -mP * LA^2 * (-1 + 2sa * cs / sg) + IA + IW + mA * Lcg^2 + mP * LA^2 * sa^2 / sg^2 + mW * (Ls^2 + LW^2 + 2Ls * LW * cw)
    M12 = IW + LW * mW * (LW + Ls * cw)
    M22 = IW + mW * LW^2
    r1 = g * Lcg * mA * sa + LA * LS * mP * (ss * (wa + ws)^2 + cs * K) + LA * mP * sa * (LA * ss * wa^2 - LS * K) / sg -
         g * mW * (Ls * sa + LW * sin(qa + qw)) - Ls * LW * mW * sw * (wa^2 - (wa + ww)^2)
    r2 = -LW * mW * (g * sin(qa + qw) + Ls * sw * wa^2)
    D = M11 * M22 - M12^2
    aa = (r1 * M22 - r2 * M12) / D
    return (wa, ww, ws, aa, -(r1 * M12 - r2 * M11) / D, -K - (LA * sa + LS * sg) * aa / (LS * sg))
end

function hang(u, mW)
    qa, qw, qs, wa, ww, ws = u
    sa, ss, cs, sw, cw = sin(qa), sin(qs), cos(qs), sin(qw), cos(qw)
    M11 = IA + IW + mA * Lcg^2 + mP * (LA^2 + LS^2 + 2LA * LS * cs) + mW * (Ls^2 + LW^2 + 2Ls * LW * cw)
    M12 = IW + LW * mW * (LW + Ls * cw)
    M13 = LS * mP * (LS + LA * cs)
    M22, M33 = IW + mW * LW^2, mP * LS^2
    r1 = g * Lcg * mA * sa + g * mP * (LA * sa + LS * sin(qa + qs)) - g * mW * (Ls * sa + LW * sin(qa + qw)) -
         LA * LS * mP * ss * (wa^2 - (wa + ws)^2) - Ls * LW * mW * sw * (wa^2 - (wa + ww)^2)
    r2 = -LW * mW * (g * sin(qa + qw) + Ls * sw * wa^2)
    r3 = LS * mP * (g * sin(qa + qs) - LA * ss * wa^2)
    D = M13^2 * M22 - M33 * (M11 * M22 - M12^2)
    return (wa, ww, ws, -(r1 * M22 * M33 - r2 * M12 * M33 - r3 * M13 * M22) / D,
            (r1 * M12 * M33 - r2 * (M11 * M33 - M13^2) - r3 * M13 * M12) / D,
            (r1 * M22 * M13 - r2 * M12 * M13 - r3 * (M11 * M22 - M12^2)) / D)
end

function flight(u, wind)
    vx, vy = u[3], u[4]
    s = sqrt(vy^2 + (wind - vx)^2)
    return (vx, vy, -kdrag * (vx - wind) * s, -g - kdrag * vy * s)
end

tip_x(u) = -LA * sin(u[1]) - LS * sin(u[1] + u[3])
tip_v(u) = (-LS * (u[4] + u[6]) * cos(u[1] + u[3]) - LA * u[4] * cos(u[1]),
            -LS * (u[4] + u[6]) * sin(u[1] + u[3]) - LA * u[4] * sin(u[1]))

# Event functions of the state u, τ seconds into a step that began at u0.
function liftoff(u, u0, τ, r)
    φ = u[1] + u[3] - pi
    τ > 0 || return mP * g + zero(u[1])
    T = -mP * ((tip_v(u)[1] - tip_v(u0)[1]) / τ) / sin(φ)
    return mP * g - T * cos(φ)
end
release(u, u0, τ, r) = (v = tip_v(u); sin(atan(v[2], v[1]) - r))
landing(u, u0, τ, r) = u[2] + h

herm(a, b, fa, fb, θ) = map((a, b, fa, fb) -> (1 - θ) * a + θ * b + θ * (θ - 1) * ((1 - 2θ) * (b - a) + (θ - 1) * dt * fa + θ * dt * fb), a, b, fa, fb)
val(x) = ForwardDiff.value(x)

"""Euler steps from u until the event is bracketed; (found, steps, u at the step's start, Θ bracket).
`stop(u, u_next)` ends the phase without an event."""
function phase(rhs::F, cond::G, u, p, r, stop::S) where {F, G, S}
    f = rhs(u, p)
    for n in 0:(nsteps - 1)
        un = map((a, b) -> a + dt * b, u, f)
        fn = rhs(un, p)
        a, b, fa, fb = map(val, u), map(val, un), map(val, f), map(val, fn)
        g0, rv = cond(a, a, 0.0, val(r)), val(r)
        if g0 != 0 && g0 * cond(b, a, dt, rv) <= 0
            return true, n, u, 0.0, 1.0
        end
        for i in 1:9
            gi = i == 9 ? cond(b, a, dt, rv) : cond(herm(a, b, fa, fb, i / 9), a, i / 9 * dt, rv)
            sign(g0) * sign(gi) < 0 && return true, n, u, (i - 1) / 9, i / 9
        end
        stop(a, b) && return false, n, un, 0.0, 0.0
        u, f = un, fn
    end
    return false, nsteps, u, 0.0, 0.0
end

"""Event state and time: bisection on the values, then one Newton step on the duals."""
function locate(rhs::F, cond::G, n, u0, lo, hi, p, r) where {F, G}
    f0 = rhs(u0, p)
    u1 = map((a, b) -> a + dt * b, u0, f0)
    f1 = rhs(u1, p)
    a, b, fa, fb, rv = map(val, u0), map(val, u1), map(val, f0), map(val, f1), val(r)
    gv(θ) = cond(herm(a, b, fa, fb, θ), a, θ * dt, rv)
    s0 = sign(gv(lo))
    for _ in 1:56
        mid = (lo + hi) / 2
        sign(gv(mid)) == s0 ? (lo = mid) : (hi = mid)
    end
    θ = lo + zero(u0[1])
    gθ = gv(lo)
    if abs(gθ) <= 1e-6
        slope = ForwardDiff.derivative(gv, lo)
        slope != 0 && (θ = lo - (cond(herm(u0, u1, f0, f1, lo), u0, lo * dt, r) - gθ) / slope)
    end
    return herm(u0, u1, f0, f1, θ), (n + θ) * dt
end

"""Landing distance (m), NaN when the throw never lands; the resting x when the weight is too light."""
function distance(wind, angle_deg, weight_lb)
    T = promote_type(typeof(wind), typeof(angle_deg), typeof(weight_lb))
    mW, r = T(weight_lb) * lb, asin(sin(deg2rad(T(angle_deg))))
    θ0 = asin(h / LA)
    u = (T(pi / 2 + θ0), T(-(pi / 2 + θ0)), T(pi - θ0), zero(T), zero(T), zero(T))
    too_light(a, b) = -mP * ((tip_v(b)[1] - tip_v(a)[1]) / dt) / sin(b[1] + b[3] - pi) < 0
    found, n, u, lo, hi = phase(ground, liftoff, u, mW, r, too_light)
    found || return n < nsteps ? tip_x(u) : T(NaN)
    u, _ = locate(ground, liftoff, n, u, lo, hi, mW, r)
    found, n, u, lo, hi = phase(hang, release, u, mW, r, (a, b) -> false)
    found || return T(NaN)
    u, _ = locate(hang, release, n, u, lo, hi, mW, r)
    v = tip_v(u)
    y = (tip_x(u), LA * cos(u[1]) + LS * cos(u[1] + u[3]), v[1], v[2])
    falling(a, b) = b[2] + h < 0 && b[4] <= 0
    found, n, y, lo, hi = phase(flight, landing, y, T(wind), r, falling)
    found || return T(NaN)
    y, _ = locate(flight, landing, n, y, lo, hi, T(wind), r)
    return y[1]
end

gradient(w, a, m) = ForwardDiff.gradient(p -> distance(p[1], p[2], p[3]), [w, a, m])

"""Seconds per throw, forward and gradient, for the plain reference and for DPRL, on the rows
(wind, angle_deg, weight_lb) of `points`; the best of `repeats` passes each, and the bytes one
forward throw allocates in each."""
function race(points::AbstractMatrix, repeats::Integer = 3)
    rows = [(Float64(points[i, 1]), Float64(points[i, 2]), Float64(points[i, 3])) for i in axes(points, 1)]
    best(f) = (f(); minimum(@elapsed(f()) for _ in 1:repeats) / length(rows))
    plain_fwd = best(() -> foreach(p -> distance(p...), rows))
    plain_grad = best(() -> foreach(p -> gradient(p...), rows))
    dprl_fwd = best(() -> foreach(p -> DPRL.Trebuchet.launch(p...), rows))
    dprl_grad = best(() -> foreach(p -> DPRL.Trebuchet.launch_gradient(p...), rows))
    p = rows[1]
    return Dict("plain_forward_s" => plain_fwd, "plain_gradient_s" => plain_grad,
                "dprl_forward_s" => dprl_fwd, "dprl_gradient_s" => dprl_grad,
                "plain_forward_bytes" => (distance(p...); @allocated distance(p...)),
                "dprl_forward_bytes" => (DPRL.Trebuchet.launch(p...); @allocated DPRL.Trebuchet.launch(p...)),
                "plain_gradient_bytes" => (gradient(p...); @allocated gradient(p...)),
                "dprl_gradient_bytes" => (DPRL.Trebuchet.launch_gradient(p...); @allocated DPRL.Trebuchet.launch_gradient(p...)))
end

end # module
