"""The Levenberg–Marquardt aimer (PyTorch only)."""

import numpy as np
import pytest
import torch

from dprl.envs import trebuchet
from dprl.train import policies
from dprl.train import trebuchet_lm
from dprl.train.trebuchet_lm import train_aimer_lm


def model(seed=0):
    return policies.load_weights(policies.aimer_policy(), policies.glorot_weights(policies.aimer_policy, seed))


def test_lm_jacobian_is_the_chain_rule_through_simulator_and_network():
    from torch.func import functional_call, jacrev, vmap

    net = model(1)
    winds, targets = (torch.tensor(v) for v in trebuchet.shots(np.random.default_rng(1), 16))
    for scaled in (False, True):
        residual, jacobian = trebuchet_lm._LevenbergMarquardt(net, winds, targets, scaled).residuals(jacobian=True)
        params = {n: p.detach() for n, p in net.named_parameters()}

        def outputs(p, wind, target):
            x = torch.stack((wind / 5, (target - 60) / 40) if scaled else (wind, target), dim=-1)
            o = functional_call(net, p, (x,))
            return torch.stack((90 * torch.sigmoid(o[..., 0]), (100 * o[..., 1] if scaled else o[..., 1]) + 200), dim=-1)

        per_shot = vmap(jacrev(outputs), in_dims=(None, 0, 0))(params, winds, targets)
        per_shot = torch.cat([per_shot[n].reshape(16, 2, -1) for n in params], dim=2)
        angle, weight = (v.clone().requires_grad_() for v in outputs(params, winds, targets).unbind(-1))
        distance = trebuchet.shoot(winds, angle, weight)
        d_angle, d_weight = torch.autograd.grad(distance.sum(), (angle, weight))
        relative = 100 * (distance.detach() - targets) / targets
        c = trebuchet_lm.HUBER_PCT
        # ψ² = 2·huber(r), so dψ/dr = 1 inside and c/|ψ| outside
        assert torch.allclose(residual**2, torch.where(relative.abs() <= c, relative**2, 2 * c * relative.abs() - c * c), rtol=1e-10)
        slope = 100 / targets * torch.where(relative.abs() > c, c / residual.abs(), 1.0)
        expected = slope[:, None] * (d_angle[:, None] * per_shot[:, 0] + d_weight[:, None] * per_shot[:, 1])
        assert torch.allclose(jacobian, expected, rtol=1e-9, atol=1e-12)


def test_lm_refuses_bad_settings():
    with pytest.raises(ValueError, match="max_updates must be a whole number"):
        train_aimer_lm(policies.glorot_weights(policies.aimer_policy, 0), [0.0], [50.0], max_updates=0)
