"""A run history in one SQLite file: each fit, forecast, evaluate and backtest appends a record.

Cron jobs share the file: it is opened in WAL mode with a busy timeout, and each record is one short
`BEGIN IMMEDIATE` transaction, so processes writing at once wait their turn and no record is lost.
`check` compares each model's latest `evaluate` with its validation MASE: a cron job's alarm.
sqlite3 is imported inside the functions, so `rnncast --help` stays instant.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rnncast.errors import InputError, OutputError

BUSY_SECONDS = 30.0  # how long a writer waits for another one before giving up

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started TEXT NOT NULL,        -- UTC, ISO 8601
    command TEXT NOT NULL,        -- fit | forecast | evaluate | backtest | tune
    arguments TEXT NOT NULL,      -- json list: the command line after `rnncast`
    seconds REAL NOT NULL,        -- wall-clock duration
    exit_code INTEGER NOT NULL,
    model TEXT,                   -- the model's absolute path
    model_sha256 TEXT,            -- of the model file after the run (None: no file)
    data TEXT,                    -- the data path as given (`-`: stdin)
    data_sha256 TEXT,             -- of the data file's bytes (None: stdin or unreadable)
    data_rows INTEGER,            -- data lines after the header (None: stdin or unreadable)
    metrics TEXT NOT NULL         -- json object, see `Run.metrics`
)"""


@dataclass
class Run:
    """One record. `metrics`: fit: validation scores; evaluate/backtest: scores; forecast: horizon, first/last."""

    started: str
    command: str
    arguments: list[str]
    seconds: float
    exit_code: int
    model: str | None = None
    model_sha256: str | None = None
    data: str | None = None
    data_sha256: str | None = None
    data_rows: int | None = None
    metrics: dict = field(default_factory=dict)


def model_key(path: str | Path) -> str:
    """How a model is named in the history: its absolute path, so `--model m.rnncast` finds it from its folder."""
    return str(Path(path).resolve())


def file_facts(path: str | Path | None, rows: bool = True) -> tuple[str | None, int | None]:
    """(sha256, data rows) of a file: CSV lines after the header, a Parquet file's rows; (None, None) for stdin or a
    file that cannot be read. `rows=False` (a model file): the digest alone, without importing the readers (pandas)."""
    if path is None or str(path) == "-":
        return None, None
    digest, lines, last = hashlib.sha256(), 0, b"\n"
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
                lines += chunk.count(b"\n")
                last = chunk[-1:]
    except OSError:
        return None, None
    if not rows:
        return digest.hexdigest(), None
    lines += last != b"\n"  # a last line without its newline
    from rnncast.reading import file_kind, rows_inside

    if file_kind(path) != "csv":  # Parquet or compressed: the rows are inside
        return digest.hexdigest(), rows_inside(path)
    return digest.hexdigest(), max(lines - 1, 0)


def _connect(path: str | Path):
    import sqlite3

    con = sqlite3.connect(str(path), timeout=BUSY_SECONDS, isolation_level=None)  # transactions by hand
    con.execute(f"PRAGMA busy_timeout = {int(BUSY_SECONDS * 1000)}")
    deadline = time.monotonic() + BUSY_SECONDS
    while True:  # switching to WAL needs a moment alone with the file; another process may be creating it
        try:
            con.execute("PRAGMA journal_mode = WAL")
            con.execute(SCHEMA)
            return con
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                con.close()
                raise
            time.sleep(0.05)


def append(path: str | Path, run: Run) -> int:
    """Add one record; returns its id. Raises OutputError when the file cannot be written."""
    import sqlite3

    row = asdict(run)
    row["arguments"], row["metrics"] = json.dumps(run.arguments), json.dumps(run.metrics, default=_plain)
    names = list(row)
    try:
        con = _connect(path)
        try:
            con.execute("BEGIN IMMEDIATE")  # take the write lock now: waiting happens here, under busy_timeout
            cur = con.execute(
                f"INSERT INTO runs ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                [row[n] for n in names],
            )
            con.execute("COMMIT")
            return int(cur.lastrowid)
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise OutputError(f"cannot write the run history {path} ({exc})") from exc


def score_metrics(result, reference: dict | None = None) -> dict:
    """What an evaluate or backtest run records: the scores over all steps, the network's MASE per target
    (the mean over series for many), windows and steps scored, and the model's validation MASE (`reference`)."""
    frame = result.frame(typed=True)
    overall = frame[frame["all_steps"]].drop(columns=["step", "all_steps"])
    network = next(iter(result.forecasts))
    mine = overall[overall["model"] == network]
    if result.id_name is not None:
        mine = mine[mine[result.id_name] == "(mean)"]
    out = {
        "windows": int(result.windows),
        "steps": int(result.actual.shape[1]),
        "MASE": {str(t): float(m) for t, m in zip(mine["target"], mine["MASE"], strict=True)},
        "scores": json.loads(overall.to_json(orient="records")),
    }
    if reference is not None:
        out["val_MASE"] = reference
    return out


