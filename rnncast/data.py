"""CSV → validated, time-sorted series → chronological split → scaling → windows.

Everything here works on numbers and time stamps; nothing here knows about networks.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from rnncast.choices import FILL_POLICIES, SCALERS
from rnncast.errors import DataError, InputError, UsageError

MAX_MISSING_FRAC = 0.2  # refuse to invent more than this share of any column
# The network computes in float32; leave headroom for differences (residuals, window levels).
MAX_ABS_VALUE = float(np.finfo(np.float32).max) / 4
# Scaled values beyond this square to more than float32 holds once summed over a batch (a NaN loss).
MAX_SCALED = 1e15
_BLANK_WORDS = ("nan", "na", "n/a", "null", "none", "-")  # cells that mean "no value", not text
DATE_SHARE = 0.8  # a text column this share of which parses as dates is a time column with typos
# A clock time followed by a zone: "10:00Z", "10:00:00+02:00", "10:00 UTC" (not "Jan-1-1995").
_TZ_SUFFIX = r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|UTC|GMT|[+-]\d{2}:?\d{2})$"

# Seasonal period, default horizon and default input length for each frequency family.
_FREQ_DEFAULTS = {
    # prefix: (season, horizon, seq_len)
    "s": (60, 60, 240),
    "min": (60, 60, 240),
    "h": (24, 24, 96),
    "D": (7, 14, 56),
    "B": (5, 10, 40),
    "W": (52, 13, 104),
    "M": (12, 12, 36),
    "Q": (4, 8, 16),
    "Y": (1, 3, 10),
}
_NO_FREQ_DEFAULTS = (1, 10, 30)
_TIME_NAMES = ("date", "datetime", "time", "timestamp", "ds", "period")


@dataclass
class ReadOptions:
    """How to find the time, target and feature columns in a CSV."""

    time_col: str | None = None  # None: detect; "none": rows are integer steps
    targets: tuple[str, ...] = ()  # empty: the one numeric column
    features: tuple[str, ...] = ()  # extra input columns, known only up to now
    fill: str = "interpolate"  # what to do with blank values, see FILL_POLICIES
    strict: bool = False  # refuse missing periods and irregular time instead of reindexing


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


def read_table(source: str | Path | IO[str]) -> pd.DataFrame:
    """Read a CSV from a path, '-' (stdin) or an open text file into a DataFrame."""
    if isinstance(source, (str, Path)) and str(source) == "-":
        source = io.StringIO(sys.stdin.read())
    name = "stdin" if not isinstance(source, (str, Path)) else str(source)
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise InputError(f"{name}: no such file; check the path")
        if path.is_dir():
            raise InputError(f"{name} is a directory; give the path of a CSV file")
    try:
        sep = _sniff_delimiter(source, name)
        frame = pd.read_csv(source, sep=sep, skipinitialspace=True, encoding="utf-8-sig")
        header = _header(source, sep)
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


def _header(source: str | Path | IO[str], sep: str) -> list[str]:
    """The column names as written (pandas renames a repeated `v` to `v.1`)."""
    if not isinstance(source, (str, Path)):
        source.seek(0)
    raw = pd.read_csv(source, sep=sep, header=None, nrows=1, dtype=str, encoding="utf-8-sig", skipinitialspace=True)
    return [c.strip() for c in raw.iloc[0].tolist() if isinstance(c, str)]


def _sniff_delimiter(source: str | Path | IO[str], name: str) -> str:
    """The delimiter of the first lines: comma, semicolon, tab or pipe."""
    import csv

    if isinstance(source, (str, Path)):
        with open(source, encoding="utf-8-sig", newline="") as f:
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


def to_series(frame: pd.DataFrame, options: ReadOptions) -> Series:
    """Pick time, target and feature columns; sort by time; infer the frequency; fill gaps."""
    if options.fill not in FILL_POLICIES:
        raise UsageError(f"unknown --fill {options.fill!r}; choose one of {', '.join(FILL_POLICIES)}")
    notes: list[str] = []
    index, time_col, time_parts = _time_index(frame, options.time_col, notes)
    used = set(time_parts)
    targets = _choose_targets(frame, options, used)
    features = list(options.features)
    for col in features:
        _require_column(frame, col, "--features")
        if col in targets:
            raise UsageError(f"column {col!r} is both a target and a feature; drop it from --features")
    columns = targets + features
    numbers = pd.DataFrame({c: _as_float(frame[c], c) for c in columns})
    numbers.index = index
    numbers = _sorted_unique(numbers, time_col, notes)
    numbers, freq = _regular(numbers, notes, options.strict)
    numbers = _fill_missing(numbers, options.fill, notes)
    _check_range(numbers)
    return Series(
        values=numbers.to_numpy(dtype=np.float64),
        index=numbers.index,
        targets=targets,
        features=features,
        time_col=time_col,
        freq=freq,
        time_parts=time_parts,
        notes=notes,
    )


def _require_column(frame: pd.DataFrame, col: str, option: str) -> None:
    if col not in frame.columns:
        raise UsageError(f"{option} {col!r} is not a column; columns are: {', '.join(frame.columns)}")


def _time_index(frame: pd.DataFrame, time_col: str | None, notes: list[str]) -> tuple[pd.Index, str | None, list[str]]:
    """Return the time index, the time column's name and the columns it consumed."""
    if time_col == "none":
        return pd.RangeIndex(len(frame)), None, []
    if time_col is not None:
        _require_column(frame, time_col, "--time-col")
        col = frame[time_col]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            return pd.Index(col.to_numpy(), name=time_col), time_col, [time_col]
        parsed = _parse_dates(col, time_col, explicit=True)
        return pd.DatetimeIndex(parsed, name=time_col), time_col, [time_col]
    candidates = {}
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            continue
        parsed = _parse_dates(col, name)
        if parsed is not None:
            candidates[name] = parsed
    if len(candidates) > 1:
        named = [c for c in candidates if c.lower() in _TIME_NAMES]
        if len(named) != 1:
            raise UsageError(f"several columns look like dates ({', '.join(candidates)}); choose one with --time-col")
        candidates = {named[0]: candidates[named[0]]}
    if candidates:
        ((name, parsed),) = candidates.items()
        return pd.DatetimeIndex(parsed, name=name), name, [name]
    return _calendar_fields(frame, notes)


