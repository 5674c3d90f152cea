"""The step-by-step trajectory for plots and animation: one throw, from the ground to its landing."""

import pytest

from dprl.envs import trebuchet, trebuchet_trajectory


def test_simulate_traces_the_throw_to_its_landing():
    track = trebuchet_trajectory.simulate(-2.0, 45.0, 200.0)
    assert track.phase[0] == 1 and track.phase[-1] == 3 and sorted(set(track.phase)) == [1, 2, 3]
    assert track.time == sorted(track.time)
    assert track.projectile[-1][0] == pytest.approx(74.7284, abs=1e-3)
    assert track.time[-1] == pytest.approx(track.result.landing_time.item())
    assert track.projectile[0][1] == pytest.approx(-trebuchet.PIVOT_HEIGHT)  # it starts on the ground
