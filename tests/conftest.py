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


@pytest.fixture
def shared_data() -> Path:
    if not SHARED.exists():
        pytest.skip("../shared/data is not beside the checkout")
    return SHARED


@pytest.fixture(scope="session")
def elec_model(tmp_path_factory) -> Path:
    """A small model trained once on the monthly sample series."""
    from rnncast import api
    from rnncast.model import ModelConfig
    from rnncast.train import TrainConfig

    path = tmp_path_factory.mktemp("models") / "elec.rnncast"
    api.fit(ELEC, model_cfg=ModelConfig(hidden_size=8), train_cfg=TrainConfig(epochs=3), model_path=path)
    return path
