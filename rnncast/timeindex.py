"""Time stamps: find and parse the time column, infer the frequency, put gaps on the grid; calendar inputs.

Nothing here knows about values beyond the index they hang on.
"""

from __future__ import annotations

import contextlib
import functools
import re
import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd

from rnncast.errors import DataError, UsageError
from rnncast.settings import ReadOptions

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


class TimeColumn(NamedTuple):
    """The time index of a table and how it was read (what new data must repeat; saved in the model)."""

    index: pd.Index  # DatetimeIndex (naive UTC when zoned), or integer steps
    name: str | None  # the time column's name; None: plain row numbers
    parts: list[str]  # the CSV columns the time came from
    date_format: str | None = None  # the format the dates were read with, when given or decided (day first)
    zone: str | None = None  # the zone stamps are shown in: --tz, or the offset the file writes


class _Dates(NamedTuple):
    values: pd.Series  # naive (UTC when zoned); NaT where the cell is blank
    date_format: str | None  # the format they were read with, when given or decided
    zone: str | None  # the file's own offset ("+01:00", "UTC"), when its stamps carry one


def time_index(frame: pd.DataFrame, options: ReadOptions, notes: list[str]) -> TimeColumn:
    """The time index, the time column's name and the columns it consumed; zoned stamps become naive UTC."""
    time_col, fmt = options.time_col, options.date_format
    if time_col == "none":
        return TimeColumn(pd.RangeIndex(len(frame)), None, [])
    if time_col is not None:
        require_column(frame, time_col, "--time-col")
        col = frame[time_col]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col) and fmt is None:
            return _dated(TimeColumn(pd.Index(col.to_numpy(), name=time_col), time_col, [time_col]), options)
        dates = _parse_dates(col, time_col, True, options, notes)
        return _dated(_zoned(dates, time_col, options), options)
    candidates = {}
    for name in frame.columns:
        col = frame[name]
        if (pd.api.types.is_numeric_dtype(col) and fmt is None) or pd.api.types.is_bool_dtype(col):
            continue
        dates = _parse_dates(col, name, False, options, notes)
        if dates is not None:
            candidates[name] = dates
    if len(candidates) > 1:
        named = [c for c in candidates if c.lower() in _TIME_NAMES]
        if len(named) != 1:
            raise UsageError(f"several columns look like dates ({', '.join(candidates)}); choose one with --time-col")
        candidates = {named[0]: candidates[named[0]]}
    if candidates:
        ((name, dates),) = candidates.items()
        return _dated(_zoned(dates, name, options), options)
    if fmt is not None:
        raise UsageError(f"no column matches --date-format {fmt!r}{_nearest_miss(frame, fmt)}; check the format")
    built = _dated(TimeColumn(*_calendar_fields(frame, notes)), options)
    if options.tz is not None and built.name is not None:  # year + month: dates, never a clock time
        raise UsageError(
            f"--tz {options.tz}: the time built from {' + '.join(built.parts)} has no clock time; drop --tz"
        )
    return built


def holds_dates(col: pd.Series, options: ReadOptions) -> bool:
    """Whether a column would be read as the time column (its values all dates, as time detection reads them)."""
    if pd.api.types.is_bool_dtype(col) or (pd.api.types.is_numeric_dtype(col) and options.date_format is None):
        return False
    try:
        return _parse_dates(col, str(col.name), False, options, []) is not None
    except (DataError, UsageError):  # dates written inconsistently: not clearly a time column
        return False


def _nearest_miss(frame: pd.DataFrame, fmt: str) -> str:
    """Where the text column --date-format fits best stops fitting: ` ('Datum' holds '13.01.2024' at data row 13)`."""
    miss, share = "", 0.0
    for name in frame.columns:
        if pd.api.types.is_numeric_dtype(frame[name]):
            continue
        fits = _to_datetime(frame[name].astype(str).str.strip(), format=fmt).notna()
        if fits.mean() > share:
            row, share = int((~fits).to_numpy().argmax()), fits.mean()
            miss = f" ({name!r} holds {str(frame[name].iloc[row]).strip()!r} at data row {row + 1})"
    return miss


def _dated(column: TimeColumn, options: ReadOptions) -> TimeColumn:
    """Refuse date options on data whose time is row or step numbers."""
    if not isinstance(column.index, pd.DatetimeIndex):
        given = [f"--{o.replace('_', '-')}" for o in ("freq", "tz", "date_format") if getattr(options, o)]
        if given:
            need = "need" if len(given) > 1 else "needs"
            raise UsageError(f"{' and '.join(given)} {need} a date/time column; this data's time is step numbers")
    return column


