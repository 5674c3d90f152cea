"""The trebuchet's fast paths (`trebuchet_fast`) against the reference (`trebuchet`, the twin of
julia/src/trebuchet.jl): values and gradients in float64. The CUDA kernel's own checks are in
test_trebuchet_triton.py."""

import numpy as np
import pytest
import torch

from dprl.envs import trebuchet, trebuchet_fast

FIELDS = ("distance", "liftoff_time", "release_time", "landing_time", "release_speed")


def edge_throws():
    """Seeded throws and every kind of ending: the blog's point, a lift-off inside a step, too
    light to lift off, released below ground (never lands; its flight grazes the ground, which
    the fast flight tests apart from the other rows), just landing, and heavy counterweights."""
    rng = np.random.default_rng(27)
    seeded = np.column_stack([5 * rng.standard_normal(24), rng.uniform(15, 75, 24), rng.uniform(50, 400, 24)])
    edges = [(-2.0, 45.0, 200.0), (3.0, 40.0, 180.0), (0.0, 45.0, 8.0), (0.0, 45.0, 15.38), (0.0, 30.0, 15.40),
             (0.0, 45.0, 15.46), (4.0, 60.0, 600.0), (-8.0, 80.0, 3000.0)]
    return np.vstack([seeded, edges])


def launch_with_gradient(launch, rows, **options):
    leaves = [torch.tensor(c, dtype=torch.float64, requires_grad=True) for c in rows.T]
    throw = launch(*leaves, **options)
    landed = torch.where(torch.isfinite(throw.distance), throw.distance, torch.zeros_like(throw.distance))
    return throw, torch.stack(torch.autograd.grad(landed.sum(), leaves, allow_unused=True, materialize_grads=True), dim=1)


@pytest.fixture(scope="module")
def reference():
    rows = edge_throws()
    return rows, *launch_with_gradient(trebuchet.launch, rows)


def assert_same_throws(got, want, rtol):
    assert torch.equal(got.status, want.status)
    for field in FIELDS:
        torch.testing.assert_close(getattr(got, field).detach(), getattr(want, field).detach(), rtol=rtol, atol=0, equal_nan=True, msg=field)


def test_the_edge_throws_cover_every_ending(reference):
    _, throw, _ = reference
    counts = {name: int((throw.status == code).sum()) for code, name in trebuchet.STATUS_NAMES.items()}
    assert counts["weight too light"] >= 1 and counts["never lands"] >= 1 and counts["landed"] >= 28, counts


def test_the_eager_fast_path_gives_the_reference_values_and_its_gradients_to_rounding(reference):
    # The flight's steps are the reference's arithmetic (the same values, bit for bit); its
    # hand-written adjoint sums the chain rule in another order than autograd.
    rows, want, want_grad = reference
    got, got_grad = launch_with_gradient(trebuchet_fast.launch, rows)
    assert_same_throws(got, want, rtol=0)
    scale = want_grad.abs().max(dim=1, keepdim=True).values.clamp_min(1e-300)
    assert ((got_grad - want_grad).abs() / scale).max().item() <= 1e-9
    assert torch.isfinite(got_grad).all()


def test_shoot_and_throw_misses_agree_with_the_reference():
    wind = torch.tensor([[-2.0], [4.0]], dtype=torch.float64)
    angle = torch.tensor([30.0, 45.0, 60.0], dtype=torch.float64)
    assert torch.equal(trebuchet_fast.shoot(wind, angle, 200.0), trebuchet.shoot(wind, angle, 200.0))
    winds, targets = trebuchet.evaluation_shots(16)
    angles = np.linspace(10.0, 95.0, 16)  # the last aims do not throw
    weights = np.linspace(10.0, 400.0, 16)  # nor do the first
    for got, want in zip(trebuchet_fast.throw_misses(winds, targets, angles, weights), trebuchet.throw_misses(winds, targets, angles, weights)):
        assert torch.equal(got, want)


def test_a_throw_that_never_lands_is_the_same_error_on_the_fast_path():
    with pytest.raises(ValueError, match=r"weight_lb=15.38 never lands"):
        trebuchet_fast.shoot(0.0, 45.0, 15.38)


def test_the_fast_flight_stops_and_lands_where_the_references_integrate_does():
    # Flight starts (x, y, v_x, v_y) below ground falling (stops at once), below ground rising
    # (grazes the ground each step until it crosses it), above it, and one inactive row.
    u_start = torch.tensor([[1.0, 1.0, 1.0, 1.0], [-2.0, -2.0, 3.0, 3.0], [10.0, 10.0, 10.0, 10.0], [-1.0, 5.0, 5.0, 5.0]], dtype=torch.float64)
    active = torch.tensor([True, True, True, False])
    params = {"wind": torch.zeros(4, dtype=torch.float64)}
    want = trebuchet.integrate(trebuchet._in_flight, trebuchet.landing_condition, u_start, params, trebuchet.below_ground_and_falling, active=active)
    got = trebuchet_fast.fly(u_start, params, active=active)
    assert want.stopped.tolist() == [True, False, False, False] and want.found.tolist() == [False, True, True, False]
    for field in ("stopped", "found"):
        assert torch.equal(getattr(got, field), getattr(want, field)), field
    for field in ("steps", "lo", "hi"):
        assert torch.equal(getattr(got, field)[want.found], getattr(want, field)[want.found]), field
    assert torch.equal(got.u_last[:, want.found], want.u_last[:, want.found])


