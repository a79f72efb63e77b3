"""`make bench` (second table): reading a long file of many series against pandas, time and peak memory.

For S series x 500 hourly rows in long format (`id,date,value`), each way runs in a fresh process:
  pandas   `read_csv` + `to_datetime` of the date column + `groupby("id")` split into one frame per series
  rnncast  what `fit` does before its first epoch: `collection.read_collection` (read, validate, sort,
           regularise, fill every series) + `windowing.plan` (splits, scalers) + `windowing.plan_windows`
The two alternate `--repeats` times; the fastest run of each is kept (other load only adds time), and
peak memory is the process's peak RSS over its RSS after imports. Targets: time <= 3x, memory <= 2x.

Run: `python benchmarks/reading.py` (about 3 minutes on 2 cores), `--series 2000` for one size.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from speed import _rss, child_runs  # measured as row 4 of speed.py measures (this folder is on sys.path when run)

ROWS = 500  # hourly rows per series
SIZES = (2_000, 10_000)
TIME_TARGET, MEMORY_TARGET = 3.0, 2.0


def write_long_csv(path: Path, n_series: int, rows: int = ROWS) -> None:
    """Hourly sines of different levels and amplitudes, one series after another, three decimals."""
    rng = np.random.default_rng(0)
    t = np.arange(rows)
    shape = 10 + np.sin(2 * np.pi * t / 24)
    values = shape[None, :] * rng.uniform(0.5, 2, (n_series, 1)) + rng.normal(0, 0.1, (n_series, rows))
    pd.DataFrame(
        {
            "id": np.repeat([f"s{i:05d}" for i in range(n_series)], rows),
            "date": np.tile(
                pd.date_range("2020-01-01", periods=rows, freq="h").strftime("%Y-%m-%d %H:%M:%S"), n_series
            ),
            "value": np.round(values, 3).ravel(),
        }
    ).to_csv(path, index=False)


def child(kind: str, path: str) -> None:
    """In a fresh process: seconds and peak RSS (over the RSS after imports) of one way of reading."""
    import torch  # noqa: F401  (fit has it imported before it reads: start-up is speed.py's row 3)

    from rnncast import collection, windowing
    from rnncast.settings import Layout, ReadOptions, WindowConfig

    base = _rss()
    start = time.perf_counter()
    if kind == "pandas":
        frame = pd.read_csv(path)
        frame["date"] = pd.to_datetime(frame["date"])
        parts = [rows for _, rows in frame.groupby("id", sort=True)]
        count = len(parts)
    else:
        coll = collection.read_collection(path, ReadOptions(), Layout(id_col="id"))
        plan = windowing.plan(coll, WindowConfig())
        windows = windowing.plan_windows(plan, with_id=False)
        count = len(plan.members)
        assert len(windows.train) > 0
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": seconds, "peak": peak - base, "series": count}))


def measure(n_series: int, repeats: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.csv"
        write_long_csv(path, n_series)
        size = path.stat().st_size / 1e6
        print(f"{n_series:,} series x {ROWS} rows: {size:.0f} MB", file=sys.stderr)
        runs = child_runs(
            __file__,
            path,
            repeats,
            lambda runs: print(f"  {runs['pandas'][-1]}, {runs['rnncast'][-1]}", file=sys.stderr),
        )
    assert all(r["series"] == n_series for rs in runs.values() for r in rs)
    best = {kind: (min(r["seconds"] for r in rs), min(r["peak"] for r in rs) / 1e6) for kind, rs in runs.items()}
    return {"series": n_series, "mb": size, **{f"{k}_{i}": v[i] for k, v in best.items() for i in (0, 1)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--series", type=int, action="append", help="series count (repeatable; default 2000, 10000)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    print("| series x rows | file | pandas: read + dates + split | rnncast: read + plan + windows | time ratio "
          "| peak RSS pandas | peak RSS rnncast | memory ratio | met (<= 3x time, <= 2x memory) |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for n_series in args.series or SIZES:
        m = measure(n_series, args.repeats)
        time_ratio, memory_ratio = m["rnncast_0"] / m["pandas_0"], m["rnncast_1"] / m["pandas_1"]
        met = "yes" if time_ratio <= TIME_TARGET and memory_ratio <= MEMORY_TARGET else "no"
        print(
            f"| {n_series:,} x {ROWS} | {m['mb']:.0f} MB | {m['pandas_0']:.2f} s | {m['rnncast_0']:.2f} s "
            f"| {time_ratio:.2f}x | {m['pandas_1']:.0f} MB | {m['rnncast_1']:.0f} MB | {memory_ratio:.2f}x | {met} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