def _zoned(dates: _Dates, name: str, options: ReadOptions) -> TimeColumn:
    """The dates as naive UTC with the zone to show them in: --tz localises naive wall-clock stamps
    (ambiguous hours at a clock change inferred from their order, as pandas does), or converts stamps
    that carry an offset; without --tz, zoned stamps are shown at the file's own offset."""
    values, zone = dates.values, dates.zone
    if options.tz is not None:
        if zone is None:
            values = _localised(values, name, options.tz)
        zone = options.tz
    return TimeColumn(pd.DatetimeIndex(values, name=name), name, [name], dates.date_format, zone)


def _localised(values: pd.Series, name: str, tz: str) -> pd.Series:
    """Naive local wall-clock stamps in zone `tz` as naive UTC; refused where a clock change makes them unclear."""
    present = values.dropna()
    if (present.dt.normalize() == present).all():
        raise UsageError(
            f"--tz {tz}: time column {name!r} holds dates without a clock time, which need no zone; drop --tz"
        )
    try:
        local = pd.DatetimeIndex(values).tz_localize(tz, ambiguous="infer")
    except (ValueError, pd.errors.OutOfBoundsDatetime, *_pytz_errors()) as exc:  # Ambiguous/NonExistentTimeError
        hour = re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", str(exc))
        what = f"{hour[0]} in {tz}" if hour else f"a time stamp in {tz}"
        missing = "nonexistent" in f"{type(exc).__name__} {exc}".lower()
        raise DataError(
            f"time column {name!r}: {what} cannot be placed at the daylight-saving change "
            f"({'it does not exist' if missing else 'it is ambiguous'}); "
            "fix or remove that row, or write the stamps with their UTC offset (2024-10-27T02:00:00+01:00)"
        ) from None
    return pd.Series(local.tz_convert("UTC").tz_localize(None), index=values.index)


def _pytz_errors() -> tuple[type[Exception], ...]:
    """pandas 2 raises pytz's Ambiguous/NonExistentTimeError (not ValueErrors); pandas 3 has no pytz."""
    try:
        from pytz.exceptions import InvalidTimeError
    except ImportError:
        return ()
    return (InvalidTimeError,)


