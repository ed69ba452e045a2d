"""Column typing: each detector on small hand-made columns, the ones that must not be converted included."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automl.cli import column_kinds
from automl.config import RunConfig
from automl.data.column_types import NULL_STRINGS, ColumnType, detect_column, parse_dates, parse_numbers, typing_notes
from automl.data.dataset import prepare_dataset, prepare_table
from automl.data.features import apply_schema, learn_schema, lost_values
from automl.data.load import load_table
from automl.errors import ConfigError, DataError
from automl.stages.prepare import close_calls

N = 40  # rows: enough for the identifier rule (at least 20)


def kind(values: list, name: str = "col") -> str:
    return detect_column(name, pd.Series(values)).kind


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([f"${1000 + 37 * i:,}.{i % 100:02d}" for i in range(N)], ("number_text", ",", ".")),  # $2,928.12
        ([f"{1000 + 37 * i:,}".replace(",", ".") + f",{i % 10}" for i in range(N)], ("number_text", ".", ",")),
        ([f"{i % 17},{i % 10}" for i in range(N)], ("number_text", "", ",")),  # decimal comma
        ([f"{i % 9 * 1.5} %" for i in range(N)], ("number_text", "", ".")),
        (["179,574", "1,250,000", "98,000", "12,345"] * 10, ("number_text", ",", ".")),
        ([str(i % 7) for i in range(N)], ("number_text", "", ".")),  # whole numbers as text
    ],
)
def test_numbers_stored_as_text_are_found_with_their_marks(values: list, expected: tuple) -> None:
    found = detect_column("amount", pd.Series(values))
    assert (found.kind, found.thousands, found.decimal) == expected


def test_parsed_numbers_keep_their_value_and_count_what_did_not_parse() -> None:
    column = detect_column("price", pd.Series(["$2,928.12", "1,000", "15.5"] * 14))
    numbers, failed = parse_numbers(pd.Series(["$2,928.12", "€ 1,000", "long", None]), column)
    assert numbers.iloc[:2].tolist() == [2928.12, 1000.0]
    assert numbers.iloc[2:].isna().all() and failed == 1


@pytest.mark.parametrize(
    "values",
    [
        [f"{2134 + i % 12:05d}" for i in range(N)],  # zip codes with a leading zero
        [f"00{i % 5}7" for i in range(N)],  # product codes with leading zeros
        ["12 apples", "3 pears", "long"] * 10,  # mostly not numbers
        ["red", "green", "blue"] * 10,
    ],
)
def test_codes_and_words_stay_categorical(values: list) -> None:
    assert kind(values) == "categorical"


def test_years_stay_numbers_never_dates() -> None:
    assert kind([2001 + i % 20 for i in range(N)], "year") == "numeric"
    assert kind([str(2001 + i % 20) for i in range(N)], "year") == "number_text"


@pytest.mark.parametrize(
    "values",
    [
        [f"2023-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(N)],
        [f"{1 + i % 28:02d}/{1 + i % 12:02d}/2021 10:{i % 60:02d}" for i in range(N)],
        [f"Mar {1 + i % 28}, 2020" for i in range(N)],
        list(pd.date_range("2020-01-01", periods=N, freq="D")),
    ],
)
def test_dates_are_found_as_text_and_as_datetimes(values: list) -> None:
    assert kind(values, "signup") == "date"


def test_identifiers_constants_and_empty_columns_are_left_out() -> None:
    assert kind([f"C{1000 + i}" for i in range(N)], "customer") == "id"
    assert kind(list(range(N)), "row") == "id"  # whole numbers numbering the rows
    assert kind(list(np.random.default_rng(0).permutation(10_000)[:N]), "customer_id") == "id"
    assert kind(list(np.random.default_rng(0).permutation(10_000)[:N]), "visits") == "numeric"
    assert kind([f"C{i}" for i in range(10)], "customer") == "categorical"  # too few rows to tell
    assert kind(["same"] * N) == "constant"
    assert kind([np.nan] * N) == "empty"
    assert kind(["a long free text note number " + str(i) for i in range(N)], "notes") == "text"


def test_the_schema_parses_new_data_the_way_it_typed_the_training_rows() -> None:
    train = pd.DataFrame({
        "id": [f"C{i:04d}" for i in range(N)],
        "price": [f"${1000 + 37 * i:,}.50" for i in range(N)],
        "signup": [f"2023-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(N)],
        "constant": ["x"] * N,
        "colour": ["red", "blue"] * (N // 2),
    })  # fmt: skip
    schema = learn_schema(train)
    assert [t.kind for t in schema.types] == ["id", "number_text", "date", "constant", "categorical"]
    assert schema.raw_names == ["price", "signup", "colour"]
    assert schema.names == ["price", "signup.year", "signup.month", "signup.day_of_week", "signup.days", "colour"]
    new = pd.DataFrame({"price": ["$2,000.25", "oops"], "signup": ["2024-02-29", "never"], "colour": ["red", "pink"]})
    frame = apply_schema(new, schema)
    assert frame["price"].tolist()[0] == 2000.25 and np.isnan(frame["price"].iloc[1])
    assert frame.loc[0, ["signup.year", "signup.month", "signup.day_of_week"]].tolist() == [2024.0, 2.0, 3.0]
    assert frame.iloc[1].isna().tolist() == [True, True, True, True, True, True]
    assert [line.split(":")[0] for line in typing_notes(schema.types)] == [
        "columns left out as identifiers", "columns left out as constant", "columns of numbers stored as text, parsed",
        "columns of dates, used as year, month, day of week, (hour,) days since 1970",
    ]  # fmt: skip
    again = type(schema).from_dict(schema.to_dict())
    assert again == schema


def test_a_target_of_numbers_stored_as_text_is_a_regression() -> None:
    rng = np.random.default_rng(0)
    prices = rng.uniform(50_000, 900_000, size=120)
    table = pd.DataFrame({"area": prices / 3000 + rng.normal(size=120), "price": [f"{p:,.0f}" for p in prices]})
    data = prepare_table(table, "price", seed=0)
    assert data.task == "regression"
    assert data.y_train.dtype == np.float64 and data.y_train.min() > 40_000
    digits = table.assign(price=[str(i % 3) for i in range(120)])  # class labels written as digits
    assert prepare_table(digits, "price", seed=0).labels.classes == ("0", "1", "2")


def test_a_semicolon_file_with_decimal_commas_reads_as_its_columns(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    area = rng.uniform(30, 200, 120)
    table = pd.DataFrame({"house id": [f"H{i:05d}" for i in range(120)],
                          "area_m2": [f"{a:.1f}".replace(".", ",") for a in area],
                          "city": rng.choice(["Köln", "Zürich"], 120),
                          "price": [f"{a * 3000 + rng.normal():.2f}".replace(".", ",") for a in area]})  # fmt: skip
    path = tmp_path / "houses.csv"
    table.to_csv(path, sep=";", index=False, encoding="latin-1")
    data = prepare_dataset(str(path), "price")
    assert data.description["file_format"] == {"separator": ";", "encoding": "latin-1"}
    assert [(t["name"], t["kind"]) for t in data.description["column_types"]] == [
        ("house id", "id"), ("area_m2", "number_text"), ("city", "categorical")]  # fmt: skip
    assert data.task == "regression" and set(data.X_train["city"].cat.categories) == {"Köln", "Zürich"}


@pytest.mark.parametrize("suffix", [".csv.gz", ".csv.bz2", ".csv.xz"])
def test_a_compressed_semicolon_file_reads_as_its_columns(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"houses{suffix}"
    pd.DataFrame({"area": [50.5, 72.0, 91.25], "city": ["Köln", "Zürich", "Bern"]}).to_csv(path, sep=";", index=False)
    table = load_table(str(path))
    assert list(table.columns) == ["area", "city"] and table["area"].tolist() == [50.5, 72.0, 91.25]
    assert table.attrs["file_format"]["separator"] == ";"


def test_a_comma_file_whose_quoted_fields_hold_semicolons_stays_a_comma_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    rows = "".join(f'{i},"a; b; c {i % 3}",{i % 2}\n' for i in range(40))
    path.write_text("x,note,label\n" + rows, encoding="utf-8")
    assert load_table(str(path)).columns.tolist() == ["x", "note", "label"]


def test_values_the_model_cannot_use_are_counted_per_raw_column() -> None:
    train = pd.DataFrame({"price": ["$1,000.50", "$20.00"] * 20, "signup": ["2023-01-02", "2023-05-06"] * 20,
                          "colour": ["red", "blue"] * 20, "size": np.arange(40) % 7 * 1.5})  # fmt: skip
    schema = learn_schema(train)
    new = pd.DataFrame({"price": ["$5.00", "oops", None, "n/a"], "signup": ["soon", "2024-01-01", None, "N/A"],
                        "colour": ["pink", "mauve", "red", "?"], "size": ["long", 2.0, None, 3.0]})  # fmt: skip
    assert lost_values(new, schema) == {"price": ("unparsed", 1), "signup": ("unparsed", 1),
                                        "colour": ("unseen", 2), "size": ("unparsed", 1)}  # fmt: skip
    assert lost_values(train, schema) == {}


def test_close_calls_name_the_flag_that_changes_them() -> None:
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"x": rng.normal(size=150), "y": np.arange(150) % 30})  # 30 classes coded as integers
    data = prepare_table(table, "y", seed=0)
    notes = close_calls(RunConfig(task="auto"), data)
    assert data.task == "regression" and "pass --task classification" in notes[0]
    assert "only 30 test rows" in notes[1] and "--cv 5" in notes[1]
    assert close_calls(RunConfig(task="regression", cv=3), data) == [notes[1].split(", pass --cv")[0]]
    forced = prepare_table(table, "y", task="classification", seed=0)
    assert forced.task == "classification" and len(forced.labels.classes) == 30


def test_the_user_decides_where_guessing_is_unsafe() -> None:
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"zip": [f"{i % 12:05d}" for i in range(120)], "code": [str(i % 9) for i in range(120)],
                          "noise": rng.normal(size=120), "when": ["2020-01-0" + str(1 + i % 9) for i in range(120)],
                          "y": rng.normal(size=120)})  # fmt: skip
    kinds = dict(column_kinds(["code=categorical", "when=categorical"], ["noise"], ["zip"]))
    data = prepare_table(table, "y", seed=0, kinds=kinds)
    assert [(t["name"], t["kind"], t["reason"]) for t in data.description["column_types"]] == [
        ("zip", "id", "--id"), ("code", "categorical", "--types categorical"), ("noise", "dropped", "--drop"),
        ("when", "categorical", "--types categorical")]  # fmt: skip
    numbers = prepare_table(table, "y", seed=0, kinds={"zip": "numeric", "noise": "drop"})
    assert numbers.X_train["zip"].dtype == np.float64 and "noise" not in numbers.X_train
    with pytest.raises(DataError, match=r"\['nope'\] that are not features"):
        prepare_table(table, "y", kinds={"nope": "drop"})
    with pytest.raises(ConfigError, match="must be COL=KIND"):
        column_kinds(["zip"], None, None)
    with pytest.raises(ConfigError, match="more than one kind"):
        column_kinds(["zip=numeric"], ["zip"], None)
    with pytest.raises(ConfigError, match="unknown: use one of"):
        RunConfig(column_kinds=(("zip", "colour"),))
    as_text = prepare_table(table, "y", seed=0, kinds={"code": "text"})
    assert [name for name in as_text.X_train if name.startswith("code.")][:2] == ["code.length", "code.words"]
    assert RunConfig.from_dict(RunConfig(column_kinds=(("zip", "id"),)).to_dict()).column_kinds == (("zip", "id"),)


def test_free_text_becomes_length_words_and_counts_of_its_frequent_words_the_same_way_for_new_rows() -> None:
    rng = np.random.default_rng(0)
    words = ["late", "refund", "great", "service", "broken", "app", "slow", "thanks", "cancel", "price"]
    notes = [" ".join(rng.choice(words, 5)) + f" ticket {i}" for i in range(N)]
    train = pd.DataFrame({"notes": notes, "colour": ["red", "blue"] * (N // 2)})
    assert kind(notes, "notes") == "text"
    assert kind(["red", "dark red", "light blue"] * 20, "colour") == "categorical"  # few levels: categories
    schema = learn_schema(train)
    # "ticket" is in every text (filler) and each number in one (too rare): neither is counted.
    assert schema.names == ["notes.length", "notes.words", *(f"notes.{w}" for w in sorted(words)), "colour"]
    new_text = "Refund refund please, the app is slow"  # case folded; unknown words ignored
    frame = apply_schema(pd.DataFrame({"notes": [notes[0], None, new_text], "colour": ["red"] * 3}), schema)
    again = apply_schema(train.head(1), schema)
    assert frame.iloc[0].tolist() == again.iloc[0].tolist()  # the same text, the same numbers
    assert frame.loc[0, "notes.words"] == 7 and frame.iloc[1, :12].isna().all()
    assert frame.loc[2, ["notes.refund", "notes.app", "notes.slow", "notes.late"]].tolist() == [2, 1, 1, 0]
    rare = pd.DataFrame({"notes": ["alpha beta gamma", "delta epsilon zeta", "eta theta iota", None]})
    assert learn_schema(rare).names == ["notes.length", "notes.words"]  # no word in enough texts: no vocabulary


def test_strings_that_mean_no_value_are_missing_to_numbers_and_dates() -> None:
    nulls = ["N/A", "NA", "n/a", "null", "NULL", "None", "-", "--", "?", "missing", "", " Missing "]
    numbers = [f"{i * 1.25:.2f}" if i % 7 else nulls[i % len(nulls)] for i in range(N * 3)]  # 15% null strings
    found = detect_column("amount", pd.Series(numbers))
    assert found.kind == "number_text"
    parsed, failed = parse_numbers(pd.Series(["12.50", *nulls, "twelve"]), found)
    assert parsed.iloc[0] == 12.5 and parsed.iloc[1:].isna().all() and failed == 1  # only "twelve" counts
    dates = [f"2023-{1 + i % 12:02d}-{1 + i % 28:02d}" if i % 7 else "N/A" for i in range(N * 3)]
    typed = detect_column("signup", pd.Series(dates))
    assert typed.kind == "date" and parse_dates(pd.Series(["2023-01-02", "-", "null"]), typed).notna().sum() == 1
    assert kind(["N/A", "-", None] * 20) == "empty"
    assert {value.strip().lower() for value in nulls} <= set(NULL_STRINGS)


def test_a_categorical_column_keeps_null_strings_as_levels() -> None:
    signs = ["+", "-", "+"] * 20  # "-" is a level here: as a missing value it would leave a constant
    assert kind(signs, "result") == "categorical"
    schema = learn_schema(pd.DataFrame({"result": signs, "plan": ["pro", "?", "basic"] * 20}))
    assert schema.columns[0].categories == ("+", "-") and "?" in schema.columns[1].categories
    zips = [f"{2134 + i % 12:05d}" if i % 5 else "N/A" for i in range(N)]
    assert kind(zips, "zip") == "categorical"  # leading zeros: still codes, not numbers


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["(4,066.35)", "3,184.81", "(12.00)", "1,000.50"] * 10, [-4066.35, 3184.81, -12.0, 1000.5]),
        (["-$5.00", "$-7.25", "$(1,200.00)", "$3.10"] * 10, [-5.0, -7.25, -1200.0, 3.1]),
        (["(4.066,35) €", "3.184,81 €", "(0,50) €", "12,00 €"] * 10, [-4066.35, 3184.81, -0.5, 12.0]),
    ],
)
def test_accounting_negatives_are_negative_numbers(values: list, expected: list) -> None:
    found = detect_column("balance", pd.Series(values))
    assert found.kind == "number_text"
    numbers, failed = parse_numbers(pd.Series(values[:4]), found)
    assert numbers.tolist() == expected and failed == 0


def _dates_of(values: list) -> tuple[ColumnType, list[str]]:
    typed = detect_column("signup", pd.Series(values))
    return typed, parse_dates(pd.Series(values), typed).dt.strftime("%Y-%m-%d").tolist()


def test_day_first_dates_are_decided_once_per_column_and_parsed_alike() -> None:
    days = pd.Series(pd.date_range("2022-01-01", periods=N * 3, freq="5D"))
    typed, parsed = _dates_of(days.dt.strftime("%d/%m/%Y").tolist())
    assert (typed.kind, typed.day_first, typed.date_format) == ("date", True, "%d/%m/%Y")
    assert parsed == days.dt.strftime("%Y-%m-%d").tolist()  # "11/10/2022" is 11 October, like "25/10/2022"
    typed, parsed = _dates_of(days.dt.strftime("%d.%m.%Y %H:%M").tolist())
    assert (typed.day_first, typed.date_format) == (True, "%d.%m.%Y %H:%M")
    assert parsed == days.dt.strftime("%Y-%m-%d").tolist()
    # Predict parses new rows with the training rows' decision, even where no day is over 12.
    schema = learn_schema(pd.DataFrame({"signup": days.dt.strftime("%d/%m/%Y")}))
    new = apply_schema(pd.DataFrame({"signup": ["03/04/2021", "N/A", "2021-04-05"]}), schema)
    assert new["signup.month"].tolist()[0] == 4.0 and np.isnan(new["signup.month"].iloc[1])
    assert new["signup.month"].iloc[2] == 4.0  # ISO dates are never day first
    saved = schema.to_dict()  # a schema saved before dates had day_first and date_format still loads
    saved["types"] = [{"name": "signup", "kind": "date", "reason": "dates stored as text", "thousands": "",
                       "decimal": "."}]  # fmt: skip
    assert type(schema).from_dict(saved).types[0].day_first is False


@pytest.mark.parametrize(
    ("values", "day_first", "first"),
    [
        (["03/04/2021", "01/02/2021", "12/11/2021"] * 14, False, "2021-03-04"),  # no day over 12: month first (US)
        (["03/04/2021", "01/25/2021"] * 20, False, "2021-03-04"),  # a second number over 12: month first
        (["2021-03-04", "2021-12-01"] * 20, False, "2021-03-04"),  # ISO: never day first
        (["03.04.2021", "01.02.2021"] * 20, True, "2021-04-03"),  # dots and no clue: day first (Europe)
        (["Mar 4, 2021", "Dec 1, 2021"] * 20, False, "2021-03-04"),
    ],
)
def test_ambiguous_and_month_first_dates_read_as_documented(values: list, day_first: bool, first: str) -> None:
    typed, parsed = _dates_of(values)
    assert typed.kind == "date" and typed.day_first == day_first and parsed[0] == first


def test_a_column_that_is_mostly_numbers_stays_categorical_with_a_warning_naming_the_flag() -> None:
    values = [f"{i * 1.5:.1f}" for i in range(80)] + ["long", "short", "tbd"] * 7  # 79% numbers
    typed = detect_column("size", pd.Series(values))
    assert typed.kind == "categorical" and "79% parse" in typed.reason
    assert typing_notes((typed,)) == [f"warning: column 'size' is {typed.reason}"]
    assert "--types size=numeric" in typed.reason
    parsed = learn_schema(pd.DataFrame({"size": values}), {"size": "numeric"})
    assert parsed.types[0].kind == "number_text"
    assert detect_column("zip", pd.Series(["02134", "10001"] * 30 + ["n/a", "unknown"] * 10)).reason == (
        "text or categories"
    )  # codes with leading zeros are never close to numbers
