"""comparisons/apg_fine_tune.py's search: the alternatives it scores and the states it imitates."""

import importlib.util
from pathlib import Path

import torch

from dprl.envs import pendulum
from dprl.train import pendulum as apg
from dprl.train import policies

_SPEC = importlib.util.spec_from_file_location("apg_fine_tune", Path(__file__).parents[2] / "comparisons" / "apg_fine_tune.py")
fine_tune = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(fine_tune)
PARAMS = pendulum.PendulumParams(variant="gymnasium")


def _forced_return(policy, start, torque, prefix):
    s, total = torch.tensor([start], dtype=torch.float64), 0.0
    with torch.no_grad():
        for t in range(200):
            u = torch.tensor([torque], dtype=torch.float64) if t < prefix else apg.apg_torque(PARAMS, policy, pendulum.observe(PARAMS, s))
            s, r, _ = pendulum.step(PARAMS, s, u)
            total += r.item()
    return total


def test_best_alternative_is_the_best_forced_prefix_and_its_gain_over_the_policy():
    policy = policies.load_weights(policies.pendulum_policy(), policies.glorot_weights(policies.pendulum_policy, 0))
    starts = torch.tensor([[3.09, 0.0], [0.3, -0.5]], dtype=torch.float64)
    gain, torques, prefixes = fine_tune.best_alternatives(policy, starts, PARAMS)
    own = apg.apg_returns(policy, starts, 200, PARAMS)
    for i, start in enumerate(starts.tolist()):
        returns = {(c, k): _forced_return(policy, start, c, k) for c in fine_tune.SEARCH_TORQUES for k in fine_tune.SEARCH_PREFIXES}
        best = max(returns.values())
        assert abs(returns[(torques[i].item(), int(prefixes[i]))] - best) < 1e-9
        assert abs(gain[i].item() - (best - own[i].item())) < 1e-9


def test_prefix_states_follow_each_forced_prefix():
    starts = torch.tensor([[3.0, 0.1], [-2.0, 0.4]], dtype=torch.float64)
    torques, prefixes = torch.tensor([2.0, -2.0], dtype=torch.float64), torch.tensor([3, 1])
    states, targets = fine_tune.prefix_states(starts, torques, prefixes, PARAMS)
    second, _, _ = pendulum.step(PARAMS, starts[:1], torques[:1])
    third, _, _ = pendulum.step(PARAMS, second, torques[:1])
    assert torch.equal(states, torch.cat([starts, second, third]))
    assert targets.tolist() == [2.0, -2.0, 2.0, 2.0]
