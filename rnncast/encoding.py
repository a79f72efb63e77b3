"""Values as the network reads them: each series' per-column scaling, and the inputs beside the values.

Kept apart from windowing.py (which reads, splits and windows data with pandas and scikit-learn) so that a
forecast from a saved model runs without importing pandas: `rnncast forecast` starts in little more
than `import torch` takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rnncast.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

    from rnncast.reading import Series

MAX_SCALED = 1e15  # |scaled value| beyond which float32 training overflows


@dataclass
class Scaling:
    """Per-column affine scaling `(x - shift) / scale`, fitted by scikit-learn."""

    kind: str
    shift: np.ndarray  # (F,)
    scale: np.ndarray  # (F,)

    def transform(self, values: np.ndarray) -> np.ndarray:
        return (values - self.shift) / self.scale

    def inverse(self, scaled: np.ndarray, columns: slice = slice(None)) -> np.ndarray:
        return scaled * self.scale[columns] + self.shift[columns]

    def transform32(self, series: Series, where: str = "") -> np.ndarray:
        """The series scaled to float32, the network's precision; refuses values that would overflow in training.

        `where` prefixes the message (`series 'x': `) when the file holds many series.
        """
        values = series.values
        with np.errstate(over="ignore", invalid="ignore"):
            scaled = self.transform(values).astype(np.float32)  # (T, F)
        bad = ~(np.abs(scaled) <= MAX_SCALED)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise DataError(
                f"{where}column {series.columns[col]!r} at {series.index[row]} ({values[row, col]:.3g}) is too far "
                "from the training rows' range to train in float32; remove the outlier, rescale the column, "
                "or try --scaler robust"
            )
        return scaled


@dataclass(frozen=True)
class Inputs:
    """What the network reads besides the scaled values, in this order after them: calendar sin/cos, the
    inputs known for the forecast steps (`ahead`), the series number."""

    calendar: list[str]  # calendar cycles, sin/cos of each at each row
    with_id: bool  # the series number as the last column (id embedding)
    n_future: int = 0  # the last value columns are --future-features
    calendar_ahead: bool = False  # the calendar of the forecast steps is read too
    ahead: int = 0  # > 0 (the horizon): each row also carries the known inputs of the next `ahead` rows
    zone: str | None = None  # the data's time zone: the calendar is its wall clock, not UTC's

    @property
    def n_ahead(self) -> int:
        """Known inputs per forecast step: the future features, then the calendar sin/cos (with calendar_ahead)."""
        return self.n_future + (2 * len(self.calendar) if self.calendar_ahead else 0) if self.ahead else 0

    def rows(self, scaled: np.ndarray, index: pd.Index | None, number: int) -> np.ndarray:
        """The rows the network reads: (T, F) scaled values → (T, F').

        Row t carries rows t+1 .. t+ahead's known inputs, so a window's last row holds those of its
        forecast steps; rows past the end of `scaled` are zeros (windows that use them are not complete).
        """
        parts = [scaled]
        calendar = None
        if self.calendar:
            from rnncast import timeindex  # pandas: only models that read the calendar need it here

            calendar = timeindex.calendar_features(index, self.calendar, self.zone)
            parts.append(calendar)
        if self.n_ahead:
            known = [scaled[:, scaled.shape[1] - self.n_future :]]
            if self.calendar_ahead and calendar is not None:
                known.append(calendar)
            parts.append(leads(np.concatenate(known, axis=1), self.ahead))
        if self.with_id:
            parts.append(np.full((len(scaled), 1), float(number)))
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)


def leads(known: np.ndarray, ahead: int) -> np.ndarray:
    """Row t: rows t+1 .. t+ahead of `known` (T, K), flattened step by step, zeros past the end: (T, ahead·K)."""
    t, k = known.shape
    padded = np.concatenate([known[1:], np.zeros((ahead, k))])  # (T - 1 + ahead, K)
    view = np.lib.stride_tricks.sliding_window_view(padded, ahead, axis=0)  # (T, K, ahead)
    return view.transpose(0, 2, 1).reshape(t, ahead * k)
