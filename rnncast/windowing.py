"""Preparing windows: per-series split and scaling, and one window set over every series.

Each series is split chronologically on its own (its validation windows are its last ones) and
scaled with a scaler fitted on its own training rows only. The scaled series are stacked into one
(T_total, F) tensor, unfolded once (views), and only windows that lie inside one series are kept:
no window reads the end of one series and the start of the next. One series is the case of one id.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from rnncast import metrics, timeindex
from rnncast.collection import Collection, collection_notes
from rnncast.encoding import Inputs, Scaling
from rnncast.errors import DataError, UsageError
from rnncast.reading import Series
from rnncast.settings import Layout, WindowConfig


@dataclass(frozen=True)
class Split:
    """A chronological split of one series' windows.

    Validation windows are the last `n_val`; their targets are the rows from `cut` on.
    Training windows end before `cut`, so no training target is a validation target,
    and the scaler sees only rows before `cut`.
    """

    seq_len: int
    horizon: int
    cut: int  # first row that is a validation target
    n_train: int  # training windows start at 0 .. n_train-1
    n_val: int  # validation windows start at cut-seq_len .. cut-seq_len+n_val-1

    @property
    def val_start(self) -> int:
        return self.cut - self.seq_len


def min_rows(seq_len: int, horizon: int) -> int:
    """The shortest series that leaves one training and one validation window."""
    return seq_len + 2 * horizon


def what_fits(n_rows: int, horizon: int) -> str:
    """A --seq-len that fits `horizon` in `n_rows` rows (a third of what two horizons leave, as the default
    rule takes), or, where none does, a --horizon and --seq-len that fit."""
    room = n_rows - 2 * horizon  # the longest window that leaves one training and one validation target
    if room >= 1:
        return f"--seq-len {max(1, room // 3)} fits --horizon {horizon} (at most --seq-len {room})"
    shorter = max(1, n_rows // 10)
    seq_len = max(1, min(2, n_rows - 2 * shorter), (n_rows - 2 * shorter) // 3)
    if n_rows < 3:
        return f"{n_rows} rows are too few for any window (at least 3 are needed)"
    return f"no --seq-len fits --horizon {horizon} in {n_rows} rows; try --horizon {shorter} --seq-len {seq_len}"


def shrunk_note(
    freq: str | None, n_rows: int, wc: WindowConfig, seq_len: int, horizon: int, window_rows: int | None = None
) -> str | None:
    """One line when short data made the frequency's default seq_len or horizon smaller, with why; else None.

    `window_rows`: the rows seq_len was sized on, where not `n_rows` (the median of the series trained on)."""
    window_rows = n_rows if window_rows is None else window_rows
    _, default_horizon, default_seq_len = timeindex.freq_defaults(freq)
    parts = []
    if wc.horizon is None and horizon < default_horizon:
        parts.append(f"horizon {horizon} (default {default_horizon}: at most a tenth of the {n_rows} rows)")
    if wc.seq_len is None and seq_len < default_seq_len:
        parts.append(
            f"seq_len {seq_len} (default {default_seq_len}: a window takes at most a third of the "
            f"{window_rows - 2 * horizon} rows two horizons leave, so that there are windows to train on)"
        )
    if not parts:
        return None
    return f"the data is short for the frequency's defaults: {' and '.join(parts)}; set --seq-len/--horizon to choose"


def pad_rows(n_rows: int, seq_len: int, horizon: int) -> int:
    """Rows to put before a series too short for `min_rows` so that a global model still covers it; -1: too short.

    A short series is lengthened at the start (with its first row) until every window whose targets are
    its own rows exists, up to `seq_len - horizon` rows: its windows read at least `horizon` of its own
    rows (fewer only where it is shorter than 3 horizons), and no target is a padded row. Fewer than
    2 × horizon rows leave no training target: -1.
    """
    need = min_rows(seq_len, horizon)
    if n_rows >= need:
        return 0
    if n_rows < 2 * horizon:
        return -1
    return max(need - n_rows, seq_len - horizon)


def left_pad(s: Series, rows: int) -> Series:
    """`s` with `rows` copies of its first row in front, on its time grid (its own step when there is no frequency)."""
    if rows <= 0:
        return s
    if s.freq is not None:
        # on the series' own grid: --freq C skips its --weekmask's closed days here too
        before = timeindex.context_index(s.freq, s.index[0], rows + 1, s.time_read.get("weekmask"), s.zone)[:-1]
    else:
        step = s.index[1] - s.index[0] if len(s) > 1 else 1
        before = pd.Index([s.index[0] - step * k for k in range(rows, 0, -1)])
    values = np.concatenate([np.repeat(s.values[:1], rows, axis=0), s.values])
    return replace(s, values=values, index=before.append(s.index).rename(s.index.name))


def first_ids(ids: list[str], shown: int = 3) -> str:
    """`'a', 'b', 'c', …`: the first few ids, for a one-line note."""
    return ", ".join(map(repr, ids[:shown])) + (", …" if len(ids) > shown else "")


def plan_split(n_rows: int, seq_len: int, horizon: int, val_frac: float) -> Split:
    """Split windows chronologically: the last `val_frac` of them validate."""
    assert 0 < val_frac < 1 and seq_len >= 1 and horizon >= 1  # settings.validate refused the rest
    need = min_rows(seq_len, horizon)
    if n_rows < 3:  # no --seq-len or --horizon helps: saying "lower them" would send the user astray
        raise DataError(
            f"series has {n_rows} row{'s' if n_rows != 1 else ''}, too few to train on: one training and one "
            "validation window need at least 3 rows; give a longer history"
        )
    if n_rows < need:
        raise DataError(
            f"series has {n_rows} rows, too short for --seq-len {seq_len} and --horizon {horizon} "
            f"(needs at least {need}); lower --seq-len or --horizon: {what_fits(n_rows, horizon)}"
        )
    n_windows = n_rows - seq_len - horizon + 1
    n_val = min(max(1, round(val_frac * n_windows)), n_windows - horizon)
    cut = n_windows - n_val + seq_len
    n_train = cut - seq_len - horizon + 1
    return Split(seq_len=seq_len, horizon=horizon, cut=cut, n_train=n_train, n_val=n_val)


# ---------------------------------------------------------------------------- scaling


def fit_scaling(train_rows: np.ndarray, kind: str = "standard") -> Scaling:
    """Fit a scaler on training rows only: scikit-learn's StandardScaler, MinMaxScaler or RobustScaler."""
    return fit_scalings([train_rows], kind)[0]


