"""The juliacall bridge: what can be checked without Julia, and (marker `julia`) everything else."""

import json
import os
import subprocess
import sys
try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------------------------
# Without Julia
# ----------------------------------------------------------------------------------------------
def test_juliapkg_json_names_the_julia_package():
    import dprl

    package_dir = Path(dprl.__file__).parent
    spec = json.loads((package_dir / "juliapkg.json").read_text())
    project = tomllib.loads((ROOT / "julia" / "Project.toml").read_text())
    assert spec["julia"] == "1.10 - 1.11"
    entry = spec["packages"]["DPRL"]
    assert entry["uuid"] == project["uuid"] and project["name"] == "DPRL"
    assert entry["dev"] is True
    resolved = package_dir / entry["path"]  # juliapkg resolves paths beside the json file
    assert (resolved / "Project.toml").is_file() and (resolved / "src" / "DPRL.jl").is_file()


def test_julia_project_admits_the_tested_versions():
    project = tomllib.loads((ROOT / "julia" / "Project.toml").read_text())
    allowed = {"Flux", "Zygote", "ChainRulesCore", "ForwardDiff", "Optimisers", "Functors", "NNlib", "LinearAlgebra", "Random", "Statistics"}
    assert set(project["deps"]) <= allowed
    compat = project["compat"]
    assert compat["julia"] == "1.10" and compat["Flux"] == "0.16" and compat["Zygote"] == "0.7"
    assert "1" in compat["ForwardDiff"].split(", ") and compat["ChainRulesCore"] == "1"


def test_every_julia_source_file_is_included():
    src = ROOT / "julia" / "src"
    included = (src / "DPRL.jl").read_text()
    for source in src.glob("*.jl"):
        if source.name != "DPRL.jl":
            assert f'include("{source.name}")' in included
    trainers = (src / "train.jl").read_text()  # module Train, one file a task
    for source in (src / "train").glob("*.jl"):
        assert f'include("train/{source.name}")' in trainers
    tests = (ROOT / "julia" / "test" / "runtests.jl").read_text()
    for source in (ROOT / "julia" / "test").rglob("*.jl"):
        name = source.relative_to(ROOT / "julia" / "test").as_posix()
        assert name == "runtests.jl" or f'include_tests("{name}")' in tests


def test_built_wheel_carries_the_julia_sources(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )
    if result.returncode != 0 and "No module named" in result.stderr:
        pytest.skip(f"cannot build without isolation here: {result.stderr.strip().splitlines()[-1]}")
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("dprl-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("dprl/juliapkg.json", "dprl/julia_src/Project.toml", "dprl/julia_src/src/DPRL.jl",
                   "dprl/julia_src/src/trebuchet.jl", "dprl/julia_src/src/config.jl", "dprl/julia_src/src/train/pendulum.jl",
                   "dprl/julia_src/test/runtests.jl", "dprl/julia_src/test/train/trebuchet.jl"):
        assert needed in names


