"""M4 Weekly, one global default fit on all 359 training series: validation windows only (fit's own split).

Prints a validation OWA-like ratio against repeat-last, 0.5 × (mean pct error / naive's + mean MASE /
naive's), means over series, for the series long enough for the default windows (>= 130 rows), the
short ones and all fitted; the test values are never used. `--set` as in accuracy.py; `--json` keeps every
series' scores. Used to choose issue 11's many-series changes (docs/accuracy.md).

    .venv-bench/bin/python benchmarks/m4_validation.py --set seed=1 --json /tmp/m4val.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from accuracy import m4_long_csv, m4_series, parse_overrides, settings

from rnncast import api
from rnncast.metrics import POOLED
from rnncast.settings import Layout

SHORT = 130  # seq_len 104 + 2 × 13: fewer rows than one training and one validation window need


def owa_like(per: dict, group: list[str], model: str) -> float:
    ratio = [np.mean([per[s][model][k] for s in group]) / np.mean([per[s]["naive"][k] for s in group]) for k in (0, 1)]
    return 0.5 * sum(ratio)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--json", type=Path, help="also write every series' validation scores here")
    args = ap.parse_args()
    _, history, _ = m4_series(None)
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "m4-weekly.csv"
        m4_long_csv(history, csv)
        started = time.perf_counter()
        result = api.fit(
            csv, settings(parse_overrides(args.overrides), layout=Layout(id_col="id"), horizon=13), model_path=None
        )
        seconds = time.perf_counter() - started
    cell = result.artifact.meta["model"]["cell"]
    per: dict[str, dict[str, tuple[float, float]]] = {}
    for sid, score in result.scores:
        if sid != POOLED:
            per.setdefault(sid, {})[score.model] = (score.pct, score.mase)
    groups = {
        f"long (>= {SHORT} rows)": [s for s in per if len(history[s]) >= SHORT],
        "short": [s for s in per if len(history[s]) < SHORT],
        "all fitted": list(per),
    }
    guard = result.artifact.meta["guard"]
    alpha = "off" if guard is None else f"mean {np.mean(guard['alpha']):.3f}"
    print(f"{' '.join(args.overrides) or 'defaults'}: fit {seconds:.0f} s, {len(per)} series fitted, "
          f"best epoch {result.training.best_epoch} of {result.training.epochs_run}, guard alpha {alpha}")  # fmt: skip
    for name, group in groups.items():
        if group:
            print(f"  {name}, {len(group)} series: network {owa_like(per, group, cell):.4f} (repeat-last 1)")
    if args.json:
        args.json.write_text(json.dumps({"overrides": args.overrides, "seconds": seconds, "per_series": per}))


if __name__ == "__main__":
    main()
