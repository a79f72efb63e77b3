"""Reading: a CSV, Parquet or compressed file (or stdin) → a table → one validated, time-sorted `Series`.

The layouts of many series (long `--id-col`, wide `--wide`) read all their series at once in
collection.py, on the table parsed here (`parse_table`); a series with a problem is read alone by
`to_series`, so its message is the one a file of that series alone gives.
"""

from __future__ import annotations

import io
import sys
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from rnncast import timeindex
from rnncast.choices import FILL_POLICIES
from rnncast.errors import DataError, InputError, UsageError
from rnncast.settings import ReadOptions

KEEP_BLANKS = "keep"  # not a --fill: blanks left for the caller, who fills them later (newdata.fill_like_model)
MAX_MISSING_FRAC = 0.2  # refuse to invent more than this share of any column
# The network computes in float32; leave headroom for differences (residuals, window levels).
MAX_ABS_VALUE = float(np.finfo(np.float32).max) / 4
_BLANK_WORDS = ("nan", "na", "n/a", "null", "none", "-")  # cells that mean "no value", not text


@dataclass
class Series:
    """A validated, time-sorted table of floats: target columns first, then features."""

    values: np.ndarray  # (T, F) float64
    index: pd.Index  # DatetimeIndex, or integer steps
    targets: list[str]
    features: list[str]
    time_col: str | None
    freq: str | None  # pandas frequency string, None for integer steps or irregular time
    time_parts: list[str] = field(default_factory=list)  # CSV columns the time came from
    notes: list[str] = field(default_factory=list)  # warnings for the user (stderr)
    zone: str | None = None  # the zone time stamps are shown in (the index holds naive UTC)
    time_read: dict = field(default_factory=dict)  # how time was read, blanks filled: for new data (ReadOptions)

    @property
    def columns(self) -> list[str]:
        return self.targets + self.features

    @property
    def n_targets(self) -> int:
        return len(self.targets)

    def __len__(self) -> int:
        return len(self.values)

    def head(self, rows: int) -> Series:
        """The first `rows` rows: what was known at a forecast origin (notes are not repeated)."""
        return replace(self, values=self.values[:rows], index=self.index[:rows], notes=[])


PARQUET_SUFFIXES = (".parquet", ".pq")
COMPRESSION_SUFFIXES = {".gz": "gzip", ".zst": "zstd"}  # compressed CSV, read as it is: pandas' names


def file_kind(path: str | Path) -> str:
    """How a data file is read, from its name: 'parquet', 'gzip' or 'zstd' (compressed CSV), else 'csv'."""
    name = str(path).lower()
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    return next((kind for suffix, kind in COMPRESSION_SUFFIXES.items() if name.endswith(suffix)), "csv")


