"""The library behind the commands: each function is one command's work, usable from Python.

from rnncast import api
result = api.fit("sample_data/elec_equip.csv", model_path="model.rnncast")
forecast, warnings = api.forecast_file("model.rnncast")
print(forecast.frame())

Each function validates its settings once (`settings.validate`) before it reads any data.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pandas as pd

from rnncast import artifact, atomic, collection, distributed, intervals, newdata, timeindex
from rnncast import evaluation as ev
from rnncast import forecast as fc
from rnncast import train as tr
from rnncast.choices import CELLS, LOSS_NAMES
from rnncast.errors import DataError, RnncastError, UsageError
from rnncast.fitting import FitResult, fit_plan, planned
from rnncast.forecast import forecast_file  # the forecast needs no pandas: it lives beside the network's use
from rnncast.settings import (
    Layout,
    NetworkOptions,
    ReadOptions,
    Settings,
    WindowConfig,
    validate,
    validate_levels,
)
from rnncast.windowing import Plan

__all__ = ["Layout", "NetworkOptions", "ReadOptions", "Settings", "WindowConfig", "fit", "forecast_file",
           "backtest_file", "evaluate_file", "diagnose_file", "diagnose_model", "plot_file", "plot_curves", "model_card", "run_report"]  # fmt: skip

Source = str | Path | IO[str]


def fit(
    source: Source,
    settings: Settings | None = None,
    model_path: str | Path | None = "model.rnncast",
    on_plan: Callable[[Plan], None] | None = None,
    on_epoch: Callable[[tr.EpochLog], None] | None = None,
) -> FitResult:
    """Read one series or many, train one network, score it and (unless model_path is None) save it atomically.

    Under torchrun (WORLD_SIZE set) every process calls this: rank 0 reads the data and sends it to the
    others, they train one network together, and rank 0 alone locks and writes the model file (distributed.py).
    """
    settings = settings or Settings()
    world = distributed.from_env()
    try:
        validate(settings)
        if world.active and (source == "-" or not isinstance(source, (str, Path))):
            raise UsageError("training across processes reads DATA from a file, not stdin; save it to a file first")
    except RnncastError as exc:  # every rank refuses the same options, before joining: rank 0 says it
        exc.rnncast_silent = not world.main
        raise
    writes = model_path is not None and world.main
    with distributed.session(tr.resolve_device(settings.train.device)):
        with atomic.model_lock(model_path) if writes else contextlib.nullcontext():
            coll = distributed.from_rank0(lambda: collection.read_collection(source, settings.read, settings.layout))
            p, settings = planned(coll, settings)
            if on_plan is not None:
                on_plan(p)
            result = fit_plan(p, settings.network, settings.train, on_epoch)
            distributed.agree()  # every rank got here: none failed, so the model may be written
            if writes:
                artifact.save(result.artifact, model_path)
    return result


def backtest_file(
    source: Source,
    settings: Settings | None = None,
    folds: int = 3,
    levels: tuple[float, ...] | None = None,
    on_plan: Callable[[Plan], None] | None = None,
    on_fold: Callable[[int, ev.Fold], None] | None = None,
    step: int | None = None,
    plot_path: str | Path | None = None,
) -> ev.Evaluation:
    """Read a file and backtest one network on all its series (see `evaluation.backtest`).

    `levels` None: the default 80 and 95, each skipped with a note where the data has too few validation windows;
    `step`: rows between fold origins (None: the horizon); `plot_path` (.png, .svg, .pdf): also draw each
    fold's forecast against the actual values (of the first series, when there are several).
    """
    settings = settings or Settings()
    validate(settings)
    levels = None if levels is None else validate_levels(levels)
    if folds < 1:
        raise UsageError("--folds must be at least 1")
    if step is not None and step < 1:
        raise UsageError("--step must be at least 1")
    if plot_path is not None:
        from rnncast import plot

        plot.image_format(plot_path)  # refused before any training
    coll = collection.read_collection(source, settings.read, settings.layout)
    result = ev.backtest(coll, settings, folds, levels, on_plan, on_fold, step)
    result.notes[:0] = collection.collection_notes(coll)
    if plot_path is not None:
        draw_backtest(result, coll, folds, plot_path)
    return result


def draw_backtest(result: ev.Evaluation, coll: collection.Collection, folds: int, path: str | Path) -> None:
    """Each fold's forecast of the first series scored, with its intervals, over the actual values."""
    from rnncast import plot

    sid = result.ids[0]
    s = coll.series[coll.ids.index(sid)]
    mask = result.series == 0  # its windows, one per fold, oldest first
    horizon, t = result.actual.shape[1], len(result.targets)
    network = next(iter(result.forecasts))
    shown = slice(max(0, len(s) - (folds + 3) * horizon), len(s))  # the backtested span and some history
    drawn = []
    for i in range(folds):
        start = len(s) - (folds - i) * horizon
        bounds = {lv: (lo[mask][i], hi[mask][i]) for lv, (lo, hi) in result.bounds.items()}
        drawn.append((s.index[start : start + horizon], result.forecasts[network][mask][i], bounds))
    name = f"series {sid!r}: " if result.id_name else ""
    picture = plot.ForecastPicture(
        title=f"{name}backtest, {folds} fold(s) of {horizon} steps",
        targets=result.targets,
        history_index=s.index[shown],
        history=s.values[shown, :t],
        index=drawn[0][0],
        forecast=drawn[0][1],
        bounds={},
    )
    plot.backtest_chart(picture, drawn, path)


