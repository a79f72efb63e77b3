"""`make bench`: rnncast against a reference, each row a ratio of two timings taken in this run.

Rows (a markdown table on stdout, progress on stderr):
  1  one training epoch: rnncast's `train.fit` vs a bare PyTorch loop (unfold windows, index slicing)
  T  threads: the bare loop at torch's default thread count vs one thread (how --threads' default was chosen)
  2  ETTh1 OT, horizon 96: `api.fit` with its defaults vs the same model trained "the ordinary way"
     (Dataset + DataLoader, batch 32, fixed epochs), to the validation MSE that way ends with
  3  start-up: `rnncast --help` and `rnncast forecast` vs `python -c "import torch"` (the floor)
  4  a 1,000,000-row CSV: read + validate + window vs `pandas.read_csv` alone: time and peak RSS
  5  many series: measured by `make bench-panel` (benchmarks/panel_speed.py), named here
  G  GPU rows (CUDA only): epoch vs a bare cuDNN loop at batch 64 and 1024

Timings on a shared machine are noisy: reference and rnncast are interleaved and repeated, and
the fastest repeat (other load only adds time) or the median of back-to-back pairs is taken. Run: `make bench` (about 5 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from rnncast import api, collection, reading, windowing
from rnncast import train as tr
from rnncast.model import Forecaster, ModelConfig
from rnncast.settings import ONE, NetworkOptions, ReadOptions, Settings, WindowConfig

ROOT = Path(__file__).resolve().parents[1]
ETTH1 = next(p for p in (ROOT.parent / "shared/data/ett/ETTh1.csv", ROOT / "sample_data/ETTh1.csv") if p.exists())
SEQ_LEN, HORIZON, HIDDEN = 168, 96, 64  # ETTh1 hourly: rnncast's default seq_len, the usual horizon 96
TORCH_DEFAULT_THREADS = torch.get_num_threads()  # before rnncast sets its own


@dataclass
class Row:
    key: str
    what: str
    reference: str
    rnncast: str
    ratio: str  # rnncast / reference unless said otherwise
    target: str
    met: str


def say(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


MIN_TIMED = 0.5  # seconds: shorter epochs are timed in a loop of them, each pair's timings being this long at least


def seconds(f: Callable[[], object]) -> float:
    start = time.perf_counter()
    f()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start


# ---------------------------------------------------------------------------- the reference model and loop


class BareRNN(nn.Module):
    """The same network as rnncast's default, written as a tutorial would: nn.RNN + Linear, last-value norm."""

    def __init__(self, horizon: int, hidden: int = HIDDEN):
        super().__init__()
        self.horizon = horizon
        self.rnn = nn.RNN(1, hidden, batch_first=True)
        self.head = nn.Linear(hidden, horizon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        level = x[:, -1:, :]  # (B, 1, 1)
        out, _ = self.rnn(x - level)  # (B, L, hidden)
        return self.head(out[:, -1]).view(-1, self.horizon, 1) + level  # (B, H, 1)


def bare_epoch(model: nn.Module, opt, x: torch.Tensor, y: torch.Tensor, batch: int, steps: int | None = None) -> None:
    """One epoch of the plainest loop: shuffle, slice by index, zero_grad, forward, MSE, backward, clip, step."""
    model.train()
    order = torch.randperm(len(x), device=x.device)
    starts = range(0, len(x), batch)
    for start in list(starts)[:steps]:
        idx = order[start : start + batch]
        opt.zero_grad(set_to_none=True)
        loss = nn.functional.mse_loss(model(x[idx]), y[idx])
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()


@torch.no_grad()
def bare_validate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 512) -> float:
    """The validation pass any loop with early stopping makes: MSE over the held-out windows."""
    model.eval()
    total = sum(float(((model(x[s : s + batch]) - y[s : s + batch]) ** 2).sum()) for s in range(0, len(x), batch))
    return total / y.numel()


def plan_one(series: reading.Series, wc: WindowConfig) -> windowing.Member:
    """fit's plan for one series (a collection of one): the series with its split and scaling."""
    return windowing.plan(collection.Collection([ONE], [series]), wc).members[0]