def _to_datetime(text: pd.Series, **kw) -> pd.Series:
    """pandas' parser, quiet, with every failure (including out-of-range years) as NaT."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pd.to_datetime(text, errors="coerce", **kw)
        except (ValueError, TypeError, OverflowError):
            return pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")


def _parse_dates(
    col: pd.Series,
    name: str,
    explicit: bool = False,
    options: ReadOptions | None = None,
    notes: list[str] | None = None,
) -> _Dates | None:
    """Dates parsed from a text column; None when it is not a date column.

    A column that is dates but written inconsistently (a value that is not a date, two formats,
    some values with a time zone and some without) is refused: guessing would shift the series.
    So is one whose dates read two ways (01/02/2015: day or month first) that both make sense.
    """
    options, notes = options or ReadOptions(), [] if notes is None else notes
    if pd.api.types.is_datetime64_any_dtype(col) and col.notna().any():  # dates already (Parquet): none to parse
        if col.dt.tz is None:
            return _Dates(col, None, None)
        return _Dates(
            col.dt.tz_convert("UTC").dt.tz_localize(None), None, _offset_of(col.dropna().iloc[-1].isoformat())
        )
    text = col.dropna().astype(str).str.strip()
    text = text[text != ""]
    blank_time = f"--time-col {name!r}" if explicit else f"time column {name!r}"
    if options.date_format is not None:
        return _with_format(text, col.index, options.date_format, blank_time, explicit)
    if text.empty or all_plain_numbers(text):
        if explicit:
            raise DataError(f"{blank_time} holds no dates; pick another column or pass --time-col none")
        return None  # plain numbers are values, not dates
    ordered = _day_or_month_first(text, blank_time, options, notes)
    if ordered is not None:
        return ordered._replace(values=ordered.values.reindex(col.index))
    parsed = _to_datetime(text)  # the common case, vectorised: one format guessed from the first value
    # (pandas 2 gives objects, not dates, for stamps of several offsets: those take the path below)
    if parsed.notna().all() and pd.api.types.is_datetime64_any_dtype(parsed):
        zone = None
        if getattr(parsed.dt, "tz", None) is not None:  # one zone throughout (a mix fails to parse here)
            parsed, zone = parsed.dt.tz_convert("UTC").dt.tz_localize(None), _offset_of(text.iloc[-1])
        return _Dates(parsed.reindex(col.index), None, zone)
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
    guessed = _to_datetime(text, **zone)  # one format, guessed from the first value
    parsed = guessed if guessed.notna().all() else _one_format(text, zone)
    if parsed.isna().any():
        row = guessed.index[guessed.isna().to_numpy()][0]  # the first value the first value's format misses
        raise DataError(
            f"{blank_time} mixes date formats: {text.iloc[0]!r} (data row {text.index[0] + 1}) but "
            f"{text[row]!r} (data row {row + 1}); write every date the same way, e.g. 2024-01-31, "
            "or pass --date-format"
        )
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return _Dates(parsed.reindex(col.index), None, _offset_of(text.iloc[-1]) if aware.all() else None)


def _one_format(text: pd.Series, zone: dict) -> pd.Series:
    """`text` parsed with one format every value fits, where the format guessed from the first value does not:
    ISO 8601, else one guessed from the next values (a first value 'May-1-2015' guesses %B, the full month
    name, which 'Jun-1-2015' is not: its %b reads 'May' too). NaT where no such format reads a value."""
    from pandas.tseries.api import guess_datetime_format

    parsed = _to_datetime(text, format="ISO8601", **zone)
    for value in text.iloc[1:4]:
        if parsed.notna().all():
            break
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fmt = guess_datetime_format(value)
        if fmt is not None:
            parsed = _to_datetime(text, format=fmt, **zone)
    return parsed


# A date written day and month first, either way round: 01/02/2015, 1.2.2015, 01-02-15 (not 2015-01-02).
_DAY_MONTH = r"\d{1,2}([./-])\d{1,2}\1\d{2}(?:\d{2})?(?:[ T].*)?"


def _day_or_month_first(text: pd.Series, blank_time: str, options: ReadOptions, notes: list[str]) -> _Dates | None:
    """Dates like 01/02/2015 read day first or month first: the reading under which every value parses
    and the stamps fall on a regular grid. Both: refused, naming --date-format. None: not such dates,
    or the first value alone decides (13/01/2024)."""
    from pandas.tseries.api import guess_datetime_format

    first = text.iloc[0]
    if not re.fullmatch(_DAY_MONTH, first):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        formats = {order: guess_datetime_format(first, dayfirst=order == "day") for order in ("month", "day")}
    if None in formats.values() or formats["month"] == formats["day"]:
        return None
    # A non-ISO format parses at about 0.3 s per 100,000 values: a reading that fails on a sample
    # (the first rows and every k-th) is out before the whole column is parsed.
    sample = pd.concat([text.iloc[:1000], text.iloc[:: max(len(text) // 10_000, 1)]])
    possible = [order for order, fmt in formats.items() if _to_datetime(sample, format=fmt).notna().all()]
    readings = {order: _to_datetime(text, format=formats[order]) for order in possible}
    complete = [order for order, parsed in readings.items() if parsed.notna().all()]
    if len(complete) == 1:
        (order,) = complete
        return _Dates(readings[order], formats[order], None)
    if not complete:
        return None  # neither format fits every value: the general path says what is wrong
    regular_ones = [order for order in complete if _is_regular(readings[order], options)]
    row = (readings["day"] != readings["month"]).to_numpy().argmax()  # the first value the order changes
    example, (month, day) = text.iloc[row], (readings[o].iloc[row].strftime("%-d %B %Y") for o in ("month", "day"))
    if len(regular_ones) == 1:
        (order,) = regular_ones
        other = "month" if order == "day" else "day"
        notes.append(
            f"{blank_time}: dates read {order} first ({example!r} is {day if order == 'day' else month}); "
            f"read {other} first they are not regular (--date-format {formats[order]} says so and silences this)"
        )
        return _Dates(readings[order], formats[order], None)
    raise UsageError(
        f"{blank_time}: {example!r} could be {day} (day first) or {month} (month first), and both readings "
        f"give {'regular' if regular_ones else 'irregular'} dates; pass --date-format {formats['day']} "
        f"or --date-format {formats['month']}"
    )


def _is_regular(parsed: pd.Series, options: ReadOptions) -> bool:
    """Whether these stamps fall on a regular grid: the user's --freq, else one inferred (gaps allowed)."""
    index = pd.DatetimeIndex(parsed.sort_values().unique())
    if options.freq is not None:
        grid = pd.date_range(index[0], index[-1], freq=offset(options.freq, options.weekmask))
        return bool(index.isin(grid).all())
    return len(index) < 3 or _grid(index) is not None


