"""Pictures: the forecast with its intervals after the history, loss curves, backtest folds, gradients by lag.

matplotlib (Agg backend, no display needed) is imported only here, and only when a picture is drawn.
Files are written atomically; the format follows the file's extension (png, svg or pdf).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rnncast import render
from rnncast.errors import UsageError

FORMATS = ("png", "svg", "pdf")
SIZE = (10, 5)  # inches; at DPI a 1000 x 500 image
DPI = 100


def image_format(path: str | Path) -> str:
    """The file's format from its extension, or a usage error naming the ones we write."""
    ext = Path(str(path)).suffix.lower().lstrip(".")
    if ext not in FORMATS:
        raise UsageError(f"cannot draw to {str(path)!r}: name a .png, .svg or .pdf file")
    return ext


def figure():
    """A fresh figure and axes on the Agg backend."""
    fig, axes = figure_rows(1)
    return fig, axes[0]


def save(fig, path: str | Path) -> None:
    """Render the figure and write it atomically; the extension picks the format."""
    from rnncast.atomic import write_atomic

    fmt = image_format(path)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt)
    write_atomic(Path(path), buffer.getvalue())


def figure_rows(rows: int):
    """A fresh figure with `rows` axes stacked, sharing the x axis."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"  # SVG text stays text: searchable, selectable, smaller
    from matplotlib.figure import Figure

    fig = Figure(figsize=(SIZE[0], max(SIZE[1], 3.2 * rows)), dpi=DPI, layout="constrained")
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]  # (rows,)
    for ax in axes:
        ax.grid(True, alpha=0.3)
    return fig, list(axes)


@dataclass
class ForecastPicture:
    """What a forecast chart shows for one series; values (n, T) in original units, one column per target."""

    title: str
    targets: list[str]
    history_index: pd.Index
    history: np.ndarray  # (n, T) the tail of the history up to the forecast origin
    index: pd.Index
    forecast: np.ndarray  # (H, T)
    bounds: dict[float, tuple[np.ndarray, np.ndarray]]  # level % → (lower, upper), each (H, T)
    actual_index: pd.Index | None = None
    actual: np.ndarray | None = None  # (m, T) the values after the origin, when known


def forecast_chart(pic: ForecastPicture, path: str | Path) -> None:
    """History tail, forecast, its intervals (widest palest) and the actual values, one panel per target."""
    fig, axes = figure_rows(len(pic.targets))
    for j, (ax, target) in enumerate(zip(axes, pic.targets, strict=True)):
        ax.plot(pic.history_index, pic.history[:, j], color="0.25", linewidth=1.2, label="history")
        for k, level in enumerate(sorted(pic.bounds, reverse=True)):
            lower, upper = pic.bounds[level]
            ax.fill_between(pic.index, lower[:, j], upper[:, j], color="tab:blue", alpha=0.15 + 0.15 * k,
                            linewidth=0, label=f"{level:g}% interval")  # fmt: skip
        ax.plot(pic.index, pic.forecast[:, j], color="tab:blue", linewidth=1.8, marker=".", label="forecast")
        if pic.actual is not None and len(pic.actual):
            ax.plot(pic.actual_index, pic.actual[:, j], color="tab:orange", linewidth=1.4, marker=".", label="actual")
        ax.axvline(pic.history_index[-1], color="0.5", linestyle=":", linewidth=1)
        ax.set_ylabel(render.short(target, 30))
        ax.legend(loc="upper left", fontsize="small")
    axes[0].set_title(pic.title)
    save(fig, path)


def loss_curves(
    history: list[list[float]], path: str | Path, title: str, loss: str = "MSE", members: list[int] | None = None
) -> None:
    """Training and validation loss (`loss`: its name) per epoch (log scale), the best validation epoch marked;
    an ensemble's `members` epochs (each member kept at its own) marked instead of the curve's lowest point."""
    fig, ax = figure()
    epochs = np.arange(1, len(history) + 1)
    train, val = np.asarray(history, dtype=float).T
    ax.plot(epochs, train, marker=".", label=f"training {loss}")
    ax.plot(epochs, val, marker=".", label=f"validation {loss}")
    if members:
        label = f"members' best epochs {', '.join(map(str, sorted(members)))}"
        for i, epoch in enumerate(sorted(set(members))):
            ax.axvline(epoch, color="0.5", linestyle=":", linewidth=1, label=None if i else label)
    else:
        best = int(np.nanargmin(val)) + 1
        ax.axvline(best, color="0.5", linestyle=":", linewidth=1, label=f"best epoch {best}")
    ax.set_yscale("log")
    ax.xaxis.get_major_locator().set_params(integer=True)  # epochs are whole numbers
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"{loss} (scaled units)")
    ax.set_title(title)
    ax.legend()
    save(fig, path)


def backtest_chart(pic: ForecastPicture, folds: list[tuple[pd.Index, np.ndarray, dict]], path: str | Path) -> None:
    """The actual values over the backtested span and each fold's forecast (H, T) with its intervals, per target.

    `pic` gives the title, targets and the actual values (history_index, history); `folds` holds per fold
    (time stamps, forecast, {level: (lower, upper)}).
    """
    fig, axes = figure_rows(len(pic.targets))
    colours = ["tab:blue", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:cyan"]
    for j, (ax, target) in enumerate(zip(axes, pic.targets, strict=True)):
        ax.plot(pic.history_index, pic.history[:, j], color="0.25", linewidth=1.2, label="actual")
        for i, (index, forecast, bounds) in enumerate(folds):
            colour = colours[i % len(colours)]
            for k, level in enumerate(sorted(bounds, reverse=True)):
                lower, upper = bounds[level]
                ax.fill_between(index, lower[:, j], upper[:, j], color=colour, alpha=0.12 + 0.12 * k, linewidth=0)
            ax.plot(index, forecast[:, j], color=colour, linewidth=1.6, marker=".", label=f"fold {i + 1}")
            ax.axvline(index[0], color="0.6", linestyle=":", linewidth=1)
        ax.set_ylabel(render.short(target, 30))
        ax.legend(loc="upper left", fontsize="small")
    levels = sorted({lv for _, _, b in folds for lv in b})
    shaded = f"; shaded: {', '.join(f'{lv:g}%' for lv in levels)} intervals" if levels else ""
    axes[0].set_title(pic.title + shaded)
    save(fig, path)


def terminal_chart(pic: ForecastPicture, width: int = 80, height: int = 16) -> str:
    """The first target of a forecast picture as text: history `·`, forecast `●`, actual `×`, the widest
    interval `░`, on a grid `width` characters wide (y labels included) and `height` rows high."""
    j, label_width = 0, 10
    columns = max(10, width - label_width - 1)
    n_hist, horizon = len(pic.history), len(pic.forecast)
    actual = pic.actual[:horizon, j] if pic.actual is not None else np.empty(0)
    lower = upper = None
    if pic.bounds:
        lower, upper = (b[:, j] for b in pic.bounds[max(pic.bounds)])
    # the history gets what the forecast (one column per step, at most half the width) leaves
    step_cols = max(1, min(columns // 2 // horizon, 4))
    fore_cols = step_cols * horizon
    hist_shown = min(n_hist, columns - fore_cols)
    history = pic.history[n_hist - hist_shown :, j]
    values = [history, pic.forecast[:, j], actual] + ([lower, upper] if lower is not None else [])
    finite = np.concatenate([v[np.isfinite(v)] for v in values])
    low, high = float(finite.min()), float(finite.max())
    high = high if high > low else low + 1.0
    grid = [[" "] * columns for _ in range(height)]

    def row(v: float) -> int:
        return int(round((high - v) / (high - low) * (height - 1)))

    def put(col: int, v: float, mark: str) -> None:
        if np.isfinite(v) and 0 <= col < columns:
            grid[row(v)][col] = mark

    for k in range(horizon):
        col = hist_shown + k * step_cols
        if lower is not None:
            for r in range(row(upper[k]), row(lower[k]) + 1):
                grid[r][col] = "░"
    for c, v in enumerate(history):
        put(c, v, "·")
    for k in range(horizon):
        col = hist_shown + k * step_cols
        if k < len(actual):
            put(col, actual[k], "×")
        put(col, pic.forecast[k, j], "●")
    lines = []
    for r in range(height):
        v = high - r * (high - low) / (height - 1)
        label = (f"{v:,.0f}" if abs(v) >= 1e4 else f"{v:.4g}") if r in (0, height // 2, height - 1) else ""
        lines.append(f"{label:>{label_width}} " + "".join(grid[r]).rstrip())
    legend = "· history  ● forecast" + ("  × actual" if len(actual) else "")
    if lower is not None:
        legend += f"  ░ {max(pic.bounds):g}% interval"
    name = render.short(pic.targets[j], 30) + (
        f" (first of {len(pic.targets)} targets)" if len(pic.targets) > 1 else ""
    )
    return "\n".join([f"{pic.title}: {name}", *lines, " " * (label_width + 1) + legend])