def ett_windows(device: torch.device) -> tuple[windowing.Windows, windowing.Windows]:
    """ETTh1 OT scaled on its training rows and cut into (views of) windows on `device`."""
    s = reading.read_series(ETTH1, ReadOptions(targets=("OT",)))
    m = plan_one(s, WindowConfig(seq_len=SEQ_LEN, horizon=HORIZON))
    scaled = torch.as_tensor(m.scaling.transform(s.values), dtype=torch.float32, device=device)  # (T, 1)
    w = windowing.make_windows(scaled, SEQ_LEN, HORIZON, 1)
    return w.take(0, m.split.n_train), w.take(m.split.val_start, m.split.n_val)


# ---------------------------------------------------------------------------- row 1 (and G): epoch vs bare loop


@dataclass
class EpochTiming:
    bare: float  # fastest bare-loop epoch, seconds
    ours: float  # fastest rnncast epoch, seconds
    ratio: float  # median over repeats of rnncast / bare, each pair run back to back


def epoch_ratio(device: torch.device, batch: int, repeats: int) -> EpochTiming:
    """Bare loop epoch vs rnncast epoch, each with one validation pass, interleaved in pairs.

    The ratio is the median of the pairs' ratios: the two runs of a pair see about the same load
    on a shared machine, while load can change between pairs.
    """
    train_w, val_w = ett_windows(device)
    torch.manual_seed(0)
    bare = BareRNN(HORIZON).to(device)
    opt = torch.optim.Adam(bare.parameters(), lr=1e-3)
    model = Forecaster(ModelConfig(horizon=HORIZON, hidden_size=HIDDEN)).to(device)
    cfg = tr.TrainConfig(epochs=1, batch_size=batch, lr=1e-3, threads=1)
    x, y = train_w.x, train_w.y
    if device.type == "cuda":  # warm cuDNN and the allocator once
        bare_epoch(bare, opt, x, y, batch, steps=5)
        tr.fit(model, train_w.take(0, 5 * batch), val_w.take(0, batch), cfg)
    bare_s, ours_s = [], []
    runs = [
        ("bare", lambda: (bare_epoch(bare, opt, x, y, batch), bare_validate(bare, val_w.x, val_w.y))),
        ("ours", lambda: tr.fit(model, train_w, val_w, cfg)),
    ]
    torch.set_num_threads(1)
    # an epoch of a few steps (a GPU at batch 1024: 40 ms) is timed over enough epochs to last MIN_TIMED
    inner = max(1, math.ceil(MIN_TIMED / seconds(runs[0][1])))
    for i in range(repeats):
        torch.set_num_threads(1)
        for name, run in runs if i % 2 == 0 else runs[::-1]:
            (bare_s if name == "bare" else ours_s).append(
                seconds(lambda run=run: [run() for _ in range(inner)]) / inner
            )
        say(f"epoch {device.type} batch {batch}: bare {bare_s[-1]:.2f} s, rnncast {ours_s[-1]:.2f} s")
    ratio = statistics.median(o / b for o, b in zip(ours_s, bare_s, strict=True))
    return EpochTiming(min(bare_s), min(ours_s), ratio)


def row_epoch(repeats: int) -> Row:
    t = epoch_ratio(torch.device("cpu"), 64, repeats)
    ratio = t.ratio
    return Row(
        "1",
        f"training epoch + validation pass, ETTh1 OT ({SEQ_LEN}→{HORIZON}, hidden {HIDDEN}, batch 64, "
        f"1 thread, CPU); fastest of {repeats}, ratio the median of {repeats} back-to-back pairs",
        f"bare loop {t.bare:.2f} s",
        f"train.fit {t.ours:.2f} s",
        f"{ratio:.3f}×",
        "≤ 1.05×",
        "yes" if ratio <= 1.05 else "no",
    )


