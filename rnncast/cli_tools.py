"""The commands that look into and around a model: diagnose, plot, tune and history.

Registered on the `rnncast` group by cli.py. No torch at import time.
"""

from __future__ import annotations

import json
import sys
import time

import click

from rnncast.choices import CELLS, LOSS_NAMES, RECORDED
from rnncast.clikit import (
    EPILOG,
    Duration,
    _begin_run,
    _describe_plan,
    _given,
    _given_levels,
    _one_stdout_document,
    _options,
    _progress,
    _settings,
    _write_report,
    format_options,
    history_option,
    layout_options,
    level_option,
    model_option,
    network_options,
    option,
    output_options,
    read_options,
    report_option,
    train_options,
    training_options,
    use_output_options,
    window_options,
)
from rnncast.errors import EX_DEGRADED


@click.command(epilog=EPILOG)
@click.argument("data", type=click.Path(allow_dash=True, dir_okay=True))
@option("--cell", "cells", type=click.Choice(CELLS), multiple=True,
        help="Cell to train and diagnose (repeat to compare: --cell rnn --cell gru). Default: rnn.")  # fmt: skip
@_options(read_options, layout_options, window_options, network_options, train_options)
@option("--model", "model_path", type=click.Path(dir_okay=False),
        help="Diagnose this saved model on the latest windows of DATA instead of training.")  # fmt: skip
@option("--plot", "plot_path", type=click.Path(dir_okay=False),
        help="Also draw the gradient-by-lag curves of every cell (log scale) to this .png, .svg or .pdf file.")  # fmt: skip
@format_options
@output_options
def diagnose(data, cells, model_path, plot_path, fmt, output, quiet, verbose, **training) -> None:
    """How far back into its window each cell looks: train it on DATA as `fit` would, then measure.

    On the validation windows: grad_norm_by_lag, the norm of the loss gradient with respect to
    the input at each lag (lag 1 = most recent), averaged over windows; effective_memory, the
    largest lag whose norm is at least 1% of the largest; the spectral radius and largest singular
    value of each layer's recurrent matrix W_hh; clip_rate and pre-clip gradient norm percentiles
    of the training; val_mse (scaled units); and a verdict. Nothing is saved.

    With --model, the saved model is diagnosed on the latest 1,000 windows of each series of DATA
    (training options and --cell do not apply).

    json: one object per cell; csv: one row per cell, grad_norm_by_lag and the per-layer
    values space-separated; table: the same without grad_norm_by_lag.

    \b
    Examples:
      rnncast diagnose sample_data/ETTh1.csv --target OT --seq-len 96 --segment 0 --cell rnn --cell gru
      rnncast diagnose sample_data/elec_equip.csv --cell rnn --cell lstm --plot lags.png
      rnncast diagnose latest.csv --model model.rnncast --format json
    """
    from rnncast import api, render

    err = render.console(stderr=True, quiet=quiet)
    ctx = click.get_current_context()
    if plot_path:
        from rnncast.plot import image_format

        image_format(plot_path)  # refuse a bad extension before training
    if model_path:
        given = [p.opts[0] for p in ctx.command.params if p.name not in _WITH_MODEL and _given(ctx, p.name)]
        if given:
            raise click.UsageError(f"{given[0]} does not apply with --model; drop one of them")
        found = [api.diagnose_model(model_path, data)]
    else:
        cells = cells or ("rnn",)
        settings = _settings(dict(ctx.params, cell=cells[0]))

        def on_fit(cell, result) -> None:
            t = result.training
            err.print(f"{cell}: trained {t.epochs_run} epoch(s) in {t.seconds:.1f} s; validation {LOSS_NAMES[t.config.loss]} "
                      f"{t.best_val_loss:.4g}; clipping engaged on {100 * t.gradients['clip_rate']:.0f}% of steps")  # fmt: skip

        found = api.diagnose_file(data, settings, cells, on_plan=lambda p: _describe_plan(err, p, data), on_fit=on_fit)
    if plot_path:
        from rnncast.diagnose import plot_lags

        plot_lags(found, plot_path)
        err.print(f"drew {plot_path}")
    _emit_diagnoses(found, fmt, output)


