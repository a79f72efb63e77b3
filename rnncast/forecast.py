"""Forecasting: from a saved model and each series' context window to future values and their time stamps.

The same for one series or many; a single-series forecast is printed without an id column.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import torch

from rnncast import intervals, reading, timeindex
from rnncast.artifact import Artifact
from rnncast.errors import DataError, UsageError
from rnncast.model import Forecaster, ModelConfig
from rnncast.prepare import Inputs, Scaling, first_ids, fit_scaling, left_pad
from rnncast.reading import Collection
from rnncast.settings import Layout, ReadOptions
from rnncast.train import default_threads


@dataclass
class Forecast:
    """Future values in original units: per series one row per step, one column per target."""

    ids: list[str]
    id_name: str | None  # header of the id column; None: one series, no id column
    index: list[pd.Index]  # per series: the future time stamps (or step numbers)
    values: np.ndarray  # (S, H, T)
    targets: list[str]
    time_name: str  # header of the time column in outputs
    bounds: dict[float, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # level % → (lower, upper)

    def frame(self) -> pd.DataFrame:
        """[id,] time, then per target its forecast and `{target}_lower_{level}`, `{target}_upper_{level}`."""
        frames = []
        for k, sid in enumerate(self.ids):
            columns: dict[str, object] = {self.id_name: sid} if self.id_name else {}
            columns[self.time_name] = self.index[k]
            for j, target in enumerate(self.targets):
                columns[target] = self.values[k, :, j]
                for level, (lower, upper) in self.bounds.items():
                    columns[f"{target}_lower_{intervals.label(level)}"] = lower[k, :, j]
                    columns[f"{target}_upper_{intervals.label(level)}"] = upper[k, :, j]
            frames.append(pd.DataFrame(columns))
        return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


@dataclass
class Context:
    """The rows a forecast starts from: the last seq_len rows of one series (one the model knows, or `unseen`)."""

    number: int  # the series' position in the model (its scaler, its embedding row); unseen: the neutral row
    values: np.ndarray  # (L, F) original units
    index: pd.Index  # (L,) their time stamps
    last: object  # the last time stamp (or step)
    future: np.ndarray | None = None  # (H, F) the forecast steps' rows: only the --future-features are read
    unseen: tuple[str, Scaling] | None = None  # a series the model was not fitted on: its id, its own scaling


def model_inputs(art: Artifact) -> Inputs:
    """What the saved network reads besides the scaled values (calendar, inputs known ahead, series number)."""
    m, sm = art.meta["model"], art.meta["series"]
    ahead = m["horizon"] if m.get("n_ahead", 0) else 0
    future = len(art.meta["data"].get("future_features", []))
    zone = art.meta["data"].get("zone")
    return Inputs(sm["calendar"], m.get("id_embedding", 0) > 0, future, sm.get("calendar_ahead", False), ahead, zone)


def build_model(art: Artifact) -> Forecaster:
    """The network described by the file, with its weights."""
    torch.set_num_threads(default_threads())  # inference too: one thread is fastest for these small networks
    model = Forecaster(ModelConfig(**art.meta["model"]))
    model.load_state_dict(art.state_dict)
    return model.eval()


def series_scaling(art: Artifact, number: int) -> Scaling:
    return Scaling(art.scaling.kind, art.scaling.shift[number], art.scaling.scale[number])


def saved_contexts(art: Artifact) -> list[Context]:
    """The context saved with each series at the end of its training data."""
    meta, sm = art.meta["data"], art.meta["series"]
    seq_len = art.meta["model_seq_len"]
    out = []
    for i, end in enumerate(sm["ends"]):
        last = pd.Timestamp(end) if meta.get("time_kind") == "datetime" else end
        index = timeindex.context_index(meta.get("freq"), end, seq_len, meta.get("time_read", {}).get("weekmask"))
        out.append(Context(i, art.context[i], index, last))
    return out


def read_options_like(meta: dict) -> ReadOptions:
    """How to read new data so that its time column is found the way training found it."""
    calendar = len(meta.get("time_parts", [])) > 1  # e.g. year + quarter: detect them again
    read = ReadOptions(time_col=None if calendar else meta["time_col"] or "none")
    return replace(read, **meta.get("time_read", {}))  # the date format, --freq, --weekmask and --tz of fit


def read_like_model(
    art: Artifact, source: str | Path | IO[str], read: ReadOptions | None = None, ids: tuple[str, ...] = ()
) -> Collection:
    """Read new data in the layout, and with the time, target and feature columns, the model was trained on."""
    meta, sm = art.meta["data"], art.meta["series"]
    layout = Layout(sm["id_col"], sm["wide"])
    future = tuple(meta.get("future_features", []))
    read = replace(read or read_options_like(meta), features=tuple(meta["features"]), future_features=future)
    frame = reading.read_table(source)
    if layout.wide:
        read = replace(read, targets=read.targets or tuple(s for s in sm["ids"] if not ids or s in ids))
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
    return reading.collect(frame, read, layout)


def staleness(meta: dict, freq: str | None, last: object, trained_end: object) -> list[str]:
    """Refuse new data at another frequency; warn when it ends before the training data did."""
    if meta.get("freq") and freq and freq != meta["freq"]:
        raise DataError(f"data frequency {freq} differs from the model's {meta['freq']}; resample or retrain")
    if meta.get("time_kind") == "datetime" and pd.Timestamp(last) < pd.Timestamp(trained_end):
        last, end = timeindex.shown(pd.DatetimeIndex([last, trained_end]), meta.get("zone"))
        return [f"data ends at {timeindex.stamp(last)}, before the model's training end {timeindex.stamp(end)}"]
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


def contexts_from(art: Artifact, coll: Collection, unseen: bool = False) -> tuple[list[Context], list[str]]:
    """Each known series' last seq_len rows of new data, checked against the model. Returns (contexts, warnings).

    `unseen`: a series the model was not fitted on is forecast from its own last rows, scaled by a scaler
    fitted on them (and, with an id embedding, the mean of the learned embeddings), with a warning.
    """
    meta, sm = art.meta["data"], art.meta["series"]
    seq_len, known, many = art.meta["model_seq_len"], sm["ids"], coll.layout.many
    warnings = reading.collection_notes(coll)
    contexts, padded = [], []
    for sid, s in zip(coll.ids, coll.series, strict=True):
        where = f"series {sid!r}: " if many else ""
        if sid not in known and not unseen:
            warnings.append(f"series {sid!r} is not in the model; skipped")
            continue
        own = s.values[-seq_len:]  # an unseen series is scaled on these, never on padding (as fit's scalers)
        if len(s) < seq_len:
            if not many:
                raise DataError(f"data has {len(s)} rows; the model needs the last {seq_len}; give a longer history")
            padded.append(sid)
            if s.freq is None and len(s) < 3 and meta.get("freq"):  # too few rows to infer one: the model's grid
                s = replace(s, freq=meta["freq"])
            s = left_pad(s, seq_len - len(s))
        same_clock(meta, s.zone, where)
        context = Context(len(known), s.values[-seq_len:], s.index[-seq_len:], s.index[-1])
        if sid not in known:
            if meta.get("freq") and s.freq and s.freq != meta["freq"]:
                raise DataError(f"{where}data frequency {s.freq} differs from the model's {meta['freq']}; resample it")
            context.unseen = (sid, fit_scaling(own, art.scaling.kind))
            neutral = ", and the mean of the learned series embeddings" if art.meta["model"].get("id_embedding") else ""
            warnings.append(
                f"series {sid!r} is not in the model; forecast from its own last {len(own)} rows, scaled on them"
                f"{neutral}; refit to learn it"
            )
        else:
            context.number = known.index(sid)
            warnings += [f"{where}{n}" for n in staleness(meta, s.freq, s.index[-1], sm["ends"][context.number])]
        contexts.append(context)
    if padded:
        warnings.append(
            f"{len(padded)} series ({first_ids(padded)}) have fewer than the {seq_len} rows the model reads; "
            "padded at the start with their first value, as fit pads short series"
        )
    return contexts, warnings


def series_id(art: Artifact, c: Context) -> str:
    return c.unseen[0] if c.unseen else art.meta["series"]["ids"][c.number]


def context_scaling(art: Artifact, c: Context) -> Scaling:
    return c.unseen[1] if c.unseen else series_scaling(art, c.number)


def with_neutral_id(model: Forecaster) -> Forecaster:
    """The model with one more series embedding row, the mean of the learned ones: for series it never saw."""
    for net in model.nets:
        weight = net.embed.weight.detach()
        net.embed = torch.nn.Embedding.from_pretrained(torch.cat([weight, weight.mean(0, keepdim=True)]))
    return model


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
    keys = frame[id_col].astype(str).to_numpy() if id_col else None
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
        stamps, own = future_index(meta, c.last, horizon), pd.Index(index[rows])
        twice = own[own.duplicated()]
        if len(twice):  # get_indexer cannot choose between them
            count, which = int((own == twice[0]).sum()), f" of series {sid!r}" if id_col else ""
            raise DataError(
                f"--future has {count} rows for {timeindex.stamp(timeindex.shown(twice, meta.get('zone'))[0])}{which}; "
                "which value holds is unclear: keep one row per time stamp"
            )
        where = own.get_indexer(stamps)
        if (where < 0).any():
            first, last = timeindex.shown(pd.Index([stamps[int(np.argmax(where < 0))], c.last]), meta.get("zone"))
            which = f" of series {sid!r}" if id_col else ""
            raise DataError(
                f"--future has no row for {timeindex.stamp(first)}{which}; the model reads {', '.join(future)} for "
                f"each of its {horizon} forecast steps after {timeindex.stamp(last)}: add that row"
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


@torch.no_grad()
def predict(art: Artifact, model: Forecaster, contexts: list[Context]) -> np.ndarray:
    """Run the network once over every context: (S, H, T) in original units.

    A model that reads inputs known ahead gets those of each context's forecast steps (`Context.future`,
    the calendar from their stamps); the caller has given `future` where the model has --future-features.
    """
    cfg, inputs = model.config, model_inputs(art)
    if cfg.id_embedding and any(c.unseen for c in contexts):
        model = with_neutral_id(model)
    rows = []
    for c in contexts:
        values, index = c.values, c.index
        if inputs.ahead:  # the forecast steps' rows after the context: their known inputs ride on its last row
            assert c.future is not None or not inputs.n_future, "forecast_file asks for --future first"
            future = c.future if c.future is not None else np.full((cfg.horizon, values.shape[1]), np.nan)
            values = np.concatenate([values, future])
            index = index.append(future_index(art.meta["data"], c.last, cfg.horizon))
        rows.append(inputs.rows(context_scaling(art, c).transform(values), index, c.number)[: len(c.values)])
    scaled = model(torch.as_tensor(np.stack(rows), dtype=torch.float32)).double().numpy()  # (S, H, T)
    t = cfg.n_targets
    return clipped(
        art, np.stack([context_scaling(art, c).inverse(scaled[k], slice(0, t)) for k, c in enumerate(contexts)])
    )


def clipped(art: Artifact, values: np.ndarray) -> np.ndarray:
    """Values (forecasts or bounds) at or above zero for a model fitted non-negative (count data), else as they are."""
    return np.maximum(values, 0) if art.meta.get("non_negative", False) else values


def future_index(data_meta: dict, last: object, horizon: int) -> pd.Index:
    """The `horizon` time stamps after `last`, continuing the training frequency (on --freq C's week);
    naive UTC, like every stamp inside (`timeindex.shown` puts them in the data's zone for output)."""
    freq, zone = data_meta.get("freq"), data_meta.get("zone")
    if freq:
        step = timeindex.offset(freq, data_meta.get("time_read", {}).get("weekmask"))
        start = timeindex.shown(pd.DatetimeIndex([pd.Timestamp(last)]), zone)[0]  # days step on the local clock
        stamps = pd.date_range(start, periods=horizon + 1, freq=step)[1:]
        return stamps.tz_convert("UTC").tz_localize(None) if zone else stamps
    if data_meta.get("time_kind") == "datetime":  # irregular time: number the steps after the end
        return pd.RangeIndex(1, horizon + 1)
    step = data_meta.get("step") or 1
    return pd.Index([last + step * (k + 1) for k in range(horizon)])


def interval(art: Artifact, point: np.ndarray, context: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Conformal (lower, upper) around point forecasts (..., H, T) made from context rows (..., L, F)."""
    history = context[..., : point.shape[-1]]  # the target columns come first
    lower, upper = intervals.bounds(point, art.val_residuals, level, art.val_scales, history)
    return clipped(art, lower), clipped(art, upper)


def check_future(art: Artifact, future: object) -> None:
    """A model with --future-features forecasts only with their values for the forecast steps (`--future FILE`)."""
    names = art.meta["data"].get("future_features", [])
    if names and future is None:
        raise UsageError(
            f"this model reads {', '.join(map(repr, names))} for its forecast steps; give their values with "
            f"--future FILE (the time column{', the id column' if art.meta['series']['id_col'] else ''} and "
            f"{', '.join(names)}, one row per step)"
        )
    if future is not None and not names:
        raise UsageError("--future is for models fitted with --future-features; this one has none: drop --future")


def check_horizon(art: Artifact, horizon: int | None) -> int:
    trained = art.meta["model"]["horizon"]
    horizon = trained if horizon is None else horizon
    if not 1 <= horizon <= trained:
        raise UsageError(
            f"--horizon {horizon} is outside 1..{trained}, what this model was trained for; "
            f"refit with --horizon {horizon} for longer forecasts"
        )
    return horizon


def check_ids(art: Artifact, ids: tuple[str, ...], with_data: bool = False) -> None:
    """Refuse --id on a single-series model, and (without new data, where an unseen series may be) unknown ids."""
    known = art.meta["series"]["ids"]
    if ids and art.meta["series"]["id_col"] is None and not art.meta["series"]["wide"]:
        raise UsageError("--id is for models fitted on many series (--id-col or --wide); this one has one")
    for sid in () if with_data and art.meta["series"]["id_col"] else ids:
        if sid not in known:
            shown = ", ".join(known[:10]) + (", …" if len(known) > 10 else "")
            raise UsageError(f"--id {sid!r} is not a series of this model; it has {len(known)}: {shown}")


def forecast(
    art: Artifact,
    contexts: list[Context] | None = None,
    horizon: int | None = None,
    levels: tuple[float, ...] = (),
    ids: tuple[str, ...] = (),
) -> tuple[Forecast, list[str]]:
    """Forecast the next `horizon` steps after each context (default: the contexts saved in the file).

    `levels` (percent) add split-conformal prediction intervals from the saved validation residuals;
    `ids` keep only those series. Returns (forecast, warnings). The caller has checked `horizon`,
    `levels` and `ids` (`check_horizon`, `settings.validate_levels`, `check_ids`).
    """
    horizon = art.meta["model"]["horizon"] if horizon is None else horizon
    assert 1 <= horizon <= art.meta["model"]["horizon"], horizon  # check_horizon refused it where it entered
    sm, meta = art.meta["series"], art.meta["data"]
    contexts = saved_contexts(art) if contexts is None else contexts
    given = {series_id(art, c) for c in contexts}
    warnings = [f"series {sid!r} is not in the data; no forecast for it" for sid in ids if sid not in given]
    if ids:
        contexts = [c for c in contexts if series_id(art, c) in ids]
    if not contexts:
        raise DataError("the data holds none of the model's series; check --id-col values")
    values = predict(art, build_model(art), contexts)[:, :horizon]  # (S, H, T)
    bounds = {}
    for level in levels:
        pairs = [interval(art, values[k], c.values, level) for k, c in enumerate(contexts)]
        bounds[level] = (np.stack([lo for lo, _ in pairs]), np.stack([hi for _, hi in pairs]))
    result = Forecast(
        ids=[series_id(art, c) for c in contexts],
        id_name=Layout(sm["id_col"], sm["wide"]).id_name,
        index=[timeindex.shown(future_index(meta, c.last, horizon), meta.get("zone")) for c in contexts],
        values=values,
        targets=meta["targets"],
        time_name=meta.get("time_col") or "step",
        bounds=bounds,
    )
    return result, warnings
