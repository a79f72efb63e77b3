"""Issue 11's scoreboard: rnncast at its library defaults against baselines and published numbers, in one table.

rnncast is driven only through its public library (`rnncast.api` with `Settings`), and each protocol
sets only what it requires (the horizon, the split); every network and training option stays at the
library's default at run time, so ensembles, guards or new window choices are what is measured.
Protocols: ../shared/data/README.md.

- ETTh1 / ETTh2 (OT): fit on rows [0, 11520) with `val_frac` chosen so that validation targets start
  at row 8640; the test windows (targets [11520, 14400), stride 1) are scored by `api.evaluate_file`
  and the errors divided by the training rows' population std: MSE and MAE on z-scored values.
- M4 Weekly: one global fit on the 359 training series (long CSV, weekly dates ending on one day),
  13 steps forecast by `api.forecast_file`; mean sMAPE and lag-1 MASE, OWA against Naive2 (= naive);
  statsforecast AutoETS and AutoTheta on the same series (`pip install -e ".[bench]"`).
- elec_equip (monthly), macrodata (quarterly, realgdp): the fit's validation scores and a 3-fold
  `api.backtest_file`.
- A generated hourly panel (sines with daily and weekly cycles, trends, noise; fixed seed): one
  global fit, pooled validation MASE.

    make bench-accuracy                      # every row (about 25 minutes on 2 CPU cores)
    make bench-accuracy ARGS=--quick         # ETTh1 at 96, 60 M4 series, the small files, a 40-series panel
    python benchmarks/accuracy.py --only ett --horizons 96 --val-only --set hidden_size=128   # compare defaults

`--set KEY=VALUE` overrides a field of WindowConfig, NetworkOptions or TrainConfig for every fit;
choose defaults with `--val-only`, which never scores a test window.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import rnncast
from rnncast import api, collection
from rnncast import tune as tuning
from rnncast.fitting import FitResult, long_lookback
from rnncast.metrics import POOLED
from rnncast.settings import Layout, NetworkOptions, ReadOptions, Settings, WindowConfig
from rnncast.train import TrainConfig
from rnncast.windowing import window_lengths

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"

TRAIN_END, VAL_END, TEST_END = 8640, 11520, 14400  # ETT rows: validation targets from 8640, test from 11520
ETT_HORIZONS = (24, 96, 192, 336, 720)
# Published univariate ETTh1 (OT) test MSE: Zeng et al. 2023 ("Are Transformers Effective for Time
# Series Forecasting?", Table 3); repeat-last from the same table checks our naive column.
PUBLISHED = {
    "ETTh1": {
        96: "NLinear .053, DLinear .056 (repeat-last .069)",
        192: "NLinear .069, DLinear .071 (repeat-last .092)",
        336: "NLinear .081, DLinear .098 (repeat-last .113)",
        720: "NLinear .080, DLinear .189 (repeat-last .129)",
    }
}

M4_HORIZON, M4_SEASON = 13, 52
M4_NAIVE2 = {"sMAPE": 9.161, "MASE": 2.777}  # OWA's yardstick (Naive2 = naive for Weekly)
M4_END = "2016-12-25"  # a Sunday: every series ends here (the files have no dates)

SMALL = {  # file, what to read; everything else is fit's default
    "elec_equip": ("elec_equip.csv", ReadOptions()),
    "macrodata": ("macrodata.csv", ReadOptions(targets=("realgdp",))),
}
FOLDS = 3

PROTOCOL_KEYS = ("horizon", "val_frac")  # fixed by the protocols, not by --set
QUICK = {"ett": ("ETTh1",), "horizons": (96,), "m4_series": 60, "panel_series": 40}


# ---------------------------------------------------------------------------- rows


@dataclass
class Row:
    """One line of the table: one metric of one dataset, rnncast beside the baselines on the same targets."""

    dataset: str
    horizon: int
    metric: str
    rnncast: float | None
    naive: float | None = None
    seasonal: float | None = None
    ets_theta: tuple[float, float] | None = None
    published: str = "-"
    seconds: str = "-"  # fit seconds (per method where several fit)
    tuned: float | None = None  # rnncast with the best settings `tune` found on validation (--tune; ETT only)


@dataclass
class Report:
    """Every row, with what each benchmark chose and measured besides (for --json)."""

    rows: list[Row] = field(default_factory=list)
    details: dict[str, dict] = field(default_factory=dict)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def timed(fn: Callable, *args, **kwargs) -> tuple[object, float]:
    started = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - started


# ---------------------------------------------------------------------------- settings and --set


def parse_overrides(pairs: list[str]) -> dict[str, dict[str, object]]:
    """--set KEY=VALUE pairs → {"windows": {...}, "network": {...}, "train": {...}}, each typed like its field."""
    owners = {"windows": WindowConfig, "network": NetworkOptions, "train": TrainConfig}
    where = {f.name: (part, f) for part, cls in owners.items() for f in dataclasses.fields(cls)}
    out: dict[str, dict[str, object]] = {part: {} for part in owners}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in where:
            raise SystemExit(f"--set {pair!r}: expected KEY=VALUE with KEY one of {', '.join(sorted(where))}")
        if key in PROTOCOL_KEYS:
            raise SystemExit(f"--set {key}: the protocols fix {' and '.join(PROTOCOL_KEYS)}; they cannot be set")
        part, f = where[key]
        out[part][key] = typed(text.strip(), str(f.type), pair)
    return out


def typed(text: str, annotation: str, pair: str) -> object:
    """`text` as the type a dataclass field is annotated with (`int | None`, `float`, `bool`, `str`)."""
    if text.lower() == "none" and "None" in annotation:
        return None
    try:
        if "bool" in annotation:
            return {"true": True, "false": False, "1": True, "0": False}[text.lower()]
        if "int" in annotation:
            return int(text)
        if "float" in annotation:
            return float(text)
    except (KeyError, ValueError):
        raise SystemExit(f"--set {pair!r}: {text!r} is not a {annotation}") from None
    return text


def settings(overrides: dict, read: ReadOptions | None = None, layout: Layout | None = None, **windows) -> Settings:
    """fit's defaults, the --set overrides, then what the protocol fixes (`windows`: horizon, val_frac)."""
    return Settings(
        read=read or ReadOptions(),
        layout=layout or Layout(),
        windows=WindowConfig(**{**overrides["windows"], **windows}),
        network=NetworkOptions(**overrides["network"]),
        train=TrainConfig(**overrides["train"]),
    )


