"""Build and check the portfolio start: a few strong, diverse configurations of the offline space per task.

Why. A short SMAC run spends its first trials before its surrogate model knows anything. Starting
from each algorithm family's defaults (``automl.optimize.initial_design.algorithm_defaults``) shows
SMAC every family once, but a family's defaults are rarely its best settings. A portfolio, chosen
offline on many datasets so that together its members do well on all of them, is a better start:
auto-sklearn 2.0's portfolios and FLAML's zero-shot configurations do the same. The runs use it as
SMAC's initial design after the default configuration (``automl.optimize.initial_design``).

How (``build``). For each task: the space's default, each family's defaults and ``--candidates``
random configurations of the full offline space (``configs/offline_<task>.json``, seeded) are each
trained once, through the sandbox as SMAC's trials are (``automl.sandbox.run_train``, one thread,
``--trial-limit`` seconds), on every building dataset below: scikit-learn's bundled tables and
generated ones (``automl.bench.suites``' generators, ``make_classification``, ``make_regression``,
``make_friedman2``). Each dataset is split as a run splits it (``automl.data.prepare_table``, seed 0)
and only its fit and validation rows are used: the test rows are never read. A validation loss (log
loss, RMSE) is normalized per dataset as the share of the way from the best candidate's loss (0) back
to a constant predictor's (1, also any failed or timed-out trial), clipped to [0, 1]. Then, with the
default configuration taken as already run (a run always starts with it), ``--k`` configurations are
picked greedily, each one the candidate that most lowers the mean over datasets of the best
normalized loss among those picked. The result is ``configs/portfolio_<task>.json``: a header saying
how it was built, and the configurations in the order they were picked.

``check`` trains, on datasets used for no building (other generator seeds, shapes and bundled
tables), the default plus the portfolio, the family defaults (today's start without a portfolio)
and 40 random configurations of the same space (another seed), all with the same training seed,
and prints a Markdown table of the best validation loss each reached.

Rerun (about 20 minutes per task for ``build``, 15 for ``check``, on a busy 2-core machine)::

    python benchmarks/portfolio.py build [--task classification|regression|both] [--candidates 40] [--k 10]
    python benchmarks/portfolio.py check [--task both] [--random 40]

``build --matrix FILE`` reselects from a loss matrix an earlier build saved (``--work``) without
training anything.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from ConfigSpace import Configuration, ConfigurationSpace
from sklearn.datasets import make_classification, make_friedman2, make_regression

from automl import sandbox
from automl.bench.suites import friedman_table, imbalanced_table, mixed_table
from automl.data.dataset import prepare_table
from automl.data.load import load_table
from automl.optimize.initial_design import algorithm_defaults
from automl.resources import bundled_dir
from automl.writers.offline import render_train
from automl.writers.space import load_space

TASKS = ("classification", "regression")
TARGET = "target"
SPLIT_SEED = 0  # the split a run with --seed 0 makes
TRAIN_SEED = 0  # every trial's seed
BUILD_SEED = 0  # the random candidates of build
CHECK_SEED = 1  # the random configurations check compares with


# ---------------------------------------------------------------------------------------------
# datasets


@dataclass(frozen=True)
class Table:
    name: str
    task: str
    load: Callable[[], pd.DataFrame]


def _bundled(name: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        frame = load_table(f"sklearn:{name}")
        return frame.rename(columns={frame.columns[-1]: TARGET})

    return load


def _arrays(X: np.ndarray, y: np.ndarray, classes: bool) -> pd.DataFrame:
    frame = pd.DataFrame(X, columns=[f"f{i:02d}" for i in range(X.shape[1])])
    frame[TARGET] = np.asarray([f"c{int(v)}" for v in y], dtype=object) if classes else y
    return frame


def _classes(rows: int, features: int, informative: int, classes: int, seed: int, **kw: Any) -> Callable:
    redundant = min(2, features - informative)
    return lambda: _arrays(*make_classification(n_samples=rows, n_features=features, n_informative=informative,
                                                n_redundant=redundant, n_classes=classes, random_state=seed, **kw),
                           classes=True)  # fmt: skip


def _numbers(rows: int, features: int, informative: int, noise: float, seed: int, bend: bool = False) -> Callable:
    def load() -> pd.DataFrame:
        X, y = make_regression(n_samples=rows, n_features=features, n_informative=informative, noise=noise,
                               random_state=seed)  # fmt: skip
        if bend:  # a skewed, nonlinear target of the same features
            y = np.exp(y / (3 * y.std()))
        return _arrays(X, y, classes=False)

    return load


def _friedman2(rows: int, seed: int) -> Callable:
    return lambda: _arrays(*make_friedman2(n_samples=rows, noise=30.0, random_state=seed), classes=False)


C, R = "classification", "regression"
BUILD: tuple[Table, ...] = (
    Table("iris", C, _bundled("iris")),
    Table("wine", C, _bundled("wine")),
    Table("digits", C, _bundled("digits")),
    Table("mixed_1500_2cls", C, lambda: mixed_table(1500, C, 2, offset=101)),
    Table("mixed_2000_4cls", C, lambda: mixed_table(2000, C, 4, offset=102)),
    Table("imbalanced_2000_10pc", C, lambda: imbalanced_table(2000, 0.10, offset=103)),
    Table("make_cls_1000x20_2cls", C, _classes(1000, 20, 5, 2, 104, flip_y=0.05)),
    Table("make_cls_1500x40_3cls", C, _classes(1500, 40, 10, 3, 105, class_sep=0.7)),
    Table("make_cls_800x8_5cls", C, _classes(800, 8, 6, 5, 106, class_sep=0.6)),
    Table("mixed_600_2cls", C, lambda: mixed_table(600, C, 2, offset=107)),
    Table("mixed_2500_6cls", C, lambda: mixed_table(2500, C, 6, offset=108)),
    Table("imbalanced_1500_3pc", C, lambda: imbalanced_table(1500, 0.03, offset=109)),
    Table("make_cls_400x100_2cls", C, _classes(400, 100, 4, 2, 110)),
    Table("make_cls_2000x10_2cls", C, _classes(2000, 10, 3, 2, 120, flip_y=0.15, class_sep=1.2)),
    Table("make_cls_1000x25_8cls", C, _classes(1000, 25, 12, 8, 121)),
    Table("friedman_1500", R, lambda: friedman_table(1500, offset=111)),
    Table("friedman_3000", R, lambda: friedman_table(3000, offset=112)),
    Table("mixed_reg_2000", R, lambda: mixed_table(2000, R, offset=113)),
    Table("mixed_reg_800", R, lambda: mixed_table(800, R, offset=114)),
    Table("make_reg_1000x20", R, _numbers(1000, 20, 5, 10.0, 115)),
    Table("make_reg_1500x50", R, _numbers(1500, 50, 10, 50.0, 116)),
    Table("make_reg_800x10_bent", R, _numbers(800, 10, 10, 5.0, 117, bend=True)),
    Table("friedman2_1000", R, _friedman2(1000, 118)),
    Table("friedman_600", R, lambda: friedman_table(600, offset=119)),
    Table("mixed_reg_2500", R, lambda: mixed_table(2500, R, offset=122)),
    Table("make_reg_400x100", R, _numbers(400, 100, 10, 5.0, 123)),
    Table("make_reg_2000x8", R, _numbers(2000, 8, 3, 100.0, 124)),
    Table("make_reg_1000x30_bent", R, _numbers(1000, 30, 15, 10.0, 125, bend=True)),
    Table("friedman2_2000", R, _friedman2(2000, 126)),
)
CHECK: tuple[Table, ...] = (
    Table("breast_cancer", C, _bundled("breast_cancer")),
    Table("mixed_2500_3cls", C, lambda: mixed_table(2500, C, 3, offset=201)),
    Table("imbalanced_3000_5pc", C, lambda: imbalanced_table(3000, 0.05, offset=202)),
    Table("make_cls_1200x30_4cls", C, _classes(1200, 30, 8, 4, 203)),
    Table("make_cls_600x15_2cls", C, _classes(600, 15, 3, 2, 204, flip_y=0.1)),
    Table("diabetes", R, _bundled("diabetes")),
    Table("friedman_2500", R, lambda: friedman_table(2500, offset=211)),
    Table("mixed_reg_1500", R, lambda: mixed_table(1500, R, offset=212)),
    Table("make_reg_1200x30", R, _numbers(1200, 30, 8, 20.0, 213)),
    Table("make_reg_600x12_bent", R, _numbers(600, 12, 6, 2.0, 214, bend=True)),
)


@dataclass(frozen=True)
class Prepared:
    name: str
    path: Path
    shape: tuple[int, int]  # fit rows, features
    baseline: float  # a constant predictor's validation loss


def prepare(table: Table, folder: Path) -> Prepared:
    """The run's split of ``table`` (seed 0); only fit and validation rows are written, never the test rows."""
    data = prepare_table(table.load(), TARGET, table.task, seed=SPLIT_SEED, source=table.name)
    search = data.search_dataset()
    path = folder / f"{table.name}.joblib"
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(search, path)
    y_fit, y_val = np.asarray(search["y"]), np.asarray(search["y_test"])
    if table.task == C:
        n_classes = int(max(y_fit.max(), y_val.max())) + 1
        prior = np.bincount(y_fit, minlength=n_classes) / len(y_fit)
        baseline = float(-np.mean(np.log(np.clip(prior[y_val], 1e-15, 1.0))))
    else:
        baseline = float(np.sqrt(np.mean((y_val - y_fit.mean()) ** 2)))
    return Prepared(table.name, path, (len(y_fit), search["X"].shape[1]), baseline)


