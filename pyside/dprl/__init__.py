"""dprl: "Differentiable Programming vs Reinforcement Learning" (Flux blog, 2019) on two stacks.

The PyTorch mirror lives in `dprl.envs` and `dprl.train`; the Julia reference (the DPRL package in
`julia/`) is reached through `dprl.julia`, which starts Julia only when first used. Importing
`dprl` imports neither torch nor juliacall.
"""

__version__ = "0.1.0"
