"""Training results: saved atomically, read back only when they fit the schema."""

import json

import numpy as np
import pytest

from dprl.results import TrainingResult


def saved(tmp_path, **changes):
    result = TrainingResult(trainer="cartpole", config={"seed": 0}, losses=[1.0, 0.5], scores=[10.0, 20.0], episodes=[1, 2],
                            env_steps=[50, 90], wall_time=[0.1, 0.2], weights=[(np.ones((2, 3)), np.zeros(2))], finished=True)
    path = result.save(tmp_path / "result.json")
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))
    return path


def test_a_saved_result_reads_back_equal(tmp_path):
    loaded = TrainingResult.load(saved(tmp_path))
    assert loaded.scores == [10.0, 20.0] and loaded.finished and loaded.weights[0][0].shape == (2, 3)


@pytest.mark.parametrize("changes, words", [
    ({"scores": "high"}, "scores must be a list"),
    ({"scores": [10.0, "20"]}, "scores[1] must be a finite number"),
    ({"finished": "yes"}, "finished must be true or false"),
    ({"extra": []}, "extra must be an object"),
    ({"config": None}, "config must be an object"),
    ({"weights": [[[1.0], [0.0], [2.0]]]}, "weights must be [weight, bias] pairs"),
    ({"weights": [[[[1.0, 2.0], [3.0]], [0.0]]]}, "weights hold ragged arrays"),
    ({"wall_time": [0.1]}, "one entry per evaluation expected"),
    ({"surprise": 1}, "unknown fields ['surprise']"),
])
def test_a_wrong_typed_field_is_named_with_the_file(tmp_path, changes, words):
    path = saved(tmp_path, **changes)
    with pytest.raises(ValueError) as error:
        TrainingResult.load(path)
    assert str(error.value).startswith(f"{path} is not a valid dprl training result: ") and words in str(error.value)


def test_a_missing_field_or_file_is_named(tmp_path):
    path = saved(tmp_path)
    data = json.loads(path.read_text())
    del data["scores"]
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="lacks the field 'scores'"):
        TrainingResult.load(path)
    with pytest.raises(ValueError, match="does not exist"):
        TrainingResult.load(tmp_path / "nothing.json")


def test_unless_interrupted_raises_the_caught_ctrl_c_again():
    done = TrainingResult(trainer="x", config={}, finished=True)
    assert done.unless_interrupted() is done
    with pytest.raises(KeyboardInterrupt):
        TrainingResult(trainer="x", config={}).unless_interrupted()
