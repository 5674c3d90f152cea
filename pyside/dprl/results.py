"""What a trainer returns and saves (per-update losses, per-evaluation scores, final weights,
time), and the bookkeeping every training loop shares: `TrainingResult.record` after an evaluation
and `interruptible` around the loop, so that Ctrl-C returns what finished.

Sits below `dprl.train` and `dprl.rl` (it imports neither torch nor any trainer).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from dprl import schema


@dataclass
class TrainingResult:
    trainer: str  # "cartpole", "pendulum", "trebuchet", or an RL baseline's name
    config: dict  # every setting needed to rerun it
    losses: list = field(default_factory=list)  # one per update
    scores: list = field(default_factory=list)  # one per evaluation (the mean return, or miss)
    episodes: list = field(default_factory=list)  # training episodes done at each evaluation
    env_steps: list = field(default_factory=list)  # environment steps done at each evaluation
    wall_time: list = field(default_factory=list)  # seconds since the start at each evaluation
    weights: list = field(default_factory=list)  # final (weight, bias) pairs
    finished: bool = False  # False when interrupted: what is here is what was done
    extra: dict = field(default_factory=dict)

    def record(self, score: float, *, episodes: int, env_steps: int, started: float, checkpoint=None, bar=None) -> None:
        """Append one evaluation: its score, the training episodes and environment steps done so
        far, and the seconds since `started` (a `time.perf_counter()`); then show the score on the
        progress `bar` and call `checkpoint(self)` (for saving), where given."""
        self.scores.append(score)
        self.episodes.append(episodes)
        self.env_steps.append(env_steps)
        self.wall_time.append(time.perf_counter() - started)
        if bar is not None:
            bar.set_postfix(score=f"{score:.4g}")
        if checkpoint is not None:
            checkpoint(self)

    def to_json(self) -> dict:
        out = asdict(self)
        out["weights"] = [[np.asarray(w).tolist(), np.asarray(b).tolist()] for w, b in self.weights]
        return out

    def save(self, path) -> Path:
        """Write JSON atomically: an interrupted write never leaves half a file."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=1))
        os.replace(tmp, path)
        return path

    def unless_interrupted(self) -> "TrainingResult":
        """This result if the run finished; otherwise the Ctrl-C the trainer caught, raised again
        (or its divergence, as Diverged), for callers that cannot use half a run (the reproduction,
        the cross-check)."""
        if self.extra.get("diverged"):
            raise Diverged(f"{self.trainer}: {self.extra['diverged']}")
        if not self.finished:
            raise KeyboardInterrupt
        return self

    @classmethod
    def load(cls, path) -> "TrainingResult":
        """Read a result written by `save`; ValueError naming the file if it does not fit SCHEMA."""
        data = schema.read(path, SCHEMA, "dprl training result")
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        # One entry per evaluation (episodes may be left empty by callers that do not count them).
        lengths = {k: len(data[k]) for k in ("scores", "episodes", "env_steps", "wall_time") if k != "episodes" or data[k]}
        reason = (f"unknown fields {unknown}" if unknown else
                  f"one entry per evaluation expected, got lengths {lengths}" if len(set(lengths.values())) > 1 else
                  "weights must be [weight, bias] pairs" if any(len(pair) != 2 for pair in data["weights"]) else None)
        try:
            if reason is None:
                data["weights"] = [(np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64)) for w, b in data["weights"]]
        except ValueError:
            reason = "weights hold ragged arrays"
        if reason is not None:
            raise ValueError(f"{path} is not a valid dprl training result: {reason}")
        return cls(**data)


class Diverged(ArithmeticError):
    """A training update met a non-finite loss or weight (`dprl.train.divergence.checked_step`);
    the message names the update."""


@contextlib.contextmanager
def interruptible(result: TrainingResult, bar=None, final_weights=None):
    """Run a training loop inside `with interruptible(result, bar, final_weights):`. A loop that
    ends marks the result finished; Ctrl-C ends it there, the result kept as unfinished (what is
    in it is what was done), and so does a diverged update, its message kept in
    `result.extra["diverged"]`. Either way the progress bar is closed and `result.weights` set
    from `final_weights()` (the model's weights at that moment)."""
    try:
        yield result
        result.finished = True
    except KeyboardInterrupt:
        result.finished = False
    except Diverged as error:
        result.finished = False
        result.extra["diverged"] = str(error)
    finally:
        if bar is not None:
            bar.close()
        if final_weights is not None:
            result.weights = final_weights()


SCHEMA = {
    "trainer": str, "config": dict, "losses?": [schema.NUMBER], "scores": [schema.NUMBER], "episodes": [schema.NUMBER],
    "env_steps": [schema.NUMBER], "wall_time": [schema.NUMBER], "weights": [[schema.ARRAY]], "finished": bool, "extra?": dict,
}
