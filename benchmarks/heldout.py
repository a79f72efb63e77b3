"""Held-out years: how a candidate default does on rows no scoreboard row and no validation window reads.

Each series gets a rolling-origin backtest (`api.backtest_file`, 4 folds of one horizon each, a fresh
fit per fold) on rows the scoreboard never scores:

  small   elec_equip (monthly, horizon 12) and 7 macrodata columns (quarterly, horizon 8), each without
          its last 3 horizons (the scoreboard's backtest folds)
  m4one   16 evenly spaced M4 Weekly training series of at least 400 weeks, each fitted alone (horizon
          13); the M4 test file is never read
  ettdaily  the 14 columns of ETTh1 and ETTh2 as daily means over the ETT protocol's training and
          validation hours (480 days; its test hours are never read), horizon 14

The number per series is the network's MASE over the better naive forecast's (naive or seasonal naive)
on the same folds, averaged over seeds; below 1 the network wins. Per set: the geometric mean. Used to
choose issue 11's one-series defaults (docs/accuracy.md: "Loss and refit", "The highway by default").

    .venv/bin/python benchmarks/heldout.py --seeds 0,1,2                  # the current defaults
    .venv/bin/python benchmarks/heldout.py --seeds 0,1,2 --set highway=0  # a candidate (any --set of accuracy.py)
    .venv/bin/python benchmarks/heldout.py --sets m4one --seeds 0,1
"""

from __future__ import annotations

import argparse
import io
import time

import numpy as np
import pandas as pd
from accuracy import DATA, ROOT, parse_overrides, settings

from rnncast import api
from rnncast.settings import ReadOptions

FOLDS = 4
MACRO = ("realgdp", "cpi", "realcons", "realinv", "unemp", "m1", "realdpi")


def small() -> dict[str, tuple[str, ReadOptions, int]]:
    """name: (csv text without the scoreboard's last 3 horizons, read options, horizon)."""
    out = {}
    elec = pd.read_csv(ROOT / "sample_data" / "elec_equip.csv")
    out["elec_equip"] = (elec.iloc[: -3 * 12].to_csv(index=False), ReadOptions(), 12)
    macro = pd.read_csv(ROOT / "sample_data" / "macrodata.csv")
    for col in MACRO:
        frame = macro[["year", "quarter", col]].iloc[: -3 * 8]
        out[col] = (frame.to_csv(index=False), ReadOptions(targets=(col,)), 8)
    return out


def m4one(n: int = 16, min_weeks: int = 400) -> dict[str, tuple[str, ReadOptions, int]]:
    """name: (one M4 Weekly training series as csv, read options, horizon 13)."""
    train = pd.read_csv(DATA / "m4" / "Weekly-train.csv", index_col=0)
    ids = sorted(train.index, key=lambda sid: int(sid[1:]))
    long = [sid for sid in ids if train.loc[sid].notna().sum() >= min_weeks]
    out = {}
    for sid in (long[k] for k in np.linspace(0, len(long) - 1, n).round().astype(int)):
        y = train.loc[sid].dropna().to_numpy(np.float64)
        frame = pd.DataFrame({"date": pd.date_range(end="2017-12-31", periods=len(y), freq="W-SUN"), "value": y})
        out[f"{sid} ({len(y)})"] = (frame.to_csv(index=False), ReadOptions(), 13)
    return out


def ettdaily() -> dict[str, tuple[str, ReadOptions, int]]:
    """name: (one ETT column's daily means over the protocol's first 11,520 hours, read options, horizon 14)."""
    out = {}
    for name in ("ETTh1", "ETTh2"):
        hourly = pd.read_csv(DATA / "ett" / f"{name}.csv", parse_dates=["date"]).iloc[:11520]
        daily = hourly.set_index("date").resample("D").mean().reset_index()
        for col in daily.columns[1:]:
            out[f"{name} {col}"] = (daily[["date", col]].to_csv(index=False), ReadOptions(targets=(col,)), 14)
    return out


def ratio(text: str, read: ReadOptions, horizon: int, overrides: dict, seed: int) -> float:
    """The network's MASE over the better naive forecast's, over FOLDS backtest folds."""
    s = settings({**overrides, "train": {**overrides["train"], "seed": seed}}, read, horizon=horizon)
    ev = api.backtest_file(io.StringIO(text), s, folds=FOLDS, levels=())
    mase = {m: float((np.abs(f - ev.actual).mean(axis=1) / ev.scale).mean()) for m, f in ev.forecasts.items()}
    network = next(iter(mase))
    return mase[network] / min(v for m, v in mase.items() if m != network)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default="small,m4one", help="comma-separated: small, m4one, ettdaily")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds; the ratio is averaged")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="as accuracy.py's --set")
    args = parser.parse_args()
    overrides = parse_overrides(args.set)
    seeds = [int(s) for s in args.seeds.split(",")]
    makers = {"small": small, "m4one": m4one, "ettdaily": ettdaily}
    label = " ".join(args.set) or "defaults"
    for name in args.sets.split(","):
        started, means = time.perf_counter(), []
        for series, (text, read, horizon) in makers[name]().items():
            ratios = [ratio(text, read, horizon, overrides, seed) for seed in seeds]
            means.append(float(np.mean(ratios)))
            print(f"{name} {series}: {' '.join(f'{r:.3f}' for r in ratios)}  mean {means[-1]:.3f}", flush=True)
        seconds = time.perf_counter() - started
        print(f"{name} ({label}, seeds {args.seeds}): geometric mean {np.exp(np.mean(np.log(means))):.3f}, "
              f"{sum(m < 1 for m in means)} of {len(means)} below 1, {seconds:.0f} s", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
