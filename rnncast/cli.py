"""Click commands: parse options, call one library function, render. No torch at import time.

Every option can also be set from the environment: `--some-option` reads RNNCAST_SOME_OPTION.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import traceback
from collections.abc import Callable

import click

from rnncast import __version__
from rnncast.choices import CELLS, FILL_POLICIES, FORMATS, PRECISIONS, SCALERS, SCHEDULES, WINDOW_NORMS
from rnncast.errors import EX_DEGRADED, EX_SOFTWARE, DataError, RnncastError

INTERRUPTED = 130  # 128 + SIGINT, as shells report it


class Cli(click.Group):
    """Turns every failure into one `Error: …` line on stderr and a documented exit code."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        self.arguments = [str(a) for a in (sys.argv[1:] if args is None else args)]  # for the run history
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:  # bare `rnncast`: the help, as click shows it
            exc.show()
            sys.exit(exc.exit_code)
        except click.ClickException as exc:  # a bad option or argument: one line, like our own errors
            ctx = getattr(exc, "ctx", None)
            hint = f"; see '{ctx.command_path} --help'" if ctx is not None else ""
            message = " ".join(exc.format_message().split()).rstrip(".")
            click.echo(f"Error: {message}{hint}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:  # Ctrl-C while click itself was prompting or parsing
            click.echo("Error: interrupted", err=True)
            sys.exit(INTERRUPTED)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context):
        code = 0
        try:
            return super().invoke(ctx)
        except RnncastError as exc:
            click.echo(f"Error: {exc}", err=True)
            code = exc.exit_code
            ctx.exit(code)
        except KeyboardInterrupt:
            click.echo("Error: interrupted; no model or output file was changed", err=True)
            code = INTERRUPTED
            ctx.exit(code)
        except BrokenPipeError:  # the reader went away (`| head -1`): nothing more to say
            _silence_stdout()
            ctx.exit(0)
        except click.exceptions.Exit as exc:
            code = exc.exit_code
            raise
        except click.ClickException as exc:
            code = exc.exit_code
            raise
        except click.Abort:
            code = INTERRUPTED
            raise
        except Exception as exc:  # a bug of ours: say so; the traceback only on request
            if ctx.find_root().meta.get("rnncast.verbose"):
                traceback.print_exc()
            click.echo(
                f"Error: internal error ({type(exc).__name__}: {exc}); rerun with --verbose and report it",
                err=True,
            )
            code = EX_SOFTWARE
            ctx.exit(code)
        finally:
            _record_run(ctx, code)


def _record_run(ctx: click.Context, code: int) -> None:
    """Append the run begun by `_begin_run` to its --history; a history that cannot be written costs only a warning."""
    run = ctx.meta.pop("rnncast.run", None)
    if run is None:
        return
    from rnncast import history

    try:
        record = _run_record(run, code)
        history.append(run["history"], record)
    except Exception as exc:  # never cost the user the run itself: its output is already written
        path = run["history"]
        message = str(exc) if isinstance(exc, RnncastError) else f"cannot write the run history {path} ({exc})"
        click.echo(f"Warning: {message}; this run is not in it", err=True)


def _run_record(run: dict, code: int):
    from datetime import datetime, timezone

    from rnncast import history

    facts = run["facts"]
    model, data = facts.get("model"), facts.get("data")
    model_sha, _ = history.file_facts(model)
    data_sha, rows = history.file_facts(data)
    return history.Run(
        started=datetime.fromtimestamp(run["wall"], timezone.utc).isoformat(timespec="seconds"),
        command=run["command"], arguments=run["arguments"],
        seconds=round(time.perf_counter() - run["clock"], 3), exit_code=code,
        model=history.model_key(model) if model else None, model_sha256=model_sha,
        data=None if data is None else str(data), data_sha256=data_sha, data_rows=rows,
        metrics=facts.get("metrics", {}),
    )  # fmt: skip


def _begin_run(command: str, history: str | None, **facts) -> dict:
    """Start timing a run for --history; the command adds facts (metrics) to the dict returned as it goes."""
    ctx = click.get_current_context()
    if not history:
        return {}
    ctx.find_root().meta["rnncast.run"] = {
        "history": history, "command": command, "arguments": getattr(ctx.find_root().command, "arguments", []),
        "wall": time.time(), "clock": time.perf_counter(), "facts": facts,
    }  # fmt: skip
    return facts


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the flush at exit cannot fail on a closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


