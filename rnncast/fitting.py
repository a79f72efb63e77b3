"""Fitting: a plan's windows → one trained network → scores against the baselines → a model file's contents.

The same for one series or many: a single series is the case of one member.
"""

from __future__ import annotations

import hashlib
import platform
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import torch

from rnncast import __version__, intervals, metrics, timeindex
from rnncast import model as nets
from rnncast import train as tr
from rnncast.artifact import Artifact
from rnncast.errors import UsageError
from rnncast.metrics import Score
from rnncast.model import ModelConfig
from rnncast.settings import NetworkOptions, Settings, check_window_parts
from rnncast.windowing import Plan, Scaling, original_windows, plan, plan_windows


@dataclass
class FitResult:
    plan: Plan
    artifact: Artifact
    training: tr.TrainResult
    scores: list[tuple[str, Score]]  # (series id, score); many series: pooled means (metrics.POOLED) first
    notes: list[str] = field(default_factory=list)  # what the user should know about the result (stderr)
    refit: tr.TrainResult | None = None  # --refit: the run on every window whose weights were saved

    def frame(self) -> pd.DataFrame:
        return metrics.scores_frame(self.scores, self.plan.layout.id_name)


STEPS = 8  # recurrent steps over a window by default: enough for the cell, few enough to be fast
# Small data gets an ensemble: on validation windows 5 members lowered MASE by 2-5% on the monthly and
# quarterly samples, where one fit costs a second; on 60 M4 Weekly series (50,000 windows) the gain
# was 2% for 4.8x the time (benchmarks/defaults.py, README Accuracy).
SMALL_DATA, SMALL_ENSEMBLE = 5000, 5
SINGLE_DATA = 10_000  # one series: 5 members up to here (ETTh1/ETTh2: -1% validation MSE, docs/accuracy.md)


def default_ensemble(n_train_windows: int, many: bool = True) -> int:
    """Members when --ensemble is not given: SMALL_ENSEMBLE up to SMALL_DATA training windows (one series:
    SINGLE_DATA), else 1."""
    return SMALL_ENSEMBLE if n_train_windows <= (SMALL_DATA if many else SINGLE_DATA) else 1


def resolved_loss(given: str | None, many: bool) -> str:
    """The loss training uses: --loss as given, else mae for many series and mse for one. Every place that
    needs it before training (tune's study key, its trial lines) asks here, as fit_plan does.

    Many series are scaled each on its own training rows, and pooled squared errors let the few with large
    scaled errors (trending series) steer training for all, as they steered the guard (`series_weights`).
    Absolute errors weigh them less, and are what MASE and sMAPE score. On validation windows only: M4 Weekly's
    359 series 0.937 -> 0.859 and 0.918 -> 0.873 (seeds 0, 1; ratio to repeat-last), 60 of them 0.914 -> 0.876,
    ETTh1's 7 columns MASE 0.918 -> 0.904, a generated hourly panel 0.716 -> 0.715. One series was mixed
    (elec_equip 20% worse, realgdp 2% better, ETT 1-2% worse in MSE), so it keeps MSE (docs/accuracy.md).
    """
    return given or ("mae" if many else "mse")


def default_segment(seq_len: int) -> int:
    """Points per recurrent step when --segment is not given: about STEPS steps over the window; 0 (one point
    per step) for windows shorter than 2 × STEPS."""
    return seq_len // STEPS if seq_len >= 2 * STEPS else 0


HIGHWAY_FREQS = ("M", "W")  # frequencies where one series gets the highway by default (timeindex.freq_kind)