# ---------------------------------------------------------------------------------------------
# training


class Trainer:
    """Trains configurations of one task's offline space on prepared datasets, through the sandbox."""

    def __init__(self, task: str, work: Path, trial_limit: float) -> None:
        self.task, self.work = task, work
        self.space_path = bundled_dir("configs") / f"offline_{task}.json"
        self.space = load_space(self.space_path)
        self.train_path = work / f"train_{task}.py"
        work.mkdir(parents=True, exist_ok=True)
        self.train_path.write_text(render_train(task), encoding="utf-8")
        self.limits = sandbox.Limits(walltime_s=trial_limit, memory_mb=4096, n_jobs=1)
        sandbox.warm_up(work)

    def losses(self, dataset: Prepared, configs: list[dict[str, Any]]) -> tuple[list[float | None], float]:
        """Each configuration's validation loss (None: failed or too slow) and the seconds it all took."""
        started, losses = time.perf_counter(), []
        for index, config in enumerate(configs):
            model_dir = self.work / "trials" / f"{dataset.name}-{index}"
            outcome = sandbox.run_train(self.train_path, self.space_path, dataset.path, config, TRAIN_SEED, None,
                                        model_dir, self.limits)  # fmt: skip
            loss = outcome.result.get("loss") if outcome.ok else None
            losses.append(float(loss) if loss is not None and math.isfinite(float(loss)) else None)
            shutil.rmtree(model_dir, ignore_errors=True)  # fitted models are not needed, and forests are large
        return losses, time.perf_counter() - started