def _with_format(text: pd.Series, rows: pd.Index, fmt: str, blank_time: str, explicit: bool) -> _Dates | None:
    """Dates read with --date-format (strftime codes); a value it does not fit is refused, naming it."""
    zoned = "%z" in fmt or "%Z" in fmt
    parsed = _to_datetime(text, format=fmt, **({"utc": True} if zoned else {}))
    if text.empty or (not explicit and parsed.notna().mean() < DATE_SHARE):
        if explicit:
            raise DataError(f"{blank_time} holds no dates; pick another column or pass --time-col none")
        return None
    if parsed.isna().any():
        row = parsed.index[parsed.isna().to_numpy()][0]
        raise DataError(
            f"{blank_time} has {text[row]!r} at data row {row + 1}, which does not match --date-format {fmt!r}; "
            "fix the value or the format"
        )
    zone = None
    if zoned:
        parsed, zone = parsed.dt.tz_convert("UTC").dt.tz_localize(None), _offset_of(text.iloc[-1], fmt)
    return _Dates(parsed.reindex(rows), fmt, zone)


def _offset_of(value: str, fmt: str | None = None) -> str | None:
    """The UTC offset a time stamp is written with, as "+01:00" ("UTC" for +00:00); None if it has none."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            moment = pd.to_datetime(value, format=fmt) if fmt else pd.Timestamp(value)
        except (ValueError, TypeError):
            return None
    shift = moment.utcoffset()
    if shift is None:
        return None
    if not shift:
        return "UTC"
    minutes = int(shift.total_seconds()) // 60
    return f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


_PLAIN_NUMBER = r"[-+]?(?:[\d,]*\.?\d+|[\d.]*,\d+)"  # 1,234.5 or, with a decimal comma, 1.234,5


def all_plain_numbers(text: pd.Series) -> bool:
    """Whether every (stripped, text) value reads as a plain number (`12`, `-3.5`, `1,234`, `1.234,5`).

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


def regular(
    numbers: pd.DataFrame,
    notes: list[str],
    strict: bool = False,
    freq: str | None = None,
    weekmask: str | None = None,
    zone: str | None = None,
) -> tuple[pd.DataFrame, str | None]:
    """Infer the frequency (or take the user's --freq); reindex onto that grid when periods are missing
    (refused when strict). `zone`: the naive UTC stamps are local ones, on a wall-clock grid."""
    index = numbers.index
    if not isinstance(index, pd.DatetimeIndex):
        return numbers, None
    if zone is not None:  # a day is 23 or 25 hours at a clock change: the grid is found, and named, in local time
        local, found = regular(numbers.set_axis(shown(index, zone)), notes, strict, freq, weekmask)
        return local.set_axis(local.index.tz_convert("UTC").tz_localize(None)), found
    if freq is not None:
        return _on_users_grid(numbers, notes, strict, freq, weekmask)
    if len(index) < 3:
        return numbers, None
    inferred = infer_freq(index)
    if inferred is not None:
        return numbers, inferred
    found = _grid(index)
    if found is not None:
        grid, freq = found
        return _reindexed(numbers, grid, freq, notes, strict, "drop --strict to fill them"), freq
    steps = pd.Series(index[1:] - index[:-1])
    if strict:
        raise DataError(
            f"time stamps are irregular (steps from {steps.min()} to {steps.max()}); no frequency fits; "
            "resample the data to a regular step, or drop --strict"
        )
    notes.append("time stamps are irregular; no frequency inferred, forecasts are numbered steps (or give --freq)")
    return numbers, None


