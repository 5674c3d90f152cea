"""The fused Triton kernel (`trebuchet_fast`'s CUDA path) against the float64 reference: in Triton's interpreter on the CPU
(every machine with Triton), and on the GPU where there is one."""

import importlib
import os

import numpy as np
import pytest
import torch

pytest.importorskip("triton", reason="Triton is not installed (the test extra installs it on Linux)")

CUDA = torch.cuda.is_available()
if not CUDA:
    # The interpreter is chosen when a kernel is decorated, so it is set while the module loads
    # (again, if another test loaded it first), then put back; `interpret` sets it again around
    # each test, as the interpreter reads it while it runs, too.
    before = os.environ.get("TRITON_INTERPRET")
    os.environ["TRITON_INTERPRET"] = "1"
    from dprl.envs import trebuchet_triton

    if not trebuchet_triton.interpreting():
        trebuchet_triton = importlib.reload(trebuchet_triton)
    if before is None:
        del os.environ["TRITON_INTERPRET"]
    else:
        os.environ["TRITON_INTERPRET"] = before
else:
    from dprl.envs import trebuchet_triton

from dprl.envs import trebuchet, trebuchet_fast

DEVICE = "cuda" if CUDA else "cpu"


@pytest.fixture(autouse=True)
def interpret(monkeypatch):
    if not CUDA:
        monkeypatch.setenv("TRITON_INTERPRET", "1")

needs_cuda = pytest.mark.skipif(not CUDA, reason="no CUDA device: the kernel runs in Triton's interpreter here instead")

# Both kinds of lift-off (pinned to the grid, and inside a step at (3, 40, 180)), throws too light
# to lift off, headwinds and tailwinds, low and steep angles, light and heavy counterweights.
EDGES = [(-2.0, 45.0, 200.0), (3.0, 40.0, 180.0), (0.0, 45.0, 8.0), (0.0, 45.0, 1.0), (-12.0, 80.0, 40.0), (9.0, 8.0, 450.0)]


def seeded_throws(n, seed=28):
    rng = np.random.default_rng(seed)
    return np.column_stack([5 * rng.standard_normal(n), rng.uniform(5, 85, n), rng.uniform(30, 500, n)])


def reference(rows):
    """CPU float64, the reference (`trebuchet.launch`): the launch and the gradient of the landed distances."""
    leaves = [torch.tensor(c, dtype=torch.float64, requires_grad=True) for c in rows.T]
    result = trebuchet.launch(*leaves)
    landed = torch.where(torch.isfinite(result.distance), result.distance, torch.zeros_like(result.distance))
    # materialize_grads: a batch that never flies does not use the wind at all.
    return result, torch.stack(torch.autograd.grad(landed.sum(), leaves, allow_unused=True, materialize_grads=True), dim=1)


def kernel_launch(rows, dtype=torch.float64):
    leaves = [torch.tensor(c, dtype=dtype, device=DEVICE, requires_grad=True) for c in rows.T]
    result = trebuchet_fast.launch(*leaves, kernel=True)
    landed = torch.where(torch.isfinite(result.distance), result.distance, torch.zeros_like(result.distance))
    return result, torch.stack(torch.autograd.grad(landed.sum(), leaves), dim=1)


def assert_agrees(rows, distance_tol, gradient_tol, dtype=torch.float64):
    want, want_grad = reference(rows)
    got, got_grad = kernel_launch(rows, dtype)
    got_grad = got_grad.double().cpu()
    assert torch.equal(got.status.cpu(), want.status)
    d, w = got.distance.double().cpu(), want.distance.detach()
    assert torch.equal(d.isnan(), w.isnan())
    relative = torch.where(w.isnan(), 0.0, (d - w).abs() / w.abs())
    assert relative.max().item() <= distance_tol
    # Each throw's gradient against its largest partial (a partial can be nearly 0).
    scale = want_grad.abs().max(dim=1, keepdim=True).values.clamp_min(1e-300)
    assert ((got_grad - want_grad).abs() / scale).max().item() <= gradient_tol
    for field in ("liftoff_time", "release_time", "landing_time", "release_speed"):
        g, w = getattr(got, field).double().cpu(), getattr(want, field).detach()
        assert torch.equal(g.isnan(), w.isnan()), field
        assert (g - w).abs().nan_to_num(0.0).max().item() <= max(distance_tol, 1e-12) * 100, field
    return want, got_grad


def test_the_kernel_matches_the_reference_on_seeded_throws_and_edges():
    # One warp's worth of throws: the interpreter runs a program's 32 lanes together.
    rows = np.vstack([seeded_throws(32 - len(EDGES)), EDGES])
    want, grad = assert_agrees(rows, 1e-12, 1e-9)
    assert int((want.status == trebuchet.TOO_LIGHT).sum()) == 2 and int((want.status == trebuchet.LANDED).sum()) == 30
    assert bool((grad[want.status == trebuchet.TOO_LIGHT] == 0).all())  # stopped at the first step: no dependence