def test_missing_julia_raises_promptly(tmp_path, no_julia_env):
    env = no_julia_env
    code = (
        "import time, sys\n"
        "from dprl import julia\n"
        "start = time.time()\n"
        "try:\n"
        "    julia.shoot(-2.0, 45.0, 200.0)\n"
        "except julia.JuliaUnavailableError as e:\n"
        "    print('unavailable', round(time.time() - start, 3), 'juliacall' in sys.modules, str(e))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    words = result.stdout.split()
    assert words[0] == "unavailable", result.stdout
    assert float(words[1]) < 5.0
    assert words[2] == "False"  # failed before touching juliacall
    assert "PYTHON_JULIAPKG_EXE" in result.stdout


def test_module_seval_and_include_without_julia_raise_promptly_before_torch(tmp_path, no_julia_env):
    source = tmp_path / "m.jl"
    source.write_text("f(x) = x\n")
    code = (
        "import sys\n"
        "from dprl import julia\n"
        f"for call in (lambda: julia.module('Dense(2 => 1)'), lambda: julia.seval('1 + 1'), lambda: julia.include({str(source)!r})):\n"
        "    try:\n"
        "        call()\n"
        "    except julia.JuliaUnavailableError:\n"
        "        print('unavailable', 'torch' in sys.modules, 'juliacall' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=no_julia_env, timeout=60)
    assert result.stdout.split() == ["unavailable", "False", "False"] * 3, result.stderr


def test_julia_info_without_julia_reports_and_exits_3(tmp_path, no_julia_env):
    env = no_julia_env
    result = subprocess.run([sys.executable, "-m", "dprl.cli", "julia-info"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 3
    assert "loaded: False" in result.stdout


# ----------------------------------------------------------------------------------------------
# With Julia
# ----------------------------------------------------------------------------------------------
@pytest.mark.julia
def test_julia_shoot_and_gradient_match_pytorch(jl):
    import torch

    from dprl.envs import trebuchet

    x = torch.tensor([-2.0, 45.0, 200.0], dtype=torch.float64, requires_grad=True)
    d = trebuchet.shoot(x[0], x[1], x[2])
    (g,) = torch.autograd.grad(d, x)
    assert jl.shoot(-2.0, 45.0, 200.0) == pytest.approx(d.item(), rel=1e-12)
    distance, gradient = jl.shoot_gradient(-2.0, 45.0, 200.0)
    np.testing.assert_allclose(gradient, g.numpy(), rtol=1e-8)
    assert jl.launch(-2.0, 45.0, 200.0)["status"] == 0


@pytest.mark.julia
def test_julia_bad_input_is_a_value_error(jl):
    with pytest.raises(ValueError, match="angle_deg"):
        jl.shoot(-2.0, 95.0, 200.0)
    with pytest.raises(ValueError, match=r"wind must be a finite number of m/s in \[-150"):
        jl.shoot(1e200, 45.0, 200.0)  # finite, but NaN inside the simulator: refused on both stacks


@pytest.mark.julia
def test_julia_env_steps(jl):
    state, reward, done = jl.cartpole_step([0.01, -0.02, 0.03, 0.04], 1.0)
    assert state.shape == (4,) and reward == 1.0 and not done
    state, reward, done = jl.pendulum_step([0.5, 1.0], 5.0, variant="gymnasium")
    assert reward == pytest.approx(-(0.25 + 0.1 + 0.004))


@pytest.mark.julia
def test_julia_trainers_run_and_return_weights(jl):
    rng = np.random.default_rng(0)

    def layers(sizes):
        return [(rng.normal(0, 0.3, (o, i)), np.zeros(o)) for i, o in zip(sizes[:-1], sizes[1:])]

    aim = jl.train_aimer(layers([2, 16, 64, 16, 2]), rng.normal(0, 5, 4), rng.uniform(20, 100, 4), batch_size=2)
    assert aim["losses"].shape == (2,) and aim["weights"][0][0].shape == (16, 2)
    cart = jl.train_cartpole(layers([4, 24, 48, 1]), rng.uniform(-0.05, 0.05, (1, 4)), rng.uniform(-0.05, 0.05, (3, 4)), max_steps=50)
    assert np.all(np.isfinite(cart["losses"])) and cart["scores"].shape == (1,)
    # One update per window: 8 steps in the gymnasium preset's 20-step windows is one, in 4-step windows two.
    pend = jl.train_pendulum(layers([3, 24, 48, 1]), [[0.5, 0.0]], [[1.0, 0.0]], steps=8)
    assert pend["losses"].shape == (1,)
    pend = jl.train_pendulum(layers([3, 24, 48, 1]), [[0.5, 0.0]], [[1.0, 0.0]], steps=8, window=4)
    assert pend["losses"].shape == (2,) and pend["scores"].shape == (1,)


@pytest.mark.julia
def test_julia_trainers_take_a_config(jl):
    """A dprl.config dataclass crosses as Julia's NamedTuple of the same fields (None as nothing),
    and settings replace its fields."""
    from dprl.config import AimerConfig, APGConfig
    from dprl.train import policies

    rng = np.random.default_rng(2)
    winds, targets = 5 * rng.standard_normal(10), rng.uniform(20, 100, 10)
    weights = policies.glorot_weights(policies.aimer_policy, 1)
    assert jl.train_aimer(weights, winds, targets, AimerConfig(batch_size=2, max_updates=3))["losses"].shape == (3,)
    assert jl.train_aimer(weights, winds, targets, AimerConfig(batch_size=2), max_updates=4)["losses"].shape == (4,)
    assert jl.train_aimer(weights, winds, targets, batch_size=4, time_budget=None)["losses"].shape == (3,)  # one pass
    same = jl.train_aimer(weights, winds, targets, AimerConfig(batch_size=2, max_updates=3, learning_rate=1e-2))["losses"]
    np.testing.assert_array_equal(same, jl.train_aimer(weights, winds, targets, batch_size=2, max_updates=3, learning_rate=1e-2)["losses"])
    with pytest.raises(ValueError, match="config must be a dprl.config.AimerConfig"):
        jl.train_aimer(weights, winds, targets, APGConfig())
    with pytest.raises(ValueError, match="AimerConfig has no setting bogus"):
        jl.train_aimer(weights, winds, targets, bogus=1)


@pytest.mark.julia
def test_julia_trainers_refuse_unknown_settings(jl):
    rng = np.random.default_rng(0)
    layers = [(rng.normal(0, 0.3, (o, i)), np.zeros(o)) for i, o in zip([3, 24, 48], [24, 48, 1])]
    with pytest.raises(ValueError, match="loss must be one of"):
        jl.train_pendulum(layers, [[0.5, 0.0]], [[1.0, 0.0]], steps=8, loss="costs")
    with pytest.raises(ValueError, match="loss must be one of"):
        jl.pendulum_window_gradient(layers, [[0.5, 0.0]], 4, loss="nope")
    with pytest.raises(ValueError, match="max_grad_norm"):
        jl.train_pendulum(layers, [[0.5, 0.0]], [[1.0, 0.0]], steps=8, max_grad_norm=-1.0)


@pytest.mark.julia
def test_julia_pendulum_presets_and_explicit_settings_agree(jl):
    """Omitting a setting means the preset's value, on both stacks; inf turns the clip off."""
    from dprl.train import policies
    from dprl.train.pendulum import train_pendulum

    weights = policies.glorot_weights(policies.pendulum_policy, 3)
    starts, evaluation = [[[0.5, 0.0], [-1.0, 0.3]]], [[1.0, 0.0]]
    for settings in ({}, {"max_grad_norm": 1.0}, {"max_grad_norm": float("inf")}, {"max_grad_norm": 0.01}):
        julia_losses = jl.train_pendulum(weights, starts, evaluation, steps=40, **settings)["losses"]
        torch_losses = train_pendulum(weights, starts, evaluation, steps=40, progress=False, **settings).losses
        np.testing.assert_allclose(julia_losses, torch_losses, rtol=1e-9)
    clipped = jl.train_pendulum(weights, starts, evaluation, steps=40, max_grad_norm=0.01)["losses"]
    unclipped = jl.train_pendulum(weights, starts, evaluation, steps=40, max_grad_norm=float("inf"))["losses"]
    assert clipped[1] != unclipped[1]  # the second update sees the first one's (clipped or not) step


@pytest.mark.julia
def test_julia_aimer_reports_and_stops_when_told(jl):
    import ctypes

    from dprl import julia_signals
    from dprl.train import policies

    rng = np.random.default_rng(1)
    weights = policies.glorot_weights(policies.aimer_policy, 0)
    seen = []

    def report(update, layers):
        seen.append(update)
        assert [w.shape for w, _ in layers] == [(16, 2), (64, 16), (16, 64), (2, 16)]
        if julia_signals._installed:  # a Python callback: SIGINT's handler is Python's while it runs (julia_signals.from_julia)
            handler = slice(0, ctypes.sizeof(ctypes.c_void_p))  # struct sigaction begins with it
            assert julia_signals._depth == 0 and julia_signals._current_action().raw[handler] == julia_signals._python_action.raw[handler]
        return update >= 6

    result = jl.train_aimer(weights, 5 * rng.standard_normal(20), rng.uniform(20, 100, 20), evaluate_every=3, on_evaluation=report)
    assert seen == [0, 3, 6] and result["losses"].shape == (6,)
    assert list(result["evaluated_at"]) == [0, 3, 6]


@pytest.mark.julia
@pytest.mark.slow
def test_julia_package_tests_pass(jl):
    """julia/test/runtests.jl inside the running Julia, with the loaded project's Test: no Pkg call,
    so it works in the prepared-project (offline, HPC) mode as in juliapkg's."""
    module = jl.start()
    runtests = ROOT / "julia" / "test" / "runtests.jl"
    # A fresh module per run; the top-level @testset throws when any test fails or errors.
    module.seval("path -> Base.include(Module(:DPRLPackageTests), path)")(str(runtests))


# ----------------------------------------------------------------------------------------------
# Batched calls
# ----------------------------------------------------------------------------------------------
_BATCH_POINTS = np.array([[-2.0, 45.0, 200.0], [3.0, 40.0, 180.0], [0.0, 45.0, 8.0], [0.0, 45.0, 15.38], [-5.0, 70.0, 3000.0]])


@pytest.mark.julia
def test_batched_throws_equal_single_calls(jl):
    result = jl.launch_batch(*_BATCH_POINTS.T)
    distance, gradient, status = jl.shoot_gradient_batch(*_BATCH_POINTS.T)
    for i, point in enumerate(_BATCH_POINTS):
        one = jl.launch(*point)
        for key, value in one.items():
            np.testing.assert_array_equal(result[key][i], value)  # NaN equals NaN here
        assert status[i] == one["status"]
        if one["status"] == 0:
            d, g = jl.shoot_gradient(*point)
            assert distance[i] == d and np.array_equal(gradient[i], g)
        else:
            assert np.isnan(gradient[i]).all()
    # Inputs broadcast, and the batch's shape comes back.
    grid = jl.launch_batch(np.array([[-2.0], [2.0]]), np.array([30.0, 45.0, 60.0]), 200.0)
    assert grid["distance"].shape == (2, 3) and grid["distance"][0, 1] == result["distance"][0]
    with pytest.raises(ValueError, match="angle_deg"):
        jl.launch_batch([0.0, 1.0], [45.0, 95.0], 200.0)


@pytest.mark.julia
def test_batched_env_steps_equal_single_calls(jl):
    rng = np.random.default_rng(3)
    states, actions = rng.uniform(-0.2, 0.2, (6, 4)), rng.choice([-1.0, 1.0], 6)
    nxt, rewards, dones = jl.cartpole_step_batch(states, actions)
    for i in range(6):
        s, r, d = jl.cartpole_step(states[i], actions[i])
        assert np.array_equal(nxt[i], s) and rewards[i] == r and dones[i] == d
    states, torques = rng.uniform(-3, 3, (6, 2)), rng.uniform(-4, 4, 6)
    nxt, rewards, _ = jl.pendulum_step_batch(states, torques, variant="gymjl2019")
    for i in range(6):
        s, r, _ = jl.pendulum_step(states[i], torques[i], variant="gymjl2019")
        assert np.array_equal(nxt[i], s) and rewards[i] == r


@pytest.mark.julia
def test_batched_throws_spread_over_two_julia_threads(jl, tmp_path):
    """With PYTHON_JULIACALL_THREADS=2 (a fresh process: juliacall reads it at start) the batch
    runs on two threads and gives the one-thread process's numbers."""
    script = (
        "import sys, numpy as np\n"
        "from dprl import julia\n"
        "points = np.load(sys.argv[1])\n"
        "d, g, s = julia.shoot_gradient_batch(*points.T)\n"
        "np.save(sys.argv[2], np.column_stack([d, g, s]))\n"
        "print('threads', julia.threads())\n"
    )
    rng = np.random.default_rng(4)
    points = np.column_stack([rng.uniform(-10, 10, 64), rng.uniform(15, 75, 64), rng.uniform(50, 400, 64)])
    np.save(tmp_path / "points.npy", points)
    env = {**os.environ, "PYTHON_JULIACALL_THREADS": "2", "PYTHON_JULIACALL_HANDLE_SIGNALS": "yes"}
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "points.npy"), str(tmp_path / "out.npy")],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "threads 2" in done.stdout
    d, g, s = jl.shoot_gradient_batch(*points.T)
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), np.column_stack([d, g, s]))


@pytest.mark.julia
def test_start_warns_when_juliacall_came_first_without_signal_handling(jl, tmp_path):
    """Julia's signal handling is fixed when it starts: after a bare `import juliacall` a Julia stack
    overflow is a SIGSEGV and Ctrl-C waits for the call, so start() says so (issue 29, item 1)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_JULIACALL_HANDLE_SIGNALS"}
    code = "import juliacall\nfrom dprl import julia\njulia.start()\nprint('started')\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path, check=False)
    assert result.returncode == 0 and "started" in result.stdout, result.stderr[-2000:]
    assert "without PYTHON_JULIACALL_HANDLE_SIGNALS=yes" in result.stderr and "stack overflow kills Python" in result.stderr
    env["PYTHON_JULIACALL_HANDLE_SIGNALS"] = "yes"  # the user's own juliacall with signal handling: nothing to say
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path, check=False)
    assert result.returncode == 0 and "signal handling" not in result.stderr, result.stderr[-2000:]