def validation(result: FitResult) -> dict[str, object]:
    """The fit's validation scores by model, the network first (many series: the means over series)."""
    many = result.plan.layout.many
    return {s.model: s for sid, s in result.scores if not many or sid == POOLED}


def by_role(models: dict[str, object]) -> tuple[object, object, object | None]:
    """(network, naive, seasonal naive or None) from a dict keyed by model name, the network first."""
    network = next(iter(models.values()))
    seasonal = next((v for k, v in models.items() if k.startswith("seasonal naive")), None)
    return network, models["naive"], seasonal


def epochs_run(result: FitResult) -> int | None:
    return getattr(getattr(result, "training", None), "epochs_run", None)


def fit_detail(result: FitResult, seconds: float, **more) -> dict:
    """What a fit chose and how it went, for --json (best_epoch 1: validation never improved after epoch 1)."""
    p, training = result.plan, getattr(result, "training", None)
    return {"seq_len": p.seq_len, "season": p.season, "window_norm_base": p.base, "train_windows": p.n_train,
            "epochs": epochs_run(result), "best_epoch": getattr(training, "best_epoch", None),
            "fit_seconds": seconds, **more}  # fmt: skip


# ---------------------------------------------------------------------------- ETTh1 / ETTh2


TUNE_BUDGET = 300.0


