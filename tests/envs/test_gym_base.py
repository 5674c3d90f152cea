"""What every dprl Gymnasium environment shares (`dprl.envs.gym_base`): Gymnasium's docstring sections and runnable examples."""

import gymnasium as gym

import dprl.envs  # noqa: F401  (registers the ids)


SECTIONS = ("Description", "Action Space", "Observation Space", "Rewards", "Starting State", "Episode End",
            "Arguments", "Version History", "Example")


def test_the_docstring_examples_run_and_every_registered_class_has_gymnasiums_sections():
    """The seeded examples in the environments' docstrings print what they do (plain `pytest` runs them)."""
    import doctest
    import importlib

    from dprl.envs import cartpole_gym, gym_base, pendulum_gym, trebuchet_aim_gym

    for module in (gym_base, cartpole_gym, pendulum_gym, trebuchet_aim_gym):
        results = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
        assert results.failed == 0 and (results.attempted > 0 or module is gym_base)
    for env_id in dprl.envs._REGISTRATIONS:
        spec = gym.spec(env_id)
        for entry_point in (spec.entry_point, spec.vector_entry_point):
            module, name = entry_point.split(":")
            cls = getattr(importlib.import_module(module), name)
            missing = [s for s in SECTIONS if f"## {s}\n" not in (cls.__doc__ or "")]
            assert not missing, f"{name} lacks {missing}"
            assert doctest.DocTestFinder().find(cls, globs={})[0].examples, f"{name} has no example"
