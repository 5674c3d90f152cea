"""dprl.julia.module: Julia models with their weights inside PyTorch (marker `julia`), and the
user's own Julia code (`dprl.julia.seval`/`include`), the fork guard and Julia backtraces."""

import multiprocessing
import os
import textwrap

import numpy as np
import pytest

pytestmark = pytest.mark.julia

CARTPOLE_FLUX = "using Flux; Flux.f64(Chain(Dense(4 => 24, relu), Dense(24 => 48, relu), Dense(48 => 1, tanh)))"


@pytest.fixture(scope="module")
def torch(jl):
    import torch

    return torch


def _julia_cartpole_policy(jl, weights):
    module = jl.start()
    return module.seval("DPRL.Policies.load_weights!")(module.seval("DPRL.Policies.cartpole_policy()"), jl._layers(weights))


def test_parameters_are_named_by_key_path_in_linear_layout_and_share_julia_memory(jl, torch):
    from dprl.train import policies

    weights = policies.glorot_weights(policies.cartpole_policy, 1)
    julia_policy = _julia_cartpole_policy(jl, weights)
    m = jl.module(julia_policy)
    names = [n for n, _ in m.named_parameters()]
    assert names == ["layers.1.weight", "layers.1.bias", "layers.2.weight", "layers.2.bias", "layers.3.weight", "layers.3.bias"]
    assert m.get_parameter("layers.1.weight").shape == (24, 4) and m.dtype == torch.float64
    assert np.array_equal(m.get_parameter("layers.2.weight").detach().numpy(), weights[1][0])
    # an in-place edit in PyTorch is the Julia model's weight, and the other way round
    with torch.no_grad():
        m.get_parameter("layers.1.bias")[3] = 7.5
    assert float(jl.seval("m -> m.layers[1].bias[4]")(julia_policy)) == 7.5
    jl.seval("m -> (m.layers[3].weight[1, 2] = -2.25; nothing)")(julia_policy)
    assert m.get_parameter("layers.3.weight")[0, 1].item() == -2.25


def test_forward_and_gradients_match_the_pytorch_twin(jl, torch):
    from dprl.train import policies

    weights = policies.glorot_weights(policies.cartpole_policy, 2)
    m = jl.module(_julia_cartpole_policy(jl, weights))
    twin = policies.load_weights(policies.cartpole_policy(), weights)
    x = torch.tensor(np.random.default_rng(2).normal(size=(9, 4)), requires_grad=True)
    x_twin = x.detach().clone().requires_grad_(True)
    y, y_twin = m(x), twin(x_twin)
    assert y.shape == (9, 1) and torch.allclose(y, y_twin, rtol=1e-12, atol=1e-15)
    cotangent = torch.tensor(np.random.default_rng(3).normal(size=(9, 1)))
    (y * cotangent).sum().backward()
    (y_twin * cotangent).sum().backward()
    assert torch.allclose(x.grad, x_twin.grad, rtol=1e-10, atol=1e-14)
    for p, q in zip(m.parameters(), twin.parameters()):
        assert p.grad.shape == q.shape and torch.allclose(p.grad, q.grad, rtol=1e-10, atol=1e-14)
    assert m(x[0].detach()).shape == (1,)  # one sample, as the CartPole trainer passes it
    with pytest.raises(RuntimeError, match="is differentiable once"):
        torch.autograd.functional.hessian(lambda a: m(a).sum(), x.detach()[:2])
    assert torch.autograd.gradcheck(lambda a, *p: m(a), (x.detach()[:3].requires_grad_(), *m.parameters()))


