"""The feature schema: which columns a model gets and in which form.

The schema is learned once from the training table and then applied to every table the model sees
(validation, held-out test, new data for ``predict``), so all of them have the same columns, the
same dtypes and the same category levels. That is what lets a model saved by train() predict on a
CSV it has never seen.

The schema starts from the column typing (:mod:`automl.data.column_types`): identifiers, constant and
empty columns are left out, numbers stored as text are parsed, and each date becomes numeric parts
(year, month, day of week, hour where there are times, and days since 1970).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from automl.data.column_types import ColumnType, detect_column, null_strings, parse_dates, parse_numbers
from automl.errors import DataError

# The numeric parts a date column becomes; "hour" only where the training rows have times of day.
DATE_PARTS = ("year", "month", "day_of_week", "hour", "days")
# A free-text column becomes its length, its word count and the counts of its most telling words: up
# to this many, among the words in at least TEXT_MIN_ROWS texts and at most TEXT_MAX_SHARE of them
# (words in nearly every text are filler). The words are part of the schema, so new rows are
# counted against the same vocabulary.
TEXT_WORDS = 32
TEXT_MIN_ROWS = 5
TEXT_MAX_SHARE = 0.9
TEXT_SHAPE_PARTS = ("length", "words")
WORD_PART = "word:"  # a text column's part that counts one word: "word:refund"
TOKEN_PATTERN = r"(?u)\b\w\w+\b"  # scikit-learn's default: words of two or more letters


@dataclass(frozen=True)
class Column:
    """One feature column: ``kind`` is ``numeric`` or ``categorical``; categories are strings.

    A column made from a date names its raw column in ``source`` and the date part in ``part``.
    """

    name: str
    kind: str
    categories: tuple[str, ...] = ()
    source: str = ""
    part: str = ""

    @property
    def raw_name(self) -> str:
        """The column of the user's table it is made from."""
        return self.source or self.name


@dataclass(frozen=True)
class FeatureSchema:
    """The ordered feature columns a model expects."""

    columns: tuple[Column, ...]
    types: tuple[ColumnType, ...] = ()  # every raw column's typing, left-out ones included

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def raw_names(self) -> list[str]:
        """The columns a table must have for the model, in order (each once)."""
        return list(dict.fromkeys(column.raw_name for column in self.columns))

    def to_dict(self) -> dict:
        return {"columns": [asdict(column) for column in self.columns], "types": [asdict(t) for t in self.types]}

    @classmethod
    def from_dict(cls, data: dict) -> FeatureSchema:
        columns = tuple(Column(c["name"], c["kind"], tuple(c.get("categories", ())), c.get("source", ""),
                               c.get("part", "")) for c in data["columns"])  # fmt: skip
        return cls(columns, tuple(ColumnType(**t) for t in data.get("types", ())))


def _category_labels(series: pd.Series) -> pd.Series:
    """Category levels as strings, so 1, '1' and 1.0 from different files agree."""
    return series.map(lambda value: value if pd.isna(value) else str(value).strip(), na_action="ignore")


def learn_schema(features: pd.DataFrame, kinds: dict[str, str] | None = None) -> FeatureSchema:
    """Type each raw column (as ``kinds`` says where it names the column), then decide the model's
    columns and, for categorical ones, their levels."""
    told = kinds or {}
    types = tuple(detect_column(str(name), features[name], told.get(str(name))) for name in features.columns)
    columns: list[Column] = []
    for typed in types:
        series = features[typed.name]
        if typed.dropped:
            continue
        if typed.kind == "date":
            has_times = bool((parse_dates(series, typed).dt.hour.fillna(0) != 0).any())
            parts = [part for part in DATE_PARTS if part != "hour" or has_times]
            columns += [Column(f"{typed.name}.{part}", "numeric", source=typed.name, part=part) for part in parts]
        elif typed.kind == "text":
            parts = [*TEXT_SHAPE_PARTS, *(WORD_PART + word for word in _vocabulary(series))]
            columns += [Column(f"{typed.name}.{part.removeprefix(WORD_PART)}", "numeric", source=typed.name,
                               part=part) for part in parts]  # fmt: skip
        elif typed.kind == "categorical":
            levels = sorted(set(_category_labels(series).dropna()))
            columns.append(Column(typed.name, "categorical", tuple(levels)))
        else:
            columns.append(Column(typed.name, "numeric"))
    if not columns:
        left_out = ", ".join(f"{t.name!r} ({t.kind})" for t in types)
        raise DataError(f"no usable feature columns: every column was left out ({left_out}): add feature columns")
    return FeatureSchema(tuple(columns), types)


