"""The training loop: shuffle, forward, MSE, backward, clip, Adam step; early stopping on validation.

It trains whatever `nn.Module` it is given on whatever windows it is given.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from rnncast.data import Windows
from rnncast.errors import TrainingError, UsageError


@dataclass
class TrainConfig:
    epochs: int = 100  # upper bound; early stopping usually ends sooner
    batch_size: int = 64  # windows per optimizer step
    lr: float = 1e-3  # Adam learning rate
    clip: float = 1.0  # max gradient norm; 0 disables (plain RNNs can explode without it)
    patience: int = 10  # epochs without a better validation loss before stopping
    seed: int = 0  # same seed, same data, same threads: bit-identical CPU runs
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    threads: int | None = None  # CPU threads for torch; None leaves torch's default


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


def check_config(cfg: TrainConfig) -> None:
    for name in ("epochs", "batch_size", "patience"):
        if getattr(cfg, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1")
    if not cfg.lr > 0:
        raise UsageError("--lr must be positive; try 0.001")
    if cfg.clip < 0:
        raise UsageError("--clip must be 0 (off) or positive; try 1.0")
    if cfg.threads is not None and cfg.threads < 1:
        raise UsageError("--threads must be at least 1")


@torch.no_grad()
def mse(model: nn.Module, windows: Windows, batch_size: int = 4096) -> float:
    """Mean squared error of the model over all windows (scaled units)."""
    model.eval()
    total = torch.zeros((), device=windows.x.device, dtype=torch.float64)
    for start in range(0, len(windows), batch_size):
        x, y = windows.batch(slice(start, start + batch_size))
        total += ((model(x) - y) ** 2).sum(dtype=torch.float64)
    return total.item() / (len(windows) * windows.y[0].numel())


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
    """Model output for every window in x: (N, H, T)."""
    model.eval()
    return torch.cat([model(x[s : s + batch_size]) for s in range(0, len(x), batch_size)])


def fit(
    model: nn.Module,
    train: Windows,
    val: Windows,
    cfg: TrainConfig,
    on_epoch: Callable[[EpochLog], None] | None = None,
) -> TrainResult:
    """Train in place and leave the model holding its best-validation weights."""
    check_config(cfg)
    device = train.x.device
    generator = torch.Generator(device=device).manual_seed(cfg.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    loss_fn = nn.MSELoss()
    n = len(train)
    best_loss, best_epoch, best_state = math.inf, 0, copy.deepcopy(model.state_dict())
    history: list[EpochLog] = []
    started = time.perf_counter()
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        order = torch.randperm(n, device=device, generator=generator)
        running = torch.zeros((), device=device)  # summed on the device: no sync per step
        for start in range(0, n, cfg.batch_size):
            idx = order[start : start + cfg.batch_size]
            x, y = train.batch(idx)  # (B, L, F), (B, H, T)
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            if cfg.clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            optimizer.step()
            running += loss.detach() * len(idx)
        train_loss = running.item() / n
        val_loss = mse(model, val)
        if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
            raise TrainingError(
                f"loss became {'NaN' if math.isnan(train_loss) or math.isnan(val_loss) else 'infinite'} "
                f"at epoch {epoch}; lower --lr (now {cfg.lr}) or --clip (now {cfg.clip})"
            )
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
    )
