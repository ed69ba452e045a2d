"""Column typing: what each raw column of a table is, decided once on the non-test rows, with the reason.

Real tables store numbers as text ("$2,928.12", "12,5 %"), dates as text, identifiers, constant and
empty columns. Each raw column gets one :class:`ColumnType`:

* ``numeric``: numbers (or booleans) as the file has them;
* ``number_text``: numbers stored as text, parsed with the detected thousands and decimal marks
  (currency signs, percent signs and spaces removed);
* ``date``: dates (as datetimes or as text), expanded into numeric parts by the feature schema;
* ``text``: free text (mostly distinct values of several words), encoded by the feature schema;
* ``categorical``: everything else;
* ``id``, ``constant``, ``empty`` and ``dropped`` (``--drop``): left out of the features, each with a note.

What must *not* be converted stays as it is: codes with leading zeros (zip codes, product codes)
stay categorical, and whole numbers (years included) stay numbers, never dates. Strings that mean no
value ("N/A", "null", "-", "?": :data:`NULL_STRINGS`) are missing values to the number and date
detectors and parsers. Whether dates put the day first ("25/10/2022") is decided once per column,
with the one format nearly all its values have. The decision is part of the saved model's schema, so
``predict`` parses new data the same way.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format

# Share of a text column's non-missing values that must parse for it to count as numbers or dates.
PARSE_SHARE = 0.95
# From this share of numbers (and below PARSE_SHARE) a column stays categorical with a warning.
CLOSE_SHARE = 0.5
MOSTLY_NUMBERS = "mostly numbers"  # how such a column's reason starts
# An identifier: every value distinct, in a table with at least this many rows.
ID_MIN_ROWS = 20
ID_NAME = re.compile(r"(^|[_\s.-])(id|uuid|guid|key)$|^(id|uuid|guid)([_\s.-]|$)|[a-z]Id$", re.IGNORECASE)
# Longest text value an identifier may have, and the whitespace it may not contain.
ID_MAX_CHARS = 40
# Characters around a number that do not change it: currency signs, percent, spaces (and no-break spaces).
NUMBER_DECORATION = re.compile(r"[\s\u00a0\u202f$€£¥₹%]|^[A-Z]{3}\s*|\s*[A-Z]{3}$")
NUMBER_TEXT = re.compile(r"^[+-]?(\d+|\d{1,3}([.,' ]\d{3})+)([.,]\d+)?([eE][+-]?\d+)?$")
LEADING_ZERO = re.compile(r"^[+-]?0\d")
# Free text: at least this share of distinct values, with at least this many words on average.
TEXT_DISTINCT_SHARE = 0.5
TEXT_MIN_WORDS = 3.0
DATE_HINT = re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}|[A-Za-z]{3,9}\s+\d{1,2}|\d{1,2}\s+[A-Za-z]{3,9}")
# A date that starts with a day or a month ("25/10/2022", "10.25.22"), and one that starts with its year.
DAY_OR_MONTH_FIRST = re.compile(r"^(\d{1,2})([-/.])(\d{1,2})\2\d{2,4}(?!\d)")
YEAR_FIRST = re.compile(r"^\d{4}")
# Strings that mean "no value", compared stripped and in any case. pandas' read_csv already reads "",
# "N/A", "NA", "n/a", "NULL", "null", "None", "nan", "NaN", "#N/A" and "<NA>" as NaN (its default
# na_values, in exactly those spellings), so in a CSV only "-", "--", "?", "missing" and other casings
# ("Null", "na", "NONE") reach the typing as strings; Parquet files and tables passed in memory keep all
# of them. Numbers and dates treat them as missing values (they would block parsing); a categorical
# column keeps them as levels (a level trains like a missing value, and making "-" missing would turn a
# "+"/"-" column into a constant that is left out).
NULL_STRINGS = ("", "n/a", "na", "null", "none", "nan", "#n/a", "<na>", "-", "--", "?", "missing")


@dataclass(frozen=True)
class ColumnType:
    """One raw column's kind, why, and how to parse it (``thousands``/``decimal`` for ``number_text``,
    ``day_first``/``date_format`` for dates stored as text)."""

    name: str
    kind: str
    reason: str
    thousands: str = ""
    decimal: str = "."
    # For ``date`` columns stored as text: day before month where that is ambiguous, and the one format
    # (strptime codes) nearly every value has; "" parses each value alone. Defaults keep older schemas loading.
    day_first: bool = False
    date_format: str = ""

    @property
    def dropped(self) -> bool:
        return self.kind in ("id", "constant", "empty", "dropped")


def detect_column(name: str, series: pd.Series, wanted: str | None = None) -> ColumnType:
    """The kind of one raw column, judged on its non-missing values, or ``wanted`` when the user said so."""
    if wanted is not None:
        return _as_told(name, series, wanted)
    values = series.dropna()
    if values.empty:
        return ColumnType(name, "empty", "no values at all")
    if values.astype(str).str.strip().nunique() <= 1:
        return ColumnType(name, "constant", f"one value only ({str(values.iloc[0])[:40]!r})")
    if pd.api.types.is_datetime64_any_dtype(series):
        return ColumnType(name, "date", "stored as dates")
    if pd.api.types.is_bool_dtype(series):
        return ColumnType(name, "numeric", "booleans")
    if pd.api.types.is_numeric_dtype(series):
        return _numbers_or_id(name, values)
    text = values.astype(str).str.strip()
    text = text[~null_strings(text)]
    if text.empty:
        return ColumnType(name, "empty", "no values but strings that mean none (such as 'N/A')")
    number_format = _number_format(text)
    if number_format is not None:
        thousands, decimal = number_format
        return ColumnType(name, "number_text", f"numbers stored as text ({_format_words(thousands, decimal)})",
                          thousands, decimal)  # fmt: skip
    dates = _dates(name, text)
    if dates is not None:
        return dates
    if _is_text_id(name, text, len(series)):
        return ColumnType(name, "id", "a distinct code on every row: an identifier, not a feature")
    if _is_free_text(text):
        return ColumnType(name, "text", "free text: mostly distinct values of several words")
    share = _number_share(text)
    if share >= CLOSE_SHARE:  # a close call: say so, with the flag that decides it
        return ColumnType(name, "categorical", f"{MOSTLY_NUMBERS} ({share:.0%} parse), kept as categories: pass "
                          f"--types {name}=numeric to parse them (the rest become missing values)")  # fmt: skip
    return ColumnType(name, "categorical", "text or categories")


def _as_told(name: str, series: pd.Series, wanted: str) -> ColumnType:
    """The kind the user gave (``--types``, ``--drop``, ``--id``); numbers stored as text keep their detected marks."""
    if wanted in ("drop", "id"):
        return ColumnType(name, "dropped" if wanted == "drop" else "id", f"--{wanted}")
    text = series.dropna().astype(str).str.strip()
    text = text[~null_strings(text)]
    if wanted == "numeric" and not pd.api.types.is_numeric_dtype(series):
        thousands, decimal = _number_format(text) or ("", ".")
        return ColumnType(name, "number_text", "--types numeric", thousands, decimal)
    if wanted == "date" and not pd.api.types.is_datetime64_any_dtype(series):
        return _date_column(name, text, "--types date")
    return ColumnType(name, wanted, f"--types {wanted}")


def _numbers_or_id(name: str, values: pd.Series) -> ColumnType:
    """Numbers are features, unless they are whole numbers that number the rows (an ID column)."""
    with np.errstate(invalid="ignore"):  # infinity is not a whole number (nan, not a warning)
        whole = bool(np.all(np.mod(values.to_numpy(dtype="float64"), 1) == 0))
    distinct = values.nunique() == len(values)
    if whole and distinct and len(values) >= ID_MIN_ROWS:
        span = float(values.max()) - float(values.min()) + 1
        if ID_NAME.search(name) or span == len(values):
            return ColumnType(name, "id", "whole numbers, distinct on every row: an identifier, not a feature")
    return ColumnType(name, "numeric", "numbers")


def _is_text_id(name: str, text: pd.Series, n_rows: int) -> bool:
    """Distinct short codes without spaces on every row (or a column named like an ID with distinct values)."""
    if text.nunique() != len(text) or n_rows < ID_MIN_ROWS:
        return False
    if ID_NAME.search(name):
        return True
    return bool((text.str.len() <= ID_MAX_CHARS).all() and not text.str.contains(r"\s").any())


def _is_free_text(text: pd.Series) -> bool:
    """Mostly distinct values that are phrases, not labels: too many levels to learn one by one."""
    distinct = text.nunique() / len(text)
    return bool(distinct >= TEXT_DISTINCT_SHARE and text.str.split().str.len().mean() >= TEXT_MIN_WORDS)


def _number_share(text: pd.Series) -> float:
    """The share of values that read as numbers (0 for codes with leading zeros, which are never numbers)."""
    bare = _bare_numbers(text)
    bare = bare[bare != ""]
    if bare.empty or bare.str.match(LEADING_ZERO).any():
        return 0.0
    return float(bare.str.match(NUMBER_TEXT).mean())


def _number_format(text: pd.Series) -> tuple[str, str] | None:
    """(thousands mark, decimal mark) when nearly every value is a number written as text; else None.

    Codes with leading zeros are not numbers: "02134" must keep its zero.
    """
    if _number_share(text) < PARSE_SHARE:
        return None
    bare = _bare_numbers(text)
    bare = bare[bare != ""]
    commas, dots = bare.str.contains(",", regex=False), bare.str.contains(".", regex=False)
    if (commas & dots).any():  # both marks: the later one is the decimal mark
        comma_last = (bare.str.rfind(",") > bare.str.rfind(".")).mean() > 0.5
        return (".", ",") if comma_last else (",", ".")
    if commas.any():
        # Only commas: thousands if every comma is followed by exactly three digits, else a decimal comma.
        thousands = bare[commas].str.fullmatch(r"[+-]?\d{1,3}(,\d{3})+").all()
        return (",", ".") if thousands else ("", ",")
    if dots.any() and bare[dots].str.fullmatch(r"[+-]?\d{1,3}(\.\d{3}){2,}").all():
        return (".", ",")  # 1.234.567: dots that can only group thousands
    return ("", ".")


def _format_words(thousands: str, decimal: str) -> str:
    marks = {",": "comma", ".": "dot", "": "none", " ": "space", "'": "apostrophe"}
    return f"thousands mark {marks.get(thousands, thousands)}, decimal mark {marks.get(decimal, decimal)}"


def null_strings(series: pd.Series) -> pd.Series:
    """Where a value is a string that means no value (:data:`NULL_STRINGS`); False for everything else."""
    dtype = series.dtype
    if (
        pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_numeric_dtype(dtype)
        or pd.api.types.is_datetime64_any_dtype(dtype)
    ):
        return pd.Series(False, index=series.index)
    text = series.astype("string").str.strip().str.lower()
    return text.isin(NULL_STRINGS).fillna(False).astype(bool)


def _bare_numbers(text: pd.Series) -> pd.Series:
    """Numbers written as text without their decoration, accounting negatives with a minus sign."""
    bare = text.str.replace(NUMBER_DECORATION, "", regex=True)
    braced = (bare.str.startswith("(") & bare.str.endswith(")")).fillna(False).astype(bool)
    if not braced.any():
        return bare
    return bare.mask(braced, "-" + bare.str.slice(1, -1))  # accounting negatives: "(4,066.35)" is -4,066.35


def parse_numbers(series: pd.Series, column: ColumnType) -> tuple[pd.Series, int]:
    """A ``number_text`` column as float64, and how many present values did not parse (they become NaN).

    Strings that mean no value ("N/A", "-") become NaN without counting, like empty cells.
    """
    text = series.astype("string").str.strip()
    text = _bare_numbers(text.mask(null_strings(text)))
    if column.thousands:
        text = text.str.replace(column.thousands, "", regex=False)
    if column.decimal != ".":
        text = text.str.replace(column.decimal, ".", regex=False)
    text = text.replace("", pd.NA)
    numbers = pd.to_numeric(text, errors="coerce").astype("float64")
    failed = int((numbers.isna() & text.notna()).sum())
    return numbers, failed


def _date_column(name: str, text: pd.Series, reason: str) -> ColumnType:
    """A ``date`` column of text values: whether days come first, and the format nearly every value has."""
    distinct = text.drop_duplicates()
    day_first = _day_first(distinct)
    date_format = _date_format(distinct.head(500), day_first)
    how = [words for words, used in (("day first", day_first), (f"format {date_format}", date_format)) if used]
    return ColumnType(name, "date", reason + (f" ({', '.join(how)})" if how else ""),
                      day_first=day_first, date_format=date_format)  # fmt: skip


def _day_first(text: pd.Series) -> bool:
    """Whether dates written as d/m/y or m/d/y (any of / . - between) put the day first.

    A first number over 12 proves day first, a second number over 12 proves month first (which wins
    when both occur: the column is mixed). Where no number says, dots mean day first (as "11.10.2022"
    is written in Germany and most of Europe), slashes and dashes month first (as in the US, and
    pandas' default). Dates that start with the year ("2022-10-11") never count.
    """
    parts = text.str.extract(DAY_OR_MONTH_FIRST).dropna()
    if parts.empty:
        return False
    first, second = parts[0].astype(int), parts[2].astype(int)
    if (second > 12).any():
        return False
    return bool((first > 12).any() or (parts[1] == ".").all())


def _date_format(sample: pd.Series, day_first: bool) -> str:
    """The format most of the first values have, if nearly every value of ``sample`` parses with it; else ""."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # guess_datetime_format warns when it must read day first
        guesses = [guess_datetime_format(value, dayfirst=day_first and not YEAR_FIRST.match(value))
                   for value in sample.head(20)]  # fmt: skip
    guesses = [guess for guess in guesses if guess]
    if not guesses:
        return ""
    date_format = max(set(guesses), key=guesses.count)
    parsed = pd.to_datetime(sample.astype("string"), format=date_format, errors="coerce", utc=True)
    return date_format if parsed.notna().mean() >= PARSE_SHARE else ""


def _dates(name: str, text: pd.Series) -> ColumnType | None:
    """A ``date`` column if nearly every value looks like a date and parses as one (whole numbers, years
    included, never do); else None."""
    sample = text.head(500)
    if sample.str.match(DATE_HINT).mean() < PARSE_SHARE:
        return None
    column = _date_column(name, text, "dates stored as text")
    return column if parse_dates(sample, column).notna().mean() >= PARSE_SHARE else None


def parse_dates(series: pd.Series, column: ColumnType | None = None) -> pd.Series:
    """Dates as naive datetimes (time zones converted to UTC); what does not parse becomes NaT.

    Text is read with the column's ``date_format`` where it fits; other values are read one by one,
    day first where the column says so, except those that start with the year (ISO dates are never
    day first). Strings that mean no value ("N/A") become NaT.
    """
    if pd.api.types.is_datetime64_any_dtype(series):
        return _naive(series)
    text = series.astype("string").str.strip()
    codes, distinct = pd.factorize(text.mask(null_strings(text)))  # each distinct text parsed once
    parsed = _naive(_parse_text_dates(pd.Series(distinct, dtype="string"), column)).to_numpy()
    with_missing = np.concatenate([parsed, np.array(["NaT"], dtype=parsed.dtype)])  # code -1: missing
    return pd.Series(with_missing[codes], index=series.index, name=series.name)


def _parse_text_dates(text: pd.Series, column: ColumnType | None) -> pd.Series:
    day_first, date_format = (column.day_first, column.date_format) if column else (False, "")
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
    if date_format:
        parsed = pd.to_datetime(text, format=date_format, errors="coerce", utc=True)
    rest = text[parsed.isna()]
    if not rest.empty:
        year_first = rest.str.match(YEAR_FIRST).fillna(False).astype(bool)
        one_by_one = [pd.to_datetime(part, errors="coerce", format="mixed", utc=True, dayfirst=first)
                      for part, first in ((rest[year_first], False), (rest[~year_first], day_first))]  # fmt: skip
        parsed = parsed.fillna(pd.concat(one_by_one))
    return parsed


def _naive(dates: pd.Series) -> pd.Series:
    return dates.dt.tz_convert("UTC").dt.tz_localize(None) if getattr(dates.dt, "tz", None) is not None else dates


# How each decision worth telling the user reads on the console, one line per kind.
NOTE_WORDS = {
    "id": "columns left out as identifiers",
    "constant": "columns left out as constant",
    "empty": "columns left out as empty",
    "dropped": "columns left out by --drop",
    "number_text": "columns of numbers stored as text, parsed",
    "date": "columns of dates, used as year, month, day of week, (hour,) days since 1970",
    "text": "columns of free text, used as length, word count and counts of their most frequent words",
}


def typing_notes(types: tuple[ColumnType, ...]) -> list[str]:
    """One line per kind of decision that changed a column, naming its columns.

    Plain numbers and categories are what a reader expects, so they say nothing.
    """
    notes = []
    for kind, words in NOTE_WORDS.items():
        names = [t.name for t in types if t.kind == kind]
        if names:
            shown = ", ".join(repr(name) for name in names[:8]) + (
                f" and {len(names) - 8} more" if len(names) > 8 else ""
            )
            notes.append(f"{words}: {shown}")
    notes += [f"warning: column {t.name!r} is {t.reason}" for t in types if t.reason.startswith(MOSTLY_NUMBERS)]
    return notes
