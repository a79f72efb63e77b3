"""Click commands: parse options, call one library function, render. No torch at import time.

The shared machinery (options, settings, stderr lines, the history record) is in clikit.py; the
commands that look into a model (diagnose, plot, tune, history) are in cli_tools.py.
"""

from __future__ import annotations

import json
import os
import sys
import time

import click

from rnncast import __version__, cli_tools
from rnncast.choices import LOSS_NAMES
from rnncast.clikit import (
    COLUMNS,
    EPILOG,
    USE_EPILOG,
    Cli,
    Duration,  # noqa: F401  (re-exported: the --time-budget type)
    _begin_run,
    _describe_plan,
    _given_levels,
    _network,
    _one_stdout_document,
    _progress,
    _report_coverage,
    _settings,
    _silence_stdout,
    _split_commas,
    _warn,
    _write_report,
    format_options,
    history_option,
    level_option,
    model_option,
    option,
    output_options,
    report_option,
    training_options,
    use_output_options,
)


@click.group(cls=Cli, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EPILOG)
@click.version_option(__version__, "--version", prog_name="rnncast")
def cli() -> None:
    """Forecast time series from a CSV with a recurrent neural network.

    \b
    rnncast fit sample_data/elec_equip.csv      # train, save model.rnncast, print metrics
    rnncast forecast                            # the next horizon from the saved model
    rnncast forecast new.csv --format csv       # forecast from the tail of new data
    cat data.csv | rnncast fit - --quiet        # read stdin, print metrics as csv
    """


@cli.command(epilog=EPILOG)
@click.argument("data", type=click.Path(allow_dash=True, dir_okay=True))
@training_options
@model_option
@report_option
@history_option
@format_options
@output_options
def fit(data, model_path, report, history, fmt, output, quiet, verbose, **training) -> None:
    """Train on DATA (a CSV, Parquet, .csv.gz or .csv.zst file, or - for CSV on stdin), save the model, print validation metrics.

    Metrics compare the network with naive (repeat the last value) and seasonal-naive
    forecasts on the same validation windows.

    \b
    Examples:
      rnncast fit sample_data/elec_equip.csv
      rnncast fit sample_data/ETTh1.csv --target OT --features HUFL,HULL --model ett.rnncast
      rnncast fit sales.csv --seq-len 48 --horizon 12 --report run.json --quiet
      rnncast fit sales_long.csv --id-col store --time-col date --target sales
      rnncast fit sample_data/ETTh1.csv --wide --calendar
    """
    from rnncast import api, render
    from rnncast.distributed import env_rank

    _one_stdout_document("--report", report, output, "report", "metrics", "metrics")
    main = env_rank() == 0
    if not main:  # under torchrun rank 0 alone prints, reports and records the run
        quiet, report, history = True, None, None
    started = time.perf_counter()
    run = _begin_run("fit", history, model=model_path, data=data)
    err = render.console(stderr=True, quiet=quiet)
    settings = _settings(click.get_current_context().params)
    progress = _progress(err, verbose, reading=data)
    with progress as on_epoch:

        def on_plan(p) -> None:
            progress.planned()
            _describe_plan(err, p, data)

        result = api.fit(data, settings, model_path, on_plan=on_plan, on_epoch=on_epoch)
    _trained(err, result, model_path)
    for note in result.notes:
        err.print(f"Note: {note}")
    if report:
        _write_report(report, result, model_path, time.perf_counter() - started)
    many = " (mean over series, then each series)" if settings.layout.many else ""
    frame = result.frame()
    if history:
        run["metrics"] = {"scores": json.loads(frame.to_json(orient="records"))}
    if main:
        render.emit(frame, fmt, output, title=f"Validation metrics{many}")


def _best_epochs(t) -> str:
    """'best epoch 12', or an ensemble's 'members' best epochs 9, 12, 12, 14, 17' (each member kept at its own)."""
    if t.member_epochs:
        return f"members' best epochs {', '.join(map(str, sorted(t.member_epochs)))}"
    return f"best epoch {t.best_epoch}"