def validation_mase(meta: dict) -> dict[str, float]:
    """The network's validation MASE per target (the mean over series for many), as saved by fit."""
    cell = meta["model"]["cell"]
    return {s["target"]: s["mase"] for s in meta["metrics"] if s["model"] == cell}


def forecast_metrics(result) -> dict:
    """What a forecast run records: the horizon, and each series' first and last forecast per target."""
    values = []
    for k, sid in enumerate(result.ids):
        for j, target in enumerate(result.targets):
            row = {"id": sid} if result.id_name else {}
            row.update(target=target, first=float(result.values[k, 0, j]), last=float(result.values[k, -1, j]))
            values.append(row)
    return {"horizon": int(result.values.shape[1]), "series": len(result.ids), "values": values}


def _plain(value: object) -> object:
    """json for numpy numbers and time stamps."""
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def runs(path: str | Path, model: str | None = None, command: str | None = None, last: int | None = None) -> list[dict]:
    """Records oldest first, optionally only those of a model path and/or command, and only the last N."""
    import sqlite3

    if not Path(path).is_file():
        raise InputError(f"no run history at {path}; runs given --history {path} create it")
    where, args = [], []
    if model is not None:
        where.append("model = ?")
        args.append(model_key(model))
    if command is not None:
        where.append("command = ?")
        args.append(command)
    sql = "SELECT * FROM runs" + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY id DESC"
    if last is not None:
        sql += f" LIMIT {int(last)}"
    try:
        con = _connect(path)
        try:
            con.row_factory = sqlite3.Row
            rows = [dict(r) for r in con.execute(sql, args)]
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise InputError(f"cannot read the run history {path} ({exc}); is it an rnncast history file?") from exc
    for r in rows:
        r["arguments"], r["metrics"] = json.loads(r["arguments"]), json.loads(r["metrics"])
    return rows[::-1]


def frame(records: list[dict], typed: bool = False):
    """One row per run; `arguments` and `metrics` as json text (typed: as lists and objects, for json output)."""
    import pandas as pd

    rows = [dict(r) for r in records]
    if not typed:
        for r in rows:
            r["arguments"], r["metrics"] = " ".join(r["arguments"]), json.dumps(r["metrics"])
    columns = ["id", "started", "command", "seconds", "exit_code", "model", "model_sha256", "data", "data_sha256",
               "data_rows", "metrics", "arguments"]  # fmt: skip
    out = pd.DataFrame(rows, columns=columns)
    out["data_rows"] = out["data_rows"].astype("Int64")  # None for stdin: keep the others whole numbers
    return out


def table_frame(frame):
    """The run list for an 80-column table: when, what, how it ended and the paths shortened in the middle."""
    from rnncast.render import short

    out = frame[["id", "started", "command", "seconds", "exit_code", "model", "data"]].copy()
    out["started"] = out["started"].map(lambda t: str(t)[:16])  # to the minute, UTC
    for column, width in (("model", 14), ("data", 14)):
        out[column] = out[column].map(lambda p, w=width: None if p is None or p != p else short(str(p), w))
    return out


@dataclass
class Check:
    """How each model's latest evaluation compares with its validation MASE."""

    rows: list[dict]  # model, target, evaluated, val_MASE, MASE, change_pct, status

    @property
    def degraded(self) -> bool:
        return any(r["status"] == "degraded" for r in self.rows)


def check(path: str | Path, tolerance: float = 20.0, model: str | None = None) -> Check:
    """The latest `evaluate` of each model against the validation MASE saved with it.

    A target is degraded when its MASE is more than `tolerance` percent above the validation MASE.
    """
    latest: dict[str, dict] = {}
    for r in runs(path, model=model, command="evaluate"):
        if r["exit_code"] == 0 and r["metrics"].get("MASE"):
            latest[r["model"]] = r  # oldest first: the last one wins
    rows = []
    for name, r in latest.items():
        val = r["metrics"].get("val_MASE", {})
        for target, mase in r["metrics"]["MASE"].items():
            base = val.get(target)
            change = 100 * (mase / base - 1) if base else None
            status = "unknown" if change is None else ("degraded" if change > tolerance else "ok")
            rows.append({"model": name, "target": target, "evaluated": r["started"], "val_MASE": base,
                         "MASE": mase, "change_pct": change, "status": status})  # fmt: skip
    return Check(rows)
