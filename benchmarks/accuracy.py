"""The standard univariate ETTh1 (OT) benchmark, run through rnncast's own library code.

Protocol (Informer / DLinear code, see ../shared/data/README.md): rows [0, 8640) train,
validation targets [8640, 11520), test targets [11520, 14400); z-score fitted on the training
rows (population std); MSE and MAE on scaled values over every stride-1 test window and step.
Input windows may reach back `seq_len` rows into the previous split. Early stopping looks at the
validation windows only; the test rows are scored once, at the end.

    make bench-accuracy                     # every horizon, the README's table
    python benchmarks/accuracy.py --horizons 96 --epochs 3    # a quick look
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from rnncast import intervals, prepare, reading
from rnncast import train as tr
from rnncast.model import Forecaster, ModelConfig
from rnncast.settings import ONE, ReadOptions

ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = (ROOT.parent / "shared" / "data" / "ett" / "ETTh1.csv", ROOT / "sample_data" / "ETTh1.csv")
TRAIN_END, VAL_END, TEST_END = 8640, 11520, 14400
HORIZONS = (24, 96, 192, 336, 720)

# Published univariate ETTh1 (OT) test MSE: Zeng et al. 2023 ("Are Transformers Effective for
# Time Series Forecasting?", Table 3) and Zhou et al. 2021 (Informer) at 24.
PUBLISHED = {
    "repeat-last": {96: 0.069, 192: 0.092, 336: 0.113, 720: 0.129},
    "NLinear": {96: 0.053, 192: 0.069, 336: 0.081, 720: 0.080},
    "DLinear": {96: 0.056, 192: 0.071, 336: 0.098, 720: 0.189},
    "Informer": {24: 0.098},
}


@dataclass
class Row:
    horizon: int
    seq_len: int  # chosen on validation
    mse: float
    mae: float
    last_mse: float  # repeat-last, computed here on the same windows
    last_mae: float
    val_mse: float
    epochs: int
    seconds: float
    coverage_80: float = float("nan")  # % of test values inside rnncast's conformal intervals
    coverage_95: float = float("nan")


SEASON = 24  # hourly data: the daily cycle, as fit infers it


def split_windows(scaled: torch.Tensor, seq_len: int, horizon: int) -> tuple[prepare.Windows, ...]:
    """Train / validation / test windows by where their targets fall (stride 1)."""
    w = prepare.make_windows(scaled, seq_len, horizon, n_targets=1)

    def targets_in(first: int, end: int) -> prepare.Windows:
        start = first - seq_len  # window i has targets at rows i+seq_len .. i+seq_len+horizon-1
        return w.take(max(start, 0), end - max(first, seq_len) - horizon + 1)

    return targets_in(0, TRAIN_END), targets_in(TRAIN_END, VAL_END), targets_in(VAL_END, TEST_END)


def better_base(scaled: torch.Tensor, n_train: int, seq_len: int, horizon: int) -> str:
    """What fit's --window-norm auto becomes (prepare.better_base) for the training rows [0, TRAIN_END)."""
    rows = scaled[:TRAIN_END].double().numpy()  # (TRAIN_END, 1), already scaled
    series = reading.Series(rows, pd.RangeIndex(TRAIN_END), ["OT"], [], None, None)
    split = prepare.Split(seq_len, horizon, cut=TRAIN_END, n_train=n_train, n_val=0)
    identity = prepare.Scaling("standard", np.zeros(1), np.ones(1))
    return prepare.better_base([prepare.Member(ONE, series, split, identity)], seq_len, horizon, SEASON)


def train_one(scaled: torch.Tensor, seq_len: int, horizon: int, args: argparse.Namespace) -> tuple:
    """Train one Elman RNN on the training windows, early-stopped on validation: (model, result, windows)."""
    windows = split_windows(scaled, seq_len, horizon)
    torch.manual_seed(args.seed)
    norm = args.window_norm
    if norm == "auto":  # as fit resolves it: the naive forecast that wins on the training rows
        norm = better_base(scaled, len(windows[0]), seq_len, horizon)
    print(f"    horizon {horizon}, seq_len {seq_len}: window norm {norm}", flush=True)
    config = ModelConfig(horizon=horizon, hidden_size=args.hidden_size, window_norm=norm, season=SEASON)
    model = Forecaster(config)
    cfg = tr.TrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, patience=args.patience, seed=args.seed
    )
    return model, tr.fit(model, windows[0], windows[1], cfg), windows