def read_table(source: str | Path | IO[str]) -> pd.DataFrame:
    """Read a data file into a DataFrame: CSV from a path, '-' (stdin) or an open text file; a path
    ending in .parquet or .pq is Parquet, one ending in .gz or .zst compressed CSV (`file_kind`)."""
    if isinstance(source, (str, Path)) and str(source) == "-":
        source = io.StringIO(sys.stdin.read())
    name = "stdin" if not isinstance(source, (str, Path)) else str(source)
    kind = file_kind(source) if isinstance(source, (str, Path)) else "csv"
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise InputError(f"{name}: no such file; check the path")
        if path.is_dir():
            raise InputError(f"{name} is a directory; give the path of a CSV file")
    if kind == "parquet":
        frame = _read_parquet(Path(source), name)
        header = [str(c) for c in frame.columns]
    else:
        frame, header = _read_csv(source, name, kind)
    if frame.empty:
        raise DataError(f"{name} has a header but no data rows; add rows")
    if not isinstance(frame.index, pd.RangeIndex):  # pandas took the extra first field of each row as an index
        raise DataError(
            f"{name}: the first data row has more fields than the header's {len(header)} names; "
            "name every column or remove the extra fields"
        )
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if duplicated:
        raise DataError(f"{name} has duplicate column names ({', '.join(duplicated)}); rename them")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _read_csv(source: str | Path | IO[str], name: str, kind: str) -> tuple[pd.DataFrame, list[str]]:
    """A CSV (plain, gzip or zstd) and its column names as written."""
    try:
        sep = _sniff_delimiter(source, name, kind)
        with warnings.catch_warnings():  # a column of numbers and text: read as text, and refused by name later
            warnings.simplefilter("ignore", pd.errors.DtypeWarning)
            frame = pd.read_csv(source, sep=sep, skipinitialspace=True, encoding="utf-8-sig", compression=_pandas(kind))
        return frame, _header(source, sep, kind)
    except _decompression_errors(kind) as exc:
        raise DataError(f"{name} is not valid {kind} data ({exc or type(exc).__name__}); check the file") from exc
    except PermissionError as exc:
        raise InputError(f"{name}: cannot read ({exc.strerror}); check its permissions") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"{name} is not UTF-8 text; save it as UTF-8 CSV") from exc
    except OSError as exc:
        raise InputError(f"{name}: cannot read ({exc}); check the path") from exc
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{name} is empty; give a CSV with a header and data rows") from exc
    except pd.errors.ParserError as exc:
        detail = str(exc).strip().splitlines()[-1]
        raise DataError(f"{name} is not a readable CSV ({detail}); check the delimiter and quoting") from exc


def _pandas(kind: str) -> str | None:
    return kind if kind in ("gzip", "zstd") else None


def _decompression_errors(kind: str) -> tuple[type[BaseException], ...]:
    """What a damaged compressed file raises while it is read (none for plain CSV)."""
    if kind == "gzip":
        import gzip
        import zlib

        return gzip.BadGzipFile, EOFError, zlib.error
    if kind == "zstd":
        import zstandard

        return zstandard.ZstdError, EOFError
    return ()


def _open_text(path: str | Path, kind: str) -> IO[str]:
    """A data file's text, decompressed where it is compressed."""
    if kind == "gzip":
        import gzip

        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    if kind == "zstd":
        import zstandard

        return zstandard.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def rows_inside(path: str | Path) -> int | None:
    """The data rows of a Parquet file (from its footer) or a compressed CSV (lines after the header);
    None when the file cannot be read."""
    kind = file_kind(path)
    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).metadata.num_rows
        lines, last = 0, "\n"
        with _open_text(path, kind) as f:
            while chunk := f.read(1 << 20):
                lines, last = lines + chunk.count("\n"), chunk[-1]
        return max(lines + (last != "\n") - 1, 0)
    except Exception:  # a damaged file: the run itself says what is wrong with it
        return None