def row_threads(repeats: int, steps: int = 40) -> Row:
    """The bare loop for `steps` batches at torch's default thread count vs one thread.

    Reports the fastest and the slowest repeat of each: on a shared machine the fastest shows
    the idle case and the slowest the busy one, and the default has to suit both.
    """
    train_w, _ = ett_windows(torch.device("cpu"))
    torch.manual_seed(0)
    bare = BareRNN(HORIZON)
    opt = torch.optim.Adam(bare.parameters(), lr=1e-3)
    many = TORCH_DEFAULT_THREADS
    times: dict[int, list[float]] = {1: [], many: []}
    for i in range(repeats):
        for n in (1, many) if i % 2 == 0 else (many, 1):
            torch.set_num_threads(n)
            times[n].append(seconds(lambda: bare_epoch(bare, opt, train_w.x, train_w.y, 64, steps=steps)))
        say(f"threads: 1 → {times[1][-1]:.2f} s, {many} → {times[many][-1]:.2f} s ({steps} steps)")
    torch.set_num_threads(1)
    fast = min(times[1]) / min(times[many])
    slow = max(times[1]) / max(times[many])
    return Row(
        "T",
        f"{steps} training steps at 1 thread (rnncast's default) vs torch's default ({many} threads); "
        f"fastest / slowest of {repeats} repeats",
        f"{many} threads {min(times[many]):.2f} / {max(times[many]):.2f} s",
        f"1 thread {min(times[1]):.2f} / {max(times[1]):.2f} s",
        f"{fast:.3f}× / {slow:.3f}×",
        "≤ 1.05× when idle (fastest), < 1× when busy",
        "yes" if fast <= 1.05 and slow < 1 else "no",
    )


# ---------------------------------------------------------------------------- row 2: time to accuracy


class WindowDataset(Dataset):
    """Windows by __getitem__, one at a time, as tutorials and the big libraries feed a DataLoader."""

    def __init__(self, scaled: np.ndarray, first: int, count: int):
        self.scaled, self.first, self.count = scaled, first, count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.first + i
        window = self.scaled[s : s + SEQ_LEN + HORIZON]
        return torch.from_numpy(window[:SEQ_LEN]), torch.from_numpy(window[SEQ_LEN:])


def ordinary_fit(epochs: int, batch: int) -> tuple[float, float]:
    """The ordinary way: read, scale, DataLoader(batch, shuffle), fixed epochs, evaluate at the end.

    Same split and scaler as rnncast so both validation MSEs are over the same windows and units.
    Returns (seconds, validation MSE of the final weights).
    """
    from sklearn.preprocessing import StandardScaler

    start = time.perf_counter()
    values = pd.read_csv(ETTH1)[["OT"]].to_numpy(np.float64)
    split = windowing.plan_split(len(values), SEQ_LEN, HORIZON, 0.2)
    scaled = StandardScaler().fit(values[: split.cut]).transform(values).astype(np.float32)
    loader = DataLoader(WindowDataset(scaled, 0, split.n_train), batch_size=batch, shuffle=True)
    val = DataLoader(WindowDataset(scaled, split.val_start, split.n_val), batch_size=512)
    torch.manual_seed(0)
    model = BareRNN(HORIZON)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(epochs):
        model.train()
        for x, y in loader:
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
        say(f"ordinary way: epoch {epoch + 1}/{epochs} at {time.perf_counter() - start:.1f} s")
    model.eval()
    with torch.no_grad():
        sq = sum(float(((model(x) - y) ** 2).sum()) for x, y in val)
    return time.perf_counter() - start, sq / (split.n_val * HORIZON)


class _OverBudget(Exception):
    pass


