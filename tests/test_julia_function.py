"""dprl.julia.function: Julia functions inside PyTorch (marker `julia`), against PyTorch's twins."""

import textwrap

import numpy as np
import pytest

def test_function_without_julia_raises_promptly_before_torch(tmp_path, no_julia_env):
    import os
    import subprocess
    import sys

    env = no_julia_env
    code = ("import sys\nfrom dprl import julia\ntry:\n    julia.function('Trebuchet.shoot')\n"
            "except julia.JuliaUnavailableError as e:\n    print('unavailable', 'torch' in sys.modules, 'juliacall' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.stdout.split() == ["unavailable", "False", "False"], result.stderr


@pytest.fixture(scope="module")
def torch(jl):
    import torch

    return torch


def _throws(torch, n=6, seed=16):
    rng = np.random.default_rng(seed)
    points = np.column_stack([rng.uniform(-8, 8, n), rng.uniform(25, 65, n), rng.uniform(120, 380, n)])
    return [torch.tensor(points[:, i], dtype=torch.float64, requires_grad=True) for i in range(3)]


def _torch_throws(torch, leaves):
    from dprl.envs import trebuchet

    fresh = [x.detach().clone().requires_grad_(True) for x in leaves]
    distance = trebuchet.shoot(*fresh)
    return distance.detach(), torch.stack(torch.autograd.grad(distance.sum(), fresh), -1)


@pytest.mark.julia
@pytest.mark.parametrize("name, mode", [("Trebuchet.shoot", "forwarddiff"), ("Trebuchet.shoot_differentiable", "zygote")])
def test_julia_trebuchet_matches_pytorch_in_value_and_gradient(jl, torch, name, mode):
    shoot = jl.function(name, mode=mode, core_ndims=0)
    leaves = _throws(torch)
    distance = shoot(*leaves)
    grads = torch.stack(torch.autograd.grad(distance.sum(), leaves), 1)
    reference, reference_grads = _torch_throws(torch, leaves)
    assert distance.dtype == torch.float64 and distance.shape == (6,)
    # the cross-check's trebuchet tolerance (dprl.crosscheck.TREBUCHET_TOLERANCE)
    assert torch.allclose(distance, reference, rtol=1e-8, atol=0)
    assert torch.allclose(grads, reference_grads, rtol=1e-8, atol=1e-12)


@pytest.mark.julia
@pytest.mark.parametrize("mode", ["zygote", "forwarddiff"])
def test_autograd_gradcheck_passes_on_a_batched_multi_output_step(jl, torch, mode):
    step = jl.function("Pendulum.step", mode=mode, core_ndims=(1, 0))
    rng = np.random.default_rng(3)
    states = torch.tensor(np.column_stack([rng.uniform(-3, 3, 5), rng.uniform(-1, 1, 5)]), requires_grad=True)
    actions = torch.tensor(rng.uniform(-2, 2, 5), requires_grad=True)
    assert torch.autograd.gradcheck(lambda s, a: step(s, a, variant="gymjl2019")[:2], (states, actions))


@pytest.mark.julia
def test_batched_step_matches_pytorch_and_keeps_done_non_differentiable(jl, torch):
    from dprl.envs import cartpole

    step = jl.function("CartPole.step", core_ndims=(1, 0))
    rng = np.random.default_rng(4)
    states = torch.tensor(rng.uniform(-0.05, 0.05, (7, 4)), requires_grad=True)
    actions = torch.tensor(rng.choice([-1.0, 1.0], 7))
    nxt, reward, done = step(states, actions)
    ref_next, ref_reward, ref_done = cartpole.step(cartpole.CartPoleParams(), states.detach(), actions)
    assert torch.allclose(nxt, ref_next, rtol=1e-12, atol=1e-15)
    assert done.dtype == torch.bool and not done.requires_grad and torch.equal(done, ref_done)
    assert nxt.requires_grad


@pytest.mark.julia
def test_an_argument_passed_whole_gets_its_gradient_summed_over_the_batch(jl, torch):
    dot = jl.function("LinearAlgebra.dot", core_ndims=(1, None))
    x = torch.randn(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0), requires_grad=True)
    w = torch.randn(3, dtype=torch.float64, generator=torch.Generator().manual_seed(1), requires_grad=True)
    assert torch.allclose(dot(x, w), x.detach() @ w.detach(), rtol=1e-14)
    assert torch.autograd.gradcheck(dot, (x, w))


