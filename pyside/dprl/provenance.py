"""What made a measurement: the code (dprl version, git commit, a hash of dprl's sources), the
libraries (Python, torch, Stable-Baselines3, Gymnasium, and Julia/DPRL where used), the threads,
the jobs and the host. Every kept comparison run and every reproduction result file carries one
record, so that a run made by other code is seen as such (`stale`) instead of silently reused.

Imports neither torch nor juliacall at import time: versions are read from installed metadata,
and Julia's only when Julia has already started.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import os
import platform
import subprocess
import uuid
from importlib import metadata
from pathlib import Path

from dprl import __version__

# The layout of a record. A reader refuses records from a later schema than it knows (their
# fields may mean something else), and treats a record from an earlier one, or none, as stale.
SCHEMA = 2
PACKAGE = Path(__file__).resolve().parent
# Which invocation made a run: wall times compare fairly only between runs of one invocation on
# one machine (issue 15's "less wall time than SAC, on the same machine in the same run").
SESSION = uuid.uuid4().hex[:12]


class FutureSchemaError(ValueError):
    """A record written by a newer dprl than this one."""


def _installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


# The sources that make a measurement (the environments, trainers, baselines, their settings, the
# comparison's recipes, the Julia bridge and package): a change elsewhere (the report, the command
# line) leaves kept runs current.
MEASURING = ["envs", "train", "rl", "config.py", "results.py", "goals.py", "dp_vs_rl.py", "julia*.py", "julia_src/src"]


@functools.lru_cache(maxsize=1)
def code_hash() -> str:
    """A hash of the sources that make a measurement (MEASURING) as they are now: what
    "the same code" means for reusing a kept run (a commit alone misses uncommitted edits, is
    absent in an installed copy, and changes with every edit of the report)."""
    digest = hashlib.sha256()
    paths = [p for pattern in MEASURING for match in sorted(PACKAGE.glob(pattern))
             for p in ([match] if match.is_file() else sorted(match.rglob("*")))]
    for path in paths:
        if path.is_file() and path.suffix in (".py", ".jl") and "__pycache__" not in path.parts:
            digest.update(path.relative_to(PACKAGE).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    """The checkout's commit, with "-dirty" when dprl's tracked sources differ from it; "unknown"
    outside a git checkout (an installed wheel) or without git."""
    repo = PACKAGE.parents[1]
    try:
        run = functools.partial(subprocess.run, cwd=repo, capture_output=True, text=True, timeout=10, check=True)
        commit = run(["git", "rev-parse", "--short=12", "HEAD"]).stdout.strip()
        dirty = run(["git", "status", "--porcelain", "--untracked-files=no", "--", "pyside", "julia"]).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "") if commit else "unknown"


def julia_versions() -> dict | None:
    """Julia's and DPRL's versions when Julia has started in this process, else None (this never
    starts Julia)."""
    from dprl import julia

    if not julia.is_started():
        return None
    module = julia.start()
    return {"julia": str(module.seval("string(VERSION)")), "dprl_julia": str(module.seval("string(something(pkgversion(DPRL), \"unknown\"))"))}


def record(*, jobs: int = 1, threads: int | None = None, julia: bool = False) -> dict:
    """This process's provenance record, made now. `threads`: the torch threads the work ran on
    (default: torch's setting now); `julia`: whether the work used Julia (then its versions are
    recorded, or "not started")."""
    import torch

    made = {
        "schema": SCHEMA, "dprl": __version__, "commit": git_commit(), "code": code_hash(), "python": platform.python_version(),
        "torch": torch.__version__, "stable_baselines3": _installed("stable-baselines3"), "gymnasium": _installed("gymnasium"),
        "torch_threads": threads if threads is not None else torch.get_num_threads(), "jobs": jobs, "host": platform.node(),
        "session": SESSION, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "load": round(os.getloadavg()[0], 2),
    }
    if julia:
        made.update(julia_versions() or {"julia": "not started"})
    return made


def check_schema(made, where) -> None:
    """FutureSchemaError naming `where` when `made` comes from a later schema than this dprl reads."""
    if isinstance(made, dict) and isinstance(made.get("schema"), int) and made["schema"] > SCHEMA:
        raise FutureSchemaError(f"{where} was written by a newer dprl (provenance schema {made['schema']}; this dprl reads up to {SCHEMA}): "
                                "upgrade dprl, or move the file away to remake it")


def stale(made) -> str | None:
    """Why a measurement with the record `made` was not made by the code here, in words; None when
    it was (same sources)."""
    if not isinstance(made, dict) or made.get("schema", 1) < SCHEMA:
        return "made before provenance was recorded"
    if made.get("code") != code_hash():
        return f"made by other code (commit {made.get('commit', 'unknown')})"
    return None


def describe(made) -> str:
    """"<date>, commit <commit>" of a record, for the report; "unrecorded" parts where it lacks them."""
    made = made if isinstance(made, dict) else {}
    date = str(made["date"])[:10] if made.get("date") else "an unrecorded date"
    return f"{date}, commit {made.get('commit', 'unrecorded')}"


def of_file(path, payload=None) -> dict:
    """What is known of where a result file came from: its own record where it carries one, else the
    date and commit of the git commit that last changed it (files from before records were kept),
    else nothing ({})."""
    made = (payload or {}).get("made")
    if isinstance(made, dict):
        return made
    path = Path(path).resolve()
    try:
        out = subprocess.run(["git", "log", "-1", "--format=%cs %h", "--", path.name], cwd=path.parent, capture_output=True, text=True,
                             timeout=10, check=True).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"date": out[0], "commit": out[1], "from_git": True} if len(out) == 2 else {}