def _trained(err, result, model_path: str) -> None:
    t = result.training
    err.print(
        f"trained {t.epochs_run} epoch(s) in {t.seconds:.1f} s on {t.device} "
        f"({_network(result.artifact.meta['model'])}); {_best_epochs(t)} "
        f"(validation {LOSS_NAMES[t.config.loss]} {t.best_val_loss:.4g}); saved {model_path}"
    )
    guard = result.artifact.meta.get("guard")
    if guard:
        import numpy as np

        alpha = np.asarray(guard["alpha"])
        err.print(
            f"guard: forecast = {guard['base']} naive + alpha x (network - it), alpha {alpha.min():.2f}-{alpha.max():.2f} "
            f"(mean {alpha.mean():.2f}) over the horizon; validation MSE network {guard['val_mse']['network']:.4g}, "
            f"guarded {guard['val_mse']['guarded']:.4g} (weights from the other half), naive {guard['val_mse']['base']:.4g}"
        )
        relative = guard.get("val_relative")
        if relative:  # many series: the blend is kept or dropped on this, not on the pooled MSE above
            kept = "kept" if alpha.any() else "dropped (alpha 0: the naive forecast itself)"
            err.print(
                f"guard, every series counted alike (what decides): MSE relative to naive: network "
                f"{relative['network']:.3f}, guarded {relative['guarded']:.3f}; blend {kept}"
            )
    again = result.artifact.meta["training"].get("refit")
    if again:
        err.print(
            f"refit: a fresh network trained on all {again['windows']} windows (validation's too) for "
            f"{again['epochs']} epoch(s) in {again['seconds']:.1f} s is the one saved; the validation metrics, "
            "guard weights and intervals are those of the network before it"
        )


@cli.command(epilog=USE_EPILOG)
@click.argument("data", required=False, type=click.Path(allow_dash=True))
@model_option
@option("--horizon", type=click.IntRange(min=1), help="Steps to forecast (at most the trained horizon).")
@level_option((), "Add a prediction interval at this level in percent (repeat for several, e.g. 80 and 95).")
@option(
    "--id",
    "ids",
    multiple=True,
    type=COLUMNS,
    help="Many-series models: forecast only this series (repeatable). Default: all.",
)
@option("--strict", is_flag=True, help="Refuse (exit 65) instead of warning: stale data, filled gaps or blanks.")
@option("--future", type=click.Path(allow_dash=True),  # a folder: 66 from reading, as for DATA
        help="Models fitted with --future-features: a CSV or Parquet file (or - for CSV on stdin) of their values for the forecast steps, "
             "by time stamp (and id column), one row per step of the trained horizon.")  # fmt: skip
@history_option
@format_options
@use_output_options
def forecast(data, model_path, horizon, levels, ids, strict, future, history, fmt, output, quiet, verbose) -> None:
    """Forecast the steps after the saved data, or after the tail of DATA (a CSV or Parquet file, or - for stdin).

    DATA must have the columns the model was trained on, at the same frequency; only its
    last seq_len rows are used. DATA may hold only the rows since the training end: the
    window's earlier rows are then the training data's last, saved in the model (a note).
    csv columns: the time column, then one per target; each
    --level adds TARGET_lower_PCT and TARGET_upper_PCT: split-conformal bounds from the
    model's validation errors at that step. A many-series model (fit --id-col/--wide) prints
    its id column first (named as the --id-col it was fitted with; `series` for --wide data) and
    every series, or those named by --id; its DATA is read in the layout it was trained on.
    A series of DATA the model was not fitted on is forecast from its own last rows (a warning).

    \b
    Examples:
      rnncast forecast
      rnncast forecast latest.csv --level 80 --level 95 --format csv > next.csv
      rnncast forecast rows_since_fit.csv --format csv
      (head -1 history.csv; tail -n 500 history.csv) | rnncast forecast - --format json
      rnncast forecast sales.csv --future promotions_next_weeks.csv
    """
    from rnncast import render
    from rnncast.forecast import forecast_file  # not api: a forecast from the saved contexts imports no pandas

    run = _begin_run("forecast", history, model=model_path, data=data)
    err = render.console(stderr=True, quiet=quiet)
    result, warnings = forecast_file(
        model_path, data, horizon, levels=tuple(levels), ids=_split_commas(ids), future=future
    )
    _warn(err, warnings, strict)
    for note in result.notes:
        err.print(f"Note: {note}")
    headers = _forecast_headers(result.targets, list(result.bounds))
    shortened = [t for t in result.targets if headers[t] != t]
    title = "Forecast" + (f" of {', '.join(result.targets)}" if shortened else "")  # the full names, once
    if history:
        from rnncast.history import forecast_metrics

        run["metrics"] = forecast_metrics(result)
    render.emit(result.columns(), fmt, output, title=title, headers=headers)


