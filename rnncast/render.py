"""Results to text: a rich table for people, csv or json for programs. Nothing here computes."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    import pandas as pd


def colour_allowed(stream: IO[str]) -> bool:
    """ANSI codes only for a terminal, and never under NO_COLOR or TERM=dumb."""
    if "NO_COLOR" in os.environ or os.environ.get("TERM") == "dumb":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


class MessageConsole(Console):
    """stderr's console: messages are best effort. When their reader goes away (`rnncast fit DATA -v 2>&1 |
    head -20`) the rest are dropped and the run goes on to its model and its output; rich's own answer is
    exit 1 ("training failed") at once, with no model written."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self.file.fileno())  # the flush at exit, and any later Error line, cannot fail
        os.close(devnull)


def console(stream: IO[str] | None = None, stderr: bool = False, quiet: bool = False) -> Console:
    """A rich console that writes plain text unless `stream` is a colour terminal."""
    stream = stream or (sys.stderr if stderr else sys.stdout)
    colour = colour_allowed(stream)
    return (MessageConsole if stderr else Console)(
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


def resolve_format(fmt: str | None, output: str | Path | None = None) -> str:
    """The format given, else the output file's extension (.json → json, anything else csv), else `default_format`."""
    if fmt:
        return fmt
    if output is not None and str(output) != "-":
        return "json" if Path(output).suffix.lower() == ".json" else "csv"
    return default_format()


SIGNIFICANT = 4  # digits a table shows of a column's typical value; csv and json keep full precision
RECORD_WIDTHS = (40, 36)  # a record's table (info): field names and values shortened in the middle to fit 80 columns
SHORT_TARGET = 24  # table cells of a `target` column longer than this are shortened in the middle


def decimals(values: list) -> int | None:
    """Decimals that show a numeric column's largest absolute value to SIGNIFICANT digits, the same for the
    whole column so that its points line up; None: magnitudes that read better as %g (below 0.001, from
    10 million)."""
    finite = [abs(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v) and v != 0]
    if not finite:
        return 3
    typical = float(max(finite))
    if typical < 1e-3 or typical >= 1e7:
        return None
    return max(0, SIGNIFICANT - 1 - math.floor(math.log10(typical)))


def number(value: object, places: int | None = 3) -> str:
    """A value for a table cell: floats with `places` decimals (None: 4 significant digits), thousands grouped;
    `-` for a missing value."""
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if places is None or math.isinf(value):
            return f"{value:.4g}"
        return f"{value:,.{places}f}"
    if hasattr(value, "isoformat"):  # a time stamp in a column that is not all time stamps
        from rnncast import timeindex

        return timeindex.stamp(value)
    return str(value)


def short(name: str, width: int) -> str:
    """A long name shortened in the middle: 'STS.M.I7.W.TOVT.NS0016.4.000' → 'STS.M.I7.…0016.4.000' at 20."""
    if len(name) <= width:
        return name
    head = (width - 1) // 2
    return name[:head] + "…" + name[len(name) - (width - 1 - head) :]


@dataclass
class Columns:
    """A table as named columns of plain Python values (text, numbers, None): what every output is written from.

    `numeric` columns are right-aligned in a table, and those holding floats share their decimals (`decimals`).
    """

    data: dict[str, list]
    numeric: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, frame: pd.DataFrame) -> Columns:
        """A DataFrame's columns, time columns as text (`timeindex.stamps`), numeric as their dtype says."""
        import pandas as pd

        from rnncast import timeindex

        data, numeric = {}, set()
        for col in frame.columns:
            values = frame[col]
            if pd.api.types.is_datetime64_any_dtype(values):
                values = timeindex.stamps(values)
            elif pd.api.types.is_numeric_dtype(values):
                numeric.add(col)
            # float32 as pandas writes it (0.1, not the float64 0.10000000149011612 it widens to)
            listed = [float(str(v)) for v in values.to_numpy()] if values.dtype == "float32" else values.tolist()
            if values.dtype == object or pd.api.types.is_extension_array_dtype(values):
                # missing: blank, as pandas writes it
                listed = [None if v is pd.NA or v is pd.NaT else v for v in listed]
            data[col] = listed
        return cls(data, numeric)

    def rows(self) -> list[tuple]:
        return list(zip(*self.data.values(), strict=True))


def to_table(table: Columns | pd.DataFrame, title: str | None = None, headers: dict[str, str] | None = None) -> Table:
    """A rich table: `headers` renames columns (the table only); no cell wraps; long target names are shortened
    in the middle; each float column gets the decimals of its largest value (`decimals`)."""
    table = table if isinstance(table, Columns) else Columns.of(table)
    headers, data = dict(headers or {}), dict(table.data)
    if "target" in data and "target" not in table.numeric and len(set(data["target"])) == 1 and len(data) > 2:
        # one target: named once, in full (a numeric `target` is a data column of that name: forecasts)
        title = f"{title or ''}: {data['target'][0]}".lstrip(": ")
        del data["target"]
    for col in data:
        if str(col).startswith("coverage_"):  # backtest and evaluate: `cov 80`, like the bounds' `lo 80`
            headers.setdefault(col, "cov " + str(col)[len("coverage_") :])
    out = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    places = {}
    for col, values in data.items():
        numeric = col in table.numeric
        out.add_column(headers.get(col, str(col)), justify="right" if numeric else "left", no_wrap=True)
        floats = numeric and any(isinstance(v, float) for v in values)
        places[col] = decimals(values) if floats else 3
    if "target" in data:
        data["target"] = [short(v, SHORT_TARGET) if isinstance(v, str) else v for v in data["target"]]
    for row in zip(*data.values(), strict=True):
        out.add_row(*(number(v, places[c]) for c, v in zip(data, row, strict=True)))
    return out


def blank(value: object) -> bool:
    """None or NaN: an empty csv cell, a json null."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def plain(value: object) -> object:
    """A json value: None for a missing or infinite number (as pandas' to_json wrote them, never the invalid
    NaN/Infinity); a numpy scalar as its Python value; lists and objects element by element (typed
    history); anything else as text."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)


def to_text(table: Columns | pd.DataFrame, fmt: str) -> str:
    """csv (header + rows) or json (a list of records); time stamps as `timeindex.stamps`."""
    table = table if isinstance(table, Columns) else Columns.of(table)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(table.data)
        writer.writerows(tuple("" if blank(v) else v for v in row) for row in table.rows())
        return buffer.getvalue()
    if fmt == "json":
        records = [{str(k): plain(v) for k, v in zip(table.data, row, strict=True)} for row in table.rows()]
        return json.dumps(records, indent=2, default=str) + "\n"
    raise ValueError(f"unknown format {fmt!r}")


def emit(
    frame: Columns | pd.DataFrame,
    fmt: str | None = None,
    output: str | Path | None = None,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    caption: object = None,
) -> None:
    """Write the table (Columns or a DataFrame) to stdout, or atomically to the file `output`, in the chosen format.

    `headers` rename columns and `caption` (lines, or a rich renderable such as a second table) follows, in the
    table only; csv and json keep the frame's names and have no caption."""
    fmt = resolve_format(fmt, output)
    if output is not None and str(output) != "-":
        from rnncast.atomic import write_atomic

        if fmt == "table":
            buffer = io.StringIO()
            console(buffer).print(to_table(frame, title, headers))
            if caption:
                console(buffer).print(caption)
            text = buffer.getvalue()
        else:
            text = to_text(frame, fmt)
        write_atomic(Path(output), text.encode())
        return
    if fmt == "table":
        console().print(to_table(frame, title, headers))
        if caption:
            console().print(caption)
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
    fmt = resolve_format(fmt, output)
    if fmt == "json":
        emit_json(record, output)
        return

    def cell(value: object) -> str:
        if isinstance(value, list):
            return ",".join(map(str, value))
        return "" if value is None else str(value)

    fields, values = list(record), [cell(v) for v in record.values()]
    if fmt == "table":  # 80 columns, both ends kept: `val_mase_<target>_rnn` and `..._naive` stay apart
        fields, values = [short(f, RECORD_WIDTHS[0]) for f in fields], [short(v, RECORD_WIDTHS[1]) for v in values]
    emit(Columns({"field": fields, "value": values}), fmt, output, title)