def _read_parquet(path: Path, name: str) -> pd.DataFrame:
    """A Parquet file's table: its date and time columns stay dates (zoned ones are made UTC later)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path, page_checksum_verification=True)  # where the writer stored checksums
        names = [str(c).strip() for c in table.column_names]
        duplicated = sorted({c for c in names if names.count(c) > 1})
        if duplicated:
            raise DataError(f"{name} has duplicate column names ({', '.join(duplicated)}); rename them")
        frame = table.to_pandas(date_as_object=False)
    except PermissionError as exc:
        raise InputError(f"{name}: cannot read ({exc.strerror}); check its permissions") from exc
    except (pa.ArrowException, OSError, ValueError, TypeError) as exc:
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DataError(f"{name} is not a readable Parquet file ({detail}); check the file or write it again") from exc
    if not isinstance(frame.index, pd.RangeIndex):  # pandas wrote its index (a DatetimeIndex, say): a column again
        frame = frame.reset_index()
    return frame


def _header(source: str | Path | IO[str], sep: str, kind: str = "csv") -> list[str]:
    """The column names as written (pandas renames a repeated `v` to `v.1`)."""
    if not isinstance(source, (str, Path)):
        source.seek(0)
    raw = pd.read_csv(
        source,
        sep=sep,
        header=None,
        nrows=1,
        dtype=str,
        encoding="utf-8-sig",
        skipinitialspace=True,
        compression=_pandas(kind),
    )
    return [c.strip() for c in raw.iloc[0].tolist() if isinstance(c, str)]


def _sniff_delimiter(source: str | Path | IO[str], name: str, kind: str = "csv") -> str:
    """The delimiter of the first lines: comma, semicolon, tab or pipe."""
    import csv

    if isinstance(source, (str, Path)):
        with _open_text(source, kind) as f:
            head = f.read(64 * 1024)
    else:
        head = source.read(64 * 1024)
        source.seek(0)
    if "\x00" in head:  # valid UTF-8 can still be binary: text files hold no NUL bytes
        raise DataError(f"{name} is a binary file (it holds NUL bytes), not CSV text; give a CSV file")
    lines = head.splitlines()[:20]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def read_series(source: str | Path | IO[str], options: ReadOptions) -> Series:
    """Read a CSV and return the validated series the options describe."""
    return to_series(read_table(source), options)


@dataclass
class Table:
    """A file's columns read once: its time index, the chosen columns as floats, and what was noted."""

    numbers: pd.DataFrame  # targets then features, float64, on the time index (unsorted)
    time_col: str | None
    time_parts: list[str]
    targets: list[str]
    features: list[str]
    notes: list[str]
    zone: str | None = None  # the zone stamps are shown in (the index holds naive UTC)
    date_format: str | None = None  # the format the dates were read with, when given or decided

    def time_read(self, options: ReadOptions) -> dict:
        """How the time was read and the blanks filled, for new data (ReadOptions fields): `Series.time_read`."""
        return {"date_format": self.date_format, "freq": options.freq, "weekmask": options.weekmask, "tz": options.tz,
                "fill": options.fill}  # fmt: skip


def parse_table(frame: pd.DataFrame, options: ReadOptions) -> Table:
    """Pick time, target and feature columns and read them: the time parsed, the values as floats."""
    assert options.fill in (*FILL_POLICIES, KEEP_BLANKS), options.fill  # settings.validate refused it
    notes: list[str] = []
    time = timeindex.time_index(frame, options, notes)
    index, time_col, time_parts = time.index, time.name, time.parts
    used = set(time_parts)
    targets = _choose_targets(frame, options, used)
    features = list(options.features)
    for col in features:
        timeindex.require_column(frame, col, "--features")
        if col in targets:
            raise UsageError(f"column {col!r} is both a target and a feature; drop it from --features")
    numbers = pd.DataFrame({c: _as_float(frame[c], c) for c in targets + features})
    numbers.index = index
    return Table(numbers, time_col, time_parts, targets, features, notes, time.zone, time.date_format)


def to_series(frame: pd.DataFrame, options: ReadOptions) -> Series:
    """Pick time, target and feature columns; sort by time; infer the frequency; fill gaps."""
    table = parse_table(frame, options)
    notes, used = table.notes, set(table.time_parts) | set(table.numbers.columns)
    numbers = _sorted_unique(table.numbers, table.time_col, notes, _id_candidate(frame, used), table.zone)
    numbers, freq = timeindex.regular(numbers, notes, options.strict, options.freq, options.weekmask, table.zone)
    numbers = fill_missing(numbers, options.fill, notes, table.zone, freq)
    _check_range(numbers, options.fill == KEEP_BLANKS, table.zone, freq)
    return Series(
        values=numbers.to_numpy(dtype=np.float64),
        index=numbers.index,
        targets=table.targets,
        features=table.features,
        time_col=table.time_col,
        freq=freq,
        time_parts=table.time_parts,
        notes=notes,
        zone=table.zone,
        time_read=table.time_read(options),
    )