def test_the_pointwise_event_test_of_compiled_steps_brackets_as_on_grid_does():
    # Every step of the ground and hang phases of 64 seeded throws, past their events too:
    # `_bracket_pointwise` (the compiled steps' test) must give bracket(on_grid(...))'s brackets.
    generator = torch.Generator().manual_seed(5)
    params = {
        "weight": (100 + 200 * torch.rand(64, generator=generator, dtype=torch.float64)) * trebuchet.POUND,
        "release_angle": torch.deg2rad(15 + 60 * torch.rand(64, generator=generator, dtype=torch.float64)),
        "wind": torch.zeros(64, dtype=torch.float64),
    }
    u0 = trebuchet.initial_state(batch_shape=(64,))
    ground = trebuchet.integrate(trebuchet._on_ground, trebuchet.liftoff_condition, u0, params)
    u_liftoff, _ = trebuchet.event(trebuchet._on_ground, trebuchet.liftoff_condition, ground, params)
    crossings = interior = 0
    for derivative, condition, u in ((trebuchet._on_ground, trebuchet.liftoff_condition, u0),
                                     (trebuchet._in_sling, trebuchet.release_condition, u_liftoff)):
        f = derivative(u, params)
        for _ in range(40):
            u_next = u + trebuchet.DT * f
            f_next = derivative(u_next, params)
            expected = trebuchet.bracket(trebuchet.on_grid(condition, u, u_next, f, f_next, params))
            got = trebuchet_fast._bracket_pointwise(condition, u, u_next, f, f_next, params)
            for a, b in zip(got, expected):
                assert torch.equal(a, b)
            crossings += int(expected[0].sum())
            interior += int((expected[0] & ((expected[1] > 0) | (expected[2] < 1))).sum())
            u, f = u_next, f_next
    assert crossings >= 128 and interior > 0  # each throw's lift-off and release, some inside a step


@pytest.mark.slow
def test_compiled_throws_match_the_reference_to_rounding(reference):
    # Every phase, event and status takes the compiled steps, and the grazing flights the eager
    # steps the compiled chunks hand them back to. Inductor reorders the arithmetic, hence
    # rounding-sized differences only (gradients: see `trebuchet_fast.launch`).
    rows, want, want_grad = reference
    got, got_grad = launch_with_gradient(trebuchet_fast.launch, rows, compiled=True)
    assert_same_throws(got, want, rtol=1e-11)
    torch.testing.assert_close(got_grad, want_grad, rtol=1e-5, atol=1e-12)


@pytest.mark.slow
def test_compiled_flight_settles_the_grazing_throws_as_eager_flight_does():
    # The compiled chunks hand the grazing rows back to `_flight_steps`; without that, the first
    # row would never stop.
    u_start = torch.tensor([[1.0, 1.0, 1.0], [-2.0, -2.0, 3.0], [10.0, 10.0, 10.0], [-1.0, 5.0, 5.0]], dtype=torch.float64)
    params = {"wind": torch.zeros(3, dtype=torch.float64)}
    eager, fused = (trebuchet_fast.fly(u_start, params, compiled=compiled) for compiled in (False, True))
    assert eager.stopped.tolist() == [True, False, False] and eager.found.tolist() == [False, True, True]
    for field in ("stopped", "found", "steps"):
        assert torch.equal(getattr(fused, field), getattr(eager, field)), field
    torch.testing.assert_close(fused.lo, eager.lo, rtol=0, atol=0)
    torch.testing.assert_close(fused.hi, eager.hi, rtol=0, atol=0)
    torch.testing.assert_close(fused.u_last[:, 1:], eager.u_last[:, 1:], rtol=1e-12, atol=0)


@pytest.mark.slow
def test_a_compiled_step_compiles_every_variant_it_meets_past_dynamos_default_limit():
    """A step meets more variants than Dynamo's default 8 (with and without autograd, ground and
    hang, float32 and float64, batch 1 and more); past the limit, new ones would run eagerly."""
    from torch._dynamo.utils import counters

    def step(x):
        return x * 2 + 1

    compiled = trebuchet_fast._compiled(step)
    before = counters["stats"]["unique_graphs"]
    for dtype in (torch.float16, torch.float32, torch.float64):
        for shape in ((3,), (3, 2), (3, 2, 2)):
            assert torch.equal(compiled(torch.ones(shape, dtype=dtype)), torch.full(shape, 3.0, dtype=dtype))
    assert counters["stats"]["unique_graphs"] - before == 9
    assert torch._dynamo.config.recompile_limit == 8  # the caller's own setting is left alone


def test_compiled_must_be_a_bool():
    with pytest.raises(ValueError, match="compiled must be True or False; got 'yes'"):
        trebuchet_fast.shoot(0.0, 45.0, 200.0, compiled="yes")