_WITH_MODEL = ("data", "model_path", "plot_path", "fmt", "output", "quiet", "verbose")  # the rest is for training


def _emit_diagnoses(found: list, fmt: str | None, output: str | None) -> None:
    import pandas as pd

    from rnncast import render

    fmt = fmt or (render.default_format() if output is None or output == "-" else "csv")
    if fmt == "json":
        render.emit_json([d.to_dict() for d in found], output)
        return
    rows = []
    for d in found:
        row = d.to_dict()
        for key in ("grad_norm_by_lag", "spectral_radius", "max_singular_value"):
            row[key] = " ".join(f"{v:.6g}" if fmt != "table" else f"{v:.3g}" for v in row[key])
        if fmt == "table":  # 80 columns: the verdicts go below, the rest is in csv and json
            for key in ("grad_norm_by_lag", "grad_norm_p50", "grad_norm_p90", "grad_norm_max", "verdict"):
                del row[key]
        rows.append(row)
    render.emit(pd.DataFrame(rows), fmt, output, title="Diagnosis (validation windows)", headers=_DIAGNOSIS_HEADERS,
                caption="\n".join(d.verdict for d in found))  # fmt: skip


_DIAGNOSIS_HEADERS = {"effective_memory": "memory", "spectral_radius": "radius", "max_singular_value": "sigma",
                      "clip_rate": "clipped", "grad_norm_p99": "norm p99", "val_mse": "val MSE"}  # fmt: skip


@click.command(epilog=EPILOG)
@click.argument("data", required=False, type=click.Path(allow_dash=True))
@model_option
@option("--output", "-o", type=click.Path(dir_okay=False),
        help="The picture: a .png, .svg or .pdf file, written atomically.")  # fmt: skip
@level_option((80.0, 95.0), "Draw the prediction interval at this level in percent (repeatable).")
@option("--id", "sid", help="Many-series models: the series to draw. Default: the first.")
@option("--curves", is_flag=True, help="Draw the training and validation loss per epoch instead of the forecast.")
@output_options
def plot(data, model_path, output, levels, sid, curves, quiet, verbose) -> None:
    """Draw the forecast after the training end, its intervals and the history before it.

    With DATA (a CSV, or - for stdin, in the model's columns), the history comes from DATA (from the
    model when DATA holds only later rows; DATA ending before the training end is refused) and the
    actual values after the training end are drawn against the forecast. --curves draws the
    per-epoch training and validation loss kept in the model file instead. Without -o, on a
    terminal, the first target is drawn as text; off a terminal -o is required.

    \b
    Examples:
      rnncast plot -o forecast.png
      rnncast plot newer.csv --model m.rnncast --level 50 --level 90 -o check.svg
      rnncast plot --curves -o loss.png
    """
    from rnncast import api, render

    err = render.console(stderr=True, quiet=quiet)
    if not output:
        if not sys.stdout.isatty() or curves:
            why = "--curves draws no terminal chart" if curves else "stdout is not a terminal"
            raise click.UsageError(f"{why}: name a picture file with -o FILE.png (or .svg, .pdf)")
        import shutil

        from rnncast.plot import terminal_chart

        picture, _ = api.forecast_picture(model_path, data, _given_levels(levels), sid)
        click.echo(terminal_chart(picture, width=min(shutil.get_terminal_size().columns, 160)))
        return
    if curves:
        if data is not None or sid is not None:
            raise click.UsageError("--curves draws the losses kept in the model file; drop DATA and --id")
        api.plot_curves(model_path, output)
    else:
        drawn = api.plot_file(model_path, output, data, _given_levels(levels), sid)
        if sid is None and drawn:
            from rnncast import artifact

            known = artifact.load(model_path).meta["series"]["ids"]
            if len(known) > 1:
                err.print(f"drew series {drawn!r}, the first of {len(known)}; choose another with --id")
    err.print(f"drew {output}")


