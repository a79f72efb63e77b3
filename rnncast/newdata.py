"""New data for a saved model: read in the layout and columns the model was trained on, each series'
last rows as the contexts a forecast starts from, and the --future values of the forecast steps.

Apart from forecast.py, which needs no pandas: a forecast from the contexts saved in the model file
imports none of this.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from rnncast import collection, reading, timeindex
from rnncast.artifact import Artifact
from rnncast.collection import Collection
from rnncast.errors import DataError
from rnncast.forecast import Context, series_id
from rnncast.settings import Layout, ReadOptions
from rnncast.windowing import first_ids, fit_scaling, left_pad


def read_options_like(meta: dict) -> ReadOptions:
    """How to read new data so that its time column is found, and its blanks filled, the way training did
    (files written before --fill was saved: interpolate, the default)."""
    calendar = len(meta.get("time_parts", [])) > 1  # e.g. year + quarter: detect them again
    read = ReadOptions(time_col=None if calendar else meta["time_col"] or "none")
    return replace(read, **meta.get("time_read", {}))  # fit's date format, --freq, --weekmask, --tz and --fill


def read_like_model(
    art: Artifact,
    source: str | Path | IO[str],
    read: ReadOptions | None = None,
    ids: tuple[str, ...] = (),
    blanks: bool = False,
) -> Collection:
    """Read new data in the layout, and with the time, target and feature columns, the model was trained on;
    `ids`: those series alone. Blanks are filled as fit filled its data, or with `blanks` left for
    `fill_like_model`, once `behind_saved` has put the saved rows before a few new ones (fit's --fill drop
    drops their rows then: a blank first row is a row that continues the saved ones)."""
    meta, sm = art.meta["data"], art.meta["series"]
    layout = Layout(sm["id_col"], sm["wide"])
    future = tuple(meta.get("future_features", []))
    read = replace(read or read_options_like(meta), features=tuple(meta["features"]), future_features=future)
    policy = read.fill
    if blanks:
        read = replace(read, fill=reading.KEEP_BLANKS)
    frame = reading.read_table(source)
    if layout.wide:
        read = replace(read, targets=read.targets or wide_series(art, frame, ids))
        needed = list(read.features + future)
    else:
        read = replace(read, targets=tuple(meta["targets"]))
        needed = ([layout.id_col] if layout.id_col else []) + meta["targets"] + meta["features"] + list(future)
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataError(
            f"the data lacks column(s) {', '.join(map(repr, missing))} the model was trained on; "
            f"its columns are: {', '.join(frame.columns)}; pass data with the training columns"
        )
    try:
        coll = collection.collect(frame, read, layout)
    except reading.FillRefused as exc:
        raise fill_refused(exc.what, policy) from None
    coll = ids_like_model(coll, sm["ids"])
    if layout.wide and blanks:  # every column's rows: reading drops a column's blank rows before its first value
        coll = replace(coll, rows=timeindex.time_index(frame, read, []).index)
    if ids:  # the series asked for alone: another series' warnings are not said, nor refused under --strict
        kept = [(sid, one) for sid, one in zip(coll.ids, coll.series, strict=True) if sid in ids]
        if not kept:
            raise ids_not_in_data(ids, coll.ids)
        coll = replace(coll, ids=[sid for sid, _ in kept], series=[one for _, one in kept])
    return coll


def known_ids(ids, known: list[str]) -> list[str]:
    """A model fitted before whole-number float ids were read as integers knows series `1.0`: new data's `1`
    is that series."""
    have = set(known)
    return [sid if sid in have or f"{sid}.0" not in have else f"{sid}.0" for sid in ids]


def ids_like_model(coll: Collection, known: list[str]) -> Collection:
    """`coll` with its ids named as the model names them (`known_ids`)."""
    renamed = known_ids(coll.ids, known)
    return coll if renamed == coll.ids else replace(coll, ids=renamed)


def ids_not_in_data(ids: tuple[str, ...], held: list[str]) -> DataError:
    """--id naming only series the new data lacks (though the model knows them)."""
    named = ", ".join(map(repr, ids))
    return DataError(f"--id {named} {'is' if len(ids) == 1 else 'are'} not in the data; "
                     f"it holds {len(held)} series: {first_ids(held)}")  # fmt: skip


def fill_refused(what: str, policy: str) -> DataError:
    """Blanks that fit's --fill `policy` refuses in new data: there is no --fill here (fit's, saved in the model)."""
    if policy == "error":
        return DataError(f"{what}; fill it: the model was fitted with --fill error, which refuses blanks")
    return DataError(
        f"{what}; clean the data: new data's blanks are filled as fit's were (--fill {policy}), "
        f"up to {reading.MAX_MISSING_FRAC:.0%} of a column"
    )


def fill_like_model(art: Artifact, coll: Collection) -> Collection:
    """Fill the blanks `read_like_model(blanks=True)` left, as fit filled its data (its --fill; drop: their rows
    dropped), in each series as it now stands: behind the saved rows where `behind_saved` put them there, so
    a blank in a few new rows is filled from the rows before it, and the share of blanks that --fill
    interpolate allows is of the window."""
    policy = read_options_like(art.meta["data"]).fill
    series, refused = collection.fill_blanks(coll.series, policy)
    if refused is not None:  # its message, as a file of that series alone would give it
        sid, s = coll.ids[refused], coll.series[refused]
        names = [sid if coll.layout.wide else t for t in s.targets] + list(s.features)  # as the file calls them
        try:
            reading.fill_missing(pd.DataFrame(s.values, index=s.index, columns=names), policy, [], s.zone, s.freq)
        except reading.FillRefused as exc:
            raise fill_refused(f"series {sid!r}: {exc.what}" if coll.layout.many else exc.what, policy) from None
    return replace(coll, series=series)


def wide_series(art: Artifact, frame: pd.DataFrame, ids: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The series of new wide data: the model's columns it has (or those `ids` pick), then every other numeric
    column that is neither time nor an input, as fit would have taken it: an unseen series (`contexts_from`)."""
    meta, known = art.meta["data"], art.meta["series"]["ids"]
    present = [c for c in known if c in frame.columns and (not ids or c in ids)]
    inputs = {*meta["features"], *meta.get("future_features", []), *meta.get("time_parts", []), meta.get("time_col")}
    new = (
        []
        if ids
        else [c for c in frame.columns if c not in known and c not in inputs and collection.numeric_column(frame[c])]
    )
    if ids and not present:
        raise ids_not_in_data(ids, [c for c in known if c in frame.columns])
    if not present and not new:
        raise DataError(
            f"the data holds none of the model's series ({first_ids(known)}) and no other numeric column; "
            f"its columns are: {', '.join(map(str, frame.columns))}; pass data with the training columns"
        )
    return (*present, *new)


