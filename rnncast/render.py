"""Results to text: a rich table for people, csv or json for programs. Nothing here computes."""

from __future__ import annotations

import io
import json
import math
import os
import sys
from pathlib import Path
from typing import IO

import pandas as pd
from rich.console import Console
from rich.table import Table


def colour_allowed(stream: IO[str]) -> bool:
    """ANSI codes only for a terminal, and never under NO_COLOR or TERM=dumb."""
    if "NO_COLOR" in os.environ or os.environ.get("TERM") == "dumb":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def console(stream: IO[str] | None = None, stderr: bool = False, quiet: bool = False) -> Console:
    """A rich console that writes plain text unless `stream` is a colour terminal."""
    stream = stream or (sys.stderr if stderr else sys.stdout)
    colour = colour_allowed(stream)
    return Console(
        file=stream,
        color_system="auto" if colour else None,
        force_terminal=colour,
        width=None if colour else 10_000,  # a pipe or file gets whole lines, never wrapped
        highlight=False,
        soft_wrap=True,
        quiet=quiet,
    )


def default_format(stream: IO[str] | None = None) -> str:
    """`table` for a person at a terminal, `csv` when the output goes to a pipe or file."""
    stream = stream or sys.stdout
    return "table" if getattr(stream, "isatty", lambda: False)() else "csv"


def number(value: object) -> str:
    """A float for a table cell: enough digits to compare, no more."""
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if abs(value) >= 1000:
            return f"{value:,.1f}"
        return f"{value:.4g}" if abs(value) < 0.01 else f"{value:.3f}"
    if isinstance(value, pd.Timestamp):
        return value.isoformat(sep=" ")
    return str(value)


def to_table(frame: pd.DataFrame, title: str | None = None) -> Table:
    table = Table(title=title, title_justify="left")
    for col in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[col])
        table.add_column(str(col), justify="right" if numeric else "left")
    shown = frame.copy()
    for col in shown.columns:  # dates at midnight read better without the time
        if pd.api.types.is_datetime64_any_dtype(shown[col]) and (shown[col].dt.normalize() == shown[col]).all():
            shown[col] = shown[col].dt.strftime("%Y-%m-%d")
    for row in shown.itertuples(index=False):
        table.add_row(*(number(v) for v in row))
    return table


def to_text(frame: pd.DataFrame, fmt: str) -> str:
    """csv (header + rows) or json (a list of records, ISO time stamps)."""
    if fmt == "csv":
        return frame.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%S")
    if fmt == "json":
        records = json.loads(frame.to_json(orient="records", date_format="iso", double_precision=15))
        return json.dumps(records, indent=2) + "\n"
    raise ValueError(f"unknown format {fmt!r}")


def emit(
    frame: pd.DataFrame,
    fmt: str | None = None,
    output: str | Path | None = None,
    title: str | None = None,
) -> None:
    """Write the frame to stdout, or atomically to the file `output`, in the chosen format."""
    if output is not None and str(output) != "-":
        from rnncast.atomic import write_atomic

        fmt = fmt or "csv"
        if fmt == "table":
            buffer = io.StringIO()
            console(buffer).print(to_table(frame, title))
            text = buffer.getvalue()
        else:
            text = to_text(frame, fmt)
        write_atomic(Path(output), text.encode())
        return
    fmt = fmt or default_format()
    if fmt == "table":
        console().print(to_table(frame, title))
    else:
        sys.stdout.write(to_text(frame, fmt))
    sys.stdout.flush()


def emit_json(value: object, output: str | Path | None = None) -> None:
    """Any JSON value (typed, indented) to stdout or atomically to the file `output`."""
    text = json.dumps(value, indent=2, default=str) + "\n"
    if output is not None and str(output) != "-":
        from rnncast.atomic import write_atomic

        write_atomic(Path(output), text.encode())
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


def emit_record(record: dict, fmt: str | None = None, output: str | Path | None = None, title: str | None = None):
    """One record: json as one object with its typed values; csv and table as field/value rows."""
    fmt = fmt or (default_format() if output is None or str(output) == "-" else "csv")
    if fmt == "json":
        emit_json(record, output)
        return

    def cell(value: object) -> str:
        if isinstance(value, list):
            return ",".join(map(str, value))
        return "" if value is None else str(value)

    emit(pd.DataFrame({"field": list(record), "value": [cell(v) for v in record.values()]}), fmt, output, title)