@pytest.mark.julia
def test_batch_dimensions_broadcast_and_constants_pass_through(jl, torch):
    shoot = jl.function("Trebuchet.shoot", mode="forwarddiff", core_ndims=0)
    wind = torch.tensor([[-2.0], [3.0]], dtype=torch.float64, requires_grad=True)  # 2×1
    angle = torch.tensor([40.0, 45.0, 50.0], dtype=torch.float64)  # 3, broadcast to 2×3
    distance = shoot(wind, angle, 200.0)
    assert distance.shape == (2, 3)
    (g,) = torch.autograd.grad(distance.sum(), wind)
    _, reference = _torch_throws(torch, [wind.detach().expand(2, 3).reshape(-1), angle.expand(2, 3).reshape(-1),
                                         torch.full((6,), 200.0, dtype=torch.float64)])
    assert torch.allclose(g, reference[:, 0].reshape(2, 3).sum(1, keepdim=True), rtol=1e-10)


@pytest.mark.julia
@pytest.mark.parametrize("mode", ["zygote", "forwarddiff"])
def test_unbatched_zero_dimensional_tensors_reach_julia_as_numbers(jl, torch, mode):
    name = "Trebuchet.shoot_differentiable" if mode == "zygote" else "Trebuchet.shoot"
    leaves = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (-2.0, 45.0, 200.0)]
    distance = jl.function(name, mode=mode)(*leaves)
    grads = torch.stack(torch.autograd.grad(distance, leaves))
    reference, reference_grads = _torch_throws(torch, leaves)
    assert distance.shape == () and torch.allclose(distance, reference, rtol=1e-8)
    assert torch.allclose(grads, reference_grads, rtol=1e-8)


@pytest.mark.julia
def test_float32_tensors_give_float32_results_close_to_float64(jl, torch):
    step = jl.function("Pendulum.step", core_ndims=(1, 0))
    states64 = torch.tensor([[0.3, 0.1], [1.0, -0.5]], dtype=torch.float64, requires_grad=True)
    states32 = states64.detach().float().requires_grad_(True)
    out64 = step(states64, torch.tensor([0.5, -1.0], dtype=torch.float64))
    out32 = step(states32, torch.tensor([0.5, -1.0]))
    assert out32[0].dtype == torch.float32 and out32[1].dtype == torch.float32
    out64[1].sum().backward()
    out32[1].sum().backward()
    assert states32.grad.dtype == torch.float32
    assert torch.allclose(out32[0].double(), out64[0].detach(), rtol=1e-5)
    assert torch.allclose(states32.grad.double(), states64.grad, rtol=1e-4, atol=1e-6)


@pytest.mark.julia
def test_inputs_reach_julia_without_a_copy_and_outputs_view_julia_arrays(jl, torch):
    # fill! writes through the PyArray: the tensor itself changes, so no copy was made on the way in.
    x = torch.zeros(4, dtype=torch.float64)
    jl.function("fill!")(x, 2.5)
    assert torch.equal(x, torch.full((4,), 2.5, dtype=torch.float64))
    # A strided, non-contiguous tensor crosses as it is.
    base = torch.arange(12, dtype=torch.float64).reshape(3, 4)
    assert jl.function("sum")(base[:, ::2]).item() == base[:, ::2].sum().item()
    # A batched output is one Julia Array seen in place: column-major strides, not a C-ordered copy.
    nxt, _, _ = jl.function("Pendulum.step", core_ndims=(1, 0))(torch.zeros(5, 2, dtype=torch.float64), torch.zeros(5, dtype=torch.float64))
    assert nxt.stride() == (1, 5)


@pytest.mark.julia
def test_unknown_names_fail_at_once_with_suggestions(jl):
    with pytest.raises(ValueError, match=r"no Julia function 'Trebuchet.shot': DPRL.Trebuchet has no 'shot'; did you mean shots, shoot\?"):
        jl.function("Trebuchet.shot")
    with pytest.raises(ValueError, match="'Nope' is not defined"):
        jl.function("Nope.f")
    with pytest.raises(ValueError, match="Int64, not a function"):
        jl.function("Trebuchet.RATE")
    with pytest.raises(ValueError, match="mode must be one of zygote, forwarddiff"):
        jl.function("Trebuchet.shoot", mode="reverse")
    with pytest.raises(ValueError, match="core_ndims entries"):
        jl.function("Trebuchet.shoot", core_ndims=(0, -1, 0))


