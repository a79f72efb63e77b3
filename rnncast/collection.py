"""Many series from one table: one series, long data (`--id-col`) or wide data (`--wide`) all become a
`Collection`, a list of `Series` with their ids; a single series is the case of one id.

Long and wide data are parsed once (`reading.parse_table`); sorting, repeated stamps, the frequency,
gaps, blanks and the value range are checked for every series together, and a series with a problem
is read on its own (`reading.to_series`) for its message.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from rnncast import timeindex
from rnncast.errors import DataError, UsageError
from rnncast.reading import (
    KEEP_BLANKS,
    MAX_ABS_VALUE,
    MAX_MISSING_FRAC,
    Series,
    Table,
    parse_table,
    read_table,
    to_series,
)
from rnncast.settings import ONE, Layout, ReadOptions


@dataclass
class Collection:
    """Series read from one file, each with its id; all share columns. One series: the id is ONE."""

    ids: list[str]
    series: list[Series]
    layout: Layout = field(default_factory=Layout)
    rows: pd.Index | None = None  # a wide file's time stamps, for new data (`newdata.read_like_model`)
    held_back: int = 0  # rows `head` cut from each series' end (a backtest's folds), for messages

    def head(self, rows_back: int) -> Collection:
        """Every series without its last `rows_back` rows (what was known `rows_back` steps ago)."""
        series = [s.head(max(len(s) - rows_back, 0)) for s in self.series]
        return replace(self, series=series, held_back=self.held_back + rows_back)


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


def id_texts(keys: pd.Index) -> list[str]:
    """Series ids as text. Whole numbers a float column holds are written as integers: `1.0` (a column of
    store numbers that pandas or a spreadsheet wrote as floats) is series `1`, as the same file with `1` says."""
    if pd.api.types.is_float_dtype(keys.dtype):
        values = keys.to_numpy()
        if np.isfinite(values).all() and (values == np.round(values)).all():
            return [str(int(v)) for v in values]
    return [str(k) for k in keys]


def row_ids(col: pd.Series) -> np.ndarray:
    """Each row's series id as text, as `_long` names the series (`id_texts`); a blank one is 'nan'."""
    codes, keys = pd.factorize(col)
    texts = np.array([*id_texts(pd.Index(keys)), "nan"], dtype=object)
    return texts[codes]  # code -1 (blank): the last, 'nan'


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
    if read.time_col is None and timeindex.holds_dates(pd.Series(keys, name=id_col), read):
        raise UsageError(
            f"--id-col {id_col!r} holds dates: it is the time column, not the series' names; give --id-col the "
            "column naming each row's series (or --time-col to read time from another column)"
        )
    ids = id_texts(keys)
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
        table = parse_table(body, read)
    except (DataError, UsageError):  # a bad value in a column: find the first series that holds it
        lo, hi = 0, len(ids)  # it is one of series lo .. hi-1: halve that range, reading one half (~2 file reads)
        while hi - lo > 1:
            half = (lo + hi) // 2
            try:
                parse_table(between(lo, half), read)
                lo = half
            except (DataError, UsageError):
                hi = half
        if lo:  # a problem of an earlier series' own is named first, as one by one
            _all_series(parse_table(between(0, lo), read), _Rows.of(codes[codes < lo], lo), read, alone)
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


def _all_series(table: Table, rows: _Rows, read: ReadOptions, alone) -> list[Series]:
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
    out = ~(np.abs(values) <= MAX_ABS_VALUE)  # ±inf, too large (NaN: left by a refusal)
    flagged |= _per_series(out & ~np.isnan(values) if read.fill == KEEP_BLANKS else out, starts)
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


def _regular_all(values, indexes, starts, stamps, table: Table, read: ReadOptions, freqs, notes, flagged):
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
    """`fill_missing` for every series at once: blanks filled per `policy`, one note per series filled."""
    blank = np.isnan(values)  # (N, F)
    if not blank.any() or policy == KEEP_BLANKS:
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


def fill_blanks(series: list[Series], policy: str) -> tuple[list[Series], int | None]:
    """Series read with their blanks (`KEEP_BLANKS`), each filled per `policy` (drop: its blank rows dropped)
    with its note, all at once as `_all_series` fills them. Returns (the series, the first one `policy`
    refuses, or None)."""
    todo = [i for i, s in enumerate(series) if np.isnan(s.values).any()]
    if not todo:
        return series, None
    starts = np.concatenate([[0], np.cumsum([len(series[i].values) for i in todo])])
    notes, flagged = [list(series[i].notes) for i in todo], np.zeros(len(todo), dtype=bool)
    values = np.concatenate([series[i].values for i in todo])  # a copy: filled in place
    values, indexes, starts = _fill_all(values, [series[i].index for i in todo], starts, policy, notes, flagged)
    out = list(series)
    for k, i in enumerate(todo):
        out[i] = replace(series[i], values=values[starts[k] : starts[k + 1]], index=indexes[k], notes=notes[k])
    return out, (todo[int(flagged.argmax())] if flagged.any() else None)


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
            if read.fill == KEEP_BLANKS:  # new data: rows since fit may hold none of a series' values
                return replace(probe, values=np.empty((0, 1 + len(read.features))), index=probe.index[:0],
                               targets=["value"], features=list(read.features), freq=None,
                               notes=["blank in every row of the data: forecast after its training end"])  # fmt: skip
            raise DataError(f"--wide: column {col!r} is blank in every row; drop it")
        first, last = present.argmax(), len(present) - present[::-1].argmax()
        rows = frame.iloc[first:last][time_parts + [col] + list(read.features)].reset_index(drop=True)
        return replace(to_series(rows, replace(one_read, targets=(col,))), targets=["value"])

    try:
        if frame[columns].isna().all().any():
            raise DataError("a blank column")  # named by `alone`, in column order
        table = parse_table(frame, replace(one_read, targets=tuple(columns)))
    except (DataError, UsageError):
        return columns, [alone(j) for j in range(len(columns))]
    return columns, _all_series(*_stacked_columns(table, columns), read, alone)


def _stacked_columns(table: Table, columns: list[str]) -> tuple[Table, _Rows]:
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