def rnncast_fit(target_mse: float, budget_s: float) -> tuple[float | None, float, float, int, bool]:
    """`api.fit` with its defaults. Returns (seconds to reach target_mse, whole fit seconds, best MSE, epochs, cut)."""
    start = time.perf_counter()
    reached: list[float] = []
    best = [float("inf")]
    epochs = [0]

    def on_epoch(log: tr.EpochLog) -> None:
        now = time.perf_counter() - start
        epochs[0], best[0] = log.epoch, min(best[0], log.val_loss)
        if log.val_loss <= target_mse and not reached:
            reached.append(now)
        say(f"rnncast fit: epoch {log.epoch} val {log.val_loss:.4f} at {now:.1f} s")
        if now > budget_s:
            raise _OverBudget

    cut = False
    with tempfile.TemporaryDirectory() as tmp:
        try:
            api.fit(
                ETTH1,
                Settings(read=ReadOptions(targets=("OT",)), windows=WindowConfig(horizon=HORIZON)),
                model_path=Path(tmp) / "m.rnncast",
                on_epoch=on_epoch,
            )
        except _OverBudget:
            cut = True
    return (reached[0] if reached else None), time.perf_counter() - start, best[0], epochs[0], cut


def row_accuracy(ref_epochs: int, budget_s: float) -> list[Row]:
    torch.set_num_threads(1)  # both at one thread: this row isolates loop, batching and stopping (see row T)
    ref_s, ref_mse = ordinary_fit(ref_epochs, 32)
    say(f"ordinary way: {ref_s:.1f} s, validation MSE {ref_mse:.4f}")
    to_target, whole, best, epochs, cut = rnncast_fit(ref_mse, budget_s)
    what = (
        f"ETTh1 OT, horizon {HORIZON}: the ordinary way (Dataset + DataLoader, batch 32, {ref_epochs} epochs, "
        f"1 thread) ends at validation MSE {ref_mse:.4f}; rnncast fit with its defaults"
    )
    reached = to_target is not None
    rows = [
        Row(
            "2a",
            what + " — time until its validation MSE first reaches that",
            f"{ref_s:.1f} s",
            f"{to_target:.1f} s" if reached else f"not reached (best {best:.4f})",
            f"{to_target / ref_s:.3f}× ({ref_s / to_target:.1f}× sooner)" if reached else "—",
            "several times sooner",
            "yes" if reached and ref_s / to_target >= 3 else "no",
        ),
        Row(
            "2b",
            "the same rnncast fit to its end (early stopping waits --patience epochs after the best), "
            "incl. reading, metrics and saving",
            f"{ref_s:.1f} s",
            f"{whole:.1f} s, {epochs} epochs, best MSE {best:.4f}" + (" (cut by the bench budget)" if cut else ""),
            f"{whole / ref_s:.3f}×",
            "— (the whole run, for the record)",
            "—",
        ),
    ]
    return rows


# ---------------------------------------------------------------------------- row 3: start-up


def row_startup(repeats: int) -> list[Row]:
    exe = sys.executable
    rnncast = str(Path(exe).parent / "rnncast")
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "m.rnncast"
        api.fit(
            ROOT / "sample_data/elec_equip.csv",
            Settings(network=NetworkOptions(hidden_size=8, window_norm="last"), train=tr.TrainConfig(epochs=1)),
            model_path=model,
        )
        commands = {
            "torch": [exe, "-c", "import torch"],
            "help": [rnncast, "--help"],
            "forecast": [rnncast, "forecast", "--model", str(model), "--format", "csv"],
        }
        times: dict[str, list[float]] = {k: [] for k in commands}
        # as installed: compiled bytecode cached (a PYTHONDONTWRITEBYTECODE here would recompile rnncast
        # on every start); one round unmeasured, to write it and warm the file cache
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        for cmd in commands.values():
            subprocess.run(cmd, check=True, capture_output=True, env=env)
        for i in range(repeats):  # interleaved, alternating order: each round sees about the same load
            for name, cmd in commands.items() if i % 2 == 0 else reversed(commands.items()):
                start = time.perf_counter()
                subprocess.run(cmd, check=True, capture_output=True, env=env)
                times[name].append(time.perf_counter() - start)
        say("start-up: " + ", ".join(f"{k} {min(v):.2f} s" for k, v in times.items()))
    floor = min(times["torch"])
    help_s, fc_s = min(times["help"]), min(times["forecast"])
    fc_ratio = statistics.median(f / t for f, t in zip(times["forecast"], times["torch"], strict=True))
    check = "import sys; from rnncast.cli import cli; print('torch' in sys.modules)"
    help_imports_torch = subprocess.run([exe, "-c", check], capture_output=True, text=True).stdout.strip() == "True"
    return [
        Row(
            "3a",
            f"`rnncast --help` vs `python -c 'import torch'` (min of {repeats}); imports torch: "
            f"{'yes' if help_imports_torch else 'no'}",
            f"{floor:.2f} s",
            f"{help_s:.2f} s",
            f"{help_s / floor:.3f}×",
            "< 1×, no torch",
            "yes" if help_s < floor and not help_imports_torch else "no",
        ),
        Row(
            "3b",
            f"`rnncast forecast` (saved model, csv out) vs `python -c 'import torch'`: fastest of {repeats} "
            f"each, ratio the median of {repeats} back-to-back pairs",
            f"{floor:.2f} s",
            f"{fc_s:.2f} s",
            f"{fc_ratio:.3f}×",
            "≤ 1.2×",
            "yes" if fc_ratio <= 1.2 else f"no: {fc_s - floor:.2f} s over",
        ),
    ]