def _plain(config: Configuration | dict[str, Any]) -> dict[str, Any]:
    """A configuration as JSON-ready Python values, in the space's order."""
    return {name: value.item() if isinstance(value, np.generic) else value for name, value in dict(config).items()}


def candidates(space: ConfigurationSpace, n_random: int, seed: int) -> list[dict[str, Any]]:
    """The default, each family's defaults, then ``n_random`` seeded random configurations (no repeats)."""
    space.seed(seed)
    found: list[dict[str, Any]] = []
    for config in [*algorithm_defaults(space), *space.sample_configuration(n_random)]:
        plain = _plain(config)
        if plain not in found:
            found.append(plain)
    return found


# ---------------------------------------------------------------------------------------------
# selection


def normalized(losses: list[list[float | None]], baselines: list[float]) -> np.ndarray:
    """Per dataset (row): 0 at the best candidate, 1 at the constant predictor (and for failures), clipped."""
    matrix = np.ones((len(losses), len(losses[0])))
    for row, (values, baseline) in enumerate(zip(losses, baselines, strict=True)):
        best = min((v for v in values if v is not None), default=None)
        if best is None:
            continue
        spread = max(baseline - best, 1e-12)
        for column, value in enumerate(values):
            if value is not None:
                matrix[row, column] = min(max((value - best) / spread, 0.0), 1.0)
    return matrix