def same_grid(meta: dict, freq: str | None, where: str = "") -> None:
    """Refuse new data at another frequency than the model's: its steps would not be the model's steps."""
    if meta.get("freq") and freq and freq != meta["freq"]:
        raise DataError(f"{where}data frequency {freq} differs from the model's {meta['freq']}; resample or retrain")


def staleness(meta: dict, last: object, trained_end: object) -> list[str]:
    """Warn when new data ends before the training data did."""
    if meta.get("time_kind") == "datetime" and pd.Timestamp(last) < pd.Timestamp(trained_end):
        last, end = timeindex.shown(pd.DatetimeIndex([last, trained_end]), meta.get("zone"))
        freq = meta.get("freq")
        return [
            f"data ends at {timeindex.stamp(last, freq)}, before the model's training end {timeindex.stamp(end, freq)}"
        ]
    return []


def same_clock(meta: dict, zone: str | None, where: str = "") -> None:
    """Refuse new data whose stamps are zoned when the model's were not, or the other way round:
    naive stamps cannot be placed against UTC ones without knowing their zone."""
    if meta.get("time_kind") != "datetime" or (zone is None) == (meta.get("zone") is None):
        return
    if zone is None:
        raise DataError(
            f"{where}the data's time stamps carry no UTC offset, the model's did ({meta['zone']}); "
            "write them with their offset, or refit with --tz ZONE on the same kind of stamps"
        )
    raise DataError(
        f"{where}the data's time stamps carry a UTC offset ({zone}), the model's had none; "
        "pass stamps as the training data wrote them, or refit on stamps with offsets"
    )


