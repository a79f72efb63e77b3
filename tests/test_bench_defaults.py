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


def test_heldout_sets_leave_out_the_scoreboards_backtest_folds():
    """benchmarks/heldout.py's small sets end 3 horizons before the data: the rows the scoreboard's 3-fold
    backtests score are never read by the held-out comparisons."""
    import io
    import sys

    import pandas as pd

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import heldout

    sets = heldout.small()
    elec, read, horizon = sets["elec_equip"]
    frame = pd.read_csv(io.StringIO(elec))
    assert horizon == 12 and len(frame) == 257 - 36 and frame.iloc[-1, 0] == "May-1-2013" and read.targets == ()
    gdp, read, horizon = sets["realgdp"]
    frame = pd.read_csv(io.StringIO(gdp))
    assert horizon == 8 and len(frame) == 203 - 24 and list(frame.columns) == ["year", "quarter", "realgdp"]
    assert read.targets == ("realgdp",) and set(sets) == {"elec_equip", *heldout.MACRO}


def test_heldout_daily_ett_reads_only_the_protocols_training_and_validation_hours(shared_data):
    """ettdaily: 480 daily means per column, the last one of hour 11,519; the ETT test hours are never read."""
    import io
    import sys

    import pandas as pd

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import heldout

    sets = heldout.ettdaily()
    assert len(sets) == 14
    text, read, horizon = sets["ETTh1 OT"]
    frame = pd.read_csv(io.StringIO(text))
    assert len(frame) == 480 and frame["date"].iloc[-1] == "2017-10-23" and read.targets == ("OT",) and horizon == 14
