"""Figures: learning curves of any trainer's results (DP or RL) on shared axes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

X_LABELS = {"episodes": "training episodes", "env_steps": "environment steps", "wall_time": "wall time (s)"}


def learning_curves(groups: dict, path, *, x: str = "episodes", title: str = "", threshold: float | None = None,
                    ylabel: str = "mean evaluation return") -> Path:
    """One line per group of TrainingResults (its label → list of results over seeds): the mean
    score against `x`, with the min-max band over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if x not in X_LABELS:
        raise ValueError(f"x must be one of {tuple(X_LABELS)}; got {x!r}")
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for label, results in groups.items():
        runs = [(np.asarray(getattr(r, x), dtype=float), np.asarray(r.scores, dtype=float)) for r in results if r.scores]
        if not runs:
            continue
        grid = np.unique(np.concatenate([xs for xs, _ in runs]))
        # A run that stopped early (solved) keeps its last score.
        filled = np.stack([np.interp(grid, xs, ys, right=ys[-1]) for xs, ys in runs])
        line, = ax.plot(grid, filled.mean(0), marker="o" if len(grid) < 30 else None, ms=3, label=f"{label} ({len(runs)} seed{'s' * (len(runs) > 1)})")
        if len(runs) > 1:
            ax.fill_between(grid, filled.min(0), filled.max(0), color=line.get_color(), alpha=0.2)
    if threshold is not None:
        ax.axhline(threshold, color="grey", ls="--", lw=1, label=f"threshold {threshold:g}")
    if x == "env_steps":
        ax.set_xscale("log")
    ax.set_xlabel(X_LABELS[x])
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
