"""benchmarks/defaults.py's --set reads each setting as its field's type, a field whose default is None too."""

import importlib.util

from conftest import ROOT

from rnncast.settings import Settings


def load_defaults():
    spec = importlib.util.spec_from_file_location("bench_defaults", ROOT / "benchmarks" / "defaults.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_set_reads_a_loss_whose_default_is_none_as_text_and_numbers_as_numbers():
    """--loss defaults to None (fitting.resolved_loss picks mae or mse): `--set loss=mae` was read as float('mae')."""
    bench = load_defaults()
    s = bench.override(Settings(), ["loss=mae", "epochs=7", "lr=0.003", "ensemble=5"])
    assert (s.train.loss, s.train.epochs, s.train.lr, s.network.ensemble) == ("mae", 7, 0.003, 5)
