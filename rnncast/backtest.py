"""Scoring forecasts against actuals: rolling-origin backtests and the evaluation of a saved model.

Both produce one table: per target, for the network and the naive baselines on exactly the same
targets, MAE, RMSE, MAPE (or sMAPE) and MASE over all horizon steps and at each step, and for the
network the share of actual values inside each conformal prediction interval.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import torch

from rnncast import api, artifact, data, intervals, metrics
from rnncast import forecast as fc
from rnncast import train as tr
from rnncast.data import ReadOptions, Series
from rnncast.errors import DataError, UsageError
from rnncast.model import ModelConfig

DEFAULT_LEVELS = (80.0, 95.0)


@dataclass
class Evaluation:
    """Forecasts and the actual values they are scored against, all (N, H, T) in original units."""

    targets: list[str]
    actual: np.ndarray
    forecasts: dict[str, np.ndarray]  # the network first, then the baselines
    scale: np.ndarray  # (T,) MASE denominators
    bounds: dict[float, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # level % → (lower, upper)
    notes: list[str] = field(default_factory=list)  # warnings for the user (stderr)
    summary: str = ""  # what was scored, for the user (stderr)

    @property
    def windows(self) -> int:
        return self.actual.shape[0]

    def coverage(self, level: float) -> float:
        """Share (percent) of actual values inside the interval at `level`, over every step and target."""
        lower, upper = self.bounds[level]
        return float(100 * intervals.coverage(self.actual, lower, upper).mean())

    def frame(self) -> pd.DataFrame:
        """One row per target, horizon step ('all', 1, 2, …) and model; coverage_{level} in percent."""
        network = next(iter(self.forecasts))
        rows = []
        for j, target in enumerate(self.targets):
            actual = self.actual[..., j]
            per_model = {
                name: metrics.by_step(name, target, actual, pred[..., j], float(self.scale[j]))
                for name, pred in self.forecasts.items()
            }
            inside = {
                level: intervals.coverage(actual, lower[..., j], upper[..., j])
                for level, (lower, upper) in self.bounds.items()
            }  # (N, H) per level
            for step in range(actual.shape[1] + 1):
                for name, scores in per_model.items():
                    s = scores[step]
                    row = {"target": target, "step": "all" if step == 0 else step, "model": name}
                    row.update({"MAE": s.mae, "RMSE": s.rmse, s.pct_name: s.pct, "MASE": s.mase})
                    for level, hit in inside.items():
                        cov = hit.mean() if step == 0 else hit[:, step - 1].mean()
                        row[f"coverage_{intervals.label(level)}"] = 100 * float(cov) if name == network else np.nan
                    rows.append(row)
        return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- backtest


@dataclass
class Fold:
    origin: object  # time stamp (or step) of the first forecast value
    epochs: int
    seconds: float
    mae: float  # the network's MAE on this fold, all targets and steps


def fold_origins(n_rows: int, folds: int, horizon: int) -> list[int]:
    """Rows where each fold's forecast begins: the last `folds` blocks of `horizon` rows, oldest first."""
    return [n_rows - (folds - i) * horizon for i in range(folds)]


def backtest(
    series: Series,
    windows: api.WindowConfig,
    model_cfg: ModelConfig,
    train_cfg: tr.TrainConfig,
    folds: int = 3,
    levels: tuple[float, ...] = DEFAULT_LEVELS,
    on_plan: Callable[[api.Plan], None] | None = None,
    on_fold: Callable[[int, Fold], None] | None = None,
) -> Evaluation:
    """Rolling-origin evaluation, refitting at each origin.

    The last `folds` blocks of `horizon` rows are forecast one after the other. For each, a fresh
    network is trained (with its own validation split and early stopping) on the rows before the
    block only, then forecasts the block from the `seq_len` rows before it; the baselines forecast
    the same block from the same rows, and the new model's validation residuals give its intervals.
    """
    if folds < 1:
        raise UsageError("--folds must be at least 1")
    levels = tuple(intervals.check_levels(levels))
    horizon = api.plan(series, windows).horizon  # the frequency's default, or --horizon
    first = len(series) - folds * horizon
    if first < 1:
        raise DataError(
            f"series has {len(series)} rows, too few for {folds} folds of horizon {horizon}; lower --folds or --horizon"
        )
    # seq_len and season are chosen once, on the shortest history, and kept for every fold.
    fixed = api.plan(series.head(first), replace(windows, horizon=horizon))
    for level in levels:  # the first fold has the fewest validation windows: refuse now, not after training
        intervals.rank(fixed.split.n_val, level)
    if on_plan is not None:
        on_plan(replace(fixed, series=series))  # the first fold's plan, shown with the whole series
    windows = replace(windows, seq_len=fixed.seq_len, horizon=horizon, season=fixed.season)
    t = series.n_targets
    scale = metrics.mase_scale(series.values[:first, :t], fixed.season)
    actual, pred, history, lower_upper = [], [], [], {level: ([], []) for level in levels}
    for i, origin in enumerate(fold_origins(len(series), folds, horizon)):
        p = api.plan(series.head(origin), windows)
        result = api.fit_plan(p, model_cfg, train_cfg)
        art = result.artifact
        context = series.values[origin - p.seq_len : origin]  # (L, F)
        point = fc.predict_scaled(fc.build_model(art), art, context)  # (H, T)
        actual.append(series.values[origin : origin + horizon, :t])
        pred.append(point)
        history.append(context[:, :t])
        for level in levels:
            lower, upper = fc.interval(art, point, context, level)
            lower_upper[level][0].append(lower)
            lower_upper[level][1].append(upper)
        if on_fold is not None:
            mae = float(np.abs(point - actual[-1]).mean())
            on_fold(i, Fold(series.index[origin], result.training.epochs_run, result.training.seconds, mae))
    forecasts = {model_cfg.cell: np.stack(pred), **metrics.baselines(np.stack(history), horizon, fixed.season)}
    bounds = {level: (np.stack(lo), np.stack(hi)) for level, (lo, hi) in lower_upper.items()}
    return Evaluation(series.targets, np.stack(actual), forecasts, scale, bounds)