# ------------------------------------------------------------------ shared options


def option(*decls: str, **kw) -> Callable:
    """click.option whose value can also come from RNNCAST_<LONG_NAME>, shown in --help."""
    long = next(d for d in decls if d.startswith("--"))
    kw.setdefault("envvar", "RNNCAST_" + long[2:].upper().replace("-", "_"))
    kw.setdefault("show_envvar", True)
    return click.option(*decls, **kw)


def _options(*decorators: Callable) -> Callable:
    def apply(f: Callable) -> Callable:
        for d in reversed(decorators):
            f = d(f)
        return f

    return apply


def _remember_verbose(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    ctx.find_root().meta["rnncast.verbose"] = value
    return value


output_options = _options(
    option("--quiet", "-q", is_flag=True, help="Print nothing on stderr but errors."),
    option("--verbose", "-v", is_flag=True, callback=_remember_verbose,
           help="More detail on stderr (each epoch); tracebacks for internal errors."),
)  # fmt: skip

# The same for commands that use a model without training one.
use_output_options = _options(
    option("--quiet", "-q", is_flag=True, help="Print nothing on stderr but errors."),
    option("--verbose", "-v", is_flag=True, callback=_remember_verbose, help="Tracebacks for internal errors."),
)  # fmt: skip

format_options = _options(
    option("--format", "fmt", type=click.Choice(FORMATS), help="Output format. Default: table on a terminal, else csv."),
    option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True),
           help="Write the results to this file (atomically) instead of stdout."),
)  # fmt: skip

history_option = option(
    "--history", type=click.Path(),
    help="Append a record of this run (time, arguments, duration, exit code, model and data hashes, metrics) "
         "to this SQLite file, created if missing. A history that cannot be written only warns.",
)  # fmt: skip

model_option = option(
    "--model", "model_path", default="model.rnncast", show_default=True,
    type=click.Path(), help="Model file.",  # a folder is refused where the file is opened (exit 66) or written (73)
)  # fmt: skip

read_options = _options(
    option("--time-col", help="Time column. Default: the one column of dates (or year + quarter); 'none' for row numbers."),
    option("--target", "targets", multiple=True, help="Column to forecast (repeat for several). Default: the only numeric column."),
    option("--features", "features", multiple=True, help="Extra input column(s), comma-separated or repeated."),
    option("--fill", type=click.Choice(FILL_POLICIES), default="interpolate", show_default=True,
           help="Blank values: interpolate, carry forward, drop rows, or fail."),
    option("--strict", is_flag=True,
           help="Refuse missing periods and irregular time stamps instead of filling them on the inferred grid."),
)  # fmt: skip

window_options = _options(
    option("--seq-len", type=click.IntRange(min=1), help="Past steps per window. Default: from the frequency (hourly 96, monthly 36, ...)."),
    option("--horizon", type=click.IntRange(min=1), help="Steps to forecast. Default: from the frequency (hourly 24, monthly 12, ...)."),
    option("--val-frac", type=float, default=0.2, show_default=True, help="Share of the latest windows held out for validation."),
    option("--scaler", type=click.Choice(SCALERS), default="standard", show_default=True, help="scikit-learn scaler, fitted on training rows only."),
    option("--season", type=click.IntRange(min=1), help="Seasonal period for the baseline and MASE. Default: from the frequency."),
)  # fmt: skip

cell_option = option("--cell", type=click.Choice(CELLS), default="rnn", show_default=True,
                     help="Recurrent cell: rnn (Elman, tanh), lstm or gru.")  # fmt: skip