def _choose_targets(frame: pd.DataFrame, options: ReadOptions, used: set[str]) -> list[str]:
    if options.targets:
        for col in options.targets:
            timeindex.require_column(frame, col, "--target")
        if len(set(options.targets)) != len(options.targets):
            raise UsageError("the same --target is given twice; name each target once")
        return list(options.targets)
    numeric = [c for c in frame.columns if c not in used and c not in options.features and _is_numbers(frame[c])]
    if len(numeric) == 1:
        return numeric
    if not numeric:
        found = [
            f"{c!r} holds {_first_non_number(frame[c])}"
            for c in frame.columns
            if c not in used and c not in options.features
        ]
        raise DataError(
            f"no numeric column to forecast ({'; '.join(found) or 'every column is the time or a --features column'}); "
            "check the delimiter, fix the values or pass --target"
        )
    raise UsageError(f"several numeric columns ({', '.join(numeric)}); choose one or more with --target")


def _is_numbers(col: pd.Series) -> bool:
    """Numbers, possibly written as text: quoted, with thousands separators or a decimal comma."""
    if pd.api.types.is_bool_dtype(col):
        return False
    if pd.api.types.is_numeric_dtype(col):
        return True
    text = _number_text(col)
    text = text[text != ""]
    return not text.empty and _text_to_float(text).notna().all()


def _number_text(col: pd.Series) -> pd.Series:
    """The cells of a text column, stripped, with blanks and the usual words for 'missing' as ''."""
    text = col.astype(str).str.strip().where(col.notna(), "")
    return text.where(~text.str.lower().isin(_BLANK_WORDS), "")


def _text_to_float(text: pd.Series) -> pd.Series:
    """Parse number text column-wide: `1,234.5` (thousands commas) or `1.234,5` / `12,5` (decimal comma)."""
    decimal_comma = text.str.fullmatch(r"[-+]?\d{1,3}(\.\d{3})+,\d+|[-+]?\d+,(\d{1,2}|\d{4,})").any()
    if decimal_comma:
        text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        text = text.str.replace(",", "", regex=False)
    return pd.to_numeric(text, errors="coerce")


def _first_non_number(col: pd.Series) -> str:
    """What a column holds instead of numbers, for error messages: `'abc' at data row 3`."""
    if pd.api.types.is_bool_dtype(col):
        return "true/false values (convert them to 0/1)"
    text = _number_text(col)
    bad = (text != "") & _text_to_float(text).isna()
    if not bad.any():
        return "no values"
    row = int(bad.to_numpy().argmax())
    return f"{text.iloc[row]!r} at data row {row + 1}"