@pytest.mark.julia
def test_a_failing_function_names_itself_the_argument_and_the_sample(jl, torch):
    shoot = jl.function("Trebuchet.shoot", core_ndims=0)
    with pytest.raises(ValueError) as caught:
        shoot(torch.tensor([0.0, 1.0], dtype=torch.float64), torch.tensor([45.0, 95.0], dtype=torch.float64), torch.tensor([200.0, 200.0], dtype=torch.float64))
    message = str(caught.value)
    assert "DPRL.Trebuchet.shoot(wind, angle_deg, weight_lb) raised ArgumentError at batch index (1,)" in message
    assert "angle_deg=95" in message and "angle_deg" in message.split(": ", 1)[1]
    # Julia is still usable afterwards: nothing was left half-done.
    assert shoot(torch.tensor(-2.0, dtype=torch.float64), torch.tensor(45.0, dtype=torch.float64), 200.0).item() == pytest.approx(74.7284, abs=1e-3)


@pytest.mark.julia
def test_shapes_and_dtypes_that_disagree_are_named(jl, torch):
    shoot = jl.function("Trebuchet.shoot", core_ndims=0)
    with pytest.raises(ValueError, match=r"mix dtypes \(wind: torch.float32, angle_deg: torch.float64"):
        shoot(torch.tensor(1.0), torch.tensor(45.0, dtype=torch.float64), 200.0)
    with pytest.raises(ValueError, match=r"do not broadcast \(wind: \(2,\), angle_deg: \(3,\)"):
        shoot(torch.ones(2, dtype=torch.float64), torch.ones(3, dtype=torch.float64), 200.0)
    with pytest.raises(ValueError, match=r"argument 1 \(wind\) .* is a torch.int64 tensor"):
        shoot(torch.tensor([1]), 45.0, 200.0)
    with pytest.raises(ValueError, match="as Float32 for float64 inputs"):
        jl.function("Float32", core_ndims=0)(torch.ones(2, dtype=torch.float64))


@pytest.mark.julia
def test_tensors_julia_cannot_take_are_named_before_the_call(jl, torch):
    """Sparse and meta tensors, and tensors in keyword arguments or inside lists, used to fail deep in
    NumPy or in the user's Julia function; each is one ValueError naming the argument (issue 29, item 10)."""
    total = jl.function("sum")
    x = torch.eye(3, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"argument 1 \(a\) of Base.sum\(a\) is a torch.sparse_coo tensor; .*to_dense"):
        total(x.to_sparse())
    with pytest.raises(ValueError, match=r"argument 1 \(a\) of Base.sum\(a\) is a torch.sparse_csr tensor"):
        total(x.to_sparse_csr())
    with pytest.raises(ValueError, match=r"argument 1 \(a\) of Base.sum\(a\) is on the meta device"):
        total(torch.ones(3, dtype=torch.float64, device="meta"))
    with pytest.raises(ValueError, match=r"keyword argument dims= of Base.sum\(a\) is or holds a tensor"):
        total(x, dims=torch.tensor(1))
    with pytest.raises(ValueError, match=r"keyword argument init= .* is or holds a tensor"):
        total(x, init=[torch.tensor(0.0, dtype=torch.float64)])
    with pytest.raises(ValueError, match=r"argument 1 \(a\) of Base.sum\(a\) is a list holding tensors"):
        total([x, x])
    assert total(x, dims=1).tolist() == [[1.0, 1.0, 1.0]]  # plain keyword arguments still reach Julia


@pytest.mark.julia
def test_non_finite_outputs_are_an_error_unless_allowed(jl, torch):
    log = jl.function("log", core_ndims=0)
    with pytest.raises(ValueError, match=r"Base.log\(.*\) gave a non-finite value in output 1 \(-inf\) at batch index \(1,\)"):
        log(torch.tensor([1.0, 0.0], dtype=torch.float64))
    allowed = jl.function("log", core_ndims=0, check_finite=False)(torch.tensor([1.0, 0.0], dtype=torch.float64))
    assert allowed[1].item() == float("-inf")


@pytest.mark.julia
def test_zygote_errors_in_the_backward_pass_say_so_and_suggest_forwarddiff(jl, torch):
    x = torch.ones(3, dtype=torch.float64, requires_grad=True)
    y = jl.function("LinearAlgebra.normalize!")(x.clone())
    with pytest.raises(jl.JuliaError, match=r"\(its Zygote pullback\) raised .*Mutating arrays is not supported.*mode='forwarddiff'"):
        y.sum().backward()