def greedy(matrix: np.ndarray, k: int, start: tuple[int, ...] = (0,)) -> tuple[list[int], list[float]]:
    """Columns picked one by one to minimize the mean over rows of the best picked value; ``start`` is given.

    Ties go to the candidate with the lower mean value on its own. Returns the picks (``start``
    excluded) and the objective after each.
    """
    picked, scores = list(start), []
    best = matrix[:, picked].min(axis=1) if picked else np.ones(matrix.shape[0])
    for _ in range(k):
        gains = [
            (np.minimum(best, matrix[:, c]).mean(), matrix[:, c].mean(), c)
            for c in range(matrix.shape[1])
            if c not in picked
        ]
        if not gains:
            break
        score, _, column = min(gains)
        picked.append(column)
        best = np.minimum(best, matrix[:, column])
        scores.append(float(score))
    return picked[len(start) :], scores


def left_out(matrix: np.ndarray, k: int, families: int) -> dict[str, float]:
    """How the selection generalizes: each dataset scored by a portfolio picked on the others.

    The mean normalized loss over datasets of the default alone, of the family defaults (the first
    ``families`` columns) and of the default plus a portfolio built without that dataset.
    """
    scores = []
    for row in range(matrix.shape[0]):
        picks, _ = greedy(np.delete(matrix, row, axis=0), k, start=(0,))
        scores.append(matrix[row, [0, *picks]].min())
    return {
        "default": round(float(matrix[:, 0].mean()), 4),
        "family_defaults": round(float(matrix[:, :families].min(axis=1).mean()), 4),
        "portfolio": round(float(np.mean(scores)), 4),
    }


# ---------------------------------------------------------------------------------------------
# build