def _to_datetime(text: pd.Series, **kw) -> pd.Series:
    """pandas' parser, quiet, with every failure (including out-of-range years) as NaT."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pd.to_datetime(text, errors="coerce", **kw)
        except (ValueError, TypeError, OverflowError):
            return pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")


def _parse_dates(col: pd.Series, name: str, explicit: bool = False) -> pd.Series | None:
    """Dates parsed from a text column; None when it is not a date column.

    A column that is dates but written inconsistently (a value that is not a date, two formats,
    some values with a time zone and some without) is refused: guessing would shift the series.
    Time zones are converted to UTC.
    """
    text = col.dropna().astype(str).str.strip()
    text = text[text != ""]
    blank_time = f"--time-col {name!r}" if explicit else f"time column {name!r}"
    if text.empty or _all_plain_numbers(text):
        if explicit:
            raise DataError(f"{blank_time} holds no dates; pick another column or pass --time-col none")
        return None  # plain numbers are values, not dates
    parsed = _to_datetime(text)  # the common case, vectorised: one format guessed from the first value
    if parsed.notna().all():
        if getattr(parsed.dt, "tz", None) is not None:  # one zone throughout (a mix fails to parse here)
            parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
        return parsed.reindex(col.index)
    aware = text.str.contains(_TZ_SUFFIX, regex=True)
    # Slow path, element by element: find out what is wrong, or accept what is merely mixed.
    number = text.str.fullmatch(_PLAIN_NUMBER)
    ok = _to_datetime(text, format="mixed", utc=True).notna()
    if not explicit:
        ok &= ~number  # "12" parses as a day of this month: in a detected column it counts as a number
    if not ok.all():
        named = name.lower() in _TIME_NAMES  # a column called "date" with some dates is meant as time
        if not explicit and (ok.mean() < (0.5 if named else DATE_SHARE) or (len(text) < 3 and not named)):
            return None
        row = ok.index[~ok.to_numpy()][0]
        raise DataError(
            f"{blank_time} has a value that is not a date: {text[row]!r} at data row {row + 1}; "
            "fix it, or pass --time-col none to number the rows"
        )
    if aware.any() and not aware.all():
        naive, zoned = text.index[~aware.to_numpy()][0], text.index[aware.to_numpy()][0]
        raise DataError(
            f"{blank_time} mixes time stamps with a time zone ({text[zoned]!r}, data row {zoned + 1}) and "
            f"without ({text[naive]!r}, data row {naive + 1}); give every time stamp a zone, or none"
        )
    zone = {"utc": True} if aware.all() else {}
    parsed = _to_datetime(text, **zone)  # one format, guessed from the first value
    if parsed.isna().any():
        parsed = _to_datetime(text, format="ISO8601", **zone)
    if parsed.isna().any():
        row = parsed.index[parsed.isna().to_numpy()][0]
        raise DataError(
            f"{blank_time} mixes date formats: {text.iloc[0]!r} (data row {text.index[0] + 1}) but "
            f"{text[row]!r} (data row {row + 1}); write every date the same way, e.g. 2024-01-31"
        )
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed.reindex(col.index)  # blanks stay NaT and are refused with their own message


_PLAIN_NUMBER = r"[-+]?[\d,]*\.?\d+"


def _all_plain_numbers(text: pd.Series) -> bool:
    """Whether every (stripped, text) value reads as a plain number (`12`, `-3.5`, `1,234`).

    The first rows decide most columns (a date is not a number), so the whole column is only
    matched when they are all numbers: on a million-row file that saves about a second.
    """
    return all(part.str.fullmatch(_PLAIN_NUMBER).all() for part in (text.iloc[:64], text))


def _calendar_fields(frame: pd.DataFrame, notes: list[str]) -> tuple[pd.Index, str | None, list[str]]:
    """Build time stamps from year + quarter or year + month columns, as in FRED/statsmodels files."""
    lower = {c.lower(): c for c in frame.columns}
    year = lower.get("year")
    for part, freq in (("quarter", "Q"), ("month", "M")):
        other = lower.get(part)
        if year and other:
            try:
                periods = pd.PeriodIndex.from_fields(
                    year=frame[year].astype(int), **{part: frame[other].astype(int)}, freq=freq
                )
            except (ValueError, TypeError):
                raise DataError(
                    f"columns {year!r} and {other!r} do not form valid dates; fix them or pass --time-col"
                ) from None
            notes.append(f"time built from columns {year!r} + {other!r}")
            return pd.DatetimeIndex(periods.to_timestamp(), name="date"), "date", [year, other]
    return pd.RangeIndex(len(frame)), None, []


def _choose_targets(frame: pd.DataFrame, options: ReadOptions, used: set[str]) -> list[str]:
    if options.targets:
        for col in options.targets:
            _require_column(frame, col, "--target")
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


def _sorted_unique(numbers: pd.DataFrame, time_col: str | None, notes: list[str]) -> pd.DataFrame:
    if numbers.index.hasnans:
        row = int(np.argmax(pd.isna(numbers.index))) + 1
        raise DataError(f"time column {time_col!r} is blank at data row {row}; fill it or drop that row")
    if not numbers.index.is_monotonic_increasing:
        notes.append("rows were not in time order; sorted by time")
        numbers = numbers.sort_index(kind="stable")
    dup = numbers.index.duplicated()
    if dup.any():
        raise DataError(
            f"duplicate time stamp {numbers.index[dup][0]} in {time_col!r}; remove or aggregate repeated rows"
        )
    return numbers


def _regular(numbers: pd.DataFrame, notes: list[str], strict: bool = False) -> tuple[pd.DataFrame, str | None]:
    """Infer the frequency; reindex onto a regular grid when periods are missing (refused when strict)."""
    index = numbers.index
    if not isinstance(index, pd.DatetimeIndex) or len(index) < 3:
        return numbers, None
    freq = _infer_freq(index)
    if freq is not None:
        return numbers, freq
    steps = pd.Series(index[1:] - index[:-1])
    step = steps.mode().iloc[0]
    span, unit = (index[-1] - index[0]).total_seconds(), step.total_seconds()
    candidates = []
    if 0 < unit and span / unit <= 2 * len(index):  # else the grid would need over twice the rows: not gaps
        with contextlib.suppress(ValueError, OverflowError, pd.errors.OutOfBoundsTimedelta):
            candidates.append(pd.tseries.frequencies.to_offset(step))
        # Calendar frequencies have uneven steps (months, quarters): try the common ones too.
        candidates += [pd.tseries.frequencies.to_offset(f) for f in ("MS", "ME", "QS", "QE", "YS", "YE", "W")]
    for offset in candidates:
        try:
            grid = pd.date_range(index[0], index[-1], freq=offset)
        except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime, pd.errors.OutOfBoundsTimedelta):
            continue
        if index.isin(grid).all() and len(grid) <= 2 * len(index):
            missing, freq = len(grid) - len(index), _infer_freq(grid) or offset.freqstr
            if strict:
                first = grid[~grid.isin(index)][0]
                raise DataError(
                    f"{missing} time step(s) missing on the {freq} grid (first {first}); "
                    "add those rows, or drop --strict to fill them"
                )
            notes.append(f"{missing} missing time step(s) added on the {freq} grid and filled")
            return numbers.reindex(grid.rename(index.name)), freq
    if strict:
        raise DataError(
            f"time stamps are irregular (steps from {steps.min()} to {steps.max()}); no frequency fits; "
            "resample the data to a regular step, or drop --strict"
        )
    notes.append("time stamps are irregular; no frequency inferred, forecasts are numbered steps")
    return numbers, None


def _infer_freq(index: pd.DatetimeIndex) -> str | None:
    """pandas' inferred frequency as a string, on pandas 2 and 3 alike."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        freq = index.inferred_freq
    return freq if freq is None or isinstance(freq, str) else freq.freqstr


