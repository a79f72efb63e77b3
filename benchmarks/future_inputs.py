"""Inputs known in advance: does the network do better when it reads them for the forecast steps?

Validation MAE (fit's own validation windows, the guarded forecast as `fit` prints it; no test window):
- promo: a synthetic daily series, weekly cycle plus trend plus a +40 spike on promotion days (12% of days,
  drawn at random, so the past cannot predict them). The promotion column as nothing, as --features
  (past window only) and as --future-features (read for the forecast steps too).
- calendar: --calendar with the forecast steps' calendar read too (windowing.CALENDAR_AHEAD, the default)
  against the past window only, on ETTh1 OT's first 4,000 hourly rows, monthly elec_equip, quarterly
  macrodata cpi and the daily promo series without its promotion column.

    nice -n 10 .venv/bin/python benchmarks/future_inputs.py --seeds 0,1
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

import numpy as np
import pandas as pd

from rnncast import api, windowing
from rnncast.settings import ReadOptions, Settings, WindowConfig

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def promo_series(rows: int = 730, seed: int = 0) -> str:
    """Daily sales with a weekly cycle, a slow trend, noise, and +40 on random promotion days (CSV text)."""
    rng = np.random.default_rng(seed)
    promo = (rng.random(rows) < 0.12).astype(int)
    steps = np.arange(rows)
    sales = 100 + 10 * np.sin(2 * np.pi * steps / 7) + 0.02 * steps + 40 * promo + rng.normal(0, 3, rows)
    dates = pd.date_range("2022-01-01", periods=rows, freq="D").strftime("%Y-%m-%d")
    return pd.DataFrame({"date": dates, "sales": sales.round(2), "promo": promo}).to_csv(index=False)


def val_mae(source: object, settings: Settings, seed: int) -> float:
    settings.train.seed = seed
    text = source if isinstance(source, Path) else io.StringIO(source)
    result = api.fit(text, settings, model_path=None)
    frame = result.frame()
    return float(frame[frame["model"] == settings.network.cell]["MAE"].mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    promo = promo_series()
    rows = []
    for name, read in {
        "promo: no promo input": ReadOptions(targets=("sales",)),
        "promo: --features promo": ReadOptions(targets=("sales",), features=("promo",)),
        "promo: --future-features promo": ReadOptions(targets=("sales",), future_features=("promo",)),
    }.items():
        rows.append((name, [val_mae(promo, Settings(read=read), s) for s in seeds]))
    no_promo = pd.read_csv(io.StringIO(promo)).drop(columns="promo").to_csv(index=False)
    calendar_data = {
        "promo sales, --calendar": (no_promo, ReadOptions()),
        "elec_equip, --calendar": (ROOT / "sample_data" / "elec_equip.csv", ReadOptions()),
        "macrodata cpi, --calendar": (ROOT / "sample_data" / "macrodata.csv", ReadOptions(targets=("cpi",))),
    }
    if SHARED.exists():
        ett = pd.read_csv(SHARED / "ett" / "ETTh1.csv", usecols=["date", "OT"]).iloc[:4000].to_csv(index=False)
        calendar_data["ETTh1 OT 4k, --calendar"] = (ett, ReadOptions())
    for name, (source, read) in calendar_data.items():
        for ahead in (False, True):
            windowing.CALENDAR_AHEAD = ahead
            started = time.perf_counter()
            maes = [val_mae(source, Settings(read=read, windows=WindowConfig(calendar=True)), s) for s in seeds]
            label = "past and forecast steps" if ahead else "past window only"
            rows.append((f"{name} ({label})", maes))
            print(f"  {name} {label}: {time.perf_counter() - started:.0f} s", flush=True)
        windowing.CALENDAR_AHEAD = True
    width = max(len(n) for n, _ in rows)
    print(f"{'setting':<{width}}  " + "  ".join(f"seed {s:>3}" for s in seeds) + "      mean")
    for name, maes in rows:
        print(f"{name:<{width}}  " + "  ".join(f"{m:8.4f}" for m in maes) + f"  {np.mean(maes):8.4f}")


if __name__ == "__main__":
    main()
