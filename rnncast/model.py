"""The network: a recurrent cell over the input window and a Linear head on its last hidden state.

The default cell is the Elman RNN of the seed:
    h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h)
    y   = W_hy h_L + b_y            (all horizon steps at once: direct multi-step)

Three options change what the cell reads or how many cells there are, never the recurrence:
- `segment` W > 0 (SegRNN, Lin et al. 2023): the window is cut into segments of W points, each
  embedded by a Linear layer and a ReLU, and the cell steps over segments: W times fewer steps.
- `ensemble` K > 1: K member networks, each its own cell and head, initialised one after another and
  trained together on the same batches (their losses averaged); the forecast is the members' median.
- `n_ahead` K > 0: inputs known for the forecast steps (future features, calendar), a_1 .. a_H, go through
  a second Elman recurrence over the horizon that starts from the last hidden state,
  g_0 = h_L, g_k = tanh(W_ag a_k + W_gg g_{k-1} + b_g), and each step adds W_gy g_k + b_gy to the head's
  output for step k. Each input row carries the next H rows' known inputs; the window's last row's are read.
- `highway` P > 0 (the autoregressive highway of LSTNet, Lai et al. 2018): a Linear map from each target's
  last P window-normalised values straight to its H outputs, y += V x_{L-P+1..L} + c, added to the head's
  output (the same map for every target). With window norm "last" it is NLinear's model beside the
  recurrence. `fit_highway` sets it to the ridge least-squares fit on the training windows and freezes it
  before training, so the recurrence learns what the linear map misses; the recurrence is unchanged.
- `cell_len` R > 0: the cell (and its segments) reads only the window's last R steps, while the highway
  reads its P of a longer window: a linear map over a long lookback beside a recurrence over a short one.
- `guard` (last | season): the forecast is the naive forecast b plus alpha × (network − b), alpha per
  horizon step and target in [0, 1], fitted after training (fitting.py); alpha = 0 is the baseline.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

import torch
from torch import nn

from rnncast.choices import CELLS, WINDOW_NORMS
from rnncast.errors import UsageError

GUARDS = ("none", "last", "season")
EPS = 1e-5  # floor of a window's standard deviation under window_norm "scale"
RIDGE = 1e-2  # the highway's ridge penalty, relative to its inputs' mean square (1e-6 to 1 measured alike on ETT)


@dataclass
class ModelConfig:
    """The network as built: the user's `settings.NetworkOptions` plus what the data decided."""

    n_inputs: int = 1  # features per time step (targets first, then extra features); set from data
    n_targets: int = 1  # columns forecast; set from data
    horizon: int = 1  # steps forecast at once; set from data
    cell: str = "rnn"  # rnn (Elman, tanh) | lstm | gru
    hidden_size: int = 64  # width of the hidden state h_t (of each member)
    layers: int = 1  # stacked recurrent layers
    dropout: float = 0.0  # between stacked layers (needs layers > 1)
    window_norm: str = "last"  # last | season | mean | scale | none: resolved ("auto" became one of these)
    season: int = 1  # with window_norm "season" or guard "season": the seasonal period; set from data
    n_known: int = 0  # trailing inputs known at every step (future features, calendar sin/cos): exempt from window_norm
    n_ahead: int = 0  # known inputs per forecast step, read from the window's last row (horizon × n_ahead columns after the known ones) by a second recurrence over the horizon
    n_series: int = 0  # series the id embedding tells apart; set from data
    id_embedding: int = 0  # width of a learned series embedding; > 0: the last input column is the series number
    segment: int = 0  # > 0: points per segment, the cell's step (SegRNN); 0: one point per step
    ensemble: int = 1  # members, combined by their median
    guard: str = "none"  # none | last | season: the naive forecast the output is blended with (alpha)
    highway: int = 0  # > 0: a Linear map from each target's last `highway` normalised values to its H outputs
    cell_len: int = 0  # > 0: the cell reads only the window's last cell_len steps; 0: the whole window
    highway_members: int = 0  # > 0: only the first this many members read the highway, the rest their cell alone

    def to_dict(self) -> dict:
        d = asdict(self)
        for key in ("n_ahead", "highway", "cell_len", "highway_members"):
            if not d[key]:
                del d[key]  # a model without them stays readable by rnncast 0.2 (format 2)
        return d


def build(cfg: ModelConfig, device: torch.device | str = "cpu") -> Forecaster:
    """A fresh network on `device` (initialised on the CPU, so a seed gives the same weights everywhere),
    or a usage error when that device cannot hold it for training, checked before anything is allocated."""
    device = torch.device(device)
    need, have = training_bytes(cfg), memory_bytes(device)
    if need is None or (have is not None and need > have):
        raise UsageError(too_big(cfg, need, have, device))
    try:
        return Forecaster(cfg).to(device)
    except (MemoryError, RuntimeError) as exc:  # torch.OutOfMemoryError (CUDA) is a RuntimeError
        if not out_of_memory(exc):
            raise
        raise UsageError(too_big(cfg, need, None, device)) from None