network_options = _options(
    option("--hidden-size", type=click.IntRange(min=1), default=64, show_default=True, help="Width of the hidden state."),
    option("--layers", type=click.IntRange(min=1), default=1, show_default=True, help="Stacked recurrent layers."),
    option("--dropout", type=click.FloatRange(0, 1, max_open=True), default=0.0, show_default=True, help="Dropout between stacked layers."),
    option("--window-norm", type=click.Choice(WINDOW_NORMS), default="auto", show_default=True,
           help="What the network corrects: last (subtract each window's last value, add it back), season "
                "(forecast = the window's last cycle + a correction), mean, scale (subtract the window's mean, divide "
                "by its standard deviation), none; auto picks season when repeating the last cycle beats repeating "
                "the last value by over 10% on the training windows, else last."),
    option("--segment", type=click.IntRange(min=0),
           help="Points per recurrent step: the window is cut into segments of this many points, each embedded by "
                "a Linear layer, and the cell steps over segments (SegRNN); 0: one point per step. "
                "Default: seq_len // 8 (about 8 steps), 0 for windows under 16."),
    option("--ensemble", type=click.IntRange(min=1),
           help="Member networks trained together from different initial weights; the forecast is their median. "
                "Default: 5 up to 5,000 training windows, else 1."),
    option("--non-negative/--allow-negative", "non_negative", default=None,
           help="Clip forecasts and interval bounds at zero (count data). Default: on when every value of the "
                "targets in the data is 0 or more."),
    option("--guard/--no-guard", default=True, show_default=True,
           help="Blend the forecast with the better naive forecast, one weight in [0, 1] per step fitted on the "
                "validation windows (0: the naive forecast itself)."),
)  # fmt: skip

model_options = _options(cell_option, network_options)

layout_options = _options(
    option("--id-col", help="Long format: the column naming each row's series; one global model for all of them."),
    option("--wide", is_flag=True, help="Wide format: every numeric column (or each --target) is one series."),
    option("--id-embedding", type=click.IntRange(min=0),
           help="Many series: width of a learned series embedding added to the inputs (try 4). Default: 0, off."),
    option("--calendar", is_flag=True, help="Add hour of day, day of week and month (those that vary) as sin/cos inputs."),
)  # fmt: skip

train_options = _options(
    option("--epochs", type=click.IntRange(min=1),
           help="Most epochs; early stopping usually ends sooner. Default: 100, or enough for 2,000 steps on small data."),
    option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True, help="Windows per step."),
    option("--lr", type=click.FloatRange(0, min_open=True), default=1e-3, show_default=True, help="Adam learning rate."),
    option("--clip", type=click.FloatRange(0), default=1.0, show_default=True, help="Max gradient norm; 0 disables."),
    option("--patience", type=click.IntRange(min=1),
           help="Epochs without validation improvement before stopping. Default: 10, or enough for 200 steps on small data."),
    option("--seed", type=int, default=0, show_default=True, help="Random seed; CPU reruns with the same seed are identical."),
    option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps."),
    option("--threads", type=click.IntRange(min=1), help="CPU threads for torch. Default: $OMP_NUM_THREADS, else 1 (fastest for small RNNs, measured)."),
    option("--precision", type=click.Choice(PRECISIONS), default="fp32", show_default=True,
           help="bf16: mixed precision (autocast) on a CUDA GPU."),
    option("--weight-decay", type=click.FloatRange(0), default=0.0, show_default=True,
           help="AdamW's decoupled weight decay; 0: plain Adam."),
    option("--schedule", type=click.Choice(SCHEDULES), default="none", show_default=True,
           help="Learning rate: none (constant), plateau (halve when validation stalls), onecycle (over --epochs)."),
)  # fmt: skip


# Everything that decides what fit trains; backtest refits with the same options.
training_options = _options(read_options, layout_options, window_options, model_options, train_options)


def _split_commas(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.strip() for item in values for v in item.split(",") if v.strip())


def _warn(err, warnings: list[str], strict: bool) -> None:
    """Print warnings on stderr, or under --strict refuse the data (exit 65)."""
    if strict and warnings:
        raise DataError(f"{warnings[0]} (--strict); fix the data or drop --strict")
    for w in warnings:
        err.print(f"Warning: {w}")


# ------------------------------------------------------------------ commands

EPILOG = """\b
Exit codes: 0 ok, 1 training failed, 2 usage, 65 bad data, 66 input missing,
70 internal error, 73 cannot write, 75 model locked by another run, 130 interrupted."""