@pytest.mark.julia
@pytest.mark.parametrize("mode", ["zygote", "forwarddiff"])
def test_second_derivatives_are_refused_rather_than_zero(jl, torch, mode):
    x = torch.tensor([0.3, 0.4], dtype=torch.float64, requires_grad=True)
    f = jl.function("sin", core_ndims=0, mode=mode)
    (g,) = torch.autograd.grad(f(x).sum(), x, create_graph=True)  # the first derivative itself is fine
    assert torch.allclose(g, torch.cos(x))
    with pytest.raises(RuntimeError, match="DPRL|Base.sin is differentiable once"):
        torch.autograd.grad(g.sum(), x)
    with pytest.raises(RuntimeError, match="Base.sin is differentiable once"):
        torch.autograd.functional.hessian(lambda a: f(a).sum(), x.detach())
    with pytest.raises(RuntimeError, match="Base.sin is differentiable once"):
        torch.func.grad(lambda a: torch.func.grad(lambda b: f(b).sum())(a).sum())(x.detach())


@pytest.mark.parametrize("mode", ["zygote", "forwarddiff"])
def test_torch_func_grad_vjp_and_row_by_row_jacrev_work_jvp_in_forwarddiff_mode(jl, torch, mode):
    import torch.autograd.forward_ad as fwAD

    step = jl.function("Pendulum.step", mode=mode, core_ndims=(1, 0))
    rng = np.random.default_rng(5)
    states, actions = torch.tensor(rng.uniform(-1, 1, (3, 2))), torch.tensor(rng.uniform(-1, 1, 3))
    f = lambda s: step(s, actions, variant="gymjl2019")[0]  # noqa: E731
    jacobian = torch.autograd.functional.jacobian(f, states)
    assert torch.allclose(torch.func.jacrev(f, chunk_size=1)(states), jacobian)
    assert torch.allclose(torch.func.grad(lambda s: f(s).sum())(states), jacobian.sum((0, 1)))
    v = torch.tensor(rng.normal(size=(3, 2)))
    assert torch.allclose(torch.func.vjp(f, states)[1](v)[0], torch.einsum("ij,ijkl->kl", v, jacobian))
    tangent = torch.tensor(rng.normal(size=(3, 2)))
    expected = torch.einsum("ijkl,kl->ij", jacobian, tangent)
    if mode == "forwarddiff":
        assert torch.allclose(torch.func.jvp(f, (states,), (tangent,))[1], expected)
        with fwAD.dual_level():
            out = f(fwAD.make_dual(states, tangent))
            assert torch.allclose(fwAD.unpack_dual(out).tangent, expected)
    else:
        with pytest.raises(RuntimeError, match="forward-mode AD .* needs mode='forwarddiff'"):
            torch.func.jvp(f, (states,), (tangent,))
    for transform in (torch.func.jacrev(f), torch.func.vmap(f), torch.func.jacfwd(f)):
        with pytest.raises(RuntimeError, match=r"do not run under torch.func.vmap .* use torch.func.jacrev\(f, chunk_size=1\)|needs mode='forwarddiff'"):
            transform(states)


def test_scalar_outputs_obey_the_array_rules_and_empty_batches_are_named(jl, torch):
    jl.seval("dprl_f32_sum(x) = Float32(sum(x)); dprl_complex_sum(x) = sum(x) + 1im; dprl_big_sum(x) = BigFloat(sum(x))")
    x = torch.tensor([0.1, 0.2], dtype=torch.float64)
    with pytest.raises(ValueError, match="as a Float32 scalar for float64 inputs"):
        jl.function("dprl_f32_sum")(x)
    with pytest.raises(ValueError, match=r"of Julia type Array\{ComplexF64, 0\}"):
        jl.function("dprl_complex_sum")(x)
    with pytest.raises(ValueError, match=r"of Julia type Array\{BigFloat, 0\}"):
        jl.function("dprl_big_sum")(x)
    assert jl.function("dprl_f32_sum")(x.float()).dtype == torch.float32
    with pytest.raises(ValueError, match=r"was given empty tensors \(a\)"):
        jl.function("sin", core_ndims=0)(torch.zeros(0))


