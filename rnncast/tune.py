"""Automatic search: many fits of the same data with Optuna (seeded TPE sampler, median pruning).

The data is read once. Each trial draws the settings it searches, plans windows for its seq_len
and fits as `fit` would, reporting its validation loss after every epoch: a trial worse than the
median of the completed ones at the same epoch is stopped (pruned). The objective is the best
validation MSE (scaled units) that early stopping kept, so only validation data chooses.

The best trial's fitted model is kept in memory and written once, at the end, under the model
lock: an interrupted search leaves the old model file as it was. When the best trial of a resumed
study ran in an earlier session its parameters are fitted again (on CPU the same seed gives the
same weights).

Optuna is imported inside the functions, so `rnncast --help` does not load it.
"""

from __future__ import annotations

import contextlib
import json
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import IO

import pandas as pd

from rnncast import artifact, atomic, collection
from rnncast import train as tr
from rnncast.choices import CELLS, WINDOW_NORMS
from rnncast.errors import OutputError, RnncastError, TrainingError, UsageError
from rnncast.fitting import FitResult, data_digest, fit_plan, planned, resolved_loss
from rnncast.settings import Settings, validate
from rnncast.windowing import Plan, plan

# The settings a trial may vary, in the order of the table's columns.
SEARCHABLE = (
    "seq_len", "segment", "cell", "hidden_size", "layers", "dropout", "lr", "window_norm", "ensemble", "highway",
)  # fmt: skip
UNSEARCHED = ("cell_len", "highway_members")  # fit's choices a trial records (trial 0: long_lookback's) but never draws
SEQ_LEN_FACTORS = (0.5, 1, 1.5, 2, 3)  # seq_len candidates: these multiples of the one chosen from the frequency
SEGMENTS = (0, 4, 8, 12, 24, 48)  # SegRNN segment lengths (0: off), sizes with many divisors
HIDDEN_SIZES = (8, 256)  # log-uniform integers
LAYERS = (1, 3)
LRS = (1e-4, 1e-2)  # log-uniform
DROPOUTS = (0.0, 0.5)  # only drawn when layers > 1, where it acts
ENSEMBLES = (1, 5)
NORMS = tuple(n for n in WINDOW_NORMS if n != "auto")  # auto is a rule over these, not another choice
PRUNE_STARTUP = 5  # completed trials before any is pruned: a median of fewer is noise
PRUNE_WARMUP = 3  # epochs every trial runs before it may be pruned: the first ones say little
NOT_COMPARED = ("device", "threads", "refit")  # a resumed study may change these: where it runs; trials never refit
STATE_ORDER = {"COMPLETE": 0, "PRUNED": 1, "FAIL": 2}

Source = str | Path | IO[str]


@dataclass
class Space:
    """What the search varies; a setting fixed by the user is not in `names` and keeps its value."""

    names: tuple[str, ...]  # searched settings, in SEARCHABLE order
    seq_lens: tuple[int, ...] = ()  # candidates when seq_len is searched
    segments: tuple[int, ...] = ()  # candidates when segment is searched (none above the longest seq_len)


@dataclass
class TrialRow:
    """One trial as the table shows it: this run's or an earlier run's from the study database."""

    number: int  # Optuna's trial number in the study, from 0
    state: str  # COMPLETE | PRUNED | FAIL (RUNNING: another process, or one that was killed)
    val_mse: float  # the trial's objective (scaled units; a pruned trial: the best epoch's --loss); NaN when none
    seconds: float
    epochs: int  # epochs trained (a pruned trial: where it was stopped)
    params: dict[str, object]  # the searched settings as trained (dropout None when layers is 1)
    error: str = ""  # why a failed trial failed


