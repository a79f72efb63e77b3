"""Reading: a CSV (or stdin) in one of three layouts → validated, time-sorted series, each with its id.

One series, long data (`--id-col`) or wide data (`--wide`) all become a `Collection`: a list of
`Series` with their ids; a single series is the case of one id.
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
from rnncast.settings import ONE, Layout, ReadOptions

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
    time_read: dict = field(default_factory=dict)  # how the time was read, for new data (ReadOptions fields)

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
class _Table:
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
        """How the time was read, for new data (ReadOptions fields): `Series.time_read`."""
        return {"date_format": self.date_format, "freq": options.freq, "weekmask": options.weekmask, "tz": options.tz}


def _table(frame: pd.DataFrame, options: ReadOptions) -> _Table:
    """Pick time, target and feature columns and read them: the time parsed, the values as floats."""
    assert options.fill in FILL_POLICIES, options.fill  # settings.validate refused it
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
    return _Table(numbers, time_col, time_parts, targets, features, notes, time.zone, time.date_format)


def to_series(frame: pd.DataFrame, options: ReadOptions) -> Series:
    """Pick time, target and feature columns; sort by time; infer the frequency; fill gaps."""
    table = _table(frame, options)
    notes, used = table.notes, set(table.time_parts) | set(table.numbers.columns)
    numbers = _sorted_unique(table.numbers, table.time_col, notes, _id_candidate(frame, used), table.zone)
    numbers, freq = timeindex.regular(numbers, notes, options.strict, options.freq, options.weekmask, table.zone)
    numbers = _fill_missing(numbers, options.fill, notes)
    _check_range(numbers)
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
        stamp = timeindex.stamp(timeindex.shown(numbers.index[dup], zone)[0])  # as the file writes it
        if id_hint is not None:  # several series in one long file
            raise DataError(
                f"duplicate time stamp {stamp} in {time_col!r}, beside the text column {id_hint!r}: if each of its "
                f"values is a series, add --id-col {id_hint}; else remove or aggregate repeated rows"
            )
        clock = isinstance(numbers.index, pd.DatetimeIndex) and "T" in stamp and zone is None  # a clock change?
        local = "; if the stamps are local time across a daylight-saving change, pass --tz ZONE" if clock else ""
        raise DataError(f"duplicate time stamp {stamp} in {time_col!r}; remove or aggregate repeated rows{local}")
    return numbers


def _fill_missing(numbers: pd.DataFrame, policy: str, notes: list[str]) -> pd.DataFrame:
    missing = numbers.isna().sum()
    if not missing.any():
        return numbers
    worst = missing.idxmax()
    if policy == "error":
        row = numbers.index[numbers[worst].isna()][0]
        raise DataError(f"column {worst!r} is blank at {row}; fill it or use --fill interpolate|ffill|drop")
    if policy == "zero":  # blanks and missing periods mean nothing happened (a shop closed, no sales)
        notes.append(f"filled {int(missing.sum())} blank value(s) with 0 (--fill zero)")
        return numbers.fillna(0.0)
    if policy == "drop":
        notes.append(f"dropped {int(numbers.isna().any(axis=1).sum())} row(s) with blank values")
        return numbers.dropna()
    frac = missing[worst] / len(numbers)
    if frac > MAX_MISSING_FRAC:
        raise DataError(f"column {worst!r} is {frac:.0%} blank, too much to fill; clean the data or use --fill drop")
    filled = numbers.interpolate(limit_direction="both") if policy == "interpolate" else numbers.ffill().bfill()
    notes.append(f"filled {int(missing.sum())} blank value(s) by {policy}")
    return filled


def _check_range(numbers: pd.DataFrame) -> None:
    """Refuse ±inf, and values too large for the network's float32 arithmetic."""
    values = numbers.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(
            f"column {numbers.columns[col]!r} has an infinite value at {numbers.index[row]}; remove or replace it"
        )
    bad = np.abs(values) > MAX_ABS_VALUE
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(
            f"column {numbers.columns[col]!r} has {values[row, col]:.3g} at {numbers.index[row]}, too large for "
            f"float32 arithmetic (limit {MAX_ABS_VALUE:.1e}); rescale the column, e.g. divide it by 1e30"
        )


# ---------------------------------------------------------------------------- layouts