def evaluate_file(
    model_path: str | Path,
    source: Source,
    read: ReadOptions | None = None,
    levels: tuple[float, ...] | None = None,
    every: bool = False,
) -> ev.Evaluation:
    """Load a model, read new data in its layout and columns, and score it (see `evaluation.evaluate`).

    `levels` None: the default 80 and 95, each skipped with a note where the model has too few validation windows.
    """
    levels = None if levels is None else validate_levels(levels)
    art = artifact.load(model_path)
    return ev.evaluate(art, newdata.read_like_model(art, source, read, blanks=True), levels, every)


def diagnose_file(
    source: Source,
    settings: Settings | None = None,
    cells: tuple[str, ...] = ("rnn",),
    on_plan: Callable[[Plan], None] | None = None,
    on_fit: Callable[[str, FitResult], None] | None = None,
) -> list:
    """Read a file, train one network per cell as `fit` would (nothing saved), and diagnose each.

    Returns a `diagnose.Diagnosis` per cell, in the order given.
    """
    from rnncast import diagnose

    settings = settings or Settings()
    validate(settings)
    unknown = [c for c in cells if c not in CELLS]
    if unknown or not cells:
        raise UsageError(f"--cell {unknown[0] if unknown else '(none)'!r}: choose among {', '.join(CELLS)}")
    coll = collection.read_collection(source, settings.read, settings.layout)
    p, settings = planned(coll, settings)
    if on_plan is not None:
        on_plan(p)
    return diagnose.diagnose_cells(p, settings.network, settings.train, tuple(dict.fromkeys(cells)), on_fit)


def diagnose_model(model_path: str | Path, source: Source, read: ReadOptions | None = None):
    """Diagnose a saved model on the latest windows of DATA (read in the model's layout and columns)."""
    from rnncast import diagnose

    art = artifact.load(model_path)
    coll = newdata.read_like_model(art, source, read)
    newdata.same_grids(art, coll)  # windows at another frequency or clock are not the model's windows
    return diagnose.diagnose_saved(art, coll)


PLOT_TAIL = 4  # the history drawn before a forecast: this many horizons, or seq_len rows if more


def plot_file(
    model_path: str | Path,
    path: str | Path,
    source: Source | None = None,
    levels: tuple[float, ...] | None = None,
    sid: str | None = None,
) -> str:
    """Draw the forecast after the training end with its intervals, the history before it and, when DATA
    holds rows after the training end, the actual values. Returns the series id drawn."""
    from rnncast import plot

    plot.image_format(path)
    picture, sid = forecast_picture(model_path, source, levels, sid)
    plot.forecast_chart(picture, path)
    return sid


