"""Many series, one model: long or wide CSVs → per-series split and scaling → one window set → one network.

Each series is split chronologically on its own (its validation windows are its last ones) and
scaled with a scaler fitted on its own training rows only. The scaled series are stacked into one
(T_total, F) tensor, unfolded once (views), and only windows that lie inside one series are kept:
no window reads the end of one series and the start of the next.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import torch

from rnncast import artifact, atomic, data, intervals, metrics
from rnncast import forecast as fc
from rnncast import model as nets
from rnncast import train as tr
from rnncast.artifact import Artifact
from rnncast.data import ReadOptions, Scaling, Series, Split
from rnncast.errors import DataError, UsageError
from rnncast.metrics import Score
from rnncast.model import ModelConfig

POOLED = "(mean)"  # id of the rows that average a metric over series, as in M4


@dataclass
class PanelOptions:
    id_col: str | None = None  # long format: the column naming each row's series
    wide: bool = False  # wide format: every target column is one series over the shared time column
    id_embedding: int = 0  # width of a learned series embedding; 0: none (README, Many series: why off)
    calendar: bool = False  # add hour/day-of-week/month as sin/cos inputs

    @property
    def active(self) -> bool:
        return self.id_col is not None or self.wide


@dataclass
class Panel:
    """Series read from one file, each with its id; all share columns and frequency."""

    ids: list[str]
    series: list[Series]
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------- reading


def read_panel(source: str | Path | IO[str], read: ReadOptions, opts: PanelOptions) -> Panel:
    """Read a long (`--id-col`) or wide (`--wide`) CSV into one Series per id."""
    frame = data.read_table(source)
    if opts.id_col is not None and opts.wide:
        raise UsageError("--id-col and --wide describe different layouts; give one of them")
    return long_panel(frame, read, opts.id_col) if opts.id_col is not None else wide_panel(frame, read)


def long_panel(frame: pd.DataFrame, read: ReadOptions, id_col: str) -> Panel:
    """One series per value of `id_col`, in sorted id order."""
    if id_col not in frame.columns:
        raise UsageError(f"--id-col {id_col!r} is not a column; columns are: {', '.join(frame.columns)}")
    if frame[id_col].isna().any():
        row = int(frame[id_col].isna().to_numpy().argmax())
        raise DataError(f"--id-col {id_col!r} is blank at data row {row + 1}; fill it or drop the row")
    ids, series = [], []
    for key, rows in frame.groupby(id_col, sort=True):
        name = str(key)
        try:
            series.append(data.to_series(rows.drop(columns=id_col).reset_index(drop=True), read))
        except (DataError, UsageError) as exc:
            raise type(exc)(f"series {name!r}: {exc}") from None
        ids.append(name)
    return Panel(ids, series)


def wide_panel(frame: pd.DataFrame, read: ReadOptions) -> Panel:
    """One series per numeric column (or per --target) over the shared time column.

    Blank rows before a column's first value and after its last are dropped, so series may start
    and end at different times.
    """
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    probe_col = numeric[-1] if numeric else None  # the last: first columns are often year, month, ...
    if probe_col is None:
        raise DataError(f"--wide: no numeric column among {', '.join(frame.columns)}; check the delimiter")
    probe = data.to_series(frame, replace(read, targets=(probe_col,), features=(), fill="drop"))
    time_parts = probe.time_parts
    if len(set(read.targets)) != len(read.targets):
        raise UsageError("the same --target is given twice; name each target once")
    columns = list(read.targets) or [c for c in frame.columns if c not in time_parts and c not in read.features]
    for col in columns:
        if col not in frame.columns:
            raise UsageError(f"--target {col!r} is not a column; columns are: {', '.join(frame.columns)}")
        if not pd.api.types.is_numeric_dtype(frame[col]) or pd.api.types.is_bool_dtype(frame[col]):
            raise DataError(f"--wide: column {col!r} is not numeric; drop it or list the series with --target")
    if not columns:
        raise DataError("--wide: no series columns besides the time column")
    time_col = probe.time_col if len(time_parts) == 1 else read.time_col
    ids, series = [], []
    for col in columns:
        present = frame[col].notna().to_numpy()
        if not present.any():
            raise DataError(f"--wide: column {col!r} is blank in every row; drop it")
        first, last = present.argmax(), len(present) - present[::-1].argmax()
        rows = frame.iloc[first:last][time_parts + [col] + list(read.features)].reset_index(drop=True)
        one = data.to_series(rows, replace(read, time_col=time_col, targets=(col,)))
        series.append(replace(one, targets=["value"]))  # the column name is the series' id
        ids.append(col)
    return Panel(ids, series)


# ---------------------------------------------------------------------------- calendar

_CALENDAR = {  # name: (value from a DatetimeIndex, period)
    "hour": (lambda i: i.hour + i.minute / 60, 24),
    "dayofweek": (lambda i: i.day_of_week, 7),
    "month": (lambda i: i.month - 1, 12),
}


def calendar_parts(index: pd.Index) -> list[str]:
    """The calendar cycles that vary over `index` (hourly data: all three; monthly: month only)."""
    if not isinstance(index, pd.DatetimeIndex):
        raise UsageError("--calendar needs a date/time column; this data has row numbers")
    return [name for name, (value, _) in _CALENDAR.items() if len(np.unique(np.asarray(value(index)))) > 1]


def calendar_features(index: pd.DatetimeIndex, parts: list[str]) -> np.ndarray:
    """sin/cos of each calendar cycle at each time stamp: (T, 2 * len(parts))."""
    columns = []
    for name in parts:
        value, period = _CALENDAR[name]
        angle = 2 * np.pi * np.asarray(value(index), dtype=np.float64) / period
        columns += [np.sin(angle), np.cos(angle)]
    return np.stack(columns, axis=1) if columns else np.zeros((len(index), 0))


# ---------------------------------------------------------------------------- plan


@dataclass
class Member:
    """One series in the global model, with its own split and scaling."""

    id: str
    series: Series
    split: Split
    scaling: Scaling


@dataclass
class PanelPlan:
    members: list[Member]
    seq_len: int
    horizon: int
    season: int
    opts: PanelOptions
    calendar: list[str] = field(default_factory=list)  # calendar cycles used as inputs
    chosen: dict[str, object] = field(default_factory=dict)  # options defaulted from the data
    notes: list[str] = field(default_factory=list)  # warnings (skipped series, filled gaps)

    @property
    def first(self) -> Series:
        return self.members[0].series


def plan(panel: Panel, wc, opts: PanelOptions) -> PanelPlan:
    """Window lengths from the common frequency and the median length; skip series too short; split and scale."""
    freqs = Counter(s.freq for s in panel.series if len(s) >= 3)
    freq = freqs.most_common(1)[0][0] if freqs else None
    from rnncast import api

    seq_len, horizon, season, chosen = api.window_lengths(freq, int(np.median([len(s) for s in panel.series])), wc)
    need = data.min_rows(seq_len, horizon)
    notes = list(panel.notes)
    shared = set.intersection(*(set(s.notes) for s in panel.series))  # e.g. how the time was built: say it once
    notes += [n for n in panel.series[0].notes if n in shared]
    members = []
    for sid, s in zip(panel.ids, panel.series, strict=True):
        notes += [f"series {sid!r}: {note}" for note in s.notes if note not in shared]
        if len(s) < need:
            notes.append(
                f"series {sid!r} has {len(s)} rows, fewer than the {need} that one training and one validation "
                f"window need (seq_len {seq_len}, horizon {horizon}); skipped"
            )
            continue
        if s.freq != freq:
            raise DataError(f"series {sid!r} has frequency {s.freq}, the others {freq}; resample it or drop it")
        split = data.plan_split(len(s), seq_len, horizon, wc.val_frac)
        members.append(Member(sid, s, split, data.fit_scaling(s.values[: split.cut], wc.scaler)))
    if not members:
        raise DataError(
            f"every series is shorter than the {need} rows one training and one validation window need; "
            "lower --seq-len or --horizon"
        )
    cal = calendar_parts(members[0].series.index) if opts.calendar else []
    if opts.calendar and freq is None:
        raise UsageError("--calendar needs regular time stamps (a frequency); this data has none")
    return PanelPlan(members, seq_len, horizon, season, opts, cal, chosen, notes)


# ---------------------------------------------------------------------------- windows


def model_inputs(scaled: np.ndarray, index: pd.Index, calendar: list[str], number: int, with_id: bool) -> np.ndarray:
    """The rows the network reads: scaled values, then calendar sin/cos, then the series number: (T, F')."""
    parts = [scaled]
    if calendar:
        parts.append(calendar_features(index, calendar))
    if with_id:
        parts.append(np.full((len(scaled), 1), float(number)))
    return np.concatenate(parts, axis=1)


@dataclass
class PanelWindows:
    train: data.Windows
    val: data.Windows
    offsets: np.ndarray  # (S + 1,) first row of each series in the stacked tensor


def make_windows(pp: PanelPlan, device: torch.device | str = "cpu") -> PanelWindows:
    """All series stacked into one tensor, unfolded once; index tensors keep the windows inside one series."""
    with_id = pp.opts.id_embedding > 0
    n_targets = pp.first.n_targets
    rows = [
        model_inputs(m.scaling.transform(m.series.values), m.series.index, pp.calendar, i, with_id)
        for i, m in enumerate(pp.members)
    ]
    offsets = np.concatenate([[0], np.cumsum([len(r) for r in rows])])
    stacked = torch.as_tensor(np.concatenate(rows), dtype=torch.float32, device=device)  # (T_total, F')
    windows = data.make_windows(stacked, pp.seq_len, pp.horizon, n_targets)  # views over every start
    train = [offsets[i] + np.arange(m.split.n_train) for i, m in enumerate(pp.members)]
    val = [offsets[i] + m.split.val_start + np.arange(m.split.n_val) for i, m in enumerate(pp.members)]

    def index(starts: list[np.ndarray]) -> torch.Tensor:
        return torch.as_tensor(np.concatenate(starts), dtype=torch.long, device=device)

    return PanelWindows(
        data.Windows(windows.x, windows.y, index(train)), data.Windows(windows.x, windows.y, index(val)), offsets
    )


@torch.no_grad()
def predict(model: torch.nn.Module, windows: data.Windows, batch_size: int = 4096) -> torch.Tensor:
    """Model output for every window in use, gathered batch by batch: (N, H, T)."""
    model.eval()
    return torch.cat([model(windows.batch(slice(s, s + batch_size))[0]) for s in range(0, len(windows), batch_size)])


# ---------------------------------------------------------------------------- fit


@dataclass
class PanelFitResult:
    plan: PanelPlan
    artifact: Artifact
    training: tr.TrainResult
    scores: list[tuple[str, Score]]  # (series id or POOLED, score)

    def frame(self) -> pd.DataFrame:
        return scores_frame(self.scores)


def scores_frame(scores: list[tuple[str, Score]]) -> pd.DataFrame:
    """One row per (series, target, model): pooled means first, then each series."""
    rows = [
        {
            "id": sid,
            "target": s.target,
            "model": s.model,
            "MAE": s.mae,
            "RMSE": s.rmse,
            s.pct_name: s.pct,
            "MASE": s.mase,
        }
        for sid, s in scores
    ]
    return pd.DataFrame(rows)


def pooled(per_series: list[tuple[str, Score]]) -> list[tuple[str, Score]]:
    """Mean of each error over series, per target and model (M4: mean sMAPE, mean MASE)."""
    out = []
    keys = dict.fromkeys((s.target, s.model) for _, s in per_series)
    for target, model in keys:
        group = [s for _, s in per_series if s.target == target and s.model == model]
        mae, rmse, pct, mase = (float(np.mean([getattr(s, n) for s in group])) for n in ("mae", "rmse", "pct", "mase"))
        out.append((POOLED, Score(model, target, mae, rmse, "sMAPE", pct, mase)))
    return out


def better_base(pp: PanelPlan) -> str:
    """What --window-norm auto becomes for all series: 'season' when repeating the last cycle beats
    repeating the last value on the training windows of most series, else 'last'."""
    from rnncast import api

    t = pp.first.n_targets
    votes = [
        api.better_base(m.series.values[: m.split.cut, :t], m.split.n_train, pp.seq_len, pp.horizon, pp.season)
        for m in pp.members
    ]
    return "season" if 2 * votes.count("season") > len(votes) else "last"


def model_config(pp: PanelPlan, model_cfg: ModelConfig) -> ModelConfig:
    """The network's sizes for this plan: inputs (values, calendar, series number), targets, horizon, embedding."""
    emb = pp.opts.id_embedding
    norm = better_base(pp) if model_cfg.window_norm == "auto" else model_cfg.window_norm
    return replace(
        model_cfg,
        window_norm=norm,
        season=pp.season,
        n_inputs=len(pp.first.columns) + 2 * len(pp.calendar) + (1 if emb else 0),
        n_targets=pp.first.n_targets,
        horizon=pp.horizon,
        n_known=2 * len(pp.calendar),
        n_series=len(pp.members) if emb else 0,
        id_embedding=emb,
    )


def fit_plan(
    pp: PanelPlan,
    model_cfg: ModelConfig,
    train_cfg: tr.TrainConfig,
    on_epoch: Callable[[tr.EpochLog], None] | None = None,
) -> PanelFitResult:
    """Train one network on every series' windows; score it and the naive baselines per series and pooled."""
    tr.check_config(train_cfg)
    device = tr.resolve_device(train_cfg.device)
    tr.check_precision(train_cfg.precision, device)
    first = pp.first
    pw = make_windows(pp, device)
    model_cfg = model_config(pp, model_cfg)
    torch.manual_seed(train_cfg.seed)
    model = nets.build(model_cfg).to(device)
    result = tr.fit(model, pw.train, pw.val, train_cfg, on_epoch)

    t = first.n_targets
    pred_all = predict(model, pw.val).double().cpu().numpy()  # (N_val_total, H, T) scaled
    per_series, residuals, scales, done = [], [], [], 0
    for m in pp.members:
        sp, values = m.split, m.series.values[:, :t]
        pred = m.scaling.inverse(pred_all[done : done + sp.n_val], slice(0, t))
        done += sp.n_val
        actual = data.original_windows(values, sp.cut, sp.n_val, pp.horizon)
        history = data.original_windows(values, sp.val_start, sp.n_val, pp.seq_len)
        forecasts = {model_cfg.cell: pred, **metrics.baselines(history, pp.horizon, pp.season)}
        scale = metrics.mase_scale(values[: sp.cut], pp.season)
        per_series += [
            (m.id, metrics.score(name, target, actual[..., j], p[..., j], float(scale[j]), "sMAPE"))
            for j, target in enumerate(first.targets)
            for name, p in forecasts.items()
        ]
        residuals.append(actual - pred)
        scales.append(intervals.window_scale(history))
    scores = pooled(per_series) + per_series

    model.cpu()
    art = Artifact(
        meta=_meta(pp, model_cfg, train_cfg, result, scores),
        state_dict=model.state_dict(),
        scaling=Scaling(
            pp.members[0].scaling.kind,
            np.stack([m.scaling.shift for m in pp.members]),  # (S, F)
            np.stack([m.scaling.scale for m in pp.members]),
        ),
        context=np.stack([m.series.values[-pp.seq_len :] for m in pp.members]),  # (S, L, F)
        val_residuals=np.concatenate(residuals).astype(np.float32),  # pooled: the scores are scale-free
        val_scales=np.concatenate(scales).astype(np.float32),
    )
    return PanelFitResult(pp, art, result, scores)


def _meta(
    pp: PanelPlan, model_cfg: ModelConfig, train_cfg: tr.TrainConfig, result: tr.TrainResult, scores: list
) -> dict:
    from rnncast import api

    first = pp.first
    single = api.Plan(first, pp.seq_len, pp.horizon, pp.season, pp.members[0].split, pp.members[0].scaling)
    meta = api._meta(single, model_cfg, train_cfg, result, [s for sid, s in scores if sid == POOLED])
    digest = hashlib.sha256()
    for m in pp.members:
        digest.update(m.id.encode() + m.series.values.tobytes())
    meta["data"].update(
        rows=sum(len(m.series) for m in pp.members),
        start=data.time_value(min(m.series.index[0] for m in pp.members)),
        end=data.time_value(max(m.series.index[-1] for m in pp.members)),
        train_windows=sum(m.split.n_train for m in pp.members),
        val_windows=sum(m.split.n_val for m in pp.members),
        sha256=digest.hexdigest(),
    )
    meta["data"].pop("mase_scale", None)
    meta["data"].pop("val_start_row", None)
    meta["panel"] = {
        "ids": [m.id for m in pp.members],
        "id_col": pp.opts.id_col,
        "wide": pp.opts.wide,
        "calendar": pp.calendar,
        "ends": [data.time_value(m.series.index[-1]) for m in pp.members],
        "rows": [len(m.series) for m in pp.members],
        "mase_scale": [metrics.mase_scale(m.series.values[: m.split.cut, : first.n_targets], pp.season).tolist()
                       for m in pp.members],
    }  # fmt: skip
    return meta


def fit(
    source: str | Path | IO[str],
    read: ReadOptions | None = None,
    windows=None,
    opts: PanelOptions | None = None,
    model_cfg: ModelConfig | None = None,
    train_cfg: tr.TrainConfig | None = None,
    model_path: str | Path | None = "model.rnncast",
    on_plan: Callable[[PanelPlan], None] | None = None,
    on_epoch: Callable[[tr.EpochLog], None] | None = None,
) -> PanelFitResult:
    """Read a long or wide CSV, train one global model, score it, and save it (unless model_path is None)."""
    from rnncast import api

    opts = opts or PanelOptions(wide=True)
    train_cfg = train_cfg or tr.TrainConfig()
    tr.check_config(train_cfg)
    tr.check_precision(train_cfg.precision, tr.resolve_device(train_cfg.device))
    if opts.id_embedding < 0:
        raise UsageError("--id-embedding must be 0 (off) or positive")
    with atomic.model_lock(model_path) if model_path is not None else contextlib.nullcontext():
        pp = plan(read_panel(source, read or ReadOptions(), opts), windows or api.WindowConfig(), opts)
        if on_plan is not None:
            on_plan(pp)
        result = fit_plan(pp, model_cfg or ModelConfig(window_norm="auto"), train_cfg, on_epoch)
        if model_path is not None:
            artifact.save(result.artifact, model_path)
    return result


# ---------------------------------------------------------------------------- forecast


@dataclass
class PanelForecast:
    """Forecasts of several series, in each series' own units."""

    ids: list[str]
    parts: list[fc.Forecast]

    def frame(self) -> pd.DataFrame:
        """id first, then the single-series columns (time, targets, interval bounds)."""
        frames = [f.frame() for f in self.parts]
        for sid, frame in zip(self.ids, frames, strict=True):
            frame.insert(0, "id", sid)
        return pd.concat(frames, ignore_index=True)


def _context_index(data_meta: dict, end: object, seq_len: int) -> pd.Index:
    freq = data_meta.get("freq")
    return pd.date_range(end=pd.Timestamp(end), periods=seq_len, freq=freq) if freq else pd.RangeIndex(seq_len)


def forecast(
    art: Artifact,
    source: str | Path | IO[str] | None = None,
    horizon: int | None = None,
    read: ReadOptions | None = None,
    levels: tuple[float, ...] = (),
    ids: tuple[str, ...] = (),
) -> tuple[PanelForecast, list[str]]:
    """Forecast every series (or `ids`) after the saved context, or after the tails of new long/wide data."""
    levels = tuple(intervals.check_levels(levels))
    pm, meta = art.meta["panel"], art.meta["data"]
    trained = art.meta["model"]["horizon"]
    horizon = trained if horizon is None else horizon
    if not 1 <= horizon <= trained:
        raise UsageError(f"--horizon {horizon} is outside 1..{trained}, what this model was trained for")
    known = pm["ids"]
    for sid in ids:
        if sid not in known:
            shown = ", ".join(known[:10]) + (", …" if len(known) > 10 else "")
            raise UsageError(f"--id {sid!r} is not a series of this model; it has {len(known)}: {shown}")
    seq_len = art.meta["model_seq_len"]
    warnings: list[str] = []
    tails: dict[str, tuple[np.ndarray, pd.Index, object]] = {}  # id: (context (L, F), its time stamps, last)
    if source is None:
        for i, sid in enumerate(known):
            end = pm["ends"][i]
            last = pd.Timestamp(end) if meta.get("time_kind") == "datetime" else end
            tails[sid] = (art.context[i], _context_index(meta, end, seq_len), last)
    else:
        read = replace(read or fc.read_options_like(meta), features=tuple(meta["features"]))
        opts = PanelOptions(id_col=pm["id_col"], wide=pm["wide"])
        if not pm["wide"]:
            read = replace(read, targets=tuple(meta["targets"]))
        elif not read.targets:
            read = replace(read, targets=tuple(s for s in known if not ids or s in ids))
        panel = read_panel(source, read, opts)
        shared = set.intersection(*(set(s.notes) for s in panel.series)) if panel.series else set()
        warnings += sorted(shared)  # e.g. how the time was built: said once, not per series
        for sid, s in zip(panel.ids, panel.series, strict=True):
            if sid not in known:
                warnings.append(f"series {sid!r} is not in the model; skipped")
                continue
            if len(s) < seq_len:
                raise DataError(f"series {sid!r} has {len(s)} rows; the model needs its last {seq_len}")
            stale = fc.staleness(meta, s, pm["ends"][known.index(sid)])
            warnings += [f"series {sid!r}: {n}" for n in s.notes + stale if n not in shared]
            tails[sid] = (s.values[-seq_len:], s.index[-seq_len:], s.index[-1])
    chosen = [sid for sid in (ids or known) if sid in tails]
    warnings += [f"series {sid!r} is not in the data; no forecast for it" for sid in ids if sid not in tails]
    if not chosen:
        raise DataError("the data holds none of the model's series; check --id-col values")
    model = fc.build_model(art)
    cfg = model.config
    n_targets = cfg.n_targets
    rows = []
    for sid in chosen:
        i = known.index(sid)
        context, index, _ = tails[sid]
        scaling = Scaling(art.scaling.kind, art.scaling.shift[i], art.scaling.scale[i])
        rows.append(model_inputs(scaling.transform(context), index, pm["calendar"], i, cfg.id_embedding > 0))
    with torch.no_grad():
        scaled = model(torch.as_tensor(np.stack(rows), dtype=torch.float32)).double().numpy()  # (S, H, T)
    parts = []
    time_name = meta.get("time_col") or "step"
    for k, sid in enumerate(chosen):
        i = known.index(sid)
        context, _, last = tails[sid]
        values = (scaled[k] * art.scaling.scale[i, :n_targets] + art.scaling.shift[i, :n_targets])[:horizon]
        bounds = {level: fc.interval(art, values, context, level) for level in levels}
        future = fc.future_index(meta, last, horizon)
        parts.append(fc.Forecast(future, values, meta["targets"], time_name, bounds))
    return PanelForecast(chosen, parts), warnings


# ---------------------------------------------------------------------------- backtest


@dataclass
class PanelBacktest:
    scores: list[tuple[str, Score]]  # pooled means first, then each series
    origins: list[object]  # the first series' forecast origin per fold, oldest first
    notes: list[str] = field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        return scores_frame(self.scores)


def backtest(
    pnl: Panel,
    wc,
    opts: PanelOptions,
    model_cfg: ModelConfig,
    train_cfg: tr.TrainConfig,
    folds: int = 3,
    on_plan: Callable[[PanelPlan], None] | None = None,
    on_fold: Callable[[int, tr.TrainResult], None] | None = None,
) -> PanelBacktest:
    """Rolling origin over every series at once: at each of the last `folds` blocks of `horizon` rows of
    each series, refit one global model on the rows before the block and forecast it.

    Scores are per series over all folds (network and naive baselines on the same targets) and pooled.
    """
    if folds < 1:
        raise UsageError("--folds must be at least 1")
    horizon = plan(pnl, wc, opts).horizon
    longest = max(len(s) for s in pnl.series)
    if longest - folds * horizon < data.min_rows(1, horizon):
        raise DataError(
            f"{folds} fold(s) of {horizon} steps leave no series a history to train on (longest: {longest} rows); "
            "lower --folds or --horizon"
        )
    cut = Panel(pnl.ids, [s.head(max(len(s) - folds * horizon, 0)) for s in pnl.series], pnl.notes)
    fixed = plan(cut, replace(wc, horizon=horizon), opts)  # seq_len and season from the shortest histories
    if on_plan is not None:
        on_plan(fixed)
    wc = replace(wc, seq_len=fixed.seq_len, horizon=horizon, season=fixed.season)
    kept = {m.id: pnl.series[pnl.ids.index(m.id)] for m in fixed.members}
    t = fixed.first.n_targets
    actual: dict[str, list] = {sid: [] for sid in kept}
    pred: dict[str, list] = {sid: [] for sid in kept}
    history: dict[str, list] = {sid: [] for sid in kept}
    origins = []
    for i in range(folds):
        back = (folds - i) * horizon
        heads = Panel(list(kept), [s.head(len(s) - back) for s in kept.values()])
        pp = plan(heads, wc, opts)
        result = fit_plan(pp, model_cfg, train_cfg)
        fcast, _ = forecast(result.artifact)
        for sid, part in zip(fcast.ids, fcast.parts, strict=True):
            s, origin = kept[sid], len(kept[sid]) - back
            actual[sid].append(s.values[origin : origin + horizon, :t])
            pred[sid].append(part.values)
            history[sid].append(s.values[origin - fixed.seq_len : origin, :t])
        origins.append(next(iter(kept.values())).index[len(next(iter(kept.values()))) - back])
        if on_fold is not None:
            on_fold(i, result.training)
    per_series = []
    for sid, s in kept.items():
        a, hist = np.stack(actual[sid]), np.stack(history[sid])  # (K, H, T), (K, L, T)
        forecasts = {model_cfg.cell: np.stack(pred[sid]), **metrics.baselines(hist, horizon, fixed.season)}
        scale = metrics.mase_scale(s.values[: len(s) - folds * horizon, :t], fixed.season)
        per_series += [
            (sid, metrics.score(name, target, a[..., j], p[..., j], float(scale[j]), "sMAPE"))
            for j, target in enumerate(fixed.first.targets)
            for name, p in forecasts.items()
        ]
    return PanelBacktest(pooled(per_series) + per_series, origins, fixed.notes)


def backtest_file(
    source: str | Path | IO[str],
    read: ReadOptions | None = None,
    windows=None,
    opts: PanelOptions | None = None,
    model_cfg: ModelConfig | None = None,
    train_cfg: tr.TrainConfig | None = None,
    folds: int = 3,
    on_plan: Callable[[PanelPlan], None] | None = None,
    on_fold: Callable[[int, tr.TrainResult], None] | None = None,
) -> PanelBacktest:
    """Read a long or wide CSV and backtest one global model on all its series (see `backtest`)."""
    from rnncast import api

    train_cfg = train_cfg or tr.TrainConfig()
    tr.check_config(train_cfg)
    tr.resolve_device(train_cfg.device)
    opts = opts or PanelOptions(wide=True)
    pnl = read_panel(source, read or ReadOptions(), opts)
    return backtest(
        pnl,
        windows or api.WindowConfig(),
        opts,
        model_cfg or ModelConfig(window_norm="auto"),
        train_cfg,
        folds,
        on_plan,
        on_fold,
    )
