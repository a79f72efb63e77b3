"""The training loop: shuffle, forward, loss (--loss; fit: MAE for many series, else MSE), backward, clip, Adam step;
early stopping on validation.

It trains whatever `nn.Module` it is given on whatever windows it is given.
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from rnncast import distributed
from rnncast.errors import TrainingError, UsageError
from rnncast.model import out_of_memory

if TYPE_CHECKING:
    from rnncast.windowing import Windows  # pandas: not imported by a forecast, which trains nothing


@dataclass
class TrainConfig:
    epochs: int | None = None  # upper bound; None: from the data size (resolve); early stopping usually ends sooner
    batch_size: int | None = None  # windows per optimizer step (all ranks together); None: see `resolve`
    lr: float | None = None  # Adam learning rate; None: see `resolve`
    clip: float = 1.0  # max gradient norm; 0 disables (plain RNNs can explode without it)
    patience: int | None = None  # epochs without a better validation loss before stopping; None: from the data size
    seed: int = 0  # same seed, same data, same threads: bit-identical CPU runs
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    threads: int | None = None  # CPU threads for torch; None: $OMP_NUM_THREADS, else 1 (see default_threads)
    weight_decay: float = 0.0  # > 0: AdamW's decoupled weight decay
    schedule: str = "none"  # none | plateau (halve lr when validation stalls) | onecycle (over --epochs)
    loss: str | None = None  # mse | mae | huber (delta 1, scaled units): trained on, early stopping's criterion;
    # None: fitting.resolved_loss (mae for many series, else mse), or mse where training is called directly
    refit: bool = False  # then train a fresh network on every window, validation's too, for the epochs chosen


@dataclass
class EpochLog:
    epoch: int  # 1-based
    epochs: int
    train_loss: float
    val_loss: float
    best: bool  # this epoch improved validation loss
    loss: str = "mse"  # which loss the two numbers are (--loss)


@dataclass
class TrainResult:
    best_epoch: int
    epochs_run: int
    best_val_loss: float
    seconds: float
    device: str
    history: list[EpochLog] = field(default_factory=list)
    member_epochs: list[int] = field(default_factory=list)  # an ensemble's: each member's own best (or refit) epoch
    config: TrainConfig | None = None  # what ran: epochs and patience resolved
    gradients: dict = field(default_factory=dict)  # clip statistics of every step run (see `clip_stats`)
    world_size: int = 1  # processes that trained together (torchrun); 1: this one alone


def clip_stats(norms: np.ndarray, clip: float) -> dict:
    """How often clipping engaged and how large the gradients were before it, over every step run.

    `norms` are the pre-clip global gradient norms (all parameters, every ensemble member together),
    one per optimizer step. `clip_rate` is the share of steps whose norm exceeded --clip (0 with --clip 0).
    """
    norms = np.asarray(norms, dtype=np.float64)
    if norms.size == 0:
        return {"steps": 0, "clip": clip, "clip_rate": 0.0, "p50": None, "p90": None, "p99": None, "max": None}
    p50, p90, p99 = np.percentile(norms, [50, 90, 99])
    return {
        "steps": int(norms.size),
        "clip": clip,
        "clip_rate": float((norms > clip).mean()) if clip > 0 else 0.0,
        "p50": float(p50),
        "p90": float(p90),
        "p99": float(p99),
        "max": float(norms.max()),
    }


def resolve_device(name: str) -> torch.device:
    """Turn --device into a torch.device, refusing devices this machine lacks.

    Under torchrun (WORLD_SIZE > 1) a CUDA device is the GPU of this process's LOCAL_RANK.
    """
    world = distributed.from_env()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UsageError(f"unknown --device {name!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError("--device cuda: no CUDA GPU is available here; use --device cpu or auto")
        if world.active:
            if device.index is not None:
                raise UsageError(
                    f"--device {name} under torchrun: each process takes the GPU of its LOCAL_RANK; pass --device cuda"
                )
            device = torch.device("cuda", world.local_rank)
        index = device.index or 0
        if index >= torch.cuda.device_count():
            raise UsageError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s); pick another index")
    elif device.type == "mps":
        if not torch.backends.mps.is_available():
            raise UsageError("--device mps: Apple MPS is not available here; use --device cpu or auto")
        if world.active:
            raise UsageError("--device mps cannot train across processes (gloo and nccl need CPU or CUDA); use cpu")
    elif device.type != "cpu":
        raise UsageError(f"unsupported --device {name!r}; use auto, cpu, cuda, cuda:N or mps")
    return device


def default_threads() -> int:
    """CPU threads when --threads is not given: $OMP_NUM_THREADS if set, else 1.

    Measured (README, Performance): one step of a small RNN is dozens of tiny operations, so a
    second thread adds synchronisation rather than speed, and on a busy machine torch's default
    (one thread per core) can be many times slower than one thread.
    """
    env = os.environ.get("OMP_NUM_THREADS", "")
    return int(env) if env.isdigit() and int(env) > 0 else 1


def eval_batch_size(device: torch.device) -> int:
    """Windows per validation forward: a GPU wants large batches; on CPU 512 stays in cache (measured faster)."""
    return 4096 if device.type == "cuda" else 512


# Defaults counted in optimizer steps, not epochs: a 200-row monthly series has 3 batches an epoch, so
# 10 epochs of patience were 30 steps, and fits stopped at a lucky first epoch (validation MASE on the
# monthly and quarterly samples 0.44 / 0.58 at patience 10, 0.24 / 0.55 at 40; benchmarks/defaults.py).
MIN_PATIENCE, PATIENCE_STEPS = 10, 200  # epochs, and steps, of patience at least
MIN_EPOCHS, EPOCH_STEPS = 100, 2000


# Batch and learning rate when not given. A GPU runs an epoch of large batches many times faster (H100:
# 0.53 s at batch 64, 0.046 s at 1024). On validation windows batch 1024 with lr 0.004 lost nothing on
# average over full ETTh1, its first 4,000 rows and 60 M4 Weekly series (two seeds), but lost 8% on the
# 157 windows of the monthly sample (docs/performance.md): so the GPU batch is for large data only.
BATCH, LR = 64, 1e-3
GPU_BATCH, GPU_LR, GPU_DATA = 1024, 4e-3, 5000  # on CUDA, from GPU_DATA training windows up


def resolve(cfg: TrainConfig, n_windows: int, device: torch.device | None = None) -> TrainConfig:
    """The config with what was not given chosen: batch size and learning rate from the device and the
    number of training windows, then epochs and patience from the number of batches."""
    large = device is not None and device.type == "cuda" and n_windows >= GPU_DATA
    gpu = large and cfg.batch_size is None  # an lr for the batch the user chose stays the plain default
    batch_size = cfg.batch_size or (GPU_BATCH if gpu else BATCH)
    lr = cfg.lr or (GPU_LR if gpu else LR)
    steps = max(1, math.ceil(n_windows / batch_size))
    epochs = cfg.epochs or max(MIN_EPOCHS, math.ceil(EPOCH_STEPS / steps))
    patience = cfg.patience or max(MIN_PATIENCE, math.ceil(PATIENCE_STEPS / steps))
    loss = cfg.loss or "mse"
    return replace(cfg, batch_size=batch_size, lr=lr, epochs=epochs, patience=patience, loss=loss)


def schedule(cfg: TrainConfig, optimizer: torch.optim.Optimizer, steps_per_epoch: int):
    """The learning-rate schedule: None, reduce-on-plateau (stepped per epoch) or OneCycle (stepped per batch)."""
    if cfg.schedule == "plateau":
        patience = max(1, cfg.patience // 3)  # a few halvings fit inside early stopping's patience
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=patience)
    if cfg.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.lr, total_steps=cfg.epochs * steps_per_epoch)
    return None


def pointwise(kind: str, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The loss of each output against its target (y broadcast over ensemble members): --loss mse, mae or huber."""
    diff = out - (y.unsqueeze(1).expand_as(out) if out.dim() > y.dim() else y)
    if kind == "mae":
        return diff.abs()
    if kind == "huber":  # quadratic within one scaled unit, linear beyond: MSE's gradients, MAE's outlier weight
        return torch.nn.functional.huber_loss(diff, torch.zeros_like(diff), reduction="none", delta=1.0)
    return diff**2


