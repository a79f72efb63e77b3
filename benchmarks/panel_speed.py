"""Many-series throughput: 10,000 series x 500 points through one global model vs the single-series path.

Both paths run train.fit's own loop for one epoch over the same number of training windows (a random
subset: a full epoch over ~3.5 million windows takes hours on 2 cores), with the same network and
batch size; windows/s = windows / seconds. The many-series windows are gathered through index
tensors over one unfolded tensor (windowing.plan_windows), the single-series ones are contiguous views
(windowing.make_windows).

    .venv/bin/python benchmarks/panel_speed.py                 # the issue's case, ~1-2 min on 2 cores
    .venv/bin/python benchmarks/panel_speed.py --series 1000   # smaller
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd
import torch

from rnncast import fitting, windowing
from rnncast import train as tr
from rnncast.collection import Collection
from rnncast.model import Forecaster, ModelConfig
from rnncast.reading import Series
from rnncast.settings import Layout, NetworkOptions, WindowConfig


def synthetic_panel(n_series: int, length: int, seed: int = 0) -> Collection:
    """Hourly sines with per-series level, amplitude, phase and noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    index = pd.date_range("2024-01-01", periods=length, freq="h", name="date")
    series = []
    for _ in range(n_series):
        values = 10 + rng.uniform(0, 50) + rng.uniform(0.5, 5) * np.sin(2 * np.pi * t / 24 + rng.uniform(0, 6.3))
        values = values + rng.normal(0, 0.2, length)
        series.append(Series(values[:, None], index, ["value"], [], "date", "h"))
    return Collection([f"s{k}" for k in range(n_series)], series, Layout(wide=True))


def epoch_rate(model: torch.nn.Module, train: windowing.Windows, val: windowing.Windows, batch_size: int) -> float:
    """Windows per second of one train.fit epoch (its loop: gather, forward, backward, clip, step)."""
    result = tr.fit(model, train, val, tr.TrainConfig(epochs=1, batch_size=batch_size, patience=1))
    return len(train) / result.seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--series", type=int, default=10_000)
    ap.add_argument("--length", type=int, default=500)
    ap.add_argument("--windows", type=int, default=64 * 300, help="training windows timed per path")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--id-embedding", type=int, default=0, help="width of the series embedding (fit's default: 0)")
    ap.add_argument("--repeats", type=int, default=2, help="alternate the paths this many times; best of each")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)

    started = time.perf_counter()
    pnl = synthetic_panel(args.series, args.length)
    made = time.perf_counter()
    pp = windowing.plan(pnl, WindowConfig())
    pw = windowing.plan_windows(pp, with_id=args.id_embedding > 0)
    planned = time.perf_counter()
    # fit's network defaults (hidden 64), window norm "last" like the single-series reference (ModelConfig())
    cfg = fitting.model_config(pp, NetworkOptions(window_norm="last", id_embedding=args.id_embedding))
    sub = pw.train.starts[torch.randperm(len(pw.train), generator=g)[: args.windows]]
    many_train = windowing.Windows(pw.train.x, pw.train.y, sub)
    many_val = windowing.Windows(pw.val.x, pw.val.y, pw.val.starts[:1024])
    # the reference: one long series, plain contiguous windows (no index), as the single-series path took them
    one = torch.as_tensor(pp.members[0].scaling.transform(np.concatenate([s.values for s in pnl.series[:50]])),
                          dtype=torch.float32)  # fmt: skip
    w = windowing.make_windows(one, pp.seq_len, pp.horizon, 1)
    single_cfg = ModelConfig(n_inputs=1, n_targets=1, horizon=pp.horizon)
    single = many = 0.0
    for _ in range(args.repeats):  # alternate, so that a busy moment of the machine hits both
        torch.manual_seed(0)
        single = max(
            single,
            epoch_rate(Forecaster(single_cfg), w.take(0, args.windows), w.take(args.windows, 1024), args.batch_size),
        )
        torch.manual_seed(0)
        many = max(many, epoch_rate(Forecaster(cfg), many_train, many_val, args.batch_size))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"{args.series} series x {args.length} points, seq_len {pp.seq_len}, horizon {pp.horizon}, "
          f"{len(pw.train):,} training / {len(pw.val):,} validation windows, {args.threads} thread(s)")  # fmt: skip
    print(
        f"build series {made - started:.1f} s, split + scale + windows {planned - made:.1f} s, peak RSS {peak_mib:,.0f} MiB"
    )
    print("| path | windows/s | time per window vs single |\n| --- | ---: | ---: |")
    print(f"| single series (contiguous views) | {single:,.0f} | 1.00 |")
    print(
        f"| {args.series:,} series (index over one unfold, embedding {args.id_embedding}) | {many:,.0f} | {single / many:.2f} |"
    )


if __name__ == "__main__":
    main()