def _grid(index: pd.DatetimeIndex) -> tuple[pd.DatetimeIndex, str] | None:
    """The regular grid from the first stamp to the last that holds every stamp, with its frequency;
    None when none does with at most twice the rows (then the stamps are irregular, not gappy)."""
    inferred = infer_freq(index)
    if inferred is not None:
        return index, inferred
    steps = pd.Series(index[1:] - index[:-1])
    step = steps.mode().iloc[0]
    span, unit = (index[-1] - index[0]).total_seconds(), step.total_seconds()
    candidates = []
    if 0 < unit and span / unit <= 2 * len(index):  # else the grid would need over twice the rows: not gaps
        with contextlib.suppress(ValueError, OverflowError, pd.errors.OutOfBoundsTimedelta):
            candidates.append(pd.tseries.frequencies.to_offset(step))
        if unit % 86400 == 0:  # whole days, on the calendar: a zoned day is 23 or 25 hours at a clock change
            candidates.append(pd.tseries.frequencies.to_offset(f"{int(unit // 86400)}D"))
        # Calendar frequencies have uneven steps (months, quarters): try the common ones too.
        candidates += [pd.tseries.frequencies.to_offset(f) for f in ("MS", "ME", "QS", "QE", "YS", "YE", "W")]
    for candidate in candidates:
        try:
            grid = pd.date_range(index[0], index[-1], freq=candidate)
        except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime, pd.errors.OutOfBoundsTimedelta):
            continue
        if index.isin(grid).all() and len(grid) <= 2 * len(index):
            return grid, infer_freq(grid) or candidate.freqstr
    return None


def _on_users_grid(
    numbers: pd.DataFrame, notes: list[str], strict: bool, freq: str, weekmask: str | None
) -> tuple[pd.DataFrame, str]:
    """The rows on the --freq grid: a stamp off it is refused, naming it; missing periods are those of the grid."""
    index, step = numbers.index, offset(freq, weekmask)
    grid = pd.date_range(index[0], index[-1], freq=step)
    off = index[~index.isin(grid)]
    if len(off):
        days = f" (--weekmask {weekmask})" if weekmask else ""
        raise DataError(
            f"time stamp {stamp(off[0])} ({off[0].day_name()}) is not on the --freq {freq}{days} grid; "
            "remove that row, or choose the --freq (and --weekmask) the data follows"
        )
    return _reindexed(numbers, grid, step.freqstr, notes, strict, "drop --strict to fill them"), step.freqstr


def _reindexed(numbers: pd.DataFrame, grid: pd.DatetimeIndex, freq: str, notes: list[str], strict: bool, fix: str):
    """The rows on `grid`, the missing ones blank (said in a note), or refused when strict."""
    index = numbers.index
    missing = len(grid) - len(index)
    if not missing:
        return numbers
    if strict:
        first = grid[~grid.isin(index)][0]
        raise DataError(f"{missing} time step(s) missing on the {freq} grid (first {first}); add those rows, or {fix}")
    notes.append(f"{missing} missing time step(s) added on the {freq} grid and filled")
    return numbers.reindex(grid.rename(index.name))


def offset(freq: str, weekmask: str | None = None) -> pd.DateOffset:
    """The pandas offset of a frequency string; `C` (custom business days) open on `weekmask`'s days.

    Raises UsageError naming the option for a frequency or week mask pandas does not know."""
    from pandas.tseries.frequencies import to_offset

    if weekmask is not None and freq != "C":
        raise UsageError(f"--weekmask is for --freq C (custom business days), not --freq {freq}; add --freq C")
    if freq == "C" and weekmask is not None:
        try:
            return pd.offsets.CustomBusinessDay(weekmask=weekmask)
        except ValueError:
            raise UsageError(
                f"--weekmask {weekmask!r} is not a week mask; name the open days, e.g. 'Mon Tue Wed Thu Fri Sat'"
            ) from None
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            result = to_offset(freq)
        for warning in seen:  # pandas 2 still takes the aliases pandas 3 refuses ('H'), with a FutureWarning
            renamed = re.search(r"please use '([^']+)' instead", str(warning.message))
            if renamed:
                raise ValueError(f"Did you mean {renamed[1]}?")
        return result
    except ValueError as exc:
        hint = re.search(r"Did you mean (\S+)\?", str(exc))
        raise UsageError(
            f"unknown --freq {freq!r}; "
            + (f"did you mean {hint[1]}?" if hint else "use a pandas frequency: D, B, C, W-SUN, MS, h, 15min, ...")
        ) from None