def _fill_missing(numbers: pd.DataFrame, policy: str, notes: list[str]) -> pd.DataFrame:
    missing = numbers.isna().sum()
    if not missing.any():
        return numbers
    worst = missing.idxmax()
    if policy == "error":
        row = numbers.index[numbers[worst].isna()][0]
        raise DataError(f"column {worst!r} is blank at {row}; fill it or use --fill interpolate|ffill|drop")
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


# ---------------------------------------------------------------------------- lengths


def time_value(value: object) -> object:
    """A time stamp or step as JSON can hold it: ISO text for dates, a plain number for steps."""
    return value.isoformat() if isinstance(value, pd.Timestamp) else value.item() if hasattr(value, "item") else value


def freq_defaults(freq: str | None) -> tuple[int, int, int]:
    """(season, horizon, seq_len) suited to a pandas frequency string."""
    if freq is None:
        return _NO_FREQ_DEFAULTS
    prefix = re.sub(r"^\d+", "", freq).split("-")[0]
    for key in sorted(_FREQ_DEFAULTS, key=len, reverse=True):
        if prefix.startswith(key) or (key == "Y" and prefix.startswith("A")):
            return _FREQ_DEFAULTS[key]
    return _NO_FREQ_DEFAULTS


# ---------------------------------------------------------------------------- split