@dataclass
class Collection:
    """Series read from one file, each with its id; all share columns. One series: the id is ONE."""

    ids: list[str]
    series: list[Series]
    layout: Layout = field(default_factory=Layout)

    def head(self, rows_back: int) -> Collection:
        """Every series without its last `rows_back` rows (what was known `rows_back` steps ago)."""
        return replace(self, series=[s.head(max(len(s) - rows_back, 0)) for s in self.series])


def collection_notes(coll: Collection) -> list[str]:
    """The series' warnings: those every series shares said once, then each series' own, named."""
    shared = set.intersection(*(set(s.notes) for s in coll.series)) if coll.series else set()
    notes = [n for n in coll.series[0].notes if n in shared] if coll.series else []
    for sid, s in zip(coll.ids, coll.series, strict=True):
        notes += [f"series {sid!r}: {n}" for n in s.notes if n not in shared]
    return notes


def read_collection(source: str | Path | IO[str], read: ReadOptions, layout: Layout) -> Collection:
    """Read a file in the layout given: one series, long (`--id-col`) or wide (`--wide`)."""
    return collect(read_table(source), read, layout)


def collect(frame: pd.DataFrame, read: ReadOptions, layout: Layout) -> Collection:
    """The series of a table in the layout given; --future-features are read as the last feature columns."""
    for col in read.future_features:
        timeindex.require_column(frame, col, "--future-features")
    read = replace(read, features=read.features + read.future_features, future_features=())
    if layout.id_col is not None:
        return Collection(*_long(frame, read, layout.id_col), layout)
    if layout.wide:
        return Collection(*_wide(frame, read), layout)
    return Collection([ONE], [to_series(frame, read)], layout)


def _long(frame: pd.DataFrame, read: ReadOptions, id_col: str) -> tuple[list[str], list[Series]]:
    """One series per value of `id_col`, in sorted id order, read and validated all at once.

    The columns are parsed once for the whole file; sorting, repeated stamps, the frequency, gaps,
    blanks and the value range are checked for every series together (`_all_series`). A series with
    a problem is then read on its own (`to_series`), so its message is exactly the one a file of that
    series alone would give, prefixed with its id, and the first such series in id order is named.
    """
    if id_col not in frame.columns:
        raise UsageError(f"--id-col {id_col!r} is not a column; columns are: {', '.join(frame.columns)}")
    if frame[id_col].isna().any():
        row = int(frame[id_col].isna().to_numpy().argmax())
        raise DataError(f"--id-col {id_col!r} is blank at data row {row + 1}; fill it or drop the row")
    codes, keys = pd.factorize(frame[id_col], sort=True)  # the order of groupby(id_col, sort=True)
    ids = [str(k) for k in keys]
    body = frame.drop(columns=id_col)
    rows = _Rows.of(codes, len(ids))

    def alone(s: int) -> Series:
        one = body.iloc[rows.order[rows.starts[s] : rows.starts[s + 1]]].reset_index(drop=True)
        try:
            return to_series(one, read)
        except (DataError, UsageError) as exc:
            raise type(exc)(f"series {ids[s]!r}: {exc}") from None

    if read.tz is not None:  # local stamps are placed at clock changes by their order within one series
        return ids, [alone(s) for s in range(len(ids))]

    def between(lo: int, hi: int) -> pd.DataFrame:  # the rows of series lo .. hi-1
        return body if (lo, hi) == (0, len(ids)) else body[(codes >= lo) & (codes < hi)]

    try:
        table = _table(body, read)
    except (DataError, UsageError):  # a bad value in a column: find the first series that holds it
        lo, hi = 0, len(ids)  # it is one of series lo .. hi-1: halve that range, reading one half (~2 file reads)
        while hi - lo > 1:
            half = (lo + hi) // 2
            try:
                _table(between(lo, half), read)
                lo = half
            except (DataError, UsageError):
                hi = half
        if lo:  # a problem of an earlier series' own is named first, as one by one
            _all_series(_table(between(0, lo), read), _Rows.of(codes[codes < lo], lo), read, alone)
        alone(lo)  # raises, naming the series and its row
        return ids, [alone(s) for s in range(len(ids))]  # it did not: read each series alone, as before
    return ids, _all_series(table, rows, read, alone)