def check_zone(tz: str) -> None:
    """Refuse a --tz that is not a time zone name the system knows."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"unknown --tz {tz!r}; give a time zone name such as Europe/Berlin, America/New_York or UTC"
        ) from None


def shown(index: pd.Index, zone: str | None) -> pd.Index:
    """Naive UTC stamps in the zone they are shown in (with their offset); others as they are."""
    if zone is None or not isinstance(index, pd.DatetimeIndex):
        return index
    return index.tz_localize("UTC").tz_convert(zone)


def infer_freq(index: pd.DatetimeIndex) -> str | None:
    """pandas' inferred frequency as a string, on pandas 2 and 3 alike."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        freq = index.inferred_freq
    return freq if freq is None or isinstance(freq, str) else freq.freqstr


def time_value(value: object) -> object:
    """A time stamp or step as JSON can hold it: ISO text for dates, a plain number for steps."""
    return value.isoformat() if isinstance(value, pd.Timestamp) else value.item() if hasattr(value, "item") else value


def sub_daily(freq: str | None) -> bool:
    """Whether steps of `freq` are shorter than a day (h, 15min, s): their stamps always show the time."""
    if not freq:
        return False
    try:
        step = offset(freq)
    except UsageError:  # not a frequency pandas knows: no step to compare
        return False
    return isinstance(step, pd.offsets.Tick) and pd.Timedelta(step) < pd.Timedelta(days=1)


def stamp(value: object, freq: str | None = None) -> str:
    """A time stamp as messages write it, the same form as outputs: the date alone at midnight (but never
    for steps shorter than a day, `freq`: hourly data's midnight is 2024-01-06T00:00:00), else ISO date
    `T` time (with the offset when zoned); steps and other values as they are."""
    if isinstance(value, str):
        try:
            value = pd.Timestamp(value)
        except ValueError:
            return value
    if isinstance(value, pd.Timestamp):
        if value.tzinfo is None and value == value.normalize() and not sub_daily(freq):
            return value.strftime("%Y-%m-%d")
        return value.isoformat()
    return str(value)


def shown_stamp(value: object, zone: str | None, freq: str | None = None) -> str:
    """A stamp kept inside (naive UTC, a Timestamp or ISO text) as messages write it: in the data's `zone`
    with its offset (`shown`), else as `stamp` writes it for steps of `freq`; steps as they are."""
    if zone is not None and isinstance(value, (str, pd.Timestamp)):
        value = shown(pd.DatetimeIndex([value]), zone)[0]
    return stamp(value, freq)


def stamps(col: pd.Series) -> pd.Series:
    """`stamp` for a whole time column, decided once for the column: the date alone when every stamp is
    at midnight, else date `T` time; with the UTC offset when the stamps carry a time zone."""
    if getattr(col.dt, "tz", None) is not None:
        return col.map(lambda t: t.isoformat() if not pd.isna(t) else None)
    if (col.dt.normalize() == col).all():
        return col.dt.strftime("%Y-%m-%d")
    return col.dt.strftime("%Y-%m-%dT%H:%M:%S")


def freq_defaults(freq: str | None, weekmask: str | None = None) -> tuple[int, int, int]:
    """(season, horizon, seq_len) suited to a pandas frequency string (`C`: a week of `weekmask`'s days)."""
    if freq is None:
        return _NO_FREQ_DEFAULTS
    if freq == "C":
        days = int(offset(freq, weekmask).calendar.weekmask.sum())
        return days, 2 * days, 8 * days
    key = freq_kind(freq)
    return _NO_FREQ_DEFAULTS if key is None else _FREQ_DEFAULTS[key]


def freq_kind(freq: str | None) -> str | None:
    """The unit of a pandas frequency string, as _FREQ_DEFAULTS names it (`2h` → `h`, `W-SUN` → `W`); None: none."""
    if freq is None or freq == "C":
        return None
    prefix = re.sub(r"^\d+", "", freq).split("-")[0]
    for key in sorted(_FREQ_DEFAULTS, key=len, reverse=True):
        if prefix.startswith(key) or (key == "Y" and prefix.startswith("A")):
            return key
    return None


# ---------------------------------------------------------------------------- calendar inputs

_CALENDAR = {  # name: (value from a DatetimeIndex, period)
    "hour": (lambda i: i.hour + i.minute / 60, 24),
    "dayofweek": (lambda i: i.day_of_week, 7),
    "month": (lambda i: i.month - 1, 12),
}


def calendar_parts(index: pd.Index, zone: str | None = None) -> list[str]:
    """The calendar cycles that vary over `index` on `zone`'s wall clock (hourly data: all three; monthly: month)."""
    if not isinstance(index, pd.DatetimeIndex):
        raise UsageError("--calendar needs a date/time column; this data has row numbers")
    index = shown(index, zone)
    return [name for name, (value, _) in _CALENDAR.items() if len(np.unique(np.asarray(value(index)))) > 1]


