"""Read a table from a CSV or Parquet file, or from a dataset bundled with scikit-learn.

Every way the source can be unusable (missing, unreadable, empty) ends in one :class:`DataError`
that names the source and the fix, so the CLI never shows a traceback for a bad path.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import lzma
from pathlib import Path

import pandas as pd

from automl.data.tensors import BUNDLED_IMAGES
from automl.errors import DataError

SKLEARN_PREFIX = "sklearn:"
# Datasets that ship inside scikit-learn (no download), with whether they are classification.
BUNDLED = {
    "breast_cancer": "load_breast_cancer",
    "iris": "load_iris",
    "wine": "load_wine",
    "digits": "load_digits",
    "diabetes": "load_diabetes",
}
DEFAULT_DATASET = "sklearn:breast_cancer"
# Separators a delimited file may use (detected from its first lines).
SEPARATORS = ",;\t|"
SNIFF_CHARS = 64 * 1024
COMPRESSED = frozenset({".gz", ".bz2", ".zip", ".xz", ".zst"})
# How the separator sniffer reads the first lines of a compressed file (the others keep the default separator).
TEXT_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
BUNDLED_TARGET = "target"


def load_table(source: str) -> pd.DataFrame:
    """Load ``source`` (a path ending in .csv/.parquet, or ``sklearn:NAME``) as a DataFrame."""
    if source.startswith(SKLEARN_PREFIX):
        return _load_bundled(source[len(SKLEARN_PREFIX) :])
    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(f"data file '{source}' does not exist: check the path")
    if path.is_dir():
        raise DataError(f"data path '{source}' is a directory: pass a .csv or .parquet file (a folder of images "
                        "trains with automl run --data FOLDER)")  # fmt: skip
    kind = _file_kind(path)
    try:
        if kind == "parquet":
            frame = pd.read_parquet(path)
        elif kind in {"csv", "tsv"}:
            frame = _read_delimited(path, "\t" if kind == "tsv" else ",")
        else:
            raise DataError(f"data file '{source}' has an unknown type: use a .csv, .tsv or .parquet "
                            "table, an .npz file of arrays X and y, or a folder of images")  # fmt: skip
    except DataError:
        raise
    except pd.errors.EmptyDataError:
        raise DataError(f"data file '{source}' is empty: it needs a header row and data rows") from None
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DataError(
            f"data file '{source}' cannot be read ({first_line}): check it is a valid {kind} file"
        ) from None
    if frame.shape[1] == 0 or frame.shape[0] == 0:
        raise DataError(f"data file '{source}' has no data rows: it needs a header row and data rows")
    frame.columns = [str(column).strip() for column in frame.columns]
    duplicated = frame.columns[frame.columns.duplicated()].tolist()
    if duplicated:
        raise DataError(f"data file '{source}' repeats the column name(s) {duplicated}: rename them")
    return frame


def _read_delimited(path: Path, default_separator: str) -> pd.DataFrame:
    """Read CSV/TSV with its detected separator, as UTF-8 or else Latin-1 (which every byte sequence decodes as).

    What was detected is kept in ``frame.attrs["file_format"]`` for dataset.json and the console.
    """
    try:
        return _read_encoded(path, default_separator, "utf-8")
    except UnicodeDecodeError:
        return _read_encoded(path, default_separator, "latin-1")


def _read_encoded(path: Path, default_separator: str, encoding: str) -> pd.DataFrame:
    separator = _sniff_separator(path, encoding, default_separator)
    frame = pd.read_csv(path, sep=separator, encoding=encoding)
    frame.attrs["file_format"] = {"separator": separator, "encoding": encoding}
    return frame


def _sniff_separator(path: Path, encoding: str, default: str) -> str:
    """The separator of the file's first lines, when it is another of :data:`SEPARATORS` than ``default``.

    Another one is taken only when it splits the header into more columns: a comma file whose quoted
    fields hold semicolons stays a comma file. Zip and Zstandard files keep the default.
    """
    suffix = path.suffix.lower()
    opener = TEXT_OPENERS.get(suffix) if suffix in COMPRESSED else open
    if opener is None:
        return default
    try:
        with opener(path, "rt", encoding=encoding, newline="") as handle:
            sample = handle.read(SNIFF_CHARS)
    except (OSError, EOFError):  # a damaged archive: pandas' read names it
        return default
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=SEPARATORS).delimiter
    except csv.Error:
        return default
    header = sample.splitlines()[0] if sample else ""
    return sniffed if header.count(sniffed) > header.count(default) else default


def _file_kind(path: Path) -> str:
    """The table format from the file name; compressed CSVs (``.csv.gz``) count as CSV."""
    suffixes = [suffix.lower() for suffix in path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSED:
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    return {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}.get(last, "unknown")


def _load_bundled(name: str) -> pd.DataFrame:
    """Load one of scikit-learn's bundled datasets, with class names as labels where it has them."""
    if name not in BUNDLED:
        raise DataError(
            f"unknown bundled dataset 'sklearn:{name}': choose one of "
            + ", ".join(f"sklearn:{known}" for known in (*BUNDLED, *BUNDLED_IMAGES))
        )
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, BUNDLED[name])(as_frame=True)
    frame = bunch.frame.copy()
    if "target" in frame.columns and hasattr(bunch, "target_names") and name != "diabetes":
        names = list(bunch.target_names)
        frame[BUNDLED_TARGET] = [str(names[int(code)]) for code in frame["target"]]
    return frame
