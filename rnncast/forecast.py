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
from rnncast.prepare import Scaling, first_ids, left_pad, model_inputs
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
    """The rows a forecast starts from: the last seq_len rows of one series the model knows."""

    number: int  # the series' position in the model (its scaler, its embedding row)
    values: np.ndarray  # (L, F) original units
    index: pd.Index  # (L,) their time stamps
    last: object  # the last time stamp (or step)


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
        out.append(Context(i, art.context[i], timeindex.context_index(meta.get("freq"), end, seq_len), last))
    return out


def read_options_like(meta: dict) -> ReadOptions:
    """How to read new data so that its time column is found the way training found it."""
    calendar = len(meta.get("time_parts", [])) > 1  # e.g. year + quarter: detect them again
    return ReadOptions(time_col=None if calendar else meta["time_col"] or "none")


def read_like_model(
    art: Artifact, source: str | Path | IO[str], read: ReadOptions | None = None, ids: tuple[str, ...] = ()
) -> Collection:
    """Read new data in the layout, and with the time, target and feature columns, the model was trained on."""
    meta, sm = art.meta["data"], art.meta["series"]
    layout = Layout(sm["id_col"], sm["wide"])
    read = replace(read or read_options_like(meta), features=tuple(meta["features"]))
    frame = reading.read_table(source)
    if layout.wide:
        read = replace(read, targets=read.targets or tuple(s for s in sm["ids"] if not ids or s in ids))
        needed = list(read.features)
    else:
        read = replace(read, targets=tuple(meta["targets"]))
        needed = ([layout.id_col] if layout.id_col else []) + meta["targets"] + meta["features"]
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
        return [f"data ends at {timeindex.stamp(last)}, before the model's training end {timeindex.stamp(trained_end)}"]
    return []


def contexts_from(art: Artifact, coll: Collection) -> tuple[list[Context], list[str]]:
    """Each known series' last seq_len rows of new data, checked against the model. Returns (contexts, warnings)."""
    meta, sm = art.meta["data"], art.meta["series"]
    seq_len, known, many = art.meta["model_seq_len"], sm["ids"], coll.layout.many
    warnings = reading.collection_notes(coll)
    contexts, padded = [], []
    for sid, s in zip(coll.ids, coll.series, strict=True):
        where = f"series {sid!r}: " if many else ""
        if sid not in known:
            warnings.append(f"series {sid!r} is not in the model; skipped")
            continue
        if len(s) < seq_len:
            if not many:
                raise DataError(f"data has {len(s)} rows; the model needs the last {seq_len}; give a longer history")
            padded.append(sid)
            s = left_pad(s, seq_len - len(s))
        number = known.index(sid)
        warnings += [f"{where}{n}" for n in staleness(meta, s.freq, s.index[-1], sm["ends"][number])]
        contexts.append(Context(number, s.values[-seq_len:], s.index[-seq_len:], s.index[-1]))
    if padded:
        warnings.append(
            f"{len(padded)} series ({first_ids(padded)}) have fewer than the {seq_len} rows the model reads; "
            "padded at the start with their first value, as fit pads short series"
        )
    return contexts, warnings


@torch.no_grad()
def predict(art: Artifact, model: Forecaster, contexts: list[Context]) -> np.ndarray:
    """Run the network once over every context: (S, H, T) in original units."""
    cfg, calendar = model.config, art.meta["series"]["calendar"]
    rows = [
        model_inputs(
            series_scaling(art, c.number).transform(c.values), c.index, calendar, c.number, cfg.id_embedding > 0
        )
        for c in contexts
    ]
    scaled = model(torch.as_tensor(np.stack(rows), dtype=torch.float32)).double().numpy()  # (S, H, T)
    t = cfg.n_targets
    return clipped(
        art, np.stack([series_scaling(art, c.number).inverse(scaled[k], slice(0, t)) for k, c in enumerate(contexts)])
    )


def clipped(art: Artifact, values: np.ndarray) -> np.ndarray:
    """Values (forecasts or bounds) at or above zero for a model fitted non-negative (count data), else as they are."""
    return np.maximum(values, 0) if art.meta.get("non_negative", False) else values


def future_index(data_meta: dict, last: object, horizon: int) -> pd.Index:
    """The `horizon` time stamps after `last`, continuing the training frequency."""
    freq = data_meta.get("freq")
    if freq:
        return pd.date_range(pd.Timestamp(last), periods=horizon + 1, freq=freq)[1:]
    if data_meta.get("time_kind") == "datetime":  # irregular time: number the steps after the end
        return pd.RangeIndex(1, horizon + 1)
    step = data_meta.get("step") or 1
    return pd.Index([last + step * (k + 1) for k in range(horizon)])


def interval(art: Artifact, point: np.ndarray, context: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Conformal (lower, upper) around point forecasts (..., H, T) made from context rows (..., L, F)."""
    history = context[..., : point.shape[-1]]  # the target columns come first
    lower, upper = intervals.bounds(point, art.val_residuals, level, art.val_scales, history)
    return clipped(art, lower), clipped(art, upper)


def check_horizon(art: Artifact, horizon: int | None) -> int:
    trained = art.meta["model"]["horizon"]
    horizon = trained if horizon is None else horizon
    if not 1 <= horizon <= trained:
        raise UsageError(
            f"--horizon {horizon} is outside 1..{trained}, what this model was trained for; "
            f"refit with --horizon {horizon} for longer forecasts"
        )
    return horizon


def check_ids(art: Artifact, ids: tuple[str, ...]) -> None:
    known = art.meta["series"]["ids"]
    if ids and art.meta["series"]["id_col"] is None and not art.meta["series"]["wide"]:
        raise UsageError("--id is for models fitted on many series (--id-col or --wide); this one has one")
    for sid in ids:
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
    known = sm["ids"]
    contexts = saved_contexts(art) if contexts is None else contexts
    given = {known[c.number] for c in contexts}
    warnings = [f"series {sid!r} is not in the data; no forecast for it" for sid in ids if sid not in given]
    if ids:
        contexts = [c for c in contexts if known[c.number] in ids]
    if not contexts:
        raise DataError("the data holds none of the model's series; check --id-col values")
    values = predict(art, build_model(art), contexts)[:, :horizon]  # (S, H, T)
    bounds = {}
    for level in levels:
        pairs = [interval(art, values[k], c.values, level) for k, c in enumerate(contexts)]
        bounds[level] = (np.stack([lo for lo, _ in pairs]), np.stack([hi for _, hi in pairs]))
    result = Forecast(
        ids=[known[c.number] for c in contexts],
        id_name=Layout(sm["id_col"], sm["wide"]).id_name,
        index=[future_index(meta, c.last, horizon) for c in contexts],
        values=values,
        targets=meta["targets"],
        time_name=meta.get("time_col") or "step",
        bounds=bounds,
    )
    return result, warnings