@torch.no_grad()
def error_sum(
    model: nn.Module, windows: Windows, rows: range, batch_size: int | None = None, kind: str = "mse"
) -> torch.Tensor:
    """Sum of the pointwise loss over windows `rows`, in float64 on the windows' device (no host sync)."""
    model.eval()
    device = windows.x.device
    batch_size = batch_size or eval_batch_size(device)
    total = torch.zeros((), device=device, dtype=torch.float64)
    for start in range(rows.start, rows.stop, batch_size):
        x, y = windows.batch(slice(start, min(start + batch_size, rows.stop)))
        total += pointwise(kind, model(x).float(), y).sum(dtype=torch.float64)
    return total


@torch.no_grad()
def member_error_sums(
    model: nn.Module, windows: Windows, rows: range, batch_size: int | None = None, kind: str = "mse"
) -> torch.Tensor:
    """`error_sum` of an ensemble's forecast, then of each of its K members' own forecasts, in one pass over
    windows `rows`: (1 + K,) float64 on the windows' device."""
    model.eval()
    device = windows.x.device
    batch_size = batch_size or eval_batch_size(device)
    total = torch.zeros(1 + model.config.ensemble, device=device, dtype=torch.float64)
    for start in range(rows.start, rows.stop, batch_size):
        x, y = windows.batch(slice(start, min(start + batch_size, rows.stop)))
        members = model.members(x)  # (B, K, H, T)
        total[0] += pointwise(kind, model.combine(members, x).float(), y).sum(dtype=torch.float64)
        total[1:] += pointwise(kind, members.float(), y).sum(dim=(0, 2, 3), dtype=torch.float64)
    return total