@dataclass(frozen=True)
class Split:
    """A chronological split of one series' windows.

    Validation windows are the last `n_val`; their targets are the rows from `cut` on.
    Training windows end before `cut`, so no training target is a validation target,
    and the scaler sees only rows before `cut`.
    """

    seq_len: int
    horizon: int
    cut: int  # first row that is a validation target
    n_train: int  # training windows start at 0 .. n_train-1
    n_val: int  # validation windows start at cut-seq_len .. cut-seq_len+n_val-1

    @property
    def val_start(self) -> int:
        return self.cut - self.seq_len


def min_rows(seq_len: int, horizon: int) -> int:
    """The shortest series that leaves one training and one validation window."""
    return seq_len + 2 * horizon


def plan_split(n_rows: int, seq_len: int, horizon: int, val_frac: float) -> Split:
    """Split windows chronologically: the last `val_frac` of them validate."""
    if not 0 < val_frac < 1:
        raise UsageError(f"--val-frac must be between 0 and 1, got {val_frac}; try 0.2")
    if seq_len < 1 or horizon < 1:
        raise UsageError("--seq-len and --horizon must be at least 1")
    need = min_rows(seq_len, horizon)
    if n_rows < need:
        raise DataError(
            f"series has {n_rows} rows, too short for --seq-len {seq_len} and --horizon {horizon} "
            f"(needs at least {need}); lower --seq-len or --horizon"
        )
    n_windows = n_rows - seq_len - horizon + 1
    n_val = min(max(1, round(val_frac * n_windows)), n_windows - horizon)
    cut = n_windows - n_val + seq_len
    n_train = cut - seq_len - horizon + 1
    return Split(seq_len=seq_len, horizon=horizon, cut=cut, n_train=n_train, n_val=n_val)


