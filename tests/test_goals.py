"""The goals: which way is better on each environment, and the aimer's two bounds."""

from dprl import goals


def test_a_miss_is_better_lower_and_a_return_higher():
    assert goals.best_score("trebuchet", [3.0, 1.0, 2.0]) == 1.0 and goals.reaches("trebuchet", 0.9, 1.0)
    assert goals.best_score("pendulum", [-300.0, -200.0]) == -200.0 and not goals.reaches("pendulum", -151.0, -150.0)
    assert goals.reaches("cartpole", 475.0, goals.CARTPOLE_SOLVED) and not goals.reaches("cartpole", 474.9, goals.CARTPOLE_SOLVED)


def test_the_aimer_goal_needs_both_bounds():
    assert goals.aimer_goal_met({"mean_rel_miss_pct": 0.3, "p95_rel_miss_pct": 1.0})
    assert not goals.aimer_goal_met({"mean_rel_miss_pct": 0.2, "p95_rel_miss_pct": 1.01})


def test_every_environment_has_thresholds_and_a_direction():
    assert set(goals.THRESHOLDS) == set(goals.LOWER_IS_BETTER) == {"cartpole", "pendulum", "trebuchet"}
    assert goals.CARTPOLE_VERSIONS["v1"] == (500, 475.0) and goals.CARTPOLE_VERSIONS["v0"] == (200, 195.0)
