"""Forecasting: from a saved model and each series' context window to future values and their time stamps.

The same for one series or many; a single-series forecast is printed without an id column.

A forecast from the contexts saved in the model file imports no pandas (nor scikit-learn): the model
file holds the forecast steps' time stamps (`timeindex.forecast_stamps`, saved by `fit`), and the
output is written from plain columns (`Forecast.columns`). New data goes through newdata.py, which
reads it with pandas; models that read the calendar compute it with pandas too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np
import torch

from rnncast import artifact, intervals
from rnncast.artifact import Artifact
from rnncast.encoding import Inputs, Scaling
from rnncast.errors import DataError, UsageError
from rnncast.model import Forecaster, ModelConfig
from rnncast.settings import Layout, ReadOptions, validate_levels
from rnncast.train import default_threads

if TYPE_CHECKING:
    import pandas as pd

    from rnncast.render import Columns


@dataclass
class Forecast:
    """Future values in original units: per series one row per step, one column per target."""

    ids: list[str]
    id_name: str | None  # header of the id column; None: one series, no id column
    index: list[list]  # per series: the future time stamps as ISO text in the data's zone, or step numbers
    values: np.ndarray  # (S, H, T)
    targets: list[str]
    time_name: str  # header of the time column in outputs
    bounds: dict[float, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # level % → (lower, upper)
    zone: str | None = None  # the time zone the stamps are shown in
    notes: list[str] = field(default_factory=list)  # what it read besides DATA (stderr; not warnings)

    def columns(self) -> Columns:
        """[id,] time, then per target its forecast and `{target}_lower_{level}`, `{target}_upper_{level}`: the
        columns `render` writes, time stamps as `stamp_texts` writes them."""
        from rnncast.render import Columns

        n = self.values.shape[1]
        data: dict[str, list] = {self.id_name: [sid for sid in self.ids for _ in range(n)]} if self.id_name else {}
        data[self.time_name] = stamp_texts([v for steps in self.index for v in steps], self.zone)
        for j, target in enumerate(self.targets):
            data[target] = self.values[:, :, j].ravel().tolist()
            for level, (lower, upper) in self.bounds.items():
                data[f"{target}_lower_{intervals.label(level)}"] = lower[:, :, j].ravel().tolist()
                data[f"{target}_upper_{intervals.label(level)}"] = upper[:, :, j].ravel().tolist()
        text = {self.id_name} if self.id_name else set()
        if self.index and self.index[0] and isinstance(self.index[0][0], str):
            text.add(self.time_name)
        return Columns(data, numeric={c for c in data if c not in text})

    def frame(self) -> pd.DataFrame:
        """The same columns as a pandas DataFrame, the time column as time stamps (in the zone, if any)."""
        import pandas as pd

        frame = pd.DataFrame(self.columns().data)
        stamps = [v for steps in self.index for v in steps]
        if stamps and isinstance(stamps[0], str):
            frame[self.time_name] = (
                pd.to_datetime(stamps, utc=True).tz_convert(self.zone) if self.zone else pd.to_datetime(stamps)
            )
        return frame


def stamp_texts(values: list, zone: str | None) -> list:
    """A time column as outputs write it, decided once for the column (as `timeindex.stamps`): ISO text
    with the offset in a zone; else the date alone when every stamp is at midnight, else date `T` time."""
    if not values or not isinstance(values[0], str) or zone:
        return list(values)
    if all(len(v) == 19 and v.endswith("T00:00:00") for v in values):
        return [v[:10] for v in values]
    return [v[:19] for v in values]


@dataclass
class Context:
    """The rows a forecast starts from: the last seq_len rows of one series (one the model knows, or `unseen`)."""

    number: int  # the series' position in the model (its scaler, its embedding row); unseen: the neutral row
    values: np.ndarray  # (L, F) original units
    index: pd.Index | None  # (L,) their time stamps; None for a saved context where the network reads no calendar
    last: object  # the last time stamp (or step); a saved context's as the file holds it (ISO text or a number)
    future: np.ndarray | None = None  # (H, F) the forecast steps' rows: only the --future-features are read
    unseen: tuple[str, Scaling] | None = None  # a series the model was not fitted on: its id, its own scaling
    stamps: list | None = None  # the trained horizon's stamps after `last`, as fit saved them (`forecast_stamps`)


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


def saved_contexts(art: Artifact, with_index: bool = False) -> list[Context]:
    """The context saved with each series at the end of its training data; their time stamps (pandas) only
    `with_index` or where the network reads the calendar."""
    meta, sm = art.meta["data"], art.meta["series"]
    seq_len, saved = art.meta["model_seq_len"], sm.get("next_stamps", {})
    stamped = with_index or bool(model_inputs(art).calendar)
    if stamped:
        from rnncast import timeindex

        weekmask = meta.get("time_read", {}).get("weekmask")
    indexes: dict[str, pd.Index] = {}  # series that end alike share their stamps
    out = []
    for i, end in enumerate(sm["ends"]):
        if stamped and str(end) not in indexes:
            indexes[str(end)] = timeindex.context_index(meta.get("freq"), end, seq_len, weekmask, meta.get("zone"))
        out.append(Context(i, art.context[i], indexes.get(str(end)), end, stamps=saved.get(str(end))))
    return out


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


@torch.no_grad()
def predict(art: Artifact, model: Forecaster, contexts: list[Context]) -> np.ndarray:
    """Run the network once over every context: (S, H, T) in original units.

    A model that reads inputs known ahead gets those of each context's forecast steps (`Context.future`,
    the calendar from their stamps); the caller has given `future` where the model has --future-features.
    """
    cfg, inputs = model.config, model_inputs(art)
    if cfg.id_embedding and any(c.unseen for c in contexts):
        model = with_neutral_id(model)
    scalings = [context_scaling(art, c) for c in contexts]
    rows = []
    for c, scaling in zip(contexts, scalings, strict=True):
        values, index = c.values, c.index
        if inputs.ahead:  # the forecast steps' rows after the context: their known inputs ride on its last row
            assert c.future is not None or not inputs.n_future, "forecast_file asks for --future first"
            future = c.future if c.future is not None else np.full((cfg.horizon, values.shape[1]), np.nan)
            values = np.concatenate([values, future])
            if index is not None:  # the calendar of the forecast steps
                from rnncast import timeindex

                index = index.append(timeindex.future_index(art.meta["data"], c.last, cfg.horizon))
        rows.append(inputs.rows(scaling.transform(values), index, c.number)[: len(c.values)])
    scaled = model(torch.as_tensor(np.stack(rows), dtype=torch.float32)).double().numpy()  # (S, H, T)
    t = cfg.n_targets
    return clipped(art, np.stack([s.inverse(scaled[k], slice(0, t)) for k, s in enumerate(scalings)]))


def clipped(art: Artifact, values: np.ndarray) -> np.ndarray:
    """Values (forecasts or bounds) at or above zero for a model fitted non-negative (count data), else as they are."""
    return np.maximum(values, 0) if art.meta.get("non_negative", False) else values


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
        index=[future_stamps(meta, c, horizon) for c in contexts],
        values=values,
        targets=meta["targets"],
        time_name=meta.get("time_col") or "step",
        bounds=bounds,
        zone=meta.get("zone"),
    )
    return result, warnings


def future_stamps(data_meta: dict, c: Context, horizon: int) -> list:
    """The first `horizon` stamps after the context: as fit saved them, else computed (pandas)."""
    if c.stamps is not None:
        return c.stamps[:horizon]
    from rnncast import timeindex

    return timeindex.forecast_stamps(data_meta, c.last, horizon)


def forecast_file(
    model_path: str | Path = "model.rnncast",
    source: str | Path | IO[str] | None = None,
    horizon: int | None = None,
    read: ReadOptions | None = None,
    levels: tuple[float, ...] = (),
    ids: tuple[str, ...] = (),
    future: str | Path | IO[str] | None = None,
) -> tuple[Forecast, list[str]]:
    """Forecast from a saved model: after its saved contexts, or after the tails of new data (`api.forecast_file`).

    `levels` (percent, e.g. (80, 95)) add conformal prediction intervals per step; `ids` keep
    only those series of a many-series model; `future`: a table of the --future-features for the
    forecast steps, by time stamp (and id), for a model fitted with them. A series of the data the
    model was not fitted on is forecast from its own rows, with a warning. Returns (forecast, warnings).
    """
    levels = validate_levels(levels)
    if source is not None and str(source) == "-" and future is not None and str(future) == "-":
        raise UsageError("DATA and --future cannot both be read from stdin (-); give one of them as a file")
    art = artifact.load(model_path)
    check_horizon(art, horizon)
    check_ids(art, ids, with_data=source is not None)
    check_future(art, future)
    if source is not None or future is not None:
        from rnncast import newdata  # pandas: only to read new data, not for the saved contexts
    notes: list[str] = []  # what the forecast read besides DATA: said on stderr, not warnings (--strict takes them)
    if source is None:
        contexts, warnings = saved_contexts(art), []
    else:
        coll, took = newdata.behind_saved(art, newdata.read_like_model(art, source, read, ids, blanks=True))
        notes = newdata.saved_rows_note(art, coll, took)  # DATA may hold only the rows since fit: said before drop
        coll = newdata.fill_like_model(art, coll)  # blanks of a few new rows: filled from the saved rows before them
        contexts, warnings = newdata.contexts_from(art, coll, unseen=True, follows=True)
    if future is not None:
        newdata.future_rows(art, [c for c in contexts if not ids or series_id(art, c) in ids], future)
    result, more = forecast(art, contexts, horizon, levels, ids)
    result.notes = notes
    return result, warnings + more
