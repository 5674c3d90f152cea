"""The `dprl` command line. Run `dprl --help`, or `dprl COMMAND --help`.

torch is imported inside each command, after Julia has started where the command needs Julia:
juliacall documents crashes when torch is loaded first.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from dprl import goals
from dprl.arguments import (Parser, add_config_flags, config_settings, finite_float, one_line, output_folder, positive_int, seed, shown,
                            whole_number)
from dprl.config import (APG_FINE_TUNE, APG_UPDATES, PENDULUM_PRESETS, AimerConfig, APGConfig, CartPoleConfig, LevenbergMarquardtConfig,
                         PendulumConfig)
from dprl.reproduce import REPRODUCTIONS  # names only: importing it loads neither torch nor Julia

EXIT_BAD_INPUT = 2
EXIT_NO_JULIA = 3
EXIT_INTERRUPTED = 130
# dprl.envs.trebuchet's input ranges, repeated here because importing it loads torch, which must
# wait until Julia has started (tests/test_cli.py checks they agree).
WIND_LIMIT = 150.0
MAX_WEIGHT_LB = 1e6


class CommandError(Exception):
    """A failure to report in one line, with an exit code."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def _interrupted(args, kept: str) -> int:
    """Ctrl-C: one line saying what was kept, exit code 130."""
    print(f"dprl {args.command}: interrupted; {kept}", file=sys.stderr)
    return EXIT_INTERRUPTED


def _kept(args) -> str:
    """What an interrupted command leaves behind, for a Ctrl-C the command did not catch itself."""
    if args.command in ("train", "baseline"):
        return f"any finished evaluations are in the result JSON under {args.out}"
    if args.command == "reproduce":
        return f"the reproductions that finished are in {Path(args.out) / 'results'}; REPORT.md was not rewritten"
    if args.command == "crosscheck" and args.record:
        return f"the cases recorded so far are in {args.record}"
    return "nothing was written"


def _start_julia():
    from dprl import julia

    try:
        julia.start()
    except julia.JuliaUnavailableError as error:
        raise CommandError(f"Julia is unavailable: {error}", EXIT_NO_JULIA) from None


# ----------------------------------------------------------------------------------------------
# dprl shoot
# ----------------------------------------------------------------------------------------------
def cmd_shoot(args) -> int:
    if args.backend == "julia":
        _start_julia()
        from dprl import julia

        if args.grad:
            distance, gradient = julia.shoot_gradient(args.wind, args.angle, args.weight)
        else:
            distance, gradient = julia.shoot(args.wind, args.angle, args.weight), None
    else:
        import torch

        from dprl.envs import trebuchet

        inputs = torch.tensor([args.wind, args.angle, args.weight], dtype=torch.float64, requires_grad=args.grad)
        d = trebuchet.shoot(inputs[0], inputs[1], inputs[2])
        distance, gradient = d.item(), None
        if args.grad:
            (g,) = torch.autograd.grad(d, inputs)
            gradient = g.tolist()
    if args.json:
        out = {"wind": args.wind, "angle_deg": args.angle, "weight_lb": args.weight, "distance_m": distance}
        if gradient is not None:
            out["gradient"] = {"wind": gradient[0], "angle_deg": gradient[1], "weight_lb": gradient[2]}
        print(json.dumps(out))
        return 0
    print(f"distance: {distance:.6f} m  (backend: {args.backend})")
    if gradient is not None:
        print(f"d distance / d wind      = {gradient[0]: .6f} m per m/s")
        print(f"d distance / d angle     = {gradient[1]: .6f} m per degree")
        print(f"d distance / d weight    = {gradient[2]: .6f} m per lb")
    return 0


# ----------------------------------------------------------------------------------------------
# dprl julia-info
# ----------------------------------------------------------------------------------------------
def cmd_julia_info(args) -> int:
    from dprl import julia

    report = julia.info()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key, value in report.items():
            print(f"{key}: {value}")
    return 0 if report.get("loaded") else EXIT_NO_JULIA


