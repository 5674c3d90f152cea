"""The command line's validation layer: one-line errors, negative numbers, typed flags."""

import contextlib
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dprl.arguments import Parser, finite_float, one_line, output_folder, positive_float, positive_int, seed


def parser():
    p = Parser(prog="dprl test")
    p.add_argument("--wind", type=finite_float(-150, 150), default=0.0)
    p.add_argument("--angle", type=finite_float(0, 90, open_lo=True, open_hi=True), default=45.0)
    p.add_argument("--count", type=positive_int, default=1)
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--budget", type=positive_float, default=1.0)
    p.add_argument("--out", type=output_folder, default=".")
    return p


def refused(*argv):
    """The one line on stderr of a refused command line."""
    stderr = io.StringIO()
    with pytest.raises(SystemExit) as exit_, contextlib.redirect_stderr(stderr):
        parser().parse_args(list(argv))
    err = stderr.getvalue()
    assert exit_.value.code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("dprl test: error: ") and "usage" not in err
    return err


@pytest.mark.parametrize("text, value", [("-10", -10.0), ("-1e1", -10.0), ("-2.", -2.0), ("-.5", -0.5), ("-1.5E+1", -15.0), ("150", 150.0)])
def test_negative_numbers_are_values_not_flags(text, value):
    assert parser().parse_args(["--wind", text]).wind == value


@settings(max_examples=200, deadline=None)
@given(st.floats(-150, 150))
def test_every_float_in_range_is_read_back_exactly(value):
    assert parser().parse_args(["--wind", repr(value)]).wind == value


@settings(max_examples=100, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True).filter(lambda v: not -150 <= v <= 150))
def test_floats_out_of_range_name_the_flag_and_the_range(value):
    err = refused("--wind", repr(value))
    assert "--wind must be a finite number in [-150, 150]" in err


@pytest.mark.parametrize("text", ["-inf", "inf", "nan", "-nan", "0", "90", "-1e-300", "forty", ""])
def test_angle_refusals_are_one_line(text):
    assert "--angle must be a finite number in (0, 90)" in refused("--angle", text)


@settings(max_examples=50, deadline=None)
@given(st.integers(max_value=0))
def test_counts_below_one_are_refused_by_name(value):
    assert f"--count must be a whole number at least 1, got {value}" in refused("--count", str(value))


@pytest.mark.parametrize("text", ["-1", "1.5", "1e3", str(2**32)])
def test_seeds_are_whole_numbers_numpy_and_torch_take(text):
    assert "--seed must be a whole number in [0, 4294967295]" in refused("--seed", text)


@pytest.mark.parametrize("text", ["0", "-1", "nan", "inf"])
def test_budgets_must_be_positive_and_finite(text):
    assert "--budget must be a finite number in (0, inf)" in refused("--budget", text)


def test_a_flag_without_its_value_and_unknown_flags_are_one_line():
    assert "--count: expected one argument" in refused("--count")
    assert "unrecognized arguments: --nope" in refused("--nope")


def test_an_output_folder_under_a_file_is_refused_before_anything_runs(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    assert f"but {blocker} is a file" in refused("--out", str(blocker / "sub" / "deeper"))
    assert f"but {blocker} is a file" in refused("--out", str(blocker))
    fresh = tmp_path / "new" / "folder"
    assert parser().parse_args(["--out", str(fresh)]).out == str(fresh)
    assert not fresh.exists()  # parsing creates nothing


def test_an_output_folder_with_a_name_too_long_for_the_file_system_is_refused_in_one_line(tmp_path):
    long = "a" * 300
    assert "must be a folder that can be made, but File name too long (a name in it has 300 characters)" in refused("--out", str(tmp_path / long))
    assert "a name in it has 300 characters" in refused("--out", str(tmp_path / long / "sub"))
    assert parser().parse_args(["--out", str(tmp_path / ("a" * 200))]).out.endswith("a" * 200)


def test_one_line_keeps_only_the_first_line_of_a_message():
    assert one_line(ValueError("first\n  stack trace\n  more")) == "first"
    assert one_line(ValueError("")) == "ValueError"