@pytest.mark.slow
def test_throws_that_never_land_or_stop_late_match_the_reference():
    # Near 15.4 lb the projectile is released below ground (never lands) after 8 s on the ground,
    # some 500 steps: two minutes in the interpreter, so the CPU checks that one throw. At
    # 15.345 lb it is too light only after sliding (its rest then depends on the weight; eight
    # minutes in the interpreter), at 15.45 lb it lands behind the pivot.
    rows = np.array([(0.0, 45.0, 15.44)] + ([(0.0, 45.0, 15.345), (0.0, 45.0, 15.45)] if CUDA else []))
    want, grad = assert_agrees(rows, 1e-12, 1e-9)
    assert want.status[0] == trebuchet.NO_LANDING and grad[0].tolist() == [0.0, 0.0, 0.0]
    if CUDA:
        assert want.status.tolist()[1:] == [trebuchet.TOO_LIGHT, trebuchet.LANDED] and grad[1, 2] != 0


def test_shoot_through_the_kernel_broadcasts_and_backpropagates_as_eager():
    wind = torch.tensor([[-2.0], [4.0]], dtype=torch.float64, requires_grad=True)
    angle = torch.tensor([30.0, 45.0, 60.0], dtype=torch.float64, requires_grad=True)
    weight = torch.tensor(200.0, dtype=torch.float64, requires_grad=True)
    grads = []
    for kernel, device in ((True, DEVICE), (False, "cpu")):
        inputs = [x.detach().to(device).requires_grad_(True) for x in (wind, angle, weight)]
        distance = trebuchet_fast.shoot(*inputs, kernel=kernel)
        assert distance.shape == (2, 3)
        (distance * torch.arange(6.0, dtype=torch.float64, device=device).reshape(2, 3)).sum().backward()
        grads.append([x.grad.cpu() for x in inputs] + [distance.detach().cpu()])
    for got, want in zip(*grads):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-12)


def test_the_throws_are_grouped_by_weight_then_angle():
    angle = torch.tensor([60.0, 30.0, 45.0, 10.0], dtype=torch.float64)
    weight = torch.tensor([200.1, 200.0, 100.0, 200.2], dtype=torch.float64)
    assert trebuchet_triton._order(angle, weight).tolist() == [2, 3, 1, 0]


@pytest.mark.parametrize("kwargs, message", [
    ({"kernel": "yes"}, "kernel must be None"),
    ({"kernel": True, "compiled": True}, "exclude each other"),
])
def test_bad_kernel_options_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        trebuchet_fast.shoot(0.0, 45.0, 200.0, **kwargs)


def test_cpu_tensors_keep_the_eager_path_by_default(monkeypatch):
    def refuse(*args):
        raise AssertionError("the kernel ran for CPU tensors")

    monkeypatch.setattr(trebuchet_triton, "_run", refuse)
    assert trebuchet_fast.shoot(-2.0, 45.0, 200.0).item() == pytest.approx(74.7284, abs=1e-3)
    assert trebuchet_fast.launch(-2.0, 45.0, 200.0).status.item() == trebuchet.LANDED


@needs_cuda
def test_cuda_tensors_run_the_kernel_by_default(monkeypatch):
    calls = []
    run = trebuchet_triton._run
    monkeypatch.setattr(trebuchet_triton, "_run", lambda *args: calls.append(1) or run(*args))
    x = [torch.tensor([v], dtype=torch.float64, device="cuda") for v in (-2.0, 45.0, 200.0)]
    assert trebuchet_fast.shoot(*x).item() == pytest.approx(74.7284, abs=1e-3)
    trebuchet_fast.shoot(*x, kernel=False)
    assert calls == [1]


@needs_cuda
def test_on_the_gpu_512_seeded_throws_match_the_cpu_reference():
    assert_agrees(np.vstack([seeded_throws(512 - len(EDGES), seed=5), EDGES]), 2e-12, 1e-9)


@needs_cuda
def test_on_the_gpu_float32_inputs_are_simulated_in_float64():
    # Rounded to float32 on the way in and out: the reference then runs on the rounded inputs.
    rows = seeded_throws(64, seed=6).astype(np.float32).astype(np.float64)
    want, _ = reference(rows)
    got, _ = kernel_launch(rows, torch.float32)
    assert got.distance.dtype == torch.float32
    torch.testing.assert_close(got.distance.cpu().double(), want.distance.detach(), rtol=1e-6, atol=0)


@needs_cuda
def test_the_kernel_refuses_cpu_tensors_outside_the_interpreter():
    with pytest.raises(ValueError, match="needs CUDA tensors"):
        trebuchet_fast.shoot(0.0, 45.0, 200.0, kernel=True)


def test_the_outputs_are_not_views_of_the_kernels_buffer(monkeypatch):
    """Holding a distance must not hold the (rows, n) buffer, which the graph frees after backward."""

    class Ones:  # the compiled kernel's stand-in: every output 1 (the buffers, not the physics, are under test)
        def __getitem__(self, grid):
            return lambda order, wind, angle, weight, release, out, *rest, **options: out.fill_(1.0)

    monkeypatch.setattr(trebuchet_triton, "_launch_kernel", Ones())
    monkeypatch.setattr(trebuchet_triton, "interpreting", lambda: True)
    n = 64
    leaves = [torch.full((n,), v, dtype=torch.float64, requires_grad=True) for v in (0.0, 45.0, 200.0)]
    for fields in (trebuchet_triton.shoot(*leaves), trebuchet_triton.launch(*leaves)):
        for field in fields:
            assert field._base is None and field.untyped_storage().nbytes() == 8 * n
    distance, _ = trebuchet_triton.shoot(*leaves)
    # Only the distance carries a gradient; no zeros are made for the status, and none flow back from it.
    grads = torch.autograd.grad(distance.sum(), leaves)
    assert all(torch.equal(g, torch.ones(n, dtype=torch.float64)) for g in grads)