def build(task: str, args: argparse.Namespace) -> None:
    work = Path(args.work) / task
    started, more = time.perf_counter(), []
    if args.matrix:
        saved = json.loads(Path(args.matrix).read_text())
        configs, names, losses, baselines = saved["configs"], saved["datasets"], saved["losses"], saved["baselines"]
        shapes, seconds = saved["shapes"], saved["seconds"]
        args.candidates = saved.get("candidates_requested", args.candidates)
        more = saved.get("more", [])
        if args.more:  # more random candidates, from another seed, on the same datasets
            trainer = Trainer(task, work, args.trial_limit)
            trainer.space.seed(BUILD_SEED + 1 + len(more))
            extra = [c for c in map(_plain, trainer.space.sample_configuration(args.more)) if c not in configs]
            tables = {table.name: table for table in BUILD}
            for row, name in enumerate(names):
                values, spent = trainer.losses(prepare(tables[name], work / "data"), extra)
                losses[row] += values
                print(f"  {name:<24} {len(extra)} more candidates  {spent:6.1f} s", flush=True)
            configs += extra
            more.append({"seed": BUILD_SEED + 1 + len(more), "random": args.more})
            seconds = round(seconds + time.perf_counter() - started, 1)
            Path(args.matrix).write_text(json.dumps({**saved, "configs": configs, "losses": losses,
                                                     "seconds": seconds, "more": more}))  # fmt: skip
    else:
        trainer = Trainer(task, work, args.trial_limit)
        configs = candidates(trainer.space, args.candidates, BUILD_SEED)
        names, losses, baselines, shapes = [], [], [], []
        tables = [table for table in BUILD if table.task == task]
        print(f"{task}: {len(configs)} candidates on {len(tables)} datasets, {args.trial_limit:g} s per trial")
        for table in tables:
            if time.perf_counter() - started > args.time_limit:
                print(f"  time limit reached: {table.name} and later datasets left out")
                break
            dataset = prepare(table, work / "data")
            values, spent = trainer.losses(dataset, configs)
            failed = sum(v is None for v in values)
            best = min(v for v in values if v is not None)
            print(f"  {table.name:<24} {dataset.shape[0]:>5} x {dataset.shape[1]:<3} best {best:.4f} "
                  f"baseline {dataset.baseline:.4f} failed {failed:>2}  {spent:6.1f} s", flush=True)  # fmt: skip
            names.append(table.name)
            losses.append(values)
            baselines.append(dataset.baseline)
            shapes.append(list(dataset.shape))
        seconds = round(time.perf_counter() - started, 1)
        matrix_path = work / "matrix.json"
        matrix_path.write_text(json.dumps({"configs": configs, "datasets": names, "losses": losses,
                                           "baselines": baselines, "shapes": shapes, "seconds": seconds,
                                           "candidates_requested": args.candidates}))  # fmt: skip
        print(f"  loss matrix saved to {matrix_path}")
    matrix = normalized(losses, baselines)
    picks, scores = greedy(matrix, args.k, start=(0,))  # column 0 is the space's default, which runs first
    defaults = len(algorithm_defaults(load_space(bundled_dir("configs") / f"offline_{task}.json")))
    header = {
        "about": "SMAC's initial design after the default configuration when the offline writer's space is used; "
        "built by benchmarks/portfolio.py (see its docstring to rerun)",
        "task": task,
        "built_with": f"python benchmarks/portfolio.py build --task {task} --candidates {args.candidates} "
        f"--k {args.k} --trial-limit {args.trial_limit:g}"
        + "".join(f", then build --matrix M --more {m['random']}" for m in more),
        "candidates": {
            "total": len(configs),
            "family_defaults": defaults,
            "random": len(configs) - defaults,  # fewer than --candidates when a draw repeated another
            "random_seed": BUILD_SEED,
            "more": more,  # later rounds of random candidates (build --matrix --more)
        },
        "datasets": [
            {"name": name, "fit_rows": shape[0], "features": shape[1]}
            for name, shape in zip(names, shapes, strict=True)
        ],
        "split": "automl.data.prepare_table(seed=0): fit and validation rows only, test rows unused",
        "normalization": "per dataset, (loss - best candidate) / (constant predictor - best candidate), clipped to "
        "[0, 1]; failed or timed-out trials 1",
        "objective": {
            "default_alone": round(float(matrix[:, 0].mean()), 4),
            "after_each_pick": [round(s, 4) for s in scores],
            "leave_one_dataset_out": left_out(matrix, args.k, defaults),
        },
        "evaluation_seconds": seconds,
    }
    portfolio = {**header, "configurations": [configs[c] for c in picks]}
    out = Path(args.out) / f"portfolio_{task}.json"
    out.write_text(json.dumps(portfolio, indent=2) + "\n", encoding="utf-8")
    algorithms = ", ".join(configs[c]["algorithm"] for c in picks)
    print(f"{task}: picked {len(picks)} ({algorithms}); mean best normalized loss {matrix[:, 0].mean():.3f} "
          f"(default alone) -> {scores[-1]:.3f}; wrote {out} in {time.perf_counter() - started:.0f} s")  # fmt: skip
    print(f"  each dataset left out of its own portfolio: {header['objective']['leave_one_dataset_out']}")


