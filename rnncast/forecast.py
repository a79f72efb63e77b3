"""From a saved model and a context window to future values and their time stamps."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from rnncast import intervals
from rnncast.artifact import Artifact
from rnncast.data import ReadOptions, Series
from rnncast.errors import DataError, UsageError
from rnncast.model import Forecaster, ModelConfig
from rnncast.train import default_threads


@dataclass
class Forecast:
    """Future values in original units: one row per step, one column per target."""

    index: pd.Index  # future time stamps (or step numbers)
    values: np.ndarray  # (H, T)
    targets: list[str]
    time_name: str  # header of the time column in outputs
    bounds: dict[float, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # level % → (lower, upper) (H, T)

    def frame(self) -> pd.DataFrame:
        """Time, then per target its forecast and `{target}_lower_{level}`, `{target}_upper_{level}` per level."""
        columns: dict[str, np.ndarray] = {self.time_name: self.index}
        for j, target in enumerate(self.targets):
            columns[target] = self.values[:, j]
            for level, (lower, upper) in self.bounds.items():
                columns[f"{target}_lower_{intervals.label(level)}"] = lower[:, j]
                columns[f"{target}_upper_{intervals.label(level)}"] = upper[:, j]
        return pd.DataFrame(columns)


def build_model(art: Artifact) -> Forecaster:
    """The network described by the file, with its weights."""
    torch.set_num_threads(default_threads())  # inference too: one thread is fastest for these small networks
    model = Forecaster(ModelConfig(**art.meta["model"]))
    model.load_state_dict(art.state_dict)
    return model.eval()


def future_index(data_meta: dict, last: object, horizon: int) -> pd.Index:
    """The `horizon` time stamps after `last`, continuing the training frequency."""
    freq = data_meta.get("freq")
    if freq:
        return pd.date_range(pd.Timestamp(last), periods=horizon + 1, freq=freq)[1:]
    if data_meta.get("time_kind") == "datetime":  # irregular time: number the steps after the end
        return pd.RangeIndex(1, horizon + 1)
    step = data_meta.get("step") or 1
    return pd.Index([last + step * (k + 1) for k in range(horizon)])


def context_from(art: Artifact, series: Series) -> tuple[np.ndarray, object, list[str]]:
    """The last seq_len rows of new data, checked against what the model was trained on.

    Returns (context (L, F), last time stamp, warnings).
    """
    meta = art.meta["data"]
    expected = meta["targets"] + meta["features"]
    if series.columns != expected:
        raise DataError(f"data columns {series.columns} do not match the model's {expected}; pass the same columns")
    seq_len = art.meta["model_seq_len"]
    if len(series) < seq_len:
        raise DataError(f"data has {len(series)} rows; the model needs the last {seq_len}; give a longer history")
    return series.values[-seq_len:], series.index[-1], list(series.notes) + staleness(meta, series, meta["end"])


def staleness(meta: dict, series: Series, trained_end: object) -> list[str]:
    """Refuse new data at another frequency; warn when it ends before the training data did."""
    if meta.get("freq") and series.freq and series.freq != meta["freq"]:
        raise DataError(f"data frequency {series.freq} differs from the model's {meta['freq']}; resample or retrain")
    last = series.index[-1]
    if meta.get("time_kind") == "datetime" and pd.Timestamp(last) < pd.Timestamp(trained_end):
        return [f"data ends at {last}, before the model's training end {trained_end}"]
    return []


def read_options_like(meta: dict) -> ReadOptions:
    """How to read new data so that its time column is found the way training found it."""
    calendar = len(meta.get("time_parts", [])) > 1  # e.g. year + quarter: detect them again
    return ReadOptions(time_col=None if calendar else meta["time_col"] or "none")


def last_time(art: Artifact) -> object:
    """The time stamp of the saved context's last row."""
    meta = art.meta["data"]
    return pd.Timestamp(meta["end"]) if meta.get("time_kind") == "datetime" else meta["end"]


def interval(art: Artifact, point: np.ndarray, context: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Conformal (lower, upper) around point forecasts (..., H, T) made from context rows (..., L, F)."""
    history = context[..., : point.shape[-1]]  # the target columns come first
    return intervals.bounds(point, art.val_residuals, level, art.val_scales, history)


@torch.no_grad()
def predict_scaled(model: Forecaster, art: Artifact, context: np.ndarray) -> np.ndarray:
    """Run the network on one context window; returns (H, T) in original units."""
    n_targets = model.config.n_targets
    x = torch.as_tensor(art.scaling.transform(context), dtype=torch.float32).unsqueeze(0)  # (1, L, F)
    y = model(x)[0].double().numpy()  # (H, T) scaled
    return art.scaling.inverse(y, slice(0, n_targets))


def forecast(
    art: Artifact,
    context: np.ndarray | None = None,
    last: object = None,
    horizon: int | None = None,
    levels: tuple[float, ...] = (),
) -> Forecast:
    """Forecast the next `horizon` steps after `context` (default: the context saved in the file).

    `levels` (percent) add split-conformal prediction intervals from the saved validation residuals.
    """
    levels = intervals.check_levels(levels)
    trained = art.meta["model"]["horizon"]
    horizon = trained if horizon is None else horizon
    if not 1 <= horizon <= trained:
        raise UsageError(
            f"--horizon {horizon} is outside 1..{trained}, what this model was trained for; "
            f"refit with --horizon {horizon} for longer forecasts"
        )
    if context is None:
        context, last = art.context, last_time(art)
    values = predict_scaled(build_model(art), art, context)[:horizon]
    meta = art.meta["data"]
    return Forecast(
        index=future_index(meta, last, horizon),
        values=values,
        targets=meta["targets"],
        time_name=meta.get("time_col") or "step",
        bounds={level: interval(art, values, context, level) for level in levels},
    )