def backtest_file(
    source: str | Path | IO[str],
    read: ReadOptions | None = None,
    windows: api.WindowConfig | None = None,
    model_cfg: ModelConfig | None = None,
    train_cfg: tr.TrainConfig | None = None,
    folds: int = 3,
    levels: tuple[float, ...] = DEFAULT_LEVELS,
    on_plan: Callable[[api.Plan], None] | None = None,
    on_fold: Callable[[int, Fold], None] | None = None,
) -> Evaluation:
    """Read a CSV and backtest on it (see `backtest`)."""
    train_cfg = train_cfg or tr.TrainConfig()
    tr.check_config(train_cfg)
    tr.resolve_device(train_cfg.device)
    levels = tuple(intervals.check_levels(levels))
    series = data.read_series(source, read or ReadOptions())
    result = backtest(
        series,
        windows or api.WindowConfig(),
        model_cfg or ModelConfig(window_norm="auto"),
        train_cfg,
        folds,
        levels,
        on_plan,
        on_fold,
    )
    result.notes[:0] = series.notes
    return result


# ---------------------------------------------------------------------------- evaluate


def first_new_row(art: artifact.Artifact, series: Series) -> int:
    """The first row of `series` after the model's training data (0 when time cannot tell)."""
    meta = art.meta["data"]
    if meta.get("time_col") is None:  # plain row numbers: new data cannot be placed against old
        return 0
    end = pd.Timestamp(meta["end"]) if meta.get("time_kind") == "datetime" else meta["end"]
    return int(np.searchsorted(np.asarray(series.index), np.asarray(end, dtype=series.index.dtype), side="right"))


def evaluate(
    art: artifact.Artifact, series: Series, levels: tuple[float, ...] = DEFAULT_LEVELS, every: bool = False
) -> Evaluation:
    """Score a saved model on every stride-1 window of `series` whose targets are all after its training data.

    Each window's input is the `seq_len` rows before its first target (they may be training rows);
    `every` scores every complete window instead, training rows included.
    """
    levels = tuple(intervals.check_levels(levels))
    _, _, notes = fc.context_from(art, series)  # same columns and frequency, at least seq_len rows
    seq_len, horizon = art.meta["model_seq_len"], art.meta["model"]["horizon"]
    t = len(art.meta["data"]["targets"])
    first_target = seq_len if every else max(seq_len, first_new_row(art, series))
    count = len(series) - horizon + 1 - first_target
    if count < 1:
        end = art.meta["data"]["end"]
        raise DataError(
            f"data has no complete window to score: it needs {horizon} rows of actuals after the model's training end "
            f"({end}) and {seq_len} rows before them; pass data that runs further, or --all-windows"
        )
    start = first_target - seq_len
    scaled = torch.as_tensor(art.scaling.transform(series.values), dtype=torch.float32)  # (T, F)
    x = data.make_windows(scaled, seq_len, horizon, t).take(start, count).x  # (N, L, F)
    pred = art.scaling.inverse(tr.predict(fc.build_model(art), x).double().numpy(), slice(0, t))  # (N, H, T)
    targets = series.values[:, :t]
    actual = data.original_windows(targets, first_target, count, horizon)
    history = data.original_windows(targets, start, count, seq_len)
    season = art.meta["data"]["season"]
    saved_scale = art.meta["data"].get("mase_scale")
    scale = np.asarray(saved_scale) if saved_scale else metrics.mase_scale(targets[:first_target], season)
    forecasts = {art.meta["model"]["cell"]: pred, **metrics.baselines(history, horizon, season)}
    bounds = {level: intervals.bounds(pred, art.val_residuals, level, art.val_scales, history) for level in levels}
    summary = f"scored {count} window(s) with targets from {series.index[first_target]} to {series.index[-1]}"
    return Evaluation(list(art.meta["data"]["targets"]), actual, forecasts, scale, bounds, notes, summary)


def evaluate_file(
    model_path: str | Path,
    source: str | Path | IO[str],
    read: ReadOptions | None = None,
    levels: tuple[float, ...] = DEFAULT_LEVELS,
    every: bool = False,
) -> Evaluation:
    """Load a model, read new data with its columns, and score it (see `evaluate`)."""
    art = artifact.load(model_path)
    if "panel" in art.meta:
        raise UsageError("evaluate does not score many-series models yet; use `rnncast fit` metrics or backtest")
    return evaluate(art, api.read_like_model(art, source, read), levels, every)
