"""Rounds of search (--rounds): the account a writer reads, its revision, and what a later round carries over.

The whole loop (a model's revision, SMAC told the earlier trials, the ensemble over both rounds, the replay)
runs end to end in tests/test_llm_run.py; these check the pieces on their own.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from ConfigSpace import Categorical, ConfigurationSpace, EqualsCondition, Float, Integer
from smac.runhistory import StatusType

from automl.config import RunConfig, ScenarioSettings
from automl.data import prepare_dataset
from automl.ensemble.ranking import configuration_key
from automl.errors import ConfigError
from automl.optimize.smac_run import OptimizationResult, TrialRecord, told
from automl.plan import Plan
from automl.report.search_account import algorithm_choice, search_account
from automl.rundir import RunPaths, resume_request
from automl.stages.optimize import carried_over, merge_rounds
from automl.verify.space_check import plain_name
from automl.writers import OfflineWriter
from automl.writers.base import WriteContext
from automl.writers.llm import LLMWriter


def space() -> ConfigurationSpace:
    space = ConfigurationSpace(seed=0)
    algorithm = Categorical("algorithm", ["rf", "logreg", "knn"], default="rf")
    trees = Integer("rf_trees", (10, 200), default=100)
    c = Float("logreg_C", (1e-3, 1e3), log=True, default=1.0)
    k = Integer("knn_k", (1, 50), default=5)
    space.add([algorithm, trees, c, k])
    space.add([EqualsCondition(trees, algorithm, "rf"), EqualsCondition(c, algorithm, "logreg"),
               EqualsCondition(k, algorithm, "knn")])  # fmt: skip
    return space


def trial(config: dict, cost: float, status: str = "success", error: str = "", round_number: int = 1) -> TrialRecord:
    return TrialRecord(0, config, 0, None, None, status, cost, 0.5, {}, f"t{cost}", error, round_number)


def history() -> list[TrialRecord]:
    rf = [trial({"algorithm": "rf", "rf_trees": n}, cost) for n, cost in ((100, 0.30), (150, 0.20), (50, 0.40))]
    logreg = [trial({"algorithm": "logreg", "logreg_C": c}, cost) for c, cost in ((1.0, 0.50), (10.0, 0.45))]
    failed = [trial({"algorithm": "knn", "knn_k": k}, 1.0, "crashed", f"Traceback\nValueError: k={k} too large")
              for k in (40, 45)]  # fmt: skip
    return rf + logreg + failed + [trial({"algorithm": "knn", "knn_k": 3}, 0.9, "timeout", "out of time")]


def account(trials: list[TrialRecord] | None = None) -> dict:
    return search_account(history() if trials is None else trials, space(), loss_name="log_loss", round_number=1,
                          rounds=2, seconds_left=30.0, trials_left=12)  # fmt: skip


def test_the_account_ranks_algorithms_and_configurations_and_groups_failures_by_their_error() -> None:
    found = account()
    assert algorithm_choice(space()) == "algorithm"
    assert found["trials"] == {"finished": 8, "succeeded": 5, "failed": 3}
    # Best first; an algorithm that never succeeded comes last, with no loss.
    assert found["by_algorithm"] == {"rf": {"trials": 3, "best_loss": 0.2}, "logreg": {"trials": 2, "best_loss": 0.45},
                                     "knn": {"trials": 3, "best_loss": None}}  # fmt: skip
    assert [c["loss"] for c in found["top_configurations"]] == [0.2, 0.3, 0.4, 0.45, 0.5]
    assert found["top_configurations"][0] == {"loss": 0.2, "round": 1, "algorithm": "rf", "rf_trees": 150}
    assert found["failures"] == [{"count": 1, "error": "crashed: ValueError: k=40 too large"},
                                 {"count": 1, "error": "crashed: ValueError: k=45 too large"},
                                 {"count": 1, "error": "timeout: out of time"}]  # fmt: skip
    assert found["left_for_the_next_rounds"] == {"seconds": 30.0, "trials": 12}
    assert found["seconds_per_trial"] == {"median": 0.5, "max": 0.5}
    assert isinstance(found["importance"], str) and "at least" in found["importance"]  # too few trials to say
    json.dumps(found)  # it goes into a prompt and revision.json as it is


def test_the_offline_revision_keeps_the_better_half_of_the_families_tried_and_those_not_tried() -> None:
    context = WriteContext({}, RunConfig(), space=space())
    narrowed = OfflineWriter().revise(context, account(), None)
    assert narrowed.train_source is None  # the offline train.py goes on
    assert narrowed.space["algorithm"].choices == ("rf", "logreg")  # knn never succeeded: dropped
    assert "knn_k" not in narrowed.space and "rf_trees" in narrowed.space
    only_rf = account([trial({"algorithm": "rf", "rf_trees": 100}, 0.3)])
    assert OfflineWriter().revise(context, only_rf, None).space["algorithm"].choices == ("rf", "logreg", "knn")
    assert OfflineWriter().revise(context, {"by_algorithm": {}}, None).space == space()


def test_a_later_round_carries_over_only_the_trials_valid_in_its_space() -> None:
    narrowed = ConfigurationSpace(seed=0)
    algorithm = Categorical("algorithm", ["rf", "logreg"], default="rf")
    trees = Integer("rf_trees", (80, 200), default=100)
    c = Float("logreg_C", (1e-3, 1e3), log=True, default=1.0)
    narrowed.add(
        [algorithm, trees, c, EqualsCondition(trees, algorithm, "rf"), EqualsCondition(c, algorithm, "logreg")]
    )
    kept = carried_over(narrowed, history())
    assert [t.config for t in kept] == [{"algorithm": "rf", "rf_trees": 100}, {"algorithm": "rf", "rf_trees": 150},
                                        {"algorithm": "logreg", "logreg_C": 1.0},
                                        {"algorithm": "logreg", "logreg_C": 10.0}]  # fmt: skip
    info, value = told(narrowed, kept[0])
    assert dict(info.config) == kept[0].config and info.config.origin == "Round 1"
    assert value.cost == 0.3 and value.status == StatusType.SUCCESS and value.additional_info["round"] == 1
    crashed = told(space(), history()[5])[1]
    assert crashed.status == StatusType.CRASHED and "too large" in crashed.additional_info["error"]


def test_rounds_merge_into_one_history_whose_incumbent_is_the_better_rounds() -> None:
    one = OptimizationResult({"algorithm": "rf"}, 0.3, (), tuple(history()[:2]), 5.0)
    new = (trial({"algorithm": "logreg", "logreg_C": 2.0}, 0.1, round_number=2),)
    two = OptimizationResult(new[0].config, 0.1, new, tuple(history()[:2]) + new, 4.0)
    merged = merge_rounds(one, two, new)
    assert merged.trials == tuple(history()[:2]) + new and merged.seconds == 9.0
    assert merged.incumbent == new[0].config and merged.incumbent_trials == new
    worse = replace(two, incumbent_cost=0.5)
    assert merge_rounds(one, worse, new).incumbent == {"algorithm": "rf"}
    assert merge_rounds(None, two, new) is two


def test_an_equal_configuration_of_another_round_is_another_model() -> None:
    config = {"algorithm": "rf", "rf_trees": 100}
    assert configuration_key(trial(config, 0.3)) != configuration_key(trial(config, 0.3, round_number=2))
    assert configuration_key(trial(config, 0.3)) == configuration_key(trial(config, 0.5))


def test_a_later_round_keeps_its_code_beside_the_first_rounds(tmp_path: Path) -> None:
    paths = RunPaths(tmp_path)
    assert paths.round_files(1).train_py == paths.train_py == tmp_path / "train.py"
    assert paths.round_files(2).space_json == tmp_path / "rounds" / "2" / "config_space.json"


def test_rounds_must_be_a_positive_whole_number_and_a_run_of_several_is_not_resumed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--rounds must be a whole number greater than 0"):
        RunConfig(rounds=0)
    (tmp_path / "run.json").write_text(json.dumps({"arguments": RunConfig(rounds=2).to_dict()}))
    with pytest.raises(ConfigError, match=r"a run of 2 rounds .* cannot be resumed"):
        resume_request(tmp_path)


def test_a_model_starting_from_the_offline_search_needs_a_round_to_revise_it() -> None:
    with pytest.raises(ConfigError, match="add --rounds 2"):
        RunConfig(llm="openai/x", start="offline")
    with pytest.raises(ConfigError, match="--start must be one of"):
        RunConfig(start="best")
    assert RunConfig(llm="openai/x", start="offline", rounds=2).start == "offline"


@pytest.mark.parametrize(("name", "plain"), [("rf_depth", True), ("rf:max_depth", True), ("a:b:c", False),
                                             ("rf max", False), (":depth", False)])  # fmt: skip
def test_a_space_may_name_its_hyperparameters_family_colon_name_as_the_offline_one_does(name: str, plain: bool) -> None:
    assert plain_name(name) == plain


class ScriptedClient:
    """A model client answering one scripted reply and keeping the messages it was sent."""

    model, waited_seconds, cut_off = "scripted", 0.0, False

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.messages: list[dict[str, str]] = []

    def complete(self, stage: str, messages: list[dict[str, str]], attempt: int = 1) -> str:
        self.messages = messages
        return self.reply


SPACE_BLOCK = """```python
from ConfigSpace import ConfigurationSpace, Float


def get_configspace():
    space = ConfigurationSpace()
    space.add(Float("logreg_C", (0.1, 10.0), log=True))
    return space
```"""
TRAIN_BLOCK = """```python
def train(cfg, dataset, seed, budget=None, model_dir=None):
    return {"loss": 0.0}
```"""


@pytest.mark.parametrize("with_train", [False, True])
def test_a_model_revision_is_the_space_and_only_a_train_py_it_chose_to_write(with_train: bool) -> None:
    description = prepare_dataset("sklearn:wine", None, "auto", None, 0).description
    context = WriteContext(description, RunConfig(metric="log_loss"), plan=Plan(facade="hpo", train_plan="x"),
                           space=space(), scenario=ScenarioSettings(), train_source="def train(): CURRENT\n",
                           space_source="def get_configspace(): CURRENT_SPACE\n")  # fmt: skip
    client = ScriptedClient(
        f"Narrowed:\n\n{SPACE_BLOCK}\n" + (f"\nAnd train.py:\n\n{TRAIN_BLOCK}\n" if with_train else "")
    )
    revision = LLMWriter(client).revise(context, account(), None)
    assert "def get_configspace" in revision.space and "def train" not in revision.space
    assert (revision.train_source is not None) == with_train
    if with_train:
        assert 'return {"loss": 0.0}' in revision.train_source
    request = client.messages[1]["content"]
    assert "Round 1 of 2" in request and "CURRENT_SPACE" in request and "def train(): CURRENT" in request
    assert '"by_algorithm"' in request and "ValueError: k=40 too large" in request and "log_loss" in request
