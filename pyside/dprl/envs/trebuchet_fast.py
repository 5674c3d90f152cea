"""The trebuchet's fast paths: the speed code beside the reference it must agree with.

`envs/trebuchet.py` is the twin of `julia/src/trebuchet.jl`, and its `launch` the reference:
every phase, the flight included, goes through `integrate`, with autograd recording each step.
This module runs the same algorithm faster, and `launch` here picks the path (one switch):

- eager (the default for CPU tensors): the ground and hang phases through the reference's own
  `integrate` and `event`; the flight through `_Flight`, which runs its Euler steps without an
  autograd graph and sweeps back through them with the analytic Jacobian of `flight_derivative`
  (flight is about nine tenths of a throw's steps, and recording each for autograd costs a dozen
  graph nodes a step);
- `compiled=True`: every step, each chunk of flight steps (and of their adjoint), each chunk of
  the root bisection and each event's step through `torch.compile`;
- `kernel` (the default for CUDA tensors): the fused Triton kernel of `trebuchet_triton`.

The eager path's arithmetic is the reference's, so distances are identical and gradients agree
to rounding (the adjoint sums in another order); the compiled path's differs by Inductor's
reordering (see `launch`). tests/envs/test_trebuchet_fast.py compares each with the reference.
"""

from __future__ import annotations

import functools

import torch

from dprl.envs.trebuchet import (
    DRAG_CONSTANT,
    DT,
    INTERP_POINTS,
    JUMP_TOLERANCE,
    LANDED,
    MAX_PHASE_TIME,
    PIVOT_HEIGHT,
    RATE,
    ROOT_ITERATIONS,
    Throw,
    _condition_at,
    _detached,
    _drag_acceleration,
    _flat,
    _in_flight,
    _in_sling,
    _launch_params,
    _on_ground,
    _raise_if_never_lands,
    _Steps,
    _throw,
    below_ground_and_falling,
    bracket,
    flight_derivative,
    hermite,
    initial_state,
    landing_condition,
    liftoff_condition,
    on_grid,
    placeholder_aim,
    release_condition,
    sling_end_position,
    sling_end_velocity,
    too_light,
)
from dprl.envs.trebuchet import event as reference_event
from dprl.envs.trebuchet import integrate as reference_integrate

_BISECT_CHUNK = 8  # bisection steps per compiled call; divides ROOT_ITERATIONS
_FLIGHT_CHUNK = 8  # flight steps per call (`_flight_steps`); divides MAX_PHASE_TIME·RATE


# ----------------------------------------------------------------------------------------------
# torch.compile: each step compiled once per variant
# ----------------------------------------------------------------------------------------------
# Each compiled step is compiled again for every variant it meets: with or without autograd,
# ground or hang condition, float32 or float64, batch 1 (always specialised) or larger; past
# Dynamo's default limit of 8 a new variant runs eagerly for good, the slow path, silently.
_RECOMPILE_LIMIT = 64


@functools.cache
def _compiled(step):
    """`step` through torch.compile, compiled once per variant (shapes dynamic), with room for
    all the variants a caller meets (the limit applies to these steps only)."""
    compiled = torch.compile(step, dynamic=True)

    @functools.wraps(step)
    def call(*args):
        with torch._dynamo.config.patch(recompile_limit=_RECOMPILE_LIMIT):
            return compiled(*args)

    return call


# ----------------------------------------------------------------------------------------------
# Compiled integration and event location: the reference's `integrate`, `locate` and `event`,
# with each step, each chunk of the bisection and each event's step through `torch.compile`
# ----------------------------------------------------------------------------------------------
def _euler_step(derivative, condition, stop_rule, u, f, params, pending):
    """One lockstep step of `integrate` for torch.compile: the next state and its derivative, and
    the event test on the step for the pending rows (the others get hit = False). Every row is
    tested and the result masked, so that the shapes never change and the step is compiled once."""
    u_next = u + DT * f
    f_next = derivative(u_next, params)
    with torch.no_grad():
        plain = [x.detach() for x in (u, u_next, f, f_next)]
        hit, lo, hi = _bracket_pointwise(condition, *plain, _detached(params))
        hit = hit & pending
        stop = stop_rule(plain[0], plain[1]) & pending & ~hit if stop_rule else None
    return u_next, f_next, hit, lo, hi, stop


