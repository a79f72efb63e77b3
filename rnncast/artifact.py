"""One model file: safetensors (tensors + a JSON header), written atomically, read without running code.

Layout of a `.rnncast` file (a plain safetensors file any safetensors reader can open), format 2.
S is the number of series (1 for a single series: the series axis is always there):
  tensors   model.*          the network's state_dict
            scaling.shift    (S, F) float64   x_scaled = (x - shift) / scale, per series
            scaling.scale    (S, F) float64
            context          (S, seq_len, F) float64, the last rows of each series' training data, original units
            val_residuals    (N_val, H, T) float32, actual - forecast on every validation window
            val_scales       (N_val, T) float32, each validation input window's volatility (intervals)
  metadata  format           "rnncast"
            format_version   integer as text; newer than FORMAT_VERSION is refused
            meta             JSON: model config, data description, series (ids, ends, ...), settings,
                             training summary, metrics, versions
            sha256           over meta and every tensor's bytes: detects truncation and bit flips

Format 1 files (rnncast 0.1: no series axis for one series, many series under meta "panel") are
read and upgraded in memory to format 2.

Format 3 is format 2 plus inputs known for the forecast steps (meta model `n_ahead`, data
`future_features`, series `calendar_ahead`) or an autoregressive highway (meta model `highway`,
tensors `model.nets.K.highway.*`): a model with them is written as format 3, so an older rnncast
says "upgrade" instead of misreading it; every other model is still written as format 2.
Formats 1 and 2 read as models without such inputs or highway.

Format 4 is format 3 plus a cell that reads only the window's last steps (meta model `cell_len`): an
rnncast that reads up to format 3 would run the cell over the whole window and forecast wrongly, so
it must refuse the file instead.

Format 5 is format 4 plus an ensemble whose members do not all read the highway (meta model
`highway_members`, the first that many members; the others have no `highway.*` tensors): an older
rnncast would build every member with one and fail on the missing tensors.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from rnncast.atomic import write_atomic
from rnncast.choices import CELLS, WINDOW_NORMS
from rnncast.encoding import Scaling
from rnncast.errors import DataError, InputError
from rnncast.model import ModelConfig

FORMAT = "rnncast"
FORMAT_VERSION = 5  # the newest format read; `written_version` says which one a model needs


@dataclass
class Artifact:
    """Everything `forecast` needs, and what `info` shows."""

    meta: dict  # JSON-able description: "model", "data", "training", "metrics", "versions", ...
    state_dict: dict[str, torch.Tensor]
    scaling: Scaling
    context: np.ndarray  # (S, seq_len, F) original units
    val_residuals: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0), np.float32))
    val_scales: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))  # (N_val, T)


def _checksum(meta_json: str, tensors: dict[str, torch.Tensor]) -> str:
    digest = hashlib.sha256(meta_json.encode())
    for name in sorted(tensors):
        t = tensors[name].contiguous().cpu()
        digest.update(name.encode())
        digest.update(str(t.dtype).encode() + str(tuple(t.shape)).encode())
        digest.update(t.view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _tensors(art: Artifact) -> dict[str, torch.Tensor]:
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in art.state_dict.items()}
    tensors["scaling.shift"] = torch.from_numpy(np.array(art.scaling.shift, dtype=np.float64, order="C"))
    tensors["scaling.scale"] = torch.from_numpy(np.array(art.scaling.scale, dtype=np.float64, order="C"))
    tensors["context"] = torch.from_numpy(np.array(art.context, dtype=np.float64, order="C"))
    tensors["val_residuals"] = torch.from_numpy(np.array(art.val_residuals, dtype=np.float32, order="C"))
    tensors["val_scales"] = torch.from_numpy(np.array(art.val_scales, dtype=np.float32, order="C"))
    return tensors


def to_bytes(art: Artifact) -> bytes:
    from safetensors.torch import save

    meta = dict(art.meta, scaler=art.scaling.kind)
    meta_json = json.dumps(meta, sort_keys=True, default=str)
    tensors = _tensors(art)
    header = {
        "format": FORMAT,
        "format_version": str(written_version(meta)),
        "meta": meta_json,
        "sha256": _checksum(meta_json, tensors),
    }
    return save(tensors, metadata=header)


def written_version(meta: dict) -> int:
    """5 for a highway in some members only, 4 for a cell over part of the window, 3 for inputs known ahead or
    a highway (older readers cannot), else 2."""
    if meta["model"].get("highway_members"):
        return 5
    if meta["model"].get("cell_len"):
        return 4
    return 3 if meta["model"].get("n_ahead") or meta["model"].get("highway") else 2


def save(art: Artifact, path: str | Path) -> None:
    """Write the artifact atomically: a temp file beside `path`, fsync, then rename over it."""
    write_atomic(Path(path), to_bytes(art))


def load(path: str | Path) -> Artifact:
    """Read and verify a model file. Only tensors and JSON are parsed: nothing in it is executed."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.exists():
        raise InputError(f"model file {path} not found; train one with `rnncast fit DATA --model {path}`")
    if path.is_dir():
        raise InputError(f"{path} is a directory, not a model file; pass --model FILE")
    not_ours = f"{path} is not an rnncast model file (or it is damaged); retrain with `rnncast fit`"
    try:
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
            if header.get("format") != FORMAT:
                raise DataError(not_ours)
            tensors = {name: f.get_tensor(name) for name in f.keys()}
    except PermissionError as exc:
        raise InputError(f"cannot read {path} ({exc.strerror}); check its permissions") from exc
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise DataError(not_ours) from exc
    try:
        version = int(header.get("format_version", ""))
    except ValueError:
        raise DataError(not_ours) from None
    if version < 1:
        raise DataError(not_ours)
    if version > FORMAT_VERSION:
        raise DataError(
            f"{path} was written by a newer rnncast (format {version}, this one reads up to {FORMAT_VERSION}); "
            "upgrade rnncast"
        )
    meta_json = header.get("meta", "")
    if _checksum(meta_json, tensors) != header.get("sha256"):
        raise DataError(f"{path} is corrupted (checksum mismatch); restore it or retrain with `rnncast fit`")
    try:
        meta = json.loads(meta_json)
        meta["format_version"] = version
        scaling = Scaling(
            kind=meta["scaler"],
            shift=tensors.pop("scaling.shift").numpy(),
            scale=tensors.pop("scaling.scale").numpy(),
        )
        context = tensors.pop("context").numpy()
        residuals = tensors.pop("val_residuals").numpy()
        val_scales = tensors.pop("val_scales").numpy() if "val_scales" in tensors else np.zeros((0, 0), np.float32)
        if version >= 2 and written_version(meta) != version:  # the version is outside the checksum
            raise ValueError(f"format {version} does not match its meta")
        if version == 1:
            scaling, context = _upgrade_v1(meta, scaling, context)
        _check_meta(meta, scaling, context)
    except (KeyError, ValueError, TypeError) as exc:
        raise DataError(not_ours) from exc
    state = {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")}
    if version == 1:
        state = _upgrade_v1_state(state, meta["model"])
    return Artifact(
        meta=meta, state_dict=state, scaling=scaling, context=context, val_residuals=residuals, val_scales=val_scales
    )


def _upgrade_v1(meta: dict, scaling: Scaling, context: np.ndarray) -> tuple[Scaling, np.ndarray]:
    """A format-1 meta and tensors in format 2's shape: a series axis, and `series` in meta."""
    if "panel" in meta:  # many series: the tensors already had a series axis
        panel = meta.pop("panel")
        meta["series"] = {k: panel[k] for k in ("ids", "id_col", "wide", "calendar", "ends", "rows", "mase_scale")}
        return scaling, context
    data = meta["data"]
    scale = data.get("mase_scale") or []  # none saved: evaluate recomputes it from the data
    meta["series"] = {"ids": [""], "id_col": None, "wide": False, "calendar": [], "ends": [data["end"]],
                      "rows": [data["rows"]], "mase_scale": [scale]}  # fmt: skip
    return Scaling(scaling.kind, scaling.shift[None, :], scaling.scale[None, :]), context[None]


def _upgrade_v1_state(state: dict[str, torch.Tensor], model: dict) -> dict[str, torch.Tensor]:
    """Format-1 weights in format 2's names: one network (`rnn.*`, `head.*`, `embed.*`) is member 0 of
    `nets`, and the guard's weights are 1 (no guard: the network's own forecast)."""
    state = {f"nets.0.{k}": v for k, v in state.items()}
    state["alpha"] = torch.ones(model["horizon"], model["n_targets"])
    return state


# What forecast and info read from `meta`; a file with a valid checksum can still be hand-made.
_META_FIELDS = {"model": dict, "data": dict, "training": dict, "metrics": list, "versions": dict, "model_seq_len": int}
_DATA_FIELDS = {"targets": list, "features": list}
_SERIES_FIELDS = {"ids": list, "ends": list, "rows": list, "mase_scale": list, "calendar": list}


def _check_meta(meta: object, scaling: Scaling, context: np.ndarray) -> None:
    """Raise ValueError unless meta has the fields and types this version reads, and tensors the right shapes."""
    if not isinstance(meta, dict):
        raise ValueError("meta is not an object")
    for fields, part in ((_META_FIELDS, meta), (_DATA_FIELDS, meta.get("data")), (_SERIES_FIELDS, meta.get("series"))):
        for name, kind in fields.items():
            if not isinstance(part, dict) or not isinstance(part.get(name), kind):
                raise ValueError(f"meta field {name!r} missing or not a {kind.__name__}")
    n = len(meta["series"]["ids"])
    if scaling.shift.shape[0] != n or context.ndim != 3 or context.shape[0] != n:
        raise ValueError("tensors do not have one row per series")
    config = ModelConfig(**meta["model"])  # TypeError on unknown fields
    if config.cell not in CELLS or config.window_norm not in WINDOW_NORMS:
        raise ValueError(f"unknown cell {config.cell!r} or window_norm {config.window_norm!r}")
    if not 0 <= config.cell_len <= meta["model_seq_len"] or not 0 <= config.highway <= meta["model_seq_len"]:
        raise ValueError("cell_len or highway reads more steps than the window holds")
    if not 0 <= config.highway_members <= config.ensemble or (config.highway_members and not config.highway):
        raise ValueError("highway_members is not a number of members that read a highway")