def _forecast_headers(targets: list[str], levels: list[float]) -> dict[str, str]:
    """Table headers for a forecast: targets shortened in the middle, bounds as `lo 80` / `hi 80`
    (after the target's name when there are several)."""
    from rnncast.intervals import label
    from rnncast.render import short

    headers = {}
    for target in targets:
        name = short(target, 20 if len(targets) == 1 else 12)
        headers[target] = name
        prefix = f"{name} " if len(targets) > 1 else ""
        for level in levels:
            headers[f"{target}_lower_{label(level)}"] = f"{prefix}lo {label(level)}"
            headers[f"{target}_upper_{label(level)}"] = f"{prefix}hi {label(level)}"
    return headers


@cli.command(epilog=EPILOG)
@click.argument("data", type=click.Path(allow_dash=True, dir_okay=True))
@training_options
@option(
    "--folds", type=click.IntRange(min=1), default=3, show_default=True, help="Forecast origins at the end of DATA."
)
@option(
    "--step",
    type=click.IntRange(min=1),
    help="Rows between fold origins. Default: the horizon (blocks that tile the end).",
)
@level_option((80.0, 95.0), "Prediction interval level in percent whose coverage is reported (repeatable).")
@option(
    "--predictions",
    type=click.Path(allow_dash=False),
    help="Also write the forecasts themselves to this file: a row per (series,) fold and step with cutoff, "
    "actual, one column per model and the interval bounds; json for .json, else csv (or --format). "
    "'-': stdout, with the scores in -o FILE.",
)
@option("--plot", "plot_path", type=click.Path(dir_okay=False),
        help="Also draw each fold's forecast and intervals against the actual values to this .png, .svg or .pdf "
             "(the first series, when there are several).")  # fmt: skip
@history_option
@format_options
@output_options
def backtest(
    data, folds, step, levels, predictions, plot_path, history, fmt, output, quiet, verbose, **training
) -> None:
    """Rolling-origin backtest on DATA: refit and forecast at each of the last --folds origins.

    The last fold ends with DATA; the origins are --step rows apart (default: the horizon, so the
    last FOLDS x HORIZON rows are forecast block by block, oldest first). Each block gets a
    fresh network, trained as `fit` would on the rows before it only (so K folds cost K fits);
    naive and seasonal-naive forecasts are scored on the same targets. Prints MAE, RMSE,
    MAPE (sMAPE when values reach zero), MASE over all steps ('all') and per horizon step,
    and the percentage of actual values inside each --level interval (coverage_PCT).

    With --id-col or --wide one global model is refitted per fold on every series at once; the
    table gives the means over series first, then each series.
    """
    from rnncast import api, render

    _one_stdout_document("--predictions", predictions, output, "predictions", "score", "scores")
    run = _begin_run("backtest", history, data=data)
    err = render.console(stderr=True, quiet=quiet)
    settings = _settings(click.get_current_context().params)

    from rnncast import timeindex  # pandas: imported by the data reading anyway

    grid = {}  # the data's frequency, from the plan: hourly stamps show their time at midnight too

    def on_fold(i, fold) -> None:  # stamps as fit and the outputs write them: 2014-06-01, 2018-06-26T14:00:00
        again = "" if fold.refit_epochs is None else f", then {fold.refit_epochs} on every window (--refit),"
        err.print(f"fold {i + 1}/{folds}: origin {timeindex.stamp(fold.origin, grid.get('freq'))}, {fold.epochs} epoch(s)"
                  f"{again} in {fold.seconds:.1f} s, MAE {fold.mae:.4g}")  # fmt: skip

    def on_plan(p) -> None:
        _describe_plan(err, p, data, first_fold=True)
        s, apart = p.first, step or p.horizon
        grid["freq"] = s.freq
        span = p.horizon + (folds - 1) * apart
        where = "at the end of each series"
        if not p.layout.many:  # the first origin, in the data's zone if it has one
            where = f"from {timeindex.shown_stamp(s.index[len(s) - span], s.zone, s.freq)}"
        spacing = f", origins {apart} apart" if apart != p.horizon else ""
        err.print(f"{folds} fold(s) of {p.horizon} steps {where}{spacing}, each refitted on the rows before it")

    result = api.backtest_file(data, settings, folds, _given_levels(levels), on_plan, on_fold, step, plot_path)
    _warn(err, result.notes, strict=False)
    _report_coverage(err, result)
    if plot_path:
        err.print(f"drew {plot_path}")
    if history:
        from rnncast.history import score_metrics

        run["metrics"] = score_metrics(result)
    many = ", mean over series then each series" if settings.layout.many else ""
    if predictions:
        render.emit(result.predictions(), fmt, predictions, title="Backtest forecasts")
    render.emit(_scores(result, fmt, output), fmt, output, title=f"Backtest, {folds} fold(s){many}")