def _bracket_pointwise(condition, u0, u1, f0, f1, params):
    """`bracket(on_grid(condition, ...))` one grid point at a time, on (n, B) states: the same
    points and the same rule, written so that Inductor fuses the test into the step's loop over
    the batch (on_grid's (n, 10, B) grid and bracket's cumulative sum would each be kernels of
    their own, and the grid a buffer in memory). The states go coordinate by coordinate, as in
    `_bisect_pointwise`."""
    n = INTERP_POINTS - 1
    u0, u1, f0, f1 = (tuple(x.unbind(0)) for x in (u0, u1, f0, f1))
    power = [(DT * fa, 3 * (b - a) - DT * (2 * fa + fb), 2 * (a - b) + DT * (fa + fb)) for a, b, fa, fb in zip(u0, u1, f0, f1)]

    def g(i):
        theta = i / n
        if i == 0 or i == n:
            u = u0 if i == 0 else u1
        else:
            u = tuple(a + p * theta + q * (theta * theta) + r * (theta * theta * theta) for a, (p, q, r) in zip(u0, power))
        return condition(u, u0, torch.full_like(u0[0], theta * DT), params)

    prev = torch.sign(g(0))
    at_ends = (prev != 0) & (prev * torch.sign(g(n)) <= 0)
    inside = torch.zeros_like(at_ends)
    lo, hi = torch.zeros_like(u0[0]), torch.ones_like(u0[0])
    for i in range(n - 1, 0, -1):  # from the last interior point back, so that the first crossing wins
        crossed = prev * torch.sign(g(i)) < 0
        inside = inside | crossed
        lo, hi = torch.where(crossed, (i - 1) / n, lo), torch.where(crossed, i / n, hi)
    inside = inside & ~at_ends
    return at_ends | inside, torch.where(inside, lo, 0.0), torch.where(inside, hi, 1.0)


def integrate(derivative, condition, u_start, params, stop_rule=None, *, active=None):
    """The reference's `integrate` (same parameters, same bookkeeping) with each step compiled."""
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
    advance = _compiled(_euler_step)
    for step in range(int(round(MAX_PHASE_TIME * RATE))):
        if not bool(pending.any()):
            break
        u_next, f_next, hit, hit_lo, hit_hi, stop = advance(derivative, condition, stop_rule, u, f, params, pending)
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
    return _Steps(u_last, steps, lo, hi, found, stopped, u_stop)


def _bisect_pointwise(condition, columns, fixed, lo, hi, sign_lo, iterations):
    """`iterations` steps of `locate`'s bisection on the step's (u0, u1, f0, f1) as `columns`,
    each a tuple of (B,) coordinates: the interpolated state then stays coordinate by coordinate
    too, so that Inductor fuses the chunk into one loop over the batch and drops the coordinates
    the event function does not read (a stacked (n, B) state would be a buffer written at every
    step)."""
    u0 = columns[0]
    for _ in range(iterations):
        mid = (lo + hi) / 2
        u = tuple(hermite(a, b, fa, fb, mid, DT) for a, b, fa, fb in zip(*columns))
        same = torch.sign(condition(u, u0, mid * DT, fixed)) == sign_lo
        lo = torch.where(same, mid, lo)
        hi = torch.where(same, hi, mid)
    return lo, hi


