"""RL baselines with Stable-Baselines3 (the `rl` extra), on the same Gymnasium environments."""
