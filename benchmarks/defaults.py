"""Choose defaults on validation windows only: each candidate setting's validation MASE on several series.

Every number here comes from `fit`'s own validation windows (the latest 20% of each series); no test
window is read. The score per dataset is the network's validation MASE (pooled over series for
many series) divided by the best naive baseline's on the same windows: below 1 beats both naive
forecasts. The network's rows are the guarded forecast, each window scored with weights fitted on
the other half of the windows, as `fit` prints them.

    .venv/bin/python benchmarks/defaults.py                       # the defaults
    .venv/bin/python benchmarks/defaults.py --set ensemble=5 --set lr=0.003
    .venv/bin/python benchmarks/defaults.py --data elec,m4w --seeds 0,1

Data: sample_data/elec_equip.csv (monthly), macrodata realgdp and cpi (quarterly), ETTh1 OT's first
4,000 hourly rows, and 60 M4 Weekly series (seeded choice) as one global model; ../shared/data is
needed for the last two.
"""

from __future__ import annotations

import argparse
import io
import time
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pandas as pd

from rnncast import api
from rnncast.metrics import POOLED
from rnncast.settings import Layout, NetworkOptions, ReadOptions, Settings, WindowConfig
from rnncast.train import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def m4_weekly(n: int = 60, seed: int = 0) -> str:
    """`n` M4 Weekly training series (seeded choice) as long CSV text, every series ending on one Sunday."""
    train = pd.read_csv(SHARED / "m4" / "Weekly-train.csv")
    chosen = sorted(np.random.default_rng(seed).choice(len(train), n, replace=False))
    frames = []
    for i in chosen:
        row = train.iloc[i]
        values = row.iloc[1:].dropna().to_numpy(float)
        dates = pd.date_range(end="2020-12-27", periods=len(values), freq="W-SUN")
        frames.append(pd.DataFrame({"id": row.iloc[0], "date": dates, "value": values}))
    return pd.concat(frames).to_csv(index=False)


def datasets() -> dict[str, tuple[object, Settings]]:
    """name: (source, settings with what the data needs and nothing else)."""
    out = {
        "elec": (ROOT / "sample_data" / "elec_equip.csv", Settings()),
        "gdp": (ROOT / "sample_data" / "macrodata.csv", Settings(read=ReadOptions(targets=("realgdp",)))),
        "cpi": (ROOT / "sample_data" / "macrodata.csv", Settings(read=ReadOptions(targets=("cpi",)))),
    }
    if SHARED.exists():
        ett = pd.read_csv(SHARED / "ett" / "ETTh1.csv", usecols=["date", "OT"]).iloc[:4000].to_csv(index=False)
        out["ett4k"] = (ett, Settings())
        out["ett"] = (SHARED / "ett" / "ETTh1.csv", Settings(read=ReadOptions(targets=("OT",), features=())))
        out["m4w"] = (m4_weekly(), Settings(layout=Layout(id_col="id"), windows=WindowConfig(horizon=13)))
    return out


def override(settings: Settings, assignments: list[str]) -> Settings:
    """KEY=VALUE for any field of NetworkOptions, TrainConfig or WindowConfig."""
    for item in assignments:
        key, value = item.split("=", 1)
        for part, cls in (("network", NetworkOptions), ("train", TrainConfig), ("windows", WindowConfig)):
            names = {f.name: f for f in fields(cls)}
            if key in names:
                old = getattr(getattr(settings, part), key)
                kind = type(old) if old is not None else (int if value.isdigit() else float)
                if old is None and str(names[key].type).startswith("str"):  # loss: None picks mae or mse
                    kind = str
                parsed = value.lower() in ("1", "true", "yes") if kind is bool else kind(value)
                settings = replace(settings, **{part: replace(getattr(settings, part), **{key: parsed})})
                break
        else:
            raise SystemExit(f"unknown setting {key!r}")
    return settings


def score(result) -> tuple[float, float]:
    """(network MASE / best baseline MASE, network MASE), pooled over series and targets."""
    cell = result.artifact.meta["model"]["cell"]
    rows = [s for sid, s in result.scores if sid == POOLED or not result.plan.layout.many]
    net = np.mean([s.mase for s in rows if s.model == cell])
    base = min(np.mean([s.mase for s in rows if s.model == m]) for m in {s.model for s in rows} - {cell})
    return net / base, net


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", action="append", default=[], help="KEY=VALUE (repeatable)")
    parser.add_argument("--data", default="", help="comma-separated subset of: elec,gdp,cpi,ett4k,ett,m4w")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds; the ratio is averaged")
    args = parser.parse_args()
    wanted = set(args.data.split(",")) - {""}
    ratios = []
    for name, (source, base) in datasets().items():
        if wanted and name not in wanted:
            continue
        runs, started = [], time.perf_counter()
        for seed in (int(s) for s in args.seeds.split(",")):
            settings = override(base, args.set + [f"seed={seed}", "threads=1"])
            text = io.StringIO(source) if isinstance(source, str) else source
            runs.append(score(api.fit(text, settings, model_path=None)))
        ratio, net = np.mean(runs, axis=0)
        ratios.append(ratio)
        print(f"{name:6s} val MASE {net:.4f}  vs best naive {ratio:.3f}  ({time.perf_counter() - started:.0f} s)")
    print(f"mean ratio {np.mean(ratios):.3f}  (geometric {np.exp(np.mean(np.log(ratios))):.3f})  {' '.join(args.set)}")


if __name__ == "__main__":
    main()
