"""The command line's validation layer: a parser whose every error is one line, and typed
arguments for `add_argument(type=...)` that name the flag and its allowed range.

    parser.add_argument("--batch-size", type=positive_int)
    parser.add_argument("--wind", type=finite_float(-150, 150))
    parser.add_argument("--out", type=output_folder)

Imports neither torch nor Julia: the command line parses before it starts either.
"""

from __future__ import annotations

import argparse
import math
import os
import re
from pathlib import Path

# Anything float() reads, signs and exponents included, so that `--wind -1e1`, `--wind -2.` and
# `--wind -inf` are values (the last then gets the finite-range message) rather than unknown flags.
_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-(inf|infinity|nan)$", re.IGNORECASE)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that reports errors in one line, `PROG: error: MESSAGE`, exit code 2,
    without the usage block (`--help` shows it), and reads negative numbers as values."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = _NUMBER  # argparse's own accepts only -1 and -1.5

    def error(self, message):
        # "argument --weight: must be ..." (from the types below) reads better as "--weight must be ..."
        message = re.sub(r"^argument (\S+): must ", r"\1 must ", message)
        message = re.sub(r"^argument (\S+): ", r"\1: ", message)
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())}\n")

    def parse_known_args(self, args=None, namespace=None):
        parsed, extras = super().parse_known_args(args, namespace)
        if extras and self._subparsers is None and not hasattr(parsed, "_refused_by"):
            parsed._refused_by = self.prog  # the innermost command, whose flags these are not
        return parsed, extras

    def parse_args(self, args=None, namespace=None):
        """As argparse's, but an unknown flag is reported by the (sub)command it was given to, with
        the commands it does belong to: `dprl train cartpole: error: unrecognized arguments:
        --backend julia (--backend is a flag of dprl train trebuchet)`."""
        parsed, extras = self.parse_known_args(args, namespace)
        prog = getattr(parsed, "_refused_by", self.prog)
        if hasattr(parsed, "_refused_by"):
            del parsed._refused_by
        if extras:
            flag = next((e.split("=")[0] for e in extras if e.startswith("--")), None)
            owners = [p for p in self._commands_with(flag) if p != prog] if flag else []
            hint = f" ({flag} is a flag of {', '.join(owners)})" if owners else ""
            self.exit(2, f"{prog}: error: unrecognized arguments: {' '.join(extras)}{hint}\n")
        return parsed

    def _commands_with(self, flag: str) -> list:
        """The progs of this parser and its subcommands, at any depth, that take `flag`."""
        found = [self.prog] if flag in self._option_string_actions else []
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in dict.fromkeys(action.choices.values()):
                    found += sub._commands_with(flag) if isinstance(sub, Parser) else []
        return found


def _plain(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e16 else f"{x:g}"


def finite_float(lo: float | None = None, hi: float | None = None, *, open_lo: bool = False, open_hi: bool = False):
    """A type for a finite float in [lo, hi] (open at an end when asked; None: unbounded)."""
    low = "(" if open_lo or lo is None else "["
    high = ")" if open_hi or hi is None else "]"
    allowed = f"{low}{'-inf' if lo is None else _plain(lo)}, {'inf' if hi is None else _plain(hi)}{high}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a finite number in {allowed}, got {text!r}") from None
        below = lo is not None and (value <= lo if open_lo else value < lo)
        above = hi is not None and (value >= hi if open_hi else value > hi)
        if not math.isfinite(value) or below or above:
            raise argparse.ArgumentTypeError(f"must be a finite number in {allowed}, got {text}")
        return value

    parse.__name__ = "finite_float"
    return parse


positive_float = finite_float(0, None, open_lo=True)


def whole_number(lo: int, hi: int | None = None):
    """A type for a whole number in [lo, hi] (hi None: unbounded)."""
    allowed = f"at least {lo}" if hi is None else f"in [{lo}, {hi}]"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number {allowed}, got {text!r}") from None
        if value < lo or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(f"must be a whole number {allowed}, got {value}")
        return value

    parse.__name__ = "whole_number"
    return parse


positive_int = whole_number(1)
seed = whole_number(0, 2**32 - 1)  # what NumPy and torch both take as a seed


