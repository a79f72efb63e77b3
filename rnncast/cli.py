"""Click commands: parse options, call one library function, render. No torch at import time."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable

import click

from rnncast import __version__
from rnncast.choices import CELLS, FILL_POLICIES, FORMATS, SCALERS, WINDOW_NORMS
from rnncast.errors import EX_SOFTWARE, RnncastError

MODEL_HELP = "Model file to write or read."
INTERRUPTED = 130


class Cli(click.Group):
    """Turns every failure into one `Error: …` line on stderr and a documented exit code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except RnncastError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Error: interrupted; no model file was changed", err=True)
            ctx.exit(INTERRUPTED)
        except BrokenPipeError:
            _silence_stdout()
            ctx.exit(0)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:  # a bug of ours: say so, show the traceback only on request
            if _verbose(ctx):
                traceback.print_exc()
            click.echo(
                f"Error: internal error ({type(exc).__name__}: {exc}); rerun with --verbose and report it",
                err=True,
            )
            ctx.exit(EX_SOFTWARE)


def _verbose(ctx: click.Context) -> bool:
    return bool(ctx.find_root().meta.get("rnncast.verbose"))


def _silence_stdout() -> None:
    """After the reader of a pipe went away: point stdout at /dev/null so the exit flush cannot fail."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def stderr_console(quiet: bool):
    from rich.console import Console

    return Console(stderr=True, quiet=quiet, highlight=False, soft_wrap=True)


# ------------------------------------------------------------------ shared options


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
    click.option("--quiet", "-q", is_flag=True, envvar="RNNCAST_QUIET", help="Print nothing on stderr but errors."),
    click.option(
        "--verbose",
        "-v",
        is_flag=True,
        envvar="RNNCAST_VERBOSE",
        callback=_remember_verbose,
        help="More detail on stderr; tracebacks for internal errors.",
    ),
)

format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    envvar="RNNCAST_FORMAT",
    help="Output format. Default: table on a terminal, csv when piped.",
)

model_option = click.option(
    "--model",
    "model_path",
    default="model.rnncast",
    show_default=True,
    envvar="RNNCAST_MODEL",
    type=click.Path(dir_okay=False),
    help=MODEL_HELP,
)

read_options = _options(
    click.option(
        "--time-col", help="Time column; default: the one column of dates (or year+quarter), 'none' for row numbers."
    ),
    click.option(
        "--target",
        "targets",
        multiple=True,
        help="Column to forecast (repeat for several). Default: the only numeric column.",
    ),
    click.option("--features", "features", multiple=True, help="Extra input column(s), comma-separated or repeated."),
    click.option(
        "--fill",
        type=click.Choice(FILL_POLICIES),
        default="interpolate",
        show_default=True,
        help="Blank values: interpolate, carry forward, drop rows, or fail.",
    ),
    click.option(
        "--strict",
        is_flag=True,
        help="Refuse missing periods and irregular time stamps instead of filling them on the inferred grid.",
    ),
)

window_options = _options(
    click.option(
        "--seq-len",
        type=click.IntRange(min=1),
        help="Past steps per input window. Default: from the frequency (hourly 168, monthly 36, ...).",
    ),
    click.option(
        "--horizon",
        type=click.IntRange(min=1),
        help="Steps to forecast. Default: from the frequency (hourly 24, monthly 12, ...).",
    ),
    click.option(
        "--val-frac",
        type=float,
        default=0.2,
        show_default=True,
        help="Share of the latest windows held out for validation.",
    ),
    click.option(
        "--scaler",
        type=click.Choice(SCALERS),
        default="standard",
        show_default=True,
        help="scikit-learn scaler fitted on training rows only.",
    ),
    click.option(
        "--season",
        type=click.IntRange(min=1),
        help="Seasonal period for the baseline and MASE. Default: from the frequency.",
    ),
)

model_options = _options(
    click.option(
        "--cell",
        type=click.Choice(CELLS),
        default="rnn",
        show_default=True,
        envvar="RNNCAST_CELL",
        help="Recurrent cell: rnn (Elman, tanh), lstm or gru.",
    ),
    click.option(
        "--hidden-size", type=click.IntRange(min=1), default=64, show_default=True, help="Width of the hidden state."
    ),
    click.option(
        "--layers", type=click.IntRange(min=1), default=1, show_default=True, help="Stacked recurrent layers."
    ),
    click.option(
        "--dropout",
        type=click.FloatRange(0, 1, max_open=True),
        default=0.0,
        show_default=True,
        help="Dropout between stacked layers.",
    ),
    click.option(
        "--window-norm",
        type=click.Choice(WINDOW_NORMS),
        default="last",
        show_default=True,
        help="Subtract each window's last value (or mean) and add it back to the forecast.",
    ),
)

train_options = _options(
    click.option(
        "--epochs",
        type=click.IntRange(min=1),
        default=100,
        show_default=True,
        help="Most epochs; early stopping usually ends sooner.",
    ),
    click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True, help="Windows per step."),
    click.option(
        "--lr", type=click.FloatRange(0, min_open=True), default=1e-3, show_default=True, help="Adam learning rate."
    ),
    click.option(
        "--clip", type=click.FloatRange(0), default=1.0, show_default=True, help="Max gradient norm; 0 disables."
    ),
    click.option(
        "--patience",
        type=click.IntRange(min=1),
        default=10,
        show_default=True,
        help="Epochs without validation improvement before stopping.",
    ),
    click.option(
        "--seed",
        type=int,
        default=0,
        show_default=True,
        help="Random seed; CPU reruns with the same seed are identical.",
    ),
    click.option(
        "--device", default="auto", show_default=True, envvar="RNNCAST_DEVICE", help="auto, cpu, cuda, cuda:N or mps."
    ),
    click.option(
        "--threads",
        type=click.IntRange(min=1),
        envvar="RNNCAST_THREADS",
        help="CPU threads for torch. Default: torch's.",
    ),
)


def _split_commas(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.strip() for item in values for v in item.split(",") if v.strip())


# ------------------------------------------------------------------ commands


@click.group(cls=Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="rnncast")
def cli() -> None:
    """Forecast time series from a CSV with a recurrent neural network.

    \b
    rnncast fit sample_data/elec_equip.csv      # train, save model.rnncast, print metrics
    rnncast forecast                            # the next horizon from the saved model
    rnncast forecast new.csv --format csv       # forecast from the tail of new data
    """


@cli.command()
@click.argument("data", type=click.Path(allow_dash=True, dir_okay=True))
@read_options
@window_options
@model_options
@train_options
@model_option
@format_option
@output_options
def fit(data, time_col, targets, features, fill, strict, seq_len, horizon, val_frac, scaler, season,
        cell, hidden_size, layers, dropout, window_norm,
        epochs, batch_size, lr, clip, patience, seed, device, threads,
        model_path, fmt, quiet, verbose) -> None:  # fmt: skip
    """Train on DATA (a CSV, or - for stdin), save the model, print validation metrics.

    Metrics compare the network with naive (repeat last value) and seasonal-naive
    forecasts on the same validation windows.
    """
    from rnncast import api, render
    from rnncast.data import ReadOptions
    from rnncast.model import ModelConfig
    from rnncast.train import TrainConfig

    err = stderr_console(quiet)
    read = ReadOptions(time_col, tuple(targets), _split_commas(features), fill, strict)
    windows = api.WindowConfig(seq_len, horizon, val_frac, scaler, season)
    model_cfg = ModelConfig(cell=cell, hidden_size=hidden_size, layers=layers, dropout=dropout, window_norm=window_norm)
    train_cfg = TrainConfig(epochs, batch_size, lr, clip, patience, seed, device, threads)
    with _progress(err, epochs) as on_epoch:
        result = api.fit(data, read, windows, model_cfg, train_cfg, model_path,
                         on_plan=lambda p: _describe_plan(err, p, data), on_epoch=on_epoch)  # fmt: skip
    t = result.training
    err.print(
        f"trained {t.epochs_run} epoch(s) in {t.seconds:.1f} s on {t.device}; best epoch {t.best_epoch} "
        f"(validation MSE {t.best_val_loss:.4g}); saved {model_path}"
    )
    render.emit(render.scores_frame(result.scores), fmt or render.default_format(), title="Validation metrics")


def _describe_plan(err, p, source: str) -> None:
    s = p.series
    for note in p.notes:
        err.print(f"Warning: {note}")
    span = f"{s.index[0]} → {s.index[-1]}" if s.time_col else "integer steps"
    err.print(f"{source}: {len(s)} rows, {span}, frequency {s.freq or 'none'}; targets {', '.join(s.targets)}"
              + (f"; features {', '.join(s.features)}" if s.features else ""))  # fmt: skip
    chosen = lambda name: " (from data)" if name in p.chosen else ""  # noqa: E731
    err.print(
        f"seq_len {p.seq_len}{chosen('seq_len')}, horizon {p.horizon}{chosen('horizon')}, "
        f"season {p.season}{chosen('season')}; {p.split.n_train} training / {p.split.n_val} validation windows"
    )


class _progress:
    """A rich progress bar on stderr, only when stderr is a terminal; yields the per-epoch callback."""

    def __init__(self, err, epochs: int):
        self.err, self.epochs, self.bar = err, epochs, None

    def __enter__(self):
        if self.err.quiet or not self.err.is_terminal:
            return None
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
        task = self.bar.add_task("fit", total=self.epochs, train="-", val="-")

        def on_epoch(log) -> None:
            self.bar.update(task, completed=log.epoch, train=f"{log.train_loss:.4f}", val=f"{log.val_loss:.4f}")

        return on_epoch

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()


@cli.command()
@click.argument("data", required=False, type=click.Path(allow_dash=True))
@model_option
@click.option("--horizon", type=click.IntRange(min=1), help="Steps to forecast (at most the trained horizon).")
@format_option
@output_options
def forecast(data, model_path, horizon, fmt, quiet, verbose) -> None:
    """Forecast the next steps after the saved data, or after the tail of DATA (a CSV, or - for stdin).

    DATA must have the columns the model was trained on; only its last seq_len rows are used.
    """
    from rnncast import api, render

    err = stderr_console(quiet)
    result, warnings = api.forecast_file(model_path, data, horizon)
    for w in warnings:
        err.print(f"Warning: {w}")
    render.emit(result.frame(), fmt or render.default_format(), title="Forecast")


@cli.command()
@model_option
@format_option
@output_options
def info(model_path, fmt, quiet, verbose) -> None:
    """Show what a model file holds: network, data, training and validation metrics."""
    from rnncast import artifact, render

    render.emit(_card(artifact.load(model_path).meta), fmt or render.default_format(), title=str(model_path))


def _card(meta: dict):
    import pandas as pd

    d, m, t = meta["data"], meta["model"], meta["training"]
    rows = {
        "cell": m["cell"], "hidden_size": m["hidden_size"], "layers": m["layers"], "window_norm": m["window_norm"],
        "seq_len": meta["model_seq_len"], "horizon": m["horizon"], "targets": ",".join(d["targets"]),
        "features": ",".join(d["features"]), "frequency": d["freq"], "season": d["season"],
        "training_start": d["start"], "training_end": d["end"], "rows": d["rows"], "data_sha256": d["sha256"],
        "scaler": meta["scaler"], "epochs_run": t["epochs_run"], "best_epoch": t["best_epoch"],
        "best_val_mse": t["best_val_loss"], "device": t["device"], "created": meta["created"],
        "format_version": meta.get("format_version", 1),
        **{f"version_{k}": v for k, v in meta["versions"].items()},
    }  # fmt: skip
    for s in meta["metrics"]:
        rows[f"val_mase_{s['target']}_{s['model']}"] = s["mase"]
    return pd.DataFrame({"field": list(rows), "value": [("" if v is None else str(v)) for v in rows.values()]})


def main() -> None:
    try:
        cli(prog_name="rnncast")
    finally:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _silence_stdout()
