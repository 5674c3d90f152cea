"""Stable-Baselines3 agents with the RL Baselines3 Zoo's hyperparameters, on dprl's environments.

Hyperparameters are copied from DLR-RM/rl-baselines3-zoo, `hyperparams/<algo>.yml`:
dqn.yml at commit ce95481 (CartPole-v1), ppo.yml and sac.yml at commit 00128b5 (CartPole-v1,
Pendulum-v1), td3.yml at commit a02f4fb (its Pendulum entry). Runs are evaluated on seeded episodes of
the same environment at fixed step intervals with the deterministic policy, and saved in the DP
trainers' result schema, so one plotting function draws both.

The zoo has no trebuchet. For dprl/TrebuchetAim-v0 (one throw per episode) SAC keeps the zoo's
Pendulum learning rate and SB3's defaults otherwise, with these choices of ours: 64 bandits thrown
in one batch per step (one throw alone costs as much as 64 together), 16 gradient steps per 64
throws, and observations and rewards normalised by SB3's VecNormalize (the zoo's `normalize`
option: winds are O(5) m/s, targets O(60) m and rewards O(10³) m²). It is evaluated on the
aimer's fixed 1,000 evaluation shots, its score being the mean relative miss in %, as the DP aimer's.
"""

from __future__ import annotations

import time

import numpy as np

from dprl import goals
from dprl.results import TrainingResult, interruptible

ZOO = {
    ("dqn", "cartpole"): dict(
        steps=50_000, learning_rate=2.3e-3, batch_size=64, buffer_size=100_000, learning_starts=1000, gamma=0.99,
        target_update_interval=10, train_freq=256, gradient_steps=128, exploration_fraction=0.16, exploration_final_eps=0.04,
        policy_kwargs=dict(net_arch=[256, 256]),
    ),
    ("ppo", "cartpole"): dict(
        steps=100_000, n_envs=8, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0,
        learning_rate="lin_0.001", clip_range="lin_0.2",
    ),
    ("sac", "pendulum"): dict(steps=20_000, learning_rate=1e-3),
    ("td3", "pendulum"): dict(
        steps=20_000, gamma=0.98, buffer_size=200_000, learning_starts=10_000, noise_std=0.1, gradient_steps=-1,
        train_freq=(1, "episode"), learning_rate=1e-3, policy_kwargs=dict(net_arch=[400, 300]),
    ),
    ("ppo", "pendulum"): dict(
        steps=100_000, n_envs=4, n_steps=1024, gae_lambda=0.95, gamma=0.9, n_epochs=10, ent_coef=0.0, learning_rate=1e-3,
        clip_range=0.2, use_sde=True, sde_sample_freq=4,
    ),
    ("sac", "trebuchet"): dict(steps=50_000, n_envs=64, learning_rate=1e-3, learning_starts=1000, gradient_steps=16, normalize=True),
}
# The zoo's published mean returns (rl-baselines3-zoo benchmark.md: one training run each, then the
# deterministic policy over 150k steps) for the budgets in ZOO.
ZOO_PUBLISHED = {("dqn", "cartpole"): 500.0, ("ppo", "cartpole"): 500.0, ("sac", "pendulum"): -157.00, ("td3", "pendulum"): -151.86,
                 ("ppo", "pendulum"): -172.23}
ENV_IDS = {"cartpole": "dprl/CartPole-v1", "pendulum": "dprl/Pendulum-v1", "trebuchet": "dprl/TrebuchetAim-v0"}
# The trebuchet's score is a miss, so lower is better there; the others are returns.
THRESHOLDS = {env: thresholds[0] for env, thresholds in goals.THRESHOLDS.items()}
SCORE_LABELS = {"cartpole": "mean evaluation return", "pendulum": "mean evaluation return", "trebuchet": "mean relative miss (%)"}


def _linear(value: str):
    start = float(value.split("_", 1)[1])
    return lambda progress: progress * start  # SB3 passes the remaining progress, 1 → 0


def evaluate(model, env_name: str, seed: int, episodes: int, start_states=None) -> float:
    """Mean return of the deterministic policy over `episodes` seeded episodes, all in one batch;
    with `start_states` ((episodes, state size)), the episodes start there instead of at seeded draws."""
    import gymnasium as gym

    import dprl.envs  # noqa: F401  (registers the ids)

    env = gym.make_vec(ENV_IDS[env_name], num_envs=episodes, vectorization_mode="vector_entry_point")
    obs, _ = env.reset(seed=seed, options=None if start_states is None else {"start_states": start_states})
    totals = np.zeros(episodes)
    alive = np.ones(episodes, dtype=bool)
    while alive.any():
        action, _ = model.predict(obs, deterministic=True)
        obs, reward, terminated, truncated, _ = env.step(action)
        totals += np.where(alive, reward, 0.0)
        alive &= ~(terminated | truncated)
    return float(totals.mean())


def evaluate_aim(model, normalizer=None) -> dict:
    """The aimer's metrics (`dprl.envs.trebuchet.miss_metrics`) of the deterministic policy on the
    fixed evaluation shots; `normalizer` is the VecNormalize the agent was trained behind."""
    from dprl.envs.trebuchet import evaluation_shots, miss_metrics
    from dprl.envs.trebuchet_fast import throw_misses

    winds, targets = evaluation_shots()
    observations = np.stack((winds, targets), axis=1).astype(np.float32)
    if normalizer is not None:
        observations = normalizer.normalize_obs(observations)
    action, _ = model.predict(observations, deterministic=True)
    return miss_metrics(*throw_misses(winds, targets, action[:, 0], action[:, 1]), targets)