@click.command(epilog=EPILOG)
@click.argument("data", type=click.Path(allow_dash=True, dir_okay=True))
@training_options
@model_option
@option(
    "--trials",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Trials to run now (a resumed study keeps its earlier ones).",
)
@option(
    "--time-budget",
    type=Duration(),
    metavar="DURATION",
    help="Start no trial after this long (90s, 10m, 1h or seconds); the first always runs. Default: no limit.",
)
@option(
    "--study-db",
    type=click.Path(dir_okay=False),
    help="Keep the study in this SQLite file; a later run with the same file and study name adds to it.",
)
@option("--study-name", help="The study's name in --study-db. Default: DATA's file name without its extension.")
@report_option
@history_option
@format_options
@output_options
def tune(
    data,
    model_path,
    trials,
    time_budget,
    study_db,
    study_name,
    report,
    history,
    fmt,
    output,
    quiet,
    verbose,
    **training,
) -> None:
    """Search network and window settings on DATA's validation windows; save the best model like `fit`.

    Optuna draws each trial's settings (TPE sampler, seeded by --seed) and stops a trial whose
    validation loss is worse than the median of the completed trials at the same epoch (median
    pruning, from epoch 3, after 5 completed trials). Searched: seq_len (multiples of the one
    from the frequency), segment (0, 4, 8, 12, 24, 48; never above seq_len), cell, hidden_size
    (8-256), layers (1-3), dropout (0-0.5, with layers > 1), lr (1e-4 to 1e-2), window_norm
    (last, season, mean, scale, none), ensemble (1-5) and highway (0 or seq_len). An option given on the command line
    or in its RNNCAST_ variable is fixed, not searched; every other `fit` option applies to all
    trials as given or defaulted; a --cell-len given keeps the searched seq_len at least, and the
    segment at most, that long.

    Trials are scored by the validation MSE (scaled units) of the model's forecast (with the guard,
    the blended one, cross-fitted). The best trial's model is
    written to --model at the end, once; an interrupted run leaves it as it was. The output
    lists every trial of the study best first: complete ones by val_mse, then pruned (val_mse:
    the best they reached, in --loss: MAE for many series by default), then failed, each in order
    of number; with one column per searched setting. stderr gets a line per trial, then the best
    settings.

    \b
    Examples:
      rnncast tune sample_data/elec_equip.csv --trials 30 --time-budget 10m
      rnncast tune sales.csv --cell gru --horizon 6 --study-db tune.db --model sales.rnncast
    """
    from rnncast import render
    from rnncast import tune as tuning

    _one_stdout_document("--report", report, output, "report", "trials", "trials")
    err = render.console(stderr=True, quiet=quiet)
    ctx = click.get_current_context()
    settings = _settings(ctx.params)
    fixed = {n for n in tuning.SEARCHABLE if n in ctx.params and _given(ctx, n)}
    run = _begin_run("tune", history, model=model_path, data=data)

    loss = []  # the loss the trials train on, as fit resolves it: a pruned trial's number is in it

    def on_plan(p, space) -> None:
        loss.append(tuning.resolved_loss(settings.train.loss, p.layout.many))
        _describe_plan(err, p, data)
        candidates = {"seq_len": space.seq_lens, "segment": space.segments}
        searched = [f"{n} ({', '.join(map(str, candidates[n]))})" if n in candidates else n for n in space.names]
        err.print(f"searching {', '.join(searched) or 'nothing'}"
                  + (f"; fixed: {', '.join(f'{n} {ctx.params[n]}' for n in sorted(fixed))}" if fixed else ""))  # fmt: skip

    done = []

    def on_trial(row, best: bool) -> None:
        done.append(row)
        err.print(
            f"trial {row.number} ({len(done)}/{trials}): {_trial_outcome(row, best, loss[-1])}; {_params(row.params)}"
        )

    started = time.perf_counter()
    on_epoch = _progress(err, verbose)._line if verbose else None
    result = tuning.tune(data, settings, fixed, trials, time_budget, study_db, model_path, on_trial,
                         study_name=study_name, on_plan=on_plan, on_epoch=on_epoch)  # fmt: skip
    states = [r.state for r in done]
    counts = ", ".join(f"{states.count(s)} {s.lower()}" for s in ("COMPLETE", "PRUNED", "FAIL") if s in states)
    err.print(f"ran {result.ran} of {trials} trial(s) ({counts}) in {time.perf_counter() - started:.1f} s"
              + (f"; the time budget ({time_budget:g} s) was spent" if result.budget_spent else "")
              + (f"; study {result.study_name!r} in {study_db} now holds {len(result.trials)}" if study_db else ""))  # fmt: skip
    b = result.best
    again = ""
    if result.refitted:
        again = f" (from an earlier run; refitted: val MSE {tuning.objective(result.fit):.4g})"
    err.print(f"best trial {b.number}: val MSE {b.val_mse:.4g}{again}; {_params(b.params)}; saved {model_path}")
    if result.fit.refit is not None:
        r = result.fit.artifact.meta["training"]["refit"]
        err.print(f"refit: the best trial's settings trained again on all {r['windows']} windows for {r['epochs']} "
                  "epoch(s); that network is the one saved")  # fmt: skip
    frame, title = result.frame(), f"Study {result.study_name!r}: {len(result.trials)} trial(s), best first"
    study = tuning.summary(result)
    if report:  # the best trial's fit, as `fit --report` writes it, and the study
        _write_report(report, result.fit, model_path, time.perf_counter() - started, {"tune": study})
    if history:
        run["metrics"] = {"tune": study, "scores": json.loads(result.fit.frame().to_json(orient="records"))}
    if render.resolve_format(fmt, output) != "table":
        render.emit(frame, fmt, output, title=title)
        return
    # 80 columns: the scores, then each trial's settings in the same order under short names (csv and json
    # keep one row per trial with the full names); in one table, 15 columns were cut to `CO…`, `0…`
    scores = ["number", "state", "val_mse", "seconds", "epochs"]
    searched = frame[["number", *(c for c in frame.columns if c not in scores)]]
    import textwrap

    from rich.console import Group

    legend = ", ".join(f"{short}: {name}" for name, short in _TRIAL_HEADERS.items() if name in searched.columns)
    settings = render.to_table(searched, "Their settings, in the same order", _TRIAL_HEADERS)
    render.emit(frame[scores], fmt, output, title=title, caption=Group(settings, textwrap.fill(legend, 80)))