def out_of_memory(exc: BaseException) -> bool:
    """A failed allocation: CUDA's torch.OutOfMemoryError, or the CPU allocator's RuntimeError
    ("DefaultCPUAllocator: can't allocate memory"), which is no OutOfMemoryError."""
    return isinstance(exc, (MemoryError, torch.OutOfMemoryError)) or (
        isinstance(exc, RuntimeError) and "alloc" in str(exc)
    )


def training_bytes(cfg: ModelConfig) -> int | None:
    """Bytes training holds for the weights: each float32 weight, its gradient, Adam's two moments and the
    best epoch's copy (5 x 4 bytes), counted on the meta device (nothing allocated); None when the sizes
    overflow what a tensor can index."""
    try:
        with torch.device("meta"):
            weights = sum(p.numel() for p in Forecaster(cfg).parameters())
    except RuntimeError:
        return None
    return 20 * weights


def memory_bytes(device: torch.device) -> int | None:
    """Memory the device has for a network: free memory on a CUDA GPU, physical memory on the CPU; None: unknown."""
    import os

    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    if device.type == "cpu" and hasattr(os, "sysconf"):
        try:
            return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError):
            return None
    return None


def _gb(n: int) -> str:
    return f"{n / 1e9:,.0f} GB" if n >= 1e10 else f"{n / 1e9:.3g} GB"


def too_big(cfg: ModelConfig, need: int | None, have: int | None, device: torch.device) -> str:
    size = "more than any tensor can hold" if need is None else f"about {_gb(need)}"
    room = f", {device.type} has {_gb(have)}" if have is not None else ""
    return (
        f"not enough memory for a network with --hidden-size {cfg.hidden_size} and --layers {cfg.layers} "
        f"(training it needs {size} for weights, gradients and Adam's state{room}); lower them"
    )


class Normalised(NamedTuple):
    """A batch as the member networks read it, and what `Forecaster.from_cells` needs to undo it."""

    x: torch.Tensor  # (B, L, F') window-normalised values, then the known inputs
    ids: torch.Tensor | None  # (B,) series numbers for the id embedding
    level: torch.Tensor | None  # (B, 1, F) subtracted from every step
    spread: torch.Tensor | None  # (B, 1, F) divided out (window_norm scale)
    base: torch.Tensor | None  # (B, H, T) the last cycle the network corrects (window_norm season)
    ahead: torch.Tensor | None = None  # (B, H·K) the inputs known for the forecast steps


