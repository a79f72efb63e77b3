"""The training loop: shuffle, forward, MSE, backward, clip, Adam step; early stopping on validation.

It trains whatever `nn.Module` it is given on whatever windows it is given.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import nn

from rnncast.errors import TrainingError, UsageError
from rnncast.prepare import Windows


@dataclass
class TrainConfig:
    epochs: int | None = None  # upper bound; None: from the data size (resolve); early stopping usually ends sooner
    batch_size: int = 64  # windows per optimizer step
    lr: float = 1e-3  # Adam learning rate
    clip: float = 1.0  # max gradient norm; 0 disables (plain RNNs can explode without it)
    patience: int | None = None  # epochs without a better validation loss before stopping; None: from the data size
    seed: int = 0  # same seed, same data, same threads: bit-identical CPU runs
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    threads: int | None = None  # CPU threads for torch; None: $OMP_NUM_THREADS, else 1 (see default_threads)
    precision: str = "fp32"  # fp32 | bf16 (autocast; CUDA only, where bf16 kernels make it faster)
    weight_decay: float = 0.0  # > 0: AdamW's decoupled weight decay
    schedule: str = "none"  # none | plateau (halve lr when validation stalls) | onecycle (over --epochs)


@dataclass
class EpochLog:
    epoch: int  # 1-based
    epochs: int
    train_loss: float
    val_loss: float
    best: bool  # this epoch improved validation loss


@dataclass
class TrainResult:
    best_epoch: int
    epochs_run: int
    best_val_loss: float
    seconds: float
    device: str
    history: list[EpochLog] = field(default_factory=list)
    config: TrainConfig | None = None  # what ran: epochs and patience resolved
    gradients: dict = field(default_factory=dict)  # clip statistics of every step run (see `clip_stats`)


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
    """Turn --device into a torch.device, refusing devices this machine lacks."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UsageError(f"unknown --device {name!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError("--device cuda: no CUDA GPU is available here; use --device cpu or auto")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UsageError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s); pick another index")
    elif device.type == "mps":
        if not torch.backends.mps.is_available():
            raise UsageError("--device mps: Apple MPS is not available here; use --device cpu or auto")
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


