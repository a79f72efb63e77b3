"""Diagnosis: how far back into its window a trained network looks, and how its training went.

For each cell, on the validation windows (or, for a saved model, on the windows of new data):
- `grad_norm_by_lag`: the norm of the loss gradient with respect to the input at each lag of the
  window (lag 1 = the most recent point), over all input columns, averaged over windows. The input is
  the window as the cells read it, after window normalisation: differentiating the raw window would
  credit lag 1 with the level that `--window-norm last` subtracts and adds back, a pass-through that
  says nothing about memory. It is always the point window, so with --segment the lags are points.
- `effective_memory`: the largest lag whose norm is at least MEMORY_SHARE (1%) of the largest norm
  at any lag; 0..seq_len (0 only when no lag moves the loss at all). With --cell-len R the cell reads
  only the last R lags (the rest reach the forecast through the highway alone), and the verdict weighs
  the memory against those R.
- `spectral_radius` and `max_singular_value` of each layer's recurrent matrix W_hh (mean over ensemble
  members). Elman: W_hh itself. LSTM and GRU stack their gates' matrices (4H x H: i, f, g, o; 3H x H:
  r, z, n); the spectral radius is that of the candidate block (LSTM g, GRU n), the square matrix in
  the Elman position inside the tanh, and the largest singular value is that of the whole stack.
- `clip_rate` and the pre-clip gradient norm percentiles of its training (`train.clip_stats`);
- `val_mse` (scaled units) and a one-line verdict.

The highway's linear map (--highway) is left out of the gradient: it reads every lag directly and would
make any cell look as if it remembered the whole window. The loss is the network's before the guard: the guard blends in a naive forecast, which reads the last
value or the last cycle and says nothing about what the cell remembers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from rnncast import forecast as fc
from rnncast import model as nets
from rnncast import train as tr
from rnncast.artifact import Artifact
from rnncast.collection import Collection
from rnncast.errors import DataError
from rnncast.fitting import fit_plan
from rnncast.settings import NetworkOptions
from rnncast.windowing import Plan, Windows, make_windows, plan_windows

MEMORY_SHARE = 0.01  # a lag counts as remembered while its gradient norm is at least 1% of the largest
SAVED_WINDOWS = 1000  # with --model: the latest windows of each series of the data
BATCH = 256


@dataclass
class Diagnosis:
    cell: str
    grad_norm_by_lag: list[float]  # (seq_len,) lag 1 (the most recent point) first
    effective_memory: int  # 0..seq_len
    spectral_radius: list[float]  # per layer
    max_singular_value: list[float]  # per layer
    clip_rate: float | None  # None: a saved model from before clip statistics
    grad_norm_p50: float | None
    grad_norm_p90: float | None
    grad_norm_p99: float | None
    grad_norm_max: float | None
    val_mse: float
    verdict: str

    def to_dict(self) -> dict:
        return dict(vars(self))


def grad_norm_by_lag(model: nets.Forecaster, windows: Windows) -> np.ndarray:
    """Mean over windows of |d loss_i / d x_i| at each lag, lag 1 first: (L,).

    loss_i is window i's MSE; x_i its normalised input (`Forecaster.normalise`).
    """
    model.eval()
    total, count = None, 0
    # cuDNN runs an RNN's backward only in training mode; the plain kernels have no such limit
    with torch.backends.cudnn.flags(enabled=False):
        for start in range(0, len(windows), BATCH):
            x, y = windows.batch(slice(start, start + BATCH))  # (B, L, F), (B, H, T)
            n = model.normalise(x)
            cells_in = n.x.detach().requires_grad_(True)  # (B, L, F'): what the cells read
            # the network before the guard; the highway (--highway) reads a detached copy: its direct linear
            # path from every lag is not what the cells remember
            out = nets.median(model.from_cells(cells_in, n, highway_x=n.x.detach()))  # (B, H, T)
            per_window = ((out - y) ** 2).flatten(1).mean(dim=1)  # (B,)
            (grad,) = torch.autograd.grad(
                per_window.sum(), cells_in
            )  # windows are independent: row i is d loss_i / d x_i
            norms = grad.norm(dim=-1).sum(dim=0)  # (L,) summed over windows
            total = norms if total is None else total + norms
            count += cells_in.shape[0]
    return (total / count).flip(0).double().cpu().numpy()  # lag 1 = the last point of the window


def effective_memory(by_lag: np.ndarray, share: float = MEMORY_SHARE) -> int:
    """The largest lag (1-based) whose norm is at least `share` of the maximum; 0 when every norm is 0."""
    top = float(by_lag.max()) if by_lag.size else 0.0
    if not top > 0:
        return 0
    return int(np.nonzero(by_lag >= share * top)[0].max()) + 1


def recurrent_spectra(model: nets.Forecaster) -> tuple[list[float], list[float]]:
    """Per layer: (spectral radius, largest singular value) of W_hh, each the mean over members."""
    c = model.config
    gates = {"rnn": 1, "gru": 3, "lstm": 4}[c.cell]
    candidate = {"rnn": 0, "gru": 2, "lstm": 2}[c.cell]  # which block of the stack sits inside the tanh
    h = c.hidden_size
    radius, sigma = [], []
    for layer in range(c.layers):
        r, s = [], []
        for net in model.nets:
            w = getattr(net.rnn, f"weight_hh_l{layer}").detach().double().cpu()  # (gates*H, H)
            assert w.shape == (gates * h, h)
            r.append(float(torch.linalg.eigvals(w[candidate * h : (candidate + 1) * h]).abs().max()))
            s.append(float(torch.linalg.matrix_norm(w, ord=2)))
        radius.append(float(np.mean(r)))
        sigma.append(float(np.mean(s)))
    return radius, sigma


def verdict(cell: str, memory: int, seq_len: int, segment: int, clip_rate: float | None, cell_len: int = 0) -> str:
    """One line for people: how much of the window the cell uses, and what to try. `cell_len` (--cell-len): the
    cell reads only the window's last cell_len steps, so its use is measured against those, not the window."""
    if 0 < cell_len < seq_len:
        reach, length, whole, most = cell_len, "--cell-len", "all of its part of the window", "them"
        span = f"the last {cell_len} steps its cell reads with --cell-len {cell_len}"
    else:
        reach, length, whole, most = seq_len, "--seq-len", "the whole window", "the window"
        span = f"{seq_len} steps"
    if memory >= 0.9 * reach:
        line = f"{cell} uses {whole} ({memory} of {span}); a longer {length} may help"
    elif memory >= reach / 2:
        line = f"{cell} uses about the last {memory} of {span}, most of {most}"
    else:
        tries = ["--cell gru"] if cell == "rnn" else []
        wider = 2 * segment if segment else max(2, reach // 4)  # fewer, longer steps over the same window
        if wider <= reach // 2:
            tries.append(f"--segment {wider}")
        if not tries:
            tries.append(f"a shorter {length} ({max(memory, 2)})")
        line = f"{cell} uses about the last {memory} of {span}; try " + " or ".join(tries)
    if clip_rate is not None and clip_rate > 0.5:
        line += f"; clipping engaged on {100 * clip_rate:.0f}% of steps: try a lower --lr"
    return line


def diagnosis(
    cell: str, model: nets.Forecaster, windows: Windows, seq_len: int, gradients: dict, val_mse: float
) -> Diagnosis:
    by_lag = grad_norm_by_lag(model, windows)
    memory = effective_memory(by_lag)
    radius, sigma = recurrent_spectra(model)
    g = gradients or {}
    return Diagnosis(
        cell=cell,
        grad_norm_by_lag=by_lag.tolist(),
        effective_memory=memory,
        spectral_radius=radius,
        max_singular_value=sigma,
        clip_rate=g.get("clip_rate"),
        grad_norm_p50=g.get("p50"),
        grad_norm_p90=g.get("p90"),
        grad_norm_p99=g.get("p99"),
        grad_norm_max=g.get("max"),
        val_mse=val_mse,
        verdict=verdict(cell, memory, seq_len, model.config.segment, g.get("clip_rate"), model.config.cell_len),
    )


def diagnose_cells(p: Plan, network: NetworkOptions, train_cfg: tr.TrainConfig, cells: tuple[str, ...], on_fit=None):
    """Train one network per cell on the plan (as `fit` would) and diagnose each on its validation windows.

    Nothing is saved, so --refit is ignored: the network diagnosed is the one its validation windows score.
    val_mse is that network's MSE whatever --loss it was trained on.
    """
    train_cfg = replace(train_cfg, refit=False)
    out = []
    for cell in cells:
        result = fit_plan(p, replace(network, cell=cell), train_cfg)
        model = fc.build_model(result.artifact)
        windows = plan_windows(p, model.config.id_embedding > 0).val
        out.append(diagnosis(cell, model, windows, p.seq_len, result.training.gradients, network_mse(model, windows)))
        if on_fit is not None:
            on_fit(cell, result)
    return out


def saved_windows(art: Artifact, coll: Collection) -> Windows:
    """The latest SAVED_WINDOWS complete windows of each series of the data the model knows, in its scaling."""
    sm = art.meta["series"]
    seq_len, horizon, t = art.meta["model_seq_len"], art.meta["model"]["horizon"], len(art.meta["data"]["targets"])
    xs, ys = [], []
    for sid, s in zip(coll.ids, coll.series, strict=True):
        if sid not in sm["ids"] or len(s) < seq_len + horizon:
            continue
        number = sm["ids"].index(sid)
        scaled = fc.series_scaling(art, number).transform(s.values)
        inputs = fc.model_inputs(art).rows(scaled, s.index, number)
        w = make_windows(torch.as_tensor(inputs, dtype=torch.float32), seq_len, horizon, t)
        n = min(len(w), SAVED_WINDOWS)
        w = w.take(len(w) - n, n)
        xs.append(w.x)
        ys.append(w.y)
    if not xs:
        raise DataError(
            f"the data holds no complete window of a series the model knows: each needs {seq_len + horizon} rows; "
            "pass a longer history"
        )
    return Windows(torch.cat(xs), torch.cat(ys))


def diagnose_saved(art: Artifact, coll: Collection) -> Diagnosis:
    """Diagnose a saved model on the windows of new data; clip statistics from its training, if recorded."""
    model = fc.build_model(art)
    windows = saved_windows(art, coll)
    gradients = art.meta["training"].get("gradients") or {}
    return diagnosis(
        model.config.cell, model, windows, art.meta["model_seq_len"], gradients, network_mse(model, windows)
    )


@torch.no_grad()
def network_mse(model: nets.Forecaster, windows: Windows) -> float:
    """The MSE of the network's forecast (its members' median, before the guard) over the windows (scaled units)."""
    total = 0.0
    for start in range(0, len(windows), BATCH):
        x, y = windows.batch(slice(start, start + BATCH))
        total += float(((nets.median(model.members(x)) - y) ** 2).sum(dtype=torch.float64))
    return total / (len(windows) * windows.y[0].numel())


def plot_lags(diagnoses: list[Diagnosis], path, title: str = "") -> None:
    """Gradient norm by lag of every cell, log scale, to an image file (png, svg or pdf)."""
    from rnncast import plot

    fig, ax = plot.figure()
    for d in diagnoses:
        lags = np.arange(1, len(d.grad_norm_by_lag) + 1)
        values = np.asarray(d.grad_norm_by_lag)
        (line,) = ax.plot(lags, np.where(values > 0, values, np.nan), label=f"{d.cell} (memory {d.effective_memory})")
        ax.axvline(d.effective_memory, color=line.get_color(), linestyle=":", linewidth=1)
    ax.set_yscale("log")
    ax.set_xlabel("lag (1 = most recent step)")
    ax.set_ylabel("mean |d loss / d input|")
    ax.set_title(title or "Gradient of the loss by lag; dotted: effective memory (1% of the maximum)")
    ax.legend()
    plot.save(fig, path)
