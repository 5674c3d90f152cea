"""The PyTorch trebuchet, the reference twin of julia/src/trebuchet.jl, against the blog's gradient,
its own finite differences, and itself batched (its fast paths: test_trebuchet_fast.py)."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dprl.envs import trebuchet

BLOG_POINT = (-2.0, 45.0, 200.0)


def gradient_at(wind, angle, weight):
    x = torch.tensor([wind, angle, weight], dtype=torch.float64, requires_grad=True)
    distance = trebuchet.shoot(x[0], x[1], x[2])
    (g,) = torch.autograd.grad(distance, x)
    return distance.item(), g


def central_difference(wind, angle, weight, steps=(1e-5, 1e-5, 1e-4)):
    """Central differences of the distance at each point (tensors of one shape (n,)): (n, 3),
    the 6n perturbed throws in one batch."""
    x = torch.stack([torch.as_tensor(v, dtype=torch.float64).reshape(-1) for v in (wind, angle, weight)], dim=1)
    h = torch.tensor(steps, dtype=torch.float64)
    shifts = torch.cat((torch.diag(h), -torch.diag(h)))  # (6, 3): up each input, then down
    points = (x[:, None, :] + shifts[None]).reshape(-1, 3)
    distance = trebuchet.shoot(points[:, 0], points[:, 1], points[:, 2]).reshape(-1, 6)
    return (distance[:, :3] - distance[:, 3:]) / (2 * h)


def test_blog_gradient():
    distance, g = gradient_at(*BLOG_POINT)
    assert abs(g[0].item() - 4.02) <= 0.005
    assert abs(g[1].item() - (-0.99)) <= 0.005
    assert 0.0505 <= g[2].item() <= 0.0525
    assert distance == pytest.approx(74.7284, abs=1e-3)


def test_blog_point_event_times():
    """docs/original-2019.md §1.9: lift-off pinned to the grid at 0.25 s, release near 0.5755 s at ≈55.05 m/s."""
    result = trebuchet.launch(*BLOG_POINT)
    assert result.status.item() == trebuchet.LANDED
    assert result.liftoff_time.item() == pytest.approx(0.25, abs=1e-12)
    assert result.release_time.item() == pytest.approx(0.5755, abs=1e-3)
    assert result.release_speed.item() == pytest.approx(55.05, abs=0.01)
    assert result.landing_time.item() == pytest.approx(5.83, abs=0.01)


def test_gradient_matches_finite_differences_at_20_seeded_points():
    generator = torch.Generator().manual_seed(2019)
    wind = torch.rand(20, generator=generator, dtype=torch.float64) * 20 - 10
    angle = torch.rand(20, generator=generator, dtype=torch.float64) * 60 + 15
    weight = torch.rand(20, generator=generator, dtype=torch.float64) * 350 + 50
    inputs = [x.clone().requires_grad_(True) for x in (wind, angle, weight)]
    trebuchet.shoot(*inputs).sum().backward()
    autograd = torch.stack([x.grad for x in inputs], dim=1)
    torch.testing.assert_close(autograd, central_difference(wind, angle, weight), rtol=1e-5, atol=1e-9)


def test_liftoff_between_grid_points_has_a_gradient_through_the_event_time():
    """At (3 m/s, 40°, 180 lb) lift-off falls inside a step, so its time moves with the weight."""
    distance, g = gradient_at(3.0, 40.0, 180.0)
    result = trebuchet.launch(3.0, 40.0, 180.0)
    steps = result.liftoff_time.item() * trebuchet.RATE
    assert abs(steps - round(steps)) > 1e-6  # not on the grid
    torch.testing.assert_close(g, central_difference(3.0, 40.0, 180.0)[0], rtol=1e-5, atol=1e-9)


def test_batch_equals_single_throws():
    generator = torch.Generator().manual_seed(7)
    wind = torch.randn(12, generator=generator, dtype=torch.float64) * 5
    angle = torch.rand(12, generator=generator, dtype=torch.float64) * 60 + 15
    weight = torch.rand(12, generator=generator, dtype=torch.float64) * 300 + 60
    batch = trebuchet.shoot(wind, angle, weight)
    singles = torch.stack([trebuchet.shoot(wind[i], angle[i], weight[i]) for i in range(12)])
    torch.testing.assert_close(batch, singles, rtol=0, atol=1e-12)


def test_broadcasting_keeps_the_shape():
    wind = torch.tensor([[-2.0], [0.0]], dtype=torch.float64)
    angle = torch.tensor([30.0, 45.0, 60.0], dtype=torch.float64)
    distance = trebuchet.shoot(wind, angle, 200.0)
    assert distance.shape == (2, 3)
    assert distance[0, 1].item() == pytest.approx(trebuchet.shoot(-2.0, 45.0, 200.0).item(), abs=1e-12)


def test_python_numbers_are_simulated_in_float64():
    assert trebuchet.shoot(-2.0, 45.0, 200.0).dtype == torch.float64


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"wind": math.nan}, "wind"),
        ({"wind": math.inf}, "wind"),
        ({"angle_deg": 0.0}, "angle_deg"),
        ({"angle_deg": 90.0}, "angle_deg"),
        ({"angle_deg": -10.0}, "angle_deg"),
        ({"weight_lb": 0.0}, "weight_lb"),
        ({"weight_lb": -5.0}, "weight_lb"),
        ({"weight_lb": math.nan}, "weight_lb"),
    ],
)
def test_bad_inputs_raise_value_error_naming_the_argument(kwargs, name):
    args = {"wind": -2.0, "angle_deg": 45.0, "weight_lb": 200.0, **kwargs}
    with pytest.raises(ValueError, match=name):
        trebuchet.shoot(**args)


def test_too_light_a_weight_stops_on_the_ground():
    """docs/original-2019.md §1.9: up to about 15.35 lb the sling tension turns negative and the throw stops at ≈0.68 m."""
    result = trebuchet.launch(0.0, 45.0, 8.0)
    assert result.status.item() == trebuchet.TOO_LIGHT
    assert result.distance.item() == pytest.approx(0.68, abs=0.02)


def test_a_throw_that_never_lands_is_reported():
    """Between about 15.36 and 15.4 lb the projectile is released below ground and never lands."""
    weights = torch.linspace(15.30, 15.45, 31, dtype=torch.float64)
    result = trebuchet.launch(0.0, 45.0, weights)
    never = result.status == trebuchet.NO_LANDING
    assert bool(never.any()), "expected some weight near 15.4 lb to release below ground"
    with pytest.raises(ValueError, match="never lands"):
        trebuchet.shoot(0.0, 45.0, weights[never][0])
    # One rule on both stacks: NaN distance and landing time for a throw that never lands, the
    # resting x for one whose weight is too light, finite distances for the rest.
    assert bool(result.distance[never].isnan().all()) and bool(result.landing_time[never].isnan().all())
    light = result.status == trebuchet.TOO_LIGHT
    assert bool(light.any()) and bool(result.distance[light].isfinite().all())
    assert bool(result.distance[~never].isfinite().all())


def test_a_root_with_zero_slope_gets_no_gradient():
    """`locate` gives the event time no derivative where g's slope in Θ is exactly 0 (as Julia)."""
    wind = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    # A step that stays at ground level: g = y + h is 0 at every Θ (slope 0, no jump), while its
    # value depends on `wind`, so a Newton step would divide ∂g/∂wind = 1 by a stand-in slope.
    u = torch.stack((torch.zeros(1, dtype=torch.float64), wind - trebuchet.PIVOT_HEIGHT,
                     torch.zeros(1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)))
    f = torch.zeros(4, 1, dtype=torch.float64)
    theta = trebuchet.locate(trebuchet.landing_condition, u, u, f, f, torch.zeros(1, dtype=torch.float64),
                             torch.ones(1, dtype=torch.float64), {"wind": wind})
    (grad,) = torch.autograd.grad(theta.sum(), wind, allow_unused=True)
    assert grad is None or bool((grad == 0).all())


