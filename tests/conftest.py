from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
SHARED = ROOT.parent / "shared" / "data"

ELEC = SAMPLE / "elec_equip.csv"
MACRO = SAMPLE / "macrodata.csv"
ETTH1 = SAMPLE / "ETTh1.csv"

# The columns of a single-series backtest or evaluate table, in order.
BACKTEST_COLUMNS = ["target", "step", "model", "MAE", "RMSE", "MAPE", "MASE", "coverage_80", "coverage_95"]

# Small, fast settings for tests: the behaviour under test does not need a good model.
TINY = ["--hidden-size", "8", "--epochs", "3", "--batch-size", "32"]


def settings(read=None, layout=None, windows=None, **options):
    """Library settings: `read`, `layout`, `windows` as given, network and training options by keyword."""
    from dataclasses import fields

    from rnncast.settings import Layout, NetworkOptions, ReadOptions, Settings, WindowConfig
    from rnncast.train import TrainConfig

    names = {f.name for f in fields(NetworkOptions)}
    network = NetworkOptions(**{k: v for k, v in options.items() if k in names})
    train = TrainConfig(**{k: v for k, v in options.items() if k not in names})
    return Settings(read or ReadOptions(), layout or Layout(), windows or WindowConfig(), network, train)


@pytest.fixture
def shared_data() -> Path:
    if not SHARED.exists():
        pytest.skip("../shared/data is not beside the checkout")
    return SHARED


@pytest.fixture(scope="session")
def elec_model(tmp_path_factory) -> Path:
    """A small model trained once on the monthly sample series."""
    from rnncast import api

    path = tmp_path_factory.mktemp("models") / "elec.rnncast"
    api.fit(ELEC, settings(hidden_size=8, epochs=3), model_path=path)
    return path
