"""Two ETT models' validation forecasts and their mean: would one ensemble of both windows help?

For each ETT file and horizon, fits the 96-step window and the long window (336 steps, the least-squares
highway over all of them, the cell over the last 96: what `fitting.long_lookback` chooses up to 96 steps
ahead), or with --control the default window twice (seeds 0 and 1: as many members, one window), scores each
model on its own fold's validation rows (`api.evaluate_file`, every window whose targets are validation
rows; the guard's alpha is fitted on those windows, alike for every column) and the mean of the two
forecasts on the same windows. Validation only: --earlier-fold moves the fold back as in accuracy.py.
Results and what they showed: docs/accuracy.md, "Two windows in one ensemble".

    PYTHONPATH=$PWD .venv-bench/bin/python benchmarks/ett_blend.py [--earlier-fold] [--control]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from accuracy import DATA, ETT_HORIZONS, TRAIN_END, VAL_END, parse_overrides, say, settings

from rnncast import api
from rnncast.settings import ReadOptions

SHORT = {"seq_len": 96, "highway": 0}
LONG = {"seq_len": 336, "highway": 336, "cell_len": 96}


def pair(horizon: int, control: bool) -> tuple[dict, dict]:
    """The two models' --set values: both windows, or (control) the default window with seeds 0 and 1."""
    if not control:
        return SHORT, LONG
    default = LONG if horizon <= 96 else SHORT
    return default, {**default, "seed": 1}


def validation_forecast(frame: pd.DataFrame, cut: int, end: int, horizon: int, values: dict, tmp: Path):
    """(forecasts, actual) of one default fit with `values` set, on the windows whose targets are rows [cut, end)."""
    seq_len = values["seq_len"]
    val_frac = (end - cut - horizon + 1) / (end - seq_len - horizon + 1)  # windows: validation / all
    overrides = parse_overrides([f"{k}={v}" for k, v in values.items()])
    s = settings(overrides, ReadOptions(targets=("OT",)), horizon=horizon, val_frac=val_frac)
    fit_csv, val_csv, model = tmp / "fit.csv", tmp / "val.csv", tmp / "m.rnncast"
    frame.iloc[:end].to_csv(fit_csv, index=False)
    result = api.fit(fit_csv, s, model_path=model)
    assert result.plan.members[0].split.cut == cut, result.plan.members[0].split.cut
    frame.iloc[cut - seq_len : end].to_csv(val_csv, index=False)
    ev = api.evaluate_file(model, val_csv, levels=(80.0,), every=True)
    assert ev.windows == end - cut - horizon + 1, ev.windows
    return next(iter(ev.forecasts.values())), ev.actual


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--earlier-fold", action="store_true", help="validation targets rows [5760, 8640)")
    ap.add_argument("--control", action="store_true", help="the default window twice (seeds 0, 1), not both windows")
    ap.add_argument("--horizons", type=int, nargs="+", default=list(ETT_HORIZONS))
    ap.add_argument("--json", type=Path, help="also write every number here")
    args = ap.parse_args()
    back = VAL_END - TRAIN_END if args.earlier_fold else 0
    cut, end = TRAIN_END - back, VAL_END - back
    out = {}
    with tempfile.TemporaryDirectory(prefix="rnncast-blend-") as tmp_name:
        for name in ("ETTh1", "ETTh2"):
            frame = pd.read_csv(DATA / "ett" / f"{name}.csv", usecols=["date", "OT"])
            std = frame["OT"].to_numpy(np.float64)[:cut].std()  # z-score with the fold's training rows
            for horizon in args.horizons:
                (a, actual), (b, _) = (
                    validation_forecast(frame, cut, end, horizon, values, Path(tmp_name))
                    for values in pair(horizon, args.control)
                )
                mse = {
                    k: float(np.mean(((f - actual) / std) ** 2)) for k, f in (("a", a), ("b", b), ("mean", (a + b) / 2))
                }
                out[f"{name} {horizon}"] = mse
                say(f"{name} {horizon}: " + ", ".join(f"{k} {v:.4f}" for k, v in mse.items()))
    print(json.dumps(out, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
