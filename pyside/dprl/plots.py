"""Figures: learning curves of any trainer's results (DP or RL) on shared axes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

def pyplot():
    """matplotlib's pyplot on the Agg backend (files only; no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, path, dpi: int = 120) -> Path:
    """Lay out, write and close a figure, making its folder."""
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)
    return path


X_LABELS = {"episodes": "training episodes", "env_steps": "environment steps", "wall_time": "wall time (s)"}


def learning_curves(groups: dict, path, *, x: str = "episodes", title: str = "", threshold: float | None = None,
                    ylabel: str = "mean evaluation return", ylog: bool = False) -> Path:
    """One line per group of TrainingResults (its label → list of results over seeds): the mean
    score against `x`, with the 95 % bootstrap interval of that mean over seeds as its band
    (dprl.bootstrap.band), not the min–max of a few seeds."""
    from dprl import bootstrap

    plt = pyplot()
    if x not in X_LABELS:
        raise ValueError(f"x must be one of {tuple(X_LABELS)}; got {x!r}")
    fig, ax = plt.subplots(figsize=(7, 4.2))
    banded = False
    for label, results in groups.items():
        runs = [(np.asarray(getattr(r, x), dtype=float), np.asarray(r.scores, dtype=float)) for r in results if r.scores]
        if x == "env_steps":  # a log axis: the evaluation before any step has no place on it
            runs = [(xs[xs > 0], ys[xs > 0]) for xs, ys in runs if (xs > 0).any()]
        if not runs:
            continue
        grid = np.unique(np.concatenate([xs for xs, _ in runs]))
        # A run that stopped early (solved) keeps its last score.
        filled = np.stack([np.interp(grid, xs, ys, right=ys[-1]) for xs, ys in runs])
        centre, low, high = bootstrap.band(filled)
        line, = ax.plot(grid, centre, marker="o" if len(grid) < 30 else None, ms=3, label=f"{label} ({len(runs)} seed{'s' * (len(runs) > 1)})")
        if len(runs) > 1:
            banded = True
            ax.fill_between(grid, low, high, color=line.get_color(), alpha=0.2)
    if threshold is not None:
        ax.axhline(threshold, color="grey", ls="--", lw=1, label=f"threshold {threshold:g}")
    if x == "env_steps":
        ax.set_xscale("log")
    if ylog:
        ax.set_yscale("log")
    ax.set_xlabel(X_LABELS[x])
    ax.set_ylabel(ylabel)
    ax.set_title(title + ("\n(bands: 95 % bootstrap interval of the mean over seeds)" if banded else ""), fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save(fig, path)


def aimer_misses(winds, targets, relative_miss_pct, path, *, title: str = "") -> Path:
    """Relative miss (%) of each evaluation shot, against target and against wind."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, x, label in ((axes[0], targets, "target (m)"), (axes[1], winds, "wind (m/s, + is a tailwind)")):
        points = ax.scatter(x, relative_miss_pct, c=winds if ax is axes[0] else targets, s=8, cmap="viridis")
        ax.set_xlabel(label)
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
        fig.colorbar(points, ax=ax, label="wind (m/s)" if ax is axes[0] else "target (m)")
    axes[0].set_ylabel("relative miss (%)")
    fig.suptitle(title)
    return save(fig, path)


def throw_animation(trajectory, path, *, title: str = "", frames: int = 120) -> Path:
    """An animated GIF of one throw: arm, counterweight, sling and projectile."""
    plt = pyplot()
    from PIL import Image

    arm = np.asarray(trajectory.arm_tip)
    weight = np.asarray(trajectory.weight)
    projectile = np.asarray(trajectory.projectile)
    phase = np.asarray(trajectory.phase)
    index = np.unique(np.linspace(0, len(phase) - 1, min(frames, len(phase))).round().astype(int))
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.set_xlim(min(-4.0, projectile[:, 0].min() - 2), projectile[:, 0].max() + 4)
    ax.set_ylim(-2.0, max(4.0, projectile[:, 1].max() + 2))
    ax.set_aspect("equal")
    ax.axhline(-1.524, color="saddlebrown", lw=2)
    ax.set_xlabel("x (m)")
    ax.set_title(title)
    (beam,) = ax.plot([], [], color="black", lw=3)
    (sling,) = ax.plot([], [], color="grey", lw=1)
    (path_line,) = ax.plot([], [], color="tab:red", lw=1, alpha=0.6)
    (stone,) = ax.plot([], [], "o", color="tab:red")
    (counter,) = ax.plot([], [], "s", color="tab:blue", ms=9)
    moving = (beam, sling, path_line, stone, counter)

    def draw(i):
        beam.set_data([arm[i, 0], -arm[i, 0] * 1.75 / 6.792], [arm[i, 1], -arm[i, 1] * 1.75 / 6.792])
        counter.set_data([weight[i, 0]], [weight[i, 1]])
        stone.set_data([projectile[i, 0]], [projectile[i, 1]])
        sling.set_data(([arm[i, 0], projectile[i, 0]], [arm[i, 1], projectile[i, 1]]) if phase[i] < 3 else ([], []))
        path_line.set_data(projectile[: i + 1, 0], projectile[: i + 1, 1])

    # The axes, ticks and labels are drawn once and each frame only the moving parts on top of
    # them (a full draw per frame spent most of its time laying out the same text again), and
    # each frame gets its own palette by the fast octree (Pillow's default median cut took as long
    # as the drawing).
    for artist in moving:
        artist.set_animated(True)
    fig.canvas.draw()
    background = fig.canvas.copy_from_bbox(fig.bbox)
    images = []
    for i in index:
        draw(i)
        fig.canvas.restore_region(background)
        for artist in moving:
            ax.draw_artist(artist)
        rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3]
        images.append(Image.fromarray(np.ascontiguousarray(rgb)).quantize(method=Image.Quantize.FASTOCTREE))
    plt.close(fig)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(path, save_all=True, append_images=images[1:], duration=50, loop=0)  # 20 frames a second
    return path