def forecast_picture(
    model_path: str | Path,
    source: Source | None = None,
    levels: tuple[float, ...] | None = None,
    sid: str | None = None,
):
    """What `plot_file` draws (a `plot.ForecastPicture`), and the series id it shows."""
    import numpy as np
    import pandas as pd

    from rnncast import plot

    levels = None if levels is None else validate_levels(levels)
    art = artifact.load(model_path)
    # None: the default levels the model's validation windows support (a default never stops a plot)
    levels, _ = intervals.supported(levels, art.val_residuals.shape[0], ev.DEFAULT_LEVELS)
    sm, meta = art.meta["series"], art.meta["data"]
    if meta.get("future_features"):
        raise UsageError(
            f"plot cannot draw this model's forecast: it reads {', '.join(meta['future_features'])} for the forecast "
            "steps; forecast with `rnncast forecast --future FILE` and draw that"
        )
    fc.check_ids(art, (sid,) if sid is not None else ())
    sid = sm["ids"][0] if sid is None else sid
    number = sm["ids"].index(sid)
    result, _ = fc.forecast(art, None, None, levels, (sid,) if len(sm["ids"]) > 1 else ())
    t, horizon, seq_len = len(meta["targets"]), art.meta["model"]["horizon"], art.meta["model_seq_len"]
    ctx = fc.saved_contexts(art, with_index=True)[number]
    history_index, history = ctx.index, art.context[number][:, :t]
    if meta.get("time_kind") != "datetime":  # saved contexts of step-numbered data: count back from the end
        history_index = pd.Index(ctx.last - (meta.get("step") or 1) * np.arange(seq_len - 1, -1, -1))
    own = min(seq_len, sm.get("rows", [seq_len] * len(sm["ids"]))[number])  # a short series' context is padded
    history_index, history = history_index[seq_len - own :], history[seq_len - own :]
    actual_index = actual = None
    if source is not None:
        coll = newdata.read_like_model(art, source, None, (sid,) if len(sm["ids"]) > 1 else ())
        newdata.same_grids(art, coll)  # rows at another frequency or clock would be drawn as the model's
        if sid not in coll.ids:
            raise DataError(f"the data holds no series {sid!r}; pass data with it, or another --id")
        s = coll.series[coll.ids.index(sid)]
        end = timeindex.as_time(meta, ctx.last)
        before = s.index <= end
        if before.all() and s.index[-1] != end:  # its history would stand apart from the forecast drawn after it
            zone, freq = meta.get("zone"), meta.get("freq")
            raise DataError(
                f"the data ends at {timeindex.shown_stamp(s.index[-1], zone, freq)}, before the model's training end "
                f"{timeindex.shown_stamp(ctx.last, zone, freq)}; plot draws the forecast after the training end: "
                "pass data that reaches it, or leave DATA out to draw the saved history"
            )
        if before.any():  # else DATA holds only rows after the training end: the saved history stays
            keep = max(seq_len, PLOT_TAIL * horizon)
            history_index, history = s.index[before][-keep:], s.values[before][-keep:, :t]
        actual_index, actual = s.index[~before][:horizon], s.values[~before][:horizon, :t]
    name = f"series {sid!r}: " if len(sm["ids"]) > 1 else ""
    picture = plot.ForecastPicture(
        title=f"{name}forecast after {timeindex.shown_stamp(ctx.last, meta.get('zone'), meta.get('freq'))} ({Path(str(model_path)).name})",
        targets=meta["targets"],
        history_index=history_index,
        history=history,
        index=timeindex.shown(timeindex.future_index(meta, ctx.last, horizon), meta.get("zone")),
        forecast=result.values[0],
        bounds={level: (lo[0], hi[0]) for level, (lo, hi) in result.bounds.items()},
        actual_index=actual_index,
        actual=actual,
    )
    return picture, sid


def plot_curves(model_path: str | Path, path: str | Path) -> None:
    """Draw the training and validation loss per epoch kept in the model file."""
    from rnncast import plot

    plot.image_format(path)
    meta = artifact.load(model_path).meta
    history = meta["training"].get("history") or []
    if not history:
        raise DataError(f"{model_path} keeps no per-epoch losses (made by an older rnncast); refit to draw them")
    t = meta["training"]
    members = t.get("member_epochs")  # an ensemble's: the kept members' epochs, not the curve's lowest point
    best = f"members' best {', '.join(map(str, sorted(members)))}" if members else f"best {t['best_epoch']}"
    title = f"{Path(str(model_path)).name}: {t['epochs_run']} epoch(s), {best}"
    plot.loss_curves(history, path, title, LOSS_NAMES[saved_loss(meta)], members)


def saved_loss(meta: dict) -> str:
    """The loss a saved model trained on (--loss as fit resolved it); mse in files made before --loss."""
    return meta.get("train", {}).get("loss", "mse")


def run_report(result: FitResult, model_path: str | Path, seconds: float) -> dict:
    """What `fit --report` writes: the run's sizes, device, epochs, per-epoch losses, timings and metrics."""
    t, p, d = result.training, result.plan, result.artifact.meta["data"]
    loss = t.config.loss if t.config is not None else "mse"
    mse = loss == "mse"
    report = {
        "model": str(model_path),
        "rows": d["rows"],
        "targets": d["targets"],
        "features": d["features"],
        "future_features": d.get("future_features", []),
        "seq_len": p.seq_len,
        "horizon": p.horizon,
        "season": p.season,
        "train_windows": d["train_windows"],
        "val_windows": d["val_windows"],
        "device": t.device,
        "world_size": t.world_size,  # processes that trained together (torchrun); 1: one process
        "epochs_run": t.epochs_run,
        "best_epoch": t.best_epoch,
        "member_epochs": t.member_epochs or None,  # an ensemble's: each member kept at its own best epoch
        "loss": loss,  # what training minimised and early stopping watched (--loss)
        "best_val_loss": t.best_val_loss,
        "best_val_mse": t.best_val_loss if mse else None,  # null when --loss was not mse
        "timings": {"train_seconds": round(t.seconds, 3), "total_seconds": round(seconds, 3)},
        "gradients": t.gradients,  # steps, clip, clip_rate, and p50/p90/p99/max of the pre-clip gradient norm
        "refit": result.artifact.meta["training"].get("refit"),  # --refit: epochs, windows, seconds, train_loss
        "history": [
            {
                "epoch": h.epoch,
                "train_loss": h.train_loss,
                "val_loss": h.val_loss,
                "train_mse": h.train_loss if mse else None,
                "val_mse": h.val_loss if mse else None,
            }
            for h in t.history
        ],  # fmt: skip
        "metrics": [dict(s.to_dict(), **({"id": sid} if p.layout.many else {})) for sid, s in result.scores],
    }
    if p.layout.many:
        report["series"] = p.ids
    return report