# ----------------------------------------------------------------------------------------------
# dprl reproduce
# ----------------------------------------------------------------------------------------------
def cmd_reproduce(args) -> int:
    from dprl import reproduce

    report = reproduce.run(out=args.out, quick=args.quick, julia=args.julia, only=args.only)
    print(f"wrote {report}")
    return 0


# ----------------------------------------------------------------------------------------------
# dprl train
# ----------------------------------------------------------------------------------------------
def cmd_train(args) -> int:
    from dprl import plots

    out = Path(args.out)
    if args.env == "trebuchet":
        return train_trebuchet(args, out)
    if args.env == "cartpole":
        from dprl.train import cartpole

        name = f"cartpole_{args.version}_seed{args.seed}"
        train, threshold = cartpole.train_seeded, goals.CARTPOLE_VERSIONS[args.version][1]
        options = {"version": args.version, "device": args.device, **_trainer_settings(args, "cartpole")}
        episodes = args.episodes or 20
    elif args.method == "apg":
        from dprl.train import pendulum

        if args.variant not in (None, "gymnasium"):
            raise ValueError(f"--method apg trains Pendulum-v1 only (--variant gymnasium); got --variant {args.variant}")
        name = f"pendulum_apg_seed{args.seed}"
        train, threshold = pendulum.train_seeded_apg, goals.PENDULUM_SOLVED
        options = {"batch": args.batch, "fine_tune_updates": args.fine_tune, "device": args.device, **_trainer_settings(args, "pendulum apg")}
        episodes = args.episodes or APG_UPDATES
    else:
        from dprl.train import pendulum

        options = {"batch": args.batch, "device": args.device, **_trainer_settings(args, "pendulum")}
        name = f"pendulum_{options.get('variant', PendulumConfig.variant)}_seed{args.seed}"
        train, threshold = pendulum.train_seeded, goals.PENDULUM_SOLVED
        episodes = args.episodes or 20

    def checkpoint(result):
        result.save(out / f"{name}.json")  # after every episode: an interrupted run keeps what it finished

    result = train(args.seed, episodes, evaluation_episodes=args.evaluation_episodes, on_episode=checkpoint, **options)
    checkpoint(result)
    if not result.finished:  # Ctrl-C: keep the JSON, skip the figure, exit at once
        return _interrupted(args, f"kept {len(result.scores)} evaluation(s) in {out / (name + '.json')}")
    figure = plots.learning_curves({f"DP {args.env}": [result]}, out / f"{name}.png", x="episodes",
                                   title=f"{name}: evaluation after each training episode", threshold=threshold)
    last = f"last score {result.scores[-1]:.1f}" if result.scores else "no evaluation"
    print(f"finished: {len(result.scores)} evaluations, {last}; wrote {out / (name + '.json')} and {figure}")
    return 0


# Each trainer's settings become `dprl train` flags (dprl.arguments.add_config_flags).
TRAINER_CONFIGS = {"trebuchet adam": AimerConfig, "trebuchet lm": LevenbergMarquardtConfig, "cartpole": CartPoleConfig,
                   "pendulum": PendulumConfig, "pendulum apg": APGConfig}


def _default_shown(config_class, name: str, default) -> str:
    """--help's word for a default: a Pendulum setting left unset shows each variant's preset."""
    if default is None and config_class is PendulumConfig and name in PENDULUM_PRESETS["gymnasium"]:
        return "preset (" + ", ".join(f"{variant} {shown(preset[name])}" for variant, preset in PENDULUM_PRESETS.items()) + ")"
    return shown(default)


def _trainer_settings(args, who: str) -> dict:
    """The settings of `who`'s config given as flags; a flag of another trainer is an error."""
    others = tuple((label, config) for label, config in TRAINER_CONFIGS.items() if label != who)
    return config_settings(args, TRAINER_CONFIGS[who], who, others)