# Commands that use a saved model: they neither train nor lock it.
USE_EPILOG = """\b
Exit codes: 0 ok, 2 usage, 65 bad data, 66 input missing, 70 internal error,
73 cannot write, 130 interrupted."""


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
@option("--report", type=click.Path(dir_okay=False), help="Write a JSON run report (metrics, timings, device, epochs).")
@history_option
@format_options
@output_options
def fit(data, model_path, report, history, fmt, output, quiet, verbose, **training) -> None:
    """Train on DATA (a CSV, or - for stdin), save the model, print validation metrics.

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

    started = time.perf_counter()
    run = _begin_run("fit", history, model=model_path, data=data)
    err = render.console(stderr=True, quiet=quiet)
    settings = _settings(click.get_current_context().params)
    with _progress(err, verbose) as on_epoch:
        result = api.fit(data, settings, model_path, on_plan=lambda p: _describe_plan(err, p, data), on_epoch=on_epoch)
    _trained(err, result, model_path)
    for note in result.notes:
        err.print(f"Note: {note}")
    if report:
        _write_report(report, result, model_path, time.perf_counter() - started)
    many = " (mean over series, then each series)" if settings.layout.many else ""
    frame = result.frame()
    if history:
        run["metrics"] = {"scores": json.loads(frame.to_json(orient="records"))}
    render.emit(frame, fmt, output, title=f"Validation metrics{many}")


def _trained(err, result, model_path: str) -> None:
    t = result.training
    err.print(
        f"trained {t.epochs_run} epoch(s) in {t.seconds:.1f} s on {t.device} "
        f"({_network(result.artifact.meta['model'])}); best epoch {t.best_epoch} "
        f"(validation MSE {t.best_val_loss:.4g}); saved {model_path}"
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


def _network(m: dict) -> str:
    """What was trained, in a few words: `5 rnn members, 4-point segments, window norm season`."""
    members = f"{m['ensemble']} {m['cell']} members" if m["ensemble"] > 1 else f"one {m['cell']}"
    steps = f"{m['segment']}-point segments" if m["segment"] else "one point per step"
    return f"{members}, {steps}, window norm {m['window_norm']}"


def _settings(params: dict):
    """The library's settings from the options fit and backtest share, validated once, before any data is read."""
    from rnncast import settings as st
    from rnncast.train import TrainConfig

    p = params
    settings = st.Settings(
        read=st.ReadOptions(p["time_col"], tuple(p["targets"]), _split_commas(p["features"]), p["fill"], p["strict"]),
        layout=st.Layout(p["id_col"], p["wide"]),
        windows=st.WindowConfig(p["seq_len"], p["horizon"], p["val_frac"], p["scaler"], p["season"], p["calendar"]),
        network=st.NetworkOptions(p["cell"], p["hidden_size"], p["layers"], p["dropout"], p["window_norm"],
                                  p["id_embedding"] or 0, p["segment"], p["ensemble"], p["guard"], p["non_negative"]),
        train=TrainConfig(p["epochs"], p["batch_size"], p["lr"], p["clip"], p["patience"], p["seed"], p["device"],
                          p["threads"], p["precision"], p["weight_decay"], p["schedule"]),
    )  # fmt: skip
    st.validate(settings)
    return settings


def _describe_plan(err, p, source: str, first_fold: bool = False) -> None:
    s, many = p.first, p.layout.many
    _warn(err, p.notes, strict=False)
    if many:
        lengths = [len(m.series) for m in p.members]
        what = f"{len(p.members)} series of {min(lengths)}-{max(lengths)} rows"
    else:
        what = f"{len(s)} rows, " + (f"{s.index[0]} → {s.index[-1]}" if s.time_col else "integer steps")
    err.print(f"{source}: {what}, frequency {s.freq or 'none'}; targets {', '.join(s.targets)}"
              + (f"; features {', '.join(s.features)}" if s.features else "")
              + (f"; calendar {', '.join(p.calendar)}" if p.calendar else ""))  # fmt: skip
    chosen = lambda name: " (from data)" if name in p.chosen else ""  # noqa: E731
    err.print(
        f"seq_len {p.seq_len}{chosen('seq_len')}, horizon {p.horizon}{chosen('horizon')}, "
        f"season {p.season}{chosen('season')}; {p.n_train} training / {p.n_val} validation windows"
        + (", none across series" if many else "")
        + (" in the first fold" if first_fold else "")
    )


def _write_report(path: str, result, model_path: str, seconds: float) -> None:
    from pathlib import Path

    from rnncast import api
    from rnncast.atomic import write_atomic

    report = api.run_report(result, model_path, seconds)
    write_atomic(Path(path), (json.dumps(report, indent=2) + "\n").encode())