def calendar_features(index: pd.DatetimeIndex, parts: list[str], zone: str | None = None) -> np.ndarray:
    """sin/cos of each calendar cycle at each time stamp: (T, 2 * len(parts)).

    `index` holds naive UTC for zoned data; the cycles are read on `zone`'s wall clock (the hour a shop
    opens is 9 in winter and summer alike), so a daylight-saving change does not shift them by an hour.
    """
    index = shown(index, zone)
    columns = []
    for name in parts:
        value, period = _CALENDAR[name]
        angle = 2 * np.pi * np.asarray(value(index), dtype=np.float64) / period
        columns += [np.sin(angle), np.cos(angle)]
    return np.stack(columns, axis=1) if columns else np.zeros((len(index), 0))


def future_index(data_meta: dict, last: object, horizon: int) -> pd.Index:
    """The `horizon` time stamps after `last`, continuing the training frequency (on --freq C's week);
    naive UTC, like every stamp inside (`shown` puts them in the data's zone for output)."""
    freq, zone = data_meta.get("freq"), data_meta.get("zone")
    if freq:
        step = offset(freq, data_meta.get("time_read", {}).get("weekmask"))
        return _local_range(last, horizon, step, zone, after=True)
    if data_meta.get("time_kind") == "datetime":  # irregular time: number the steps after the end
        return pd.RangeIndex(1, horizon + 1)
    step = data_meta.get("step") or 1
    return pd.Index([last + step * (k + 1) for k in range(horizon)])


def as_time(data_meta: dict, value: object) -> object:
    """A saved training end (ISO text for dates, a number for steps) as the data's index holds it."""
    return pd.Timestamp(value) if data_meta.get("time_kind") == "datetime" else value


def forecast_stamps(data_meta: dict, last: object, horizon: int) -> list:
    """The `horizon` stamps after `last` as outputs write them before `stamps` shortens a column of
    midnights: ISO text in the data's zone (with its offset), or step numbers. `fit` saves them per
    training end (series "next_stamps"), so a forecast from the saved contexts needs no pandas."""
    index = shown(future_index(data_meta, last, horizon), data_meta.get("zone"))
    if isinstance(index, pd.DatetimeIndex):
        return [t.isoformat() for t in index]
    return [v.item() if hasattr(v, "item") else v for v in index]


def context_index(
    freq: str | None, end: object, length: int, weekmask: str | None = None, zone: str | None = None
) -> pd.Index:
    """The time stamps of the `length` rows that end at `end` (a saved context), on the frequency's grid;
    naive UTC. In a `zone` the grid is laid on its local clock (days step from local midnight to local
    midnight, 23 or 25 hours at a clock change), as `future_index` continues it."""
    if not freq:
        return pd.RangeIndex(length)
    return _local_range(end, length, offset(freq, weekmask), zone, after=False)


def grid_between(
    freq: str, first: object, last: object, weekmask: str | None = None, zone: str | None = None
) -> pd.DatetimeIndex:
    """The frequency's grid from `first` to `last` (naive UTC, on the zone's local clock as `context_index`)."""
    a, b = shown(pd.DatetimeIndex([pd.Timestamp(first), pd.Timestamp(last)]), zone)
    stamps = pd.date_range(a, b, freq=offset(freq, weekmask))
    return stamps.tz_convert("UTC").tz_localize(None) if zone else stamps


@functools.lru_cache(maxsize=4096)  # new data of many series: each series' window and next step, few distinct ends
def _local_range(anchor: object, periods: int, step: object, zone: str | None, after: bool) -> pd.DatetimeIndex:
    """`periods` stamps every `step` just `after` the naive-UTC `anchor`, else ending at it, laid on the zone's
    local clock (days step from local midnight to local midnight); naive UTC, like every stamp inside (an index,
    immutable: cached and shared between calls)."""
    local = shown(pd.DatetimeIndex([pd.Timestamp(anchor)]), zone)[0]
    if after:
        stamps = pd.date_range(local, periods=periods + 1, freq=step)[1:]
    else:
        stamps = pd.date_range(end=local, periods=periods, freq=step)
    return stamps.tz_convert("UTC").tz_localize(None) if zone else stamps