def output_folder(text: str) -> str:
    """A folder that exists or can be made, checked before any work starts (nothing is created)."""
    if not text:
        raise argparse.ArgumentTypeError("must be a folder, got ''")
    path = Path(text).expanduser()
    try:
        if path.exists() and not path.is_dir():
            raise argparse.ArgumentTypeError(f"must be a folder, but {path} is a file")
        existing = path
        while not existing.exists():
            existing = existing.parent
    except OSError as error:  # a name longer than the file system allows, say
        raise argparse.ArgumentTypeError(f"must be a folder that can be made, but {error.strerror or error} (a name in it has "
                                         f"{max(len(part) for part in path.parts)} characters)") from None
    if not existing.is_dir():
        raise argparse.ArgumentTypeError(f"must be a folder that can be made, but {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"must be a writable folder, but {existing} is not writable")
    return text


def one_line(error: BaseException) -> str:
    """An exception's message as one line (Julia errors, for one, carry a backtrace)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


# ----------------------------------------------------------------------------------------------
# Flags built from the trainers' configs (dprl.config): one flag per field, its help the field's
# docstring, its range the config's own check
# ----------------------------------------------------------------------------------------------
def field_docs(config_class) -> dict:
    """{field: docstring} from the string that follows each field in the class body (CleanRL's
    style); empty where the source cannot be read."""
    import ast
    import inspect
    import textwrap

    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(config_class)))
    except (OSError, TypeError):
        return {}
    body = tree.body[0].body
    docs = {}
    for node, after in zip(body, body[1:]):
        if isinstance(node, ast.AnnAssign) and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant):
            docs[node.target.id] = " ".join(str(after.value.value).split())
    return docs


def _config_type(config_class, name: str, annotation: str):
    """A flag type that reads the field's kind (int, float, str) and then lets the config itself
    check the value, so a range is written once, in dprl.config."""
    kind = int if annotation.startswith("int") else float if annotation.startswith("float") else str
    described = {int: "a whole number", float: "a number", str: "a word"}[kind]

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {described}, got {text!r}") from None
        try:
            config_class(**{name: value})
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error).removeprefix(f"{name} ")) from None
        return value

    parse.__name__ = kind.__name__
    return parse


def shown(value) -> str:
    """A default as --help shows it."""
    return _plain(value) if isinstance(value, float) and math.isfinite(value) else str(value)


def add_config_flags(parser, configs: dict, describe=None) -> None:
    """One `--field-name` flag per field of the config classes in `configs` ({who uses it: class}),
    a field shared by several classes once, its help listing each one's default (as
    `describe(config_class, field_name, default)` words it, where given). A flag left out is None
    in the parsed arguments: the config's default applies (`config_settings`)."""
    import dataclasses

    flags = {}
    for label, config_class in configs.items():
        docs = field_docs(config_class)
        for f in dataclasses.fields(config_class):
            entry = flags.setdefault(f.name, {"docs": [], "type": f.type, "class": config_class, "defaults": []})
            entry["docs"].append(docs.get(f.name, ""))
            entry["defaults"].append(f"{label} {describe(config_class, f.name, f.default) if describe else shown(f.default)}")
    for name, entry in flags.items():
        # A field several trainers share keeps what they share: its doc without a trainer's own remark in brackets.
        entry["doc"] = entry["docs"][0] if len(set(entry["docs"])) == 1 else re.sub(r"\s*\([^()]*\)\.?$", ".", entry["docs"][0])
        flag = "--" + name.replace("_", "-")
        help_text = f"{entry['doc']} (default: {'; '.join(entry['defaults'])})".replace("%", "%%")
        if entry["type"] == "bool":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        else:
            parser.add_argument(flag, type=_config_type(entry["class"], name, entry["type"]), default=None, metavar=name.upper(), help=help_text)


def config_settings(args, config_class, who: str, others: tuple = ()) -> dict:
    """The fields of `config_class` given on the command line, as keyword settings. A flag given
    that belongs only to the configs in `others` is an error naming who it is for."""
    import dataclasses

    names = {f.name for f in dataclasses.fields(config_class)}
    for other_label, other in others:
        for f in dataclasses.fields(other):
            if f.name not in names and getattr(args, f.name, None) is not None:
                raise ValueError(f"--{f.name.replace('_', '-')} applies to {other_label}, not to {who}")
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