def _vec_env(env_name: str, n_envs: int, seed: int):
    import gymnasium as gym
    from stable_baselines3.common.env_util import make_vec_env

    from dprl.rl.vec_env import SameStepVecEnv

    if env_name != "trebuchet":
        return make_vec_env(ENV_IDS[env_name], n_envs=n_envs, seed=seed)
    env = SameStepVecEnv(gym.make_vec(ENV_IDS[env_name], num_envs=n_envs, vectorization_mode="vector_entry_point"))
    env.seed(seed)
    return env


def train_baseline(algo: str, env_name: str, *, seed: int = 0, steps: int | None = None, evaluate_every: int | None = None,
                   evaluation_episodes: int = 100, evaluation_states=None, progress: bool = True, on_evaluation=None) -> TrainingResult:
    """Train one SB3 agent with the zoo's settings; evaluate every `evaluate_every` env steps on
    `evaluation_episodes` seeded episodes, or on one episode from each row of `evaluation_states`
    (CartPole and Pendulum; e.g. the DP trainers' evaluation starts, to score both on the same
    episodes), whose rows then set the number of episodes."""
    try:
        import stable_baselines3 as sb3
        from stable_baselines3.common.callbacks import BaseCallback
        from stable_baselines3.common.noise import NormalActionNoise
        from stable_baselines3.common.vec_env import VecNormalize
    except ImportError:
        raise RuntimeError("the RL baselines need Stable-Baselines3: pip install -e \".[rl]\"") from None
    import dprl.envs  # noqa: F401  (registers the ids)

    if (algo, env_name) not in ZOO:
        raise ValueError(f"ALGO ENV must be one of {', '.join(f'{a} {e}' for a, e in ZOO)}; got {algo} {env_name}")
    settings = dict(ZOO[(algo, env_name)])
    steps = int(steps or settings.pop("steps"))
    settings.pop("steps", None)
    if steps < 1:
        raise ValueError(f"steps must be at least 1; got {steps}")
    evaluate_every = int(evaluate_every or max(steps // 20, 1))
    if evaluation_states is not None:
        if env_name == "trebuchet":
            raise ValueError("evaluation_states: the trebuchet is scored on its fixed evaluation shots; leave it None")
        from dprl.envs import cartpole_gym, pendulum_gym

        evaluation_states = np.asarray(evaluation_states, dtype=np.float64)
        size = {"cartpole": cartpole_gym.CartPoleVectorEnv, "pendulum": pendulum_gym.PendulumVectorEnv}[env_name].state_size
        if evaluation_states.ndim != 2 or len(evaluation_states) < 1 or evaluation_states.shape[1] != size:
            raise ValueError(f"evaluation_states must have shape (episodes ≥ 1, {size}) for {env_name}; got {evaluation_states.shape}")
        evaluation_episodes = len(evaluation_states)
    n_envs = settings.pop("n_envs", 1)
    for key in ("learning_rate", "clip_range"):
        if isinstance(settings.get(key), str):
            settings[key] = _linear(settings[key])
    noise_std = settings.pop("noise_std", None)
    env = _vec_env(env_name, n_envs, seed)
    normalizer = VecNormalize(env, gamma=settings.get("gamma", 0.99)) if settings.pop("normalize", False) else None
    env = normalizer if normalizer is not None else env
    if noise_std is not None:
        dims = env.action_space.shape[0]
        settings["action_noise"] = NormalActionNoise(np.zeros(dims), noise_std * np.ones(dims))
    model = getattr(sb3, algo.upper())("MlpPolicy", env, seed=seed, verbose=0, device="cpu", **settings)
    result = TrainingResult(trainer=algo, config={"env": ENV_IDS[env_name], "steps": steps, "seed": seed, "evaluate_every": evaluate_every,
                                                  "evaluation_episodes": evaluation_episodes, "evaluation_starts": "given" if evaluation_states is not None else "seeded",
                                                  "zoo": {k: str(v) for k, v in ZOO[(algo, env_name)].items()}})
    start = time.perf_counter()

    class Evaluate(BaseCallback):
        def __init__(self):
            super().__init__()
            self.next_at, self.episodes = evaluate_every, 0
            from tqdm import tqdm

            self.bar = tqdm(total=steps, desc=f"{algo} {env_name}", unit="step", disable=not progress)

        def _on_step(self):
            self.episodes += int(np.sum(self.locals.get("dones", [])))
            self.bar.update(self.training_env.num_envs)
            if self.num_timesteps >= self.next_at:
                self.next_at += evaluate_every
                if env_name == "trebuchet":
                    metrics = evaluate_aim(self.model, normalizer)
                    result.extra.setdefault("metrics", []).append(metrics)
                    score = metrics["mean_rel_miss_pct"]
                else:
                    score = evaluate(self.model, env_name, seed=10_000 + seed, episodes=evaluation_episodes, start_states=evaluation_states)
                result.record(score, episodes=self.episodes, env_steps=self.num_timesteps, started=start, checkpoint=on_evaluation, bar=self.bar)
            return True

        def _on_training_end(self):
            self.bar.close()

    callback = Evaluate()
    with interruptible(result, callback.bar):  # the bar closes on Ctrl-C too, not redrawn after the command's last line
        model.learn(total_timesteps=steps, callback=callback)
    return result