def same_grids(art: Artifact, coll: Collection) -> None:
    """`same_clock` and `same_grid` for each series of new data the model knows: what `contexts_from` checks,
    for the commands that read the data's own windows or rows instead (diagnose --model, plot DATA)."""
    for sid, s in zip(coll.ids, coll.series, strict=True):
        if sid in art.meta["series"]["ids"]:
            where = f"series {sid!r}: " if coll.layout.many else ""
            same_clock(art.meta["data"], s.zone, where)
            same_grid(art.meta["data"], s.freq, where)


def contexts_from(
    art: Artifact, coll: Collection, unseen: bool = False, follows: bool = False, pad: bool = True
) -> tuple[list[Context], list[str]]:
    """Each known series' last seq_len rows of new data, checked against the model. Returns (contexts, warnings).

    `unseen`: a series the model was not fitted on is forecast from its own last rows, scaled by a scaler
    fitted on them (and, with an id embedding, the mean of the learned embeddings), with a warning.
    A series shorter than the window is padded (many series; left out instead where not `pad`: a caller
    that skips it) or refused (one); `follows`: the caller read the series behind their saved rows
    (`behind_saved`), so the refusal names the step that rows since fit must start from.
    """
    meta, sm = art.meta["data"], art.meta["series"]
    seq_len, numbers, many = art.meta["model_seq_len"], known_numbers(art), coll.layout.many
    warnings = collection.collection_notes(coll)
    contexts, padded = [], []
    for sid, s in zip(coll.ids, coll.series, strict=True):
        where = f"series {sid!r}: " if many else ""
        if sid not in numbers and not unseen:
            warnings.append(f"series {sid!r} is not in the model; skipped")
            continue
        if not len(s):  # a --wide column blank in every row of new data, not read behind saved rows
            raise DataError(f"--wide: column {sid!r} is blank in every row; drop it")
        own = s.values[-seq_len:]  # an unseen series is scaled on these, never on padding (as fit's scalers)
        if len(s) < seq_len:
            if not many:
                step = next_step(meta, sm["ends"][0]) if follows else ""  # none: no rows can follow
                raise DataError(
                    f"data has {len(s)} rows; the model needs the last {seq_len}; give a longer history"
                    + (f", or rows that continue the training data{step}" if step else "")
                )
            if not pad:
                continue
            padded.append(sid)
            if s.freq is None and len(s) < 3 and meta.get("freq"):  # too few rows to infer one: the model's grid
                s = replace(s, freq=meta["freq"])
            s = left_pad(s, seq_len - len(s))
        same_clock(meta, s.zone, where)
        same_grid(meta, s.freq, where)
        context = Context(len(numbers), s.values[-seq_len:], s.index[-seq_len:], s.index[-1])
        if sid not in numbers:
            context.unseen = (sid, fit_scaling(own, art.scaling.kind))
            neutral = ", and the mean of the learned series embeddings" if art.meta["model"].get("id_embedding") else ""
            warnings.append(
                f"series {sid!r} is not in the model; forecast from its own last {len(own)} rows, scaled on them"
                f"{neutral}; refit to learn it"
            )
        else:
            context.number = numbers[sid]
            warnings += [f"{where}{n}" for n in staleness(meta, s.index[-1], sm["ends"][context.number])]
        contexts.append(context)
    if padded:
        warnings.append(
            f"{len(padded)} series ({first_ids(padded)}) have fewer than the {seq_len} rows the model reads; "
            "padded at the start with their first value, as fit pads short series"
        )
    return contexts, warnings


