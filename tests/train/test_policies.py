import numpy as np
import pytest
import torch

from dprl.train import policies


def test_weights_round_trip_in_linear_layout():
    layers = policies.initial_weights(policies.cartpole_policy, seed=3)
    assert [w.shape for w, _ in layers] == [(24, 4), (48, 24), (1, 48)]
    model = policies.load_weights(policies.cartpole_policy(), layers)
    for (w, b), (w2, b2) in zip(layers, policies.weights(model)):
        np.testing.assert_array_equal(w, w2)
        np.testing.assert_array_equal(b, b2)


def test_initial_weights_are_seeded_and_leave_the_global_generator_alone():
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    a = policies.initial_weights(policies.pendulum_policy, seed=0)
    after = torch.rand(1)
    b = policies.initial_weights(policies.pendulum_policy, seed=0)
    assert after == expected
    np.testing.assert_array_equal(a[0][0], b[0][0])


@pytest.mark.parametrize(
    "layers, message",
    [
        (lambda l: l[:2], "expected 3"),
        (lambda l: [(l[0][0].T, l[0][1])] + l[1:], "layer 1 weight"),
        (lambda l: [(l[0][0], np.zeros(3))] + l[1:], "layer 1 bias"),
        (lambda l: [(np.full_like(l[0][0], np.nan), l[0][1])] + l[1:], "non-finite"),
    ],
)
def test_bad_weights_are_value_errors(layers, message):
    good = policies.initial_weights(policies.cartpole_policy, seed=0)
    with pytest.raises(ValueError, match=message):
        policies.load_weights(policies.cartpole_policy(), layers(good))


def test_a_trainers_device_is_checked_and_defaults_to_the_cpu():
    assert policies.resolve_device(None) == torch.device("cpu") == policies.resolve_device("cpu")
    with pytest.raises(ValueError, match="device must be a torch device this machine has.*'bogus'"):
        policies.resolve_device("bogus")
    with pytest.raises(ValueError, match="'meta' \\(a meta tensor holds no data"):
        policies.resolve_device("meta")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device must be.*'cuda'"):
            policies.resolve_device("cuda")
