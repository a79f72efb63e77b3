"""How should a mixed ensemble combine its members? Several rules scored from the same ETT fits.

Runs accuracy.py's ETT rows (validation only) with the library's defaults; at each fit whose ensemble
mixes members with and without the highway (`highway_members`), the validation forecasts of every
member are combined by each rule below and scored with the project's own guard (`fitting.fit_guard`:
the alpha a window is scored with is fitted on the other half of the validation windows), then the
fit goes on with its default combination, untouched. Validation only; --earlier-fold as in accuracy.py.
Results: docs/accuracy.md, "Combining a mixed ensemble's members".

    PYTHONPATH=$PWD:$PWD/benchmarks .venv-bench/bin/python benchmarks/ett_combine.py [--earlier-fold] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import accuracy
import numpy as np
import torch

from rnncast import fitting
from rnncast import model as nets


def linear(model: nets.Forecaster, x: torch.Tensor) -> torch.Tensor:
    """The highway's least-squares map alone (what every highway member shares), de-normalised: (B, H, T)."""
    c, n = model.config, model.normalise(x)
    net = model.nets[0]
    past = n.x[:, n.x.shape[1] - c.highway :, : c.n_targets]  # (B, P, T)
    y = net.highway(past.transpose(1, 2)).transpose(1, 2)[:, None]  # (B, 1, H, T), as one member's output
    if n.spread is not None:
        y = y * n.spread[:, None, :, : c.n_targets]
    if n.base is not None:
        return (y + n.base[:, None])[:, 0]
    if n.level is not None:
        y = y + n.level[:, None, :, : c.n_targets]
    return y[:, 0]


def rules(model: nets.Forecaster, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Each rule's forecast from the windows x; the first highway_members members read the highway."""
    members, k = model.members(x), model.config.highway_members
    hw, cell, lin = nets.median(members[:, :k]), nets.median(members[:, k:]), linear(model, x)
    median = nets.median(members)
    return {
        "median": median,
        "mean": members.mean(dim=1),
        "groups": (hw + cell) / 2,
        "g30": 0.3 * hw + 0.7 * cell,
        "g70": 0.7 * hw + 0.3 * cell,
        "halflin": (median + lin) / 2,
        "hw": hw,
        "cell": cell,
        "lin": lin,
    }


SCORES: list[dict] = []
_fit_guard = fitting.fit_guard


@torch.no_grad()
def scoring_fit_guard(model: nets.Forecaster, val, net: np.ndarray, n_val: list[int]):
    c = model.config
    if c.ensemble > 1 and 0 < c.highway_members < c.ensemble:
        model.eval()
        parts: dict[str, list[np.ndarray]] = {}
        for start in range(0, len(val), 4096):
            x, _ = val.batch(slice(start, start + 4096))
            for name, f in rules(model, x).items():
                parts.setdefault(name, []).append(f.double().cpu().numpy())
        forecasts = {name: np.concatenate(p) for name, p in parts.items()}
        assert np.allclose(forecasts["median"], net), "the control must be the fit's own forecast"
        alpha = model.alpha.clone()
        row = {"horizon": c.horizon}
        for name, f in forecasts.items():
            row[name] = _fit_guard(model, val, f, n_val).mse["guarded"]
        model.alpha.copy_(alpha)
        SCORES.append(row)
        accuracy.say("combine: " + ", ".join(f"{k} {v:.5f}" if k != "horizon" else f"h {v}" for k, v in row.items()))
    return _fit_guard(model, val, net, n_val)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--earlier-fold", action="store_true", help="validation targets rows [5760, 8640)")
    ap.add_argument("--json", type=Path, help="also write every number here")
    args, rest = ap.parse_known_args()
    fitting.fit_guard = scoring_fit_guard
    sys.argv = [sys.argv[0], "--only", "ett", "--val-only", *(["--earlier-fold"] if args.earlier_fold else []), *rest]
    accuracy.main()
    print(json.dumps(SCORES, indent=1))
    if args.json:
        args.json.write_text(json.dumps(SCORES, indent=1) + "\n")


if __name__ == "__main__":
    main()
