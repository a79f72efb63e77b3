"""Fitting: a plan's windows → one trained network → scores against the baselines → a model file's contents.

The same for one series or many: a single series is the case of one member.
"""

from __future__ import annotations

import hashlib
import platform
from dataclasses import asdict, dataclass
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import torch

from rnncast import __version__, intervals, metrics, timeindex
from rnncast import model as nets
from rnncast import train as tr
from rnncast.artifact import Artifact
from rnncast.metrics import Score
from rnncast.model import ModelConfig
from rnncast.prepare import Plan, Scaling, original_windows, plan_windows
from rnncast.settings import NetworkOptions


@dataclass
class FitResult:
    plan: Plan
    artifact: Artifact
    training: tr.TrainResult
    scores: list[tuple[str, Score]]  # (series id, score); many series: pooled means (metrics.POOLED) first

    def frame(self) -> pd.DataFrame:
        return metrics.scores_frame(self.scores, self.plan.layout.id_name)


def model_config(p: Plan, network: NetworkOptions) -> ModelConfig:
    """The network for this plan: the user's options plus inputs, targets, horizon, season and base forecast."""
    emb = network.id_embedding
    n_calendar = 2 * len(p.calendar)
    return ModelConfig(
        n_inputs=len(p.first.columns) + n_calendar + (1 if emb else 0),
        n_targets=p.first.n_targets,
        horizon=p.horizon,
        cell=network.cell,
        hidden_size=network.hidden_size,
        layers=network.layers,
        dropout=network.dropout,
        window_norm=p.base if network.window_norm == "auto" else network.window_norm,
        season=p.season,
        n_known=n_calendar,
        n_series=len(p.members) if emb else 0,
        id_embedding=emb,
    )


def fit_plan(p: Plan, network: NetworkOptions, train_cfg: tr.TrainConfig, on_epoch=None) -> FitResult:
    """Train one network on every member's windows; score it and the naive baselines per series (and pooled)."""
    device = tr.resolve_device(train_cfg.device)
    cfg = model_config(p, network)
    windows = plan_windows(p, cfg.id_embedding > 0, device)
    torch.manual_seed(train_cfg.seed)
    model = nets.build(cfg).to(device)
    result = tr.fit(model, windows.train, windows.val, train_cfg, on_epoch)

    t = p.first.n_targets
    pred_all = tr.predict(model, windows.val).double().cpu().numpy()  # (N_val_total, H, T) scaled
    per_series, residuals, scales, done = [], [], [], 0
    for m in p.members:
        sp, values = m.split, m.series.values[:, :t]
        pred = m.scaling.inverse(pred_all[done : done + sp.n_val], slice(0, t))  # (N, H, T) original units
        done += sp.n_val
        actual = original_windows(values, sp.cut, sp.n_val, p.horizon)
        history = original_windows(values, sp.val_start, sp.n_val, p.seq_len)
        forecasts = {cfg.cell: pred, **metrics.baselines(history, p.horizon, p.season)}
        scale = metrics.mase_scale(values[: sp.cut], p.season)
        per_series += [
            (m.id, metrics.score(name, target, actual[..., j], f[..., j], float(scale[j]), p.pct_names[j]))
            for j, target in enumerate(p.first.targets)
            for name, f in forecasts.items()
        ]
        residuals.append(actual - pred)
        scales.append(intervals.window_scale(history))
    scores = (metrics.pooled(per_series) + per_series) if p.layout.many else per_series

    model.cpu()
    art = Artifact(
        meta=meta(p, cfg, train_cfg, result, scores),
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
    return FitResult(p, art, result, scores)


def data_digest(p: Plan) -> str:
    """sha256 of the values the model was fitted on (and, for many series, their ids)."""
    if not p.layout.many:
        s = p.first
        return hashlib.sha256(s.values.tobytes() + str(s.columns).encode()).hexdigest()
    digest = hashlib.sha256()
    for m in p.members:
        digest.update(m.id.encode() + m.series.values.tobytes())
    return digest.hexdigest()


def meta(p: Plan, cfg: ModelConfig, train_cfg: tr.TrainConfig, result: tr.TrainResult, scores: list) -> dict:
    """The model file's JSON description: network, data, series, settings, training summary, metrics, versions."""
    s = p.first
    is_datetime = isinstance(s.index, pd.DatetimeIndex)
    step = None
    if not is_datetime and len(s.index) > 1:
        step = timeindex.time_value(s.index[-1] - s.index[-2])
    t = s.n_targets
    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": cfg.to_dict(),
        "model_seq_len": p.seq_len,
        "data": {
            "targets": s.targets,
            "features": s.features,
            "time_col": s.time_col,
            "time_kind": "datetime" if is_datetime else "number",
            "freq": s.freq,
            "step": step,
            "rows": sum(len(m.series) for m in p.members),
            "start": timeindex.time_value(min(m.series.index[0] for m in p.members)),
            "end": timeindex.time_value(max(m.series.index[-1] for m in p.members)),
            "season": p.season,
            "pct_names": p.pct_names,
            "time_parts": s.time_parts,
            "train_windows": p.n_train,
            "val_windows": p.n_val,
            "sha256": data_digest(p),
        },
        "series": {
            "ids": p.ids,
            "id_col": p.layout.id_col,
            "wide": p.layout.wide,
            "calendar": p.calendar,
            "ends": [timeindex.time_value(m.series.index[-1]) for m in p.members],
            "rows": [len(m.series) for m in p.members],
            "val_windows": [m.split.n_val for m in p.members],
            "mase_scale": [
                metrics.mase_scale(m.series.values[: m.split.cut, :t], p.season).tolist() for m in p.members
            ],
        },  # fmt: skip
        "windows": {"seq_len": p.seq_len, "horizon": p.horizon, "val_frac": p.val_frac, "season": p.season},
        "train": asdict(train_cfg),
        "training": {
            "best_epoch": result.best_epoch,
            "epochs_run": result.epochs_run,
            "best_val_loss": result.best_val_loss,
            "seconds": round(result.seconds, 3),
            "device": result.device,
            "threads": torch.get_num_threads(),
            "history": [[h.train_loss, h.val_loss] for h in result.history],
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