# ---------------------------------------------------------------------------- scaling


@dataclass
class Scaling:
    """Per-column affine scaling `(x - shift) / scale`, fitted by scikit-learn."""

    kind: str
    shift: np.ndarray  # (F,)
    scale: np.ndarray  # (F,)

    def transform(self, values: np.ndarray) -> np.ndarray:
        return (values - self.shift) / self.scale

    def inverse(self, scaled: np.ndarray, columns: slice = slice(None)) -> np.ndarray:
        return scaled * self.scale[columns] + self.shift[columns]

    def transform32(self, series: Series) -> np.ndarray:
        """The series scaled to float32, the network's precision; refuses values that would overflow in training."""
        values = series.values
        with np.errstate(over="ignore", invalid="ignore"):
            scaled = self.transform(values).astype(np.float32)  # (T, F)
        bad = ~(np.abs(scaled) <= MAX_SCALED)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise DataError(
                f"column {series.columns[col]!r} at {series.index[row]} ({values[row, col]:.3g}) is too far from the "
                "training rows' range to train in float32; remove the outlier, rescale the column, "
                "or try --scaler robust"
            )
        return scaled


def fit_scaling(train_rows: np.ndarray, kind: str = "standard") -> Scaling:
    """Fit a scikit-learn scaler on training rows only and keep its affine parameters."""
    from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

    if kind == "standard":
        s = StandardScaler().fit(train_rows)
        shift, scale = s.mean_, s.scale_
    elif kind == "minmax":
        s = MinMaxScaler().fit(train_rows)  # x * scale_ + min_
        shift, scale = -s.min_ / s.scale_, 1.0 / s.scale_
    elif kind == "robust":
        s = RobustScaler().fit(train_rows)
        shift, scale = s.center_, s.scale_
    else:
        raise UsageError(f"unknown --scaler {kind!r}; choose one of {', '.join(SCALERS)}")
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)  # constant columns stay as they are
    return Scaling(kind=kind, shift=np.asarray(shift, np.float64), scale=np.asarray(scale, np.float64))


# ---------------------------------------------------------------------------- windows


@dataclass
class Windows:
    """Input windows and their targets, as views into one (T, F) tensor."""

    x: torch.Tensor  # (N, seq_len, F)  # noqa: F821
    y: torch.Tensor  # (N, horizon, n_targets)  # noqa: F821
    starts: torch.Tensor | None = None  # noqa: F821  (M,) windows in use (many series: none crosses one); None: all

    def __len__(self) -> int:
        return self.x.shape[0] if self.starts is None else len(self.starts)

    def take(self, start: int, count: int) -> Windows:
        if self.starts is not None:
            return Windows(self.x, self.y, self.starts[start : start + count])
        return Windows(self.x[start : start + count], self.y[start : start + count])

    def batch(self, which: torch.Tensor | slice) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: F821
        """Gather windows `which` (positions among those in use): (B, L, F), (B, H, T)."""
        rows = which if self.starts is None else self.starts[which]
        return self.x[rows], self.y[rows]


def original_windows(values: np.ndarray, start: int, count: int, length: int) -> np.ndarray:
    """`count` stride-1 windows of `length` rows from `values` (T, F), beginning at row `start`: (count, length, F).

    A read-only view (no copy), used to score forecasts in original units.
    """
    view = np.lib.stride_tricks.sliding_window_view(values[start : start + count + length - 1], length, axis=0)
    return view.transpose(0, 2, 1)


def make_windows(series: torch.Tensor, seq_len: int, horizon: int, n_targets: int) -> Windows:  # noqa: F821
    """Every stride-1 window of `series` (T, F): inputs (N, L, F), targets (N, H, n_targets).

    `unfold` returns views, so no window is copied until a batch is gathered.
    """
    w = series.unfold(0, seq_len + horizon, 1).transpose(1, 2)  # (N, L+H, F)
    return Windows(x=w[:, :seq_len, :], y=w[:, seq_len:, :n_targets])