@dataclass
class TuneResult:
    study_name: str
    study_db: str | None
    space: Space
    trials: list[TrialRow]  # every trial of the study, earlier runs' included, by number
    ran: int  # trials run by this call
    budget_spent: bool  # the time budget stopped the search before `trials`
    best: TrialRow
    fit: FitResult  # the best trial's fit: what was saved
    refitted: bool  # the best trial ran in an earlier session, so its parameters were fitted again
    notes: list[str] = field(default_factory=list)  # warnings about the data (on_plan's plan has them too)

    def frame(self) -> pd.DataFrame:
        """The trials best first: complete ones by validation MSE, then pruned, then failed, each by number."""
        rows = sorted(
            self.trials,
            key=lambda r: (STATE_ORDER.get(r.state, 3), r.val_mse if r.state == "COMPLETE" else 0.0, r.number),
        )
        # cell_len and highway_members are not searched, but a trial may have trained with them (fit's long hourly
        # window in trial 0, or options given): without the columns that row reads as every member over the whole
        names = [*self.space.names, *(n for n in UNSEARCHED if any(n in r.params for r in rows))]
        records = [
            {
                "number": r.number,
                "state": r.state,
                "val_mse": r.val_mse,
                "seconds": round(r.seconds, 3),
                "epochs": r.epochs,
                **{name: r.params.get(name) for name in names},
            }
            for r in rows
        ]
        frame = pd.DataFrame(records, columns=["number", "state", "val_mse", "seconds", "epochs", *names])
        for name in names:  # a blank (a trial without the setting) would make an integer column float: 96.0
            given = [rec[name] for rec in records if rec[name] is not None]
            if given and all(isinstance(v, int) and not isinstance(v, bool) for v in given):
                frame[name] = pd.array([rec[name] for rec in records], dtype="Int64")
        return frame


def tune(
    source: Source,
    settings: Settings | None = None,
    fixed: set[str] | frozenset[str] = frozenset(),
    trials: int = 20,
    time_budget: float | None = None,
    study_db: str | Path | None = None,
    model_path: str | Path | None = "model.rnncast",
    on_trial: Callable[[TrialRow, bool], None] | None = None,
    study_name: str | None = None,
    on_plan: Callable[[Plan, Space], None] | None = None,
    on_epoch: Callable[[tr.EpochLog], None] | None = None,
) -> TuneResult:
    """Search the settings not in `fixed` for the lowest validation MSE; save the best model (unless model_path is None).

    `settings` holds the fixed values and the base of the others. No trial starts once `time_budget`
    seconds have passed (the first always does). With `study_db` the study lives in that SQLite
    file, and a second call with the same file and study name adds trials to it. `on_trial(row,
    best)` is called after each trial, `best` telling whether it is the best of the study so far.
    """
    started = time.monotonic()
    settings = settings or Settings()
    validate(settings)
    if trials < 1:
        raise UsageError("--trials must be at least 1")
    if time_budget is not None and not time_budget > 0:
        raise UsageError("--time-budget must be positive, e.g. 90s, 10m or 1h")
    unknown = set(fixed) - set(SEARCHABLE)
    if unknown:
        raise UsageError(f"cannot fix {', '.join(sorted(unknown))}: tune searches only {', '.join(SEARCHABLE)}")
    study_name = study_name or default_study_name(source)
    storage = open_storage(study_db)  # a bad path fails now, before the data is read
    with atomic.model_lock(model_path) if model_path is not None else contextlib.nullcontext():
        coll = collection.read_collection(source, settings.read, settings.layout)
        first, chosen = planned(coll, settings)  # trial 0's plan, fit's: a long hourly series gets the long window
        base = first if chosen is settings else plan(coll, settings.windows, settings.read.future_features)
        space = search_space(base, settings, fixed, first.seq_len)
        if on_plan is not None:
            on_plan(first, space)
        study = open_study(storage, study_name, study_key(settings, space, base), settings.train.seed)

        kept: tuple[float, int, FitResult] | None = None  # this run's best: (val MSE, trial number, fit)
        ran, budget_spent = 0, False
        defaults_first = not study.trials  # a new study: trial 0 is what `fit` would train with these options
        for i in range(trials):
            if i and time_budget is not None and time.monotonic() - started >= time_budget:
                budget_spent = True
                break
            row, result = run_trial(study, coll, settings, space, base.seq_len, on_epoch, defaults_first and i == 0)
            ran += 1
            if result is not None and (kept is None or row.val_mse < kept[0]):
                kept = (row.val_mse, row.number, result)
            if on_trial is not None:
                on_trial(row, row.state == "COMPLETE" and best_trial(study).number == row.number)

        best = best_trial(study)
        refitted = kept is None or kept[1] != best.number
        # Trials compare validation scores and never refit; with --refit only the model saved is fitted again
        if refitted or settings.train.refit:
            chosen = trial_settings(settings, space, best.user_attrs.get("params", best.params))
            p, chosen = planned(coll, chosen)
            result = fit_plan(p, chosen.network, chosen.train, on_epoch)
        else:
            result = kept[2]
        result.artifact.meta["tune"] = {"study": study_name, "trial": best.number, "params": row_of(best).params}
        if model_path is not None:
            artifact.save(result.artifact, model_path)
    rows = [row_of(t) for t in study.get_trials(deepcopy=False)]
    return TuneResult(study_name, None if study_db is None else str(study_db), space, rows, ran, budget_spent,
                      row_of(best), result, refitted, base.notes)  # fmt: skip


