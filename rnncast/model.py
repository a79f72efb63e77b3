"""The network: a recurrent cell over the input window and a Linear head on its last hidden state.

The default cell is the Elman RNN of the seed:
    h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h)
    y   = W_hy h_L + b_y            (all horizon steps at once: direct multi-step)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from rnncast.choices import CELLS, WINDOW_NORMS
from rnncast.errors import UsageError


@dataclass
class ModelConfig:
    """The network as built: the user's `settings.NetworkOptions` plus what the data decided."""

    n_inputs: int = 1  # features per time step (targets first, then extra features); set from data
    n_targets: int = 1  # columns forecast; set from data
    horizon: int = 1  # steps forecast at once; set from data
    cell: str = "rnn"  # rnn (Elman, tanh) | lstm | gru
    hidden_size: int = 64  # width of the hidden state h_t
    layers: int = 1  # stacked recurrent layers
    dropout: float = 0.0  # between stacked layers (needs layers > 1)
    window_norm: str = "last"  # last | season | mean | none: resolved ("auto" became one of these from the data)
    season: int = 1  # with window_norm "season": the period whose last cycle is the base forecast; set from data
    n_known: int = 0  # trailing inputs known at every step (calendar sin/cos): exempt from window_norm
    n_series: int = 0  # series the id embedding tells apart; set from data
    id_embedding: int = 0  # width of a learned series embedding; > 0: the last input column is the series number

    def to_dict(self) -> dict:
        return asdict(self)


def build(cfg: ModelConfig) -> Forecaster:
    """A fresh network, or a usage error when this machine cannot hold its weights."""
    try:
        return Forecaster(cfg)
    except (MemoryError, RuntimeError) as exc:
        if not isinstance(exc, MemoryError) and "alloc" not in str(exc):
            raise
        raise UsageError(
            f"not enough memory for a network with --hidden-size {cfg.hidden_size} and --layers {cfg.layers}; "
            "lower them"
        ) from None


class Forecaster(nn.Module):
    """Recurrent cell + Linear head: (B, L, F) scaled inputs → (B, H, n_targets) scaled forecasts."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        if config.cell not in CELLS:
            raise ValueError(f"unknown cell {config.cell!r}")
        if config.window_norm not in WINDOW_NORMS or config.window_norm == "auto":
            raise ValueError(f"unresolved or unknown window_norm {config.window_norm!r}")
        self.config = config
        recurrent = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[config.cell]
        self.rnn = recurrent(
            input_size=config.n_inputs - (1 if config.id_embedding else 0) + config.id_embedding,
            hidden_size=config.hidden_size,
            num_layers=config.layers,
            dropout=config.dropout if config.layers > 1 else 0.0,
            batch_first=True,
        )
        self.head = nn.Linear(config.hidden_size, config.horizon * config.n_targets)
        if config.id_embedding:
            self.embed = nn.Embedding(config.n_series, config.id_embedding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.config
        extra = []  # inputs that bypass window_norm: known covariates, then the series embedding
        if c.id_embedding:
            ids = x[:, 0, -1].long()  # (B,) the series number rides along as the last column
            x = x[..., :-1]
            extra.append(self.embed(ids)[:, None, :].expand(-1, x.shape[1], -1))  # (B, L, E)
        if c.n_known:
            extra.insert(0, x[..., x.shape[-1] - c.n_known :])  # (B, L, K)
            x = x[..., : x.shape[-1] - c.n_known]
        level = base = None
        if c.window_norm in ("last", "season"):
            level = x[:, -1:, :]  # (B, 1, F)
        elif c.window_norm == "mean":
            level = x.mean(dim=1, keepdim=True)  # (B, 1, F)
        if c.window_norm == "season" and 1 < c.season <= x.shape[1]:
            # the seasonal-naive forecast (the window's last cycle, repeated) is the base the network corrects
            steps = x.shape[1] - c.season + torch.arange(c.horizon, device=x.device) % c.season
            base = x[:, steps, : c.n_targets]  # (B, H, T)
        if level is not None:
            x = x - level  # the cell sees the shape of the window, not its level
        if extra:
            x = torch.cat([x, *extra], dim=-1)  # (B, L, F')
        out, _ = self.rnn(x)  # (B, L, hidden)
        y = self.head(out[:, -1, :]).view(-1, c.horizon, c.n_targets)  # (B, H, T)
        if base is not None:
            return y + base
        if level is not None:
            y = y + level[:, :, : c.n_targets]
        return y
