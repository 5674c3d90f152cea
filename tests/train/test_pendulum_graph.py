import functools

import dprl.train.pendulum as trainer
import numpy as np
import pytest
import torch
from dprl.envs import pendulum
from dprl.results import Diverged
from dprl.train import policies
from dprl.train.pendulum_graph import WARMUP, APGUpdate

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
PARAMS = pendulum.PendulumParams(variant="gymnasium")


def states(seed, *shape):
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(-np.pi, np.pi, shape), rng.uniform(-1, 1, shape)], -1)


def flat(weights):
    return np.concatenate([np.ravel(a) for pair in weights for a in pair])


def updater(device="cpu", learning_rate=1e-2, batch=4, capturable=False, **kwargs):
    policy = policies.load_weights(policies.pendulum_policy(), policies.glorot_weights(policies.pendulum_policy, 0)).to(device)
    optimizer = torch.optim.Adam(policy.parameters(), lr=learning_rate, capturable=capturable)
    backward = functools.partial(trainer.apg_backward, policy, horizon=10, params=PARAMS, decay=0.985, max_grad_norm=1.0)
    return policy, APGUpdate(policy, optimizer, batch, backward, **kwargs)


def test_the_update_without_capture_repeats_the_reference_trainer():
    batches = states(3, 4, 4)
    reference = trainer.train_pendulum_apg(policies.glorot_weights(policies.pendulum_policy, 0), batches, states(4, 0), horizon=10,
                                           max_grad_norm=1.0, learning_rate=1e-2, gradient_decay=0.985, progress=False)
    policy, update = updater()
    assert update.graph is False
    losses = [update(k, starts) for k, starts in enumerate(batches, start=1)]
    assert losses == reference.losses
    np.testing.assert_array_equal(flat(policies.weights(policy)), flat(reference.weights))


def test_a_diverging_update_is_named_and_its_weights_are_restored():
    policy, update = updater(learning_rate=1e300)
    batches = states(5, 3, 4)
    update(1, batches[0])
    kept = flat(policies.weights(policy))
    with pytest.raises(Diverged) as raised:
        update(2, batches[1])
    np.testing.assert_array_equal(flat(policies.weights(policy)), kept)
    reference = trainer.train_pendulum_apg(policies.glorot_weights(policies.pendulum_policy, 0), batches, states(4, 0), horizon=10,
                                           max_grad_norm=1.0, learning_rate=1e300, gradient_decay=0.985, progress=False)
    assert str(raised.value) == reference.extra["diverged"] and str(raised.value).startswith("update 2 diverged")
    np.testing.assert_array_equal(flat(reference.weights), kept)


def test_bad_starts_and_a_graph_off_cuda_are_refused():
    _, update = updater()
    with pytest.raises(ValueError, match=r"starts must have shape \(4, 2\)"):
        update(1, states(0, 5))
    with pytest.raises(ValueError, match="graph=True needs a policy on a CUDA device"):
        updater(graph=True)


@needs_cuda
def test_a_graph_needs_a_capturable_optimizer():
    with pytest.raises(ValueError, match="capturable=True"):
        updater("cuda", graph=True)


@needs_cuda
def test_graph_updates_give_the_eager_losses_to_rounding():
    batches = states(3, WARMUP + 4, 64)
    policy, update = updater("cuda", batch=64, capturable=True)
    graphed = [update(k, starts) for k, starts in enumerate(batches, start=1)]
    assert update.cuda_graph is not None  # the updates after the warm-up were replays
    eager = trainer.train_pendulum_apg(policies.glorot_weights(policies.pendulum_policy, 0), batches, states(4, 0), horizon=10,
                                       max_grad_norm=1.0, learning_rate=1e-2, gradient_decay=0.985, progress=False, device="cuda",
                                       cuda_graph=False)
    np.testing.assert_allclose(graphed, eager.losses, rtol=1e-9)
    np.testing.assert_allclose(flat(policies.weights(policy)), flat(eager.weights), rtol=1e-7, atol=1e-12)


@needs_cuda
def test_the_trainer_on_cuda_graphs_its_updates_and_follows_the_eager_run():
    weights = policies.glorot_weights(policies.pendulum_policy, 0)
    runs = [trainer.train_pendulum_apg(weights, states(3, WARMUP + 3, 16), states(4, 8), horizon=20, evaluate_every=2, progress=False,
                                       device="cuda", cuda_graph=graph) for graph in (True, False)]
    np.testing.assert_allclose(runs[0].losses, runs[1].losses, rtol=1e-9)
    np.testing.assert_allclose(runs[0].scores, runs[1].scores, rtol=1e-9)
