"""The library behind the commands: each function is one command's work, usable from Python.

from rnncast import api
result = api.fit("sample_data/elec_equip.csv", model_path="model.rnncast")
forecast, warnings = api.forecast_file("model.rnncast")
print(forecast.frame())
"""

from __future__ import annotations

import contextlib
import hashlib
import platform
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import torch

from rnncast import __version__, artifact, atomic, data, intervals, metrics
from rnncast import forecast as fc
from rnncast import model as nets
from rnncast import train as tr
from rnncast.artifact import Artifact
from rnncast.data import ReadOptions, Series, Split
from rnncast.errors import DataError, UsageError
from rnncast.metrics import Score
from rnncast.model import ModelConfig


@dataclass
class WindowConfig:
    seq_len: int | None = None  # past steps per window; None: from the frequency
    horizon: int | None = None  # steps to forecast; None: from the frequency
    val_frac: float = 0.2  # share of windows (the latest) kept for validation
    scaler: str = "standard"  # standard | minmax | robust (scikit-learn)
    season: int | None = None  # seasonal period for baselines and MASE; None: from the frequency


@dataclass
class Plan:
    """What fit will do with a series, with the choices made from the data."""

    series: Series
    seq_len: int
    horizon: int
    season: int
    split: Split
    scaling: data.Scaling
    chosen: dict[str, object] = field(default_factory=dict)  # options defaulted from the data
    notes: list[str] = field(default_factory=list)  # warnings for the user: the series' own, then the plan's
    base: str = "last"  # what --window-norm auto becomes: the naive forecast that wins on training windows


@dataclass
class FitResult:
    plan: Plan
    artifact: Artifact
    training: tr.TrainResult
    scores: list[Score]


