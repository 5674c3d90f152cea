"""The `dprl` command line. Run `dprl --help`, or `dprl COMMAND --help`.

torch is imported inside each command, after Julia has started where the command needs Julia:
juliacall documents crashes when torch is loaded first.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from dprl import __version__, goals
from dprl.arguments import (Parser, add_config_flags, config_settings, finite_float, one_line, output_folder, positive_int, seed, shown,
                            whole_number)
from dprl.config import PENDULUM_PRESETS, AimerConfig, APGConfig, CartPoleConfig, LevenbergMarquardtConfig, PendulumConfig
from dprl.recipes import APG_FINE_TUNE, APG_UPDATES  # constants only: importing it loads neither torch nor Julia
from dprl.reproduce import REPRODUCTIONS  # names only: importing it loads neither torch nor Julia
from dprl.results import Diverged

EXIT_FAILED = 1  # a failed check, or a training run that diverged
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

        from dprl.envs import trebuchet_fast

        inputs = torch.tensor([args.wind, args.angle, args.weight], dtype=torch.float64, requires_grad=args.grad)
        d = trebuchet_fast.shoot(inputs[0], inputs[1], inputs[2])
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
    from dprl import dp_vs_rl, reproduce
    from dprl.report import claims_table

    try:
        report = reproduce.run(out=args.out, quick=args.quick, julia=args.julia, only=args.only, jobs=args.jobs, ray=args.ray,
                               threads=args.threads, reuse_stale=args.reuse_stale)
    except dp_vs_rl.RunsFailed as error:
        raise CommandError(f"{error}; REPORT.md was not rewritten", EXIT_FAILED) from None
    print(claims_table(args.out))
    print(f"\nthe report: {report}")
    return 0


# ----------------------------------------------------------------------------------------------
# dprl report
# ----------------------------------------------------------------------------------------------
def cmd_report(args) -> int:
    from dprl import report

    if args.check:
        path = Path(args.out) / "REPORT.md"
        fresh = report.render_text(Path(args.out))
        if not path.exists() or path.read_text() != fresh:
            print(f"dprl report: {path} differs from a fresh render of {Path(args.out) / 'results'}; run `dprl report --out {args.out}`", file=sys.stderr)
            return EXIT_FAILED
        print(f"{path} is a fresh render of {Path(args.out) / 'results'}")
        return 0
    path = report.render(args.out)
    print(report.claims_table(args.out))
    print(f"\nwrote {path}")
    return 0


# ----------------------------------------------------------------------------------------------
# dprl train TRAINER: one subcommand per trainer, each with its config's flags and its own
# ----------------------------------------------------------------------------------------------
# {subcommand: (config, one line for `dprl train --help`)}; each config's fields become its flags
# (dprl.arguments.add_config_flags), so a flag of another trainer is unknown to the subcommand.
TRAINERS = {
    "trebuchet": (AimerConfig, "the 2019 aimer: Adam on the squared miss through the simulator, one shot per update by default"),
    "trebuchet-lm": (LevenbergMarquardtConfig, "the aimer by Levenberg–Marquardt on 2,048 shots (reaches the aiming goal in about a minute)"),
    "cartpole": (CartPoleConfig, "the 2019 CartPole controller: straight-through sign, BPTT over 8-step windows"),
    "pendulum": (PendulumConfig, "the 2019 Pendulum controller: BPTT over short windows along each episode"),
    "pendulum-apg": (APGConfig, "Pendulum-v1 by analytic policy gradient: whole 200-step episodes, the gradient decayed through each step"),
}


# The trainers with a Julia twin, and what `--backend julia` does for each.
_SAME = "from the same seeded weights and start states as PyTorch, evaluated in Julia on the same evaluation episodes and schedule"
JULIA_BACKENDS = {
    "trebuchet": "which stack trains (julia: DPRL's train_aimer on one Julia thread, from the same weights and shots, evaluated here in "
                 "PyTorch; needs a Julia runtime)",
    "cartpole": f"which stack trains (julia: DPRL's train_cartpole on one Julia thread, {_SAME}; the same result file, plus "
                "config.backend; needs a Julia runtime)",
    "pendulum": f"which stack trains (julia: DPRL's train_pendulum on one Julia thread, {_SAME}; the same result file, plus "
                "config.backend; needs a Julia runtime)",
    "pendulum-apg": f"which stack trains (julia: DPRL's train_pendulum_apg on one Julia thread, both phases, {_SAME}; the same result "
                    "file, plus config.backend; needs a Julia runtime)",
}
# The flags --backend julia refuses: the Julia trainers run on the CPU, and only the aimer's evaluation runs in torch.
JULIA_REFUSES = {"trebuchet": ("--device",), "cartpole": ("--device", "--threads"), "pendulum": ("--device", "--threads"),
                 "pendulum-apg": ("--device", "--threads", "--eager")}


def julia_refusal(args) -> str | None:
    """Why `args` cannot train on Julia (a flag that makes no sense there), or None."""
    if getattr(args, "backend", "torch") != "julia":
        return None
    refused = getattr(args, "julia_refuses", ())
    if "--device" in refused and args.device != "cpu":
        return f"--device {args.device}: --backend julia trains on the CPU only (leave --device out)"
    if "--threads" in refused and args.threads is not None:
        return "--threads: sets torch's threads, and --backend julia trains and evaluates on one Julia thread (leave --threads out)"
    if "--eager" in refused and getattr(args, "eager", False):
        return "--eager: chooses how torch runs an update on CUDA, and --backend julia trains on the CPU (leave --eager out)"
    return None


def _default_shown(config_class, name: str, default) -> str:
    """--help's word for a default: a Pendulum setting left unset shows each variant's preset, and
    the aimers' time budget the command line's own."""
    if default is None and config_class is PendulumConfig and name in PENDULUM_PRESETS["gymnasium"]:
        return "preset (" + ", ".join(f"{variant} {shown(preset[name])}" for variant, preset in PENDULUM_PRESETS.items()) + ")"
    if name == "time_budget" and config_class in (AimerConfig, LevenbergMarquardtConfig):
        return f"{goals.AIMER_TIME_BUDGET_S:g} s here"
    if name == "evaluate_every" and config_class is AimerConfig:
        return "4096 / --batch-size here"
    return shown(default)


def _run_path(args, name: str) -> Path:
    """OUT/NAME.json, or where that holds an earlier run and --force is not given, the first free
    OUT/NAME-2.json, NAME-3.json, ...: a rerun never silently overwrites a result."""
    out = Path(args.out)
    path, k = out / f"{name}.json", 1
    while path.exists() and not args.force:
        k += 1
        path = out / f"{name}-{k}.json"
    return path


def _stop_if_diverged(result, path: Path) -> None:
    """A run stopped at a non-finite loss or weight: one line saying which update, exit 1."""
    if result.extra.get("diverged"):
        raise CommandError(f"training stopped: {result.extra['diverged']}; kept the {len(result.losses)} update(s) and "
                           f"{len(result.scores)} evaluation(s) before it, and the last finite weights, in {path}", EXIT_FAILED)


def cmd_train(args) -> int:
    import torch

    from dprl import plots

    if args.threads:
        torch.set_num_threads(args.threads)
    settings = config_settings(args, TRAINERS[args.trainer][0], args.trainer)
    if args.trainer in ("trebuchet", "trebuchet-lm"):
        return train_trebuchet(args, settings)
    on_julia = args.backend == "julia"
    if args.trainer == "cartpole":
        from dprl import recipes

        name, train, threshold = f"cartpole_{args.version}", recipes.train_seeded_cartpole, goals.CARTPOLE_VERSIONS[args.version][1]
        count, options = args.episodes, {"version": args.version}
    elif args.trainer == "pendulum-apg":
        from dprl import recipes

        name, train, threshold = "pendulum_apg", recipes.train_seeded_apg, goals.PENDULUM_SOLVED
        count, options = args.updates, {"batch": args.batch_size, "fine_tune_updates": args.fine_tune}
        if args.eager:
            options["cuda_graph"] = False
    else:
        from dprl import recipes

        name, train, threshold = f"pendulum_{settings.get('variant', PendulumConfig.variant)}", recipes.train_seeded_pendulum, goals.PENDULUM_SOLVED
        count, options = args.rounds, {"batch": args.batch_size}
    if on_julia:
        options["backend"] = "julia"  # on the CPU (julia_refusal): no device
    else:
        options["device"] = args.device
    path = _run_path(args, f"{name}{'_julia' if on_julia else ''}_seed{args.seed}")

    def checkpoint(result):
        result.save(path)  # after every episode: an interrupted run keeps what it finished

    result = train(args.seed, count, evaluation_episodes=args.evaluation_episodes, on_episode=checkpoint, **options, **settings)
    checkpoint(result)
    _stop_if_diverged(result, path)
    if not result.finished:  # Ctrl-C: keep the JSON, skip the figure, exit at once
        return _interrupted(args, f"kept {len(result.scores)} evaluation(s) in {path}")
    figure = plots.learning_curves({f"DP {args.trainer}{' (Julia)' if on_julia else ''}": [result]}, path.with_suffix(".png"), x="episodes",
                                   title=f"{path.stem}: evaluation after each training episode", threshold=threshold)
    last = f"last score {result.scores[-1]:.1f}" if result.scores else "no evaluation"
    print(f"finished: {len(result.scores)} evaluations, {last}; wrote {path} and {figure}")
    return 0


def train_trebuchet(args, settings: dict) -> int:
    import numpy as np
    import torch

    from dprl import plots, recipes
    from dprl.envs import trebuchet
    from dprl.train import policies
    from dprl.train import trebuchet as aimer

    optimizer = "lm" if args.trainer == "trebuchet-lm" else "adam"
    backend = args.backend
    path = _run_path(args, f"trebuchet_{optimizer}{'_julia' if backend == 'julia' else ''}_seed{args.seed}")
    settings.setdefault("time_budget", goals.AIMER_TIME_BUDGET_S)
    if optimizer == "adam":  # evaluating the 1,000 shots costs about as much as 4,096 training throws
        settings.setdefault("evaluate_every", max(1, 4096 // settings.get("batch_size", AimerConfig.batch_size)))

    def checkpoint(result):
        result.save(path)

    result = recipes.train_seeded_aimer(args.seed, optimizer=optimizer, samples=args.samples, start=args.start, backend=backend,
                                        stop_at=goals.AIMER_GOAL, on_evaluation=checkpoint, device=args.device, **settings)
    checkpoint(result)
    _stop_if_diverged(result, path)
    if not result.finished:  # Ctrl-C: keep the JSON, skip the plots and the GIF (seconds), exit at once
        return _interrupted(args, f"kept {len(result.scores)} evaluation(s) and the weights in {path}")
    stem = path.with_suffix("")
    model = policies.load_weights(policies.aimer_policy(), result.weights)
    winds, targets = trebuchet.evaluation_shots()
    miss, _ = aimer.misses(model, winds, targets, scaled=result.config["scaled"])
    metrics = result.extra["metrics"][-1]
    plots.aimer_misses(winds, targets, 100 * miss.numpy() / targets, Path(f"{stem}_misses.png"),
                       title=f"{stem.name}: mean {metrics['mean_rel_miss_pct']:.2f}%, 95th percentile {metrics['p95_rel_miss_pct']:.2f}%")
    plots.learning_curves({"aimer": [result]}, Path(f"{stem}_curve.png"), x="wall_time", title=stem.name,
                          threshold=goals.AIMER_GOAL["mean_rel_miss_pct"], ylabel="mean relative miss on the evaluation set (%)")
    # The blog's showcase: a strong wind; show the evaluation shot with the strongest wind.
    strongest = int(np.argmax(np.abs(winds)))
    with torch.no_grad():
        angle, weight = aimer.aim(model, torch.tensor(winds[strongest]), torch.tensor(targets[strongest]), result.config["scaled"])
    from dprl.envs import trebuchet_trajectory

    track = trebuchet_trajectory.simulate(float(winds[strongest]), angle.item(), weight.item())
    shown_distance = track.result.distance.item()
    gif = plots.throw_animation(track, Path(f"{stem}_throw.gif"),
                                title=f"wind {winds[strongest]:+.1f} m/s, target {targets[strongest]:.1f} m: landed {shown_distance:.2f} m "
                                      f"({angle.item():.1f}°, {weight.item():.0f} lb)")
    print(f"finished: mean relative miss {metrics['mean_rel_miss_pct']:.2f}%, 95th percentile {metrics['p95_rel_miss_pct']:.2f}%, "
          f"mean miss {metrics['mean_abs_miss_m']:.2f} m after {result.wall_time[-1]:.0f} s; wrote {path}, plots and {gif}")
    return 0


def _add_train_parsers(commands) -> None:
    train = commands.add_parser(
        "train",
        help="train a controller by backpropagating through the simulator",
        description=(
            "Train one of the DP trainers from seeded initial weights and seeded start states. Each writes "
            "OUT/NAME.json (losses, evaluation scores, final weights; rewritten after every episode, so an "
            "interrupted run keeps what it finished) and its plots; a rerun writes NAME-2.json and so on "
            "unless --force. `dprl train TRAINER --help` lists that trainer's flags."
        ),
    )
    trainers = train.add_subparsers(dest="trainer", required=True, metavar="TRAINER")
    for name, (config_class, summary) in TRAINERS.items():
        sub = trainers.add_parser(name, help=summary, description=f"{summary[0].upper()}{summary[1:]}.")
        sub.add_argument("--seed", type=seed, default=0, help="seeds the initial weights and the start states (default 0)")
        if name == "trebuchet":
            sub.add_argument("--samples", type=positive_int, default=None, help="training shots, one pass (default 100,000, the 2019 setting)")
            sub.add_argument("--start", choices=["plain", "heavy"], default=None,
                             help="plain = Flux 0.7's initialisation, as the 2019 code; heavy = start near 70° and 3,200 lb, where distance is "
                                  "smooth in the angle (default plain)")
        elif name == "trebuchet-lm":
            sub.add_argument("--samples", type=positive_int, default=None, help="training shots, all in every step (default 2,048)")
            sub.add_argument("--start", choices=["heavy", "plain"], default=None,
                             help="heavy = start near 70° and 3,200 lb, where distance is smooth in the angle; plain = Flux 0.7's "
                                  "initialisation (default heavy)")
        elif name == "cartpole":
            sub.add_argument("--episodes", type=positive_int, default=20, help="training episodes, an evaluation after each (default 20)")
            sub.add_argument("--version", choices=list(goals.CARTPOLE_VERSIONS), default="v1",
                             help="v1 = 500 steps, solved at 475; v0 = 200 steps, solved at 195; sets --max-steps and --solved-score (default v1)")
        elif name == "pendulum":
            sub.add_argument("--rounds", type=positive_int, default=20,
                             help="training rounds of --batch-size parallel episodes, an evaluation after each (default 20)")
            sub.add_argument("--batch-size", type=positive_int, default=None, help="parallel episodes a round (default: the variant's preset, 64 or 1)")
        else:
            sub.add_argument("--updates", type=positive_int, default=APG_UPDATES, help=f"updates of the first phase (default {APG_UPDATES})")
            sub.add_argument("--batch-size", type=positive_int, default=None, help="start states an update in the first phase (default 256)")
            sub.add_argument("--fine-tune", type=whole_number(0), default=APG_FINE_TUNE["updates"],
                             help=f"fine-tune updates after the first phase, {APG_FINE_TUNE['batch']:,} start states each with the decay "
                                  f"{APG_FINE_TUNE['gradient_decay']} (default {APG_FINE_TUNE['updates']}; 0: none)")
            sub.add_argument("--eager", action="store_true",
                             help="on a CUDA device, run each update op by op instead of replaying it as one CUDA graph (the default there; "
                                  "the same losses to rounding); no effect on the CPU")
        if name in ("cartpole", "pendulum", "pendulum-apg"):
            sub.add_argument("--evaluation-episodes", type=positive_int, default=100, help="seeded evaluation episodes at each evaluation (default 100)")
        if name in JULIA_BACKENDS:
            sub.add_argument("--backend", choices=["torch", "julia"], default="torch", help=JULIA_BACKENDS[name] + " (default torch)")
            sub.set_defaults(julia_refuses=JULIA_REFUSES[name])
        sub.add_argument("--threads", type=positive_int, default=None,
                         help="torch threads (default: torch's own choice)" + (" (not with --backend julia)" if "--threads" in JULIA_REFUSES.get(name, ()) else ""))
        sub.add_argument("--device", default="cpu", help="torch device the trainer runs on: cpu (default), cuda, cuda:1, ..."
                                                         + (" (--backend julia: cpu only)" if name in JULIA_BACKENDS else ""))
        sub.add_argument("--out", type=output_folder, default="runs", help="output folder (default: runs)")
        sub.add_argument("--force", action="store_true", help="overwrite an earlier run's result of the same name instead of writing NAME-2.json")
        add_config_flags(sub.add_argument_group("trainer settings", f"the fields of dprl.config.{config_class.__name__}"),
                         {name: config_class}, _default_shown)
        sub.set_defaults(run=cmd_train, needs_julia=lambda a: a.backend == "julia")
        if name not in JULIA_BACKENDS:
            sub.set_defaults(backend="torch")


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
    missing = []
    if args.against:
        rows, curves, mode = crosscheck.against(args.against, envs), {}, f"PyTorch against the recording in {args.against}"
        missing = crosscheck.missing_recordings(args.against, envs)
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
    (out / "crosscheck.json").write_text(json.dumps({"mode": mode, "rows": rows, "not_recorded": missing, "tolerances": {
        "values": crosscheck.VALUE_TOLERANCE, "trebuchet": crosscheck.TREBUCHET_TOLERANCE, "losses": crosscheck.LOSS_TOLERANCE}}, indent=1))
    figure = crosscheck.curve_figure(curves, out / "crosscheck_curves.png")
    failed = [r for r in rows if r["verdict"] != "pass"]
    if missing:
        selected = len(crosscheck.selected(envs))
        print(f"not compared: {args.against} holds no recording of {', '.join(missing)} ({selected - len(missing)} of {selected} cases recorded)")
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
    # Everything the command line and the specs say is checked before Julia starts (a bad spec is
    # exit 2 even without Julia) and before torch loads (juliacall must come first).
    from dprl import gradcheck

    if args.json:
        gradcheck.check_json_path(args.json)
    overrides = _gradcheck_overrides(args)
    if args.julia or args.torch or args.input:
        if args.spec:
            raise ValueError("give either spec files or --julia/--torch/--input, not both")
        missing = [flag for flag, value in (("--julia", args.julia), ("--torch", args.torch), ("--input", args.input)) if not value]
        if missing:
            raise ValueError(f"the quick form needs --julia NAME, --torch module:function and --input (missing {', '.join(missing)})")
        specs = [gradcheck.check_spec({"julia": args.julia, "torch": args.torch, "inputs": _quick_inputs(args.input), **overrides(None)},
                                      "(command line)")]
    elif args.spec:
        specs = []
        for path in args.spec:
            specs.append(gradcheck.read_spec(path, overrides))
    else:
        raise ValueError("give a spec file (e.g. comparisons/gradcheck/trebuchet.toml) or --julia NAME --torch module:function --input ...")
    def resolve(spec):
        resolved = gradcheck.resolve_spec(spec)
        if "__python__" in spec:
            resolved = gradcheck.check_spec({**resolved, **overrides(resolved)}, spec["__python__"])
        return resolved

    resolved_specs = None
    if any(gradcheck.spec_needs_julia(s) for s in specs):
        from dprl import julia

        try:
            julia.start()
        except julia.JuliaUnavailableError as error:
            # A Python spec is only checked by running it, which may import torch, and torch must load
            # after juliacall; but with no Julia, juliacall never loads, so the order no longer matters
            # and every spec is run and checked here: a bad spec stays exit 2, and exit 3 means a valid
            # spec needs the missing Julia. (A subprocess would run the user's code twice.)
            try:
                resolved_specs = [resolve(spec) for spec in specs]
            except julia.JuliaUnavailableError:  # the spec itself calls Julia (julia.function at top level)
                pass
            if resolved_specs is None or any(isinstance(r["julia"], str) or gradcheck._is_julia(r["julia"]) for r in resolved_specs):
                raise CommandError(f"Julia is unavailable: {error}", EXIT_NO_JULIA) from None
    reports = []
    for k, spec in enumerate(specs):
        resolved = resolve(spec) if resolved_specs is None else resolved_specs[k]
        report = gradcheck.gradcheck(**resolved)
        print(report.table() + ("\n" if len(specs) > 1 else ""))
        reports.append(report)
    if args.json:
        path = gradcheck.check_json_path(args.json)
        if len(reports) == 1:
            gradcheck.write_json(reports[0], path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps([r.to_dict() for r in reports], indent=1, default=gradcheck._jsonable))
        print(f"wrote {path}")
    failed = [f"{r.julia}: {row.check}" + (f" ({row.part})" if row.part != "all" else "") for r in reports for row in r.failed]
    if failed:
        print(f"dprl gradcheck: {len(failed)} checks broke their tolerance: {'; '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _gradcheck_overrides(args):
    """A function from a spec (or None) to the keys the command line overrides in it."""
    flags = {"seed": args.seed, "mode": args.mode, "directions": args.directions, "fd_budget_s": args.fd_budget,
             "max_fd_coordinates": args.max_fd_coordinates, "second_order": True if args.second_order else None,
             "float32": False if args.no_float32 else None}
    core = None
    if args.core_ndims is not None:
        entries = [None if c.strip() == "whole" else _whole(c, "--core-ndims") for c in args.core_ndims.split(",")]
        core = entries[0] if len(entries) == 1 else tuple(entries)
    tolerance_flags = [(check, "rtol", value) for check, value in args.rtol or []] + [(check, "atol", value) for check, value in args.atol or []]

    def overrides(spec):
        out = {k: v for k, v in flags.items() if v is not None}
        if args.core_ndims is not None:
            out["core_ndims"] = core
        for key, pairs in (("julia_kwargs", args.julia_kwarg), ("torch_kwargs", args.torch_kwarg)):
            if pairs:
                out[key] = {**((spec or {}).get(key) or {}), **dict(pairs)}
        if tolerance_flags:
            tolerances = dict((spec or {}).get("tolerances") or {})
            for check, kind, value in tolerance_flags:
                current = tolerances.get(check, {})
                current = dict(current) if isinstance(current, dict) else {"rtol": current}
                current[kind] = value
                tolerances[check] = current
            out["tolerances"] = tolerances
        return out

    return overrides


def _whole(text, flag):
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{flag} takes whole numbers >= 0 or 'whole', separated by commas; got {text!r}") from None
    if value < 0:
        raise ValueError(f"{flag} takes whole numbers >= 0 or 'whole'; got {value}")
    return value


def _quick_inputs(specs) -> dict:
    """--input NAME=uniform:LO:HI:SHAPE, NAME=normal:MEAN:STD:SHAPE (SHAPE as 64 or 16x2) or NAME=1.0,2.0,3.0."""
    inputs = {}
    for text in specs:
        name, _, value = text.partition("=")
        if not name.isidentifier() or not value:
            raise ValueError(f"--input must be NAME=uniform:LO:HI:SHAPE, NAME=normal:MEAN:STD:SHAPE or NAME=1.0,2.0; got {text!r}")
        if name in inputs:
            raise ValueError(f"--input {name} is given twice")
        kind, *fields = value.split(":")
        if kind in ("uniform", "normal"):
            if len(fields) not in (2, 3):
                raise ValueError(f"--input {name}={kind}:A:B:SHAPE takes two numbers and a shape such as 64 or 16x2; got {value!r}")
            try:
                bounds = [float(f) for f in fields[:2]]
            except ValueError:
                raise ValueError(f"--input {name}: {kind} bounds must be numbers; got {':'.join(fields[:2])!r}") from None
            shape = [_whole(n, f"--input {name} shape") for n in fields[2].split("x")] if len(fields) == 3 and fields[2] else []
            inputs[name] = {kind: bounds, "shape": shape}
        else:
            try:
                inputs[name] = [float(v) for v in value.split(",")]
            except ValueError:
                raise ValueError(f"--input {name}: not uniform:..., normal:... or numbers separated by commas; got {value!r}") from None
    return inputs


def _check_tolerance(text):
    from dprl.gradcheck import CHECKS

    check, _, value = text.partition("=")
    if check not in CHECKS:
        raise argparse.ArgumentTypeError(f"must be CHECK=VALUE with CHECK one of {', '.join(CHECKS)}; got {text!r}")
    return check, finite_float(0, None)(value)


def _keyword(text):
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"must be NAME=VALUE (VALUE as JSON, or a plain string); got {text!r}")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


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
    parser.add_argument("--version", action="version", version=f"dprl {__version__}")
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

    _add_train_parsers(commands)

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
        help="check any Julia function against any PyTorch function: values, gradients, forward mode, finite differences",
        description=(
            "Run the same inputs through a Julia function and a PyTorch function, named in SPEC files (.toml or .py: "
            "julia, torch, inputs, and optionally mode, core_ndims, tolerances, seed, fd_step, max_fd_coordinates, "
            "julia_kwargs, torch_kwargs, directions, fd_budget_s, second_order, float32) or on the command line "
            "(--julia NAME --torch module:function --input x=uniform:-3:3:64), and compare coordinate by coordinate "
            "(|a - b| <= atol + rtol*|b|): values; both reverse-mode gradients for two cotangents; a second backward pass; "
            "Julia's ForwardDiff JVP against PyTorch's forward mode and each side's forward against reverse mode "
            "(dot-product test) in random directions; each side against its own finite differences, per coordinate and "
            "along the directions; float32 against float64; inputs unchanged; second order with --second-order. "
            "Where left and right differences disagree a coordinate is reported not differentiable, not failed. "
            "Exit codes: 0 every check within tolerance, 1 a tolerance broken, 2 bad spec or inputs, 3 Julia unavailable."
        ),
    )
    grad.add_argument("spec", nargs="*", help="spec files (.toml or .py), e.g. comparisons/gradcheck/trebuchet.toml comparisons/gradcheck/nnlib/*.toml")
    grad.add_argument("--julia", metavar="NAME", help="quick form: the Julia function, e.g. NNlib.softplus")
    grad.add_argument("--torch", metavar="MODULE:FUNCTION", help="quick form: the PyTorch function, e.g. torch.nn.functional:softplus")
    grad.add_argument("--input", action="append", metavar="NAME=SPEC",
                      help="quick form, one per argument in order: NAME=uniform:LO:HI:SHAPE, NAME=normal:MEAN:STD:SHAPE (SHAPE 64 or 16x2) or NAME=1.0,2.0")
    grad.add_argument("--mode", choices=["zygote", "forwarddiff"], help="Julia's reverse mode (default zygote; forwarddiff for functions written for it)")
    grad.add_argument("--core-ndims", metavar="N[,N...]", help="trailing dimensions one Julia call takes, one number or one per input ('whole': passed whole)")
    grad.add_argument("--julia-kwarg", action="append", type=_keyword, metavar="NAME=VALUE", help="a keyword argument of the Julia function (VALUE as JSON)")
    grad.add_argument("--torch-kwarg", action="append", type=_keyword, metavar="NAME=VALUE",
                      help='a keyword argument of the PyTorch function (VALUE as JSON), e.g. approximate=tanh')
    grad.add_argument("--rtol", action="append", type=_check_tolerance, metavar="CHECK=X",
                      help="override a check's relative tolerance (values, gradients, jvp, dot_product, backward, finite_differences, float32, second_order)")
    grad.add_argument("--atol", action="append", type=_check_tolerance, metavar="CHECK=X", help="override a check's absolute tolerance")
    grad.add_argument("--seed", type=seed, help="override the spec's seed (inputs drawn from the spec, cotangents, directions, FD sample)")
    grad.add_argument("--directions", type=whole_number(1, 100), help="random directions for JVPs, dot products and directional FD (default 3)")
    grad.add_argument("--fd-budget", type=finite_float(0, 86400, open_lo=True), metavar="SECONDS",
                      help="seconds the per-coordinate finite differences may take; every coordinate when they fit (default 10)")
    grad.add_argument("--max-fd-coordinates", type=positive_int, help="at most this many coordinates get finite differences")
    grad.add_argument("--second-order", action="store_true", help="also check Hessian-vector products (and gradgradcheck on PyTorch)")
    grad.add_argument("--no-float32", action="store_true", help="skip the float32 rows")
    grad.add_argument("--json", metavar="PATH", help="also write the full report as JSON to PATH (checked before the run)")
    grad.set_defaults(run=cmd_gradcheck, needs_julia=lambda a: False)

    reproduce = commands.add_parser(
        "reproduce",
        help="reproduce the blog's published results and write comparisons/REPORT.md",
        description=(
            "Run every available reproduction of the blog's claims, write result JSON and figures "
            "under OUT/results and a report OUT/REPORT.md with each claim, our measurement, the "
            "command that measured it and whether it holds; then print the claims table. A reproduction "
            "that cannot run here (no Julia, no Stable-Baselines3) keeps the result file it finds, marked "
            "'not rerun here'. Exit codes: 0 done, 1 a comparison run failed (named; the others are kept), "
            "2 bad input, 130 interrupted."
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
    engine = reproduce.add_mutually_exclusive_group()
    engine.add_argument("--jobs", type=positive_int, default=1,
                        help="DP-vs-RL runs made at once in worker processes (joblib); default 1: one after another")
    engine.add_argument("--ray", metavar="ADDRESS", help="make the DP-vs-RL runs as Ray tasks on the cluster at ADDRESS (HOST:PORT or auto; "
                                                         "pip install -e \".[ray]\")")
    reproduce.add_argument("--threads", type=positive_int, default=1, help="torch threads of each DP-vs-RL run (default 1)")
    reproduce.add_argument("--reuse-stale", action="store_true",
                           help="reuse kept DP-vs-RL runs made by other code instead of rerunning them; the report marks them stale")
    reproduce.set_defaults(run=cmd_reproduce, needs_julia=lambda a: a.julia == "auto")

    report = commands.add_parser(
        "report",
        help="render comparisons/REPORT.md again from the result files alone (seconds)",
        description=(
            "Render OUT/REPORT.md from the result files under OUT/results, without measuring anything, and print the "
            "claims table. The same files always give the same text. Exit codes: 0 written (or, with --check, up to "
            "date), 1 with --check: REPORT.md differs from a fresh render, 2 bad input (a corrupt result file)."
        ),
    )
    report.add_argument("--out", type=output_folder, default="comparisons", help="folder with results/ and REPORT.md (default: comparisons)")
    report.add_argument("--check", action="store_true", help="write nothing; exit 1 if REPORT.md differs from a fresh render")
    report.set_defaults(run=cmd_report, needs_julia=lambda a: False)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # bad arguments: one line and exit 2 (arguments.Parser)
    refusal = julia_refusal(args)
    if refusal:  # before Julia starts: a flag of no use there is bad input, whether or not Julia is here
        parser.exit(EXIT_BAD_INPUT, f"dprl {args.command} {args.trainer}: error: {refusal}\n")
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
    except Diverged as error:  # a training run inside a larger command (the comparison, the reproduction)
        print(f"dprl {args.command}: {one_line(error)}", file=sys.stderr)
        return EXIT_FAILED
    except (ValueError, RuntimeError, OSError) as error:  # OSError: a file or folder it could not read or write
        print(f"dprl {args.command}: {one_line(error)}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