SCALING_CHUNK = 512  # series whose training rows are stacked at once: bounds the copy


def fit_scalings(blocks: list[np.ndarray], kind: str = "standard") -> list[Scaling]:
    """`fit_scaling` of each block of training rows (T_i, F), blocks of one length computed together.

    The arithmetic is scikit-learn's own (`StandardScaler`, `MinMaxScaler`, `RobustScaler` `.fit`)
    along a series axis, so the scalers are equal to scikit-learn's bit for bit (a test checks it)
    without its per-call overhead, which took a second per 2,000 series.
    """
    scalings: list[Scaling | None] = [None] * len(blocks)
    by_length: dict[int, list[int]] = {}
    for i, rows in enumerate(blocks):
        by_length.setdefault(len(rows), []).append(i)
    for same in by_length.values():
        for k in range(0, len(same), SCALING_CHUNK):
            chunk = same[k : k + SCALING_CHUNK]
            shift, scale = _affine(np.stack([blocks[i] for i in chunk]), kind)  # (S, F) each
            scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)  # constant columns stay as they are
            for row, i in enumerate(chunk):
                scalings[i] = Scaling(kind=kind, shift=shift[row], scale=scale[row])
    return scalings


def _affine(x: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(shift, scale), each (S, F), of training rows x (S, T, F): scikit-learn's fit, step for step."""
    eps = np.finfo(np.float64).eps
    if kind == "standard":  # sklearn.utils.extmath._incremental_mean_and_var from nothing seen, no blanks
        count = np.float64(x.shape[1])
        total = x.sum(axis=1)
        mean = (0.0 + total) / count
        centred = x - (total / count)[:, None, :]
        correction = centred.sum(axis=1)
        centred **= 2
        var = centred.sum(axis=1)
        var -= correction**2 / count
        var = var / count
        constant = var <= count * eps * var + (count * mean * eps) ** 2  # _is_constant_feature
        scale = np.sqrt(var)
        scale[constant] = 1.0
        return mean, scale
    if kind == "minmax":  # x * scale_ + min_, with feature_range (0, 1)
        low = np.nanmin(x, axis=1)
        span = np.nanmax(x, axis=1) - low
        span[span < 10 * eps] = 1.0  # _handle_zeros_in_scale
        scale_ = 1.0 / span
        min_ = 0 - low * scale_
        return -min_ / scale_, 1.0 / scale_
    if kind == "robust":
        center = np.nanmedian(x, axis=1)
        quartiles = np.nanpercentile(x, (25.0, 75.0), axis=1)  # (2, S, F)
        scale = quartiles[1] - quartiles[0]
        scale[scale < 10 * eps] = 1.0
        return center, scale
    raise AssertionError(f"unknown scaler {kind!r}")  # settings.validate refused it


# ---------------------------------------------------------------------------- windows


@dataclass
class Windows:
    """Input windows and their targets, as views into one (T, F) tensor."""

    x: torch.Tensor  # (N, seq_len, F)  # noqa: F821
    y: torch.Tensor  # (N, horizon, n_targets)  # noqa: F821
    starts: torch.Tensor | None = None  # noqa: F821  (M,) windows in use (many series: none crosses one); None: all

    def __len__(self) -> int:
        return self.x.shape[0] if self.starts is None else len(self.starts)

    def targets(self) -> torch.Tensor:  # noqa: F821
        """Every window's targets in use, gathered: (N, H, T)."""
        return self.y if self.starts is None else self.y[self.starts]

    def take(self, start: int, count: int) -> Windows:
        if self.starts is not None:
            return Windows(self.x, self.y, self.starts[start : start + count])
        return Windows(self.x[start : start + count], self.y[start : start + count])

    def batch(self, which: torch.Tensor | slice) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: F821
        """Gather windows `which` (positions among those in use): (B, L, F), (B, H, T)."""
        rows = which if self.starts is None else self.starts[which]
        return self.x[rows], self.y[rows]


def original_windows(values: np.ndarray, start: int, count: int, length: int) -> np.ndarray:
    """`count` stride-1 windows of `length` rows from `values` (T, F), beginning at row `start`: (count, length, F).

    A read-only view (no copy), used to score forecasts in original units.
    """
    view = np.lib.stride_tricks.sliding_window_view(values[start : start + count + length - 1], length, axis=0)
    return view.transpose(0, 2, 1)


def make_windows(series: torch.Tensor, seq_len: int, horizon: int, n_targets: int) -> Windows:  # noqa: F821
    """Every stride-1 window of `series` (T, F): inputs (N, L, F), targets (N, H, n_targets).

    `unfold` returns views, so no window is copied until a batch is gathered.
    """
    w = series.unfold(0, seq_len + horizon, 1).transpose(1, 2)  # (N, L+H, F)
    return Windows(x=w[:, :seq_len, :], y=w[:, seq_len:, :n_targets])


# ---------------------------------------------------------------------------- plan


@dataclass
class Member:
    """One series in the model, with its own split and scaling."""

    id: str
    series: Series
    split: Split
    scaling: Scaling
    pad: int = 0  # rows of `series` before its first own row (copies of it): a short series in a global model

    @property
    def own_rows(self) -> int:
        return len(self.series) - self.pad


@dataclass
class Plan:
    """What fit will do with the series, with the choices made from the data."""

    members: list[Member]
    layout: Layout
    seq_len: int
    horizon: int
    season: int
    val_frac: float
    calendar: list[str] = field(default_factory=list)  # calendar cycles used as known inputs
    future: list[str] = field(default_factory=list)  # --future-features: the last feature columns, known ahead
    pct_names: list[str] = field(default_factory=list)  # per target: "MAPE", or "sMAPE" where values reach 0
    base: str = "last"  # what --window-norm auto becomes: the naive forecast that wins on training windows
    chosen: dict[str, object] = field(default_factory=dict)  # options defaulted from the data
    notes: list[str] = field(default_factory=list)  # warnings for the user: the series' own, then the plan's
    shrunk: str | None = None  # why seq_len or horizon are below the frequency's defaults (short data), for stderr

    @property
    def first(self) -> Series:
        return self.members[0].series

    def inputs(self, with_id: bool) -> Inputs:
        """What the network reads for this plan besides the scaled values."""
        ahead = self.horizon if self.future or (self.calendar and CALENDAR_AHEAD) else 0
        calendar_ahead = bool(self.calendar) and CALENDAR_AHEAD
        return Inputs(self.calendar, with_id, len(self.future), calendar_ahead, ahead, self.first.zone)

    @property
    def ids(self) -> list[str]:
        return [m.id for m in self.members]

    @property
    def n_train(self) -> int:
        return sum(m.split.n_train for m in self.members)

    @property
    def n_val(self) -> int:
        return sum(m.split.n_val for m in self.members)


def window_lengths(
    freq: str | None, n: int, wc: WindowConfig, weekmask: str | None = None
) -> tuple[int, int, int, dict[str, object]]:
    """(seq_len, horizon, season, chosen): the given ones, else defaults from the frequency that fit n rows."""
    season, horizon, seq_len = timeindex.freq_defaults(freq, weekmask)
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
        season = wc.season
    else:
        chosen["season"] = season
    return seq_len, horizon, season, chosen


def plan(coll: Collection, wc: WindowConfig, future: tuple[str, ...] = ()) -> Plan:
    """Window lengths from the common frequency and the median length; split and scale each series.

    Many series: a series too short for one training and one validation window is padded at the start
    (`pad_rows`, with a note) so that the one model still fits and forecasts it; one with fewer than
    2 × horizon rows is skipped with a note. A single series that short is refused. `future`: the
    feature columns known for the forecast steps too (read as the last features, `ReadOptions.future_features`).
    """
    many = coll.layout.many
    freqs = Counter(s.freq for s in coll.series if len(s) >= 3)
    freq = freqs.most_common(1)[0][0] if freqs else coll.series[0].freq
    weekmask = coll.series[0].time_read.get("weekmask")  # --freq C: the season is a week of open days
    lengths = [len(s) for s in coll.series]
    typical = window_rows = int(np.median(lengths))
    seq_len, horizon, season, chosen = window_lengths(freq, typical, wc, weekmask)
    trained = [n for n in lengths if n >= 2 * horizon]  # the others have no training target: skipped below
    if many and wc.seq_len is None and 0 < len(trained) < len(lengths):
        # the window is sized on the series trained on: skipped ones would shrink it (to 2 steps, where the
        # median series is itself too short for the horizon)
        window_rows = int(np.median(trained))
        seq_len = window_lengths(freq, window_rows, replace(wc, horizon=horizon), weekmask)[0]
        chosen["seq_len"] = seq_len
    need = min_rows(seq_len, horizon)
    notes = collection_notes(coll)
    shrunk = shrunk_note(freq, typical, wc, seq_len, horizon, window_rows)
    if shrunk and many:
        shrunk = shrunk.replace("the data", "the median series", 1)
        if window_rows != typical:
            trained_on = f"of the median of the {len(trained)} series trained on"
            shrunk = shrunk.replace("two horizons leave", f"two horizons leave {trained_on}", 1)
    kept, padded = [], []  # kept: (id, series, split, rows padded)
    before = f" before the last {coll.held_back} (held out to be forecast)" if coll.held_back else ""
    for sid, s in zip(coll.ids, coll.series, strict=True):
        pad = pad_rows(len(s), seq_len, horizon) if many else 0
        if pad < 0:
            notes.append(
                f"series {sid!r} has {len(s)} rows{before}, fewer than the {2 * horizon} that one training and one "
                f"validation target need (horizon {horizon}); skipped"
            )
            continue
        if s.freq != freq:
            raise DataError(f"series {sid!r} has frequency {s.freq}, the others {freq}; resample it or drop it")
        if pad:
            padded.append(sid)
            s = left_pad(s, pad)
        kept.append((sid, s, plan_split(len(s), seq_len, horizon, wc.val_frac), pad))
    # each scaler sees only its series' own training rows, never the padding
    scalings = fit_scalings([s.values[pad : split.cut] for _, s, split, pad in kept], wc.scaler)
    members = [
        Member(sid, s, split, scaling, pad) for (sid, s, split, pad), scaling in zip(kept, scalings, strict=True)
    ]
    if not members:
        longest = max(len(s) for s in coll.series)
        raise DataError(
            f"every series is shorter than the {2 * horizon} rows one training and one validation target need; "
            f"lower --horizon: the longest has {longest} rows{before}, which fit --horizon "
            f"{max(1, longest // 2)} or less"
        )
    if padded:
        notes.append(
            f"{len(padded)} series ({first_ids(padded)}) have fewer than the {need} rows one training and one validation "
            f"window need (seq_len {seq_len}, horizon {horizon}); their windows are padded at the start with "
            "their first value"
        )
    calendar = []
    if wc.calendar:
        if freq is None:
            raise UsageError("--calendar needs regular time stamps (a frequency); this data has none")
        calendar = timeindex.calendar_parts(members[0].series.index, members[0].series.zone)
    pct_names = []
    for j, target in enumerate(members[0].series.targets):
        reaches_zero = any(metrics.uses_smape(m.series.values[m.split.cut :, j]) for m in members)
        pct_names.append("sMAPE" if reaches_zero else "MAPE")
        if reaches_zero:
            notes.append(
                f"{target!r} reaches zero or below in the validation rows, where MAPE is undefined; "
                "sMAPE is reported instead"
            )
    base = better_base(members, seq_len, horizon, season)
    return Plan(members, coll.layout, seq_len, horizon, season, wc.val_frac, calendar, list(future), pct_names, base,
                chosen, notes, shrunk)  # fmt: skip


# `season` must beat repeat-last clearly: on ETTh1 (hourly) it wins the training windows by 0.2-3% at
# horizons 96-720, yet validation MSE at 96 was worse with it (0.120 vs 0.116); monthly elec_equip wins by 30%.
SEASON_MARGIN = 0.9


def better_base(members: list[Member], seq_len: int, horizon: int, season: int) -> str:
    """What --window-norm auto becomes for every series: 'season' when repeating the last cycle beats
    repeating the last value by over 10% on the training windows of most series, else 'last'.

    The network learns a correction to that forecast, so it starts from the better one.
    """
    if not 1 < season <= seq_len:
        return "last"
    votes = 0
    voters = [m for m in members if not m.pad] or members  # padded inputs favour repeat-last: they do not vote
    for m in voters:
        rows = m.series.values[: m.split.cut, : m.series.n_targets]
        history = original_windows(rows, 0, m.split.n_train, seq_len)
        actual = original_windows(rows, seq_len, m.split.n_train, horizon)
        naive_mae = np.abs(actual - metrics.naive(history, horizon)).mean()
        seasonal_mae = np.abs(actual - metrics.seasonal_naive(history, horizon, season)).mean()
        votes += bool(seasonal_mae < SEASON_MARGIN * naive_mae)
    return "season" if 2 * votes > len(voters) else "last"


# ---------------------------------------------------------------------------- model inputs


# Calendar sin/cos are computable from the forecast steps' own stamps and could be read for those steps too,
# like --future-features. Measured on validation (benchmarks/future_inputs.py, docs/accuracy.md) it helped daily
# (-3% MAE) and quarterly (-4%) data but hurt monthly elec_equip by 15% (2.41 -> 2.77 over 8 seeds): on regular
# data the forecast steps' calendar follows from the last input step's, so it adds parameters, not information.
# So --calendar stays past-only; True reads it ahead (model files record which).
CALENDAR_AHEAD = False


@dataclass
class PlanWindows:
    train: Windows
    val: Windows
    offsets: np.ndarray  # (S + 1,) first row of each series in the stacked tensor
    every: Windows | None = None  # every window of every series, those between training and validation too (refit)


def plan_windows(p: Plan, with_id: bool, device="cpu") -> PlanWindows:
    """Every series stacked into one tensor, unfolded once; index tensors keep the windows inside one series."""
    import torch

    where = (lambda sid: f"series {sid!r}: ") if p.layout.many else (lambda sid: "")
    inputs = p.inputs(with_id)
    rows = [
        inputs.rows(m.scaling.transform32(m.series, where(m.id)), m.series.index, i) for i, m in enumerate(p.members)
    ]
    offsets = np.concatenate([[0], np.cumsum([len(r) for r in rows])])
    stacked = torch.as_tensor(np.concatenate(rows), dtype=torch.float32, device=device)  # (T_total, F')
    windows = make_windows(stacked, p.seq_len, p.horizon, p.first.n_targets)  # views over every start
    train = [offsets[i] + np.arange(m.split.n_train) for i, m in enumerate(p.members)]
    val = [offsets[i] + m.split.val_start + np.arange(m.split.n_val) for i, m in enumerate(p.members)]
    every = [offsets[i] + np.arange(m.split.val_start + m.split.n_val) for i, m in enumerate(p.members)]

    def use(starts: list[np.ndarray]) -> Windows:
        return Windows(windows.x, windows.y, torch.as_tensor(np.concatenate(starts), dtype=torch.long, device=device))

    return PlanWindows(use(train), use(val), offsets, use(every))
