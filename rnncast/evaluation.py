"""Evaluation: rolling-origin backtests, and the scoring of a saved model once the actual values are known.

Both produce one table: per (series,) target, for the network and the naive baselines on exactly the
same targets, MAE, RMSE, MAPE (or sMAPE) and MASE over all horizon steps and at each step, and for
the network the share of actual values inside each conformal prediction interval. Many series get
their means over series first (as in M4), then each series.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import torch

from rnncast import forecast as fc
from rnncast import intervals, metrics, newdata, timeindex
from rnncast import train as tr
from rnncast.artifact import Artifact
from rnncast.collection import Collection
from rnncast.errors import DataError
from rnncast.fitting import fit_plan, planned
from rnncast.reading import Series
from rnncast.settings import Layout, Settings
from rnncast.windowing import Plan, left_pad, make_windows, original_windows, plan

DEFAULT_LEVELS = (80.0, 95.0)


@dataclass
class Evaluation:
    """Forecasts and the actual values they are scored against, all (N, H, T) in original units."""

    targets: list[str]
    ids: list[str]  # the series scored
    id_name: str | None  # header of the id column; None: one series
    series: np.ndarray  # (N,) each window's position in `ids`
    actual: np.ndarray
    forecasts: dict[str, np.ndarray]  # the network first, then the baselines
    scale: np.ndarray  # (N, T) MASE denominators (those of each window's series)
    bounds: dict[float, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # level % → (lower, upper)
    notes: list[str] = field(default_factory=list)  # warnings for the user (stderr)
    summary: str = ""  # what was scored, for the user (stderr)
    pct_names: list[str] | None = None  # per target: MAPE or sMAPE; None: sMAPE where the actual values reach zero
    cutoffs: np.ndarray | None = None  # (N,) each window's last input time stamp (or step): its forecast origin
    times: np.ndarray | None = None  # (N, H) the time stamps (or steps) of each window's targets
    time_name: str = "step"  # header of the time column in `predictions`
    zone: str | None = None  # the zone `predictions` shows time stamps in (they are kept in UTC)

    @property
    def windows(self) -> int:
        return self.actual.shape[0]

    def coverage(self, level: float) -> float:
        """Share (percent) of actual values inside the interval at `level`, over every series, step and target."""
        lower, upper = self.bounds[level]
        return float(100 * intervals.coverage(self.actual, lower, upper).mean())

    def predictions(self) -> pd.DataFrame:
        """The forecasts themselves: one row per (series,) window and step (and target, when several).

        Columns: [id,] cutoff, time, [target,] actual, one per model (`rnn` or the cell, `naive`,
        `seasonal_naive`), then `lower_PCT`, `upper_PCT` per level: the network's interval.
        """
        n, h, t = self.actual.shape
        columns: dict[str, object] = {}
        if self.id_name is not None:
            columns[self.id_name] = np.repeat(np.asarray(self.ids, dtype=object)[self.series], h * t)
        columns["cutoff"] = timeindex.shown(pd.Index(np.repeat(self.cutoffs, h * t)), self.zone)
        columns[self.time_name] = timeindex.shown(pd.Index(np.repeat(self.times.reshape(-1), t)), self.zone)
        if t > 1:
            columns["target"] = np.tile(np.asarray(self.targets, dtype=object), n * h)
        columns["actual"] = self.actual.reshape(-1)
        for name, pred in self.forecasts.items():
            columns[model_column(name)] = pred.reshape(-1)
        for level, (lower, upper) in self.bounds.items():
            columns[f"lower_{intervals.label(level)}"] = lower.reshape(-1)
            columns[f"upper_{intervals.label(level)}"] = upper.reshape(-1)
        return pd.DataFrame(columns)

    def pct_name(self, j: int) -> str:
        """The percentage error of target j: the one chosen for it, or sMAPE where its actual values reach zero."""
        if self.pct_names is not None:
            return self.pct_names[j]
        return "sMAPE" if metrics.uses_smape(self.actual[..., j]) else "MAPE"

    def frame(self, typed: bool = False) -> pd.DataFrame:
        """One row per (series,) target, horizon step ('all', 1, 2, …) and model; coverage_{level} in percent.

        `typed` (for json): `step` is a number, None on the rows over all steps, which `all_steps` marks.
        """
        frame = self._frame()
        if typed:
            overall = frame["step"] == "all"
            frame["step"] = [None if o else int(v) for o, v in zip(overall, frame["step"], strict=True)]
            frame.insert(frame.columns.get_loc("step") + 1, "all_steps", overall)
        return frame

    def _frame(self) -> pd.DataFrame:
        rows = []
        for j, target in enumerate(self.targets):
            pct_name = self.pct_name(j)
            groups = {sid: self.series == k for k, sid in enumerate(self.ids)}
            per_series = {sid: self._rows(mask, j, target, pct_name) for sid, mask in groups.items()}
            if self.id_name is None:
                rows += per_series[self.ids[0]]
                continue
            pooled = self._rows(np.ones(self.windows, bool), j, target, pct_name)  # coverage over all values
            for k, row in enumerate(pooled):  # errors: means over series, as in M4
                for name in ("MAE", "RMSE", pct_name, "MASE"):
                    row[name] = float(np.mean([rs[k][name] for rs in per_series.values()]))
            for sid, group in [(metrics.POOLED, pooled), *per_series.items()]:
                rows += [{self.id_name: sid, **row} for row in group]
        return pd.DataFrame(rows)

    def _rows(self, mask: np.ndarray, j: int, target: str, pct_name: str) -> list[dict]:
        network = next(iter(self.forecasts))
        actual = self.actual[mask, :, j]  # (n, H)
        scale = float(self.scale[mask, j][0])
        per_model = {
            name: metrics.by_step(name, target, actual, pred[mask, :, j], scale, pct_name)
            for name, pred in self.forecasts.items()
        }
        inside = {
            level: intervals.coverage(actual, lower[mask, :, j], upper[mask, :, j])
            for level, (lower, upper) in self.bounds.items()
        }  # (n, H) per level
        rows = []
        for step in range(actual.shape[1] + 1):
            for name, scores in per_model.items():
                s = scores[step]
                row = {"target": target, "step": "all" if step == 0 else step, "model": name}
                row.update({"MAE": s.mae, "RMSE": s.rmse, s.pct_name: s.pct, "MASE": s.mase})
                for level, hit in inside.items():
                    cov = hit.mean() if step == 0 else hit[:, step - 1].mean()
                    row[f"coverage_{intervals.label(level)}"] = 100 * float(cov) if name == network else np.nan
                rows.append(row)
        return rows


@dataclass
class Scored:
    """Windows gathered series by series, then stacked into an Evaluation."""

    series: list[int] = field(default_factory=list)
    actual: list[np.ndarray] = field(default_factory=list)
    pred: list[np.ndarray] = field(default_factory=list)
    history: list[np.ndarray] = field(default_factory=list)
    scale: list[np.ndarray] = field(default_factory=list)
    bounds: dict[float, tuple[list, list]] = field(default_factory=dict)
    cutoffs: list[np.ndarray] = field(default_factory=list)
    times: list[np.ndarray] = field(default_factory=list)

    def add(self, number: int, actual, pred, history, scale, bounds: dict, cutoffs, times) -> None:
        """Windows of one series: actual/pred (n, H, T), history (n, L, T), scale (T,), bounds level → (lo, hi),
        cutoffs (n,) the last input time stamps, times (n, H) those of the targets."""
        self.series.append(np.full(len(actual), number))
        self.cutoffs.append(np.asarray(cutoffs))
        self.times.append(np.asarray(times))
        self.actual.append(actual)
        self.pred.append(pred)
        self.history.append(history)
        self.scale.append(np.repeat(np.asarray(scale, float)[None, :], len(actual), axis=0))
        for level, (lo, hi) in bounds.items():
            self.bounds.setdefault(level, ([], []))
            self.bounds[level][0].append(lo)
            self.bounds[level][1].append(hi)

    def evaluation(self, targets, ids, layout: Layout, cell: str, horizon: int, season: int, **kw) -> Evaluation:
        history = np.concatenate(self.history)
        forecasts = {cell: np.concatenate(self.pred), **metrics.baselines(history, horizon, season)}
        bounds = {level: (np.concatenate(lo), np.concatenate(hi)) for level, (lo, hi) in self.bounds.items()}
        return Evaluation(
            targets, ids, layout.id_name, np.concatenate(self.series), np.concatenate(self.actual), forecasts,
            np.concatenate(self.scale), bounds, cutoffs=np.concatenate(self.cutoffs),
            times=np.concatenate(self.times), **kw,
        )  # fmt: skip


def model_column(name: str) -> str:
    """A model's column in `predictions`: `seasonal naive (12)` → `seasonal_naive`; others as they are."""
    return "seasonal_naive" if name.startswith("seasonal naive") else name