def ett(
    name: str,
    horizons: tuple[int, ...],
    overrides: dict,
    val_only: bool,
    tmp: Path,
    report: Report,
    trials: int = 0,
    earlier: bool = False,
) -> None:
    """The standard univariate protocol on one ETT file's OT column, one default fit per horizon.

    With `trials`, `rnncast tune` also searches every setting but seq_len (fixed: the validation
    split depends on it) on the same validation windows, and its best model is scored on test.
    `earlier`: a second validation fold for choosing defaults, the protocol moved back by its validation
    length: the fit reads rows before 8640 only, validation targets are rows [5760, 8640), and neither the
    protocol's validation nor its test rows are read (validation scores only).
    """
    back = VAL_END - TRAIN_END if earlier else 0
    train_end, val_end = TRAIN_END - back, VAL_END - back
    assert val_only or not back, "the earlier fold has no test rows of its own: use it with --val-only"
    frame = pd.read_csv(DATA / "ett" / f"{name}.csv", usecols=["date", "OT"])
    ot = frame["OT"].to_numpy(np.float64)
    mean, std = ot[:train_end].mean(), ot[:train_end].std()  # z-score of the protocol: population std
    fit_csv = tmp / f"{name}-fit.csv"
    frame.iloc[:val_end].to_csv(fit_csv, index=False)
    published = PUBLISHED.get(name, {})
    coll = collection.read_collection(fit_csv, ReadOptions(targets=("OT",)), Layout())
    for horizon in horizons:
        wc = WindowConfig(**{**overrides["windows"], "horizon": horizon})
        s = settings(overrides, ReadOptions(targets=("OT",)), horizon=horizon)
        # the library's own window for these rows: fit's long hourly window where it applies, else the frequency's
        seq_len = long_lookback(coll, s).windows.seq_len or window_lengths("h", val_end, wc)[0]
        val_frac = (val_end - train_end - horizon + 1) / (val_end - seq_len - horizon + 1)  # windows: val / all
        model = tmp / f"{name}-{horizon}.rnncast"
        s = settings(overrides, ReadOptions(targets=("OT",)), horizon=horizon, val_frac=val_frac)
        result, seconds = timed(api.fit, fit_csv, s, model_path=model)
        member = result.plan.members[0]
        assert member.split.cut == train_end, f"validation targets start at row {member.split.cut}, not {train_end}"
        assert np.isclose(member.scaling.shift[0], mean) and np.isclose(member.scaling.scale[0], std), "not z-score"
        val_mse = [(v.rmse / std) ** 2 if v else None for v in by_role(validation(result))]  # network, naive, seasonal
        detail = fit_detail(result, seconds, val_frac=val_frac, val_mse=val_mse)
        say(f"{name} {horizon}: fit {seconds:.0f} s, seq_len {result.plan.seq_len}, {epochs_run(result)} epochs, "
            f"val MSE {val_mse[0]:.4f} (naive {val_mse[1]:.4f})")  # fmt: skip
        rows = []
        if not val_only:
            test_csv = tmp / f"{name}-test-{horizon}.csv"
            frame.iloc[VAL_END - result.plan.seq_len : TEST_END].to_csv(test_csv, index=False)
            ev = api.evaluate_file(model, test_csv, levels=(80.0, 95.0), every=True)
            assert ev.windows == TEST_END - VAL_END - horizon + 1, ev.windows
            errors = [(f - ev.actual) / std if f is not None else None for f in by_role(ev.forecasts)]
            mse = [float(np.mean(e**2)) if e is not None else None for e in errors]
            mae = [float(np.mean(np.abs(e))) if e is not None else None for e in errors]
            detail.update(test_mse=mse, test_mae=mae, coverage={lv: ev.coverage(lv) for lv in (80.0, 95.0)})
            say(f"{name} {horizon}: test MSE {mse[0]:.4f} (naive {mse[1]:.4f}), MAE {mae[0]:.4f} (naive {mae[1]:.4f})")
            rows += [
                Row(name, horizon, "test MSE", *mse, published=published.get(horizon, "-"), seconds=secs(seconds)),
                Row(name, horizon, "test MAE", *mae),
            ]
        rows.append(Row(name, horizon, "val MSE (rows 5760-8640)" if back else "val MSE", *val_mse))
        if trials:
            tuned_model = tmp / f"{name}-{horizon}-tuned.rnncast"
            s_tuned = settings(overrides, ReadOptions(targets=("OT",)), horizon=horizon, val_frac=val_frac,
                               seq_len=result.plan.seq_len)  # fmt: skip
            budget = TUNE_BUDGET  # seconds per horizon: the search stops starting trials after it
            found, tune_seconds = timed(tuning.tune, fit_csv, s_tuned, {"seq_len"}, trials, budget, None, tuned_model)
            assert found.fit.plan.members[0].split.cut == train_end
            tuned_val = [(v.rmse / std) ** 2 if v else None for v in by_role(validation(found.fit))][0]
            rows[-1].tuned = tuned_val
            detail.update(tune={"trials": len(found.trials), "seconds": tune_seconds, "best": found.best.params,
                                "val_mse": tuned_val})  # fmt: skip
            say(f"{name} {horizon}: tune {len(found.trials)} trials in {tune_seconds:.0f} s, best {found.best.params}, "
                f"val MSE {tuned_val:.4f}")  # fmt: skip
            if not val_only:
                ev = api.evaluate_file(tuned_model, test_csv, levels=(80.0,), every=True)
                err = (next(iter(ev.forecasts.values())) - ev.actual) / std
                rows[-3].tuned, rows[-2].tuned = float(np.mean(err**2)), float(np.mean(np.abs(err)))
                detail["tune"].update(test_mse=rows[-3].tuned, test_mae=rows[-2].tuned)
                say(f"{name} {horizon}: tuned test MSE {rows[-3].tuned:.4f}")
        if val_only:
            rows[-1].seconds = secs(seconds)
        report.rows += rows
        report.details[f"{name} {horizon}"] = detail


