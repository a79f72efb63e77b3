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
TINY = ["--device", "cpu", "--hidden-size", "8", "--epochs", "3", "--batch-size", "32"]


@pytest.fixture(autouse=True)
def cpu_unless_a_test_says_otherwise(monkeypatch):
    """Every command a test runs (CliRunner or subprocess) trains with --device cpu unless it passes --device:
    `auto` means CUDA on a GPU machine, where tiny fits are slower and the expected numbers are CPU numbers.
    Tests of the device itself pass --device, or ask for CUDA and skip without it."""
    monkeypatch.setenv("RNNCAST_DEVICE", "cpu")
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):  # a suite started under torchrun still tests one process
        monkeypatch.delenv(name, raising=False)


def read_csv_exact(text: str):
    """A csv's text as pandas reads it, every float back to the bit it was written from: pandas 3.1's parser is
    exact (and deprecates float_precision); 3.0's default is off in the last bit, its round_trip parser is not."""
    import io

    import pandas as pd

    exact = tuple(int(part) for part in pd.__version__.split(".")[:2]) >= (3, 1)
    return pd.read_csv(io.StringIO(text), **({} if exact else {"float_precision": "round_trip"}))


def settings(read=None, layout=None, windows=None, **options):
    """Library settings: `read`, `layout`, `windows` as given, network and training options by keyword."""
    from dataclasses import fields

    from rnncast.settings import Layout, NetworkOptions, ReadOptions, Settings, WindowConfig
    from rnncast.train import TrainConfig

    names = {f.name for f in fields(NetworkOptions)}
    options.setdefault("device", "cpu")  # the device is not what these tests test (see the fixture above)
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