def default_highway(p: Plan) -> int:
    """Past steps the highway reads when --highway is not given: the whole window for one monthly or weekly
    series, else 0 (off; one long hourly series gets it from `long_lookback`).

    Held-out years (4-fold backtests on the rows before the scoreboard's folds; network MASE over the best
    naive's, docs/accuracy.md): elec_equip (monthly) 0.990 -> 0.664 and 0.875 -> 0.640 (seeds 0-2, 3-5), 16 M4
    Weekly training series fitted one at a time 0.878 -> 0.823 and 0.902 -> 0.829 (geometric means, seeds 0
    and 1). Not where nothing was gained: 7 quarterly macrodata series (geometric mean -1.8% and +0.1%, as many
    worse as better), hourly ETT (validation within seed noise), and many series (M4 Weekly's 359 as one model:
    validation 0.859 -> 0.890 and 0.873 -> 0.876)."""
    if p.layout.many or timeindex.freq_kind(p.first.freq) not in HIGHWAY_FREQS:
        return 0
    return p.seq_len


LONG_WINDOW = 336  # NLinear's lookback, in hours
LONG_MIN_WINDOWS = 4_000  # training windows at that window (the ETT protocol's fits: 7,585-8,521)
LONG_MAX_HORIZON = 720  # the longest horizon the mixed ensemble was measured at (ETT)
LONG_MEMBERS = 2 * SMALL_ENSEMBLE  # half with the highway, half without: as many of each as one ensemble had