class _progress:
    """Per-epoch feedback on stderr: a progress bar on a terminal, a line per epoch with --verbose."""

    def __init__(self, err, verbose: bool):
        self.err, self.verbose, self.bar = err, verbose, None

    def __enter__(self):
        if self.err.quiet:
            return None
        if not self.err.is_terminal:
            return self._line if self.verbose else None
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            TextColumn("epoch {task.completed}/{task.total}"),
            BarColumn(),
            TextColumn("train {task.fields[train]}  val {task.fields[val]}"),
            TimeElapsedColumn(),
            console=self.err,
            transient=True,
        )
        self.bar.start()
        task = self.bar.add_task("fit", total=None, train="-", val="-")  # the total comes with the first epoch

        def on_epoch(log) -> None:
            self.bar.update(
                task, completed=log.epoch, total=log.epochs, train=f"{log.train_loss:.4f}", val=f"{log.val_loss:.4f}"
            )
            if self.verbose:
                self._line(log)

        return on_epoch

    def _line(self, log) -> None:
        mark = " *" if log.best else ""
        self.err.print(
            f"epoch {log.epoch}/{log.epochs}: train MSE {log.train_loss:.5f}, val MSE {log.val_loss:.5f}{mark}"
        )

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()


def _given_levels(levels: tuple[float, ...]) -> tuple[float, ...] | None:
    """The levels the user asked for (on the command line or in RNNCAST_LEVEL); None: the defaults, never a refusal."""
    from click.core import ParameterSource

    source = click.get_current_context().get_parameter_source("levels")
    return None if source in (ParameterSource.DEFAULT, None) else tuple(levels)


def level_option(default: tuple[float, ...], help: str) -> Callable:
    return option(
        "--level",
        "levels",
        type=float,
        multiple=True,
        default=default,
        show_default=bool(default),
        metavar="PCT",
        help=help,
    )


