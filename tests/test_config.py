"""The trainers' configs: defaults, range checks naming the field, presets, and the flags built from them."""

import dataclasses
import math

import pytest

from dprl import arguments, config


@pytest.mark.parametrize("make, words", [
    (lambda: config.AimerConfig(batch_size=0), "batch_size must be a whole number ≥ 1; got 0"),
    (lambda: config.AimerConfig(learning_rate=math.nan), "learning_rate must be a number above 0"),
    (lambda: config.AimerConfig(time_budget=-1.0), "time_budget must be a number above 0"),
    (lambda: config.AimerConfig(scaled="yes"), "scaled must be True or False"),
    (lambda: config.CartPoleConfig(window=True), "window must be a whole number ≥ 1"),
    (lambda: config.PendulumConfig(variant="gym"), "variant must be one of ('gymjl2019', 'gymnasium')"),
    (lambda: config.PendulumConfig(loss="costs"), "loss must be one of ('cost2', 'cost')"),
    (lambda: config.PendulumConfig(max_grad_norm=-1.0), "max_grad_norm must be a number above 0 (math.inf: none)"),
    (lambda: config.APGConfig(gradient_decay=1.5), "gradient_decay must be in (0, 1]"),
    (lambda: config.LevenbergMarquardtConfig(max_updates=0), "max_updates must be a whole number ≥ 1"),
])
def test_a_bad_setting_is_a_value_error_naming_the_field(make, words):
    with pytest.raises(ValueError) as error:
        make()
    assert words in str(error.value)


def test_no_clipping_is_infinity_and_a_preset_fills_what_is_unset():
    assert config.APGConfig(max_grad_norm=math.inf).max_grad_norm == math.inf
    resolved = config.resolve_preset(config.PendulumConfig(variant="gymjl2019", window=8))
    assert (resolved.window, resolved.learning_rate, resolved.loss, resolved.max_grad_norm) == (8, 0.03, "cost2", math.inf)
    assert config.resolve_preset(config.PendulumConfig()).max_grad_norm == 1.0


def test_with_settings_checks_again_and_names_an_unknown_field():
    assert config.with_settings(config.CartPoleConfig(), {"window": 4}).window == 4
    with pytest.raises(ValueError, match="CartPoleConfig has no setting horizon; its settings are learning_rate, window"):
        config.with_settings(config.CartPoleConfig(), {"horizon": 4})
    with pytest.raises(ValueError, match="window must be"):
        config.with_settings(config.CartPoleConfig(), {"window": 0})


@pytest.mark.parametrize("config_class", [config.AimerConfig, config.CartPoleConfig, config.PendulumConfig, config.APGConfig,
                                          config.LevenbergMarquardtConfig])
def test_every_field_has_a_docstring_for_its_flag(config_class):
    docs = arguments.field_docs(config_class)
    assert set(docs) == {f.name for f in dataclasses.fields(config_class)} and all(docs.values())


def test_flags_come_from_the_configs_and_their_checks(capsys):
    parser = arguments.Parser(prog="t")
    arguments.add_config_flags(parser, {"cartpole": config.CartPoleConfig, "apg": config.APGConfig})
    args = parser.parse_args(["--window", "4", "--max-grad-norm", "inf"])
    assert arguments.config_settings(args, config.CartPoleConfig, "cartpole") == {"window": 4}
    with pytest.raises(ValueError, match="--max-grad-norm applies to apg, not to cartpole"):
        arguments.config_settings(args, config.CartPoleConfig, "cartpole", (("apg", config.APGConfig),))
    assert arguments.config_settings(args, config.APGConfig, "apg") == {"max_grad_norm": math.inf}
    with pytest.raises(SystemExit):
        parser.parse_args(["--gradient-decay", "2"])
    assert "--gradient-decay must be in (0, 1]; got 2.0" in capsys.readouterr().err
    assert "(default: cartpole 0.03; apg 0.01)" in " ".join(parser.format_help().split())
