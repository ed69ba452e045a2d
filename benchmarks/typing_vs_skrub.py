"""Should column typing be skrub's instead of our own? Our typing against skrub's Cleaner and TableVectorizer.

The project types raw columns by hand (``automl/data/column_types.py``: ``detect_column``) and turns
them into model features (``automl/data/features.py``: ``learn_schema``, ``apply_schema``). skrub, kept
by scikit-learn people, offers the same service (``skrub.Cleaner``, ``skrub.TableVectorizer``). This
script measures both, so that the project keeps by hand only what the library lacks:

(a) a decision table: small hand-made columns of the kinds real exports hold (money, thousands and
    decimal marks, percents, numbers with "N/A", accounting negatives, dates as text in four styles, zip
    and product codes, years, IDs, free text, constant, empty, category, booleans), what each tool makes
    of them against the kind each must get, and whether parsed numbers and dates have the true values;
(b) a score table: the messy churn table of ``benchmarks/messy_table.py`` (``tables``), a stratified
    70/30 split per seed, the test ROC AUC of one fixed ``HistGradientBoostingClassifier(random_state=0)``
    on each encoding, and the seconds each encoding takes (fit on the train rows, transform both).

Needs skrub: ``pip install -e '.[bench]'`` (the ``bench`` extra holds it); works offline. Usage::

    python benchmarks/typing_vs_skrub.py                          # 3000 rows, seeds 1, 2, 3
    python benchmarks/typing_vs_skrub.py --rows 6000 --seeds 1,2,3,4,5
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import skrub
from messy_table import tables
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import OrdinalEncoder
from threadpoolctl import threadpool_limits

from automl.data.column_types import detect_column
from automl.data.features import apply_schema, learn_schema

# The kinds a column can end up as, in words both tools share.
NUMBER, DATE, CATEGORY, TEXT, LEFT_OUT = "number", "date", "category", "text", "left out"
OURS = {"numeric": NUMBER, "number_text": NUMBER, "date": DATE, "categorical": CATEGORY, "text": TEXT}
SKRUB_KINDS = {"numeric": NUMBER, "datetime": DATE, "low_cardinality": CATEGORY, "high_cardinality": "string-encoded"}
# What counts as right for each expected kind; skrub's high-cardinality string encoding keeps a code as a
# string (not a number), which is right for codes and for free text.
ACCEPTED = {NUMBER: {NUMBER}, DATE: {DATE}, CATEGORY: {CATEGORY, "string-encoded"}, TEXT: {TEXT, "string-encoded"},
            LEFT_OUT: {LEFT_OUT}}  # fmt: skip
HGB_MAX_LEVELS = 255  # HistGradientBoosting's limit on a categorical feature's levels


@dataclass(frozen=True)
class Case:
    """One hand-made column, the kind it must get, and (for numbers and dates) its true values."""

    name: str
    values: pd.Series
    expected: str
    truth: pd.Series | None = None
    example: str = ""


def cases(n_rows: int, seed: int) -> list[Case]:
    """The decision table's columns, ``n_rows`` values each."""
    rng = np.random.default_rng(seed)
    money = pd.Series(rng.uniform(0, 5000, n_rows).round(2))
    percent = pd.Series(rng.uniform(0, 100, n_rows).round(1))
    dates = pd.Series(pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 1500, n_rows), unit="D"))
    stamps = dates + pd.to_timedelta(rng.integers(0, 24 * 60, n_rows), unit="min")
    zips = np.concatenate([rng.integers(1000, 9999, 30), rng.integers(10000, 99999, 30)])
    words = ("the", "customer", "called", "about", "a", "late", "invoice", "and", "asked", "for", "refund",
             "support", "team", "replied", "quickly", "billing", "error", "fixed", "upgrade", "plan", "cancel",
             "account", "password", "reset", "slow", "internet", "router", "outage", "thanks", "great")  # fmt: skip
    text = [" ".join(rng.choice(words, rng.integers(4, 11))) for _ in range(n_rows)]
    missing = rng.random(n_rows) < 0.15
    signed = money.where(rng.random(n_rows) < 0.7, -money)
    raw: list[tuple[str, object, str, pd.Series | None]] = [
        ("money", [f"${v:,.2f}" for v in money], NUMBER, money),
        ("thousands", [f"{v:,.2f}" for v in money], NUMBER, money),
        ("decimal_comma", [f"{v:,.2f}".translate(str.maketrans(",.", ".,")) for v in money], NUMBER, money),
        ("percent", [f"{v:.1f} %".replace(".", ",") for v in percent], NUMBER, percent),
        ("number_or_na", np.where(missing, "N/A", [f"{v:.2f}" for v in percent]), NUMBER, percent.mask(missing)),
        ("accounting", [f"({-v:,.2f})" if v < 0 else f"{v:,.2f}" for v in signed], NUMBER, signed),
        ("date_text", dates.dt.strftime("%Y-%m-%d"), DATE, dates),
        ("date_time_text", stamps.dt.strftime("%m/%d/%Y %H:%M"), DATE, stamps),
        ("date_day_first", dates.dt.strftime("%d/%m/%Y"), DATE, dates),
        ("date_month_name", dates.dt.strftime("%b %d, %Y"), DATE, dates),
        ("zip_code", [f"{z:05d}" for z in rng.choice(zips, n_rows)], CATEGORY, None),
        ("product_code", [f"A-{k:04d}" for k in rng.integers(1, 26, n_rows)], CATEGORY, None),
        ("year", rng.integers(1999, 2021, n_rows), NUMBER, None),
        ("customer_id", rng.permutation(n_rows) + 1, LEFT_OUT, None),
        ("customer_code", [f"CUST-{i:06d}" for i in rng.permutation(n_rows) + 1], LEFT_OUT, None),
        ("comment", text, TEXT, None),
        ("constant", ["EU"] * n_rows, LEFT_OUT, None),
        ("empty", [np.nan] * n_rows, LEFT_OUT, None),
        ("plan", rng.choice(["basic", "plus", "pro"], n_rows), CATEGORY, None),
        ("flag", rng.random(n_rows) < 0.3, NUMBER, None),
    ]
    made = []
    for name, values, expected, truth in raw:
        series = pd.Series(values, name=name)
        odd = series[series.astype(str).str.contains(r"N/A|\(")]  # show the odd values too
        example = str(series.iloc[0]) + (f"`, `{odd.iloc[0]}" if len(odd) else "")
        made.append(Case(name, series, expected, truth, example))
    return made