def _in_zone(value: object, zone: str | None) -> object:
    """A saved (UTC) time stamp as output shows it: with its offset in the data's zone."""
    if zone is None or not isinstance(value, (str, pd.Timestamp)):
        return value
    return timeindex.shown(pd.DatetimeIndex([value]), zone)[0].isoformat()


def model_card(meta: dict) -> dict:
    """What `info` shows: the network, data, settings, training, validation MASE and versions, with typed values."""
    d, m, t, sm = meta["data"], meta["model"], meta["training"], meta["series"]
    train, windows = meta.get("train", {}), meta.get("windows", {})
    many = sm.get("id_col") is not None or sm.get("wide", False)
    g = t.get("gradients") or {}  # files before clip statistics hold none
    loss, refit = saved_loss(meta), t.get("refit") or {}
    card = {
        "cell": m["cell"], "hidden_size": m["hidden_size"], "layers": m["layers"], "dropout": m["dropout"],
        "window_norm": m["window_norm"], "segment": m.get("segment", 0), "highway": m.get("highway", 0), "ensemble": m.get("ensemble", 1),
        "highway_members": m.get("highway_members") or (m.get("ensemble", 1) if m.get("highway") else 0),
        "seq_len": meta["model_seq_len"], "cell_len": m.get("cell_len") or meta["model_seq_len"], "horizon": m["horizon"],
        "targets": d["targets"], "features": d["features"], "frequency": d["freq"], "season": d["season"],
        "training_start": _in_zone(d["start"], d.get("zone")), "training_end": _in_zone(d["end"], d.get("zone")),
        "time_zone": d.get("zone"), "date_format": d.get("time_read", {}).get("date_format"),
        "weekmask": d.get("time_read", {}).get("weekmask"),
        "fill": d.get("time_read", {}).get("fill", "interpolate"),  # how new data's blanks are filled, as fit's
        "rows": d["rows"], "data_sha256": d["sha256"],
        "scaler": meta["scaler"], "val_frac": windows.get("val_frac"),
        "epochs": train.get("epochs"), "batch_size": train.get("batch_size"), "lr": train.get("lr"),
        "clip": train.get("clip"), "patience": train.get("patience"), "seed": train.get("seed"),
        "epochs_run": t["epochs_run"], "best_epoch": t["best_epoch"], "member_epochs": t.get("member_epochs"), "loss": loss,
        "best_val_loss": t["best_val_loss"], "best_val_mse": t["best_val_loss"] if loss == "mse" else None,
        "refit_epochs": refit.get("epochs"), "refit_windows": refit.get("windows"),
        "clip_rate": g.get("clip_rate"), "grad_norm_p50": g.get("p50"), "grad_norm_p90": g.get("p90"),
        "grad_norm_p99": g.get("p99"), "grad_norm_max": g.get("max"),
        "device": t["device"], "created": meta["created"], "format_version": meta.get("format_version", 1),
    }  # fmt: skip
    if many:
        card.update(series=len(sm["ids"]), id_col=sm["id_col"] or "(wide)", series_ids=sm["ids"],
                    id_embedding=m.get("id_embedding", 0))  # fmt: skip
    card["calendar"] = sm.get("calendar", [])
    card["future_features"] = d.get("future_features", [])  # known for the forecast steps: forecast --future FILE
    card["calendar_ahead"] = sm.get("calendar_ahead", False)  # the forecast steps' calendar is read too
    card["non_negative"] = meta.get("non_negative", False)
    guard = meta.get("guard")
    card["guard_base"] = guard["base"] if guard else "none"  # forecast = base + alpha (network - base), per step
    if guard:
        alpha = guard["alpha"]  # (H, T)
        card["guard_alpha"] = [row[0] for row in alpha] if len(alpha[0]) == 1 else alpha
    card.update({f"version_{k}": v for k, v in meta["versions"].items()})
    for s in meta["metrics"]:
        card[f"val_mase_{s['target']}_{s['model']}"] = s["mase"]
    return card
