"""One pipeline: every capability works for one series, long data and wide data alike.

The same sine series are written three ways: one series alone, long (`--id-col store`) and wide
(`--wide`); each command runs on each layout and its output differs only by the id column.
"""

import io
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from test_many import sines

from rnncast.cli import cli

TINY = ["--hidden-size", "8", "--epochs", "2", "--seq-len", "24", "--horizon", "4", "--threads", "1"]


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def layouts(tmp_path, frame: pd.DataFrame | None = None) -> dict[str, tuple[str, list[str], str | None]]:
    """name: (csv path, layout options, id column of the output)."""
    frame = sines(3) if frame is None else frame
    one = frame[frame["store"] == "s0"].sort_values("date")[["date", "sales"]]
    wide = frame.pivot(index="date", columns="store", values="sales").reset_index()
    paths = {name: tmp_path / f"{name}.csv" for name in ("one", "long", "wide")}
    one.to_csv(paths["one"], index=False)
    frame.to_csv(paths["long"], index=False)
    wide.to_csv(paths["wide"], index=False)
    return {
        "one": (paths["one"], ["--target", "sales"], None),
        "long": (paths["long"], ["--id-col", "store", "--target", "sales"], "store"),
        "wide": (paths["wide"], ["--wide"], "series"),
    }


@pytest.mark.parametrize("layout", ["one", "long", "wide"])
def test_calendar_evaluate_levels_and_backtest_steps_on_every_layout(tmp_path, layout):
    data, options, id_col = layouts(tmp_path)[layout]
    model = tmp_path / "m.rnncast"
    fitted = run("fit", data, *options, "--calendar", "--model", model, "--format", "csv", *TINY)
    assert fitted.exit_code == 0, fitted.output
    assert "calendar hour, dayofweek" in fitted.stderr

    saved = pd.read_csv(io.StringIO(run("forecast", "--model", model, "--level", "80", "--format", "csv").stdout))
    target = "value" if layout == "wide" else "sales"
    expected = ([id_col] if id_col else []) + ["date", target, f"{target}_lower_80", f"{target}_upper_80"]
    assert list(saved.columns) == expected
    assert (saved[f"{target}_lower_80"] < saved[target]).all() and (saved[target] < saved[f"{target}_upper_80"]).all()
    # calendar inputs rebuilt from new data's time stamps give the forecasts made from the saved contexts
    again = pd.read_csv(io.StringIO(run("forecast", data, "--model", model, "--format", "csv").stdout))
    np.testing.assert_allclose(again[target], saved[target], rtol=1e-9)

    scored = run("evaluate", data, "--model", model, "--all-windows", "--format", "csv")
    assert scored.exit_code == 0, scored.output
    table = pd.read_csv(io.StringIO(scored.stdout))
    assert list(table.columns)[: 4 if id_col else 3] == ([id_col] if id_col else []) + ["target", "step", "model"]
    assert {"coverage_80", "coverage_95", "MAPE"} <= set(table.columns)  # positive values: MAPE on every layout

    backtest = run("backtest", data, *options, "--calendar", "--folds", "2", "--level", "80", "--format", "csv", *TINY)
    assert backtest.exit_code == 0, backtest.output
    bt = pd.read_csv(io.StringIO(backtest.stdout))
    assert sorted(bt["step"].unique().tolist()) == sorted(["all", "1", "2", "3", "4"])
    assert bt[bt["model"] == "rnn"]["coverage_80"].notna().all()


def test_an_outlier_beyond_float32_is_refused_the_same_on_every_layout(tmp_path):
    """0.1 refused it for one series and trained on it (validation MSE ~1e33) for wide data."""
    frame = sines(3)
    s1 = frame["store"] == "s1"
    frame.loc[s1 & (frame["date"] == frame.loc[s1, "date"].max() - pd.Timedelta(hours=3)), "sales"] = 1e30
    codes = {}
    for name, (data, options, _) in layouts(tmp_path, frame).items():
        if name == "one":  # s0 holds no outlier: put one in
            one = pd.read_csv(data)
            one.loc[len(one) - 3, "sales"] = 1e30
            one.to_csv(data, index=False)
        model = tmp_path / f"{name}.rnncast"
        result = run("fit", data, *options, "--model", model, *TINY)
        codes[name] = result.exit_code
        assert "too far from the training rows' range to train in float32" in result.output, (name, result.output)
        assert not model.exists()
    assert codes == {"one": 65, "long": 65, "wide": 65}


def test_info_json_is_one_object_with_typed_values_and_the_training_settings(tmp_path):
    data, options, _ = layouts(tmp_path)["long"]
    model = tmp_path / "m.rnncast"
    assert run("fit", data, *options, "--model", model, "--lr", "0.002", "--val-frac", "0.25", *TINY).exit_code == 0
    card = json.loads(run("info", "--model", model, "--format", "json").stdout)
    assert isinstance(card, dict)
    assert card["seq_len"] == 24 and card["horizon"] == 4 and card["hidden_size"] == 8
    assert card["lr"] == 0.002 and card["val_frac"] == 0.25 and card["epochs"] == 2 and card["batch_size"] == 64
    # patience as it ran: chosen from the data size (200 steps at 4 batches an epoch), not left blank
    assert card["patience"] == 50 and card["seed"] == 0 and card["clip"] == 1.0
    assert card["segment"] == 3 and card["ensemble"] == 5 and card["guard_base"] in ("last", "season")
    assert len(card["guard_alpha"]) == 4 and all(0 <= a <= 1 for a in card["guard_alpha"])
    assert card["window_norm"] in ("last", "season") and card["format_version"] == 2
    assert card["series_ids"] == ["s0", "s1", "s2"] and card["id_col"] == "store" and card["targets"] == ["sales"]
    listing = pd.read_csv(io.StringIO(run("info", "--model", model, "--format", "csv").stdout))
    assert list(listing.columns) == ["field", "value"]
    assert listing.set_index("field").loc["series_ids", "value"] == "s0,s1,s2"