# ---------------------------------------------------------------------------- row 4: a million-row CSV

BIG_ROWS = 1_000_000
BIG_COLUMNS = ("y", "f1", "f2")  # target + two features, beside a date column


def write_big_csv(path: Path, rows: int = BIG_ROWS) -> None:
    rng = np.random.default_rng(0)
    t = np.arange(rows)
    pd.DataFrame(
        {
            "date": pd.date_range("1900-01-01", periods=rows, freq="h").strftime("%Y-%m-%d %H:%M:%S"),
            "y": np.round(10 + np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.1, rows), 4),
            "f1": np.round(rng.normal(size=rows), 4),
            "f2": np.round(rng.normal(size=rows), 4),
        }
    ).to_csv(path, index=False)


def _rss() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS"))


def child_runs(script: str, path: Path, repeats: int, report: Callable[[dict], None]) -> dict[str, list[dict]]:
    """`script --child KIND PATH` in a fresh process, for pandas then rnncast, `repeats` times: each child's
    last stdout line (JSON) by kind; `report(runs)` after each round."""
    runs: dict[str, list[dict]] = {"pandas": [], "rnncast": []}
    for _ in range(repeats):
        for kind in runs:
            out = subprocess.run(
                [sys.executable, script, "--child", kind, str(path)], check=True, capture_output=True, text=True
            )
            runs[kind].append(json.loads(out.stdout.strip().splitlines()[-1]))
        report(runs)
    return runs


def child_read(kind: str, path: str) -> None:
    """Run in a fresh process: time and peak RSS (over the RSS after imports) of one way of reading."""
    import sklearn.preprocessing  # noqa: F401  (imports are row 3's business, not this row's)

    base = _rss()
    start = time.perf_counter()
    views = None
    if kind == "pandas":
        pd.read_csv(path)
    else:
        series = reading.read_series(path, ReadOptions(targets=("y",), features=("f1", "f2")))
        m = plan_one(series, WindowConfig(seq_len=SEQ_LEN, horizon=24))
        scaled = torch.as_tensor(m.scaling.transform(series.values), dtype=torch.float32)  # (T, F)
        w = windowing.make_windows(scaled, SEQ_LEN, 24, series.n_targets)
        train_w = w.take(0, m.split.n_train)
        views = train_w.x.untyped_storage().data_ptr() == scaled.untyped_storage().data_ptr()
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": elapsed, "peak": peak - base, "views": views}))