def window_times(index: pd.Index, first: int, count: int, length: int) -> np.ndarray:
    """(count, length) time stamps of `count` stride-1 windows of `length` rows, the first at row `first`."""
    rows = first + np.arange(count)[:, None] + np.arange(length)[None, :]
    return np.asarray(index)[rows]


# ---------------------------------------------------------------------------- backtest


@dataclass
class Fold:
    origin: object  # time stamp (or step) of the first forecast value (of the first series)
    epochs: int
    seconds: float  # training, and with --refit the refit on every window too
    mae: float  # the network's MAE on this fold, all series, targets and steps
    refit_epochs: int | None = None  # --refit: the epochs the refit trained (those early stopping chose)


def backtest(
    coll: Collection,
    settings: Settings,
    folds: int = 3,
    levels: tuple[float, ...] | None = None,
    on_plan: Callable[[Plan], None] | None = None,
    on_fold: Callable[[int, Fold], None] | None = None,
    step: int | None = None,
) -> Evaluation:
    """Rolling-origin evaluation, refitting at each origin.

    `folds` blocks of `horizon` rows of every series are forecast one after the other, their origins
    `step` rows apart (default: the horizon, so the blocks tile the end of the data), the last
    block ending with the data. For each, a fresh network is trained (with its own validation split and early stopping) on the rows
    before the block only, then forecasts the block from the `seq_len` rows before it; the baselines
    forecast the same block from the same rows, and the new model's validation residuals give its
    intervals. `settings` must have passed `settings.validate`, `levels` `settings.validate_levels`;
    None: DEFAULT_LEVELS, each skipped with a note where the first fold has too few validation windows.
    """
    wc, future = settings.windows, settings.read.future_features
    horizon = plan(coll, wc, future).horizon  # the frequency's default, or --horizon
    step = horizon if step is None else step
    span = horizon + (folds - 1) * step  # rows from the first origin to the end
    longest = max(len(s) for s in coll.series)
    if longest - span < 1:
        which = "the longest series" if coll.layout.many else "series"
        apart = f", {step} apart" if step != horizon else ""
        raise DataError(
            f"{which} has {longest} rows, too few for {folds} folds of horizon {horizon}{apart}; "
            "lower --folds or --horizon"
        )
    # seq_len and season are chosen once, on the shortest histories, and kept for every fold.
    fixed, settings = planned(coll.head(span), settings, horizon)  # fit's long hourly window, where it applies
    wc = settings.windows
    # the first fold has the fewest validation windows: refuse (or skip a default level) now, not after training
    levels, notes = intervals.supported(levels, fixed.n_val, DEFAULT_LEVELS)
    whole = dict(zip(coll.ids, coll.series, strict=True))
    if on_plan is not None:  # the first fold's plan, shown with the whole series
        on_plan(replace(fixed, members=[replace(m, series=whole[m.id]) for m in fixed.members]))
    wc = replace(wc, seq_len=fixed.seq_len, horizon=horizon, season=fixed.season)
    kept = Collection(fixed.ids, [whole[sid] for sid in fixed.ids], coll.layout)
    t = fixed.first.n_targets
    scored = Scored()
    for i in range(folds):
        back = horizon + (folds - 1 - i) * step  # rows from this fold's origin to the end
        result = fit_plan(plan(kept.head(back), wc, future), settings.network, settings.train)
        art = result.artifact
        contexts = []
        for number, s in enumerate(kept.series):
            origin = len(s) - back
            known = left_pad(s.head(origin), fixed.seq_len - origin)  # short: padded as in training
            rows = slice(len(known) - fixed.seq_len, len(known))
            ahead = s.values[origin : origin + horizon]  # the block's own rows: its --future-features are known
            contexts.append(fc.Context(number, known.values[rows], known.index[rows], known.index[-1], ahead))
        points = fc.predict(art, fc.build_model(art), contexts)  # (S, H, T)
        errors = []
        for number, (s, c) in enumerate(zip(kept.series, contexts, strict=True)):
            origin = len(s) - back
            actual = s.values[origin : origin + horizon, :t]
            bounds = {level: fc.interval(art, points[number], c.values, level) for level in levels}
            scale = metrics.mase_scale(s.values[: len(s) - span, :t], fixed.season)
            scored.add(number, actual[None], points[number][None], c.values[None, :, :t], scale,
                       {lv: (lo[None], hi[None]) for lv, (lo, hi) in bounds.items()},
                       window_times(s.index, origin - 1, 1, 1)[:, 0], window_times(s.index, origin, 1, horizon))  # fmt: skip
            errors.append(np.abs(points[number] - actual))
        if on_fold is not None:
            s0 = kept.series[0]
            t_ = result.training
            origin = timeindex.shown(s0.index[[len(s0) - back]], s0.zone)[0]
            again = result.refit
            seconds = t_.seconds + (again.seconds if again is not None else 0.0)
            refit_epochs = again.epochs_run if again is not None else None
            on_fold(i, Fold(origin, t_.epochs_run, seconds, float(np.mean(errors)), refit_epochs))
    return scored.evaluation(fixed.first.targets, kept.ids, coll.layout, settings.network.cell, horizon,
                             fixed.season, notes=notes, time_name=fixed.first.time_col or "step",
                             zone=fixed.first.zone)  # fmt: skip