def window_lengths(freq: str | None, n: int, wc: WindowConfig) -> tuple[int, int, int, dict[str, object]]:
    """(seq_len, horizon, season, chosen): the given ones, else defaults from the frequency that fit n rows."""
    season, horizon, seq_len = data.freq_defaults(freq)
    chosen: dict[str, object] = {}
    if wc.horizon is None:
        horizon = max(1, min(horizon, n // 10))
        chosen["horizon"] = horizon
    else:
        horizon = wc.horizon
    if wc.seq_len is None:
        seq_len = max(2, min(seq_len, (n - 2 * horizon) // 3))
        chosen["seq_len"] = seq_len
    else:
        seq_len = wc.seq_len
    if wc.season is not None:
        if wc.season < 1:
            raise UsageError("--season must be at least 1")
        season = wc.season
    else:
        chosen["season"] = season
    return seq_len, horizon, season, chosen


def plan(series: Series, wc: WindowConfig) -> Plan:
    """Choose window lengths (from the frequency unless given), split, and fit the scaler on training rows."""
    n = len(series)
    seq_len, horizon, season, chosen = window_lengths(series.freq, n, wc)
    split = data.plan_split(n, seq_len, horizon, wc.val_frac)
    scaling = data.fit_scaling(series.values[: split.cut], wc.scaler)
    notes = list(series.notes)
    for j, target in enumerate(series.targets):
        if metrics.uses_smape(series.values[split.cut :, j]):
            notes.append(
                f"{target!r} reaches zero or below in the validation rows, where MAPE is undefined; "
                "sMAPE is reported instead"
            )
    base = better_base(series.values[: split.cut, : series.n_targets], split.n_train, seq_len, horizon, season)
    return Plan(series, seq_len, horizon, season, split, scaling, chosen, notes, base)


# `season` must beat repeat-last clearly: on ETTh1 (hourly) it wins the training windows by 0.2-3% at
# horizons 96-720, yet validation MSE at 96 was worse with it (0.120 vs 0.116); monthly elec_equip wins by 30%.
SEASON_MARGIN = 0.9


def better_base(rows: np.ndarray, n_windows: int, seq_len: int, horizon: int, season: int) -> str:
    """'season' when repeating the last cycle beats repeating the last value by over 10% on the training windows.

    The network learns a correction to that forecast (--window-norm auto), so it starts from the better one.
    """
    if not 1 < season <= seq_len:
        return "last"
    history = data.original_windows(rows, 0, n_windows, seq_len)
    actual = data.original_windows(rows, seq_len, n_windows, horizon)
    naive_mae = np.abs(actual - metrics.naive(history, horizon)).mean()
    seasonal_mae = np.abs(actual - metrics.seasonal_naive(history, horizon, season)).mean()
    return "season" if seasonal_mae < SEASON_MARGIN * naive_mae else "last"


def fit_plan(
    p: Plan,
    model_cfg: ModelConfig,
    train_cfg: tr.TrainConfig,
    on_epoch: Callable[[tr.EpochLog], None] | None = None,
) -> FitResult:
    """Train a network on the plan's windows and score it against the naive baselines."""
    tr.check_config(train_cfg)
    device = tr.resolve_device(train_cfg.device)
    tr.check_precision(train_cfg.precision, device)
    s, split = p.series, p.split
    scaled = torch.as_tensor(p.scaling.transform32(s), device=device)  # (T, F) float32
    windows = data.make_windows(scaled, p.seq_len, p.horizon, s.n_targets)
    train_w, val_w = windows.take(0, split.n_train), windows.take(split.val_start, split.n_val)

    norm = p.base if model_cfg.window_norm == "auto" else model_cfg.window_norm
    model_cfg = replace(
        model_cfg, n_inputs=len(s.columns), n_targets=s.n_targets, horizon=p.horizon, season=p.season, window_norm=norm
    )
    torch.manual_seed(train_cfg.seed)
    model = nets.build(model_cfg).to(device)
    result = tr.fit(model, train_w, val_w, train_cfg, on_epoch)

    target_cols = slice(0, s.n_targets)
    pred = p.scaling.inverse(tr.predict(model, val_w.x).double().cpu().numpy(), target_cols)  # (N, H, T)
    actual = data.original_windows(s.values[:, target_cols], split.cut, split.n_val, p.horizon)
    history = data.original_windows(s.values[:, target_cols], split.val_start, split.n_val, p.seq_len)
    forecasts = {model_cfg.cell: pred, **metrics.baselines(history, p.horizon, p.season)}
    scale = metrics.mase_scale(s.values[: split.cut, target_cols], p.season)
    scores = metrics.compare(s.targets, actual, forecasts, scale)

    model.cpu()
    art = Artifact(
        meta=_meta(p, model_cfg, train_cfg, result, scores),
        state_dict=model.state_dict(),
        scaling=p.scaling,
        context=s.values[-p.seq_len :],
        val_residuals=(actual - pred).astype(np.float32),
        val_scales=intervals.window_scale(history).astype(np.float32),
    )
    return FitResult(p, art, result, scores)


def fit(
    source: str | Path | IO[str],
    read: ReadOptions | None = None,
    windows: WindowConfig | None = None,
    model_cfg: ModelConfig | None = None,
    train_cfg: tr.TrainConfig | None = None,
    model_path: str | Path | None = "model.rnncast",
    on_plan: Callable[[Plan], None] | None = None,
    on_epoch: Callable[[tr.EpochLog], None] | None = None,
) -> FitResult:
    """Read a CSV, train, score and (unless model_path is None) save the model file atomically."""
    train_cfg = train_cfg or tr.TrainConfig()
    tr.check_config(train_cfg)
    nets.check_config(model_cfg or ModelConfig(window_norm="auto"))
    tr.check_precision(train_cfg.precision, tr.resolve_device(train_cfg.device))  # refuse before reading anything
    with atomic.model_lock(model_path) if model_path is not None else contextlib.nullcontext():
        p = plan(data.read_series(source, read or ReadOptions()), windows or WindowConfig())
        if on_plan is not None:
            on_plan(p)
        result = fit_plan(p, model_cfg or ModelConfig(window_norm="auto"), train_cfg, on_epoch)
        if model_path is not None:
            artifact.save(result.artifact, model_path)
    return result


def _meta(
    p: Plan, model_cfg: ModelConfig, train_cfg: tr.TrainConfig, result: tr.TrainResult, scores: list[Score]
) -> dict:
    s = p.series
    is_datetime = isinstance(s.index, pd.DatetimeIndex)
    step = None
    if not is_datetime and len(s.index) > 1:
        step = data.time_value(s.index[-1] - s.index[-2])
    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": model_cfg.to_dict(),
        "model_seq_len": p.seq_len,
        "data": {
            "targets": s.targets,
            "features": s.features,
            "time_col": s.time_col,
            "time_kind": "datetime" if is_datetime else "number",
            "freq": s.freq,
            "step": step,
            "rows": len(s),
            "start": data.time_value(s.index[0]),
            "end": data.time_value(s.index[-1]),
            "season": p.season,
            "mase_scale": [float(v) for v in metrics.mase_scale(s.values[: p.split.cut, : s.n_targets], p.season)],
            "val_start_row": p.split.cut,
            "time_parts": s.time_parts,
            "train_windows": p.split.n_train,
            "val_windows": p.split.n_val,
            "sha256": hashlib.sha256(s.values.tobytes() + str(s.columns).encode()).hexdigest(),
        },
        "train": asdict(train_cfg),
        "training": {
            "best_epoch": result.best_epoch,
            "epochs_run": result.epochs_run,
            "best_val_loss": result.best_val_loss,
            "seconds": round(result.seconds, 3),
            "device": result.device,
            "threads": torch.get_num_threads(),
        },
        "metrics": [sc.to_dict() for sc in scores],
        "versions": {
            "rnncast": __version__,
            "torch": torch.__version__,
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "python": platform.python_version(),
        },
    }


def forecast_file(
    model_path: str | Path = "model.rnncast",
    source: str | Path | IO[str] | None = None,
    horizon: int | None = None,
    read: ReadOptions | None = None,
    levels: tuple[float, ...] = (),
    ids: tuple[str, ...] = (),
) -> tuple[fc.Forecast, list[str]]:
    """Forecast from a saved model: its saved context, or the tail of new data. Returns (forecast, warnings).

    `levels` (percent, e.g. (80, 95)) add conformal prediction intervals per step. A many-series
    model forecasts every series, or `ids`, and returns a panel.PanelForecast.
    """
    art = artifact.load(model_path)
    if "panel" in art.meta:
        from rnncast import panel

        return panel.forecast(art, source, horizon, read, levels, ids)
    if ids:
        raise UsageError("--id is for models fitted on many series (--id-col or --wide); this one has one")
    if source is None:
        return fc.forecast(art, horizon=horizon, levels=levels), []
    series = read_like_model(art, source, read)
    context, last, warnings = fc.context_from(art, series)
    return fc.forecast(art, context, last, horizon, levels), warnings


def read_like_model(art: Artifact, source: str | Path | IO[str], read: ReadOptions | None = None) -> Series:
    """Read new data with the time, target and feature columns the model was trained on."""
    meta = art.meta["data"]
    read = replace(read or fc.read_options_like(meta), targets=tuple(meta["targets"]), features=tuple(meta["features"]))
    frame = data.read_table(source)
    missing = [c for c in meta["targets"] + meta["features"] if c not in frame.columns]
    if missing:
        raise DataError(
            f"the data lacks column(s) {', '.join(map(repr, missing))} the model was trained on; "
            f"its columns are: {', '.join(frame.columns)}; pass data with the training columns"
        )
    return data.to_series(frame, read)


def run_report(result, model_path: str | Path, seconds: float) -> dict:
    """What `fit --report` writes: the run's sizes, device, epochs, per-epoch losses, timings and metrics."""
    t, p, d = result.training, result.plan, result.artifact.meta["data"]
    report = {
        "model": str(model_path),
        "rows": d["rows"],
        "targets": d["targets"],
        "features": d["features"],
        "seq_len": p.seq_len,
        "horizon": p.horizon,
        "season": p.season,
        "train_windows": d["train_windows"],
        "val_windows": d["val_windows"],
        "device": t.device,
        "epochs_run": t.epochs_run,
        "best_epoch": t.best_epoch,
        "best_val_mse": t.best_val_loss,
        "timings": {"train_seconds": round(t.seconds, 3), "total_seconds": round(seconds, 3)},
        "history": [{"epoch": h.epoch, "train_mse": h.train_loss, "val_mse": h.val_loss} for h in t.history],
        "metrics": score_dicts(result.scores),
    }
    if "panel" in result.artifact.meta:
        report["series"] = result.artifact.meta["panel"]["ids"]
    return report


def score_dicts(scores: list) -> list[dict]:
    """Score rows as dicts; many-series scores carry their series id."""
    return [dict(s[1].to_dict(), id=s[0]) if isinstance(s, tuple) else s.to_dict() for s in scores]


def model_card(meta: dict) -> pd.DataFrame:
    """What `info` shows: one field/value row per item of a model file's meta."""
    d, m, t = meta["data"], meta["model"], meta["training"]
    rows = {
        "cell": m["cell"], "hidden_size": m["hidden_size"], "layers": m["layers"], "window_norm": m["window_norm"],
        "seq_len": meta["model_seq_len"], "horizon": m["horizon"], "targets": ",".join(d["targets"]),
        "features": ",".join(d["features"]), "frequency": d["freq"], "season": d["season"],
        "training_start": d["start"], "training_end": d["end"], "rows": d["rows"], "data_sha256": d["sha256"],
        "scaler": meta["scaler"], "epochs_run": t["epochs_run"], "best_epoch": t["best_epoch"],
        "best_val_mse": t["best_val_loss"], "device": t["device"], "created": meta["created"],
        "format_version": meta.get("format_version", 1),
        **({"series": len(meta["panel"]["ids"]), "id_col": meta["panel"]["id_col"] or "(wide)",
            "calendar": ",".join(meta["panel"]["calendar"]), "id_embedding": m.get("id_embedding", 0)}
           if "panel" in meta else {}),
        **{f"version_{k}": v for k, v in meta["versions"].items()},
    }  # fmt: skip
    for s in meta["metrics"]:
        rows[f"val_mase_{s['target']}_{s['model']}"] = s["mase"]
    return pd.DataFrame({"field": list(rows), "value": [("" if v is None else str(v)) for v in rows.values()]})