def train_trebuchet(args, out: Path) -> int:
    import numpy as np
    import torch

    from dprl import plots
    from dprl.envs import trebuchet
    from dprl.train import policies
    from dprl.train import trebuchet as aimer

    if args.backend == "julia" and args.optimizer != "adam":
        raise ValueError("--backend julia trains with --optimizer adam (Levenberg–Marquardt is PyTorch-only)")
    name = f"trebuchet_{args.optimizer}{'_julia' if args.backend == 'julia' else ''}_seed{args.seed}"
    settings = {"device": args.device, **_trainer_settings(args, f"trebuchet {args.optimizer}")}
    settings.setdefault("time_budget", goals.AIMER_TIME_BUDGET_S)
    if args.optimizer == "adam":  # evaluating the 1,000 shots costs about as much as 4,096 training throws
        settings.setdefault("evaluate_every", max(1, 4096 // settings.get("batch_size", AimerConfig.batch_size)))

    def checkpoint(result):
        result.save(out / f"{name}.json")

    result = aimer.train_seeded(args.seed, optimizer=args.optimizer, samples=args.samples, start=args.start, backend=args.backend,
                                stop_at=goals.AIMER_GOAL, on_evaluation=checkpoint, **settings)
    checkpoint(result)
    if not result.finished:  # Ctrl-C: keep the JSON, skip the plots and the GIF (seconds), exit at once
        return _interrupted(args, f"kept {len(result.scores)} evaluation(s) and the weights in {out / (name + '.json')}")
    model = policies.load_weights(policies.aimer_policy(), result.weights)
    winds, targets = trebuchet.evaluation_shots()
    miss, _ = aimer.misses(model, winds, targets, scaled=result.config["scaled"])
    metrics = result.extra["metrics"][-1]
    plots.aimer_misses(winds, targets, 100 * miss.numpy() / targets, out / f"{name}_misses.png",
                       title=f"{name}: mean {metrics['mean_rel_miss_pct']:.2f}%, 95th percentile {metrics['p95_rel_miss_pct']:.2f}%")
    plots.learning_curves({"aimer": [result]}, out / f"{name}_curve.png", x="wall_time", title=name,
                          threshold=goals.AIMER_GOAL["mean_rel_miss_pct"], ylabel="mean relative miss on the evaluation set (%)")
    # The blog's showcase: a strong wind; show the evaluation shot with the strongest wind.
    strongest = int(np.argmax(np.abs(winds)))
    with torch.no_grad():
        angle, weight = aimer.aim(model, torch.tensor(winds[strongest]), torch.tensor(targets[strongest]), result.config["scaled"])
    from dprl.envs import trebuchet_trajectory

    track = trebuchet_trajectory.simulate(float(winds[strongest]), angle.item(), weight.item())
    shown = track.result.distance.item()
    gif = plots.throw_animation(track, out / f"{name}_throw.gif",
                                title=f"wind {winds[strongest]:+.1f} m/s, target {targets[strongest]:.1f} m: landed {shown:.2f} m "
                                      f"({angle.item():.1f}°, {weight.item():.0f} lb)")
    print(f"finished: mean relative miss {metrics['mean_rel_miss_pct']:.2f}%, 95th percentile {metrics['p95_rel_miss_pct']:.2f}%, "
          f"mean miss {metrics['mean_abs_miss_m']:.2f} m after {result.wall_time[-1]:.0f} s; wrote {out / (name + '.json')}, plots and {gif}")
    return 0


# ----------------------------------------------------------------------------------------------
# dprl crosscheck
# ----------------------------------------------------------------------------------------------
def cmd_crosscheck(args) -> int:
    from dprl import crosscheck

    envs = args.env or list(crosscheck.ENVS)
    out = Path(args.out)
    if args.record and args.against:
        raise ValueError("use --record or --against, not both")
    if args.record and args.record_from == "torch":
        paths = crosscheck.record(args.record, envs, args.updates, record_from="torch")
        print(f"recorded the PyTorch side of {len(paths)} cases to {args.record}")
        return 0
    if args.against:
        rows, curves, mode = crosscheck.against(args.against, envs), {}, f"PyTorch against the recording in {args.against}"
    else:
        from dprl import julia

        if not julia.is_started():
            try:
                julia.start()
            except julia.JuliaUnavailableError as error:
                print(f"dprl crosscheck: Julia is unavailable ({error}); compare against a recording instead with --against DIR",
                      file=sys.stderr)
                return crosscheck.EXIT_NO_JULIA
        if args.record:
            paths = crosscheck.record(args.record, envs, args.updates, record_from="julia", jl=julia)
            print(f"recorded the Julia side of {len(paths)} cases to {args.record}")
            return 0
        rows, curves = crosscheck.live(envs, args.updates, jl=julia)
        mode = "Julia and PyTorch, live"
    crosscheck.print_table(rows)
    out.mkdir(parents=True, exist_ok=True)
    (out / "crosscheck.json").write_text(json.dumps({"mode": mode, "rows": rows, "tolerances": {
        "values": crosscheck.VALUE_TOLERANCE, "trebuchet": crosscheck.TREBUCHET_TOLERANCE, "losses": crosscheck.LOSS_TOLERANCE}}, indent=1))
    figure = crosscheck.curve_figure(curves, out / "crosscheck_curves.png")
    failed = [r for r in rows if r["verdict"] != "pass"]
    print(f"{mode}: {len(rows) - len(failed)} of {len(rows)} quantities within tolerance; wrote {out / 'crosscheck.json'}"
          + (f" and {figure}" if figure else ""))
    if failed:
        print(f"dprl crosscheck: {len(failed)} quantities broke their tolerance: " + ", ".join(f"{r['case']}/{r['quantity']}" for r in failed),
              file=sys.stderr)
        return crosscheck.EXIT_MISMATCH
    return 0


# ----------------------------------------------------------------------------------------------
# dprl gradcheck
# ----------------------------------------------------------------------------------------------
def cmd_gradcheck(args) -> int:
    from dprl import crosscheck, gradcheck

    spec = gradcheck.load_spec(args.spec)
    if args.seed is not None:
        spec["seed"] = args.seed
    report = crosscheck.gradcheck(**spec)
    print(report.table())
    if args.json:
        print(f"wrote {gradcheck.write_json(report, args.json)}")
    if not report.passed:
        failed = [r.pair for r in report.rows if r.verdict != "pass"]
        print(f"dprl gradcheck: {len(failed)} pairs broke their tolerance: {'; '.join(failed)}", file=sys.stderr)
        return crosscheck.EXIT_MISMATCH
    return 0


# ----------------------------------------------------------------------------------------------
# dprl baseline
# ----------------------------------------------------------------------------------------------
def cmd_baseline(args) -> int:
    from dprl import plots
    from dprl.goals import best_score
    from dprl.rl.baselines import SCORE_LABELS, THRESHOLDS, train_baseline

    out = Path(args.out)
    results = []
    for seed_index in range(args.seeds):
        name = f"{args.algo}_{args.env}_seed{seed_index}"
        result = train_baseline(args.algo, args.env, seed=seed_index, steps=args.steps or None, evaluation_episodes=args.evaluation_episodes,
                                on_evaluation=lambda r, name=name: r.save(out / f"{name}.json"))
        result.save(out / f"{name}.json")
        results.append(result)
        if not result.finished:
            return _interrupted(args, f"kept {len(results) - 1} finished seed(s) and {len(result.scores)} evaluation(s) of seed {seed_index} in {out}")
    figure = plots.learning_curves({f"{args.algo.upper()} ({args.env})": results}, out / f"{args.algo}_{args.env}.png", x="env_steps",
                                   threshold=THRESHOLDS[args.env], title=f"{args.algo.upper()} on {args.env}, RL Zoo settings",
                                   ylabel=SCORE_LABELS[args.env], ylog=args.env == "trebuchet")
    best = [best_score(args.env, r.scores) for r in results if r.scores]
    print(f"{len(results)} seed(s); best evaluation per seed {[round(b, 1) for b in best]}; wrote {out} and {figure}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="dprl",
        description=(
            "Differentiable Programming vs Reinforcement Learning (Flux blog, 2019), reproduced on "
            "PyTorch and Julia side by side."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    shoot = commands.add_parser(
        "shoot",
        help="throw the trebuchet once and print the distance (and its gradient)",
        description=(
            "Simulate one throw of the 2019 Trebuchet.jl trebuchet. The distance is measured in "
            "metres from the pivot along the throw direction."
        ),
    )
    shoot.add_argument("--wind", type=finite_float(-WIND_LIMIT, WIND_LIMIT), default=-2.0,
                       help="wind speed in m/s along the throw, within ±150; negative is a headwind (default -2)")
    shoot.add_argument("--angle", type=finite_float(0, 90, open_lo=True, open_hi=True), default=45.0,
                       help="release angle in degrees, strictly between 0 and 90 (default 45)")
    shoot.add_argument("--weight", type=finite_float(0, MAX_WEIGHT_LB, open_lo=True), default=200.0,
                       help="counterweight in pounds, positive, at most 1e6 (default 200)")
    shoot.add_argument("--grad", action="store_true", help="also print d distance / d (wind, angle, weight), in m per m/s, m per degree and m per lb")
    shoot.add_argument("--backend", choices=["torch", "julia"], default="torch", help="which stack simulates (default torch; julia needs a Julia runtime)")
    shoot.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    shoot.set_defaults(run=cmd_shoot, needs_julia=lambda a: a.backend == "julia")

    info = commands.add_parser(
        "julia-info",
        help="report the Julia found, the DPRL package path and whether it loads",
        description="Find Julia without downloading it, try to start it and load DPRL, and report.",
    )
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(run=cmd_julia_info, needs_julia=lambda a: True)

    train = commands.add_parser(
        "train",
        help="train a controller by backpropagating through the simulator",
        description=(
            "Train the 2019 DP controller for ENV from seeded initial weights and seeded start states. "
            "Writes OUT/NAME.json (losses, evaluation scores, final weights; rewritten after every "
            "episode, so an interrupted run keeps what it finished) and OUT/NAME.png (learning curve)."
        ),
    )
    train.add_argument("env", choices=["trebuchet", "cartpole", "pendulum"], help="which controller (trebuchet: the aimer)")
    train.add_argument("--seed", type=seed, default=0, help="seeds the initial weights and the start states (default 0)")
    train.add_argument("--episodes", type=positive_int, default=None,
                       help=f"training episodes (pendulum: rounds of --batch parallel episodes, one update each with --method apg; default 20, apg {APG_UPDATES})")
    train.add_argument("--evaluation-episodes", type=positive_int, default=100, help="seeded evaluation episodes after each training episode (default 100)")
    train.add_argument("--version", choices=list(goals.CARTPOLE_VERSIONS), default="v1",
                       help="cartpole: v1 = 500 steps, solved at 475; v0 = 200 steps, solved at 195; sets --max-steps and --solved-score (default v1)")
    train.add_argument("--method", choices=["bptt", "apg"], default="bptt",
                       help="pendulum: bptt = the 2019 trainer, short BPTT windows along each episode; apg = analytic policy gradient, "
                            "whole 200-step episodes from 256 fresh start states a round with the gradient through each step decayed by 0.985 and a torque odd in (θ, θ̇), "
                            f"then --fine-tune updates of {APG_FINE_TUNE['batch']:,} start states with the decay {APG_FINE_TUNE['gradient_decay']}, Pendulum-v1 only (default bptt)")
    train.add_argument("--batch", type=positive_int, default=None, help="pendulum: parallel episodes per round (default: the variant's preset, 64 or 1; apg 256)")
    train.add_argument("--fine-tune", type=whole_number(0), default=APG_FINE_TUNE["updates"],
                       help=f"pendulum --method apg: fine-tune updates after --episodes (default {APG_FINE_TUNE['updates']}; 0: none)")
    train.add_argument("--optimizer", choices=["lm", "adam"], default="lm",
                       help="trebuchet: lm = Levenberg-Marquardt on 2,048 shots (fast); adam = the 2019 setting, batch 1, 100,000 shots (slow) (default lm)")
    train.add_argument("--samples", type=positive_int, default=None, help="trebuchet: training shots (default 2,048 for lm, 100,000 for adam)")
    train.add_argument("--start", choices=["heavy", "plain"], default=None,
                       help="trebuchet: heavy = start near 70° and 3,200 lb, where distance is smooth in the angle; plain = Flux 0.7's "
                            "initialisation, as the 2019 code (default: heavy for lm, plain for adam)")
    train.add_argument("--backend", choices=["torch", "julia"], default="torch",
                       help="trebuchet adam: which stack trains (julia: DPRL's train_aimer on one Julia thread, from the same weights "
                            "and shots, evaluated here in PyTorch; needs a Julia runtime) (default torch)")
    train.add_argument("--device", default="cpu", help="torch device the trainer runs on: cpu (default), cuda, cuda:1, ... "
                                                       "(the trebuchet's Julia backend: cpu only)")
    train.add_argument("--out", type=output_folder, default="runs", help="output folder (default: runs)")
    settings = train.add_argument_group(
        "trainer settings", "each trainer's config (dprl.config) as flags; a flag left out takes that trainer's default, listed per "
                            "trainer (the trebuchet's --time-budget defaults to 60 s here, and adam's --evaluate-every to 4096 / --batch-size)")
    add_config_flags(settings, TRAINER_CONFIGS, _default_shown)
    train.set_defaults(run=cmd_train, needs_julia=lambda a: a.env == "trebuchet" and a.backend == "julia")

    baseline = commands.add_parser(
        "baseline",
        help="train a Stable-Baselines3 agent with the RL Baselines3 Zoo's settings (needs the rl extra)",
        description=(
            "Train ALGO on ENV (dqn or ppo on cartpole = dprl/CartPole-v1; sac, td3 or ppo on pendulum = dprl/Pendulum-v1) "
            "with the RL Baselines3 Zoo's hyperparameters, or sac on trebuchet (dprl/TrebuchetAim-v0, the aimer's task as a "
            "one-step bandit; settings in dprl/rl/baselines.py), evaluating the deterministic policy on seeded episodes "
            "(the trebuchet: the aimer's 1,000 evaluation shots) at fixed step intervals. Writes one result JSON per "
            "seed (the DP trainers' schema; rewritten at every evaluation) and a learning-curve PNG. "
            "Needs: pip install -e \".[rl]\"."
        ),
    )
    baseline.add_argument("algo", choices=["dqn", "ppo", "sac", "td3"])
    baseline.add_argument("env", choices=["cartpole", "pendulum", "trebuchet"],
                          help="cartpole (dprl/CartPole-v1), pendulum (dprl/Pendulum-v1), or trebuchet (dprl/TrebuchetAim-v0, scored by mean relative miss)")
    baseline.add_argument("--steps", type=positive_int, default=None, help="environment steps (default: the zoo's budget, e.g. 50,000 for DQN, 20,000 for SAC)")
    baseline.add_argument("--seeds", type=positive_int, default=1, help="seeds 0..K-1 (default 1)")
    baseline.add_argument("--evaluation-episodes", type=positive_int, default=100, help="seeded evaluation episodes at each evaluation (default 100, as the DP trainers)")
    baseline.add_argument("--out", type=output_folder, default="runs", help="output folder (default: runs)")
    baseline.set_defaults(run=cmd_baseline, needs_julia=lambda a: False)

    check = commands.add_parser(
        "crosscheck",
        help="compare Julia and PyTorch: values, gradients and learning curves from the same inputs",
        description=(
            "Feed both stacks the same seeded inputs (states, actions, weights, data) and compare values, "
            "gradients and per-update training losses in float64 (tolerances: 1e-9 relative for CartPole and "
            "Pendulum, 1e-8 for the trebuchet, 1e-6 for each of the first 200 losses). Needs Julia, unless "
            "--against compares PyTorch with a recording. Exit codes: 0 all within tolerance, 1 a tolerance "
            "broken, 2 bad arguments, 3 Julia unavailable."
        ),
    )
    check.add_argument("--env", nargs="+", choices=["trebuchet", "cartpole", "pendulum"], help="which environments (default all)")
    check.add_argument("--updates", type=positive_int, default=50, help="training updates compared per learning curve (default 50)")
    check.add_argument("--out", type=output_folder, default="comparisons/crosscheck", help="folder for crosscheck.json and the figure (default comparisons/crosscheck)")
    check.add_argument("--record", metavar="DIR", type=output_folder, help="write the Julia side's outputs, inputs and versions to DIR instead of comparing")
    check.add_argument("--against", metavar="DIR", help="compare PyTorch with a recording in DIR (no Julia needed)")
    check.add_argument("--record-from", choices=["julia", "torch"], default="julia",
                       help="with --record: which side to record (torch records PyTorch itself, to test the machinery)")
    check.set_defaults(run=cmd_crosscheck, needs_julia=lambda a: not a.against and not (a.record and a.record_from == "torch"))

    grad = commands.add_parser(
        "gradcheck",
        help="compare any Julia function with any PyTorch function: values, gradients, finite differences",
        description=(
            "Run the same float64 inputs through a Julia function and a PyTorch function named in SPEC (a .toml "
            "or .py file: julia, torch, inputs, and optionally mode, core_ndims, tolerances, seed, fd_step, "
            "max_fd_coordinates, julia_kwargs) and compare values, the two reverse-mode gradients and each "
            "side's central finite differences by max-norm relative error (default tolerances 1e-9, 1e-8, 1e-5). "
            "Exit codes: 0 all pairs within tolerance, 1 a tolerance broken, 2 bad spec or inputs, 3 Julia unavailable."
        ),
    )
    grad.add_argument("spec", help="the spec file (.toml or .py), e.g. comparisons/gradcheck/trebuchet.toml")
    grad.add_argument("--seed", type=seed, help="override the spec's seed (inputs drawn from the spec, cotangents, FD sample)")
    grad.add_argument("--json", metavar="PATH", help="also write the report as JSON to PATH")
    grad.set_defaults(run=cmd_gradcheck, needs_julia=lambda a: True)

    reproduce = commands.add_parser(
        "reproduce",
        help="reproduce the blog's published results and write comparisons/REPORT.md",
        description=(
            "Run every available reproduction of the blog's claims, write result JSON and figures "
            "under OUT/results and a report OUT/REPORT.md with each claim, our measurement, the "
            "command that measured it and whether it holds."
        ),
    )
    reproduce.add_argument("--quick", action="store_true", help="smaller budgets (a few minutes on 2 CPU cores); the report says so")
    reproduce.add_argument("--out", type=output_folder, default="comparisons", help="folder for REPORT.md and results/ (default: comparisons)")
    reproduce.add_argument(
        "--julia", choices=["auto", "off"], default="auto",
        help="auto: include the Julia rows when Julia can start, else mark them 'not run: no Julia' (default); off: skip them",
    )
    reproduce.add_argument("--only", nargs="+", metavar="NAME",
                           help=f"run only these reproductions ({', '.join(f.__name__ for f in REPRODUCTIONS)}); "
                                "the report keeps the other rows from their result files")
    reproduce.set_defaults(run=cmd_reproduce, needs_julia=lambda a: a.julia == "auto")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # bad arguments: one line and exit 2 (arguments.Parser)
    try:
        return _run(args)
    except KeyboardInterrupt:
        return _interrupted(args, _kept(args))


def _run(args) -> int:
    if args.needs_julia(args) and args.command != "reproduce":
        # juliacall must be loaded before torch; the command imports torch later.
        from dprl import julia

        try:
            julia.start()
        except julia.JuliaUnavailableError as error:
            if args.command in ("julia-info", "crosscheck"):
                pass  # they report the failure themselves
            else:
                print(f"dprl {args.command}: Julia is unavailable: {error}", file=sys.stderr)
                return EXIT_NO_JULIA
    elif args.needs_julia(args):
        # reproduce uses a Julia that is already installed and never downloads one.
        from dprl import julia

        if julia.locate_julia() is not None:
            try:
                julia.start()
            except julia.JuliaUnavailableError:
                pass  # the report marks the Julia rows "not run: no Julia", with the reason
    try:
        return args.run(args)
    except CommandError as error:
        print(f"dprl {args.command}: {one_line(error)}", file=sys.stderr)
        return error.code
    except (ValueError, RuntimeError, OSError) as error:  # OSError: a file or folder it could not read or write
        print(f"dprl {args.command}: {one_line(error)}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