def locate(condition, u0, u1, f0, f1, lo, hi, params):
    """The reference's `locate`, its bisection in compiled chunks of _BISECT_CHUNK steps (a
    compiled graph of all 56 takes minutes to build) and its event-function calls compiled."""
    plain = [x.detach() for x in (u0, u1, f0, f1)]
    fixed = _detached(params)
    condition_at = _compiled(_condition_at)

    def g_plain(theta):
        return condition_at(condition, plain, fixed, theta)

    with torch.no_grad():
        sign_lo = torch.sign(g_plain(lo))
        columns = [tuple(x.unbind(0)) for x in plain]
        for _ in range(ROOT_ITERATIONS // _BISECT_CHUNK):
            lo, hi = _compiled(_bisect_pointwise)(condition, columns, fixed, lo, hi, sign_lo, _BISECT_CHUNK)
        root = lo
        g_root = g_plain(root)
        jump = g_root.abs() > JUMP_TOLERANCE
    with torch.enable_grad():
        theta = root.clone().requires_grad_(True)
        (slope,) = torch.autograd.grad(g_plain(theta).sum(), theta)
    g_live = condition_at(condition, (u0, u1, f0, f1), params, root)
    flat = jump | (slope == 0)
    safe_slope = torch.where(flat, torch.ones_like(slope), slope)
    newton = root - (g_live - g_root) / safe_slope  # value: the root; derivative: implicit
    return torch.where(flat, root, newton)


def _event_step(derivative, u0, params):
    """The Euler step that holds an event, from its start u0: (f0, u1, f1), with gradient."""
    f0 = derivative(u0, params)
    u1 = u0 + DT * f0
    return f0, u1, derivative(u1, params)


def event(derivative, condition, ended, params):
    """The reference's `event` with its step, `locate` and the interpolation compiled."""
    theta = torch.zeros_like(ended.lo)
    u_event = ended.u_last
    if bool(ended.found.any()):
        rows = ended.found.nonzero().squeeze(1)
        u0 = ended.u_last[:, rows].double()
        reached = {k: v[rows].double() for k, v in params.items()}
        f0, u1, f1 = _compiled(_event_step)(derivative, u0, reached)
        root = locate(condition, u0, u1, f0, f1, ended.lo[rows].double(), ended.hi[rows].double(), reached)
        theta = theta.index_put((rows,), root.to(theta.dtype))
        u_event = u_event.clone()
        u_event[:, rows] = _compiled(hermite)(u0, u1, f0, f1, root, DT).to(u_event.dtype)
    return u_event, (ended.steps.to(theta.dtype) + theta) * DT


# ----------------------------------------------------------------------------------------------
# The flight with a hand-written adjoint
# ----------------------------------------------------------------------------------------------
def _flight_step(u, f, wind, pending):
    """One lockstep flight step of `_Flight`: the next state and its derivative, the rows whose
    step ends bracket the landing, and the rows that may graze the ground inside the step.

    DiffEqBase's test in two parts. A sign change of y + h between the step's ends brackets
    [0, 1]. Otherwise only a throw whose interpolant can dip to the ground needs the nine interior
    points. After an Euler step y1 - y0 = dt·v0, so the interpolant of y is the chord plus
    Θ²(Θ-1)·dt·(v1 - v0), never more than dt·|v1 - v0|/4 below it.
    """
    u_next = u + DT * f
    f_next = flight_derivative(u_next, wind)
    prev, next_ = u[1] + PIVOT_HEIGHT, u_next[1] + PIVOT_HEIGHT
    ends = pending & (prev != 0) & (torch.sign(prev) * torch.sign(next_) <= 0)
    sag = DT * (f_next[1] - f[1]).abs() / 4
    graze = pending & ~ends & (torch.minimum(prev, next_) - sag <= 1e-9)
    return u_next, f_next, ends, graze


def _flight_adjoint_step(vx, vy, wind, taken, l_x, l_y, l_vx, l_vy, grad_wind):
    """One step of `_Flight`'s adjoint sweep, backwards through the step that started at velocity
    (v_x, v_y); rows for which it was not `taken` keep their adjoints (dt = 0 there).

    u_{j+1} = u_j + dt f(u_j): the position adjoints stay put (f does not depend on x, y); the
    velocity adjoints pick up dt·(λ_pos + λ_vel·J_j).
    """
    step_size = DT * taken.to(wind.dtype)
    rel = vx - wind
    airspeed = torch.sqrt(vy**2 + rel**2)
    inverse = 1 / airspeed.clamp_min(1e-300)
    cross = -DRAG_CONSTANT * rel * vy * inverse  # ∂a_x/∂v_y = ∂a_y/∂v_x
    dax_dvx = -DRAG_CONSTANT * torch.addcmul(airspeed, rel * rel, inverse)
    day_dvy = -DRAG_CONSTANT * torch.addcmul(airspeed, vy * vy, inverse)
    # The drag depends on v_x − wind, so ∂f/∂wind = −∂f/∂v_x.
    grad_wind = grad_wind - step_size * torch.addcmul(l_vx * dax_dvx, l_vy, cross)
    along_vx = torch.addcmul(torch.addcmul(l_x, l_vx, dax_dvx), l_vy, cross)
    along_vy = torch.addcmul(torch.addcmul(l_y, l_vx, cross), l_vy, day_dvy)
    return torch.addcmul(l_vx, step_size, along_vx), torch.addcmul(l_vy, step_size, along_vy), grad_wind


def _flight_steps(u, f, wind, pending, found, stopped, u_last, lo, hi, steps, first, count):
    """`count` lockstep steps of `_Flight` from step number `first`, each with DiffEqBase's event
    test and the bookkeeping of the throws it ends. The interior points are computed only for
    the rows whose interpolant may graze the ground (`_flight_step`). Returns the state and
    derivative after the steps, the bookkeeping, and the velocities at the start of each step
    (v_x, v_y, v_x, ...), for the adjoint.
    """
    velocities = []
    for step in range(first, first + count):
        velocities += [u[2], u[3]]
        u_next, f_next, ends, graze = _flight_step(u, f, wind, pending)
        if bool(graze.any()):
            rows = graze.nonzero().squeeze(1)
            step_rows = [x[:, rows] for x in (u, u_next, f, f_next)]
            inside, inside_lo, inside_hi = bracket(on_grid(landing_condition, *step_rows, {}))
            hit_rows = rows[inside]
            ends[hit_rows] = True
            lo[hit_rows], hi[hit_rows] = inside_lo[inside], inside_hi[inside]
            stop = below_ground_and_falling(step_rows[0], step_rows[1]) & ~inside
            stopped[rows[stop]] = True
            pending[rows[stop]] = False
        if bool(ends.any()):
            u_last = torch.where(ends, u, u_last)
            hi = torch.where(ends & (hi == 0), 1.0, hi)  # rows bracketed at the ends: [0, 1]
            steps = torch.where(ends, step, steps)
            found = found | ends
            pending = pending & ~ends
        u, f = u_next, f_next  # no freezing needed: the adjoint stops at each row's own step
    return u, f, pending, found, stopped, u_last, lo, hi, steps, velocities


def _flight_steps_fused(x, y, vx, vy, wind, pending, found, lo, hi, steps, x_last, y_last, vx_last, vy_last, first, count):
    """`_flight_steps` for `torch.compile`, one call per chunk: Inductor fuses the chunk into one
    loop over the batch, the state in registers, when every coordinate comes and goes as a (B,)
    tensor of its own and nothing changes shape. It does not run the interior test: it only
    marks the rows whose interpolant may graze the ground in the chunk (`grazed`), for which
    `_Flight` runs the chunk again with `_flight_steps` (the dynamics do not depend on the
    bookkeeping, so every other row's result is already `_flight_steps`'s). `first` is a tensor.
    Returns the state and (a_x, a_y) after the chunk, the bookkeeping, the state at each row's
    event step and `grazed`; not the velocities of each step, which `_flight_adjoint_chunk`
    computes again.
    """
    ax, ay = _drag_acceleration(vx, vy, wind)
    grazed = torch.zeros_like(pending)
    for i in range(count):
        x_next, y_next, vx_next, vy_next = x + DT * vx, y + DT * vy, vx + DT * ax, vy + DT * ay
        ax_next, ay_next = _drag_acceleration(vx_next, vy_next, wind)
        # _flight_step's tests, coordinate by coordinate
        prev, next_ = y + PIVOT_HEIGHT, y_next + PIVOT_HEIGHT
        ends = pending & (prev != 0) & (torch.sign(prev) * torch.sign(next_) <= 0)
        sag = DT * (ay_next - ay).abs() / 4
        grazed = grazed | (pending & ~ends & (torch.minimum(prev, next_) - sag <= 1e-9))
        x_last, y_last = torch.where(ends, x, x_last), torch.where(ends, y, y_last)
        vx_last, vy_last = torch.where(ends, vx, vx_last), torch.where(ends, vy, vy_last)
        hi = torch.where(ends, 1.0, hi)  # bracketed at the ends: [0, 1]
        steps = torch.where(ends, first + i, steps)
        found = found | ends
        pending = pending & ~ends
        x, y, vx, vy, ax, ay = x_next, y_next, vx_next, vy_next, ax_next, ay_next
    return x, y, vx, vy, ax, ay, pending, found, lo, hi, steps, x_last, y_last, vx_last, vy_last, grazed


def _flight_adjoint_steps(wind, first, steps, l_x, l_y, l_vx, l_vy, grad_wind, *velocities):
    """`_flight_adjoint_step` backwards through the steps `first`, `first` + 1, ... whose start
    velocities are `velocities` (v_x, v_y, v_x, ...)."""
    for j in range(len(velocities) // 2 - 1, -1, -1):
        vx, vy = velocities[2 * j], velocities[2 * j + 1]
        l_vx, l_vy, grad_wind = _flight_adjoint_step(vx, vy, wind, first + j < steps, l_x, l_y, l_vx, l_vy, grad_wind)
    return l_vx, l_vy, grad_wind


def _flight_adjoint_chunk(wind, first, steps, l_x, l_y, l_vx, l_vy, grad_wind, vx, vy, ax, ay):
    """`_flight_adjoint_steps` backwards through the _FLIGHT_CHUNK steps of a chunk that started
    at (v_x, v_y, a_x, a_y), for `torch.compile`: the chunk's velocities are computed again, by
    `_flight_steps_fused`'s arithmetic, in registers, rather than stored by the forward pass and
    read back (16 arrays a chunk)."""
    velocities = []
    for _ in range(_FLIGHT_CHUNK):
        velocities += [vx, vy]
        vx, vy = vx + DT * ax, vy + DT * ay
        ax, ay = _drag_acceleration(vx, vy, wind)
    return _flight_adjoint_steps(wind, first, steps, l_x, l_y, l_vx, l_vy, grad_wind, *velocities)


class _Flight(torch.autograd.Function):
    """Phase 3's Euler loop with a hand-written adjoint.

    Flight is about nine tenths of a throw's steps. Recording them for autograd costs a dozen
    graph nodes a step; this runs them without a graph and sweeps back through the stored
    velocities with the analytic Jacobian of `flight_derivative` instead. The arithmetic of the
    forward pass is that of `integrate`, so the values are identical. It runs in chunks of
    _FLIGHT_CHUNK steps: `_flight_steps` eager, storing each step's velocity;
    `_flight_steps_fused` compiled, storing each chunk's start, from which `_flight_adjoint_chunk`
    computes the velocities again.
    """

    @staticmethod
    def forward(ctx, u_start, wind, active, compiled):
        batch = u_start.shape[1]
        u = u_start.detach()  # as every later chunk's state: a compiled chunk is compiled once
        f = flight_derivative(u, wind)
        pending = active.clone()
        found = torch.zeros_like(active)
        stopped = torch.zeros_like(active)
        u_last = u_start.clone()
        lo = torch.zeros(batch, dtype=u_start.dtype, device=u_start.device)
        hi = torch.zeros_like(lo)
        steps = torch.zeros(batch, dtype=torch.long, device=u_start.device)
        chunks = []  # a chunk's velocities at the start of each step (v_x, v_y, ...); compiled: its start (v_x, v_y, a_x, a_y)
        fused = _compiled(_flight_steps_fused) if compiled else None
        if compiled:
            state, last = (*u.unbind(0), *f[2:].unbind(0)), list(u_last.unbind(0))
        for first in range(0, int(round(MAX_PHASE_TIME * RATE)), _FLIGHT_CHUNK):
            if not bool(pending.any()):
                break
            if not compiled:
                u, f, pending, found, stopped, u_last, lo, hi, steps, velocities = _flight_steps(
                    u, f, wind, pending, found, stopped, u_last, lo, hi, steps, first, _FLIGHT_CHUNK
                )
                chunks.append(velocities)
                continue
            # Coordinates stay separate (B,) tensors between chunks: stacking them costs copies.
            start = (state, pending, found, stopped, last, lo, hi, steps)
            chunks.append(state[2:])
            out = fused(*state[:4], wind, pending, found, lo, hi, steps, *last, torch.tensor(first, device=wind.device), _FLIGHT_CHUNK)
            state, (pending, found, lo, hi, steps), last, grazed = out[:6], out[6:11], list(out[11:15]), out[15]
            if bool(grazed.any()):
                rows = grazed.nonzero().squeeze(1)
                u0, f0 = torch.stack(start[0][:4])[:, rows], torch.stack((*start[0][2:4], *start[0][4:]))[:, rows]
                bookkeeping = [x[rows] for x in start[1:4]] + [torch.stack(start[4])[:, rows]] + [x[rows] for x in start[5:]]
                again = _flight_steps(u0, f0, wind[rows], *bookkeeping, first, _FLIGHT_CHUNK)
                for mine, theirs in zip((pending, found, stopped, lo, hi, steps), (*again[2:5], *again[6:9])):
                    mine[rows] = theirs
                for k in range(4):
                    last[k] = last[k].index_put((rows,), again[5][k])
        if compiled and chunks:
            u, u_last = torch.stack(state[:4]), torch.stack(last)
        taken = _FLIGHT_CHUNK * len(chunks)
        steps = torch.where(pending, taken, steps)
        u_last = torch.where(pending, u, u_last)
        ctx.save_for_backward(wind, steps, *(v for chunk in chunks for v in chunk))
        ctx.compiled = compiled
        ctx.mark_non_differentiable(steps, lo, hi, found, stopped)
        return u_last, steps, lo, hi, found, stopped

    @staticmethod
    def backward(ctx, grad_u_last, *_):
        wind, steps, *saved = ctx.saved_tensors
        l_x, l_y, l_vx, l_vy = grad_u_last.unbind(0)
        grad_wind = torch.zeros_like(wind)
        back = _compiled(_flight_adjoint_chunk) if ctx.compiled else _flight_adjoint_steps
        size = 4 if ctx.compiled else 2 * _FLIGHT_CHUNK  # tensors saved a chunk
        for k in range(len(saved) // size - 1, -1, -1):
            first = torch.tensor(k * _FLIGHT_CHUNK, device=wind.device)
            l_vx, l_vy, grad_wind = back(wind, first, steps, l_x, l_y, l_vx, l_vy, grad_wind, *saved[k * size:(k + 1) * size])
        return torch.stack((l_x, l_y, l_vx, l_vy)), grad_wind, None, None


def fly(u_start, params, *, active=None, compiled=False):
    """The reference's flight, `integrate(_in_flight, landing_condition, u_start, params,
    below_ground_and_falling, active=active)`, through `_Flight`: where each throw's flight ended."""
    if active is None:
        active = torch.ones(u_start.shape[1], dtype=torch.bool, device=u_start.device)
    u_last, steps, lo, hi, found, stopped = _Flight.apply(u_start, params["wind"], active, compiled)
    return _Steps(u_last, steps, lo, hi, found, stopped, u_last)


# ----------------------------------------------------------------------------------------------
# The fast launch: the reference's `launch`, `shoot` and `throw_misses` on the fastest path
# ----------------------------------------------------------------------------------------------
def launch(wind, angle_deg, weight_lb, *, dtype=None, compiled=False, kernel=None):
    """`trebuchet.launch` (same inputs, same `Throw`) on a fast path; differentiable in all three.

    The path (the one switch): CUDA tensors run the fused Triton kernel of `trebuchet_triton`
    (one thread a throw, forward-mode gradients) unless `kernel=False` or `compiled=True`;
    `kernel=True` insists on it. Its event times and release speed carry no gradient; the
    distance does. Otherwise `compiled=True` runs the compiled steps, and the default the eager
    steps with the flight's hand-written adjoint (see the module's docstring).

    `compiled=True` runs each ground and hang step, each chunk of _FLIGHT_CHUNK flight steps (and
    of their adjoint), each chunk of the root bisection and each event's step and event-function
    calls through `torch.compile`: the same algorithm, a step's few dozen elementwise kernels
    fused into a few, a chunk of flight steps into one loop over the batch. The first calls
    compile for about 5 minutes from an empty Inductor cache (300 s for the first gradient and
    forward call in float64 in comparisons/bench_stacks.py's last run, 2 more for float32;
    seconds once the on-disk cache is warm); then a gradient is 2.3–6.2× faster than eager on CPU
    from batch 4,096. Inductor reorders the arithmetic, so results differ from eager ones by
    rounding: on 16,384 seeded throws, distances by up to 4e-13 and gradients by up to 4e-7,
    relative. Inductor fits its kernels' threading to the batch of the first compiled call
    (with and without autograd each): make that a large batch. Compiled first at batch 64, a
    gradient at 65,536 ran 1.5× slower than compiled first at 16,384.
    """
    shape, (wind, angle_deg, weight_lb), kernel = _flat_inputs(wind, angle_deg, weight_lb, dtype, compiled, kernel)
    if kernel:
        from dprl.envs import trebuchet_triton

        fields = (x.reshape(shape) for x in trebuchet_triton.launch(wind, angle_deg, weight_lb))
        return Throw(*fields)
    steps, at_event = (integrate, event) if compiled else (reference_integrate, reference_event)
    params = _launch_params(wind, angle_deg, weight_lb)
    u0 = initial_state(wind.dtype, batch_shape=wind.shape, device=wind.device)
    ground = steps(_on_ground, liftoff_condition, u0, params, too_light)
    u_liftoff, t_ground = at_event(_on_ground, liftoff_condition, ground, params)
    hang = steps(_in_sling, release_condition, u_liftoff, params, active=ground.found)
    u_release, t_hang = at_event(_in_sling, release_condition, hang, params)
    q_a, _, q_s, w_a, _, w_s = u_release.unbind(0)
    x, y = sling_end_position(q_a, q_s)
    vx, vy = sling_end_velocity(q_a, q_s, w_a, w_s)
    flight = fly(torch.stack((x, y, vx, vy)), params, active=hang.found, compiled=compiled)
    u_landing, t_flight = at_event(_in_flight, landing_condition, flight, params)
    return _throw(shape, ground, t_ground, hang, t_hang, vx, vy, flight, u_landing, t_flight)


def shoot(wind, angle_deg, weight_lb, *, dtype=None, compiled=False, kernel=None):
    """`trebuchet.shoot` on the path of `launch` (`compiled`, `kernel`: as there)."""
    if kernel is False or (kernel is None and (compiled or not _on_cuda(wind, angle_deg, weight_lb))):
        result = launch(wind, angle_deg, weight_lb, dtype=dtype, compiled=compiled, kernel=False)
        distance, status = result.distance, result.status
    else:  # the kernel, without the event times
        from dprl.envs import trebuchet_triton

        shape, flat, _ = _flat_inputs(wind, angle_deg, weight_lb, dtype, compiled, kernel)
        distance, status = (x.reshape(shape) for x in trebuchet_triton.shoot(*flat))
    _raise_if_never_lands(status, wind, angle_deg, weight_lb, dtype)
    return distance


@torch.no_grad()
def throw_misses(winds, targets, angles, weights):
    """`trebuchet.throw_misses` through this module's `launch` (on CUDA, the kernel)."""
    winds, targets, angles, weights = (torch.as_tensor(v, dtype=torch.float64) for v in (winds, targets, angles, weights))
    valid, angles, weights = placeholder_aim(angles, weights)
    result = launch(winds, angles, weights)
    landed = valid & (result.status == LANDED)
    return torch.where(landed, (result.distance - targets).abs(), targets), landed


def _on_cuda(*values):
    return any(torch.is_tensor(v) and v.device.type == "cuda" for v in values)


def _flat_inputs(wind, angle_deg, weight_lb, dtype, compiled, kernel):
    """`launch`'s options and inputs checked, the inputs broadcast and flattened: (batch shape,
    flat inputs, whether the Triton kernel runs them)."""
    if not isinstance(compiled, bool):
        raise ValueError(f"compiled must be True or False; got {compiled!r}")
    if kernel not in (None, True, False):
        raise ValueError(f"kernel must be None (the Triton kernel for CUDA tensors), True or False; got {kernel!r}")
    if kernel and compiled:
        raise ValueError("kernel=True and compiled=True exclude each other: choose one fast path")
    shape, flat = _flat(wind, angle_deg, weight_lb, dtype)
    if kernel is None:
        kernel = flat[0].device.type == "cuda" and not compiled
    return shape, flat, kernel