def behind_saved_rows(
    art: Artifact, number: int, s: reading.Series, blank: pd.DatetimeIndex | None = None
) -> reading.Series | None:
    """`s` behind the training rows the model file keeps for series `number` (its saved context), up to the
    step before `s` begins; new rows replace saved ones at the same stamps (not where blank). None where `s`
    does not continue them (it begins before the saved rows or after a gap too long to fill, ends before the
    training end, or its rows are off the model's grid). A few new rows with missing periods after the training
    end or among them (a skipped hour of a cron job's log, too few rows to infer the grid from) are put on the
    grid as the whole history would be: blank rows where they are missing, to be filled (or, with fit's --fill drop,
    dropped) by `fill_like_model`, as long as --fill would fill that many (`reading.MAX_MISSING_FRAC` of the
    rows) and fit's --fill is not error (the refusal then says where new rows must start). `blank`: the
    file's rows after the training end that reading dropped before the first value of `s` (a wide file's
    column blank there): in the file, not missing.
    A series shorter than the window in training gives only its real rows, not fit's padding before them:
    the result may be shorter than seq_len, to be padded as the whole history would be."""
    meta, sm, seq_len = art.meta["data"], art.meta["series"], art.meta["model_seq_len"]
    freq = meta.get("freq")
    if meta.get("time_kind") != "datetime" or not freq:
        return None  # a few rows may infer another frequency (Mon-Wed: D, not B): the grid is checked below
    real = min(seq_len, sm.get("rows", [seq_len] * len(sm["ids"]))[number])  # fewer: fit padded the rest
    end = pd.Timestamp(sm["ends"][number])
    weekmask, zone = meta.get("time_read", {}).get("weekmask"), meta.get("zone")
    saved = timeindex.context_index(freq, end, real, weekmask, zone)
    values = art.context[number][seq_len - real :]
    if not len(s):  # every new row dropped (fit's --fill drop): the whole history ends at the training end
        return replace(s, values=values, index=saved.rename(s.index.name), freq=freq)
    if s.index[-1] < end:
        return None  # the saved rows after it would be dropped: a window shorter than seq_len
    start = s.index[0] if blank is None or not len(blank) else blank[0]
    if start < saved[0]:
        return None  # not the saved rows' continuation: a window of its own, or too short for one
    old = saved.get_indexer(s.index)  # a blank at a saved stamp (a step reading added among a few rows) keeps its value
    given = np.where(np.isnan(s.values) & (old >= 0)[:, None], values[old], s.values)
    keep = saved < start
    index = saved[keep].append(s.index).rename(s.index.name)
    if index.equals(timeindex.context_index(freq, s.index[-1], len(index), weekmask, zone)):
        return replace(s, values=np.concatenate([values[keep], given]), index=index, freq=freq)
    if len(s) >= seq_len:
        return None  # a window of its own: read as the whole history's last rows would be
    grid = timeindex.grid_between(freq, saved[0], s.index[-1], weekmask, zone).rename(s.index.name)
    at, blank_at = grid.get_indexer(s.index), grid.get_indexer(blank if blank is not None else s.index[:0])
    if (at < 0).any() or (blank_at < 0).any():
        return None  # a step off the model's grid
    known = np.zeros(len(grid), dtype=bool)
    known[: len(saved)] = known[at] = known[blank_at] = True  # rows from before the training end keep the saved ones
    added = int((~known).sum())
    gap = int(((grid > end) & (grid < start)).sum())  # missing right after the training end
    if gap and (read_options_like(meta).fill == "error" or added > reading.MAX_MISSING_FRAC * len(grid)):
        return None  # --fill error would refuse it, or too long to fill: rows must start after the training end
    rows = np.full((len(grid), s.values.shape[1]), np.nan)
    rows[: len(saved)], rows[at] = values, given
    notes = [*s.notes, f"{added} missing time step(s) added on the {freq} grid and filled"] if added else s.notes
    return replace(s, values=rows, index=grid, freq=freq, notes=notes)


