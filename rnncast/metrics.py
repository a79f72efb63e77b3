"""Forecast errors (scikit-learn where it has them) and the naive baselines every model must beat."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

POOLED = "(mean)"  # id of the rows that average a metric over series, as in M4


@dataclass
class Score:
    """Errors of one model on one target column, in the column's own units."""

    model: str
    target: str
    mae: float
    rmse: float
    pct_name: str  # "MAPE" or "sMAPE" (when actual values reach zero or below)
    pct: float  # in percent
    mase: float  # MAE over the in-sample seasonal-naive MAE; < 1 beats it

    def to_dict(self) -> dict:
        return asdict(self)


def smape(actual: np.ndarray, pred: np.ndarray) -> float:
    """Symmetric MAPE in percent: mean of 2|a-p| / (|a|+|p|), 0 where both are 0."""
    denom = np.abs(actual) + np.abs(pred)
    ratio = np.divide(2 * np.abs(actual - pred), denom, out=np.zeros_like(denom, dtype=float), where=denom > 0)
    return float(100 * ratio.mean())


def uses_smape(actual: np.ndarray) -> bool:
    """MAPE divides by the actual values: undefined once they reach zero or cross it."""
    return bool((actual <= 0).any())


def mase_scale(history: np.ndarray, season: int) -> np.ndarray:
    """In-sample MAE of the seasonal-naive forecast per column (lag 1 when too short): (T,)."""
    lag = season if len(history) > season else 1
    diffs = np.abs(history[lag:] - history[:-lag])
    scale = diffs.mean(axis=0) if len(diffs) else np.ones(history.shape[1])
    return np.where(scale > 0, scale, 1.0)


def naive(context: np.ndarray, horizon: int) -> np.ndarray:
    """Repeat each window's last value: context (N, L, T) → (N, H, T)."""
    return np.repeat(context[:, -1:, :], horizon, axis=1)


def seasonal_naive(context: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """Repeat each window's last season: step h takes the value `season` steps before it."""
    n, length, _ = context.shape
    if season <= 1 or season > length:
        return naive(context, horizon)
    steps = length - season + np.arange(horizon) % season
    return context[:, steps, :]


def score(
    model: str, target: str, actual: np.ndarray, pred: np.ndarray, scale: float, pct_name: str | None = None
) -> Score:
    """All errors of one model on one target; arrays of any matching shape.

    `pct_name` ("MAPE" or "sMAPE") fixes the percentage error; None chooses it from the actual values.
    """
    # imported here: sklearn.metrics pulls in scipy (about a second), which `forecast` never needs
    from sklearn.metrics import mean_absolute_error, mean_absolute_percentage_error, root_mean_squared_error

    a, p = actual.reshape(-1), pred.reshape(-1)
    mae = float(mean_absolute_error(a, p))
    if pct_name is None:
        pct_name = "sMAPE" if uses_smape(a) else "MAPE"
    pct = smape(a, p) if pct_name == "sMAPE" else float(100 * mean_absolute_percentage_error(a, p))
    return Score(model, target, mae, float(root_mean_squared_error(a, p)), pct_name, pct, mae / scale)


def by_step(model: str, target: str, actual: np.ndarray, pred: np.ndarray, scale: float, pct_name: str) -> list[Score]:
    """Errors over all steps, then at each horizon step: actual and pred (N, H) → 1 + H scores.

    The percentage error `pct_name` is the one chosen for the whole target, so steps and series stay comparable.
    """
    overall = score(model, target, actual, pred, scale, pct_name)
    return [overall] + [score(model, target, actual[:, h], pred[:, h], scale, pct_name) for h in range(actual.shape[1])]


def baselines(context: np.ndarray, horizon: int, season: int) -> dict[str, np.ndarray]:
    """The naive forecasts for windows whose target history is `context` (N, L, T)."""
    out = {"naive": naive(context, horizon)}
    if 1 < season <= context.shape[1]:
        out[f"seasonal naive ({season})"] = seasonal_naive(context, horizon, season)
    return out


def pooled(per_series: list[tuple[str, Score]]) -> list[tuple[str, Score]]:
    """Mean of each error over series, per target and model (M4: mean sMAPE, mean MASE)."""
    out = []
    for target, model in dict.fromkeys((s.target, s.model) for _, s in per_series):
        group = [s for _, s in per_series if s.target == target and s.model == model]
        mae, rmse, pct, mase = (float(np.mean([getattr(s, n) for s in group])) for n in ("mae", "rmse", "pct", "mase"))
        out.append((POOLED, Score(model, target, mae, rmse, group[0].pct_name, pct, mase)))
    return out


def scores_frame(scores: list[tuple[str, Score]], id_name: str | None = None):
    """One row per (series,) target and model; the id column (named `id_name`) only for many series."""
    import pandas as pd

    rows = []
    for sid, s in scores:
        row = {id_name: sid} if id_name else {}
        row.update({"target": s.target, "model": s.model, "MAE": s.mae, "RMSE": s.rmse, s.pct_name: s.pct})
        row["MASE"] = s.mase
        rows.append(row)
    return pd.DataFrame(rows)
