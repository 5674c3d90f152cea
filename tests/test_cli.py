"""The `dprl` command line, run as a user would."""

import json
import math
import re
import subprocess
import sys
import time

import pytest

from dprl import cli
from dprl.cli import main


def dprl(*args, env=None):
    return subprocess.run([sys.executable, "-m", "dprl.cli", *args], capture_output=True, text=True, env=env, timeout=600)


def test_shoot_prints_distance_and_gradient():
    result = dprl("shoot", "--wind", "-2", "--angle", "45", "--weight", "200", "--grad", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["distance_m"] == pytest.approx(74.7284, abs=1e-3)
    assert out["gradient"]["wind"] == pytest.approx(4.02, abs=0.005)
    assert out["gradient"]["angle_deg"] == pytest.approx(-0.99, abs=0.005)
    assert 0.0505 <= out["gradient"]["weight_lb"] <= 0.0525


def test_shoot_text_output_names_units():
    result = dprl("shoot", "--grad")
    assert result.returncode == 0
    assert "m per degree" in result.stdout and "m per lb" in result.stdout


@pytest.mark.parametrize(
    "args, name",
    [(["--angle", "95"], "--angle must be"), (["--weight", "-1"], "--weight must be"), (["--wind", "nan"], "--wind must be")],
)
def test_bad_values_give_one_clear_line(args, name):
    result = dprl("shoot", *args)
    assert result.returncode == 2
    assert name in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def refused(argv, capsys):
    """Run `dprl ARGV` in this process; it must stop at the arguments: exit 2, one line on stderr."""
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("argv, words", [
    ("shoot --wind -inf", "--wind must be a finite number in [-150, 150], got -inf"),
    ("shoot --wind 1e200", "--wind must be a finite number in [-150, 150]"),
    ("shoot --weight -5", "--weight must be a finite number in (0, 1000000], got -5"),
    ("shoot --angle 0", "--angle must be a finite number in (0, 90)"),
    ("shoot --angle", "--angle: expected one argument"),
    ("shoot --backend fortran", "--backend: invalid choice"),
    ("train trebuchet --batch-size 0", "--batch-size must be a whole number ≥ 1; got 0"),
    ("train trebuchet --time-budget -1", "--time-budget must be a number above 0, finite; got -1.0"),
    ("train trebuchet --time-budget nan", "--time-budget must be a number above 0, finite; got nan"),
    ("train trebuchet --learning-rate 0", "--learning-rate must be"),
    ("train trebuchet --samples -5", "--samples must be a whole number at least 1, got -5"),
    ("train cartpole --seed -1", "--seed must be a whole number in [0, 4294967295], got -1"),
    ("train cartpole --episodes 0", "--episodes must be"),
    ("train pendulum --batch-size -3", "--batch-size must be"),
    ("train pendulum-apg --updates 0", "--updates must be"),
    ("train trebuchet-lm --max-updates 0", "--max-updates must be"),
    ("train cartpole --evaluation-episodes 0", "--evaluation-episodes must be"),
    ("baseline ppo cartpole --seeds -1", "--seeds must be a whole number at least 1, got -1"),
    ("baseline ppo cartpole --steps 0", "--steps must be"),
    ("crosscheck --updates -2", "--updates must be"),
    ("train", "the following arguments are required: TRAINER"),
    ("train cartpole --backend fortran", "--backend: invalid choice"),
    ("train cartpole --backend julia --device cuda", "dprl train cartpole: error: --device cuda: --backend julia trains on the CPU only"),
    ("train pendulum --backend julia --device cuda:1", "dprl train pendulum: error: --device cuda:1: --backend julia trains on the CPU only"),
    ("train pendulum-apg --backend julia --threads 2", "dprl train pendulum-apg: error: --threads: sets torch's threads, and --backend julia"),
    ("train pendulum-apg --backend julia --eager", "dprl train pendulum-apg: error: --eager: chooses how torch runs an update on CUDA"),
    ("train pendulum --eager", "--eager is a flag of dprl train pendulum-apg"),
    ("train trebuchet --backend julia --device cuda", "dprl train trebuchet: error: --device cuda: --backend julia trains on the CPU only"),
    ("train cartpole --optimizer adam", "dprl train cartpole: error: unrecognized arguments: --optimizer adam"),
    ("train cartpole --method apg", "unrecognized arguments: --method apg"),
    ("train cartpole --samples 5", "unrecognized arguments: --samples 5 (--samples is a flag of dprl train trebuchet, dprl train trebuchet-lm)"),
    ("train pendulum --version v0", "dprl train pendulum: error: unrecognized arguments: --version v0 (--version is a flag of dprl, dprl train cartpole)"),
    ("train trebuchet-lm --backend julia", "dprl train trebuchet-lm: error: unrecognized arguments: --backend julia (--backend is a flag of "
                                           "dprl shoot, dprl train trebuchet, dprl train cartpole, dprl train pendulum, dprl train pendulum-apg)"),
    ("train pendulum-apg --variant gymjl2019", "dprl train pendulum-apg: error: unrecognized arguments: --variant gymjl2019 (--variant is a flag of dprl train pendulum)"),
    ("train pendulum --horizon 10", "--horizon is a flag of dprl train pendulum-apg"),
    ("shoot --nope", "unrecognized arguments: --nope"),
])
def test_bad_arguments_of_every_command_are_one_line_naming_the_flag(argv, words, capsys):
    assert words in refused(argv.split(), capsys)


@pytest.mark.parametrize("command", ["train cartpole", "baseline ppo cartpole", "crosscheck --against x", "reproduce", "report"])
def test_an_out_folder_under_a_file_is_refused_before_any_work(command, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    err = refused([*command.split(), "--out", str(blocker / "runs")], capsys)
    assert f"--out must be a folder that can be made, but {blocker} is a file" in err


@pytest.mark.parametrize("wind", ["-10", "-1e1", "-2.", "-.5", "-150"])
def test_negative_winds_are_values(wind, capsys):
    assert main(["shoot", "--wind", wind, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["wind"] == float(wind) and math.isfinite(out["distance_m"])


def test_the_command_line_ranges_are_the_simulators():
    from dprl.envs import trebuchet

    assert (cli.WIND_LIMIT, cli.MAX_WEIGHT_LB) == (trebuchet.WIND_LIMIT, trebuchet.MAX_WEIGHT_LB)


def interrupt(args, ready, tmp_path, ctrl_c):
    """Start `dprl ARGS`, send Ctrl-C once stderr shows `ready`; (exit code, stderr, seconds to exit)."""
    log = tmp_path / "stderr.txt"
    with log.open("w") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "dprl.cli", *args], stdout=subprocess.DEVNULL, stderr=stderr, text=True)
        deadline = time.monotonic() + 300
        while ready not in log.read_text() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process.poll() is None, log.read_text()
        sent = time.monotonic()
        code = ctrl_c(process)
    return code, log.read_text(), time.monotonic() - sent


@pytest.mark.alone
def test_ctrl_c_in_the_aimers_first_evaluation_keeps_the_json_and_skips_the_plots(tmp_path, ctrl_c):
    code, stderr, seconds = interrupt(["train", "trebuchet-lm", "--samples", "64", "--out", str(tmp_path)], "trebuchet aimer", tmp_path, ctrl_c)
    last = stderr.replace("\r", "\n").strip().splitlines()[-1]
    assert code == 130 and "Traceback" not in stderr, stderr
    assert last.startswith("dprl train: interrupted; kept ") and "trebuchet_lm_seed0.json" in last
    saved = json.loads((tmp_path / "trebuchet_lm_seed0.json").read_text())
    assert not saved["finished"] and len(saved["weights"]) == 4
    assert not list(tmp_path.glob("*.png")) and not list(tmp_path.glob("*.gif"))
    assert seconds < 10, seconds  # drawing the plots and the GIF took about 20 s


@pytest.mark.alone
def test_ctrl_c_in_cartpole_training_keeps_the_finished_episodes(tmp_path, ctrl_c):
    code, stderr, _ = interrupt(["train", "cartpole", "--episodes", "1000", "--out", str(tmp_path)], "score=", tmp_path, ctrl_c)
    last = stderr.replace("\r", "\n").strip().splitlines()[-1]
    assert code == 130 and "Traceback" not in stderr, stderr
    assert last.startswith("dprl train: interrupted; kept ") and "cartpole_v1_seed0.json" in last
    assert not list(tmp_path.glob("*.png"))


def test_help_explains_units():
    result = dprl("shoot", "--help")
    assert result.returncode == 0
    for word in ("m/s", "degrees", "pounds"):
        assert word in result.stdout


def test_julia_backend_without_julia_says_so_in_one_line(tmp_path, no_julia_env):
    env = no_julia_env
    result = dprl("shoot", "--backend", "julia", env=env)
    assert result.returncode == 3
    assert "Julia is unavailable" in result.stderr and "PYTHON_JULIAPKG_EXE" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("trainer", ["trebuchet", "cartpole"])
def test_julia_training_without_julia_says_so_in_one_line(trainer, tmp_path, no_julia_env):
    result = dprl("train", trainer, "--backend", "julia", "--out", str(tmp_path), env=no_julia_env)
    assert result.returncode == 3 and "Julia is unavailable" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not list(tmp_path.iterdir())


@pytest.mark.julia
@pytest.mark.parametrize("trainer, flags, stem", [
    ("cartpole", "--episodes 3 --evaluation-episodes 5", "cartpole_v1{}_seed0"),
    ("pendulum", "--rounds 2 --batch-size 2 --steps 40 --evaluation-episodes 3", "pendulum_gymnasium{}_seed0"),
    ("pendulum-apg", "--updates 4 --batch-size 2 --horizon 20 --evaluate-every 2 --fine-tune 0 --evaluation-episodes 3", "pendulum_apg{}_seed0"),
])
def test_train_on_julia_writes_the_pytorch_runs_result_and_learning_curve(jl, trainer, flags, stem, tmp_path, capsys):
    from dprl import crosscheck, plots
    from dprl.results import TrainingResult

    runs = {}
    for backend, suffix in (("torch", ""), ("julia", "_julia")):
        assert main(["train", trainer, *flags.split(), "--backend", backend, "--out", str(tmp_path)]) == 0, capsys.readouterr().err
        runs[backend] = TrainingResult.load(tmp_path / f"{stem.format(suffix)}.json")  # the schema's checks
        assert (tmp_path / f"{stem.format(suffix)}.png").stat().st_size > 0  # its learning curve, drawn as PyTorch's is
    torch_run, julia_run = runs["torch"], runs["julia"]
    assert (torch_run.config.pop("backend"), julia_run.config.pop("backend")) == ("torch", "julia")
    assert julia_run.config == torch_run.config and julia_run.trainer == torch_run.trainer and julia_run.finished
    # The same evaluations at the same points of training, the curves as close as the cross-check holds them.
    assert julia_run.episodes == torch_run.episodes and julia_run.env_steps == torch_run.env_steps and len(julia_run.losses) == len(torch_run.losses)
    assert crosscheck.max_relative(julia_run.losses, torch_run.losses)[1] <= crosscheck.LOSS_TOLERANCE
    assert len(julia_run.scores) > 0 and crosscheck.max_relative(julia_run.scores, torch_run.scores)[1] <= crosscheck.LOSS_TOLERANCE
    assert len(julia_run.wall_time) == len(torch_run.scores) and all(t > 0 for t in julia_run.wall_time)
    assert julia_run.extra == torch_run.extra  # CartPole's episode lengths
    for (w, b), (v, c) in zip(julia_run.weights, torch_run.weights):
        assert crosscheck.max_relative(w, v)[1] <= crosscheck.LOSS_TOLERANCE and crosscheck.max_relative(b, c)[1] <= crosscheck.LOSS_TOLERANCE
    both = plots.learning_curves({"PyTorch": [torch_run], "Julia": [julia_run]}, tmp_path / "both.png", x="wall_time")
    assert both.stat().st_size > 0


@pytest.mark.julia
def test_train_trebuchet_on_julia_writes_its_result(jl, tmp_path, capsys):
    from dprl import cli

    code = cli.main(["train", "trebuchet", "--backend", "julia", "--samples", "300", "--time-budget", "30", "--out", str(tmp_path)])
    assert code == 0, capsys.readouterr().err  # in this process: its Julia, already started, trains
    saved = json.loads((tmp_path / "trebuchet_adam_julia_seed0.json").read_text())
    assert saved["config"]["backend"] == "julia" and saved["finished"] and len(saved["losses"]) == 300
    assert saved["extra"]["updates"][0] == 0 and saved["extra"]["updates"][-1] == 300
    for suffix in ("_misses.png", "_curve.png", "_throw.gif"):
        assert (tmp_path / f"trebuchet_adam_julia_seed0{suffix}").stat().st_size > 0


def test_train_trebuchet_writes_result_plots_and_gif(tmp_path):
    result = dprl("train", "trebuchet-lm", "--time-budget", "3", "--samples", "64", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    for suffix in (".json", "_misses.png", "_curve.png", "_throw.gif"):
        assert (tmp_path / f"trebuchet_lm_seed0{suffix}").stat().st_size > 0
    saved = json.loads((tmp_path / "trebuchet_lm_seed0.json").read_text())
    assert saved["trainer"] == "trebuchet" and saved["finished"] and len(saved["weights"]) == 4
    from PIL import Image

    with Image.open(tmp_path / "trebuchet_lm_seed0_throw.gif") as gif:  # the throw in 120 frames (Pillow merges equal ones), 20 a second, looping
        assert 60 < gif.n_frames <= 120 and gif.info["duration"] == 50 and gif.info["loop"] == 0 and gif.size == (800, 360)


def test_train_cartpole_writes_result_and_curve_and_never_overwrites_an_earlier_run(tmp_path):
    result = dprl("train", "cartpole", "--episodes", "2", "--evaluation-episodes", "5", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    saved = json.loads((tmp_path / "cartpole_v1_seed0.json").read_text())
    assert len(saved["scores"]) == 2 and (tmp_path / "cartpole_v1_seed0.png").exists()
    again = dprl("train", "cartpole", "--episodes", "1", "--evaluation-episodes", "5", "--out", str(tmp_path))
    assert again.returncode == 0 and "cartpole_v1_seed0-2.json" in again.stdout
    assert json.loads((tmp_path / "cartpole_v1_seed0.json").read_text()) == saved  # the first run, untouched
    assert len(json.loads((tmp_path / "cartpole_v1_seed0-2.json").read_text())["scores"]) == 1
    forced = dprl("train", "cartpole", "--episodes", "1", "--evaluation-episodes", "5", "--force", "--threads", "1", "--out", str(tmp_path))
    assert forced.returncode == 0 and len(json.loads((tmp_path / "cartpole_v1_seed0.json").read_text())["scores"]) == 1
    assert not (tmp_path / "cartpole_v1_seed0-3.json").exists()


def test_train_lists_one_subcommand_per_trainer_each_with_only_its_flags(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    listed = capsys.readouterr().out
    assert all(name in listed for name in cli.TRAINERS)
    flags = {}
    for name in cli.TRAINERS:
        with pytest.raises(SystemExit):
            main(["train", name, "--help"])
        flags[name] = set(re.findall(r"(--[a-z][a-z-]+)", capsys.readouterr().out))
    assert all("--backend" in flags[name] for name in ("trebuchet", "cartpole", "pendulum", "pendulum-apg"))
    assert "--backend" not in flags["trebuchet-lm"]
    assert "--variant" in flags["pendulum"] and "--variant" not in flags["pendulum-apg"]
    assert "--horizon" in flags["pendulum-apg"] and "--horizon" not in flags["pendulum"] | flags["cartpole"]
    assert "--window" not in flags["trebuchet"] and "--batch-size" not in flags["cartpole"]
    assert all({"--seed", "--out", "--force", "--threads"} <= f for f in flags.values())


def test_dprl_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    from dprl import __version__

    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"dprl {__version__}"


def test_divergent_training_stops_with_one_line_and_keeps_the_finite_run(tmp_path):
    result = dprl("train", "pendulum", "--learning-rate", "1e300", "--rounds", "2", "--evaluation-episodes", "3", "--out", str(tmp_path))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    (line,) = [ln for ln in result.stderr.splitlines() if ln.startswith("dprl train:")]
    assert "training stopped: update 2 diverged: its loss is nan" in line and "pendulum_gymnasium_seed0.json" in line
    saved = json.loads((tmp_path / "pendulum_gymnasium_seed0.json").read_text())
    assert not saved["finished"] and saved["extra"]["diverged"].startswith("update 2") and len(saved["losses"]) == 1
    assert all(math.isfinite(x) for w, b in saved["weights"] for x in [*sum(w, []), *b])
    assert not (tmp_path / "pendulum_gymnasium_seed0.png").exists()


def test_train_pendulum_apg_writes_result_and_refuses_the_2019_variant(tmp_path):
    result = dprl("train", "pendulum-apg", "--updates", "2", "--batch-size", "4", "--fine-tune", "0", "--evaluation-episodes", "3", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    saved = json.loads((tmp_path / "pendulum_apg_seed0.json").read_text())
    assert saved["trainer"] == "pendulum_apg" and len(saved["losses"]) == 2 and saved["env_steps"] == [2 * 4 * 200]
    refused = dprl("train", "pendulum-apg", "--variant", "gymjl2019", "--out", str(tmp_path))
    assert refused.returncode == 2 and "--variant" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("flags, cuda_graph", [([], None), (["--eager"], False)])
def test_eager_turns_the_apg_cuda_graph_off(tmp_path, monkeypatch, flags, cuda_graph):
    from dprl import recipes

    real, seen = recipes.train_seeded_apg, []
    monkeypatch.setattr(recipes, "train_seeded_apg", lambda *a, **k: seen.append(k.get("cuda_graph")) or real(*a, **k))
    argv = ["train", "pendulum-apg", *flags, "--updates", "1", "--batch-size", "2", "--horizon", "5", "--fine-tune", "0",
            "--evaluation-episodes", "1", "--out", str(tmp_path)]
    assert main(argv) == 0 and seen == [cuda_graph]


def test_a_training_device_this_machine_lacks_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["train", "cartpole", "--device", "bogus", "--episodes", "1", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "device must be a torch device this machine has" in err and "'bogus'" in err