_TRIAL_HEADERS = {"number": "#", "seq_len": "seq", "segment": "seg", "hidden_size": "hid", "layers": "lay",
                  "dropout": "drop", "window_norm": "norm", "ensemble": "ens", "highway": "hw", "cell_len": "clen"}  # fmt: skip


def _trial_outcome(row, best: bool, loss: str) -> str:
    if row.state == "COMPLETE":
        return f"val MSE {row.val_mse:.4g} after {row.epochs} epoch(s) in {row.seconds:.1f} s" + (
            ", best so far" if best else ""
        )
    if row.state == "PRUNED":
        return f"pruned at epoch {row.epochs} (val {LOSS_NAMES[loss]} {row.val_mse:.4g}) in {row.seconds:.1f} s"
    return f"failed in {row.seconds:.1f} s: {row.error}"


def _params(params: dict) -> str:
    """The searched settings of a trial, for a line on stderr (dropout left out where it did not act)."""
    shown = {k: v for k, v in params.items() if v is not None}
    return ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in shown.items())


HISTORY_EPILOG = """\b
Exit codes: 0 ok, 2 usage, 3 accuracy degraded (--check), 66 history missing or
unreadable, 70 internal error, 73 cannot write, 130 interrupted."""


@click.command("history", epilog=HISTORY_EPILOG)
@option("--history", "path", type=click.Path(), help="The run history (SQLite) that runs given --history write.")
@option("--model", "model_path", type=click.Path(), help="Only the runs of this model file.")
@option("--command", "command_name", type=click.Choice(RECORDED),
        help="Only the runs of this command.")  # fmt: skip
