"""The smoke tests' copies of the data with another class structure say what they changed, and nothing else."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automl.verify.class_variants import class_variants


def _dataset(n_classes: int, n_rows: int = 60) -> dict:
    rng = np.random.default_rng(0)
    y, y_test = np.arange(n_rows) % n_classes, np.arange(n_rows // 2) % n_classes
    frame = pd.DataFrame({"a": rng.normal(size=n_rows), "b": pd.Categorical(rng.choice(["x", "y"], n_rows))})
    return {"X": frame, "y": y, "X_test": frame.head(len(y_test)), "y_test": y_test, "task": "classification",
            "n_classes": n_classes}  # fmt: skip


def test_with_several_classes_the_last_leaves_the_fit_rows_and_a_copy_has_two() -> None:
    dataset = _dataset(4)
    missing, two = class_variants(dataset, 4, seed=0)
    assert missing.label == "class_missing_from_fit"
    assert set(missing.dataset["y"]) == {0, 1, 2} and missing.dataset["n_classes"] == 4
    assert len(missing.dataset["X"]) == len(missing.dataset["y"]) == 45
    assert set(missing.dataset["y_test"]) == {0, 1, 2, 3}
    assert (missing.dataset["X"].dtypes == dataset["X"].dtypes).all()
    assert "lack class 3" in missing.hint and "dataset['n_classes'] is still 4" in missing.hint
    assert two.label == "2_classes" and two.dataset["n_classes"] == 2
    assert set(two.dataset["y"]) == set(two.dataset["y_test"]) == {0, 1}
    assert "2 classes instead of 4" in two.hint
    assert set(dataset["y"]) == {0, 1, 2, 3} and dataset["n_classes"] == 4  # the original is untouched


@pytest.mark.parametrize("seed", [0, 1])
def test_two_classes_become_three_by_splitting_class_one(seed: int) -> None:
    dataset = _dataset(2)
    [three] = class_variants(dataset, 2, seed=seed)
    assert three.label == "3_classes" and three.dataset["n_classes"] == 3
    for part in ("y", "y_test"):
        changed, original = three.dataset[part], dataset[part]
        assert set(changed) == {0, 1, 2}
        assert np.array_equal(changed == 0, original == 0)
        assert abs(int((changed == 1).sum()) - int((changed == 2).sum())) <= 1
    assert "3 classes instead of 2" in three.hint and "labels=list(range(K))" in three.hint