@dataclass
class _Rows:
    """Where each series' rows are in a long file: `order` lists the file's rows series after series
    (file order within one), series `s` being `order[starts[s]:starts[s + 1]]`."""

    codes: np.ndarray  # (N,) each row's series number
    order: np.ndarray  # (N,)
    starts: np.ndarray  # (S + 1,)

    @classmethod
    def of(cls, codes: np.ndarray, n_series: int) -> _Rows:
        starts = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=n_series))])
        return cls(codes, np.argsort(codes, kind="stable"), starts)


def _per_series(flags: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """(S,) whether any of each series' rows is flagged; `flags` (N,) or (N, F) holds the series one after another."""
    return _sums(flags.any(axis=1) if flags.ndim > 1 else flags, starts) > 0


def _sums(rows: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Each series' sum of `rows` (N,) or (N, F), the series one after another: (S,) or (S, F). Empty series: 0."""
    total = np.concatenate([np.zeros((1, *rows.shape[1:]), np.int64), np.cumsum(rows, axis=0, dtype=np.int64)])
    return total[starts[1:]] - total[starts[:-1]]


def _all_series(table: _Table, rows: _Rows, read: ReadOptions, alone) -> list[Series]:
    """Every series of a long file, sorted, checked, on its frequency's grid and filled, all at once.

    What `to_series` does to one series, done to the stacked rows of all. A series flagged with any
    problem `to_series` refuses is read again by `alone(s)`, in id order, which raises its message.
    """
    n_series, starts = len(rows.starts) - 1, rows.starts
    notes = [list(table.notes) for _ in range(n_series)]
    index, order = table.numbers.index, rows.order
    flagged = np.zeros(n_series, dtype=bool)
    if table.time_col is None and isinstance(index, pd.RangeIndex):  # plain steps: each series numbered 0, 1, ...
        indexes: list[pd.Index] = [pd.RangeIndex(n) for n in np.diff(starts)]
    else:
        key = index.asi8 if isinstance(index, pd.DatetimeIndex) else index.to_numpy()
        flagged |= _per_series(np.asarray(index.isna())[order], starts)  # blank time stamps
        same = rows.codes[order][1:] == rows.codes[order][:-1]  # (N-1,) neighbours in one series
        stamps = key[order]
        unsorted = _per_series(np.append(same & (stamps[1:] < stamps[:-1]), False), starts)
        if unsorted.any():
            order = np.lexsort((key, rows.codes))  # stable: repeated stamps keep their file order
            stamps = key[order]
            for s in np.flatnonzero(unsorted):
                notes[s].append("rows were not in time order; sorted by time")
        flagged |= _per_series(np.append(same & (stamps[1:] == stamps[:-1]), False), starts)  # repeated stamps
        ordered = index[order]
        indexes = [ordered[a:b] for a, b in zip(starts[:-1], starts[1:], strict=True)]
    values = table.numbers.to_numpy(dtype=np.float64)[order]  # (N, F) a copy: series after series
    freqs: list[str | None] = [None] * n_series
    if isinstance(index, pd.DatetimeIndex):
        values, indexes, starts = _regular_all(values, indexes, starts, stamps, table, read, freqs, notes, flagged)
    values, indexes, starts = _fill_all(values, indexes, starts, read.fill, notes, flagged)
    flagged |= _per_series(~(np.abs(values) <= MAX_ABS_VALUE), starts)  # ±inf, too large (NaN: left by a refusal)
    return [
        alone(s)
        if flagged[s]
        else Series(
            values=values[starts[s] : starts[s + 1]],
            index=indexes[s],
            targets=list(table.targets),
            features=list(table.features),
            time_col=table.time_col,
            freq=freqs[s],
            time_parts=list(table.time_parts),
            notes=notes[s],
            zone=table.zone,
            time_read=table.time_read(read),
        )
        for s in range(n_series)
    ]


def _regular_all(values, indexes, starts, stamps, table: _Table, read: ReadOptions, freqs, notes, flagged):
    """Each series' frequency (`timeindex.regular`), the series with missing periods put on its grid.

    A series with one constant step under four weeks has the frequency pandas infers from that step
    (and, for whole weeks, the weekday): inferred once per step. Other series are inferred one by one,
    once per distinct set of stamps (a panel's series often share them); with --freq every series is
    put on the user's grid one by one.
    """
    counts = np.diff(starts)
    steps = np.append(stamps[1:] - stamps[:-1], 0)  # (N,) each row's step to the next; int64 in the index's unit
    last = starts[1:] - 1  # a series' last row steps into the next series: not a step of its own
    low, high = steps.copy(), steps.copy()
    low[last], high[last] = np.iinfo(np.int64).max, np.iinfo(np.int64).min
    smallest, largest = np.minimum.reduceat(low, starts[:-1]), np.maximum.reduceat(high, starts[:-1])
    day = int(np.timedelta64(1, "D") // np.timedelta64(1, table.numbers.index.unit))
    weekday = (stamps[starts[:-1]] // day + 3) % 7  # 1970-01-01 was a Thursday (3)
    users = read.freq is not None  # --freq: each series is put on the user's grid by `timeindex.regular`
    even = ~flagged & (counts >= 3) & (smallest == largest) & (smallest > 0) & (smallest < 28 * day) & (not users)
    inferred: dict[object, str | None] = {}
    for s in np.flatnonzero(even):
        step = (int(smallest[s]), int(weekday[s]) if smallest[s] % (7 * day) == 0 else -1)
        if step not in inferred:
            inferred[step] = timeindex.infer_freq(indexes[s])
        freqs[s] = inferred[step]
    grids: dict[int, tuple[np.ndarray, pd.Index]] = {}
    for s in np.flatnonzero(~even & ~flagged & ((counts >= 3) | users)):
        if not users:
            shared = stamps[starts[s] : starts[s + 1]].tobytes()
            if shared not in inferred:
                inferred[shared] = timeindex.infer_freq(indexes[s])
            freqs[s] = inferred[shared]
            if freqs[s] is not None:
                continue
        one = pd.DataFrame(values[starts[s] : starts[s + 1]], index=indexes[s], columns=table.numbers.columns)
        try:
            one, freqs[s] = timeindex.regular(one, notes[s], read.strict, read.freq, read.weekmask, table.zone)
        except (DataError, UsageError):
            flagged[s] = True
            continue
        if len(one) != counts[s]:
            grids[s] = (one.to_numpy(dtype=np.float64), one.index)
    if not grids:
        return values, indexes, starts
    blocks = [grids[s][0] if s in grids else values[starts[s] : starts[s + 1]] for s in range(len(counts))]
    indexes = [grids[s][1] if s in grids else indexes[s] for s in range(len(counts))]
    return np.concatenate(blocks), indexes, np.concatenate([[0], np.cumsum([len(b) for b in blocks])])


def _fill_all(values, indexes, starts, policy: str, notes, flagged):
    """`_fill_missing` for every series at once: blanks filled per `policy`, one note per series filled."""
    blank = np.isnan(values)  # (N, F)
    if not blank.any():
        return values, indexes, starts
    missing = _sums(blank, starts)  # (S, F) blanks per series and column
    counts = np.diff(starts)
    has = missing.any(axis=1) & ~flagged
    if policy == "error":
        flagged |= has
        return values, indexes, starts
    if policy == "zero":
        values[blank] = 0.0
        for s in np.flatnonzero(has):
            notes[s].append(f"filled {int(missing[s].sum())} blank value(s) with 0 (--fill zero)")
        return values, indexes, starts
    if policy == "drop":
        keep = ~blank.any(axis=1)
        kept = _sums(keep, starts)
        for s in np.flatnonzero(has):
            notes[s].append(f"dropped {int(counts[s] - kept[s])} row(s) with blank values")
            indexes[s] = indexes[s][keep[starts[s] : starts[s + 1]]]
        return values[keep], indexes, np.concatenate([[0], np.cumsum(kept)])
    worst = missing.max(axis=1)
    flagged |= has & (worst / counts > MAX_MISSING_FRAC)
    series = np.repeat(np.arange(len(counts)), counts)
    for j in np.flatnonzero(blank.any(axis=0)):
        values[:, j] = _filled(values[:, j], starts[series], starts[series + 1], policy)
    for s in np.flatnonzero(has & ~flagged):
        notes[s].append(f"filled {int(missing[s].sum())} blank value(s) by {policy}")
    return values, indexes, starts


def _filled(y: np.ndarray, first: np.ndarray, end: np.ndarray, policy: str) -> np.ndarray:
    """One column of stacked series with its blanks filled within each series (rows first[i] .. end[i]-1).

    `interpolate` is pandas' `interpolate(limit_direction="both")`: np.interp's arithmetic between the
    neighbours, the nearest value before the first and after the last; `ffill` takes the value before,
    else the one after. A series with no value at all stays blank.
    """
    rows = np.arange(len(y))
    blank = np.isnan(y)
    before = np.maximum.accumulate(np.where(blank, -1, rows))  # the last value at or before each row
    after = np.minimum.accumulate(np.where(blank, len(y), rows)[::-1])[::-1]  # the first at or after
    has_before, has_after = before >= first, after < end
    b, a = np.where(has_before, before, 0), np.where(has_after, after, 0)
    out = np.where(has_before, y[b], np.where(has_after, y[a], np.nan))
    if policy == "interpolate":
        between = blank & has_before & has_after
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = (y[a] - y[b]) / (a - b).astype(np.float64)
            out = np.where(between, slope * (rows - b).astype(np.float64) + y[b], out)
    return np.where(blank, out, y)


def numeric_column(col: pd.Series) -> bool:
    """A column --wide reads as a series: numbers, not booleans."""
    return pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)


def _wide(frame: pd.DataFrame, read: ReadOptions) -> tuple[list[str], list[Series]]:
    """One series per numeric column (or per --target) over the shared time column.

    Blank rows before a column's first value and after its last are dropped, so series may start
    and end at different times. The column name is the series' id; its values are called `value`.
    """
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    probe_col = numeric[-1] if numeric else None  # the last: first columns are often year, month, ...
    if probe_col is None:
        raise DataError(f"--wide: no numeric column among {', '.join(frame.columns)}; check the delimiter")
    probe = to_series(frame, replace(read, targets=(probe_col,), features=(), fill="drop"))
    time_parts = probe.time_parts
    columns = list(read.targets) or [c for c in frame.columns if c not in time_parts and c not in read.features]
    for col in columns:
        if col not in frame.columns:
            raise UsageError(f"--target {col!r} is not a column; columns are: {', '.join(frame.columns)}")
        if not numeric_column(frame[col]):
            raise DataError(f"--wide: column {col!r} is not numeric; drop it or list the series with --target")
    if not columns:
        raise DataError("--wide: no series columns besides the time column")
    time_col = probe.time_col if len(time_parts) == 1 else read.time_col
    one_read = replace(read, time_col=time_col)

    def alone(j: int) -> Series:  # column j on its own, from its first value to its last
        col = columns[j]
        present = frame[col].notna().to_numpy()
        if not present.any():
            raise DataError(f"--wide: column {col!r} is blank in every row; drop it")
        first, last = present.argmax(), len(present) - present[::-1].argmax()
        rows = frame.iloc[first:last][time_parts + [col] + list(read.features)].reset_index(drop=True)
        return replace(to_series(rows, replace(one_read, targets=(col,))), targets=["value"])

    try:
        if frame[columns].isna().all().any():
            raise DataError("a blank column")  # named by `alone`, in column order
        table = _table(frame, replace(one_read, targets=tuple(columns)))
    except (DataError, UsageError):
        return columns, [alone(j) for j in range(len(columns))]
    return columns, _all_series(*_stacked_columns(table, columns), read, alone)


def _stacked_columns(table: _Table, columns: list[str]) -> tuple[_Table, _Rows]:
    """Wide data as long: each column's rows from its first value to its last, one column after another."""
    numbers, features = table.numbers, table.features
    present = numbers[columns].notna().to_numpy()  # (N, C)
    first = present.argmax(axis=0)
    last = len(present) - present[::-1].argmax(axis=0)
    rows = np.concatenate([np.arange(a, b) for a, b in zip(first, last, strict=True)])
    values = np.concatenate(
        [
            numbers[[col, *features]].to_numpy(dtype=np.float64)[a:b]
            for col, a, b in zip(columns, first, last, strict=True)
        ]
    )
    steps = table.time_col is None and isinstance(numbers.index, pd.RangeIndex)  # each series numbered 0, 1, ...
    index = pd.RangeIndex(len(rows)) if steps else numbers.index[rows]
    stacked = pd.DataFrame(values, index=index, columns=["value", *features])
    codes = np.repeat(np.arange(len(columns)), last - first)
    return replace(table, numbers=stacked, targets=["value"]), _Rows.of(codes, len(columns))
