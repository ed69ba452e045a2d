"""report.html and the runs table, on two small real runs (classification and regression) and doctored copies."""

from __future__ import annotations

import base64
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rich.console import Console

from automl.config import RunConfig, ScenarioSettings
from automl.errors import DataError
from automl.evaluate import score_predictions
from automl.report import html as report_html
from automl.report.html import SECTIONS, TestEvaluation, rebuild_test_evaluation, write_report
from automl.report.importance import MIN_TRIALS, hyperparameter_importance
from automl.report.runs import list_runs, runs_table
from automl.runner import run

ALWAYS = [section for section, _ in SECTIONS if section != "budgets"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HOSTILE = "<script>alert('x')</script>"


def small_run(root: Path, name: str, data: str) -> Path:
    config = RunConfig(data=data, scenario=ScenarioSettings(n_trials=10, walltime_limit=30), out=root / name)
    return run(config).paths.root


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def iris_run(runs_root: Path) -> Path:
    return small_run(runs_root, "iris", "sklearn:iris")


@pytest.fixture(scope="module")
def diabetes_run(runs_root: Path) -> Path:
    return small_run(runs_root, "diabetes", "sklearn:diabetes")


@pytest.fixture(scope="module")
def iris_page(iris_run: Path) -> str:
    """The report ``automl report`` writes later: without an evaluation, so it predicts the test rows again."""
    return write_report(iris_run).read_text(encoding="utf-8")


def copy_run(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def section(page: str, section_id: str) -> str:
    """The HTML of one section."""
    match = re.search(rf'<section id="{section_id}">(.*?)</section>', page, re.S)
    assert match, f"no section {section_id}"
    return match.group(1)


class Elements(HTMLParser):
    """The page's real tags and their link attributes, as a browser would parse them (escaped text is not a tag)."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.links: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.links += [value or "" for name, value in attrs if name in ("src", "href", "srcset", "action")]


def assert_self_contained(page: str) -> None:
    """Nothing is fetched: every src or href is an anchor or a data URI, no CSS url() or @import, no script."""
    elements = Elements(page)
    assert elements.links and all(link.startswith(("#", "data:image/png;base64,")) for link in elements.links)
    assert not elements.tags & {"script", "link", "iframe", "object", "embed"}
    assert "url(" not in page and "@import" not in page
    images = [link.split(",", 1)[1] for link in elements.links if link.startswith("data:")]
    assert images and all(base64.b64decode(image).startswith(PNG_SIGNATURE) for image in images)


def assert_valid_pngs(folder: Path, names: set[str]) -> None:
    found = {path.stem for path in folder.glob("*.png")}
    assert names <= found, found
    for path in folder.glob("*.png"):
        assert path.read_bytes().startswith(PNG_SIGNATURE)
        with Image.open(path) as image:
            image.verify()


@pytest.mark.e2e
def test_the_report_has_every_section_embedded_plots_and_nothing_remote(iris_run: Path, iris_page: str) -> None:
    for section_id in ALWAYS:
        assert f'<section id="{section_id}">' in iris_page
    assert 'id="budgets"' not in iris_page  # no budgets in an hpo run
    assert "data:image/png;base64," in iris_page
    assert_self_contained(iris_page)
    assert_valid_pngs(iris_run / "plots", {"search_progress", "trials", "importance", "confusion_matrix"})
    assert not (iris_run / "plots" / "residuals.png").exists()
    # Rebuilt without the runner's evaluation, the test section still has its confusion matrix and scores.
    test = section(iris_page, "test")
    assert "Confusion matrix" in test and "accuracy" in test and "setosa" in test
    assert "offline writer" in section(iris_page, "llm")
    assert "accepted" in section(iris_page, "verification")
    assert "style=" in section(iris_page, "code")  # highlighted inline, no stylesheet needed


@pytest.mark.e2e
def test_the_rebuilt_test_rows_score_as_the_runner_scored_them(iris_run: Path) -> None:
    evaluation = rebuild_test_evaluation(iris_run)
    result = json.loads((iris_run / "result.json").read_text())
    assert evaluation.labels == ["setosa", "versicolor", "virginica"]
    assert len(evaluation.y_true) == result["dataset"]["rows"]["test"]
    scores = score_predictions("classification", evaluation.y_true, evaluation.y_pred, evaluation.proba, 3)
    assert scores == pytest.approx(result["test_metrics"])


@pytest.mark.e2e
def test_an_evaluation_from_the_runner_is_used_as_given(
    iris_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = copy_run(iris_run, tmp_path / "copy")

    def no_rebuild(run_dir: Path) -> TestEvaluation:
        raise AssertionError("the report must not load the data again when the runner passed its predictions")

    monkeypatch.setattr(report_html, "rebuild_test_evaluation", no_rebuild)
    y = np.array([0, 1, 2, 2, 1, 0])
    evaluation = TestEvaluation(y, np.array([0, 1, 2, 1, 1, 0], dtype=float), None, ["a", "b", "c"])
    page = write_report(copy, evaluation).read_text()
    assert "Confusion matrix" in section(page, "test")
    assert (copy / "plots" / "confusion_matrix.png").is_file()


@pytest.mark.e2e
def test_a_regression_report_has_residual_plots_and_no_confusion_matrix(diabetes_run: Path) -> None:
    page = write_report(diabetes_run).read_text()
    for section_id in ALWAYS:
        assert f'<section id="{section_id}">' in page
    assert_self_contained(page)
    assert_valid_pngs(diabetes_run / "plots", {"predicted_vs_actual", "residuals", "trials", "search_progress"})
    assert not (diabetes_run / "plots" / "confusion_matrix.png").exists()
    test = section(page, "test")
    assert "rmse" in test and "Residuals" in test and "Confusion" not in test


@pytest.mark.e2e
def test_a_run_whose_data_is_gone_still_gets_a_report_and_hostile_text_is_escaped(
    iris_run: Path, tmp_path: Path
) -> None:
    moved = copy_run(iris_run, tmp_path / "moved")
    edit_json(moved / "run.json", lambda run: run["arguments"].update(data=str(tmp_path / "gone.csv"), target="y"))
    edit_json(moved / "plan.json", lambda plan: plan["reasons"].append(HOSTILE))
    best = json.loads((moved / "result.json").read_text())["incumbent"]

    def poison(history: dict) -> None:
        """A configuration value and name from a hostile writer, and budgets, as a multi-fidelity run has."""
        for config in history["configs"].values():
            if config == best:
                config["<img src=x onerror=alert(1)>"] = HOSTILE
        for i, entry in enumerate(history["data"]):
            entry["budget"] = [0.25, 1.0][i % 2]

    edit_json(next(moved.glob("smac/smac/*/runhistory.json")), poison)
    page = write_report(moved).read_text()
    for section_id in [*ALWAYS, "budgets"]:
        assert f'<section id="{section_id}">' in page
    assert "gone.csv" in section(page, "test") and "could not be loaded" in section(page, "test")
    assert "accuracy" in section(page, "test")  # the scores in result.json stand
    assert not (moved / "plots" / "confusion_matrix.png").exists()  # the copied one was stale
    assert (moved / "plots" / "budgets.png").is_file()
    assert "<script" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in section(page, "plan")
    assert "&lt;img src=x onerror=alert(1)&gt;" in section(page, "trials")
    assert_self_contained(page)


@pytest.mark.e2e
def test_data_that_changed_since_the_run_is_not_scored(iris_run: Path, tmp_path: Path) -> None:
    changed = copy_run(iris_run, tmp_path / "changed")
    edit_json(changed / "run.json", lambda run: run["arguments"].update(data="sklearn:wine"))
    with pytest.raises(DataError, match="changed since the run"):
        rebuild_test_evaluation(changed)


def test_a_run_that_stopped_early_gets_a_report_of_what_it_has(tmp_path: Path) -> None:
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "run.json").write_text(json.dumps({"arguments": RunConfig().to_dict(), "writer": "offline"}))
    page = write_report(partial).read_text()
    for section_id in ALWAYS:
        assert f'<section id="{section_id}">' in page
    assert "No dataset.json" in page and "No final model" in section(page, "test")
    assert "incomplete" in page


@pytest.mark.e2e
def test_runs_lists_finished_and_incomplete_runs_oldest_first(
    runs_root: Path, iris_run: Path, diabetes_run: Path
) -> None:
    partial = runs_root / "zz-partial"
    partial.mkdir(exist_ok=True)
    arguments = RunConfig(data="sklearn:wine").to_dict()
    (partial / "run.json").write_text(json.dumps({"arguments": arguments, "started": "2099-01-01T00:00:00+0000"}))
    (runs_root / "not-a-run").mkdir(exist_ok=True)
    runs = list_runs(runs_root)
    assert [entry["name"] for entry in runs] == ["iris", "diabetes", "zz-partial"]
    iris, diabetes, incomplete = runs
    assert iris["status"] == "finished" and iris["test_metric"][0] == "accuracy" and iris["trials"] == 10
    assert diabetes["test_metric"][0] == "rmse" and diabetes["loss"] == "rmse"
    assert incomplete["status"] == "incomplete" and incomplete["best_loss"] is None and incomplete["seconds"] is None
    console = Console(record=True, width=200)
    console.print(runs_table(runs))
    text = console.export_text()
    assert "iris" in text and "zz-partial" in text and "incomplete" in text and "accuracy" in text


def test_list_runs_of_a_missing_folder_is_empty(tmp_path: Path) -> None:
    assert list_runs(tmp_path / "nowhere") == []


def test_importance_needs_enough_trials_and_finds_the_hyperparameter_that_matters() -> None:
    few = hyperparameter_importance([{"a": 1.0}] * (MIN_TRIALS - 1), [0.5] * (MIN_TRIALS - 1))
    assert not few.names and str(MIN_TRIALS) in few.note
    rng = np.random.default_rng(0)
    configs = [
        {"algorithm": str(rng.choice(["rf", "svm"])), "lr": float(10 ** rng.uniform(-4, 0)), "noise": float(x)}
        for x in rng.random(30)
    ]
    for config in configs:
        if config["algorithm"] == "svm":
            config["svm:C"] = float(rng.uniform(0.1, 10))  # only active for one algorithm
    costs = [abs(np.log10(config["lr"]) + 2) + 0.01 * config["noise"] for config in configs]
    found = hyperparameter_importance(configs, costs)
    assert found.names[0] == "lr" and found.values[0] > 0.5


def test_every_run_ends_with_its_report_and_the_cli_rewrites_and_lists_runs(
    iris_run: Path, diabetes_run: Path, runs_root: Path
) -> None:
    import json
    import subprocess
    import sys

    assert (iris_run / "report.html").is_file() and any((iris_run / "plots").glob("*.png"))
    assert "report" in json.loads((iris_run / "result.json").read_text())["timings"]

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "automl.cli", *args], capture_output=True, text=True, timeout=120)

    rewritten = cli("report", str(iris_run))
    assert rewritten.returncode == 0, rewritten.stderr
    assert str(iris_run / "report.html") in rewritten.stdout.replace("\n", "")
    listed = cli("runs", str(runs_root))
    assert listed.returncode == 0 and "iris" in listed.stdout and "diabetes" in listed.stdout
    missing = cli("report", str(runs_root / "nothing-here"))
    assert missing.returncode == 2 and "not a run directory" in missing.stderr


def test_console_stages_print_brackets_as_they_are() -> None:
    from rich.console import Console

    from automl.report.progress import ConsoleProgress

    console = Console(record=True, width=200)
    ConsoleProgress(console).stage("column 'price [usd]' is numeric; pip install -e '.[torch]'")
    assert "column 'price [usd]' is numeric; pip install -e '.[torch]'" in console.export_text()