def run_horizon(scaled: torch.Tensor, horizon: int, args: argparse.Namespace) -> Row:
    """Pick seq_len by validation MSE among the candidates, then score the chosen model on the test rows once."""
    best = None
    seconds = 0.0
    for seq_len in args.seq_len:
        model, result, windows = train_one(scaled, seq_len, horizon, args)
        seconds += result.seconds
        print(f"    seq_len {seq_len}: val MSE {result.best_val_loss:.4f} ({result.epochs_run} epochs, "
              f"{result.seconds:.0f} s)", flush=True)  # fmt: skip
        if best is None or result.best_val_loss < best[1].best_val_loss:
            best = (model, result, windows, seq_len)
    model, result, (_, val_w, test_w), seq_len = best
    assert len(test_w) == TEST_END - VAL_END - horizon + 1
    nan = float("nan")
    if args.val_only:  # for choosing settings: the test rows stay unseen
        return Row(horizon, seq_len, nan, nan, nan, nan, result.best_val_loss, result.epochs_run, seconds)
    pred = tr.predict(model, test_w)  # (N, H, 1)
    last = test_w.x[:, -1:, :1].expand_as(test_w.y)  # repeat the last input value
    err, err_last = pred - test_w.y, last - test_w.y
    coverage = interval_coverage(model, val_w, test_w, pred)
    return Row(
        horizon,
        seq_len,
        mse=err.pow(2).mean().item(),
        mae=err.abs().mean().item(),
        last_mse=err_last.pow(2).mean().item(),
        last_mae=err_last.abs().mean().item(),
        val_mse=result.best_val_loss,
        epochs=result.epochs_run,
        seconds=seconds,
        coverage_80=coverage[80],
        coverage_95=coverage[95],
    )


def interval_coverage(model: Forecaster, val_w: prepare.Windows, test_w: prepare.Windows, pred: torch.Tensor) -> dict:
    """Coverage of the conformal intervals that `forecast --level` would give, calibrated on validation."""
    residuals = (val_w.y - tr.predict(model, val_w)).numpy()  # (N_val, H, 1), scaled units
    val_scales = intervals.window_scale(val_w.x.numpy())  # (N_val, 1)
    out = {}
    for level in (80, 95):
        lower, upper = intervals.bounds(pred.numpy(), residuals, level, val_scales, test_w.x.numpy())
        out[level] = float(100 * intervals.coverage(test_w.y.numpy(), lower, upper).mean())
    return out


def published(name: str, horizon: int) -> str:
    value = PUBLISHED[name].get(horizon)
    return "" if value is None else f"{value:.3f}"


def table(rows: list[Row]) -> str:
    head = (
        "| horizon | seq_len | RNN MSE | RNN MAE | repeat-last MSE (here) | repeat-last MAE (here) | repeat-last (pub.) "
        "| DLinear | NLinear | Informer | 80% / 95% coverage | epochs | seconds |"
    )
    lines = [head, "|" + "---:|" * (head.count("|") - 1)]
    for r in rows:
        lines.append(
            f"| {r.horizon} | {r.seq_len} | {r.mse:.4f} | {r.mae:.4f} | {r.last_mse:.4f} | {r.last_mae:.4f} | "
            f"{published('repeat-last', r.horizon)} | {published('DLinear', r.horizon)} | "
            f"{published('NLinear', r.horizon)} | {published('Informer', r.horizon)} | "
            f"{r.coverage_80:.1f} / {r.coverage_95:.1f} | {r.epochs} | {r.seconds:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--horizons", type=int, nargs="+", default=list(HORIZONS))
    parser.add_argument(
        "--seq-len",
        type=int,
        nargs="+",
        default=[48, 96, 168],
        help="candidates; each horizon keeps the best on validation",
    )
    parser.add_argument("--hidden-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--window-norm", default="auto", help="as fit's --window-norm (default auto)")
    parser.add_argument("--threads", type=int, default=1, help="1 is fastest for this small RNN on CPU")
    parser.add_argument("--val-only", action="store_true", help="train and report validation MSE only (tuning)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    path = next((p for p in CANDIDATES if p.exists()), None)
    if path is None:
        raise SystemExit("ETTh1.csv not found in ../shared/data/ett or sample_data")
    series = reading.read_series(path, ReadOptions(targets=("OT",)))
    scaling = prepare.fit_scaling(series.values[:TRAIN_END], "standard")  # population std, training rows only
    scaled = torch.as_tensor(scaling.transform(series.values[:TEST_END]), dtype=torch.float32)  # (T, 1)
    print(f"{path}: OT mean {scaling.shift[0]:.6f}, std {scaling.scale[0]:.6f}; seq_len {args.seq_len}, "
          f"hidden {args.hidden_size}, epochs <= {args.epochs}, patience {args.patience}, lr {args.lr}", flush=True)  # fmt: skip
    started = time.perf_counter()
    rows = []
    for horizon in args.horizons:
        rows.append(run_horizon(scaled, horizon, args))
        r = rows[-1]
        print(f"  horizon {horizon}, seq_len {r.seq_len}: test MSE {r.mse:.4f} MAE {r.mae:.4f} (repeat-last {r.last_mse:.4f}), "
              f"val MSE {r.val_mse:.4f}, {r.epochs} epochs, {r.seconds:.0f} s", flush=True)  # fmt: skip
    print()
    print(table(rows))
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