def behind_saved(art: Artifact, coll: Collection) -> tuple[Collection, dict[str, tuple[int, int, pd.Timestamp]]]:
    """Every known series of `coll` that continues its training data, read behind the rows the model saved
    (`behind_saved_rows`): DATA may hold only the rows since fit. Returns (the collection, for each series
    that took saved rows: how many of its rows are from DATA's first or the training end's next step on,
    whichever is earlier, how many rows DATA has (a wide column's blank first ones too), and DATA's first
    stamp)."""
    numbers, ends, series, took = known_numbers(art), art.meta["series"]["ends"], [], {}
    rows = coll.rows if isinstance(coll.rows, pd.DatetimeIndex) else None
    for sid, s in zip(coll.ids, coll.series, strict=True):
        number, blank = numbers.get(sid), pd.DatetimeIndex([])
        if number is not None and rows is not None and len(s):  # a wide column's blank first rows, trimmed by reading
            blank = rows[(rows > pd.Timestamp(ends[number])) & (rows < s.index[0])]
        longer = behind_saved_rows(art, number, s, blank) if number is not None else None
        if longer is not None and len(longer) > len(s):
            if len(s):  # none: every row dropped, as the drop note says
                start = blank[0] if len(blank) else s.index[0]
                after = min(start, pd.Timestamp(ends[number]) + pd.Timedelta(1))  # a gap after the end: from it
                took[sid] = (int((longer.index >= after).sum()), len(s) + len(blank), start)
            s = longer
        series.append(s)
    return replace(coll, series=series), took


def known_numbers(art: Artifact) -> dict[str, int]:
    """Each series the model knows: its number (its row in the saved tensors), looked up once per series."""
    return {sid: k for k, sid in enumerate(art.meta["series"]["ids"])}


def saved_rows_note(art: Artifact, coll: Collection, took: dict[str, tuple[int, int, pd.Timestamp]]) -> list[str]:
    """What `forecast` says of the windows that took saved rows (DATA shorter than the window): one line, for
    many series naming the first few. A note, not a warning: --strict accepts it (not the missing steps added
    among the new rows, a warning of their own)."""
    seq_len, meta = art.meta["model_seq_len"], art.meta["data"]
    short = [sid for sid, (own, *_) in took.items() if own < seq_len]
    if len(short) > 1:  # a cron job's log over many series: one line, as for padded series
        return [
            f"{len(short)} series ({first_ids(short)}) have fewer than the {seq_len} rows the model reads and "
            "continue their training data: the rows before them are the training data's last, saved in the model"
        ]
    notes = []
    for sid in short:
        s, (own, given, start) = coll.series[coll.ids.index(sid)], took[sid]
        where = f"series {sid!r}: " if coll.layout.many else ""
        notes.append(
            f"{where}data has {given} row(s), from {timeindex.shown_stamp(start, meta.get('zone'), meta.get('freq'))}; "
            f"the {min(len(s), seq_len) - own} rows before them are the training data's last, saved in the model"
        )
    return notes


def next_step(meta: dict, end: object) -> str:
    """` (from 2016-06-01 on)`: the step after a single-series model's training end; '' without dates."""
    if meta.get("time_kind") != "datetime" or not meta.get("freq"):
        return ""
    return f" (from {timeindex.shown_stamp(timeindex.future_index(meta, pd.Timestamp(end), 1)[0], meta.get('zone'), meta['freq'])} on)"