def _matches(got: pd.Series, truth: pd.Series | None) -> bool:
    """Whether parsed numbers or dates equal the true values (always true when there is no truth to check)."""
    if truth is None:
        return True
    if pd.api.types.is_datetime64_any_dtype(truth):
        if not pd.api.types.is_datetime64_any_dtype(got):
            return False
        got, truth = got.astype("datetime64[ns]").astype("int64"), truth.astype("datetime64[ns]").astype("int64")
    return bool(np.allclose(pd.to_numeric(got, errors="coerce").to_numpy(dtype="float64"),
                            truth.to_numpy(dtype="float64"), atol=1e-3, equal_nan=True))  # fmt: skip


def _mark(got: str, expected: str, values_right: bool = True) -> str:
    if got not in ACCEPTED[expected]:
        return "✗"
    return "✓" if values_right else "✗ (wrong values)"


def _cleaner_kind(dtype: object | None) -> str:
    if dtype is None:
        return LEFT_OUT
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        return NUMBER
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return DATE
    return "string-encoded" if not isinstance(dtype, pd.CategoricalDtype) else CATEGORY


def decision_table(n_rows: int, seed: int) -> str:
    """What ours, skrub's Cleaner and skrub's TableVectorizer decide for each hand-made column, as Markdown."""
    made = cases(n_rows, seed)
    frame = pd.DataFrame({case.name: case.values for case in made})
    schema = learn_schema(frame)
    ours_out = apply_schema(frame, schema)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cleaned = skrub.Cleaner().fit_transform(frame)
        cleaned_numbers = skrub.Cleaner(parse_numbers=True).fit_transform(frame)
        vectorizer = skrub.TableVectorizer()
        vectorized = vectorizer.fit_transform(frame)
    rows = ["| column | example | expected | ours (`detect_column`) | | skrub `Cleaner()` dtype | "
            "`Cleaner(parse_numbers=True)` dtype | | skrub `TableVectorizer()` kind | |",
            "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    right = {"ours": 0, "Cleaner": 0, "TableVectorizer": 0}
    for case in made:
        typed = detect_column(case.name, case.values)
        ours_kind = OURS.get(typed.kind, LEFT_OUT)
        ours_values = ours_out[f"{case.name}.days"] if ours_kind == DATE else ours_out.get(case.name)
        if ours_kind == DATE and case.truth is not None:  # ours keeps dates as days since 1970
            truth_days = (case.truth - pd.Timestamp(0)) / pd.Timedelta(days=1)
            ours_ok = _matches(ours_values, truth_days)
        else:
            ours_ok = ours_kind not in (NUMBER,) or _matches(ours_values, case.truth)
        ours_words = typed.kind + (f" (thousands `{typed.thousands or 'none'}`, decimal `{typed.decimal}`)"
                                   if typed.kind == "number_text" else "")  # fmt: skip
        dtypes = [table[case.name].dtype if case.name in table.columns else None
                  for table in (cleaned, cleaned_numbers)]  # fmt: skip
        cleaner_kind = _cleaner_kind(dtypes[1])
        cleaner_ok = cleaner_kind not in (NUMBER, DATE) or _matches(cleaned_numbers[case.name], case.truth)
        tv_raw = vectorizer.column_to_kind_.get(case.name)
        tv_kind = LEFT_OUT if tv_raw is None else SKRUB_KINDS.get(tv_raw, tv_raw)
        outputs = vectorizer.input_to_outputs_.get(case.name, []) if tv_raw is not None else []
        tv_ok = tv_kind != NUMBER or _matches(vectorized[outputs[0]], case.truth)
        if tv_kind == DATE:  # the vectorizer parses dates with the Cleaner's ToDatetime: check those
            tv_ok = _matches(cleaned_numbers[case.name], case.truth)
        tv_words = tv_kind if tv_raw is None else f"{tv_raw} → {type(vectorizer.transformers_[case.name]).__name__}"
        tv_words += f" ({len(outputs)} col.)" if outputs else ""
        marks = [_mark(ours_kind, case.expected, ours_ok), _mark(cleaner_kind, case.expected, cleaner_ok),
                 _mark(tv_kind, case.expected, tv_ok)]  # fmt: skip
        for tool, mark in zip(right, marks, strict=True):
            right[tool] += mark == "✓"
        shown = ["dropped" if d is None else str(d) for d in dtypes]
        rows.append(f"| {case.name} | `{case.example[:28]}` | {case.expected} | {ours_words} | {marks[0]} | "
                    f"{shown[0]} | {shown[1]} | {marks[1]} | {tv_words} | {marks[2]} |")  # fmt: skip
    rows.append(f"| **right** | | | | **{right['ours']}/{len(made)}** | | | **{right['Cleaner']}/{len(made)}** | "
                f"| **{right['TableVectorizer']}/{len(made)}** |")  # fmt: skip
    return "\n".join(rows)


# An encoding: (train features, test features) -> (train matrix, test matrix), fitted on the train rows only.
Encoding = Callable[[pd.DataFrame, pd.DataFrame], tuple[pd.DataFrame, pd.DataFrame]]


def _as_categories(train: pd.DataFrame, test: pd.DataFrame, names: list[str]) -> None:
    """Turn the named columns of both tables into pandas categories with the train rows' levels (in place)."""
    for name in names:
        levels = pd.CategoricalDtype(sorted(train[name].dropna().unique()))
        train[name], test[name] = train[name].astype(levels), test[name].astype(levels)


def _text_columns(table: pd.DataFrame) -> list[str]:
    return [name for name in table.columns if not pd.api.types.is_numeric_dtype(table[name])]


def encode_clean(train: pd.DataFrame, test: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The table cleaned by hand: numbers as they are, text columns (``contract``) as pandas categories."""
    train, test = train.copy(), test.copy()
    _as_categories(train, test, _text_columns(train))
    return train, test


def encode_ours(train: pd.DataFrame, test: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The project's typing: ``learn_schema`` on the train rows, ``apply_schema`` to both."""
    schema = learn_schema(train)
    return apply_schema(train, schema), apply_schema(test, schema)


def encode_vectorizer(train: pd.DataFrame, test: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """skrub's ``TableVectorizer()`` with its defaults."""
    vectorizer = skrub.TableVectorizer()
    return vectorizer.fit_transform(train), vectorizer.transform(test)


def _cleaned(train: pd.DataFrame, test: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """skrub's ``Cleaner()``, then datetimes as days since 1970 (HistGradientBoosting takes no datetimes)."""
    cleaner = skrub.Cleaner()
    out = [cleaner.fit_transform(train), cleaner.transform(test)]
    for table in out:
        for name in table.columns:
            if pd.api.types.is_datetime64_any_dtype(table[name]):
                table[name] = (table[name] - pd.Timestamp(0)) / pd.Timedelta(days=1)
    return out[0], out[1]


def encode_cleaner(train: pd.DataFrame, test: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``Cleaner()``, then every text column as a pandas category (levels from the train rows)."""
    train, test = _cleaned(train, test)
    _as_categories(train, test, _text_columns(train))
    return train, test


def encode_cleaner_ordinal(train: pd.DataFrame, test: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """As ``encode_cleaner``, but text columns with more levels than HGB allows become ordinal codes."""
    train, test = _cleaned(train, test)
    text = _text_columns(train)
    _as_categories(train, test, [name for name in text if train[name].nunique() <= HGB_MAX_LEVELS])
    for name in text:
        if train[name].nunique() > HGB_MAX_LEVELS:
            codes = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan)
            train[name] = codes.fit_transform(train[[name]].astype(object)).ravel()
            test[name] = codes.transform(test[[name]].astype(object)).ravel()
    return train, test


ENCODINGS: dict[str, tuple[str, Encoding]] = {
    "clean": ("(i) clean table, `contract` as category", encode_clean),
    "ours": ("(ii) ours: `learn_schema` + `apply_schema`", encode_ours),
    "tv": ("(iii) skrub `TableVectorizer()`", encode_vectorizer),
    "cleaner": ("(iv) skrub `Cleaner()`, text columns as categories", encode_cleaner),
    "cleaner_ordinal": ("(iv′) as (iv), text columns over 255 levels as ordinal codes", encode_cleaner_ordinal),
}


@dataclass(frozen=True)
class Score:
    """One encoding on one seed: test ROC AUC (None when the model would not fit), seconds, feature count."""

    auc: float | None
    encode_s: float
    fit_s: float
    features: int
    error: str = ""


def score(encoding: Encoding, table: pd.DataFrame, seed: int) -> Score:
    """Split 70/30 (stratified), encode, fit the fixed HGB on the train rows, score the test rows.

    Everything runs on one thread: on a shared machine, OpenMP's threads make the fit's time swing by 10x.
    """
    with threadpool_limits(1):
        return _score(encoding, table, seed)


def _score(encoding: Encoding, table: pd.DataFrame, seed: int) -> Score:
    features, target = table.drop(columns="churn"), table["churn"]
    train, test, y_train, y_test = train_test_split(features, target, test_size=0.3, stratify=target,
                                                    random_state=seed)  # fmt: skip
    train, test = train.reset_index(drop=True), test.reset_index(drop=True)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train_x, test_x = encoding(train, test)
    encode_s = time.perf_counter() - started
    model = HistGradientBoostingClassifier(random_state=0, categorical_features="from_dtype")
    started = time.perf_counter()
    try:
        model.fit(train_x, y_train.to_numpy())
    except ValueError as error:
        return Score(None, encode_s, 0.0, train_x.shape[1], str(error).split(".")[0])
    fit_s = time.perf_counter() - started
    auc = roc_auc_score(y_test, model.predict_proba(test_x)[:, 1])
    return Score(float(auc), encode_s, fit_s, train_x.shape[1])


def score_table(n_rows: int, seeds: list[int]) -> str:
    """Test ROC AUC and seconds per encoding and seed, as Markdown (with the mean over seeds)."""
    results: dict[str, list[Score]] = {key: [] for key in ENCODINGS}
    for seed in seeds:
        clean, messy = tables(n_rows, seed)
        for key, (_, encoding) in ENCODINGS.items():
            results[key].append(score(encoding, clean if key == "clean" else messy, seed))
    head = " | ".join(f"seed {seed}" for seed in seeds)
    rows = [f"| encoding | {head} | mean | features | encode s (fit + transform) | HGB fit s |",
            "|---|" + "---:|" * (len(seeds) + 4)]  # fmt: skip
    errors = []
    for key, (label, _) in ENCODINGS.items():
        scores = results[key]
        aucs = [s.auc for s in scores]
        cells = " | ".join("fails" if auc is None else f"{auc:.4f}" for auc in aucs)
        mean = "—" if None in aucs else f"{np.mean(aucs):.4f}"
        fit = "—" if None in aucs else f"{np.median([s.fit_s for s in scores]):.2f}"
        rows.append(f"| {label} | {cells} | {mean} | {scores[0].features} | "
                    f"{np.median([s.encode_s for s in scores]):.3f} | {fit} |")  # fmt: skip
        errors += [f"{label}: {s.error}" for s in scores[:1] if s.error]
    notes = "\n".join(f"\n{error}" for error in errors)
    return "\n".join(rows) + ("\n" + notes if notes else "")


def messy_columns(n_rows: int, seed: int) -> str:
    """The messy table's columns, as ours and skrub's TableVectorizer type them (on every row)."""
    features = tables(n_rows, seed)[1].drop(columns="churn")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kinds = skrub.TableVectorizer().fit(features).column_to_kind_
    ours = {t.name: t.kind for t in learn_schema(features).types}
    return ", ".join(f"{name} (ours {ours[name]}, skrub {kinds.get(name, 'dropped')})" for name in features.columns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3000, help="rows of the messy churn table")
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated seeds (table and split)")
    parser.add_argument("--decision-rows", type=int, default=200, help="values per hand-made column")
    args = parser.parse_args()
    seeds = [int(seed) for seed in args.seeds.split(",")]
    print(f"skrub {skrub.__version__}, pandas {pd.__version__}\n")
    print(f"(a) decision table, {args.decision_rows} values per column\n")
    print(decision_table(args.decision_rows, seed=0))
    print(f"\n(b) score table: messy churn table, {args.rows} rows, 70/30 stratified split, "
          "HistGradientBoostingClassifier(random_state=0), test ROC AUC; "
          "seconds (one thread) are medians over seeds\n")  # fmt: skip
    print(f"messy columns: {messy_columns(args.rows, seeds[0])}\n")
    print(score_table(args.rows, seeds))
    print("\nload average: " + ", ".join(f"{value:.1f}" for value in os.getloadavg()))


if __name__ == "__main__":
    main()