# ---------------------------------------------------------------------------- M4 Weekly


def m4_series(n_series: int | None) -> tuple[list[str], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(ids, training values, the 13 test values): all 359 series, or `n_series` evenly spaced (W1, W7, …)."""
    train = pd.read_csv(DATA / "m4" / "Weekly-train.csv", index_col=0)
    test = pd.read_csv(DATA / "m4" / "Weekly-test.csv", index_col=0)
    ids = sorted(train.index, key=lambda sid: int(sid[1:]))
    if n_series is not None and n_series < len(ids):
        ids = [ids[k] for k in np.linspace(0, len(ids) - 1, n_series).round().astype(int)]
    history = {sid: train.loc[sid].dropna().to_numpy(np.float64) for sid in ids}  # left-aligned, blank-padded
    actual = {sid: test.loc[sid].to_numpy(np.float64) for sid in ids}
    return ids, history, actual


def m4_long_csv(history: dict[str, np.ndarray], path: Path) -> None:
    """id,date,value with weekly dates that end on the same Sunday for every series."""
    frames = [
        pd.DataFrame({"id": sid, "date": pd.date_range(end=M4_END, periods=len(y), freq="W-SUN"), "value": y})
        for sid, y in history.items()
    ]
    pd.concat(frames).to_csv(path, index=False, date_format="%Y-%m-%d")


def smape(actual: np.ndarray, pred: np.ndarray) -> float:
    return float(np.mean(200 * np.abs(actual - pred) / (np.abs(actual) + np.abs(pred))))


def mase(actual: np.ndarray, pred: np.ndarray, history: np.ndarray) -> float:
    """MAE over the in-sample MAE of repeat-last (M4's Weekly seasonality for MASE is 1)."""
    return float(np.mean(np.abs(actual - pred)) / np.mean(np.abs(np.diff(history))))


def m4_scores(forecasts: dict[str, np.ndarray], history: dict, actual: dict) -> dict[str, float]:
    """Mean sMAPE and MASE over the series given, and OWA against the Naive2 scores."""
    s = float(np.mean([smape(actual[sid], f) for sid, f in forecasts.items()]))
    m = float(np.mean([mase(actual[sid], f, history[sid]) for sid, f in forecasts.items()]))
    return {"sMAPE": s, "MASE": m, "OWA": 0.5 * (s / M4_NAIVE2["sMAPE"] + m / M4_NAIVE2["MASE"])}


def statistical(history: dict[str, np.ndarray]) -> dict[str, tuple[dict[str, np.ndarray], float]]:
    """statsforecast AutoETS and AutoTheta per series, season 52: name → (forecasts, seconds); {} when not installed.

    Both take season_length 52 and drop the season themselves where they cannot use it: ETS (as R's
    `ets`) fits no seasonal model for periods over 24; Theta tests for seasonality only with 104+ points.
    """
    try:
        from statsforecast.models import AutoETS, AutoTheta
    except ImportError:
        say('statsforecast is not installed (pip install -e ".[bench]"): AutoETS and AutoTheta are skipped')
        return {}
    out = {}
    for name, make in (("AutoETS", AutoETS), ("AutoTheta", AutoTheta)):
        started = time.perf_counter()
        forecasts = {
            sid: make(season_length=M4_SEASON).forecast(y=y, h=M4_HORIZON)["mean"] for sid, y in history.items()
        }
        out[name] = (forecasts, time.perf_counter() - started)
    return out


def m4(n_series: int | None, overrides: dict, val_only: bool, tmp: Path, report: Report, stats: bool = True) -> None:
    """M4 Weekly: one global default fit, forecast 13 steps; baselines and statsforecast on the same series."""
    ids, history, actual = m4_series(n_series)
    label = "M4 Weekly" if n_series is None or n_series >= 359 else f"M4 Weekly ({len(ids)} series)"
    csv, model = tmp / "m4-weekly.csv", tmp / "m4-weekly.rnncast"
    m4_long_csv(history, csv)
    s = settings(overrides, layout=Layout(id_col="id"), horizon=M4_HORIZON)
    result, seconds = timed(api.fit, csv, s, model_path=model)
    detail = fit_detail(result, seconds, series=len(ids), fitted=len(result.plan.ids))
    say(f"{label}: fit {seconds:.0f} s, {len(result.plan.ids)} of {len(ids)} series fitted, seq_len "
        f"{result.plan.seq_len}, {epochs_run(result)} epochs")  # fmt: skip
    if val_only:  # rnncast's own validation metrics (MASE with its season), never the test file
        net, naive, seasonal = by_role(validation(result))
        report.rows.append(Row(label, M4_HORIZON, f"val MASE (season {result.plan.season}, mean)", net.mase,
                               naive.mase, seasonal.mase if seasonal else None, seconds=secs(seconds)))  # fmt: skip
        report.details[label] = detail
        return
    naive = {sid: np.repeat(y[-1], M4_HORIZON) for sid, y in history.items()}
    seasonal = {
        sid: y[len(y) - M4_SEASON + np.arange(M4_HORIZON) % M4_SEASON] if len(y) >= M4_SEASON else naive[sid]
        for sid, y in history.items()
    }
    fc, _ = api.forecast_file(model)
    network = dict(naive)  # a series fit skips (under 2 x horizon rows; none in M4 Weekly): repeat-last stands in
    network.update({sid: fc.values[k, :, 0] for k, sid in enumerate(fc.ids)})
    stats = statistical(history) if stats else {}
    methods = {"rnncast": network, "naive": naive, "seasonal": seasonal, **{k: f for k, (f, _) in stats.items()}}
    every = {name: m4_scores(f, history, actual) for name, f in methods.items()}
    fitted = [sid for sid in ids if sid in set(fc.ids)]
    subset = {name: m4_scores({sid: f[sid] for sid in fitted}, history, actual) for name, f in methods.items()}
    detail.update(scores=every, scores_fitted=subset, seconds={k: sec for k, (_, sec) in stats.items()})
    spent = secs(seconds) + "".join(f"; {k[4:]} {secs(sec)}" for k, (_, sec) in stats.items())
    for metric in ("sMAPE", "MASE", "OWA"):
        report.rows.append(m4_row(label, metric, every, spent if metric == "sMAPE" else "-"))
    if len(fitted) < len(ids):
        report.rows.append(m4_row(label, f"OWA, the {len(fitted)} series fitted", subset, "-"))
    report.details[label] = detail
    say(f"{label}: OWA rnncast {every['rnncast']['OWA']:.3f}, naive {every['naive']['OWA']:.3f}"
        + "".join(f", {k} {every[k]['OWA']:.3f}" for k in stats))  # fmt: skip


def m4_row(label: str, metric: str, scores: dict[str, dict[str, float]], seconds: str) -> Row:
    key = metric.split(",")[0]
    both = (scores["AutoETS"][key], scores["AutoTheta"][key]) if "AutoETS" in scores else None
    return Row(label, M4_HORIZON, metric, scores["rnncast"][key], scores["naive"][key], scores["seasonal"][key],
               both, seconds=seconds)  # fmt: skip


# ---------------------------------------------------------------------------- small monthly / quarterly files


def small(name: str, overrides: dict, val_only: bool, report: Report) -> None:
    """A short file at fit's defaults: validation MAE and MASE from the fit, then a 3-fold backtest's MASE."""
    file, read = SMALL[name]
    path = ROOT / "sample_data" / file
    s = settings(overrides, read)
    result, seconds = timed(api.fit, path, s, model_path=None)
    net, naive, seasonal = by_role(validation(result))
    horizon = result.plan.horizon
    target = f"{name} ({result.plan.first.targets[0]})" if read.targets else name
    report.rows += [
        Row(target, horizon, "val MAE", net.mae, naive.mae, seasonal.mae if seasonal else None,
            seconds=secs(seconds)),
        Row(target, horizon, "val MASE", net.mase, naive.mase, seasonal.mase if seasonal else None),
    ]  # fmt: skip
    detail = fit_detail(result, seconds)
    say(f"{target}: fit {seconds:.1f} s, val MASE {net.mase:.3f} (naive {naive.mase:.3f})")
    if not val_only:
        ev, back_seconds = timed(api.backtest_file, path, s, folds=FOLDS, levels=())
        frame = ev.frame()
        overall = frame[frame["step"] == "all"].set_index("model")["MASE"].to_dict()
        b_net, b_naive, b_seasonal = by_role(overall)
        report.rows.append(Row(target, horizon, f"backtest MASE ({FOLDS} folds)", b_net, b_naive, b_seasonal,
                               seconds=f"{secs(back_seconds)} ({FOLDS} fits)"))  # fmt: skip
        detail.update(backtest_mase=overall, backtest_seconds=back_seconds)
        say(f"{target}: backtest {back_seconds:.1f} s, MASE {b_net:.3f} (naive {b_naive:.3f})")
    report.details[target] = detail


# ---------------------------------------------------------------------------- generated hourly panel


def panel_csv(n_series: int, path: Path, seed: int = 0) -> None:
    """Hourly series of 800-1200 points ending together: level, trend, daily and weekly cycles, AR(1) noise."""
    rng = np.random.default_rng(seed)
    end = pd.Timestamp("2024-06-30 23:00")
    frames = []
    for k in range(n_series):
        n = int(rng.integers(800, 1201))
        t = np.arange(n)
        level = 10 ** rng.uniform(0.5, 3)  # levels from ~3 to 1000
        scale = level * rng.uniform(0.05, 0.3)
        daily = rng.uniform(0.2, 1) * np.sin(2 * np.pi * t / 24 + rng.uniform(0, 2 * np.pi))
        weekly = rng.uniform(0, 0.6) * np.sin(2 * np.pi * t / 168 + rng.uniform(0, 2 * np.pi))
        trend = rng.uniform(-0.5, 0.5) * t / n
        noise = np.zeros(n)
        shocks = rng.normal(0, rng.uniform(0.05, 0.3), n)
        for i in range(1, n):
            noise[i] = 0.6 * noise[i - 1] + shocks[i]
        values = level + scale * (daily + weekly + trend + noise)
        index = pd.date_range(end=end, periods=n, freq="h")
        frames.append(pd.DataFrame({"id": f"p{k:03d}", "date": index, "value": values.round(4)}))
    pd.concat(frames).to_csv(path, index=False)


def panel(n_series: int, overrides: dict, tmp: Path, report: Report) -> None:
    """One global default fit over the generated panel: fit seconds, pooled validation MASE against the baselines."""
    csv = tmp / "panel.csv"
    panel_csv(n_series, csv)
    result, seconds = timed(api.fit, csv, settings(overrides, layout=Layout(id_col="id")), model_path=None)
    net, naive, seasonal = by_role(validation(result))
    label = f"hourly panel ({n_series} series)"
    report.rows.append(Row(label, result.plan.horizon, "val MASE (mean over series)", net.mase, naive.mase,
                           seasonal.mase if seasonal else None, seconds=secs(seconds)))  # fmt: skip
    report.details[label] = fit_detail(result, seconds, series=n_series)
    say(f"{label}: fit {seconds:.0f} s, {result.plan.n_train} training windows, {epochs_run(result)} epochs, "
        f"val MASE {net.mase:.3f} (naive {naive.mase:.3f})")  # fmt: skip


# ---------------------------------------------------------------------------- output


def secs(seconds: float) -> str:
    return f"{seconds:.1f}" if seconds < 10 else f"{seconds:.0f}"


def number(value: float | None) -> str:
    return "-" if value is None else f"{value:#.4g}"  # 4 significant digits, trailing zeros kept: 0.1000


def table(rows: list[Row], overridden: bool = False) -> str:
    """The scoreboard as a Markdown table (lower is better in every metric column)."""
    rnncast_head = "rnncast (--set)" if overridden else "rnncast (defaults)"
    head = ["dataset", "horizon", "metric", rnncast_head, "rnncast (best of tune)", "naive", "seasonal naive",
            "AutoETS / AutoTheta", "published (MSE)", "fit seconds"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|---|---:|---|" + "---:|" * 5 + "---|---:|"]
    for r in rows:
        stats = "-" if r.ets_theta is None else f"{number(r.ets_theta[0])} / {number(r.ets_theta[1])}"
        cells = [r.dataset, str(r.horizon), r.metric, number(r.rnncast), number(r.tuned), number(r.naive),
                 number(r.seasonal), stats, r.published, r.seconds]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def environment() -> dict[str, str]:
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": commit(),
        "rnncast": rnncast.__version__,
        "torch": torch.__version__,
        "pandas": pd.__version__,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores visible, cuda {torch.cuda.is_available()}",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a subset, 6-9 minutes on 2 busy cores (see above)")
    ap.add_argument("--only", nargs="+", choices=("ett", "m4", "small", "panel"), help="run only these rows")
    ap.add_argument("--ett", nargs="+", default=None, help="ETT files (default ETTh1 ETTh2)")
    ap.add_argument("--horizons", type=int, nargs="+", default=None, help="ETT horizons (default 24 96 192 336 720)")
    ap.add_argument("--m4-series", type=int, default=None, help="M4 Weekly series, evenly spaced (default all 359)")
    ap.add_argument("--panel-series", type=int, default=None, help="generated hourly series (default 300)")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="a WindowConfig / NetworkOptions / TrainConfig field for every fit (repeatable)")  # fmt: skip
    ap.add_argument("--val-only", action="store_true", help="validation scores only: no test window is scored")
    ap.add_argument("--earlier-fold", action="store_true",
                    help="ETT rows, with --val-only: validation targets rows [5760, 8640), the fit reads rows before "
                         "8640 only (a second fold for choosing defaults)")  # fmt: skip
    ap.add_argument("--json", type=Path, help="also write every number here")
    ap.add_argument(
        "--no-statsforecast",
        action="store_true",
        help="M4 without AutoETS/AutoTheta (deterministic; minutes on 2 cores)",
    )
    ap.add_argument("--tune", type=int, default=0, metavar="N",
                    help="ETT rows: also run `rnncast tune` with N trials per horizon (best-of-tune column)")  # fmt: skip
    args = ap.parse_args()
    overrides = parse_overrides(args.overrides)
    if args.earlier_fold and not args.val_only:
        ap.error(
            "--earlier-fold scores validation only (its test months are the protocol's validation): add --val-only"
        )
    quick = QUICK if args.quick else {}
    ett_files = tuple(args.ett or quick.get("ett", ("ETTh1", "ETTh2")))
    horizons = tuple(args.horizons or quick.get("horizons", ETT_HORIZONS))
    m4_n = args.m4_series or quick.get("m4_series")
    panel_n = args.panel_series or quick.get("panel_series", 300)
    only = set(args.only or ("ett", "m4", "small", "panel"))
    env = environment()
    say(f"rnncast {env['rnncast']} ({env['commit']}), torch {env['torch']}; overrides {overrides}")

    report, seconds = Report(), {}
    with tempfile.TemporaryDirectory(prefix="rnncast-bench-") as tmp_name:
        tmp = Path(tmp_name)
        steps = {
            "ett": lambda: [
                ett(name, horizons, overrides, args.val_only, tmp, report, args.tune, args.earlier_fold)
                for name in ett_files
            ],
            "m4": lambda: m4(m4_n, overrides, args.val_only, tmp, report, not args.no_statsforecast),
            "small": lambda: [small(name, overrides, args.val_only, report) for name in SMALL],
            "panel": lambda: panel(panel_n, overrides, tmp, report),
        }
        for name, step in steps.items():
            if name in only:
                _, seconds[name] = timed(step)
                say(f"-- {name}: {seconds[name]:.0f} s")
    print(f"rnncast {env['rnncast']} ({env['commit']}), torch {env['torch']}, {env['date']}; "
          f"--set {' '.join(args.overrides) or '(none: library defaults)'}\n")  # fmt: skip
    print(table(report.rows, overridden=bool(args.overrides)))
    print(f"\nseconds per section: {', '.join(f'{k} {v:.0f}' for k, v in seconds.items())}")
    if args.json:
        rows = [dataclasses.asdict(r) for r in report.rows]
        payload = {"environment": env, "args": vars(args) | {"json": str(args.json)}, "overrides": overrides,
                   "seconds": seconds, "rows": rows, "details": report.details}  # fmt: skip
        args.json.write_text(json.dumps(payload, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
