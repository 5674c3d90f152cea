"""One Pendulum step (the blog's unclamped variant) in Julia (Zygote) and PyTorch, batched.

Run: dprl gradcheck comparisons/gradcheck/pendulum_step.py
A Python spec defines julia, torch and inputs (and optionally mode, core_ndims, tolerances,
seed, fd_step, max_fd_coordinates, julia_kwargs) at top level.
"""

import numpy as np

from dprl.envs import pendulum

rng = np.random.default_rng(0)
julia = "Pendulum.step"
julia_kwargs = {"variant": "gymjl2019"}
core_ndims = (1, 0)  # a (θ, θ̇) state and a scalar torque per call, over a batch of 16


def torch(state, action):
    return pendulum.step(pendulum.PendulumParams(variant="gymjl2019"), state, action)  # (state, reward, done)


# Slow states away from the ±8 rad/s clip, where FD and AD may pick different one-sided slopes
inputs = {"state": np.column_stack([rng.uniform(-3, 3, 16), rng.uniform(-1, 1, 16)]), "action": rng.uniform(-2, 2, 16)}