def test_julia_backtraces_ride_on_the_exception_and_print_on_request(jl, torch, monkeypatch):
    jl.seval("dprl_fails(x) = x[1] > 0 ? error(\"positive\") : x")
    f = jl.function("dprl_fails")
    with pytest.raises(jl.JuliaError) as raised:
        f(torch.tensor([1.0]))
    assert "\n" not in str(raised.value) and "dprl_fails" in raised.value.julia_backtrace
    monkeypatch.setenv("DPRL_JULIA_BACKTRACE", "1")
    with pytest.raises(jl.JuliaError, match="(?s)positive.*Julia backtrace:.*dprl_fails"):
        f(torch.tensor([1.0]))


def test_threaded_batches_give_the_one_thread_results(jl, torch, tmp_path):
    """Julia's thread count is fixed when it starts: a child process with 2 threads computes what a
    process with one does (this one, when its Julia has one thread; else a second child)."""
    import subprocess
    import sys

    # A step shaped like Pendulum.step's (a state row and a torque in; a state, a reward and a Bool
    # out) whose pullback compiles in a third of the time.
    compute = textwrap.dedent("""
        import juliacall, numpy as np, torch

        def compute(julia):
            juliacall.Main.seval("dprl_threads_step(s, u; scale) = (s .* u .+ sin.(s), scale * sum(abs2, s) * u, u > 0)")
            step = julia.function("Main.dprl_threads_step", core_ndims=(1, 0))
            rng = np.random.default_rng(7)
            states = torch.tensor(rng.uniform(-1, 1, (64, 2)), requires_grad=True)
            torques = torch.tensor(rng.uniform(-2, 2, 64), requires_grad=True)
            nxt, reward, _ = step(states, torques, scale=0.5)
            (nxt.sum() + reward.sum()).backward()
            dot = julia.function("LinearAlgebra.dot", core_ndims=(1, None))
            w = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
            dot(states.detach(), w).sum().backward()
            return np.concatenate([nxt.detach().ravel(), reward.detach(), states.grad.ravel(), torques.grad, w.grad, [julia.threads()]])
    """)
    child = "import sys\nfrom dprl import julia\njulia.start(threads=int(sys.argv[1]))\n" + compute + "np.save(sys.argv[2], compute(julia))\n"

    def in_child(threads):
        out = tmp_path / f"threads{threads}.npy"
        done = subprocess.run([sys.executable, "-c", child, str(threads), str(out)], capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        return np.load(out)

    if jl.threads() == 1:
        namespace = {}
        exec(compute, namespace)
        one = namespace["compute"](jl)
    else:
        one = in_child(1)
    two = in_child(2)
    assert one[-1] == 1 and two[-1] == 2
    assert np.array_equal(one[:-1], two[:-1])


@pytest.mark.julia
def test_in_place_edits_before_backward_are_caught_by_autograd(jl, torch):
    x = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    leaf = x.clone()
    y = jl.function("sum")(leaf)
    leaf.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


@pytest.mark.julia
def test_the_julia_trebuchet_as_a_layer_trains_the_aimer_on_the_pytorch_curve(jl, torch):
    """The README example: the aimer network in PyTorch, the simulator in Julia, Adam on the same
    weights and shots as the all-PyTorch aimer; the per-update losses agree to the cross-check's
    loss tolerance."""
    from dprl.crosscheck import LOSS_TOLERANCE
    from dprl.envs import trebuchet
    from dprl.train import policies
    from dprl.train import trebuchet as aimer

    shoot = jl.function("Trebuchet.shoot", mode="forwarddiff", core_ndims=0)
    winds, targets = (torch.as_tensor(v) for v in trebuchet.shots(np.random.default_rng(0), 48))
    curves = {}
    for label, simulator in (("julia", shoot), ("torch", trebuchet.shoot)):
        model = policies.load_weights(policies.aimer_policy(), policies.glorot_weights(policies.aimer_policy, 0))
        adam, curves[label] = torch.optim.Adam(model.parameters(), lr=1e-2), []
        for batch in torch.arange(48).split(8):
            loss = aimer.aimer_loss(model, winds[batch], targets[batch], shoot=simulator)
            adam.zero_grad()
            loss.backward()
            adam.step()
            curves[label].append(loss.item())
    julia_curve, torch_curve = np.array(curves["julia"]), np.array(curves["torch"])
    assert len(julia_curve) == 6 and np.all(np.isfinite(julia_curve))
    assert np.max(np.abs(julia_curve - torch_curve) / torch_curve) <= LOSS_TOLERANCE