def ensemble_size(model: nn.Module) -> int:
    """Members of a Forecaster (1 for any other module, e.g. a benchmark's bare network)."""
    return getattr(getattr(model, "config", None), "ensemble", 1)


def mse(model: nn.Module, windows: Windows, batch_size: int | None = None) -> float:
    """Mean squared error of the model over all windows (scaled units)."""
    total = error_sum(model, windows, range(len(windows)), batch_size)
    return total.item() / (len(windows) * windows.y[0].numel())  # with the training loss, the only host syncs


def share(n: int, world: distributed.World) -> range:
    """This rank's contiguous part of n items: the parts of all ranks are disjoint and cover them."""
    return range(world.rank * n // world.size, (world.rank + 1) * n // world.size)


@torch.no_grad()
def predict(model: nn.Module, windows: Windows, batch_size: int | None = None) -> torch.Tensor:
    """Model output for every window in use, gathered batch by batch: (N, H, T)."""
    model.eval()
    batch_size = batch_size or eval_batch_size(windows.x.device)
    return torch.cat([model(windows.batch(slice(s, s + batch_size))[0]) for s in range(0, len(windows), batch_size)])


def fit(
    model: nn.Module,
    train: Windows,
    val: Windows | None,
    cfg: TrainConfig,
    on_epoch: Callable[[EpochLog], None] | None = None,
    stop: int | None = None,
    member_stops: list[int] | None = None,
) -> TrainResult:
    """Train in place and leave the model holding its best-validation weights.

    An ensemble's members are trained together (the same batches, one optimizer) but each is kept at its own
    best epoch, by its own validation loss, and training ends when every member's patience has run out:
    measured on validation windows and held-out years, never worse than stopping all of them at the epoch
    their median did best, and often a little better (docs/accuracy.md).

    With `val` None (a refit on every window) it trains exactly `cfg.epochs` epochs, or the first `stop`
    of them (the learning-rate schedule still spans `cfg.epochs`), and keeps the last weights (an ensemble's
    member j: those of epoch `member_stops[j]`): there is nothing to stop early on, and the epochs'
    validation losses are NaN.

    The windows may live on any device: batches are gathered there by index, and the loss is
    summed there too, so a GPU run never waits for the host inside an epoch.

    In a process group (torchrun, see distributed.py) every rank holds all windows and draws the same
    shuffled order from the same seed; each rank takes its share of every batch of --batch-size windows
    and DistributedDataParallel averages the gradients, so a step is the step one process would take on
    the whole batch. The losses are summed over ranks, so early stopping decides alike everywhere.
    """
    cfg = resolve(cfg, len(train), train.x.device)
    try:
        return _fit(model, train, val, cfg, on_epoch, stop or cfg.epochs, member_stops)
    except (MemoryError, RuntimeError) as exc:  # activations and batches beyond what build() checked (its weights)
        if not out_of_memory(exc):
            raise
        raise UsageError(
            f"{train.x.device} ran out of memory while training with --batch-size {cfg.batch_size}; "
            "lower --batch-size, --hidden-size or --seq-len"
        ) from None


def _fit(model, train, val, cfg, on_epoch, stop: int, member_stops: list[int] | None = None) -> TrainResult:
    device = train.x.device  # settings.validate checked cfg for this device
    world = distributed.current()
    torch.set_num_threads(cfg.threads or default_threads())
    generator = torch.Generator(device=device).manual_seed(cfg.seed)
    net = model
    if world.active:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)
    # On a GPU, one fused kernel updates every parameter: small networks' steps are bound by kernel launches
    fused = {"fused": True} if device.type == "cuda" else {}
    if cfg.weight_decay > 0:
        optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, **fused)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, **fused)
    steps = math.ceil(len(train) / cfg.batch_size)
    scheduler = schedule(cfg, optimizer, steps)
    n = len(train)
    selects = val is not None  # early stopping on validation; else every epoch runs and the last weights stay
    best_loss, best_epoch = math.inf, 0
    k = ensemble_size(model)
    own = selects and k > 1  # each member kept at its own best epoch
    best_state = copy.deepcopy(model.state_dict()) if selects and not own else None
    member_best, member_epoch = [math.inf] * k, [0] * k
    member_state = [copy.deepcopy(net.state_dict()) for net in model.nets] if own or member_stops else []
    history: list[EpochLog] = []
    norms: list[np.ndarray] = []  # pre-clip gradient norm of every step, brought to the host once per epoch
    val_rows = share(len(val), world) if selects else None
    per_val = len(val) * val.y[0].numel() if selects else 1
    started = time.perf_counter()
    for epoch in range(1, min(stop, cfg.epochs) + 1):
        model.train()
        order = torch.randperm(n, device=device, generator=generator)  # the same on every rank
        running = torch.zeros((), device=device)  # summed on the device: no sync per step
        epoch_norms: list[torch.Tensor] = []  # (), on the device: read once, after the epoch
        for start in range(0, n, cfg.batch_size):
            idx = order[start : start + cfg.batch_size]
            optimizer.zero_grad(set_to_none=True)
            if world.active:
                loss, summed = shared_loss(net, train, idx, world, cfg.loss)
            else:
                x, y = train.batch(idx)  # (B, L, F), (B, H, T)
                out = model(x).float()  # (B, H, T), or (B, K, H, T): every member of an ensemble
                loss = pointwise(cfg.loss, out, y).mean()
                summed = loss.detach() * len(idx)
            loss.backward()
            # clip_grad_norm_ returns the norm before clipping; with --clip 0 (max inf) it only measures it
            epoch_norms.append(nn.utils.clip_grad_norm_(model.parameters(), cfg.clip if cfg.clip > 0 else math.inf))
            optimizer.step()
            if cfg.schedule == "onecycle":
                scheduler.step()
            running += summed
        norms.append(torch.stack(epoch_norms).float().cpu().numpy())
        if own:  # the ensemble's loss, then each member's
            checked = member_error_sums(model, val, val_rows, kind=cfg.loss)
        elif selects:
            checked = error_sum(model, val, val_rows, kind=cfg.loss).reshape(1)
        else:
            checked = running.new_zeros(1, dtype=torch.float64)
        sums = torch.cat([running.double().reshape(1), checked])
        train_sum, val_sum, *member_sums = distributed.all_sum(sums).tolist()  # one collective (and sync) per epoch
        train_loss, val_loss = train_sum / n, (val_sum / per_val if selects else math.nan)
        if not all(map(math.isfinite, member_sums)):  # a member's own: the median of the others may stay finite
            val_loss = next(v for v in member_sums if not math.isfinite(v))
        if not (math.isfinite(train_loss) and (math.isfinite(val_loss) or not selects)):
            raise TrainingError(
                f"loss became {'NaN' if math.isnan(train_loss) or (selects and math.isnan(val_loss)) else 'infinite'} "
                f"at epoch {epoch}; lower --lr (now {cfg.lr}) or --clip (now {cfg.clip})"
            )
        if cfg.schedule == "plateau":
            scheduler.step(val_loss if selects else train_loss)
        improved = selects and val_loss < best_loss
        if own:
            for j, loss in enumerate(member_sums):
                if loss / per_val < member_best[j]:
                    member_best[j], member_epoch[j] = loss / per_val, epoch
                    member_state[j] = copy.deepcopy(model.nets[j].state_dict())
            improved = epoch in member_epoch  # some member's best so far
            best_epoch = max(member_epoch)  # patience runs out when it has for every member
        elif improved:
            best_loss, best_epoch = val_loss, epoch
            best_state = copy.deepcopy(model.state_dict())
        elif not selects:
            best_epoch = epoch  # the last epoch is the one kept
            for j in range(len(member_state)):
                if epoch == member_stops[j]:  # a refit member's epoch: the one early stopping chose for it
                    member_state[j] = copy.deepcopy(model.nets[j].state_dict())
        log = EpochLog(epoch, cfg.epochs, train_loss, val_loss, improved, cfg.loss)
        history.append(log)
        if on_epoch is not None:
            on_epoch(log)
        if epoch - best_epoch >= cfg.patience:
            break
    if own:
        for net, state in zip(model.nets, member_state, strict=True):
            net.load_state_dict(state)
        best_loss = distributed.all_sum(member_error_sums(model, val, val_rows, kind=cfg.loss)[:1]).item() / per_val
    elif selects:
        model.load_state_dict(best_state)
    elif member_state:
        for net, state in zip(model.nets, member_state, strict=True):
            net.load_state_dict(state)
        member_epoch = [min(e, len(history)) for e in member_stops]
    distributed.same_everywhere(model)
    model.eval()
    return TrainResult(
        best_epoch=best_epoch,
        epochs_run=len(history),
        best_val_loss=best_loss,
        seconds=time.perf_counter() - started,
        device=str(device),
        history=history,
        member_epochs=member_epoch if own or member_state else [],
        config=cfg,
        gradients=clip_stats(np.concatenate(norms) if norms else np.empty(0), cfg.clip),
        world_size=world.size,
    )


def shared_loss(net: nn.Module, train: Windows, idx: torch.Tensor, world: distributed.World, kind: str = "mse"):
    """This rank's part of one batch: (its loss, weighted so that DDP's mean over ranks is the batch's mean
    loss, however unevenly the batch divides; its summed per-window loss, for the epoch's loss)."""
    mine = idx[world.rank :: world.size]
    weight = 1.0 if len(mine) else 0.0  # a batch smaller than the world: this rank still joins the step
    x, y = train.batch(mine if len(mine) else idx[:1])  # (b, L, F), (b, H, T)
    out = net(x).float()  # (b, H, T), or (b, K, H, T)
    err = pointwise(kind, out, y)
    per_window = out[0].numel()
    loss = err.sum() * (weight * world.size / (len(idx) * per_window))
    return loss, err.detach().sum() * weight / per_window