def _as_float(col: pd.Series, name: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(col):
        raise DataError(f"column {name!r} holds true/false values, not numbers; convert it to 0/1")
    if pd.api.types.is_numeric_dtype(col):
        return col.astype(np.float64)
    text = _number_text(col)
    numbers = _text_to_float(text[text != ""]).reindex(col.index)
    bad = numbers.isna() & (text != "")
    if bad.any():
        row = bad.to_numpy().argmax()
        value = text.iloc[row]
        hint = "convert it to 0/1" if value.lower() in ("true", "false", "yes", "no") else "fix the value"
        raise DataError(
            f"column {name!r} is not numeric: {value!r} at data row {row + 1}; {hint} or choose another column"
        )
    return numbers.astype(np.float64)


def _id_candidate(frame: pd.DataFrame, used: set[str]) -> str | None:
    """A text column beside the time that varies: when time stamps repeat, probably the series' ids."""
    for col in frame.columns:
        if col not in used and not pd.api.types.is_numeric_dtype(frame[col]) and frame[col].nunique() > 1:
            return col
    return None


def _sorted_unique(
    numbers: pd.DataFrame, time_col: str | None, notes: list[str], id_hint: str | None = None, zone: str | None = None
):
    if numbers.index.hasnans:
        row = int(np.argmax(pd.isna(numbers.index))) + 1
        raise DataError(f"time column {time_col!r} is blank at data row {row}; fill it or drop that row")
    if not numbers.index.is_monotonic_increasing:
        notes.append("rows were not in time order; sorted by time")
        numbers = numbers.sort_index(kind="stable")
    dup = numbers.index.duplicated()
    if dup.any():
        stamp = timeindex.shown_stamp(numbers.index[dup][0], zone)  # as the file writes it
        if id_hint is not None:  # several series in one long file
            raise DataError(
                f"duplicate time stamp {stamp} in {time_col!r}, beside the text column {id_hint!r}: if each of its "
                f"values is a series, add --id-col {id_hint}; else remove or aggregate repeated rows"
            )
        clock = isinstance(numbers.index, pd.DatetimeIndex) and "T" in stamp and zone is None  # a clock change?
        local = "; if the stamps are local time across a daylight-saving change, pass --tz ZONE" if clock else ""
        raise DataError(f"duplicate time stamp {stamp} in {time_col!r}; remove or aggregate repeated rows{local}")
    return numbers


class FillRefused(DataError):
    """Blanks the --fill policy refuses: `what` is wrong, `fix` names --fill (commands that read data for a saved
    model have no --fill: they fill as fit did, and say so instead)."""

    def __init__(self, what: str, fix: str | None = None):
        if fix is None:  # the whole message again, as `collection` re-raises it with the series' id before it
            what, _, fix = what.rpartition("; ")
        super().__init__(f"{what}; {fix}")
        self.what = what


def fill_missing(
    numbers: pd.DataFrame, policy: str, notes: list[str], zone: str | None = None, freq: str | None = None
) -> pd.DataFrame:
    """`numbers` with its blanks filled per `policy`; a refusal names the first blank's stamp as the file
    writes it (in the data's `zone`, at steps of `freq`)."""
    missing = numbers.isna().sum()
    if not missing.any() or policy == KEEP_BLANKS:
        return numbers
    worst = missing.idxmax()
    if policy == "error":
        row = timeindex.shown_stamp(numbers.index[numbers[worst].isna()][0], zone, freq)
        raise FillRefused(f"column {worst!r} is blank at {row}", "fill it or use --fill interpolate|ffill|drop")
    if policy == "zero":  # blanks and missing periods mean nothing happened (a shop closed, no sales)
        notes.append(f"filled {int(missing.sum())} blank value(s) with 0 (--fill zero)")
        return numbers.fillna(0.0)
    if policy == "drop":
        notes.append(f"dropped {int(numbers.isna().any(axis=1).sum())} row(s) with blank values")
        return numbers.dropna()
    frac = missing[worst] / len(numbers)
    if frac > MAX_MISSING_FRAC:
        raise FillRefused(
            f"column {worst!r} is {frac:.0%} blank, too much to fill", "clean the data or use --fill drop"
        )
    filled = numbers.interpolate(limit_direction="both") if policy == "interpolate" else numbers.ffill().bfill()
    notes.append(f"filled {int(missing.sum())} blank value(s) by {policy}")
    return filled


def _check_range(numbers: pd.DataFrame, blanks: bool = False, zone: str | None = None, freq: str | None = None):
    """Refuse ±inf, and values too large for the network's float32 arithmetic (`blanks`: NaN left to fill),
    naming the stamp as the file writes it (`fill_missing`)."""
    values = numbers.to_numpy(dtype=np.float64)
    bad = np.isinf(values) if blanks else ~np.isfinite(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(
            f"column {numbers.columns[col]!r} has an infinite value at "
            f"{timeindex.shown_stamp(numbers.index[row], zone, freq)}; remove or replace it"
        )
    bad = np.abs(values) > MAX_ABS_VALUE
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(
            f"column {numbers.columns[col]!r} has {values[row, col]:.3g} at "
            f"{timeindex.shown_stamp(numbers.index[row], zone, freq)}, too large for "
            f"float32 arithmetic (limit {MAX_ABS_VALUE:.1e}); rescale the column, e.g. divide it by 1e30"
        )
