"""Prediction intervals by split conformal prediction on the validation residuals saved with a model.

For each horizon step and target, the half-width at level α comes from the k-th smallest score
over the n validation windows, k = ceil((n + 1)·α): the finite-sample quantile that covers a new
exchangeable error with probability at least α (Vovk et al.; Angelopoulos & Bates, "A Gentle
Introduction to Conformal Prediction", 2021).

The score is locally adaptive: |actual − forecast| divided by the input window's own volatility
(the mean absolute one-step change of the target over the window), and the half-width is that
quantile times the volatility of the window being forecast. Plain |actual − forecast| quantiles
assume that the validation months are as volatile as the future; on ETTh1 they are not, and plain
80% intervals cover 91% of the standard test period, adaptive ones 81% (docs/accuracy.md).
Model files without `val_scales` fall back to the plain quantile of |actual − forecast|.
Validation windows overlap and follow each other in time, so the guarantee is approximate; the
backtest and `evaluate` report the coverage actually seen.
"""

from __future__ import annotations

import math

import numpy as np

from rnncast.errors import DataError, UsageError


def label(level: float) -> str:
    """80 → '80', 97.5 → '97.5': the suffix of interval columns."""
    return f"{level:g}"


FLOOR = 0.1  # a window's volatility counts as at least this share of the median validation window's


def window_scale(history: np.ndarray) -> np.ndarray:
    """Volatility of each input window: mean |one-step change| of each target, (..., L, T) → (..., T)."""
    if history.shape[-2] < 2:
        return np.ones(history.shape[:-2] + history.shape[-1:])
    return np.abs(np.diff(history, axis=-2)).mean(axis=-2)


def floored(scales: np.ndarray, val_scales: np.ndarray) -> np.ndarray:
    """Scales (..., T) kept above FLOOR × the median validation scale (flat windows would give no width)."""
    median = np.median(val_scales, axis=0)  # (T,)
    floor = np.where(median > 0, FLOOR * median, 1.0)
    return np.maximum(scales, floor)


def half_widths(residuals: np.ndarray, level: float) -> np.ndarray:
    """Conformal quantile per step and target of |residuals| (N, H, T) at `level` percent: (H, T)."""
    k = rank(residuals.shape[0], level)
    return np.sort(np.abs(residuals), axis=0)[k - 1]


def rank(n: int, level: float) -> int:
    """k = ceil((n + 1)·level): which of n sorted scores is the conformal quantile; refuses k > n."""
    if n == 0:
        raise DataError("the model file holds no validation residuals; refit it with this rnncast version")
    k = math.ceil((n + 1) * level / 100)
    if k > n:
        # the fewest n with (n + 1)·level ≤ 100·n; the tolerance keeps 99.9's 999 from reading 999.00000000000006
        need = math.ceil(level / (100 - level) - 1e-9)
        raise UsageError(
            f"--level {level:g} needs at least {need} validation windows, the model has {n}; "
            "lower --level or refit with a larger --val-frac"
        )
    return k


def supported(levels: tuple[float, ...] | None, n: int, defaults: tuple[float, ...]) -> tuple[tuple, list[str]]:
    """The levels to report with `n` validation windows, and notes for the user.

    `levels` None means the defaults, which the user did not ask for: one the data cannot support is
    skipped with a note, never a reason to stop. Levels the user gave are all kept: `rank` refuses them.
    """
    if levels is not None:
        for level in levels:
            rank(n, level)
        return tuple(levels), []
    kept, notes = [], []
    for level in defaults:
        try:
            rank(n, level)
        except UsageError as exc:
            notes.append(f"{exc.args[0].split(';')[0]}; the default level {level:g} is skipped (choose with --level)")
            continue
        kept.append(level)
    return tuple(kept), notes


def bounds(
    point: np.ndarray,
    residuals: np.ndarray,
    level: float,
    val_scales: np.ndarray | None = None,
    history: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) around point forecasts (..., H, T).

    Args:
        residuals: actual − forecast on the validation windows, (N, H_trained, T).
        val_scales: `window_scale` of each validation window's input, (N, T); None or empty: plain quantiles.
        history: the target rows each forecast was made from, (..., L, T); needed with val_scales.
    """
    horizon = point.shape[-2]
    if val_scales is None or val_scales.size == 0 or history is None:
        return point - half_widths(residuals, level)[:horizon], point + half_widths(residuals, level)[:horizon]
    q = half_widths(residuals / floored(val_scales, val_scales)[:, None, :], level)[:horizon]  # (H, T)
    width = q * floored(window_scale(history), val_scales)[..., None, :]  # (..., H, T)
    return point - width, point + width


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """1.0 where the actual value lies inside [lower, upper], else 0.0 (same shape)."""
    return ((actual >= lower) & (actual <= upper)).astype(np.float64)