# ---------------------------------------------------------------------------------------------
# check


def _best_after(values: list[float | None]) -> float:
    found = [v for v in values if v is not None]
    return min(found) if found else math.nan


def check(task: str, args: argparse.Namespace) -> list[str]:
    """Markdown rows: per held-out dataset, the best validation loss of each start."""
    work = Path(args.work) / f"check-{task}"
    trainer = Trainer(task, work, args.trial_limit)
    portfolio = json.loads((Path(args.out) / f"portfolio_{task}.json").read_text())["configurations"]
    default = _plain(trainer.space.get_default_configuration())
    family = [_plain(c) for c in algorithm_defaults(trainer.space)]
    trainer.space.seed(CHECK_SEED)
    random = [_plain(c) for c in trainer.space.sample_configuration(args.random)]
    starts = [default, *portfolio]
    unique: list[dict[str, Any]] = []
    for config in [*starts, *family, *random]:
        if config not in unique:
            unique.append(config)
    rows = []
    for table in [table for table in CHECK if table.task == task]:
        dataset = prepare(table, work / "data")
        values, spent = trainer.losses(dataset, unique)
        loss = {json.dumps(c, sort_keys=True): v for c, v in zip(unique, values, strict=True)}

        def best(configs: list[dict[str, Any]], loss: dict = loss) -> float:
            return _best_after([loss[json.dumps(c, sort_keys=True)] for c in configs])

        ours, today, drawn = best(starts), best(family), best(random)
        verdict = "yes" if ours <= drawn else "no"
        # How many of the random trials, in their order, it takes to do as well as the portfolio.
        match = next((str(n) for n in range(1, len(random) + 1) if best(random[:n]) <= ours), f"> {len(random)}")
        row = (f"| {table.name} | {dataset.shape[0]} × {dataset.shape[1]} | {best([default]):.4f} | {today:.4f} | "
               f"**{ours:.4f}** | {drawn:.4f} | {verdict} | {match} |")  # fmt: skip
        print(row + f"  ({spent:.0f} s)", flush=True)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["build", "check"])
    parser.add_argument("--task", choices=[*TASKS, "both"], default="both")
    parser.add_argument("--candidates", type=int, default=40, help="random candidates besides the defaults")
    parser.add_argument("--k", type=int, default=10, help="configurations picked after the default")
    parser.add_argument("--trial-limit", type=float, default=20.0, help="seconds per trial")
    parser.add_argument("--time-limit", type=float, default=1200.0, help="seconds of training per task (build)")
    parser.add_argument("--random", type=int, default=40, help="random configurations check compares with")
    parser.add_argument("--matrix", help="build: reselect from this saved loss matrix instead of training")
    parser.add_argument("--more", type=int, default=0, help="build --matrix: first train this many more candidates")
    parser.add_argument("--out", default=str(bundled_dir("configs")), help="where portfolio_<task>.json goes")
    parser.add_argument("--work", default="/tmp/automl-portfolio", help="scratch folder (datasets, matrices)")
    args = parser.parse_args()
    os.environ.setdefault("AUTOML_N_JOBS", "1")
    tasks = TASKS if args.task == "both" else (args.task,)
    if args.command == "build":
        for task in tasks:
            build(task, args)
        return
    lines = [
        "| dataset | fit rows × features | default (1 trial) | family defaults (8) | default + portfolio "
        f"(1 + K) | {args.random} random | portfolio ≤ random | random trials to match |",
        "|---|---|---:|---:|---:|---:|---|---:|",
    ]
    for task in tasks:
        lines += check(task, args)
    print("\n" + "\n".join(lines))
    print("load average: " + ", ".join(f"{value:.1f}" for value in os.getloadavg()))


if __name__ == "__main__":
    main()
