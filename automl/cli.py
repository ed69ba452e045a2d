"""The command line: thin wrappers that build a RunConfig and call the same code as the Python API.

Every :class:`AutomlError` is caught here, once, and printed as one line with exit code 2.
"""

from __future__ import annotations

import functools
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from automl.errors import AutomlError, ConfigError

if TYPE_CHECKING:
    import pandas as pd

app = typer.Typer(
    add_completion=False, pretty_exceptions_enable=False, help="AutoML: a writer writes train(), SMAC tunes it."
)
console = Console(stderr=False)
errors = Console(stderr=True)

USAGE_ERROR = 2
INTERRUPTED = 130  # the shell's code for a command stopped by SIGINT (typer turns a Ctrl-C in a command into it)
PIPED_WIDTH = 200  # columns for tables when stdout is not a terminal
DATA_HELP = "CSV/Parquet file, or sklearn:NAME (breast_cancer, iris, wine, digits, diabetes)."
# How a model is reached: the same options for `run` and for `bench`'s llm: frameworks.
ApiBase = Annotated[
    str | None,
    typer.Option(envvar="AUTOML_API_BASE", help="URL of an OpenAI-compatible server, e.g. http://localhost:8000/v1."),
]
LlmTimeout = Annotated[float, typer.Option(help="Seconds to wait for one model answer.")]


def show_version(asked: bool) -> None:
    """``--version``: print the version and stop before any command runs."""
    if asked:
        from automl import __version__

        console.print(f"automl {__version__}", highlight=False)
        raise typer.Exit(0)