def future_rows(art: Artifact, contexts: list[Context], source: str | Path | IO[str]) -> None:
    """Give each context the --future-features of its forecast steps, looked up by time stamp (and id) in `source`.

    Every step of the trained horizon needs a row: the network reads them all.
    """
    meta, sm = art.meta["data"], art.meta["series"]
    future, horizon = meta.get("future_features", []), art.meta["model"]["horizon"]
    frame = reading.read_table(source)
    id_col = sm["id_col"]
    missing = [c for c in [*([id_col] if id_col else []), *future] if c not in frame.columns]
    if missing:
        raise DataError(
            f"--future lacks column(s) {', '.join(map(repr, missing))}; its columns are: {', '.join(frame.columns)}; "
            f"give the time column{', ' + repr(id_col) if id_col else ''} and {', '.join(map(repr, future))}"
        )
    time_col = meta.get("time_col")
    if time_col in frame.columns and (blank := frame[time_col].isna().to_numpy()).any():
        # a blank stamp would otherwise read as a missing row, or turn the whole column into step numbers
        raise DataError(
            f"--future row {int(blank.argmax()) + 1}: the time column {time_col!r} is blank; give every row its time stamp"
        )
    keys = np.array(known_ids(collection.row_ids(frame[id_col]), sm["ids"]), dtype=object) if id_col else None
    time = future_times(frame, read_options_like(meta), keys)
    same_clock(meta, time.zone, "--future: ")  # offsets against wall-clock stamps (or not) would shift every row
    index = time.index  # naive UTC, as the model's stamps
    values = frame[future].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.isnan(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(
            f"--future row {row + 1}: {future[col]!r} is {frame[future[col]].iloc[row]!r}, not a number; "
            "the known future values must all be given"
        )
    for c in contexts:
        sid = series_id(art, c)
        rows = np.arange(len(frame)) if keys is None else np.flatnonzero(keys == sid)
        stamps, own = timeindex.future_index(meta, c.last, horizon), pd.Index(index[rows])
        twice = own[own.duplicated()]
        if len(twice):  # get_indexer cannot choose between them
            count, which = int((own == twice[0]).sum()), f" of series {sid!r}" if id_col else ""
            raise DataError(
                f"--future has {count} rows for {timeindex.shown_stamp(twice[0], meta.get('zone'), meta.get('freq'))}{which}; "
                "which value holds is unclear: keep one row per time stamp"
            )
        where = own.get_indexer(stamps)
        if (where < 0).any():
            first, last = timeindex.shown(
                pd.Index([stamps[int(np.argmax(where < 0))], timeindex.as_time(meta, c.last)]), meta.get("zone")
            )
            which = f" of series {sid!r}" if id_col else ""
            raise DataError(
                f"--future has no row for {timeindex.stamp(first, meta.get('freq'))}{which}; the model reads {', '.join(future)} for "
                f"each of its {horizon} forecast steps after {timeindex.stamp(last, meta.get('freq'))}: add that row"
            )
        c.future = np.full((horizon, c.values.shape[1]), np.nan)
        c.future[:, c.values.shape[1] - len(future) :] = values[rows[where]]


def future_times(frame: pd.DataFrame, read: ReadOptions, keys: np.ndarray | None) -> timeindex.TimeColumn:
    """The --future file's time index. With --tz and many series, each series' rows are placed on their own
    (in time order, the repeated hour at a clock change by its order), as DATA's are: rows in any order."""
    if keys is None or read.tz is None:
        return timeindex.time_index(frame, read, [])
    rows = [np.flatnonzero(keys == key) for key in np.unique(keys)]
    times = [timeindex.time_index(frame.iloc[r], read, []) for r in rows]
    stamps = np.concatenate([t.index.to_numpy() for t in times])[np.argsort(np.concatenate(rows), kind="stable")]
    return times[0]._replace(index=pd.DatetimeIndex(stamps, name=times[0].name))
