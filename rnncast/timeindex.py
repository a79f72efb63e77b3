"""Time stamps: find and parse the time column, infer the frequency, put gaps on the grid; calendar inputs.

Nothing here knows about values beyond the index they hang on.
"""

from __future__ import annotations

import contextlib
import re
import warnings

import numpy as np
import pandas as pd

from rnncast.errors import DataError, UsageError

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


def require_column(frame: pd.DataFrame, col: str, option: str) -> None:
    if col not in frame.columns:
        raise UsageError(f"{option} {col!r} is not a column; columns are: {', '.join(frame.columns)}")


def time_index(frame: pd.DataFrame, time_col: str | None, notes: list[str]) -> tuple[pd.Index, str | None, list[str]]:
    """Return the time index, the time column's name and the columns it consumed."""
    if time_col == "none":
        return pd.RangeIndex(len(frame)), None, []
    if time_col is not None:
        require_column(frame, time_col, "--time-col")
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
    if pd.api.types.is_datetime64_any_dtype(col) and col.notna().any():  # dates already (Parquet): none to parse
        return col.dt.tz_convert("UTC").dt.tz_localize(None) if col.dt.tz is not None else col
    text = col.dropna().astype(str).str.strip()
    text = text[text != ""]
    blank_time = f"--time-col {name!r}" if explicit else f"time column {name!r}"
    if text.empty or all_plain_numbers(text):
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


def all_plain_numbers(text: pd.Series) -> bool:
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


def regular(numbers: pd.DataFrame, notes: list[str], strict: bool = False) -> tuple[pd.DataFrame, str | None]:
    """Infer the frequency; reindex onto a regular grid when periods are missing (refused when strict)."""
    index = numbers.index
    if not isinstance(index, pd.DatetimeIndex) or len(index) < 3:
        return numbers, None
    freq = infer_freq(index)
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
            missing, freq = len(grid) - len(index), infer_freq(grid) or offset.freqstr
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


def infer_freq(index: pd.DatetimeIndex) -> str | None:
    """pandas' inferred frequency as a string, on pandas 2 and 3 alike."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        freq = index.inferred_freq
    return freq if freq is None or isinstance(freq, str) else freq.freqstr


def time_value(value: object) -> object:
    """A time stamp or step as JSON can hold it: ISO text for dates, a plain number for steps."""
    return value.isoformat() if isinstance(value, pd.Timestamp) else value.item() if hasattr(value, "item") else value


def stamp(value: object) -> str:
    """A time stamp as messages write it, the same form as outputs: the date alone at midnight, else
    ISO date `T` time (with the offset when zoned); steps and other values as they are."""
    if isinstance(value, str):
        try:
            value = pd.Timestamp(value)
        except ValueError:
            return value
    if isinstance(value, pd.Timestamp):
        if value.tzinfo is None and value == value.normalize():
            return value.strftime("%Y-%m-%d")
        return value.isoformat()
    return str(value)


def stamps(col: pd.Series) -> pd.Series:
    """`stamp` for a whole time column, decided once for the column: the date alone when every stamp is
    at midnight, else date `T` time; with the UTC offset when the stamps carry a time zone."""
    if getattr(col.dt, "tz", None) is not None:
        return col.map(lambda t: t.isoformat() if not pd.isna(t) else None)
    if (col.dt.normalize() == col).all():
        return col.dt.strftime("%Y-%m-%d")
    return col.dt.strftime("%Y-%m-%dT%H:%M:%S")


def freq_defaults(freq: str | None) -> tuple[int, int, int]:
    """(season, horizon, seq_len) suited to a pandas frequency string."""
    if freq is None:
        return _NO_FREQ_DEFAULTS
    prefix = re.sub(r"^\d+", "", freq).split("-")[0]
    for key in sorted(_FREQ_DEFAULTS, key=len, reverse=True):
        if prefix.startswith(key) or (key == "Y" and prefix.startswith("A")):
            return _FREQ_DEFAULTS[key]
    return _NO_FREQ_DEFAULTS


# ---------------------------------------------------------------------------- calendar inputs

_CALENDAR = {  # name: (value from a DatetimeIndex, period)
    "hour": (lambda i: i.hour + i.minute / 60, 24),
    "dayofweek": (lambda i: i.day_of_week, 7),
    "month": (lambda i: i.month - 1, 12),
}


def calendar_parts(index: pd.Index) -> list[str]:
    """The calendar cycles that vary over `index` (hourly data: all three; monthly: month only)."""
    if not isinstance(index, pd.DatetimeIndex):
        raise UsageError("--calendar needs a date/time column; this data has row numbers")
    return [name for name, (value, _) in _CALENDAR.items() if len(np.unique(np.asarray(value(index)))) > 1]


def calendar_features(index: pd.DatetimeIndex, parts: list[str]) -> np.ndarray:
    """sin/cos of each calendar cycle at each time stamp: (T, 2 * len(parts))."""
    columns = []
    for name in parts:
        value, period = _CALENDAR[name]
        angle = 2 * np.pi * np.asarray(value(index), dtype=np.float64) / period
        columns += [np.sin(angle), np.cos(angle)]
    return np.stack(columns, axis=1) if columns else np.zeros((len(index), 0))


def context_index(freq: str | None, end: object, length: int) -> pd.Index:
    """The time stamps of the `length` rows that end at `end` (a saved context), on the frequency's grid."""
    return pd.date_range(end=pd.Timestamp(end), periods=length, freq=freq) if freq else pd.RangeIndex(length)