@option("--last", type=click.IntRange(min=1), help="Only the last N runs (of those selected).")
@option(
    "--check",
    is_flag=True,
    help="Compare each model's latest evaluate with its validation MASE; exit 3 when one is degraded.",
)
@option("--tolerance", type=click.FloatRange(0), default=20.0, show_default=True, metavar="PCT",
        help="--check: how much higher (percent) than the validation MASE an evaluated MASE may be.")  # fmt: skip
@format_options
@use_output_options
def history_command(path, model_path, command_name, last, check, tolerance, fmt, output, quiet, verbose) -> None:
    """List the runs recorded with --history, oldest first; or --check a model's accuracy for a cron alarm.

    Each row: id, start time (UTC), command, seconds, exit code, model path and sha256, data path,
    sha256 and rows, metrics (json) and the command line. With --check: one row per model and
    target with the validation MASE (saved by fit), the MASE of the model's latest successful
    evaluate, the change in percent and `ok`, `degraded` or `unknown`.

    \b
    Examples:
      rnncast history --history runs.db --last 10
      rnncast history --history runs.db --command evaluate --format json
      rnncast evaluate new.csv --history runs.db -q && rnncast history --history runs.db --check -q
    """
    from rnncast import history, render
    from rnncast.errors import UsageError

    if not path:
        raise UsageError("give --history PATH (or set RNNCAST_HISTORY): the file that runs given --history write")
    err = render.console(stderr=True, quiet=quiet)
    if not check:
        records = history.runs(path, model_path, command_name, last)
        shown = render.resolve_format(fmt, output)
        frame, headers, caption = history.frame(records, typed=shown == "json"), None, None
        if shown == "table":  # 80 columns: what a person scans (rich squeezed it out for the hashes and the json)
            frame, headers = history.table_frame(frame), {"exit_code": "exit"}
            caption = "hashes, rows, metrics and command lines: --format csv or json"
        title = f"{len(records)} run(s) in {render.short(str(path), 60)}"  # a table's title: csv and json have none
        render.emit(frame, fmt, output, title=title, headers=headers, caption=caption)
        return
    result = history.check(path, tolerance, model_path)
    if not result.rows:
        err.print(f"Warning: no successful evaluate run in {path}{f' for {model_path}' if model_path else ''}; "
                  "nothing to check")  # fmt: skip
    import pandas as pd

    frame = pd.DataFrame(
        result.rows, columns=["model", "target", "evaluated", "val_MASE", "MASE", "change_pct", "status"]
    )
    headers = None
    if render.resolve_format(fmt, output) == "table":  # 80 columns: the path shortened in the middle (targets are
        frame["model"] = frame["model"].map(lambda m: render.short(str(m), 24))  # by to_table), the evaluation time
        frame["evaluated"] = frame["evaluated"].map(lambda t: str(t)[:16])  # to the minute; csv and json: whole
        headers = {"change_pct": "change %"}
    render.emit(frame, fmt, output, title=f"Accuracy check ({tolerance:g}%)", headers=headers)
    for r in result.rows:
        if r["status"] == "degraded":
            err.print(f"degraded: {r['model']} {r['target']}: MASE {r['MASE']:.4g} against {r['val_MASE']:.4g} at "
                      f"validation (+{r['change_pct']:.0f}%, tolerance {tolerance:g}%)")  # fmt: skip
    if result.degraded:
        click.get_current_context().exit(EX_DEGRADED)
