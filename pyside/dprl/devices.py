"""The `--device` of a benchmark: checked before anything runs, and kept apart in its own JSON.

A benchmark run on another device must not overwrite the CPU figures the repository keeps, so its
results go to `<name>_<device type>.json` unless an explicit `--out` says otherwise.
"""

from __future__ import annotations

import argparse


def add_device_argument(parser: argparse.ArgumentParser, what: str) -> None:
    """`--device` (default cpu) and `--out` (default: the device's JSON file) on a benchmark."""
    parser.add_argument("--device", default="cpu", help=f"torch device of {what} (default cpu)")
    parser.add_argument("--out", default=None, help="JSON file (default comparisons/results/<benchmark>.json on the CPU, "
                                                    "<benchmark>_<device>.json on another device)")


def benchmark_device(parser: argparse.ArgumentParser, args: argparse.Namespace, name: str) -> str:
    """The device type of `args.device`, after `parser.error` (exit 2, one line) for a device this
    machine lacks; fills in `args.out` for `name` (for example "bench_envs") when it was not given."""
    from dprl.train.policies import resolve_device

    try:
        device_type = resolve_device(args.device).type
    except ValueError as error:
        parser.error(f"--device: {error}")
    if args.out is None:
        args.out = f"comparisons/results/{name}.json" if device_type == "cpu" else f"comparisons/results/{name}_{device_type}.json"
    return device_type