def default_study_name(source: Source) -> str:
    """The data file's name without its extension (`elec_equip`), `stdin` for -, else `rnncast`."""
    if isinstance(source, (str, Path)):
        return "stdin" if str(source) == "-" else Path(source).stem or "rnncast"
    return "rnncast"


def search_space(
    base: Plan, settings: Settings, fixed: set[str] | frozenset[str], fit_seq_len: int | None = None
) -> Space:
    """The searched settings and their candidates, from the data's base plan and the fixed settings.

    seq_len: multiples of the one chosen from the frequency (rounded to multiples of 4), none so
    long that a series the base plan kept would be skipped, nor longer than half the median series;
    and `fit_seq_len`, the window fit would train (trial 0's: `fitting.long_lookback`'s 336 steps on a
    long hourly series), so that later trials may draw it too.
    """
    names = [n for n in SEARCHABLE if n not in fixed]
    cell_len = settings.network.cell_len or 0  # given: not searched, but it bounds the windows and segments
    if "layers" in fixed and settings.network.layers == 1 and "dropout" in names:
        names.remove("dropout")  # dropout acts between stacked layers only
    seq_lens: tuple[int, ...] = ()
    if "seq_len" in names:
        lengths = [len(m.series) for m in base.members]
        room = [min(lengths) - 2 * base.horizon, (int(statistics.median(lengths)) - 2 * base.horizon) // 2]
        longest = max(base.seq_len, fit_seq_len or 0, min(room))
        seq_lens = {base.seq_len, fit_seq_len or base.seq_len} | {_round4(base.seq_len * f) for f in SEQ_LEN_FACTORS}
        seq_lens = tuple(sorted(seq_lens - {0}))
        seq_lens = tuple(n for n in seq_lens if n <= longest)
        seq_lens = tuple(n for n in seq_lens if n >= cell_len) or seq_lens  # a window holds the --cell-len given
    segments: tuple[int, ...] = ()
    if "segment" in names:
        longest = max(seq_lens) if seq_lens else base.seq_len
        segments = tuple(s for s in SEGMENTS if s <= min(longest, cell_len or longest))  # cut from the cell's steps
    return Space(tuple(names), seq_lens, segments)


def _round4(n: float) -> int:
    """Lengths of 8 and more as multiples of 4, which most segment sizes divide."""
    return max(2, round(n)) if n < 8 else 4 * round(n / 4)


def suggest(trial, space: Space, settings: Settings, base_seq_len: int) -> dict[str, object]:
    """One trial's values of the searched settings (Optuna's `trial.suggest_*`)."""
    n = settings.network
    names, values = space.names, {}
    if "seq_len" in names:
        values["seq_len"] = trial.suggest_categorical("seq_len", space.seq_lens)
    seq_len = values.get("seq_len", settings.windows.seq_len or base_seq_len)
    if "segment" in names:
        drawn = trial.suggest_categorical("segment", space.segments)
        reach = min(seq_len, n.cell_len or seq_len)  # the steps the cell reads: segments are cut from them
        values["segment"] = max(s for s in space.segments if s <= min(drawn, reach))  # never above seq_len
    if "cell" in names:
        values["cell"] = trial.suggest_categorical("cell", CELLS)
    if "hidden_size" in names:
        values["hidden_size"] = trial.suggest_int("hidden_size", *HIDDEN_SIZES, log=True)
    if "layers" in names:
        values["layers"] = trial.suggest_int("layers", *LAYERS)
    if "dropout" in names:
        deep = values.get("layers", n.layers) > 1
        values["dropout"] = trial.suggest_float("dropout", *DROPOUTS) if deep else None
    if "lr" in names:
        values["lr"] = trial.suggest_float("lr", *LRS, log=True)
    if "window_norm" in names:
        values["window_norm"] = trial.suggest_categorical("window_norm", NORMS)
    if "ensemble" in names:
        values["ensemble"] = trial.suggest_int("ensemble", *ENSEMBLES)
    if "highway" in names:  # off, or over the whole window
        values["highway"] = seq_len if trial.suggest_categorical("highway", (False, True)) else 0
    return values


def trial_settings(settings: Settings, space: Space, values: dict[str, object]) -> Settings:
    """The base settings with one trial's values in place (dropout None: the base's, unused with one layer)."""
    v = {k: x for k, x in values.items() if (k in space.names or k in UNSEARCHED) and x is not None}
    windows = replace(settings.windows, seq_len=v.pop("seq_len", settings.windows.seq_len))
    train = replace(settings.train, lr=v.pop("lr", settings.train.lr))
    return replace(settings, windows=windows, network=replace(settings.network, **v), train=train)


def run_trial(
    study,
    coll: collection.Collection,
    settings: Settings,
    space: Space,
    base_seq_len: int,
    on_epoch=None,
    defaults: bool = False,
):
    """Ask for a trial, fit it with pruning on its validation curve, tell the result: (row, fit or None).

    `defaults`: the trial draws nothing and fits `settings` as given, what `fit` with the same options does
    (its values, as fit resolved them, are recorded as the trial's), so that the search starts from fit's
    own choice and its best is never worse on validation than fit."""
    import optuna
    from optuna.trial import TrialState

    trial = study.ask()

    def report(log: tr.EpochLog) -> None:
        if on_epoch is not None:
            on_epoch(log)
        trial.report(log.val_loss, log.epoch)
        if trial.should_prune():
            raise optuna.TrialPruned()

    result = None
    try:
        values = {} if defaults else suggest(trial, space, settings, base_seq_len)
        for name in UNSEARCHED if not defaults else ():  # given, not searched: recorded as trial 0 records them
            if getattr(settings.network, name):
                values[name] = getattr(settings.network, name)
        members = values.get("ensemble", settings.network.ensemble)
        if "highway_members" in values and (
            values.get("highway", 1) == 0 or (members or 0) < values["highway_members"]
        ):
            del values["highway_members"]  # a trial without the highway, or with fewer members: every member
        trial.set_user_attr("params", values)
        s = trial_settings(settings, space, values)
        s = replace(s, train=replace(s.train, refit=False))
        p, s = planned(coll, s)  # as fit plans: only trial 0 leaves the window to the data (a drawn one is given)
        result = fit_plan(p, s.network, s.train, report)
        if defaults:
            trial.set_user_attr("params", resolved_params(result.artifact.meta, space))
            trial.set_user_attr("defaults", True)
    except optuna.TrialPruned:
        frozen = study.tell(trial, state=TrialState.PRUNED)
    except RnncastError as exc:  # these settings cannot work on this data (diverged, too long): try others
        trial.set_user_attr("error", str(exc))
        frozen = study.tell(trial, state=TrialState.FAIL)
    except BaseException:  # Ctrl-C or a bug: the study records the trial as failed, and the search stops
        study.tell(trial, state=TrialState.FAIL)
        raise
    else:
        frozen = study.tell(trial, objective(result))
    return row_of(frozen), result


def resolved_params(meta: dict, space: Space) -> dict[str, object]:
    """The searched settings as a fit resolved them (`auto`, None: from the data), read from its model meta."""
    model = meta["model"]
    values = {
        "seq_len": meta["model_seq_len"],
        "segment": model["segment"],
        "cell": model["cell"],
        "hidden_size": model["hidden_size"],
        "layers": model["layers"],
        "dropout": model["dropout"] if model["layers"] > 1 else None,
        "lr": meta["train"]["lr"],
        "window_norm": model["window_norm"],
        "ensemble": model["ensemble"],
        "highway": model.get("highway", 0),
    }
    chosen = {name: values[name] for name in space.names}
    for name in ("cell_len", "highway_members"):  # not searched, but fit chose them (long_lookback): the trial
        if model.get(name):  # is refitted with them, and the table shows them
            chosen[name] = model[name]
    return chosen


def objective(result) -> float:
    """What a trial is ranked by: the validation MSE of the forecast the saved model makes. With the guard
    (the default) that is the blended forecast, each window scored with weights fitted on the other half
    of the windows; without it, the network's best validation MSE. Ranking by the network alone would
    favour trials whose forecast the guard then changes."""
    return objective_of(result.artifact.meta)


def objective_of(meta: dict) -> float:
    """`objective` read from a model file's meta."""
    guard, t = meta.get("guard"), meta["training"]
    return guard["val_mse"]["guarded"] if guard else t.get("val_mse", t["best_val_loss"])  # older files: --loss mse


def row_of(t) -> TrialRow:
    """An Optuna FrozenTrial as a table row."""
    losses = list(t.intermediate_values.values())
    val = t.value if t.value is not None and t.state.name == "COMPLETE" else (min(losses) if losses else math.nan)
    seconds = t.duration.total_seconds() if t.duration is not None else math.nan
    params = t.user_attrs.get("params", t.params)
    return TrialRow(
        t.number, t.state.name, float(val), seconds, len(losses), dict(params), t.user_attrs.get("error", "")
    )


def best_trial(study):
    """The study's best complete trial; none completed is a training failure."""
    try:
        return study.best_trial
    except ValueError:
        failed = [t.user_attrs["error"] for t in study.get_trials(deepcopy=False) if "error" in t.user_attrs]
        why = f" (the first failed: {failed[0]})" if failed else ""
        raise TrainingError(f"no trial completed{why}; fix the fixed options or run more --trials") from None


# ---------------------------------------------------------------------------- the study


def open_storage(study_db: str | Path | None):
    """An SQLite storage for the study at `study_db`, or None for a study in memory."""
    if study_db is None:
        return None
    import optuna
    import sqlalchemy.exc

    path = Path(study_db)
    if path.is_dir():
        raise UsageError(f"--study-db {path} is a directory; give a file name, e.g. {path / 'tune.db'}")
    try:
        return optuna.storages.RDBStorage(f"sqlite:///{path.resolve()}")
    except sqlalchemy.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise OutputError(
            f"cannot open study database {path} ({reason}); check the folder exists and the file is an rnncast study"
        ) from None


def study_key(settings: Settings, space: Space, base: Plan) -> dict:
    """What makes trials comparable: the fixed settings, the search space and the data (its digest)."""
    flat = {}
    for part, values in asdict(settings).items():
        for name, value in values.items():
            if name not in space.names and name not in NOT_COMPARED:
                flat[f"{part}.{name}"] = value
    # the loss the trials train on, as fit_plan resolves it (no --loss: mae for many series, mse for one)
    flat["train.loss"] = resolved_loss(settings.train.loss, base.layout.many)
    key = {**flat, "searched": list(space.names), "seq_lens": list(space.seq_lens), "data": data_digest(base)}
    return json.loads(json.dumps(key))  # tuples as lists, as they come back from the database


def setting_defaults() -> dict:
    """Every setting's value in a study begun before the setting existed, keyed as `study_key` keys them: its
    default, and for train.loss "mse", what every trial trained on before --loss (many series included)."""
    flat = {f"{part}.{name}": value for part, values in asdict(Settings()).items() for name, value in values.items()}
    return json.loads(json.dumps({**flat, "train.loss": "mse"}))


def open_study(storage, name: str, key: dict, seed: int):
    """Create the study or resume it; resuming with other settings or data is refused, so trials stay comparable."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # one line per trial is ours to print
    study = optuna.create_study(
        storage=storage,
        study_name=name,
        load_if_exists=True,
        direction="minimize",
        pruner=optuna.pruners.MedianPruner(n_startup_trials=PRUNE_STARTUP, n_warmup_steps=PRUNE_WARMUP),
    )
    earlier = study.user_attrs.get("settings")
    if earlier is not None:  # a setting added since the study began (--loss): it ran with today's default
        earlier = {**{k: v for k, v in setting_defaults().items() if k in key and k not in earlier}, **earlier}
    if earlier is None:
        study.set_user_attr("settings", key)
    elif earlier != key:
        changed = sorted(k for k in earlier.keys() | key.keys() if earlier.get(k) != key.get(k))
        # its loss may be no option the user gave: an older many-series study trained on mse, today's default mae
        loss = f" (--loss {earlier['train.loss']})" if "train.loss" in changed and earlier.get("train.loss") else ""
        raise UsageError(
            f"study {name!r} was run with other settings or data ({', '.join(changed)} differ); "
            f"give the same options{loss} and data, or a new --study-name"
        )
    # A resumed study must not replay the draws of its first session: the seed moves on with the trials.
    study.sampler = optuna.samplers.TPESampler(seed=(seed + len(study.trials)) % 2**32)
    return study


def summary(result: TuneResult) -> dict:
    """The study in plain JSON (`tune --report`'s "tune" key, and its --history record): what ran and what won."""
    best = result.best

    def plain(v):
        return v.item() if hasattr(v, "item") else v

    return {
        "study_name": result.study_name,
        "study_db": result.study_db,
        "trials_run": result.ran,
        "trials_in_study": len(result.trials),
        "states": {s: sum(r.state == s for r in result.trials) for s in ("COMPLETE", "PRUNED", "FAIL")},
        "budget_spent": result.budget_spent,
        "best": {
            "number": best.number,
            "val_mse": best.val_mse,
            "params": {k: plain(v) for k, v in best.params.items()},
            "refitted": result.refitted,  # it ran in an earlier session: its settings were fitted again now
        },
    }