def test_the_julia_cartpole_policy_trains_on_the_pytorch_curve(jl, torch):
    """Issue 24's proof (a): the 2019 policy built in Julia, trained by the PyTorch DP trainer
    with torch's Adam, against the all-PyTorch twin from the same weights and starts."""
    from dprl.train import cartpole as trainer
    from dprl.train import policies

    weights = policies.glorot_weights(policies.cartpole_policy, 0)
    starts = np.random.default_rng(0).uniform(-0.05, 0.05, (44, 4))
    none = np.zeros((0, 4))
    reference = trainer.train_cartpole(weights, starts, none, max_steps=40, solved_score=1e9, progress=False)
    m = jl.module(_julia_cartpole_policy(jl, weights))
    result = trainer.train_cartpole(None, starts, none, max_steps=40, solved_score=1e9, progress=False, policy=m)
    assert len(reference.losses) >= 200 and len(result.losses) == len(reference.losses)
    np.testing.assert_allclose(result.losses[:200], reference.losses[:200], rtol=1e-6, atol=0)  # the cross-check's tolerance
    for (w, b), (w_ref, b_ref) in zip(result.weights, reference.weights):
        np.testing.assert_allclose(w, w_ref, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(b, b_ref, rtol=1e-6, atol=1e-9)


def test_a_flux_model_only_in_julia_learns_a_regression_from_pytorch(jl, torch):
    """Issue 24's proof (b): trained by torch's Adam to a stated loss, then evaluated in Julia."""
    m = jl.module("using Flux, Random; Random.seed!(24); Chain(Dense(1 => 16, tanh), Dense(16 => 1))")
    assert m.dtype == torch.float32  # Flux's default element type, respected
    x = torch.linspace(-2, 2, 64, dtype=torch.float32)[:, None]
    y = torch.sin(2 * x)
    adam = torch.optim.Adam(m.parameters(), lr=0.02)
    first = torch.nn.functional.mse_loss(m(x), y).item()
    for _ in range(600):
        loss = torch.nn.functional.mse_loss(m(x), y)
        adam.zero_grad()
        loss.backward()
        adam.step()
    final = torch.nn.functional.mse_loss(m(x), y).item()
    assert first > 0.2 and final < 0.01, (first, final)
    in_julia = jl.seval("(model, x) -> model(permutedims(x))")(m.to_julia(), x.numpy())
    np.testing.assert_allclose(np.asarray(in_julia).T, m(x).detach().numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("optimizer", ["Adam", "SGD", "LBFGS"])
def test_any_torch_optimizer_trains_it_inside_nn_sequential(jl, torch, optimizer):
    inner = jl.module("using Flux, Random; Random.seed!(5); Flux.f64(Chain(Dense(3 => 8, tanh), Dense(8 => 4)))")
    model = torch.nn.Sequential(torch.nn.Linear(2, 3).double(), inner, torch.nn.Tanh(), torch.nn.Linear(4, 1).double())
    assert {n for n, _ in model.named_parameters()} >= {"1.layers.1.weight", "1.layers.2.bias"}
    generator = torch.Generator().manual_seed(5)
    x = torch.randn(32, 2, dtype=torch.float64, generator=generator)
    y = x[:, :1] * x[:, 1:]
    opt = {"Adam": lambda p: torch.optim.Adam(p, lr=0.01), "SGD": lambda p: torch.optim.SGD(p, lr=0.05),
           "LBFGS": lambda p: torch.optim.LBFGS(p, max_iter=5)}[optimizer](model.parameters())
    before = inner.get_parameter("layers.1.weight").detach().clone()

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        return loss

    first = closure().item()
    for _ in range(30):
        opt.step(closure)
    assert closure().item() < first
    assert not torch.equal(before, inner.get_parameter("layers.1.weight").detach())  # the Julia layer learned too


def test_state_dict_round_trips_and_loads_into_julia(jl, torch):
    source = "using Flux, Random; Random.seed!({}); Flux.f64(Chain(Dense(2 => 3, relu), Dense(3 => 1)))"
    a, b = jl.module(source.format(1)), jl.module(source.format(2))
    x = torch.randn(4, 2, dtype=torch.float64)
    assert not torch.equal(a(x), b(x))
    b.load_state_dict(a.state_dict())
    assert torch.equal(a(x), b(x))
    assert list(a.state_dict()) == ["layers.1.weight", "layers.1.bias", "layers.2.weight", "layers.2.bias"]
    assert np.array_equal(np.asarray(jl.seval("m -> m.layers[1].weight")(b.julia_model)), a.state_dict()["layers.1.weight"].numpy())
    # a parameter whose .data is replaced is copied back into Julia's memory on the next call
    a.get_parameter("layers.2.bias").data = torch.tensor([5.0], dtype=torch.float64)
    a(x)
    assert float(jl.seval("m -> m.layers[2].bias[1]")(a.julia_model)) == 5.0


def test_train_and_eval_set_flux_train_and_test_modes(jl, torch):
    m = jl.module("using Flux; Flux.f64(Chain(Dense(3 => 200), Dropout(0.5)))")
    active = jl.seval("m -> m.layers[2].active")
    x = torch.ones(2, 3, dtype=torch.float64)
    assert m.training and active(m.julia_model) is True
    assert (m(x) == 0).any()  # dropout on in train mode, as PyTorch's
    m.eval()
    assert active(m.julia_model) is False and not (m(x) == 0).any()
    torch.nn.Sequential(m).train()
    assert active(m.julia_model) is True


def test_float32_models_take_float32_and_a_dtype_mix_is_named(jl, torch):
    m = jl.module("using Flux; Chain(Dense(2 => 2))")
    assert m(torch.ones(3, 2)).dtype == torch.float32
    with pytest.raises(ValueError, match=r"input x of Chain\(Dense\(2 => 2\)\) is torch.float64 but the model's arrays are torch.float32"):
        m(torch.ones(3, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"mixes element types \(layers.1.weight is Float64, layers.2.weight is Float32\)"):
        jl.module("using Flux; Chain(Flux.f64(Dense(2 => 2)), Dense(2 => 1))")
    with pytest.raises(ValueError, match="cannot move to cuda"):
        m.to("cuda")
    with pytest.raises(ValueError, match="cannot change dtype to torch.float64"):
        torch.nn.Sequential(m).double()


@pytest.mark.parametrize("model, message", [
    ("sin", "has no trainable arrays; it holds no arrays at all"),
    ("(a = [1, 2, 3],)", r"its arrays are not trainable float arrays: a \(Vector\{Int64\}\)"),
    ("using Flux; Dense(ComplexF64[1 2; 3 4], false)", "parameter weight holds ComplexF64"),
    ("using Flux; Chain(relu)", "has no trainable arrays"),
])
def test_models_pytorch_cannot_hold_are_refused_by_name(jl, torch, model, message):
    with pytest.raises(ValueError, match=message):
        jl.module(model)


def test_bad_inputs_and_julia_errors_are_one_line_and_julia_stays_usable(jl, torch):
    with pytest.raises(ValueError, match="model must be a Julia model .* got a Python Linear"):
        jl.module(torch.nn.Linear(2, 2))
    m = jl.module(CARTPOLE_FLUX)
    for x in (torch.ones(3, 5, dtype=torch.float64), torch.ones(2, 3, 4, dtype=torch.float64)):
        with pytest.raises(ValueError, match=r"has shape .*; it must be \(batch, 4\) or \(4,\)"):
            m(x)
    with pytest.raises(ValueError, match="must be a tensor"):
        m([1.0, 2.0, 3.0, 4.0])
    # a user's layer that throws inside Julia: named, one line, with Julia's backtrace on the exception
    jl.seval(textwrap.dedent("""
        using Flux
        struct Picky; w::Matrix{Float64}; end
        Flux.@layer Picky
        (p::Picky)(x) = all(x .< 10) ? p.w * x : error("Picky wants inputs below 10")
    """))
    picky = jl.module("Picky(ones(2, 2))")
    with pytest.raises(jl.JuliaError) as raised:
        picky(torch.full((3, 2), 20.0, dtype=torch.float64))
    text = str(raised.value)
    assert "\n" not in text and text.startswith("model Picky(") and "ErrorException: Picky wants inputs below 10" in text
    assert "Picky" in raised.value.julia_backtrace and "\n" in raised.value.julia_backtrace
    assert picky(torch.ones(3, 2, dtype=torch.float64)).shape == (3, 2)  # Julia is still usable
    with pytest.raises(ValueError, match=r"raised DimensionMismatch"):
        picky(torch.ones(3, 5, dtype=torch.float64))


# ----------------------------------------------------------------------------------------------
# The user's own Julia code: seval and include into Main
# ----------------------------------------------------------------------------------------------
def test_seval_and_include_define_in_main_where_function_and_module_find_them(jl, torch, tmp_path):
    jl.seval("twice_for_dprl(x) = 2 .* x")
    f = jl.function("twice_for_dprl")
    assert torch.equal(f(torch.tensor([1.0, 2.0])), torch.tensor([2.0, 4.0]))
    source = tmp_path / "mymodel.jl"
    source.write_text("module MyModelForDprl\nusing Flux\nsquare_sum(x) = sum(abs2, x)\nmodel() = Flux.f64(Dense(2 => 1))\nend\n")
    jl.include(source)
    g = jl.function("MyModelForDprl.square_sum")
    x = torch.tensor([1.0, 3.0], requires_grad=True)
    g(x).backward()
    assert torch.equal(x.grad, torch.tensor([2.0, 6.0]))
    assert jl.module("MyModelForDprl.model()")(torch.ones(1, 2, dtype=torch.float64)).shape == (1, 1)
    with pytest.raises(ValueError, match="does not exist"):
        jl.include(tmp_path / "missing.jl")
    with pytest.raises(ValueError, match="could not parse"):
        jl.seval("f(x = ")
    with pytest.raises(jl.JuliaError, match="UndefVarError"):
        jl.seval("no_such_name_for_dprl + 1")


def test_a_package_on_the_load_path_is_found_once_loaded(jl, torch, tmp_path):
    package = tmp_path / "MyPkgForDprl"
    (package / "src").mkdir(parents=True)
    (package / "Project.toml").write_text('name = "MyPkgForDprl"\nuuid = "6f0c5a2e-8d1b-4c3e-9a7f-2b4d6e8f0a1c"\nversion = "0.1.0"\n')
    (package / "src" / "MyPkgForDprl.jl").write_text("module MyPkgForDprl\nf(x) = 3 .* x\nend\n")
    jl.seval(f'push!(LOAD_PATH, "{tmp_path}"); using MyPkgForDprl')
    f = jl.function("MyPkgForDprl.f")
    assert f.name == "MyPkgForDprl.f" and torch.equal(f(torch.tensor([1.0])), torch.tensor([3.0]))


# ----------------------------------------------------------------------------------------------
# Fork guard and threads
# ----------------------------------------------------------------------------------------------
def _touch_julia_in_child(queue):
    import torch

    from dprl import julia

    outcomes = []
    for attempt in (lambda: julia.function("sin")(torch.tensor(1.0)), lambda: julia.shoot(0.0, 45.0, 200.0)):
        try:
            attempt()
            outcomes.append("no error")
        except julia.JuliaForkError as error:
            outcomes.append(str(error))
    queue.put(outcomes)


def test_a_forked_child_gets_one_clear_error_never_a_hang(jl, torch):
    jl.function("sin")  # Julia runs in this process
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_touch_julia_in_child, args=(queue,))
    child.start()
    child.join(timeout=60)
    if child.is_alive():
        child.kill()
        pytest.fail("the forked child hung")
    outcomes = queue.get(timeout=5)
    assert len(outcomes) == 2
    for text in outcomes:
        assert f"Julia was started in process {os.getpid()}" in text and "'spawn' start method" in text and "num_workers=0" in text


def test_start_with_another_thread_count_warns_once_julia_runs(jl):
    running = int(jl.seval("Threads.nthreads()"))
    with pytest.warns(RuntimeWarning, match=f"Julia already runs with {running} thread"):
        jl.start(threads=running + 1)
    with pytest.raises(ValueError, match="threads must be an int >= 1"):
        jl.start(threads=0)