# ---------------------------------------------------------------------------- evaluate


def first_new_row(art: Artifact, series: Series, end: object) -> int:
    """The first row of `series` after `end`, its training end (0 when time cannot tell)."""
    meta = art.meta["data"]
    if meta.get("time_col") is None:  # plain row numbers: new data cannot be placed against old
        return 0
    end = timeindex.as_time(meta, end)
    return int(np.searchsorted(np.asarray(series.index), np.asarray(end, dtype=series.index.dtype), side="right"))


def evaluate(art: Artifact, coll: Collection, levels: tuple[float, ...] | None = None, every: bool = False):
    """Score a saved model on every stride-1 window of each series whose targets are all after its training data.

    Each window's input is the `seq_len` rows before its first target (they may be training rows);
    `every` scores every complete window instead, training rows included. `levels` None: DEFAULT_LEVELS,
    each skipped with a note where the model has too few validation windows for it.
    """
    levels, skipped = intervals.supported(levels, len(art.val_residuals), DEFAULT_LEVELS)
    took: dict[str, tuple] = {}
    if not every:  # DATA may hold only rows since the training end: the inputs before them are the saved rows
        coll, took = newdata.behind_saved(art, coll)
    coll = newdata.fill_like_model(art, coll)  # read with its blanks (api.evaluate_file): filled after the join
    # same columns and frequency, at least seq_len rows (or, refused, where new rows must start); a shorter
    # one of many series is not padded but skipped below, with a note
    _, notes = newdata.contexts_from(art, coll, follows=not every, pad=False)
    notes += skipped
    sm, meta = art.meta["series"], art.meta["data"]
    if meta.get("time_col") is None and not every:
        notes.append(
            "the model was fitted without a time column, so new rows cannot be placed after its training rows: "
            "every complete window is scored, training windows included (optimistic); pass data with a time column"
        )
    seq_len, horizon, t = art.meta["model_seq_len"], art.meta["model"]["horizon"], len(meta["targets"])
    model, many = fc.build_model(art), coll.layout.many
    known = [(sid, s, sm["ids"].index(sid)) for sid, s in zip(coll.ids, coll.series, strict=True) if sid in sm["ids"]]
    firsts = [seq_len if every else max(seq_len, first_new_row(art, s, sm["ends"][n])) for _, s, n in known]
    steps = scored_steps([len(s) - first for (_, s, _), first in zip(known, firsts, strict=True)], horizon)
    if steps is None and every:
        which = "no series of the data has a" if many else "the data has no"
        raise DataError(
            f"{which} complete window to score: --all-windows needs {seq_len} rows of inputs and at least one "
            "actual value after them; give a longer history"
        )
    if steps is None:
        where = "none of the series in the data has an" if many else "data has no"
        end = timeindex.shown_stamp(sm["ends"][known[0][2]], meta.get("zone"), meta.get("freq"))  # saved as naive UTC
        raise DataError(
            f"{where} actual value to score after the model's training end ({end}"
            f"{' for the first series' if many else ''}): it needs rows after it, with {seq_len} rows before them; "
            "pass data that runs further, or --all-windows"
        )
    if steps < horizon:
        notes.append(f"only {steps} of the {horizon} horizon steps have actual values after the model's training "
                     f"end; scored steps 1-{steps} of one window per series")  # fmt: skip
        if art.meta["model"].get("n_ahead"):
            notes.append(f"the inputs known ahead of steps {steps + 1}-{horizon} have no rows in the data; "
                         "the network read them as 0 (scaled: the training mean)")  # fmt: skip
    scored, spans = Scored(), []
    for (sid, s, number), first_target in zip(known, firsts, strict=True):
        count = len(s) - steps + 1 - first_target
        if count < 1:
            notes.append(f"series {sid!r} has no complete window after the model's training end; skipped")
            continue
        start, scaling = first_target - seq_len, fc.series_scaling(art, number)
        inputs = fc.model_inputs(art).rows(scaling.transform(s.values), s.index, number)
        windows = make_windows(torch.as_tensor(inputs, dtype=torch.float32), seq_len, steps, t).take(start, count)
        pred = scaling.inverse(tr.predict(model, windows).double().numpy(), slice(0, t))[:, :steps]  # (N, steps, T)
        pred = fc.clipped(art, pred)
        targets = s.values[:, :t]
        history = original_windows(targets, start, count, seq_len)
        saved = sm["mase_scale"][number]
        scale = np.asarray(saved) if saved else metrics.mase_scale(targets[:first_target], meta["season"])
        bounds = {lv: fc.interval(art, pred, history, lv) for lv in levels}
        scored.add(len(spans), original_windows(targets, first_target, count, steps), pred, history, scale, bounds,
                   window_times(s.index, first_target - 1, count, 1)[:, 0],
                   window_times(s.index, first_target, count, steps))  # fmt: skip
        shown = timeindex.shown(s.index[[first_target, -1]], meta.get("zone"))
        spans.append((sid, count, shown[0], shown[1]))
    total = sum(n for _, n, _, _ in spans)
    if many:
        summary = f"scored {total} window(s) of {len(spans)} series"
    else:
        first, last = (timeindex.stamp(t, meta.get("freq")) for t in spans[0][2:])  # as fit and outputs write them
        summary = f"scored {total} window(s) with targets from {first} to {last}"
    if joined := sum(sid in took for sid, *_ in spans):  # the series scored, not those skipped
        whose = f"of {joined} series " if many else ""
        summary += f"; the inputs {whose}before the data's first row include the training rows saved in the model"
    layout = Layout(sm["id_col"], sm["wide"])
    result = scored.evaluation(list(meta["targets"]), [sid for sid, *_ in spans], layout, art.meta["model"]["cell"],
                               steps, meta["season"], notes=notes, summary=summary,
                               time_name=meta.get("time_col") or "step", zone=meta.get("zone"))  # fmt: skip
    result.pct_names = pct_names_like_fit(meta, result)
    return result


def scored_steps(new_rows: list[int], horizon: int) -> int | None:
    """How many horizon steps to score, from each series' rows of actuals: all of them when some series has a
    complete window; else the fewest rows among the series that have any (those steps of one window each);
    None when no series has any."""
    if max(new_rows, default=0) >= horizon:
        return horizon
    some = [n for n in new_rows if n >= 1]
    return min(some) if some else None


def pct_names_like_fit(meta: dict, result: Evaluation) -> list[str] | None:
    """The percentage error `fit` chose for each target, so a model's scores keep one column name.

    New actual values that reach zero still switch a target to sMAPE (MAPE is undefined there), with a note.
    """
    saved = meta.get("pct_names")
    if not saved:  # files from before the choice was saved
        return None
    names = []
    for j, (name, target) in enumerate(zip(saved, result.targets, strict=True)):
        if name == "MAPE" and metrics.uses_smape(result.actual[..., j]):
            result.notes.append(f"{target!r} reaches zero or below in the scored rows, where MAPE is undefined; "
                                "sMAPE is reported instead of fit's MAPE")  # fmt: skip
            name = "sMAPE"
        names.append(name)
    return names
