"""The schema check every file dprl reads goes through."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dprl import schema

ROWS = {"rows": [{"claim": str, "holds?": str}], "gradient": [schema.NUMBER], "data": schema.ARRAY}
GOOD = {"rows": [{"claim": "c"}, {"claim": "d", "holds": "yes"}], "gradient": [1, 2.5], "data": [[1.0, 2.0], [3.0]]}


def test_a_matching_value_has_no_problem():
    assert schema.problem(GOOD, ROWS) is None
    assert schema.problem(3, schema.ARRAY) is None and schema.problem(10**400, schema.NUMBER) is None
    assert schema.problem([[1.0, json.loads("NaN")]], schema.ARRAY_OR_NAN) is None


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity"])
def test_json_nan_and_infinity_are_not_numbers_a_result_may_hold(text):
    value = json.loads(text)
    assert schema.problem(value, schema.NUMBER) == f"the file must be a finite number, got {text}"
    assert "must be a finite number or a list of them" in schema.problem([1.0, [value]], schema.ARRAY)
    assert (schema.problem(value, schema.ARRAY_OR_NAN) is None) == (text == "NaN")


@pytest.mark.parametrize("change, words", [
    ({"rows": "none"}, "rows must be a list, got \"none\""),
    ({"rows": [{"claim": 3}]}, "rows[0].claim must be a string, got 3"),
    ({"rows": [{"holds": "yes"}]}, "rows[0] lacks the field 'claim'"),
    ({"gradient": [1, True]}, "gradient[1] must be a finite number, got true"),
    ({"gradient": [1, "2"]}, 'gradient[1] must be a finite number, got "2"'),
    ({"data": [[1.0], ["x"]]}, "data[1][0] must be a finite number or a list of them, got \"x\""),
    ({"data": None}, "data must be a finite number or a list of them, got null"),
])
def test_each_mismatch_is_named_with_where_it_is(change, words):
    assert schema.problem({**GOOD, **change}, ROWS) == words


def test_a_missing_field_is_named():
    assert schema.problem({"rows": []}, ROWS) == "the file lacks the field 'gradient'"


@settings(max_examples=50, deadline=None)
@given(st.recursive(st.floats(allow_nan=False, allow_infinity=False) | st.integers(), lambda inner: st.lists(inner, max_size=4), max_leaves=20))
def test_nested_numbers_are_arrays(value):
    assert schema.problem(value, schema.ARRAY) is None


def test_like_takes_the_schema_from_an_example():
    example = {"weights": [([[1.0, 2.0]], [0.5])], "n": 8, "name": "x"}
    assert schema.like(example) == {"weights": schema.ARRAY, "n": schema.NUMBER, "name": str}


def test_read_names_the_file_when_it_is_missing_truncated_or_wrong(tmp_path):
    path = tmp_path / "result.json"
    with pytest.raises(ValueError, match=f"{path} does not exist"):
        schema.read(path, ROWS, "result file")
    path.write_text(json.dumps(GOOD)[:-5])
    with pytest.raises(ValueError, match=f"{path} is not a readable result file"):
        schema.read(path, ROWS, "result file")
    path.write_text(json.dumps([GOOD]))
    with pytest.raises(ValueError, match=f"{path} is not a valid result file: the file must be an object"):
        schema.read(path, ROWS, "result file")
    path.write_text(json.dumps(GOOD))
    assert schema.read(path, ROWS, "result file") == GOOD


def test_read_refuses_a_folder_and_deep_nesting_naming_the_file(tmp_path):
    with pytest.raises(ValueError, match=f"{tmp_path} is a folder"):
        schema.read(tmp_path, ROWS, "result file")
    path = tmp_path / "deep.json"
    for depth in (schema.MAX_DEPTH + 1, 100_000):  # the second beyond Python's recursion limit
        path.write_text("[" * depth + "]" * depth)
        with pytest.raises(ValueError, match=f"{path} is not a valid result file: it is nested deeper than {schema.MAX_DEPTH}"):
            schema.read(path, ROWS, "result file")
    path.write_text("[" * 10 + "]" * 10)
    with pytest.raises(ValueError, match="must be an object"):
        schema.read(path, ROWS, "result file")
