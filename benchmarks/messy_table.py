"""Does column typing close the gap between a messy table and the same table cleaned by hand?

A churn-like table is generated from the same rows three times: cleaned by hand (numbers as numbers,
the sign-up date as days, the support notes as a count of complaint words, no ID, constant or empty
column); as real exports look (a customer ID, money as "$5,903.01", the date as text, the notes as
free text, a constant and an empty column); and the same export as a European spreadsheet writes it
(semicolons between fields, money as "5.903,01 €"). automl runs on each with the same walltime and
seed; the goal is a test ROC AUC within 0.01 of the clean table's for both messy files.
Usage::

    python benchmarks/messy_table.py                 # 3000 rows, 40 s per run
    python benchmarks/messy_table.py --rows 6000 --walltime 60
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

GOAL = 0.01  # the largest ROC AUC the messy table may lose against the clean one


COMPLAINTS = ("cancel", "refund", "slow", "broken", "overcharged")
CHATTER = ("called", "about", "the", "invoice", "asked", "plan", "router", "thanks", "upgrade", "email", "today")


def _notes(rng: np.random.Generator, unhappy: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Support notes of 4 to 9 words; unhappy customers' notes mention complaints more often.

    Returns the notes and the number of complaint words in each (what cleaning by hand extracts).
    """
    notes, counts = [], np.zeros(len(unhappy))
    for i, sad in enumerate(unhappy):
        words = list(rng.choice(CHATTER, rng.integers(4, 10)))
        for _ in range(rng.binomial(2, 0.6 if sad else 0.1)):
            words.insert(int(rng.integers(0, len(words) + 1)), str(rng.choice(COMPLAINTS)))
            counts[i] += 1
        notes.append(" ".join(words))
    return notes, counts


def tables(n_rows: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(clean, messy): the same rows and target, cleaned by hand and as an export would write them."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, n_rows)
    monthly = rng.uniform(20, 120, n_rows).round(2)
    total = (tenure * monthly * rng.uniform(0.9, 1.1, n_rows)).round(2)
    contract = rng.choice(["monthly", "yearly", "two-year"], n_rows, p=[0.5, 0.3, 0.2])
    signup = pd.Timestamp("2018-01-01") + pd.to_timedelta(rng.integers(0, 2000, n_rows), unit="D")
    days = (signup - signup.min()).days.to_numpy()
    unhappy = rng.random(n_rows) < 0.3
    notes, complaints = _notes(rng, unhappy)
    logit = -0.04 * tenure + 0.02 * monthly + (contract == "monthly") * 1.2 - 1.3 + 0.0007 * days + unhappy * 1.0
    churn = (rng.random(n_rows) < 1 / (1 + np.exp(-logit))).astype(int)
    clean = pd.DataFrame({"tenure": tenure, "monthly": monthly, "total": total, "contract": contract,
                          "signup_days": days.astype(float), "complaints": complaints, "churn": churn})  # fmt: skip
    messy = pd.DataFrame({"customer_id": [f"CUST-{i:06d}" for i in rng.permutation(n_rows)], "tenure": tenure,
                          "monthly": [f"${m:,.2f}" for m in monthly], "total": [f"${t:,.2f}" for t in total],
                          "contract": contract, "signup": signup.strftime("%Y-%m-%d"), "notes": notes,
                          "region": "EU", "empty": np.nan, "churn": churn})  # fmt: skip
    return clean, messy


def european(messy: pd.DataFrame) -> pd.DataFrame:
    """The messy export's money as a European spreadsheet writes it: "5.903,01 €" (written with ';')."""

    def euro(text: str) -> str:
        return text.lstrip("$").replace(",", " ").replace(".", ",").replace(" ", ".") + " €"

    return messy.assign(monthly=messy["monthly"].map(euro), total=messy["total"].map(euro))


def run_automl(path: Path, walltime: float, trials: int | None, seed: int, out: Path) -> tuple[float, list[dict]]:
    """Test ROC AUC of one automl run (bounded by ``trials`` when given, else by the clock), and its typing."""
    from automl.config import RunConfig, ScenarioSettings
    from automl.runner import run

    settings = ScenarioSettings.load("default").with_overrides(walltime_limit=walltime, n_trials=trials or 10_000)
    result = run(RunConfig(data=str(path), target="churn", seed=seed, out=out, scenario=settings))
    described = pd.read_json(result.paths.dataset_json, typ="series")
    return result.summary.test_metrics["roc_auc"], list(described["column_types"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--walltime", type=float, default=40.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--trials", type=int, default=None,
                        help="bound each run by this many trials (raise --walltime): the same search on every "
                        "table, so only the features differ, whatever the machine's load")  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="automl-messy-") as scratch:
        root = Path(scratch)
        clean, messy = tables(args.rows, args.seed)
        files = {"cleaned by hand": (clean, ","), "messy export": (messy, ","),
                 "messy, ';' and decimal commas": (european(messy), ";")}  # fmt: skip
        scores = {}
        for number, (name, (table, separator)) in enumerate(files.items()):
            path = root / f"table{number}.csv"
            table.to_csv(path, index=False, sep=separator)
            scores[name], types = run_automl(path, args.walltime, args.trials, args.seed, root / f"run{number}")
            print(f"{name}: " + ", ".join(f"{t['name']}={t['kind']}" for t in types))
    baseline = scores["cleaned by hand"]
    print("\n| table | test ROC AUC | gap to clean |\n|---|---:|---:|")
    for name, score in scores.items():
        gap = baseline - score
        verdict = "" if score == baseline else f" ({'met' if gap <= GOAL else 'missed'})"
        print(f"| {name} | {score:.4f} | {gap:+.4f}{verdict} |")
    print(f"\ngoal: each messy file at most {GOAL} below the clean table")


if __name__ == "__main__":
    main()
