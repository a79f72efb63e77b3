"""What every command shares: the error-to-exit-code group, the option stacks, settings from options,
progress and plan lines on stderr, and the run-history record. No torch at import time.

Every option can also be set from the environment: `--some-option` reads RNNCAST_SOME_OPTION.
"""

from __future__ import annotations

import os
import re
import sys
import time
import traceback
from collections.abc import Callable

import click

from rnncast.choices import CELLS, FILL_POLICIES, FORMATS, LOSS_NAMES, LOSSES, SCALERS, SCHEDULES, WINDOW_NORMS
from rnncast.distributed import env_rank, from_env, joined, prints_error
from rnncast.errors import EX_SOFTWARE, DataError, RnncastError, UsageError

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
            if env_rank() == 0:  # under torchrun every rank parses the same arguments: one says it
                click.echo(f"Error: {message}{hint}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:  # Ctrl-C while click itself was prompting or parsing
            click.echo("Error: interrupted", err=True)
            sys.exit(INTERRUPTED)
        code = code if isinstance(code, int) else 0
        if joined():
            # A run across processes, done (the model written, or the Error line out): skip the interpreter's
            # teardown, where gloo's threads can abort (SIGABRT, seen under load, more often when a peer is
            # gone) and replace the run's exit code with -6.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        sys.exit(code)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name, cmd, rest = super().resolve_command(ctx, args)
        if cmd is not None and cmd.name != "fit" and from_env().active:
            # only fit trains across processes; any other command would run once per rank and print N times
            refused = UsageError(
                f"rnncast {cmd.name} runs as one process; only fit trains across processes: run it without torchrun"
            )
            refused.rnncast_silent = env_rank() != 0  # every rank refuses alike: rank 0 says it
            raise refused
        return name, cmd, rest

    def invoke(self, ctx: click.Context):
        code = 0
        try:
            return super().invoke(ctx)
        except RnncastError as exc:
            if prints_error(exc):
                click.echo(f"Error: {exc}", err=True)
            code = exc.exit_code
            ctx.exit(code)
        except KeyboardInterrupt as exc:
            if prints_error(exc):
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
            if prints_error(exc):
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
    model_sha, _ = history.file_facts(model, rows=False)  # a forecast from it imports no pandas
    data_sha, rows = history.file_facts(data)
    return history.Run(
        started=datetime.fromtimestamp(run["wall"], timezone.utc).isoformat(timespec="seconds"),
        command=run["command"], arguments=run["arguments"],
        seconds=round(time.perf_counter() - run["clock"], 3), exit_code=code,
        model=history.model_key(model) if model else None, model_sha256=model_sha,
        data=None if data is None else str(data), data_sha256=data_sha, data_rows=rows,
        metrics=facts.get("metrics", {}),
    )  # fmt: skip


def _one_stdout_document(option: str, value: str | None, output: str | None, what: str, table: str, tables: str):
    """Refuse `option -` (`what` to stdout) while the command's table goes there too: two documents in one
    stream parse as neither. With -o FILE taking the table, stdout holds `what` alone."""
    if value == "-" and output in (None, "-"):
        raise click.UsageError(
            f"{option} - and the {table} table would both go to stdout; write the {tables} to a file with -o FILE "
            f"(or the {what} with {option} FILE)"
        )


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


class EnvOption(click.Option):
    """An option whose bad value names its environment variable only when the value came from there:
    `Invalid value for '--epochs'` from the command line, `... (env var: 'RNNCAST_EPOCHS')` from the
    environment (click names the variable either way, pointing a user at a variable they never set)."""

    def get_error_hint(self, ctx: click.Context | None) -> str:
        from click.core import ParameterSource

        if ctx is not None and ctx.get_parameter_source(self.name) is ParameterSource.ENVIRONMENT:
            return super().get_error_hint(ctx)
        return click.Parameter.get_error_hint(self, ctx)


class ColumnList(click.ParamType):
    """Names, comma-separated (`_split_commas`). From the environment the whole value is one such list, as on
    the command line: click's default splits a repeatable option's variable on whitespace ('max temp')."""

    name = "text"

    def convert(self, value, param, ctx):
        return value if isinstance(value, str) else str(value)

    def split_envvar_value(self, rv: str) -> list[str]:
        return [rv] if rv else []


COLUMNS = ColumnList()


def option(*decls: str, **kw) -> Callable:
    """click.option whose value can also come from RNNCAST_<LONG_NAME>, shown in --help; an on/off pair
    ("--refit/--no-refit") is named by its first name: RNNCAST_REFIT=1 or 0."""
    long = next(d for d in decls if d.startswith("--")).split("/")[0]
    kw.setdefault("envvar", "RNNCAST_" + long[2:].upper().replace("-", "_"))
    kw.setdefault("show_envvar", True)
    kw.setdefault("cls", EnvOption)
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


report_option = option(
    "--report", type=click.Path(dir_okay=False, allow_dash=True),
    help="Write a JSON run report (metrics, timings, device, epochs) to this file; '-': stdout, with the "
         "metrics table in -o FILE.",
)  # fmt: skip


def _write_report(path: str, result, model_path: str, seconds: float, extra: dict | None = None) -> None:
    """`--report`: the fit's run report (`api.run_report`), with `extra` keys (tune's study), atomically."""
    import json
    from pathlib import Path

    from rnncast import api
    from rnncast.atomic import write_atomic

    report = json.dumps({**api.run_report(result, model_path, seconds), **(extra or {})}, indent=2) + "\n"
    if path == "-":
        click.echo(report, nl=False)
    else:
        write_atomic(Path(path), report.encode())


model_option = option(
    "--model", "model_path", default="model.rnncast", show_default=True,
    type=click.Path(), help="Model file.",  # a folder is refused where the file is opened (exit 66) or written (73)
)  # fmt: skip


read_options = _options(
    option("--time-col", help="Time column. Default: the one column of dates (or year + quarter); 'none' for row numbers."),
    option("--target", "targets", multiple=True, type=COLUMNS, help="Column(s) to forecast, comma-separated or repeated. Default: the only numeric column."),
    option("--features", "features", multiple=True, type=COLUMNS, help='Extra input column(s), comma-separated or repeated; a name holding a comma in double quotes: \'"temp, °C",promo\'.'),
    option("--future-features", "future_features", multiple=True, type=COLUMNS,
           help="Input column(s) whose values are known for the forecast steps too (promotions, prices, holidays): "
                "the network reads them for those steps; forecast then needs --future FILE."),
    option("--fill", type=click.Choice(FILL_POLICIES), default="interpolate", show_default=True,
           help="Blank values and missing periods: interpolate, carry forward, zero (nothing happened), drop rows, or fail."),
    option("--strict", is_flag=True,
           help="Refuse missing periods and irregular time stamps instead of filling them on the inferred grid."),
    option("--date-format", metavar="FMT",
           help="How the time column writes dates, in strftime codes (%d.%m.%Y, %m/%d/%Y %H:%M). Default: detected; "
                "dates that read both day first and month first are refused with this hint."),
    option("--freq",
           help="The grid the time stamps are on (pandas: D, B, C, W-SUN, MS, h, 15min). Default: inferred. Missing "
                "periods are those of this grid; a stamp off it is refused. Forecasts continue on it."),
    option("--weekmask",
           help="With --freq C: the open days of the week, e.g. 'Mon Tue Wed Thu Fri Sat' (a shop closed on Sundays)."),
    option("--tz", metavar="ZONE",
           help="Time zone of naive local time stamps (Europe/Berlin): hours at a daylight-saving change are placed "
                "by their order; kept in UTC inside, output stamps carry their offset. Also the zone output is shown "
                "in for stamps written with an offset. Default: naive stamps as they are; zoned ones at the file's offset."),
)  # fmt: skip


window_options = _options(
    option("--seq-len", type=click.IntRange(min=1),
           help="Past steps per window. Default: from the frequency (hourly 96, monthly 36, ...); one long hourly "
                "series forecast up to 96 steps ahead: 336 (see --cell-len)."),
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
    option("--highway", type=click.IntRange(min=0), metavar="P",
           help="Autoregressive highway (LSTNet): a linear map from the last P window-normalised values straight to "
                "the forecast, added to the network's; fitted by least squares on the training windows before the "
                "network is trained around it. At most --seq-len. Default: the whole window for one monthly or weekly "
                "series (and one long hourly series, see --cell-len), else 0, off."),
    option("--cell-len", type=click.IntRange(min=1), metavar="R",
           help="The recurrent cell reads only the window's last R steps (segments cut from them), while --highway "
                "may read all --seq-len: a linear map over a long lookback beside a cell over a short one. "
                "Default: the whole window; one hourly series of over about 5,400 rows, with none of --seq-len, "
                "--highway, --cell-len given: a 336-step window, --highway 336, --cell-len 96 (up to 720 steps "
                "ahead with several members, half of them reading the highway; up to 96 with one)."),
    option("--highway-members", type=click.IntRange(min=1), metavar="N",
           help="Only the first N ensemble members read the --highway; the others forecast with their cell alone, "
                "so the ensemble mixes the two kinds. Default: every member; on one long hourly series (see "
                "--cell-len) half of them."),
    option("--ensemble", type=click.IntRange(min=1),
           help="Member networks trained together from different initial weights; the forecast is their median. "
                "Default: 5 up to 5,000 training windows (one series: 10,000; 10 there for one long hourly "
                "series, see --cell-len), else 1."),
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


def _removed_precision(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """--precision is gone (0.3): refuse bf16 with the reason; fp32, what every run uses, is still accepted."""
    if value not in (None, "fp32"):
        raise click.UsageError(
            f"--precision {value} was removed: bf16 autocast measured 1.26x slower than fp32 on an H100 for these "
            "small recurrent networks, and slower on CPU; drop the option (every run trains in fp32)"
        )


train_options = _options(
    option("--epochs", type=click.IntRange(min=1),
           help="Most epochs; early stopping usually ends sooner. Default: 100, or enough for 2,000 steps on small data."),
    option("--batch-size", type=click.IntRange(min=1),
           help="Windows per step (over all processes under torchrun). Default: 64; 1024 on a CUDA GPU with "
                "5,000 or more training windows (measured as accurate there, and many times faster)."),
    option("--lr", type=click.FloatRange(0, min_open=True),
           help="Adam learning rate. Default: 0.001; 0.004 with the CUDA default batch of 1024."),
    option("--clip", type=click.FloatRange(0), default=1.0, show_default=True, help="Max gradient norm; 0 disables."),
    option("--patience", type=click.IntRange(min=1),
           help="Epochs without validation improvement before stopping. Default: 10, or enough for 200 steps on small data."),
    option("--seed", type=int, default=0, show_default=True, help="Random seed; CPU reruns with the same seed are identical."),
    option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps."),
    option("--threads", type=click.IntRange(min=1), help="CPU threads for torch. Default: $OMP_NUM_THREADS, else 1 (fastest for small RNNs, measured)."),
    option("--precision", hidden=True, expose_value=False, callback=_removed_precision),
    option("--weight-decay", type=click.FloatRange(0), default=0.0, show_default=True,
           help="AdamW's decoupled weight decay; 0: plain Adam."),
    option("--schedule", type=click.Choice(SCHEDULES), default="none", show_default=True,
           help="Learning rate: none (constant), plateau (halve when validation stalls), onecycle (over --epochs)."),
    option("--refit/--no-refit", default=False, show_default=True,
           help="After early stopping chose the epochs, train a fresh network on every window (the validation "
                "windows too) for that many epochs and save it: the model learns from the latest rows."),
    option("--loss", type=click.Choice(LOSSES),
           help="What training minimises and early stopping watches (scaled units): mse, mae, or huber "
                "(squared within 1, absolute beyond: less weight on outliers). Default: mae for many series "
                "(--id-col/--wide), mse for one."),
)  # fmt: skip


# Everything that decides what fit trains; backtest refits with the same options.
training_options = _options(read_options, layout_options, window_options, model_options, train_options)


def _split_commas(values: tuple[str, ...]) -> tuple[str, ...]:
    """Each value read as one CSV record: `a,b` is two names, `"temp, °C",b` keeps a name's comma in quotes."""
    import csv

    return tuple(v.strip() for item in values for v in next(csv.reader([item], skipinitialspace=True)) if v.strip())


def _warn(err, warnings: list[str], strict: bool) -> None:
    """Print warnings on stderr, or under --strict refuse the data (exit 65)."""
    if strict and warnings:
        raise DataError(f"{warnings[0]} (--strict); fix the data or drop --strict")
    for w in warnings:
        err.print(f"Warning: {w}")


EPILOG = """\b
Exit codes: 0 ok, 1 training failed, 2 usage, 65 bad data, 66 input missing,
70 internal error, 73 cannot write, 75 model locked by another run, 130 interrupted."""


# Commands that use a saved model: they neither train nor lock it.
USE_EPILOG = """\b
Exit codes: 0 ok, 2 usage, 65 bad data, 66 input missing, 70 internal error,
73 cannot write, 130 interrupted."""


def _network(m: dict) -> str:
    """What was trained, in a few words: `5 rnn members, 4-point segments, window norm season`."""
    members = f"{m['ensemble']} {m['cell']} members" if m["ensemble"] > 1 else f"one {m['cell']}"
    steps = f"{m['segment']}-point segments" if m["segment"] else "one point per step"
    highway = f", a {m['highway']}-step highway" if m.get("highway") else ""
    if m.get("highway_members"):
        highway += f" in {m['highway_members']} of them"
    cell = f", the cell over the last {m['cell_len']} steps" if m.get("cell_len") else ""
    return f"{members}, {steps}{cell}, window norm {m['window_norm']}{highway}"


def _settings(params: dict):
    """The library's settings from the options fit and backtest share, validated once, before any data is read."""
    from rnncast import settings as st
    from rnncast.train import TrainConfig

    p = params
    settings = st.Settings(
        read=st.ReadOptions(p["time_col"], _split_commas(p["targets"]), _split_commas(p["features"]), p["fill"], p["strict"],
                            p["date_format"], p["freq"], p["weekmask"], p["tz"],
                            future_features=_split_commas(p["future_features"])),
        layout=st.Layout(p["id_col"], p["wide"]),
        windows=st.WindowConfig(p["seq_len"], p["horizon"], p["val_frac"], p["scaler"], p["season"], p["calendar"]),
        network=st.NetworkOptions(p["cell"], p["hidden_size"], p["layers"], p["dropout"], p["window_norm"],
                                  p["id_embedding"] or 0, p["segment"], p["ensemble"], p["guard"], p["non_negative"],
                                  highway=p["highway"], cell_len=p["cell_len"],
                                  highway_members=p["highway_members"]),
        train=TrainConfig(p["epochs"], p["batch_size"], p["lr"], p["clip"], p["patience"], p["seed"], p["device"],
                          p["threads"], p["weight_decay"], p["schedule"], p["loss"], p["refit"]),
    )  # fmt: skip
    try:
        st.validate(settings)
    except RnncastError as exc:  # under torchrun every rank checks the same options: rank 0 says it
        exc.rnncast_silent = env_rank() != 0
        raise
    return settings


def _describe_plan(err, p, source: str, first_fold: bool = False) -> None:
    import pandas as pd

    from rnncast import timeindex

    s, many = p.first, p.layout.many
    past = s.features[: len(s.features) - len(p.future)]
    if many:
        lengths = [m.own_rows for m in p.members]
        what = f"{len(p.members)} series of {min(lengths)}-{max(lengths)} rows"
    else:
        ends = timeindex.shown(s.index[[0, -1]], s.zone)
        if isinstance(ends, pd.DatetimeIndex):  # as outputs write them: the date alone at midnight
            ends = timeindex.stamps(pd.Series(ends)).tolist()
        what = f"{len(s)} rows, " + (f"{ends[0]} → {ends[1]}" if s.time_col else "integer steps")
    err.print(f"{source}: {what}, frequency {s.freq or 'none'}; targets {', '.join(s.targets)}"
              + (f"; features {', '.join(past)}" if past else "")
              + (f"; known ahead {', '.join(p.future)}" if p.future else "")
              + (f"; calendar {', '.join(p.calendar)}" if p.calendar else ""))  # fmt: skip
    chosen = lambda name: " (from data)" if name in p.chosen else ""  # noqa: E731
    err.print(
        f"seq_len {p.seq_len}{chosen('seq_len')}, horizon {p.horizon}{chosen('horizon')}, "
        f"season {p.season}{chosen('season')}; {p.n_train} training / {p.n_val} validation windows"
        + (", none across series" if many else "")
        + (" in the first fold" if first_fold else "")
    )
    if p.shrunk:
        err.print(p.shrunk)
    _warn(err, p.notes, strict=False)  # after the lines that say what the data is: a warning reads against them


class _progress:
    """Feedback on stderr: while the data is read, a status line; once training starts, an epoch bar with
    elapsed and remaining time (on a terminal), or a line per epoch with --verbose.

    The bar appears with the first epoch, not before: no `epoch 0/100` while a large file loads.
    """

    def __init__(self, err, verbose: bool, reading: str | None = None):
        self.err, self.verbose, self.reading = err, verbose, reading
        self.bar = self.task = self.status = None

    def __enter__(self):
        if self.err.quiet:
            return None
        if not self.err.is_terminal:
            return self._line if self.verbose else None
        if self.reading:
            self.status = self.err.status(f"reading {self.reading} …")
            self.status.start()
        return self.on_epoch

    def planned(self) -> None:
        """The data is read and planned: the status line goes (the plan's own lines follow)."""
        if self.status is not None:
            self.status.stop()
            self.status = None

    def on_epoch(self, log) -> None:
        if self.bar is None:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self.planned()
            self.bar = Progress(
                TextColumn("epoch {task.completed}/{task.total}"),
                BarColumn(),
                TextColumn("train {task.fields[train]}  val {task.fields[val]}"),
                TimeElapsedColumn(),
                TextColumn("at most"),
                TimeRemainingColumn(),  # to the epoch cap: early stopping usually ends sooner
                console=self.err,
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task("fit", total=log.epochs, train="-", val="-")
        self.bar.update(
            self.task, completed=log.epoch, total=log.epochs, train=f"{log.train_loss:.4f}", val=f"{log.val_loss:.4f}"
        )
        if self.verbose:
            self._line(log)

    def _line(self, log) -> None:
        mark, name = " *" if log.best else "", LOSS_NAMES[log.loss]
        self.err.print(
            f"epoch {log.epoch}/{log.epochs}: train {name} {log.train_loss:.5f}, val {name} {log.val_loss:.5f}{mark}"
        )

    def __exit__(self, *exc) -> None:
        self.planned()
        if self.bar is not None:
            self.bar.stop()


def _given_levels(levels: tuple[float, ...]) -> tuple[float, ...] | None:
    """The levels the user asked for (on the command line or in RNNCAST_LEVEL); None: the defaults, never a refusal."""
    return tuple(levels) if _given(click.get_current_context(), "levels") else None


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


def _given(ctx: click.Context, name: str) -> bool:
    """Whether the user set option `name` (on the command line or in its RNNCAST_ variable), not its default."""
    from click.core import ParameterSource

    return ctx.get_parameter_source(name) in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


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


def _report_coverage(err, result) -> None:
    for level in result.bounds:
        err.print(f"{level:g}% interval: {result.coverage(level):.1f}% of {result.actual.size} actual values inside")