def long_lookback(coll, s: Settings, horizon: int | None = None) -> Settings:
    """Settings for one long hourly series: a 336-step window, the highway (a least-squares linear map) over
    all of it, the cell over its last 96 steps, and where the ensemble has several members (10 by default,
    where the default would be 5) the highway in half of them only (`--highway-members`); else `s` itself.

    Only where the user gave none of --seq-len, --highway, --cell-len (and no --segment over 96), with at least
    LONG_MIN_WINDOWS training windows. Chosen on two validation folds of ETTh1 and ETTh2 (docs/accuracy.md):
    with every member reading the highway it beat the 96-step window at horizons 24 and 96 on the protocol's
    fold by 4-12% but lost by up to a fifth on the fold before it, and lost at 192-720; the mixed ensemble
    beat the previous defaults on both folds (geometric mean 0.985 over 20 cells, no cell worse than +4.3%),
    at horizons 24-720: hence horizons up to LONG_MAX_HORIZON for several members, and up to the cell's 96
    for one (--ensemble 1, or a series long enough that the default is one member: as before). `horizon`: the
    one the plan will use (None: the frequency's default for this data).
    """
    n, w = s.network, s.windows
    if coll.layout.many or w.seq_len is not None or n.highway is not None or n.cell_len is not None:
        return s
    series = coll.series[0]
    if timeindex.freq_kind(series.freq) != "h" or series.freq[0].isdigit():  # hourly; 2h and such: not measured
        return s
    _, default_horizon, short = timeindex.freq_defaults(series.freq)
    h = horizon or w.horizon or max(1, min(default_horizon, len(series) // 10))  # as windowing.window_lengths
    windows = (len(series) - LONG_WINDOW - h + 1) * (1 - w.val_frac)
    members = n.ensemble or (LONG_MEMBERS if default_ensemble(int(windows), many=False) > 1 else 1)
    if h > (LONG_MAX_HORIZON if members > 1 else short) or windows < LONG_MIN_WINDOWS:
        return s
    if n.segment is not None and n.segment > short:  # segments the cell's 96 steps cannot hold: refused as
        return s  # longer than the window, not as longer than a --cell-len the user never gave
    mixed = n.highway_members or (members // 2 if members > 1 else None)
    network = replace(n, highway=LONG_WINDOW, cell_len=short, ensemble=members, highway_members=mixed)
    return replace(s, windows=replace(w, seq_len=LONG_WINDOW), network=network)


def unread_steps(cfg: ModelConfig, seq_len: int) -> list[str]:
    """A note when the oldest steps of the window reach neither the cell (--cell-len) nor the highway: they only
    move the window normalisation, so the window is longer than it needs to be."""
    read = max(cfg.cell_len or seq_len, cfg.highway)
    if read >= seq_len:
        return []
    return [
        f"the cell reads the last {cfg.cell_len} and the highway the last {cfg.highway} of the {seq_len} steps "
        f"of the window; the oldest {seq_len - read} are read by neither: add --highway {seq_len} or use "
        f"--seq-len {read}"
    ]


def planned(coll, s: Settings, horizon: int | None = None) -> tuple[Plan, Settings]:
    """fit's plan for this data and the settings it was made with: `long_lookback`'s where it applies (its
    window then shown as chosen from the data). `horizon`: one decided beforehand (backtest's, on all the
    rows), shown as chosen from the data unless the settings gave it."""
    chosen = long_lookback(coll, s, horizon)
    wc = chosen.windows if horizon is None else replace(chosen.windows, horizon=horizon)
    p = plan(coll, wc, chosen.read.future_features)
    if chosen is not s:
        p.chosen["seq_len"] = p.seq_len
    if horizon is not None and s.windows.horizon is None:
        p.chosen["horizon"] = horizon
    return p, chosen


def model_config(p: Plan, network: NetworkOptions) -> ModelConfig:
    """The network for this plan: the user's options plus inputs, targets, horizon, season and base forecast.

    The guard stays "none" here: its base and weights are fitted after training (`fit_guard`).
    """
    cell_len = p.seq_len if network.cell_len is None else network.cell_len
    segment = default_segment(cell_len) if network.segment is None else network.segment
    highway = default_highway(p) if network.highway is None else network.highway
    check_window_parts(p.seq_len, cell_len, segment, highway)
    ensemble = network.ensemble or default_ensemble(p.n_train, p.layout.many)
    members = network.highway_members or 0
    if members and not highway:
        raise UsageError(
            "--highway-members needs a highway, and this model has none (the default for this data); "
            "add --highway P or leave out --highway-members"
        )
    if members > ensemble:
        raise UsageError(
            f"--highway-members {members} is more than the ensemble's {ensemble} members (the default for this "
            "data); add --ensemble or choose fewer"
        )
    emb = network.id_embedding
    n_calendar = 2 * len(p.calendar)
    inputs = p.inputs(emb > 0)
    return ModelConfig(
        n_inputs=len(p.first.columns) + n_calendar + p.horizon * inputs.n_ahead + (1 if emb else 0),
        n_targets=p.first.n_targets,
        horizon=p.horizon,
        cell=network.cell,
        hidden_size=network.hidden_size,
        layers=network.layers,
        dropout=network.dropout,
        window_norm=p.base if network.window_norm == "auto" else network.window_norm,
        season=p.season,
        n_known=len(p.future) + n_calendar,
        n_ahead=inputs.n_ahead,
        n_series=len(p.members) if emb else 0,
        id_embedding=emb,
        segment=segment,
        ensemble=ensemble,
        highway=highway,
        cell_len=cell_len if cell_len < p.seq_len else 0,  # 0: the whole window, as every model before it
        highway_members=members if members < ensemble else 0,  # 0: every member, as every model before it
    )


def fit_plan(p: Plan, network: NetworkOptions, train_cfg: tr.TrainConfig, on_epoch=None) -> FitResult:
    """Train one network on every member's windows; score it and the naive baselines per series (and pooled)."""
    device = tr.resolve_device(train_cfg.device)
    train_cfg = replace(train_cfg, loss=resolved_loss(train_cfg.loss, p.layout.many))
    cfg = model_config(p, network)
    windows = plan_windows(p, cfg.id_embedding > 0, device)
    torch.manual_seed(train_cfg.seed)
    model = nets.build(cfg, device)
    if cfg.highway:
        nets.fit_highway(model, windows.train)  # the linear part, fixed: training fits the recurrence around it
    result = tr.fit(model, windows.train, windows.val, train_cfg, on_epoch)

    t = p.first.n_targets
    non_negative = network.non_negative
    if non_negative is None:  # count data: a forecast below zero is never right, so never make one
        non_negative = all(bool((m.series.values[:, :t] >= 0).all()) for m in p.members)
    pred_all = tr.predict(model, windows.val).double().cpu().numpy()  # (N_val_total, H, T) scaled
    # what tune ranks an unguarded network by: its validation MSE, whatever --loss training watched
    val_mse = result.best_val_loss
    if result.config.loss != "mse":
        val_mse = float(((pred_all - windows.val.targets().double().cpu().numpy()) ** 2).mean())
    guard = None
    if network.guard:
        guard = fit_guard(model, windows.val, pred_all, [m.split.n_val for m in p.members])
        cfg = model.config = replace(cfg, guard=guard.kind)
        pred_all = guard.crossfit  # honest: each window's weights were fitted on the other half
    per_series, residuals, scales, done = [], [], [], 0
    for m in p.members:
        sp, values = m.split, m.series.values[:, :t]
        pred = m.scaling.inverse(pred_all[done : done + sp.n_val], slice(0, t))  # (N, H, T) original units
        pred = np.maximum(pred, 0) if non_negative else pred
        done += sp.n_val
        actual = original_windows(values, sp.cut, sp.n_val, p.horizon)
        history = original_windows(values, sp.val_start, sp.n_val, p.seq_len)
        forecasts = {cfg.cell: pred, **metrics.baselines(history, p.horizon, p.season)}
        scale = metrics.mase_scale(values[m.pad : sp.cut], p.season)
        per_series += [
            (m.id, metrics.score(name, target, actual[..., j], f[..., j], float(scale[j]), p.pct_names[j]))
            for j, target in enumerate(p.first.targets)
            for name, f in forecasts.items()
        ]
        residuals.append(actual - pred)
        scales.append(intervals.window_scale(history))
    scores = (metrics.pooled(per_series) + per_series) if p.layout.many else per_series
    notes = unread_steps(cfg, p.seq_len) + baseline_wins(scores, cfg.cell, p.layout.many)
    run = refitted = None
    if train_cfg.refit:
        model, run = refit(model, windows.every, result, train_cfg, device)
        refitted = refit_summary(run, len(windows.every))

    model.cpu()
    art = Artifact(
        meta=dict(
            meta(p, cfg, network, train_cfg, result, scores, guard, refitted, val_mse), non_negative=non_negative
        ),
        state_dict=model.state_dict(),
        scaling=Scaling(
            p.members[0].scaling.kind,
            np.stack([m.scaling.shift for m in p.members]),  # (S, F)
            np.stack([m.scaling.scale for m in p.members]),
        ),
        context=np.stack([m.series.values[-p.seq_len :] for m in p.members]),  # (S, L, F)
        val_residuals=np.concatenate(residuals).astype(np.float32),  # (N_val_total, H, T)
        val_scales=np.concatenate(scales).astype(np.float32),  # (N_val_total, T)
    )
    return FitResult(p, art, result, scores, notes, run)


def refit_summary(run: tr.TrainResult, windows: int) -> dict:
    """What the model file, `info` and `--report` say of a --refit run on `windows` windows."""
    return {
        "epochs": run.epochs_run,
        "windows": windows,
        "seconds": round(run.seconds, 3),
        "train_loss": run.history[-1].train_loss,
    }


def refit(model: nets.Forecaster, every, chosen: tr.TrainResult, train_cfg: tr.TrainConfig, device):
    """--refit: a fresh network with the same seed, trained on every window (validation's too) for the number
    of epochs early stopping chose, keeping the guard's weights: (it, its training run).

    Nothing is left to score it on, so the validation metrics, the guard's weights and the interval
    residuals stay those of the network early stopping kept; the refit one learnt from the latest rows too.
    """
    torch.manual_seed(train_cfg.seed)
    again = nets.build(replace(model.config, guard="none"), device)
    if again.config.highway:
        nets.fit_highway(again, every)
    # the chosen epochs of the first run's --epochs: a onecycle schedule gives them the learning rates they had
    run = tr.fit(
        again, every, None, chosen.config, stop=max(1, chosen.best_epoch), member_stops=chosen.member_epochs or None
    )
    again.config = model.config
    again.alpha.copy_(model.alpha)
    return again, run


@dataclass
class Guard:
    kind: str  # last | season: the naive forecast the network's output is blended with
    alpha: np.ndarray  # (H, T) weights fitted on every validation window: forecast = b + alpha (network - b)
    crossfit: np.ndarray  # (N, H, T) scaled validation forecasts, each with the weights of the other half
    mse: dict[str, float]  # validation MSE (scaled) of the network, the guarded forecast and the base
    relative: dict[str, float] | None = None  # many series: network and guarded MSE / the base's, series alike


def closed_form_alpha(
    actual: np.ndarray, net: np.ndarray, base: np.ndarray, weight: np.ndarray | None = None
) -> np.ndarray:
    """argmin over alpha in [0, 1] of sum w (actual - base - alpha (net - base))^2, per step and target: (H, T).

    `weight` (N,) weighs each window (`series_weights`); None: equally."""
    gap = net - base
    w = 1.0 if weight is None else weight[:, None, None]
    den = (w * gap**2).sum(axis=0)
    num = (w * (actual - base) * gap).sum(axis=0)
    return np.clip(np.divide(num, den, out=np.zeros_like(num), where=den > 0), 0.0, 1.0)


def series_weights(actual: np.ndarray, base: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Per window (N,): 1 / (its series' windows × its series' base MSE), so that every series counts alike.

    Many series are scaled on their own training rows, and a trending series' validation errors can be
    far larger in those units than the others': pooled, its windows alone would set the weights (on
    60 M4 Weekly series the guard kept the network; on all 359 one pooled MSE kept the naive forecast).
    Weighted, the objective is the mean over series of the relative MSE. One series: equal weights.
    """
    per_window = ((actual - base) ** 2).mean(axis=(1, 2))  # (N,)
    counts = np.bincount(owner)
    mse = np.bincount(owner, per_window) / np.maximum(counts, 1)
    mse = np.where(mse > 0, mse, max(float(mse.max()), 1e-12))  # a series the base forecasts exactly: no pull
    return 1.0 / (counts * mse)[owner]


def weighted_mse(actual: np.ndarray, forecast: np.ndarray, weight: np.ndarray) -> float:
    return float((weight * ((actual - forecast) ** 2).mean(axis=(1, 2))).sum() / weight.sum())


@torch.no_grad()
def fit_guard(model: nets.Forecaster, val, net: np.ndarray, n_val: list[int]) -> Guard:
    """Blend weights toward the better naive forecast, fitted on validation windows, and honest scores for them.

    The base is whichever of repeat-last and repeat-the-last-cycle has the lower validation MSE (each
    series counted alike: `series_weights`). The weights a window is scored with are fitted on the other
    half of the validation windows (each series' first half against its second half), so the printed
    validation metrics are not flattered by the fit; the weights the model keeps are fitted on all of them.
    """
    c = model.config
    actual, bases = [], {"last": [], "season": []}
    for start in range(0, len(val), 4096):
        x, y = val.batch(slice(start, start + 4096))  # (B, L, F), (B, H, T)
        actual.append(y.double().cpu().numpy())
        for kind in bases:
            bases[kind].append(nets.naive_base(x[..., : c.n_targets], kind, c.season, c.horizon).double().cpu().numpy())
    actual = np.concatenate(actual)
    bases = {kind: np.concatenate(parts) for kind, parts in bases.items()}
    owner = np.repeat(np.arange(len(n_val)), n_val)  # each window's series
    weight = series_weights(actual, bases["last"], owner)
    kind = min(bases, key=lambda k: weighted_mse(actual, bases[k], weight))
    base = bases[kind]
    weight = series_weights(actual, base, owner)
    first = np.concatenate([np.arange(n) < n // 2 for n in n_val])  # each series' first half of its windows
    crossfit = np.empty_like(net)
    if first.any() and (~first).any():
        for half in (first, ~first):
            fitted_on = series_weights(actual[~half], base[~half], owner[~half])
            alpha = closed_form_alpha(actual[~half], net[~half], base[~half], fitted_on)
            crossfit[half] = base[half] + alpha * (net[half] - base[half])
    else:  # one validation window per series: no second half to score on; the weights see every window
        crossfit = base + closed_form_alpha(actual, net, base, weight) * (net - base)
    alpha = closed_form_alpha(actual, net, base, weight)
    mse = {
        name: float(((actual - f) ** 2).mean()) for name, f in (("network", net), ("guarded", crossfit), ("base", base))
    }
    # What keeps or drops the blend: every series counted alike. Pooled MSE (above) can disagree with it
    # when a few series of large scaled errors dominate the pool, so many-series fits show both.
    base_mse = weighted_mse(actual, base, weight)
    relative = None
    if len(n_val) > 1 and base_mse > 0:
        relative = {
            name: float(weighted_mse(actual, f, weight) / base_mse)
            for name, f in (("network", net), ("guarded", crossfit))
        }
    if weighted_mse(actual, crossfit, weight) > base_mse:
        # The blend did worse than the naive forecast on windows its weights had not seen (a weak network,
        # weights that swing between halves): keep the naive forecast itself, alpha = 0.
        alpha = np.zeros_like(alpha)
        crossfit = base.copy()
    model.alpha.copy_(torch.as_tensor(alpha, dtype=model.alpha.dtype))
    return Guard(kind, alpha, crossfit, mse, relative)


def baseline_wins(scores: list[tuple[str, Score]], cell: str, many: bool) -> list[str]:
    """One line per target where a naive forecast still beats the network on validation (MASE), with what to try."""
    notes = []
    pooled = [s for sid, s in scores if sid == metrics.POOLED or not many]
    for target in dict.fromkeys(s.target for s in pooled):
        rows = {s.model: s for s in pooled if s.target == target}
        best = min((s for name, s in rows.items() if name != cell), key=lambda s: s.mase)
        if best.mase < rows[cell].mase:
            notes.append(
                f"{best.model} beats the network on the validation windows of {target!r} "
                f"(MASE {best.mase:.3f} vs {rows[cell].mase:.3f}); try --refit (and compare with "
                "`rnncast backtest --refit`), --ensemble 5, a longer --seq-len, --lr 0.003 or `rnncast tune`"
            )
    return notes


def data_digest(p: Plan) -> str:
    """sha256 of the values the model was fitted on (and, for many series, their ids)."""
    if not p.layout.many:
        s = p.first
        return hashlib.sha256(s.values.tobytes() + str(s.columns).encode()).hexdigest()
    digest = hashlib.sha256()
    for m in p.members:
        digest.update(m.id.encode() + m.series.values.tobytes())
    return digest.hexdigest()


NEXT_STAMPS_MAX = 100_000  # stamps kept in the model file (about 2.5 MB of JSON, parsed by every forecast)


def next_stamps(data_meta: dict, ends: list, horizon: int) -> dict[str, list]:
    """Each distinct training end's forecast stamps (`timeindex.forecast_stamps`), so that `forecast` without
    DATA needs no pandas; none when there would be more than NEXT_STAMPS_MAX (thousands of series ending at
    different times: parsing them would cost more than computing them, which forecast then does)."""
    distinct = list(dict.fromkeys(ends))
    if len(distinct) * horizon > NEXT_STAMPS_MAX:
        return {}
    return {str(end): timeindex.forecast_stamps(data_meta, end, horizon) for end in distinct}


def meta(
    p: Plan,
    cfg: ModelConfig,
    network: NetworkOptions,
    train_cfg: tr.TrainConfig,
    result: tr.TrainResult,
    scores: list,
    guard: Guard | None,
    refitted: dict | None = None,
    val_mse: float | None = None,
) -> dict:
    """The model file's JSON description: network, data, series, settings, training summary, metrics, versions."""
    s = p.first
    is_datetime = isinstance(s.index, pd.DatetimeIndex)
    step = None
    if not is_datetime and len(s.index) > 1:
        step = timeindex.time_value(s.index[-1] - s.index[-2])
    t = s.n_targets
    data = {
        "targets": s.targets,
        "features": s.features[: len(s.features) - len(p.future)],  # past only
        "future_features": p.future,  # known for the forecast steps too (the last feature columns)
        "time_col": s.time_col,
        "time_kind": "datetime" if is_datetime else "number",
        "freq": s.freq,
        "step": step,
        "rows": sum(m.own_rows for m in p.members),
        "start": timeindex.time_value(min(m.series.index[m.pad] for m in p.members)),
        "end": timeindex.time_value(max(m.series.index[-1] for m in p.members)),
        "season": p.season,
        "pct_names": p.pct_names,
        "time_parts": s.time_parts,
        "time_read": s.time_read,  # how new data's time is read: the same format, grid and zone
        "zone": s.zone,  # the zone stamps are shown in (they are kept in UTC)
        "train_windows": p.n_train,
        "val_windows": p.n_val,
        "sha256": data_digest(p),
    }
    ends = [timeindex.time_value(m.series.index[-1]) for m in p.members]
    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": cfg.to_dict(),
        "model_seq_len": p.seq_len,
        "data": data,
        "series": {
            "ids": p.ids,
            "id_col": p.layout.id_col,
            "wide": p.layout.wide,
            "calendar": p.calendar,
            "calendar_ahead": p.inputs(False).calendar_ahead,  # the forecast steps' calendar is read too
            "ends": ends,
            # the forecast steps' stamps after each training end: `forecast` without DATA needs no pandas
            "next_stamps": next_stamps(data, ends, p.horizon),
            "rows": [m.own_rows for m in p.members],
            "val_windows": [m.split.n_val for m in p.members],
            "mase_scale": [
                metrics.mase_scale(m.series.values[m.pad : m.split.cut, :t], p.season).tolist() for m in p.members
            ],
        },  # fmt: skip
        "windows": {"seq_len": p.seq_len, "horizon": p.horizon, "val_frac": p.val_frac, "season": p.season},
        "network": asdict(network),
        "guard": None
        if guard is None
        else {
            "base": guard.kind,
            "alpha": guard.alpha.round(6).tolist(),
            "val_mse": guard.mse,
            **({"val_relative": guard.relative} if guard.relative else {}),
        },  # fmt: skip
        "train": asdict(result.config),
        "training": {
            "best_epoch": result.best_epoch,
            **({"member_epochs": result.member_epochs} if result.member_epochs else {}),  # each member's own
            "epochs_run": result.epochs_run,
            "best_val_loss": result.best_val_loss,
            "val_mse": result.best_val_loss if val_mse is None else val_mse,  # the network's, before the guard
            "seconds": round(result.seconds, 3),
            "device": result.device,
            "world_size": result.world_size,  # processes that trained together (torchrun)
            "threads": torch.get_num_threads(),
            "history": [[h.train_loss, h.val_loss] for h in result.history],
            "gradients": result.gradients,  # clip_rate and pre-clip norm percentiles over every step
            "refit": refitted,  # refit_summary of a --refit run
        },
        "metrics": [
            dict(sc.to_dict(), **({"series": sid} if p.layout.many else {}))
            for sid, sc in scores
            if sid == metrics.POOLED or not p.layout.many
        ],  # fmt: skip
        "versions": {
            "rnncast": __version__,
            "torch": torch.__version__,
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "python": platform.python_version(),
        },
    }