def apply_schema(table: pd.DataFrame, schema: FeatureSchema, source: str = "data") -> pd.DataFrame:
    """Return the schema's columns from ``table`` in train() form: float64 numbers, pandas categories.

    Extra columns (the target, IDs, left-out columns) are dropped; a missing column is an error naming
    it. Values that do not parse, infinite numbers and category levels not seen in training become missing
    values, which every model handles.
    """
    missing = [name for name in schema.raw_names if name not in table.columns]
    if missing:
        raise DataError(
            f"{source} lacks the feature column(s) {missing} that the model was trained on: "
            "add them (values may be empty)"
        )
    typed = {column_type.name: column_type for column_type in schema.types}
    dates: dict[str, pd.Series] = {}
    texts: dict[str, pd.DataFrame] = {}
    converted = {}
    for column in schema.columns:
        series = table[column.raw_name]
        kind = typed[column.raw_name].kind if column.raw_name in typed else column.kind
        if kind == "text":
            if column.raw_name not in texts:
                words = [
                    c.part for c in schema.columns if c.raw_name == column.raw_name and c.part.startswith(WORD_PART)
                ]
                texts[column.raw_name] = _text_parts(series, words)
            converted[column.name] = texts[column.raw_name][column.part]
        elif column.part:
            if column.raw_name not in dates:
                dates[column.raw_name] = parse_dates(series, typed.get(column.raw_name))
            converted[column.name] = _date_part(dates[column.raw_name], column.part)
        elif kind == "number_text":
            converted[column.name] = parse_numbers(series, typed[column.raw_name])[0]
        elif column.kind == "numeric":
            if pd.api.types.is_datetime64_any_dtype(series):  # a model saved before dates had parts
                series = _date_part(parse_dates(series), "days")
            converted[column.name] = pd.to_numeric(series, errors="coerce").astype("float64")
        else:
            labels = _category_labels(series)
            known = labels.where(labels.isin(column.categories))  # unseen levels become missing
            dtype = pd.CategoricalDtype(categories=list(column.categories))
            converted[column.name] = pd.Series(pd.Categorical(known, dtype=dtype), index=table.index)
    frame = pd.DataFrame(converted, index=table.index)
    numbers = frame.select_dtypes("number").columns
    frame[numbers] = frame[numbers].replace([np.inf, -np.inf], np.nan)  # no model fits infinity: it is missing
    return frame.reset_index(drop=True)


def lost_values(table: pd.DataFrame, schema: FeatureSchema) -> dict[str, tuple[str, int]]:
    """Per raw column, how many present values the model could not use: ``("unparsed", n)`` for
    numbers and dates that did not parse, ``("unseen", n)`` for category levels training never saw.

    They became missing values; ``automl predict`` says so instead of hiding it. Strings that mean no
    value ("N/A", "-") are missing values already and do not count.
    """
    converted = apply_schema(table, schema)
    present = table.reset_index(drop=True)
    lost: dict[str, tuple[str, int]] = {}
    for column in schema.columns:
        if column.raw_name in lost or (column.part and column.part != "days"):
            continue  # one count per raw column: a date's ``days`` part stands for all; any text is usable
        values = present[column.raw_name]
        count = int((values.notna() & ~null_strings(values) & converted[column.name].isna()).sum())
        if count:
            lost[column.raw_name] = ("unseen" if column.kind == "categorical" else "unparsed", count)
    return lost


def _vocabulary(series: pd.Series) -> list[str]:
    """The :data:`TEXT_WORDS` words in the most texts, leaving out rare words and near-universal filler."""
    from sklearn.feature_extraction.text import CountVectorizer

    texts = series.dropna().astype(str).tolist()
    counter = CountVectorizer(token_pattern=TOKEN_PATTERN, lowercase=True, binary=True,
                              min_df=min(TEXT_MIN_ROWS, len(texts)), max_df=TEXT_MAX_SHARE)  # fmt: skip
    try:
        in_texts = np.asarray(counter.fit_transform(texts).sum(axis=0)).reshape(-1)
    except ValueError:  # no word passes the limits
        return []
    words = counter.get_feature_names_out()
    order = sorted(range(len(words)), key=lambda i: (-in_texts[i], words[i]))
    return sorted(str(words[i]) for i in order[:TEXT_WORDS])


def _text_parts(series: pd.Series, word_parts: list[str]) -> pd.DataFrame:
    """Length, word count and the count of each vocabulary word of each text (all missing where the text is)."""
    from sklearn.feature_extraction.text import CountVectorizer

    text = series.astype("string")
    parts = pd.DataFrame(index=series.index)
    parts["length"] = text.str.len().to_numpy(dtype="float64", na_value=np.nan)
    parts["words"] = text.str.split().str.len().to_numpy(dtype="float64", na_value=np.nan)
    if word_parts:
        vocabulary = [part.removeprefix(WORD_PART) for part in word_parts]
        counter = CountVectorizer(token_pattern=TOKEN_PATTERN, lowercase=True, vocabulary=vocabulary)
        counts = counter.transform(text.fillna("").tolist()).toarray().astype("float64")
        parts[word_parts] = pd.DataFrame(counts, index=series.index, columns=word_parts)
    parts[text.isna().to_numpy()] = np.nan
    return parts


def _date_part(dates: pd.Series, part: str) -> pd.Series:
    """One numeric part of parsed dates; ``days`` counts days since 1970 (a number every model can use)."""
    values = (dates - pd.Timestamp(0)) / pd.Timedelta(days=1) if part == "days" else getattr(dates.dt, part)
    return pd.to_numeric(values, errors="coerce").astype("float64")


def numeric_summary(values: np.ndarray) -> dict[str, float]:
    """Location and spread of a numeric array, ignoring missing values (for dataset.json)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return {}
    return {
        "mean": float(finite.mean()),
        "std": float(finite.std()),
        "min": float(finite.min()),
        "q25": float(np.quantile(finite, 0.25)),
        "median": float(np.median(finite)),
        "q75": float(np.quantile(finite, 0.75)),
        "max": float(finite.max()),
    }
