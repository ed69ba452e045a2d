"""A small local model's drafts, each with the mistake such models make, driven through verify and repair.

The loopback server answers as a 7B coder model would: a reply cut off mid-function, a try/except that
hides errors, the description's column names hard-coded, an argument scikit-learn removed, conditional
hyperparameters read before their algorithm is known, categorical columns selected by ``object`` dtype,
and the class count hard-coded. One run takes them in turn (``tests/fixtures/weak_model/train-1..7``,
the first with the server's finish_reason "length") and then the corrected reply (``train-8``). Each
test asserts what the model was told about one draft: the line and the fix, because a small model
repairs exactly what the message says.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automl.writers.extract import extract_code
from tests.fake_llm import FakeLLMServer, FakeReply
from tests.test_llm_run import MODEL, automl

pytestmark = pytest.mark.e2e

REPLIES = Path(__file__).parent / "fixtures" / "weak_model"
DRAFTS = 8  # seven broken drafts, then the corrected one


def weak_table(n_rows: int = 360, seed: int = 0) -> pd.DataFrame:
    """Three classes learned from two numeric and two categorical columns (both kinds matter), plus noise."""
    rng = np.random.default_rng(seed)
    size, weight = rng.normal(size=n_rows), rng.normal(size=n_rows)
    colour = rng.choice(["red", "green", "blue"], size=n_rows)
    shape = rng.choice(["round", "square"], size=n_rows)
    signal = size + 0.5 * weight + 1.5 * (colour == "red") - 1.5 * (shape == "square") + 0.3 * rng.normal(size=n_rows)
    label = np.digitize(signal, np.quantile(signal, [1 / 3, 2 / 3]))
    frame = pd.DataFrame({"size": size, "weight": weight, "noise": rng.normal(size=n_rows), "colour": colour,
                          "shape": shape, "label": np.array(["low", "mid", "high"])[label]})  # fmt: skip
    frame.loc[rng.random(n_rows) < 0.05, "size"] = np.nan
    return frame


@dataclass(frozen=True)
class WeakRun:
    out: Path
    stdout: str
    requests: list[dict]

    def errors(self, draft: int) -> str:
        """What the runner sent back about train draft ``draft``."""
        return (self.out / "attempts" / f"train-{draft}.errors.txt").read_text()

    def repair_request(self, draft: int) -> str:
        """The user message of the request that asked for the draft after ``draft``."""
        train_requests = [request for request in self.requests if "Write the training function" in str(request)]
        return train_requests[draft]["messages"][-1]["content"]


def reply(name: str) -> str:
    return (REPLIES / f"{name}.txt").read_text()


def draft_line(draft: int, text: str) -> int:
    """The line of the extracted train.py of ``draft`` that holds ``text`` (what a message must name)."""
    lines = extract_code(reply(f"train-{draft}"), "train").splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


@pytest.fixture(scope="module")
def weak_run(tmp_path_factory: pytest.TempPathFactory) -> WeakRun:
    root = tmp_path_factory.mktemp("weak")
    data = root / "table.csv"
    weak_table().to_csv(data, index=False)
    out = root / "run"
    with FakeLLMServer() as server:
        cut_off = FakeReply(reply("train-1"), finish_reason="length")  # the server's output-token limit
        server.script(reply("plan"), reply("space"), reply("scenario"), cut_off,
                      *(reply(f"train-{draft}") for draft in range(2, DRAFTS + 1)))  # fmt: skip
        done = automl("run", "--data", data, "--target", "label", "--llm", MODEL, "--api-base", server.api_base,
                      "--attempts", str(DRAFTS), "--trials", "4", "--walltime", "240", "--cv", "1", "--no-bag",
                      "--out", out, cwd=root)  # fmt: skip
        requests = [request.json or {} for request in server.chat_requests]
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return WeakRun(out, done.stdout, requests)


def test_the_corrected_reply_is_accepted_and_runs(weak_run: WeakRun) -> None:
    assert (weak_run.out / "train.py").read_text() == extract_code(reply(f"train-{DRAFTS}"), "train")
    result = json.loads((weak_run.out / "result.json").read_text())
    assert result["rejected_drafts"] == DRAFTS - 1
    assert result["test_metrics"]["accuracy"] > 0.6
    assert json.loads((weak_run.out / "verify.json").read_text())["accepted"]


def test_a_reply_cut_off_mid_function_is_asked_for_again_whole(weak_run: WeakRun) -> None:
    """The cut-off file parses (it ends in ``pipeline.predict_``): only the server's finish_reason tells."""
    assert "cut off" in weak_run.errors(1) and "output-token limit" in weak_run.errors(1)
    assert (weak_run.out / "attempts" / "train-1.reply.txt").read_text() == reply("train-1")


def test_a_try_except_that_hides_errors_names_its_line(weak_run: WeakRun) -> None:
    errors = weak_run.errors(2)
    assert f"line {draft_line(2, 'except Exception')}" in errors and "let the error propagate" in errors


def test_hard_coded_columns_are_all_named_with_their_lines(weak_run: WeakRun) -> None:
    errors = weak_run.errors(3)
    cat_line, num_line = draft_line(3, "cat_cols = ["), draft_line(3, "num_cols = [")
    for column, line in (("colour", cat_line), ("shape", cat_line), ("size", num_line), ("noise", num_line)):
        assert f"'{column}' (line {line})" in errors
    assert "select columns by dtype" in errors


def test_a_removed_scikit_learn_argument_names_its_line_and_the_argument(weak_run: WeakRun) -> None:
    errors = weak_run.errors(4)
    assert f"line {draft_line(4, 'sparse=False')}" in errors and "unexpected keyword argument 'sparse'" in errors


def test_an_inactive_conditional_read_names_the_condition_and_every_unguarded_line(weak_run: WeakRun) -> None:
    errors = weak_run.errors(5)
    assert "logreg_C" in errors and "conditional" in errors and "algorithm" in errors
    for name in ("rf_n_estimators", "rf_max_depth"):  # the same bug on the other lines, named at once
        assert f"line {draft_line(5, name)}" in errors


def test_categorical_columns_the_model_never_uses_are_rejected_by_name(weak_run: WeakRun) -> None:
    errors = weak_run.errors(6)
    assert "colour" in errors and "shape" in errors and "category" in errors


def test_a_hard_coded_class_count_fails_on_a_copy_with_other_classes(weak_run: WeakRun) -> None:
    errors = weak_run.errors(7)
    assert "n_classes" in errors and f"line {draft_line(7, 'labels=[0, 1, 2]')}" in errors
    # The deprecated argument seen while verifying goes back too, to be fixed in the same repair.
    assert "warning (fix it too)" in errors and "penalty" in errors


def test_each_repair_request_carries_the_draft_and_its_errors(weak_run: WeakRun) -> None:
    for draft in range(1, DRAFTS):
        request = weak_run.repair_request(draft)
        assert "The runner checked your train.py file and it failed" in request
        first_error = weak_run.errors(draft).strip().splitlines()[0]
        assert first_error[:80] in request