def row_big_csv(repeats: int) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.csv"
        write_big_csv(path)
        say(f"wrote {BIG_ROWS:,} rows ({path.stat().st_size / 1e6:.0f} MB)")
        runs = child_runs(
            __file__,
            path,
            repeats,
            lambda runs: say(f"big CSV: pandas {runs['pandas'][-1]}, rnncast {runs['rnncast'][-1]}"),
        )
    pd_s = min(r["seconds"] for r in runs["pandas"])
    ours_s = min(r["seconds"] for r in runs["rnncast"])
    pd_mb = min(r["peak"] for r in runs["pandas"]) / 1e6
    ours_mb = min(r["peak"] for r in runs["rnncast"]) / 1e6
    data_mb = BIG_ROWS * len(BIG_COLUMNS) * 4 / 1e6
    limit = pd_mb + 3 * data_mb
    views = all(r["views"] for r in runs["rnncast"])
    return [
        Row(
            "4a",
            f"{BIG_ROWS:,}-row CSV (date + 3 numeric columns): read + validate + scale + window (seq_len {SEQ_LEN}) "
            "vs `pandas.read_csv` alone",
            f"{pd_s:.2f} s",
            f"{ours_s:.2f} s",
            f"{ours_s / pd_s:.3f}×",
            "—",
            "—",
        ),
        Row(
            "4b",
            f"peak RSS over the same (windows are views of the series: {'yes' if views else 'NO'})",
            f"{pd_mb:.0f} MB",
            f"{ours_mb:.0f} MB",
            f"{ours_mb / pd_mb:.3f}×",
            f"≤ pandas + 3 × float32 data = {limit:.0f} MB",
            "yes" if ours_mb <= limit and views else "no",
        ),
    ]


# ---------------------------------------------------------------------------- GPU rows


def rows_gpu(repeats: int) -> list[Row]:
    if not torch.cuda.is_available():
        return [Row("G", "GPU epoch vs bare cuDNN loop", "—", "—", "—", "≤ 1.05×", "not measured: no CUDA")]
    device = torch.device("cuda")
    name = torch.cuda.get_device_name(device)
    rows = []
    timings = {}
    for batch in (64, 1024):
        t = timings[batch] = epoch_ratio(device, batch, repeats)
        rows.append(
            Row(
                f"G{batch}",
                f"training epoch + validation pass on {name}, batch {batch}, fp32",
                f"bare cuDNN loop {t.bare:.3f} s",
                f"train.fit {t.ours:.3f} s",
                f"{t.ratio:.3f}×",
                "≤ 1.05×",
                "yes" if t.ratio <= 1.05 else "no",
            )
        )
    return rows


# ---------------------------------------------------------------------------- the table


def table(rows: list[Row]) -> str:
    head = "| # | what is compared | reference | rnncast | ratio (rnncast / reference) | target | met |"
    lines = [head, "| --- | --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r.key} | {r.what} | {r.reference} | {r.rnncast} | {r.ratio} | {r.target} | {r.met} |" for r in rows]
    return "\n".join(lines)


def machine() -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "CPU"
    )
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU"
    return f"{os.cpu_count()} CPU cores ({cpu}), {gpu}; torch {torch.__version__}, Python {sys.version.split()[0]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats per training timing")
    parser.add_argument("--ref-epochs", type=int, default=8, help="fixed epochs of the ordinary way (row 2)")
    parser.add_argument("--budget", type=float, default=150, help="seconds after which row 2's rnncast fit is cut")
    parser.add_argument("--only", help="comma-separated rows to run: 1,T,2,3,4,G")
    args = parser.parse_args()
    if args.child:
        child_read(*args.child)
        return
    only = set(args.only.split(",")) if args.only else {"1", "T", "2", "3", "4", "G"}
    started = time.perf_counter()
    rows: list[Row] = []
    if "1" in only:
        rows.append(row_epoch(args.repeats + 2))
    if "T" in only:
        rows.append(row_threads(args.repeats + 2))
    if "2" in only:
        rows += row_accuracy(args.ref_epochs, args.budget)
    if "3" in only:
        rows += row_startup(7)
    if "4" in only:
        rows += row_big_csv(2)
    rows.append(Row("5", "many series: windows per second", "—", "—", "—", "—", "see `make bench-panel`"))
    if "G" in only:
        rows += rows_gpu(args.repeats)
    print(f"rnncast benchmarks, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {machine()}")
    print(f"whole run {time.perf_counter() - started:.0f} s\n")
    print(table(rows))


if __name__ == "__main__":
    main()