@settings(max_examples=25, deadline=None)
@given(
    wind=st.floats(-10, 10),
    angle=st.floats(5, 85),
    weight=st.floats(40, 500),
)
def test_landed_throws_are_finite_with_finite_gradients(wind, angle, weight):
    x = torch.tensor([wind, angle, weight], dtype=torch.float64, requires_grad=True)
    result = trebuchet.launch(x[0], x[1], x[2])
    assert result.status.item() == trebuchet.LANDED
    (g,) = torch.autograd.grad(result.distance, x)
    assert torch.isfinite(result.distance).item() and bool(torch.isfinite(g).all())
    assert result.liftoff_time.item() < result.release_time.item() < result.landing_time.item()


def test_tailwind_carries_further_than_headwind():
    distances = trebuchet.shoot(torch.tensor([-5.0, 0.0, 5.0], dtype=torch.float64), 45.0, 200.0)
    assert distances[0] < distances[1] < distances[2]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"wind": 1e200}, "wind must be a finite number of m/s in \\[-150, 150\\]"),
        ({"wind": -150.5}, "wind must be"),
        ({"weight_lb": 2e6}, "weight_lb must be a finite, positive number of pounds, at most 1e\\+06"),
        ({"weight_lb": 1e153}, "weight_lb must be"),
        ({"wind": "strong"}, "wind must be a number or an array of numbers"),
        ({"angle_deg": [[45.0], ["x"]]}, "angle_deg must be a number or an array of numbers"),
    ],
)
def test_out_of_range_or_non_numeric_inputs_are_refused_by_name(kwargs, message):
    args = {"wind": -2.0, "angle_deg": 45.0, "weight_lb": 200.0, **kwargs}
    with pytest.raises(ValueError, match=message):
        trebuchet.shoot(**args)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.complex64])