def check_precision(precision: str, device: torch.device) -> None:
    """Refuse --precision values this device cannot run, or runs slower than fp32."""
    if precision == "bf16":
        if device.type != "cuda":
            raise UsageError(
                f"--precision bf16 needs a CUDA GPU (on {device.type} it is slower than fp32); use --precision fp32"
            )
        if not torch.cuda.is_bf16_supported():
            raise UsageError("--precision bf16: this GPU has no bfloat16 support; use --precision fp32")


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """Mixed precision for forward and loss under bf16; a no-op under fp32."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def eval_batch_size(device: torch.device) -> int:
    """Windows per validation forward: a GPU wants large batches; on CPU 512 stays in cache (measured faster)."""
    return 4096 if device.type == "cuda" else 512


# Defaults counted in optimizer steps, not epochs: a 200-row monthly series has 3 batches an epoch, so
# 10 epochs of patience were 30 steps, and fits stopped at a lucky first epoch (validation MASE on the
# monthly and quarterly samples 0.44 / 0.58 at patience 10, 0.24 / 0.55 at 40; benchmarks/defaults.py).
MIN_PATIENCE, PATIENCE_STEPS = 10, 200  # epochs, and steps, of patience at least
MIN_EPOCHS, EPOCH_STEPS = 100, 2000


def resolve(cfg: TrainConfig, n_windows: int) -> TrainConfig:
    """The config with epochs and patience chosen from the number of training windows where not given."""
    steps = max(1, math.ceil(n_windows / cfg.batch_size))
    epochs = cfg.epochs or max(MIN_EPOCHS, math.ceil(EPOCH_STEPS / steps))
    patience = cfg.patience or max(MIN_PATIENCE, math.ceil(PATIENCE_STEPS / steps))
    return replace(cfg, epochs=epochs, patience=patience)


def schedule(cfg: TrainConfig, optimizer: torch.optim.Optimizer, steps_per_epoch: int):
    """The learning-rate schedule: None, reduce-on-plateau (stepped per epoch) or OneCycle (stepped per batch)."""
    if cfg.schedule == "plateau":
        patience = max(1, cfg.patience // 3)  # a few halvings fit inside early stopping's patience
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=patience)
    if cfg.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.lr, total_steps=cfg.epochs * steps_per_epoch)
    return None


@torch.no_grad()
def mse(model: nn.Module, windows: Windows, batch_size: int | None = None, precision: str = "fp32") -> float:
    """Mean squared error of the model over all windows (scaled units)."""
    model.eval()
    device = windows.x.device
    batch_size = batch_size or eval_batch_size(device)
    total = torch.zeros((), device=device, dtype=torch.float64)
    for start in range(0, len(windows), batch_size):
        x, y = windows.batch(slice(start, start + batch_size))
        with autocast(precision, device):
            out = model(x)
        total += ((out.float() - y) ** 2).sum(dtype=torch.float64)
    return total.item() / (len(windows) * windows.y[0].numel())  # with the training loss, the only host syncs


@torch.no_grad()
def predict(model: nn.Module, windows: Windows, batch_size: int | None = None) -> torch.Tensor:
    """Model output for every window in use, gathered batch by batch: (N, H, T)."""
    model.eval()
    batch_size = batch_size or eval_batch_size(windows.x.device)
    return torch.cat([model(windows.batch(slice(s, s + batch_size))[0]) for s in range(0, len(windows), batch_size)])


def fit(
    model: nn.Module,
    train: Windows,
    val: Windows,
    cfg: TrainConfig,
    on_epoch: Callable[[EpochLog], None] | None = None,
) -> TrainResult:
    """Train in place and leave the model holding its best-validation weights.

    The windows may live on any device: batches are gathered there by index, and the loss is
    summed there too, so a GPU run never waits for the host inside an epoch.
    """
    device = train.x.device  # settings.validate checked cfg and the precision for this device
    cfg = resolve(cfg, len(train))
    torch.set_num_threads(cfg.threads or default_threads())
    generator = torch.Generator(device=device).manual_seed(cfg.seed)
    if cfg.weight_decay > 0:
        optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    steps = math.ceil(len(train) / cfg.batch_size)
    scheduler = schedule(cfg, optimizer, steps)
    loss_fn = nn.MSELoss()
    n = len(train)
    best_loss, best_epoch, best_state = math.inf, 0, copy.deepcopy(model.state_dict())
    history: list[EpochLog] = []
    norms: list[np.ndarray] = []  # pre-clip gradient norm of every step, brought to the host once per epoch
    started = time.perf_counter()
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        order = torch.randperm(n, device=device, generator=generator)
        running = torch.zeros((), device=device)  # summed on the device: no sync per step
        epoch_norms: list[torch.Tensor] = []  # (), on the device: read once, after the epoch
        for start in range(0, n, cfg.batch_size):
            idx = order[start : start + cfg.batch_size]
            x, y = train.batch(idx)  # (B, L, F), (B, H, T)
            optimizer.zero_grad(set_to_none=True)
            with autocast(cfg.precision, device):
                out = model(x).float()  # (B, H, T), or (B, K, H, T): every member of an ensemble
                loss = loss_fn(out, y.unsqueeze(1).expand_as(out) if out.dim() > y.dim() else y)
            loss.backward()
            # clip_grad_norm_ returns the norm before clipping; with --clip 0 (max inf) it only measures it
            epoch_norms.append(nn.utils.clip_grad_norm_(model.parameters(), cfg.clip if cfg.clip > 0 else math.inf))
            optimizer.step()
            if cfg.schedule == "onecycle":
                scheduler.step()
            running += loss.detach() * len(idx)
        train_loss = running.item() / n
        norms.append(torch.stack(epoch_norms).float().cpu().numpy())
        val_loss = mse(model, val, precision=cfg.precision)
        if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
            raise TrainingError(
                f"loss became {'NaN' if math.isnan(train_loss) or math.isnan(val_loss) else 'infinite'} "
                f"at epoch {epoch}; lower --lr (now {cfg.lr}) or --clip (now {cfg.clip})"
            )
        if cfg.schedule == "plateau":
            scheduler.step(val_loss)
        improved = val_loss < best_loss
        if improved:
            best_loss, best_epoch = val_loss, epoch
            best_state = copy.deepcopy(model.state_dict())
        log = EpochLog(epoch, cfg.epochs, train_loss, val_loss, improved)
        history.append(log)
        if on_epoch is not None:
            on_epoch(log)
        if epoch - best_epoch >= cfg.patience:
            break
    model.load_state_dict(best_state)
    model.eval()
    return TrainResult(
        best_epoch=best_epoch,
        epochs_run=len(history),
        best_val_loss=best_loss,
        seconds=time.perf_counter() - started,
        device=str(device),
        history=history,
        config=cfg,
        gradients=clip_stats(np.concatenate(norms) if norms else np.empty(0), cfg.clip),
    )
