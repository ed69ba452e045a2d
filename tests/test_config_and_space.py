"""Scenario presets, option validation and narrowing a config space to allowed algorithms."""

from __future__ import annotations

from pathlib import Path

import pytest
from ConfigSpace import Categorical, ConfigurationSpace, EqualsCondition, Float, InCondition, Integer

from automl.config import ScenarioSettings, requested_scenario
from automl.errors import ConfigError
from automl.resources import bundled_dir
from automl.writers.space import load_space, restrict_choices


def test_bundled_presets_load_and_flags_override_them() -> None:
    quick = ScenarioSettings.load("quick")
    assert quick.n_trials > 0 and quick.walltime_limit > 0
    overridden = quick.with_overrides(n_trials=7, walltime_limit=None)
    assert overridden.n_trials == 7
    assert overridden.walltime_limit == quick.walltime_limit


def test_a_walltime_alone_means_search_until_the_time_is_spent() -> None:
    default = ScenarioSettings.load("default")
    timed = requested_scenario("default", walltime=60)
    assert timed.n_trials is None and timed.time_limited and timed.walltime_limit == 60
    assert timed.trial_walltime_limit == default.trial_walltime_limit  # the preset's other limits stand
    assert requested_scenario("quick", walltime=60).n_trials is None  # a bundled preset's count is a default
    assert requested_scenario("default", trials=200, walltime=60).n_trials == 200  # --trials is a cap
    # Without a walltime of the user's, the preset's trials and walltime stand, as before.
    assert requested_scenario("default") == default and not default.time_limited
    assert requested_scenario("default", trials=7) == default.with_overrides(n_trials=7)


def test_a_scenario_file_of_the_users_caps_trials_when_it_sets_them(tmp_path: Path) -> None:
    capped, timed, neither = tmp_path / "capped.yaml", tmp_path / "timed.yaml", tmp_path / "neither.yaml"
    capped.write_text("n_trials: 500\nwalltime_limit: 600\n")
    timed.write_text("walltime_limit: 600\ntrial_walltime_limit: 30\n")
    neither.write_text("trial_walltime_limit: 30\n")
    assert requested_scenario(capped).n_trials == 500
    assert requested_scenario(capped, walltime=60).n_trials == 500  # the file's n_trials is the user's cap
    assert requested_scenario(capped, trials=9, walltime=60).n_trials == 9
    assert requested_scenario(timed).n_trials is None  # the file's walltime alone: time ends the search
    assert requested_scenario(timed).trial_walltime_limit == 30
    assert requested_scenario(neither) == ScenarioSettings.load(neither)
    assert requested_scenario(neither, walltime=60).n_trials is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"n_trials": 0}, "--trials"),
        ({"n_trials": -3}, "--trials"),
        ({"n_trials": 2.5}, "whole number"),
        ({"walltime_limit": 0}, "--walltime"),
        ({"walltime_limit": float("inf")}, "--walltime"),
        ({"crash_cost": float("inf")}, "finite"),
    ],
)
def test_bad_limits_are_config_errors(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ScenarioSettings().with_overrides(**overrides)


def test_scenario_files_are_checked(tmp_path: Path) -> None:
    unknown = tmp_path / "s.yaml"
    unknown.write_text("n_trial: 5\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        ScenarioSettings.load(unknown)
    with pytest.raises(ConfigError, match="one of"):
        ScenarioSettings.load("nonexistent")


def test_bundled_spaces_load() -> None:
    paths = sorted(bundled_dir("configs").glob("offline_*.json"))  # the portfolio_*.json files are not spaces
    names = [path.stem for path in paths]
    assert names == [
        "offline_classification",
        "offline_regression",
        "offline_tensor_flat",
        "offline_tensor_image",
    ]
    for path in paths:
        space = load_space(path)
        assert "algorithm" in space


def test_an_invalid_space_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "space.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="not a valid ConfigSpace"):
        load_space(path)


def test_restricting_choices_drops_their_hyperparameters_transitively() -> None:
    space = ConfigurationSpace()
    algorithm = Categorical("algorithm", ["hgb", "rf", "svm"], default="svm")
    lr = Float("hgb:lr", (0.01, 0.3), log=True)
    trees = Integer("rf:trees", (10, 100))
    kernel = Categorical("svm:kernel", ["rbf", "poly"])
    degree = Integer("svm:degree", (2, 5))
    shared = Float("shared", (0.0, 1.0))
    space.add([algorithm, lr, trees, kernel, degree, shared])
    space.add(
        [
            EqualsCondition(lr, algorithm, "hgb"),
            EqualsCondition(trees, algorithm, "rf"),
            EqualsCondition(kernel, algorithm, "svm"),
            EqualsCondition(degree, kernel, "poly"),
            InCondition(shared, algorithm, ["rf", "svm"]),
        ]
    )
    narrowed = restrict_choices(space, "algorithm", ("hgb", "rf"))
    assert set(narrowed.keys()) == {"algorithm", "hgb:lr", "rf:trees", "shared"}
    assert narrowed["algorithm"].default_value == "hgb"
    for config in narrowed.sample_configuration(20):
        assert config["algorithm"] in {"hgb", "rf"}
    with pytest.raises(ConfigError):
        restrict_choices(space, "algorithm", ("lightgbm",))


def test_scenario_files_extend_the_import_allow_list(tmp_path: Path) -> None:
    from automl.verify.static import check_source, load_allowed_imports

    path = tmp_path / "s.yaml"
    path.write_text("n_trials: 5\nextra_imports: [lightgbm2]\n")
    settings = ScenarioSettings.load(path)
    assert settings.extra_imports == ("lightgbm2",)
    source = "import lightgbm2\n\n\ndef train(cfg, dataset, seed, budget=None, model_dir=None):\n    return {}\n"
    assert check_source(source, allowed_imports=load_allowed_imports(settings.extra_imports)) == []
    assert check_source(source, allowed_imports=load_allowed_imports()) != []