class Network(nn.Module):
    """One member: the recurrent cell and its Linear head, (B, L, F') normalised inputs → (B, H·T)."""

    def __init__(self, c: ModelConfig, with_highway: bool = True):
        super().__init__()
        ahead = c.horizon * c.n_ahead  # the forecast steps' known inputs: not the cell's
        point_inputs = c.n_inputs - ahead - (1 if c.id_embedding else 0) + c.id_embedding  # at each time point
        if c.segment:
            self.embed_segment = nn.Linear(c.segment * point_inputs, c.hidden_size)
        recurrent = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[c.cell]
        self.rnn = recurrent(
            input_size=c.hidden_size if c.segment else point_inputs,
            hidden_size=c.hidden_size,
            num_layers=c.layers,
            dropout=c.dropout if c.layers > 1 else 0.0,
            batch_first=True,
        )
        self.head = nn.Linear(c.hidden_size, c.horizon * c.n_targets)
        if c.n_ahead:  # an Elman recurrence over the forecast steps' known inputs, from the last hidden state
            self.ahead_rnn = nn.RNN(c.n_ahead, c.hidden_size, batch_first=True)
            self.ahead_head = nn.Linear(c.hidden_size, c.n_targets)
            self.n_ahead = c.n_ahead
        if c.id_embedding:
            self.embed = nn.Embedding(c.n_series, c.id_embedding)
        if c.highway and with_highway:  # the autoregressive highway: each target's last P values → its H outputs
            self.highway = nn.Linear(c.highway, c.horizon)
        self.segment = c.segment
        self.cell_len = c.cell_len
        self.n_targets = c.n_targets

    def forward(
        self,
        x: torch.Tensor,
        ids: torch.Tensor | None = None,
        ahead: torch.Tensor | None = None,
        highway_x: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(B, L, F') → (B, H·T); `highway_x`: what the highway reads instead of x (diagnose: a detached copy)."""
        linear = None
        if hasattr(self, "highway"):
            src = x if highway_x is None else highway_x
            past = src[:, src.shape[1] - self.highway.in_features :, : self.n_targets]  # (B, P, T)
            linear = self.highway(past.transpose(1, 2)).transpose(1, 2).flatten(1)  # (B, H·T), as the head's
        if self.cell_len:
            x = x[:, x.shape[1] - self.cell_len :]  # the cell's part of the window: its last cell_len steps
        if ids is not None:
            x = torch.cat([x, self.embed(ids)[:, None, :].expand(-1, x.shape[1], -1)], dim=-1)  # (B, L, F'+E)
        if self.segment:
            n = x.shape[1] // self.segment  # the oldest L mod W points are left out
            segments = x[:, x.shape[1] - n * self.segment :].reshape(x.shape[0], n, -1)  # (B, L/W, W·F')
            x = torch.relu(self.embed_segment(segments))  # (B, L/W, hidden)
        out, _ = self.rnn(x)  # (B, steps, hidden)
        y = self.head(out[:, -1, :])  # (B, H·T)
        if ahead is not None:
            known = ahead.view(ahead.shape[0], -1, self.n_ahead)  # (B, H, K)
            steps, _ = self.ahead_rnn(known, out[:, -1, :][None].contiguous())  # (B, H, hidden): g_1 .. g_H
            y = y + self.ahead_head(steps).flatten(1)  # (B, H·T), step by step as the head's
        return y if linear is None else y + linear


class Forecaster(nn.Module):
    """Member network(s), window normalisation and guard: (B, L, F) scaled inputs → (B, H, n_targets)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        if config.cell not in CELLS:
            raise ValueError(f"unknown cell {config.cell!r}")
        if config.window_norm not in WINDOW_NORMS or config.window_norm == "auto":
            raise ValueError(f"unresolved or unknown window_norm {config.window_norm!r}")
        if config.guard not in GUARDS:
            raise ValueError(f"unknown guard {config.guard!r}")
        self.config = config
        reading = config.highway_members or config.ensemble  # members with the highway: the first ones
        self.nets = nn.ModuleList(Network(config, k < reading) for k in range(config.ensemble))  # initialised in turn
        self.register_buffer("alpha", torch.ones(config.horizon, config.n_targets))  # the guard's weights, (H, T)

    def members(self, x: torch.Tensor) -> torch.Tensor:
        """Every member's forecast: (B, L, F) → (B, K, H, T), window normalisation undone."""
        n = self.normalise(x)
        return self.from_cells(n.x, n)

    def normalise(self, x: torch.Tensor) -> Normalised:
        """What the member networks read, and what undoes their normalisation: (B, L, F) → Normalised."""
        c = self.config
        ids = None
        if c.id_embedding:
            ids = x[:, 0, -1].long()  # (B,) the series number rides along as the last column
            x = x[..., :-1]
        ahead = None
        if c.n_ahead:
            width = c.horizon * c.n_ahead
            ahead = x[:, -1, x.shape[-1] - width :]  # (B, H·K) the forecast steps' known inputs
            x = x[..., : x.shape[-1] - width]
        known = None  # inputs that bypass window_norm: known covariates (calendar sin/cos)
        if c.n_known:
            known = x[..., x.shape[-1] - c.n_known :]  # (B, L, K)
            x = x[..., : x.shape[-1] - c.n_known]
        level = spread = base = None
        if c.window_norm in ("last", "season"):
            level = x[:, -1:, :]  # (B, 1, F)
        elif c.window_norm in ("mean", "scale"):
            level = x.mean(dim=1, keepdim=True)  # (B, 1, F)
        if c.window_norm == "scale":  # RevIN-style: each window in units of its own standard deviation
            spread = x.std(dim=1, keepdim=True, unbiased=False).clamp_min(EPS)  # (B, 1, F)
        if c.window_norm == "season" and 1 < c.season <= x.shape[1]:
            base = seasonal_base(x[..., : c.n_targets], c.season, c.horizon)  # (B, H, T): what the network corrects
        if level is not None:
            x = x - level  # the cell sees the shape of the window, not its level
        if spread is not None:
            x = x / spread
        if known is not None:
            x = torch.cat([x, known], dim=-1)  # (B, L, F')
        return Normalised(x, ids, level, spread, base, ahead)

    def to_cells(self, y: torch.Tensor, n: Normalised) -> torch.Tensor:
        """What the member networks must output for the forecast y (B, H, T): `from_cells` undone."""
        t = self.config.n_targets
        if n.base is not None:
            y = y - n.base
        elif n.level is not None:
            y = y - n.level[..., :t]
        return y if n.spread is None else y / n.spread[..., :t]

    def from_cells(self, x: torch.Tensor, n: Normalised, highway_x: torch.Tensor | None = None) -> torch.Tensor:
        """Run every member on normalised inputs x (B, L, F') and undo the normalisation: (B, K, H, T)."""
        c = self.config
        y = torch.stack([net(x, n.ids, n.ahead, highway_x) for net in self.nets], dim=1).view(
            -1, c.ensemble, c.horizon, c.n_targets
        )
        if n.spread is not None:
            y = y * n.spread[:, None, :, : c.n_targets]
        if n.base is not None:
            return y + n.base[:, None]
        if n.level is not None:
            y = y + n.level[:, None, :, : c.n_targets]
        return y  # (B, K, H, T)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, F) → (B, H, T); while training an ensemble, every member's forecast (B, K, H, T)."""
        members = self.members(x)
        if self.training and self.config.ensemble > 1:
            return members
        return self.combine(members, x)

    def combine(self, members: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The forecast from every member's (B, K, H, T): their median, outside training blended with the naive
        forecast of the inputs x (B, L, F) by the guard's weights: (B, H, T)."""
        y = median(members)
        if self.config.guard == "none" or self.training:
            return y
        base = naive_base(x[..., : self.config.n_targets], self.config.guard, self.config.season, self.config.horizon)
        return base + self.alpha * (y - base)


def median(members: torch.Tensor) -> torch.Tensor:
    """The members' median (the mean of the middle two for an even count): (B, K, H, T) → (B, H, T)."""
    k = members.shape[1]
    if k == 1:
        return members[:, 0]
    ordered = members.sort(dim=1).values
    return (ordered[:, (k - 1) // 2] + ordered[:, k // 2]) / 2


def seasonal_base(targets: torch.Tensor, season: int, horizon: int) -> torch.Tensor:
    """The window's last cycle repeated: (B, L, T) → (B, H, T)."""
    steps = targets.shape[1] - season + torch.arange(horizon, device=targets.device) % season
    return targets[:, steps, :]


def naive_base(targets: torch.Tensor, kind: str, season: int, horizon: int) -> torch.Tensor:
    """The naive forecast named by `kind` ('last' or 'season') from the target inputs: (B, L, T) → (B, H, T)."""
    if kind == "season" and 1 < season <= targets.shape[1]:
        return seasonal_base(targets, season, horizon)
    return targets[:, -1:, :].expand(-1, horizon, -1)


@torch.no_grad()
def fit_highway(model: Forecaster, windows, ridge: float = RIDGE) -> None:
    """Set every member's highway to the ridge least-squares map from each target's last P normalised values to
    what the networks must output on `windows` (the training windows), and freeze it: training then fits the
    recurrence to what the linear map misses. Measured on ETTh1/ETTh2 validation windows (docs/accuracy.md),
    this beat a highway trained with the rest, from zeros or from PyTorch's initialisation.

    `ridge` is relative to the mean of the Gram matrix's diagonal (the normalised values' mean square); the
    bias is not shrunk. Every member with a highway gets the same map: they differ in their recurrences
    (with --highway-members, the others have none and forecast with their cell alone)."""
    c = model.config
    p, h = c.highway, c.horizon
    device = windows.x.device
    gram = torch.zeros(p + 1, p + 1, dtype=torch.float64, device=device)
    cross = torch.zeros(p + 1, h, dtype=torch.float64, device=device)
    for start in range(0, len(windows), 4096):
        x, y = windows.batch(slice(start, start + 4096))  # (B, L, F), (B, H, T)
        n = model.normalise(x)
        goal = model.to_cells(y, n)  # (B, H, T): the networks' output that would forecast y exactly
        past = n.x[:, n.x.shape[1] - p :, : c.n_targets].transpose(1, 2).reshape(-1, p).double()  # (B·T, P)
        a = torch.cat([past, torch.ones(len(past), 1, dtype=past.dtype, device=device)], dim=1)  # (B·T, P+1)
        gram += a.T @ a
        cross += a.T @ goal.transpose(1, 2).reshape(-1, h).double()
    scale = gram.diagonal()[:p].mean().clamp_min(1.0)  # at least 1: inputs that are all 0 still get a penalty
    penalty = torch.eye(p + 1, dtype=gram.dtype, device=device) * ridge * scale
    penalty[p, p] = 0  # the bias is not shrunk
    w = torch.linalg.solve(gram + penalty, cross)  # (P+1, H)
    for net in (net for net in model.nets if hasattr(net, "highway")):
        net.highway.weight.copy_(w[:p].T)
        net.highway.bias.copy_(w[p])
        net.highway.requires_grad_(False)
