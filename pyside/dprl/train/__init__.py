"""Differentiable-programming trainers: backpropagate a loss through the simulator into a policy."""