@cli.command(epilog=USE_EPILOG)
@click.argument("data", type=click.Path(allow_dash=True, dir_okay=True))
@model_option
@option(
    "--all-windows",
    is_flag=True,
    help="Score every complete window of DATA, training windows too (the model has seen those: "
    "optimistic scores); default: only windows whose targets come after the training end.",
)
@level_option((80.0, 95.0), "Prediction interval level in percent whose coverage is reported (repeatable).")
@history_option
@format_options
@use_output_options
def evaluate(data, model_path, all_windows, levels, history, fmt, output, quiet, verbose) -> None:
    """Score a saved model on DATA (a CSV or Parquet file, or - for stdin) once the actual values are known.

    Every stride-1 window whose targets all come after the model's training end is forecast
    from the seq_len rows before it (which may be training rows) and scored, with the naive
    baselines on the same targets: the same table as `backtest`. DATA needs the model's columns;
    it may hold only new rows or the whole history.
    """
    from rnncast import api, render

    run = _begin_run("evaluate", history, model=model_path, data=data)
    err = render.console(stderr=True, quiet=quiet)
    result = api.evaluate_file(model_path, data, levels=_given_levels(levels), every=all_windows)
    _warn(err, result.notes, strict=False)
    err.print(result.summary)
    _report_coverage(err, result)
    if history:
        from rnncast import artifact
        from rnncast.history import score_metrics, validation_mase

        run["metrics"] = score_metrics(result, validation_mase(artifact.load(model_path).meta))
    render.emit(_scores(result, fmt, output), fmt, output, title=f"Evaluation of {model_path}")


def _scores(result, fmt: str | None, output: str | None):
    """The score table; in json `step` is a number (null over all steps, which `all_steps` marks)."""
    from rnncast import render

    return result.frame(typed=render.resolve_format(fmt, output) == "json")


@cli.command(epilog=USE_EPILOG)
@model_option
@format_options
@use_output_options
def info(model_path, fmt, output, quiet, verbose) -> None:
    """Show what a model file holds: network, data, settings, training, validation metrics, versions.

    json: one object with typed values (`info --format json | jq .seq_len`); csv and table: one
    `field,value` row per item, lists comma-separated.
    """
    from rnncast import api, artifact, render

    render.emit_record(api.model_card(artifact.load(model_path).meta), fmt, output, title=str(model_path))


def quiet_peers() -> None:
    """Under torchrun, before torch loads: when one rank ends, the others' c10d logs C++ warnings with dozens of
    stack frames (the store's connection closed); rank 0 says what failed in one line. Errors still print, and a
    user's own TORCH_CPP_LOG_LEVEL stands."""
    if os.environ.get("WORLD_SIZE", "").strip() not in ("", "0", "1"):
        os.environ.setdefault("TORCH_CPP_LOG_LEVEL", "ERROR")


for _command in (cli_tools.diagnose, cli_tools.plot, cli_tools.tune, cli_tools.history_command):
    cli.add_command(_command)


def main() -> None:
    quiet_peers()
    try:
        cli(prog_name="rnncast")
    finally:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _silence_stdout()