def test_dtypes_the_simulator_cannot_honour_are_refused_with_those_it_accepts(dtype):
    with pytest.raises(ValueError, match="float32 or float64"):
        trebuchet.shoot(torch.tensor(-2.0, dtype=dtype), 45.0, 200.0)
    with pytest.raises(ValueError, match="float32 or float64"):
        trebuchet.shoot(-2.0, 45.0, 200.0, dtype=dtype)


def test_float32_and_a_batch_of_one_keep_working():
    single = trebuchet.shoot(*BLOG_POINT)
    one = trebuchet.shoot(*(torch.tensor([v], dtype=torch.float64) for v in BLOG_POINT))
    low = trebuchet.shoot(torch.full((4,), -2.0, dtype=torch.float32), 45.0, 200.0)
    assert one.shape == (1,) and one.item() == single.item()
    assert low.dtype == torch.float32 and torch.allclose(low.double(), single.expand(4), rtol=1e-4)


def test_float32_gradients_follow_float64_ones_the_weight_included():
    """Float32 locates its events in float64: located in float32, the lift-off's residual was
    taken for a jump in most throws, and their weight gradients fell 10× and more off."""
    rng = np.random.default_rng(32)
    points = np.column_stack([5 * rng.standard_normal(256), rng.uniform(15, 75, 256), rng.uniform(100, 300, 256)])

    def distance_and_gradient(dtype):
        leaves = [torch.tensor(x, dtype=dtype).requires_grad_(True) for x in points.T]
        distance = trebuchet.shoot(*leaves)
        distance.sum().backward()
        return distance.detach().double(), torch.stack([x.grad.double() for x in leaves], dim=1)

    (d32, g32), (d64, g64) = distance_and_gradient(torch.float32), distance_and_gradient(torch.float64)
    assert ((d32 - d64).abs() / d64).max() < 1e-3
    relative = (g32 - g64).abs() / g64.abs().clamp_min(1e-2)
    assert relative.max() < 1e-2, relative.max(dim=0)


def test_shapes_that_do_not_broadcast_are_named():
    with pytest.raises(ValueError, match=r"broadcast.*wind \(2,\), angle_deg \(3,\), weight_lb \(\)"):
        trebuchet.shoot(torch.zeros(2, dtype=torch.float64), torch.full((3,), 45.0, dtype=torch.float64), 200.0)


@settings(max_examples=6, deadline=None)
@given(st.lists(st.tuples(st.floats(-trebuchet.WIND_LIMIT, trebuchet.WIND_LIMIT), st.floats(0, 90, exclude_min=True, exclude_max=True),
                          st.floats(0, trebuchet.MAX_WEIGHT_LB, exclude_min=True)), min_size=1, max_size=16))
def test_every_input_in_range_throws_to_a_finite_distance_or_a_clear_error(points):
    """Never NaN for inputs in range: a throw lands, stops on the ground, or is reported as never landing."""
    wind, angle, weight = (torch.tensor(column, dtype=torch.float64) for column in zip(*points))
    result = trebuchet.launch(wind, angle, weight)
    landed_or_stopped = result.status != trebuchet.NO_LANDING
    assert bool(torch.isfinite(result.distance[landed_or_stopped]).all())


def test_a_throw_too_light_to_lift_off_has_a_zero_gradient_in_a_batch():
    # Its flight never starts (zero airspeed there): the batch must not turn that into a NaN.
    leaves = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in ((0.0, 1.0), (45.0, 45.0), (10.0, 200.0))]
    throw = trebuchet.launch(*leaves)
    throw.distance.sum().backward()
    assert throw.status[0] == trebuchet.TOO_LIGHT
    assert [x.grad[0].item() for x in leaves] == [0.0, 0.0, 0.0]
    assert all(math.isfinite(x.grad[1].item()) and x.grad[1] != 0 for x in leaves)