@app.callback()
def options(
    version: Annotated[
        bool, typer.Option("--version", callback=show_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Options before any command (typer calls this first; ``--version`` stops there)."""


@app.command()
def run(
    data: Annotated[
        str, typer.Option(help="CSV/Parquet file, or sklearn:NAME (breast_cancer, iris, wine, digits, diabetes).")
    ] = "sklearn:breast_cancer",
    target: Annotated[str | None, typer.Option(help="Target column (default 'target' for sklearn:NAME).")] = None,
    test_data: Annotated[
        str | None, typer.Option(help="Held-out test file; default: 20% of --data, split off first.")
    ] = None,
    task: Annotated[str, typer.Option(help="auto, classification or regression.")] = "auto",
    trials: Annotated[
        int | None,
        typer.Option(help="Most trials SMAC may run (default: the scenario's, or none with --walltime: the search "
                     "runs until the time is spent)."),
    ] = None,
    walltime: Annotated[
        float | None, typer.Option(help="Seconds for the whole run (default from the scenario).")
    ] = None,
    seed: Annotated[
        # None, not 0, so that --replay can tell a seed given from none (the recorded run's); the help says the
        # default, escaped from rich's markup, which takes [default: 0] for a tag.
        int | None,
        typer.Option(help="Seed for splits, SMAC and train() (--replay: the recorded run's). \\[default: 0]"),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Run directory (default runs/<data>-<time>).")] = None,
    space: Annotated[Path | None, typer.Option(help="ConfigSpace JSON file to search instead of the writer's.")] = None,
    scenario: Annotated[str, typer.Option(help="Scenario preset name (quick, default) or YAML file.")] = "default",
    llm: Annotated[
        str,
        typer.Option(envvar="AUTOML_LLM", help="litellm model string (openai/gpt-4o-mini, ollama/qwen2.5-coder, ...) "
                     "or 'offline' for the built-in writer."),
    ] = "offline",
    api_base: ApiBase = None,
    attempts: Annotated[int, typer.Option(help="Drafts the model may write per artifact before the run stops.")] = 3,
    fallback: Annotated[
        str | None, typer.Option(help="'offline': when the model fails, continue with the built-in writer.")
    ] = None,
    llm_timeout: LlmTimeout = 180.0,
    replay: Annotated[
        Path | None,
        typer.Option(help="Re-run a recorded run from its llm/ records: no network, no key. Only --out and --seed "
                     "apply; the rest is the recorded run's."),
    ] = None,
    facade: Annotated[str, typer.Option(help="SMAC facade: auto, hpo, mf, hyperband, blackbox or random.")] = "auto",
    budget_kind: Annotated[
        str, typer.Option(help="What a multi-fidelity budget means: auto, data_fraction, n_estimators, max_iter.")
    ] = "auto",
    cv: Annotated[
        int | None,
        typer.Option(help="Cross-validation folds as SMAC instances (hpo, random); 1: one validation split. "
                     "Default: 5 up to 2 000 non-test rows, else 1."),
    ] = None,
    metric: Annotated[
        str | None,
        typer.Option(help="What better means: accuracy, balanced_accuracy, f1, f1_macro, roc_auc, log_loss (the "
                     "classification default), rmse (the regression default), mae or r2."),
    ] = None,
    bag: Annotated[
        bool,
        typer.Option(help="Bag the final model's members: average each refit with models fitted on folds of the "
                     "non-test rows, while the time allows (--no-bag: the refits alone, fewer models to predict)."),
    ] = True,
    rounds: Annotated[
        int,
        typer.Option(help="Rounds of search: after each but the last, the writer reads what the search learned and "
                     "revises the space (a model may revise train.py too); every round continues from the earlier "
                     "trials valid in its space, and the final model draws from all of them."),
    ] = 1,
    start: Annotated[
        str,
        typer.Option(help="With --llm, who writes the first round: 'model', or 'offline': the built-in writer's "
                     "space and train.py as a baseline that the model revises from round 2 on (needs --rounds 2+)."),
    ] = "model",
    device: Annotated[
        str,
        typer.Option(help="Where tensor trials (images, .npz arrays) train: auto (a CUDA GPU when PyTorch sees one), "
                     "cpu or cuda."),
    ] = "auto",
    workers: Annotated[int, typer.Option(help="Trials run side by side on this many local dask workers.")] = 1,
    dask_scheduler: Annotated[
        str | None, typer.Option(help="Address (tcp://host:8786) or scheduler file of a running dask cluster.")
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option(help="Continue an interrupted run in its directory, with its recorded options."),
    ] = None,
    types: Annotated[
        list[str] | None,
        typer.Option("--types", help="COL=KIND (numeric, categorical, date, text, drop, id) where guessing is unsafe; "
                     "repeatable."),
    ] = None,
    drop: Annotated[list[str] | None, typer.Option("--drop", help="Column to leave out; repeatable.")] = None,
    ids: Annotated[
        list[str] | None, typer.Option("--id", help="Identifier column, left out of the features; repeatable.")
    ] = None,
) -> None:  # fmt: skip
    """Tune a model on a dataset and save it, scored on a held-out test set."""
    from automl import sandbox
    from automl.rundir import create_run_dir_parent

    sandbox.warm_up(create_run_dir_parent(resume or out))  # its imports overlap ours: the first trial comes sooner
    from automl.config import RunConfig, requested_scenario
    from automl.report.progress import ConsoleProgress
    from automl.report.summary import summary_table
    from automl.rundir import finished, replay_request, resume_request
    from automl.runner import run as run_pipeline

    if resume is not None:
        if finished(resume):
            message = f"'{resume}' has finished: there is nothing to resume, and nothing was changed"
            console.print(message, soft_wrap=True, markup=False)
            return
        if trials is not None or walltime is not None:
            raise ConfigError("--resume continues the recorded scenario: leave out --trials and --walltime")
        config = resume_request(resume)
        if workers > 1 or dask_scheduler:  # where trials run may change; what the search is may not
            config = replace(config, workers=workers, dask_scheduler=dask_scheduler)
    elif replay is not None:
        config = replay_request(replay, out, seed)
    else:
        settings = requested_scenario(scenario, trials, walltime)
        config = RunConfig(data=data, target=target, test_data=test_data, task=task, seed=seed or 0, out=out,
                           space=space, scenario=settings, llm=llm, api_base=api_base, llm_timeout=llm_timeout,
                           attempts=attempts, fallback=fallback, facade=facade, budget_kind=budget_kind, cv=cv,
                           workers=workers, dask_scheduler=dask_scheduler,
                           column_kinds=column_kinds(types, drop, ids), metric=metric, bag=bag,
                           rounds=rounds, start=start, device=device)  # fmt: skip
    result = run_pipeline(config, ConsoleProgress(console), resume=resume is not None)
    console.print(summary_table(result.summary))
    if result.summary.interrupted:  # the best so far is saved, but a script must still see the Ctrl-C
        raise typer.Exit(INTERRUPTED)


def column_kinds(types: list[str] | None, drop: list[str] | None, ids: list[str] | None) -> tuple[tuple[str, str], ...]:
    """``--types COL=KIND``, ``--drop COL`` and ``--id COL`` as (column, kind) pairs; a bad pair is a clear error."""
    pairs = []
    for item in types or []:
        name, sep, kind = item.rpartition("=")
        if not sep or not name.strip() or not kind.strip():
            raise ConfigError(f"--types {item!r} must be COL=KIND, as in --types signup=date")
        pairs.append((name.strip(), kind.strip()))
    pairs += [(name, "drop") for name in drop or []] + [(name, "id") for name in ids or []]
    named = [name for name, _ in pairs]
    repeated = sorted({name for name in named if named.count(name) > 1})
    if repeated:
        raise ConfigError(f"column(s) {repeated} given more than one kind by --types/--drop/--id: give each one")
    return tuple(pairs)


@app.command()
def predict(
    model_path: Annotated[
        Path,
        typer.Argument(
            metavar="MODEL", help="A run directory made by 'automl run', or a file made by 'automl export'."
        ),
    ],
    data: Annotated[
        str,
        typer.Option(
            help="CSV/Parquet file (or sklearn:NAME) with the feature columns; for a model of tensor data, "
            "a folder of images or an .npz file with an array X."
        ),
    ],
    out: Annotated[Path, typer.Option(help="Where to write the predictions: .csv or .parquet.")] = Path(
        "predictions.csv"
    ),
    id_columns: Annotated[
        list[str] | None, typer.Option("--id", help="Column of --data to copy into the predictions (repeatable).")
    ] = None,
    strict: Annotated[
        bool, typer.Option(help="Stop when a value does not parse or a category level is new, instead of warning.")
    ] = False,
) -> None:
    """Predict new rows with a run's final model (or an exported one), in the original label space."""
    from automl.data import load_table
    from automl.data.features import lost_values
    from automl.data.tensors import TensorSchema, load_prediction_tensors
    from automl.export import load_model
    from automl.predictor import FittedModel

    writers = {".csv": "to_csv", ".parquet": "to_parquet", ".pq": "to_parquet"}
    if out.suffix.lower() not in writers:
        raise ConfigError(f"--out '{out}' has no known extension: end it in .csv or .parquet")
    if not model_path.exists():
        raise ConfigError(f"'{model_path}' does not exist: pass a run directory made by 'automl run' or a file made "
                          "by 'automl export'")  # fmt: skip
    model = load_model(model_path) if model_path.is_file() else FittedModel.load(model_path)
    if isinstance(model.card.schema, TensorSchema):
        if id_columns:
            raise ConfigError("--id names table columns: a model of tensor data predicts samples, which have none")
        import pandas as pd

        samples, files = load_prediction_tensors(data, model.card.schema)
        frame = pd.DataFrame({"file": files} if files is not None else {})
        _write_predictions(model, samples, frame, data, out, writers[out.suffix.lower()])
        return
    table = load_table(data)
    missing = [name for name in id_columns or [] if name not in table.columns]
    if missing:
        raise ConfigError(f"--id {missing} not in '{data}': choose from {list(table.columns)}")
    lost = lost_values(table, model.card.schema)
    if lost:
        what = {"unparsed": "did not parse", "unseen": "are category levels training never saw"}
        message = "; ".join(f"'{name}': {count} value(s) {what[kind]}" for name, (kind, count) in lost.items())
        if strict:
            raise ConfigError(f"{message}: fix the values, or leave out --strict to predict them as missing")
        console.print(f"[yellow]warning: {escape(message)}; they were treated as missing values[/]")
    _write_predictions(model, table, table[list(id_columns or [])].reset_index(drop=True), data, out,
                       writers[out.suffix.lower()])  # fmt: skip


def _write_predictions(model: Any, samples: Any, frame: pd.DataFrame, data: str, out: Path, writer: str) -> None:
    """Predict ``samples`` (rows of a table, or tensors) and write them after ``frame``'s columns to ``out``."""
    frame["prediction"], proba = model.predict_with_proba(samples, f"'{data}'")
    if proba is not None and model.classes is not None:
        for index, label in enumerate(model.classes):
            frame[f"proba_{label}"] = proba[:, index]
    out.parent.mkdir(parents=True, exist_ok=True)
    getattr(frame, writer)(out, index=False)
    console.print(f"wrote {len(frame)} predictions of '{model.card.target}' to {out}", markup=False)


@app.command()
def export(
    run_dir: Annotated[Path, typer.Argument(help="A run directory made by 'automl run'.")],
    out: Annotated[Path, typer.Option(help="The file to write (a skops file).")] = Path("model.skops"),
) -> None:
    """Write a run's final model to one file that 'automl predict' and automl.load() use without the run directory."""
    import time

    from automl.export import export_model

    started = time.perf_counter()
    path = export_model(run_dir, out)
    size = path.stat().st_size / 1024**2
    console.print(f"wrote {path} ({size:.1f} MB) in {time.perf_counter() - started:.1f} s")


@app.command()
def verify(
    train_file: Annotated[Path, typer.Argument(help="The train.py to check.")],
    space: Annotated[Path, typer.Option(help="Its config space, in ConfigSpace's JSON format.")],
    data: Annotated[str, typer.Option(help=DATA_HELP)] = "sklearn:breast_cancer",
    target: Annotated[str | None, typer.Option(help="Target column (default 'target' for sklearn:NAME).")] = None,
    task: Annotated[str, typer.Option(help="auto, classification or regression.")] = "auto",
    min_budget: Annotated[float | None, typer.Option(help="Smallest budget train() must handle.")] = None,
    max_budget: Annotated[float | None, typer.Option(help="Largest budget train() must handle.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for the split and the calls.")] = 0,
    smoke_seconds: Annotated[float, typer.Option(help="Time the smoke tests may take.")] = 60.0,
    trial_walltime: Annotated[float, typer.Option(help="Seconds one call of train() may take.")] = 120.0,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check a train.py against the contract in the sandbox: exit 0 if accepted, 1 if rejected."""
    from automl.verify.check_file import check_file

    report = check_file(train_file, space, data, target, task, seed, min_budget, max_budget, smoke_seconds,
                        trial_walltime)  # fmt: skip
    if json_output:
        console.print_json(data=report.to_dict())
    else:
        from automl.report.summary import verify_table

        console.print(verify_table(report))
    raise typer.Exit(0 if report.accepted else 1)


@app.command()
def report(run_dir: Annotated[Path, typer.Argument(help="A run directory made by 'automl run'.")]) -> None:
    """(Re)write a run's report.html and plots/ (the test plots reload the run's data to predict its test rows)."""
    from automl.report.html import write_report
    from automl.rundir import RunPaths

    if not RunPaths(run_dir).run_json.is_file():
        raise ConfigError(f"'{run_dir}' is not a run directory (no run.json): pass a directory made by 'automl run'")
    console.print(f"wrote {write_report(run_dir)}")


@app.command()
def runs(
    folder: Annotated[Path, typer.Argument(help="The folder holding run directories.")] = Path("runs"),
) -> None:
    """A table of the runs in FOLDER: dataset, facade, writer, trials, best validation loss, test metric, time."""
    from automl.report.runs import list_runs, runs_table

    found = list_runs(folder)
    if not found:
        console.print(f"no runs in {folder}")
        return
    # Piped output has no terminal width to fit; give the table room instead of cutting every cell.
    (console if console.is_terminal else Console(width=PIPED_WIDTH)).print(runs_table(found))


bench_app = typer.Typer(help="Compare automl with other frameworks on a suite of datasets.")
app.add_typer(bench_app, name="bench", invoke_without_command=True)
DEFAULT_BENCH_DB = Path("bench") / "results.sqlite"


@bench_app.callback(invoke_without_command=True)
def bench(
    context: typer.Context,
    suite: Annotated[
        str,
        typer.Option(
            help="Datasets to run: smoke (seconds), offline, images (needs the torch extra), or a folder "
            "holding suite.yaml."
        ),
    ] = "smoke",
    budget: Annotated[float, typer.Option(help="Seconds each framework gets per dataset and seed.")] = 60.0,
    seeds: Annotated[int, typer.Option(help="How many seeds (held-out splits) per dataset.")] = 1,
    frameworks: Annotated[
        str,
        typer.Option(
            help="Comma-separated: automl, random, automl_2rounds, default, flaml, autogluon, autogluon_best, "
            "or llm:MODEL (automl written by a litellm model, e.g. llm:openai/gpt-4o-mini)."
        ),
    ] = "automl,flaml,random,default",
    db: Annotated[Path, typer.Option(help="SQLite file the results go to (runs resume from it).")] = DEFAULT_BENCH_DB,
    cores: Annotated[int, typer.Option(help="Cores every framework may use.")] = 2,
    lanes: Annotated[
        int, typer.Option(help="Runs side by side, each in its own process on its own --cores cores.")
    ] = 1,
    datasets: Annotated[
        str, typer.Option(help="Comma-separated dataset names of the suite to run (default: all of them).")
    ] = "",
    trials: Annotated[
        int | None,
        typer.Option(
            help="Stop each automl run after this many trials (the budget still applies): repeatable "
            "rows, so a --replay gives the same ones."
        ),
    ] = None,
    api_base: ApiBase = None,
    llm_timeout: LlmTimeout = 180.0,
    replay: Annotated[
        Path | None,
        typer.Option(
            help="A bench database whose stored model calls answer the llm: frameworks: no server, no key. "
            "Write to another --db."
        ),
    ] = None,
) -> None:
    """Run FRAMEWORKS on SUITE with the same budget, cores and held-out split; add the results to DB."""
    if context.invoked_subcommand is not None:
        return
    from automl.bench import bench_report, run_bench
    from automl.bench.frameworks import ModelAccess

    names = [name.strip() for name in frameworks.split(",") if name.strip()]
    chosen = [name.strip() for name in datasets.split(",") if name.strip()] or None
    access = ModelAccess(api_base, llm_timeout)
    say = functools.partial(console.print, markup=False)  # an error text (``'.[bench]'``) is no markup
    run_bench(suite, budget, seeds, names, db, cores, progress=say, lanes=lanes, datasets=chosen,
              trials=trials, model_access=access, replay=replay)  # fmt: skip
    table, _ = bench_report(db, db.parent, suite=suite, budget=budget)
    console.print(table)


@bench_app.command("report")
def bench_report_command(
    db: Annotated[Path, typer.Option(help="The SQLite file of 'automl bench'.")] = DEFAULT_BENCH_DB,
    out: Annotated[Path | None, typer.Option(help="Folder for the plots (default: next to the database).")] = None,
    suite: Annotated[str | None, typer.Option(help="Only this suite's results (its name or its folder).")] = None,
    budget: Annotated[float | None, typer.Option(help="Only results at this budget.")] = None,
) -> None:
    """Print the mean-rank table of a benchmark database and write its plots."""
    from automl.bench import bench_report

    if not db.is_file():
        raise ConfigError(f"no benchmark database at '{db}': run 'automl bench' first or pass --db")
    table, plots = bench_report(db, out or db.parent, suite=suite, budget=budget)
    console.print(table)
    for path in plots:
        console.print(f"wrote {path}")


def main() -> None:
    """Console entry point: run the app, turning user errors into one line and exit code 2, and a Ctrl-C into the
    line "interrupted" and exit code 130."""
    # A process started in the background by a shell without job control (or by any parent that ignores
    # SIGINT) inherits SIGINT ignored, and Python then installs no handler: Ctrl-C or ``kill -INT`` would be
    # lost at every stage but the search, which installs its own. Ctrl-C stops a run wherever it is.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        code = app(standalone_mode=False)
    except AutomlError as error:
        # Escaped: an extra such as ``'.[torch]'`` in a message is not rich markup.
        errors.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
        sys.exit(USAGE_ERROR)
    except (typer.Abort, KeyboardInterrupt):
        code = INTERRUPTED
    except Exception as error:
        # typer carries its own copy of click, so its usage errors are recognised by shape, not class.
        if callable(getattr(error, "show", None)) and isinstance(getattr(error, "exit_code", None), int):
            error.show()
            sys.exit(USAGE_ERROR)
        raise
    if code == INTERRUPTED:
        errors.print("interrupted")
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