@cli.command(epilog=USE_EPILOG)
@click.argument("data", required=False, type=click.Path(allow_dash=True))
@model_option
@option("--horizon", type=click.IntRange(min=1), help="Steps to forecast (at most the trained horizon).")
@level_option((), "Add a prediction interval at this level in percent (repeat for several, e.g. 80 and 95).")
@option("--id", "ids", multiple=True, help="Many-series models: forecast only this series (repeatable). Default: all.")
@option("--strict", is_flag=True, help="Refuse (exit 65) instead of warning: stale data, filled gaps or blanks.")
@history_option
@format_options
@use_output_options
def forecast(data, model_path, horizon, levels, ids, strict, history, fmt, output, quiet, verbose) -> None:
    """Forecast the steps after the saved data, or after the tail of DATA (a CSV, or - for stdin).

    DATA must have the columns the model was trained on, at the same frequency; only its
    last seq_len rows are used. csv columns: the time column, then one per target; each
    --level adds TARGET_lower_PCT and TARGET_upper_PCT: split-conformal bounds from the
    model's validation errors at that step. A many-series model (fit --id-col/--wide) prints
    its id column first (named as the --id-col it was fitted with; `series` for --wide data) and
    every series, or those named by --id; its DATA is read in the layout it was trained on.

    \b
    Examples:
      rnncast forecast
      rnncast forecast latest.csv --level 80 --level 95 --format csv > next.csv
      (head -1 history.csv; tail -n 200 history.csv) | rnncast forecast - --format json
    """
    from rnncast import api, render

    run = _begin_run("forecast", history, model=model_path, data=data)
    err = render.console(stderr=True, quiet=quiet)
    result, warnings = api.forecast_file(model_path, data, horizon, levels=tuple(levels), ids=_split_commas(ids))
    _warn(err, warnings, strict)
    headers = _forecast_headers(result.targets, list(result.bounds))
    shortened = [t for t in result.targets if headers[t] != t]
    title = "Forecast" + (f" of {', '.join(result.targets)}" if shortened else "")  # the full names, once
    if history:
        from rnncast.history import forecast_metrics

        run["metrics"] = forecast_metrics(result)
    render.emit(result.frame(), fmt, output, title=title, headers=headers)


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
    "actual, one column per model and the interval bounds; json for .json, else csv (or --format).",
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

    run = _begin_run("backtest", history, data=data)
    err = render.console(stderr=True, quiet=quiet)
    settings = _settings(click.get_current_context().params)

    def on_fold(i, fold) -> None:
        err.print(f"fold {i + 1}/{folds}: origin {fold.origin}, {fold.epochs} epoch(s) in {fold.seconds:.1f} s, "
                  f"MAE {fold.mae:.4g}")  # fmt: skip

    def on_plan(p) -> None:
        _describe_plan(err, p, data, first_fold=True)
        s, apart = p.first, step or p.horizon
        span = p.horizon + (folds - 1) * apart
        where = "at the end of each series" if p.layout.many else f"from {s.index[len(s) - span]}"
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
    """Score a saved model on DATA (a CSV, or - for stdin) once the actual values are known.

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


@cli.command(epilog=EPILOG)
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
            err.print(f"{cell}: trained {t.epochs_run} epoch(s) in {t.seconds:.1f} s; validation MSE "
                      f"{t.best_val_loss:.4g}; clipping engaged on {100 * t.gradients['clip_rate']:.0f}% of steps")  # fmt: skip

        found = api.diagnose_file(data, settings, cells, on_plan=lambda p: _describe_plan(err, p, data), on_fit=on_fit)
    if plot_path:
        from rnncast.diagnose import plot_lags

        plot_lags(found, plot_path)
        err.print(f"drew {plot_path}")
    _emit_diagnoses(found, fmt, output)


_WITH_MODEL = ("data", "model_path", "plot_path", "fmt", "output", "quiet", "verbose")  # the rest is for training


def _given(ctx: click.Context, name: str) -> bool:
    from click.core import ParameterSource

    return ctx.get_parameter_source(name) in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


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


@cli.command(epilog=EPILOG)
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

    With DATA (a CSV, or - for stdin, in the model's columns), the history comes from DATA and the
    actual values after the training end are drawn against the forecast. --curves draws the
    per-epoch training and validation MSE kept in the model file instead. Without -o, on a
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

        picture, _ = api.forecast_picture(model_path, data, tuple(levels), sid)
        click.echo(terminal_chart(picture, width=min(shutil.get_terminal_size().columns, 160)))
        return
    if curves:
        if data is not None or sid is not None:
            raise click.UsageError("--curves draws the losses kept in the model file; drop DATA and --id")
        api.plot_curves(model_path, output)
    else:
        drawn = api.plot_file(model_path, output, data, tuple(levels), sid)
        if sid is None and drawn:
            from rnncast import artifact

            known = artifact.load(model_path).meta["series"]["ids"]
            if len(known) > 1:
                err.print(f"drew series {drawn!r}, the first of {len(known)}; choose another with --id")
    err.print(f"drew {output}")


class Duration(click.ParamType):
    """A length of time: 90s, 10m, 1h, or plain seconds; converted to seconds."""

    name = "duration"
    UNITS = {"": 1, "s": 1, "m": 60, "h": 3600}

    def convert(self, value, param, ctx) -> float:
        if isinstance(value, (int, float)):
            seconds = float(value)
        else:
            match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([smh]?)\s*", str(value).lower())
            seconds = float(match[1]) * self.UNITS[match[2]] if match else 0.0
        if not seconds > 0:
            self.fail(f"{value!r} is not a positive duration; use e.g. 90s, 10m, 1h or 300 (seconds)", param, ctx)
        return seconds


@cli.command(epilog=EPILOG)
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
@format_options
@output_options
def tune(data, model_path, trials, time_budget, study_db, study_name, fmt, output, quiet, verbose, **training) -> None:
    """Search network and window settings on DATA's validation windows; save the best model like `fit`.

    Optuna draws each trial's settings (TPE sampler, seeded by --seed) and stops a trial whose
    validation loss is worse than the median of the completed trials at the same epoch (median
    pruning, from epoch 3, after 5 completed trials). Searched: seq_len (multiples of the one
    from the frequency), segment (0, 4, 8, 12, 24, 48; never above seq_len), cell, hidden_size
    (8-256), layers (1-3), dropout (0-0.5, with layers > 1), lr (1e-4 to 1e-2), window_norm
    (last, season, mean, scale, none) and ensemble (1-5). An option given on the command line
    or in its RNNCAST_ variable is fixed, not searched; every other `fit` option applies to all
    trials as given or defaulted.

    Trials are scored by their best validation MSE (scaled units). The best trial's model is
    written to --model at the end, once; an interrupted run leaves it as it was. The output
    lists every trial of the study best first: complete ones by val_mse, then pruned (val_mse:
    the best they reached), then failed, each in order of number; with one column per searched
    setting. stderr gets a line per trial, then the best settings.

    \b
    Examples:
      rnncast tune sample_data/elec_equip.csv --trials 30 --time-budget 10m
      rnncast tune sales.csv --cell gru --horizon 6 --study-db tune.db --model sales.rnncast
    """
    from click.core import ParameterSource

    from rnncast import render
    from rnncast import tune as tuning

    err = render.console(stderr=True, quiet=quiet)
    ctx = click.get_current_context()
    settings = _settings(ctx.params)
    given = (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
    fixed = {n for n in tuning.SEARCHABLE if n in ctx.params and ctx.get_parameter_source(n) in given}

    def on_plan(p, space) -> None:
        _describe_plan(err, p, data)
        candidates = {"seq_len": space.seq_lens, "segment": space.segments}
        searched = [f"{n} ({', '.join(map(str, candidates[n]))})" if n in candidates else n for n in space.names]
        err.print(f"searching {', '.join(searched) or 'nothing'}"
                  + (f"; fixed: {', '.join(f'{n} {ctx.params[n]}' for n in sorted(fixed))}" if fixed else ""))  # fmt: skip

    done = []

    def on_trial(row, best: bool) -> None:
        done.append(row)
        err.print(f"trial {row.number} ({len(done)}/{trials}): {_trial_outcome(row, best)}; {_params(row.params)}")

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
        again = f" (from an earlier run; refitted: val MSE {result.fit.training.best_val_loss:.4g})"
    err.print(f"best trial {b.number}: val MSE {b.val_mse:.4g}{again}; {_params(b.params)}; saved {model_path}")
    render.emit(
        result.frame(), fmt, output, title=f"Study {result.study_name!r}: {len(result.trials)} trial(s), best first"
    )


def _trial_outcome(row, best: bool) -> str:
    if row.state == "COMPLETE":
        return f"val MSE {row.val_mse:.4g} after {row.epochs} epoch(s) in {row.seconds:.1f} s" + (
            ", best so far" if best else ""
        )
    if row.state == "PRUNED":
        return f"pruned at epoch {row.epochs} (val MSE {row.val_mse:.4g}) in {row.seconds:.1f} s"
    return f"failed in {row.seconds:.1f} s: {row.error}"


def _params(params: dict) -> str:
    """The searched settings of a trial, for a line on stderr (dropout left out where it did not act)."""
    shown = {k: v for k, v in params.items() if v is not None}
    return ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in shown.items())


def _report_coverage(err, result) -> None:
    for level in result.bounds:
        err.print(f"{level:g}% interval: {result.coverage(level):.1f}% of {result.actual.size} actual values inside")


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


HISTORY_EPILOG = """\b
Exit codes: 0 ok, 2 usage, 3 accuracy degraded (--check), 66 history missing or
unreadable, 70 internal error, 73 cannot write, 130 interrupted."""


@cli.command("history", epilog=HISTORY_EPILOG)
@option("--history", "path", type=click.Path(), help="The run history (SQLite) that runs given --history write.")
@option("--model", "model_path", type=click.Path(), help="Only the runs of this model file.")
@option("--command", "command_name", type=click.Choice(("fit", "forecast", "evaluate", "backtest")),
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
        render.emit(history.frame(records, typed=render.resolve_format(fmt, output) == "json"), fmt, output,
                    title=f"{len(records)} run(s) in {path}")  # fmt: skip
        return
    result = history.check(path, tolerance, model_path)
    if not result.rows:
        err.print(f"Warning: no successful evaluate run in {path}{f' for {model_path}' if model_path else ''}; "
                  "nothing to check")  # fmt: skip
    import pandas as pd

    render.emit(pd.DataFrame(result.rows, columns=["model", "target", "evaluated", "val_MASE", "MASE", "change_pct",
                                                   "status"]), fmt, output, title=f"Accuracy check ({tolerance:g}%)")  # fmt: skip
    for r in result.rows:
        if r["status"] == "degraded":
            err.print(f"degraded: {r['model']} {r['target']}: MASE {r['MASE']:.4g} against {r['val_MASE']:.4g} at "
                      f"validation (+{r['change_pct']:.0f}%, tolerance {tolerance:g}%)")  # fmt: skip
    if result.degraded:
        click.get_current_context().exit(EX_DEGRADED)


def main() -> None:
    try:
        cli(prog_name="rnncast")
    finally:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _silence_stdout()
