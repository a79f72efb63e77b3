"""Inputs known in advance (--future-features, the calendar of the forecast steps) and the hints for short data."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from conftest import ELEC, ETTH1, settings

from rnncast import api, artifact, encoding, windowing
from rnncast.cli import cli
from rnncast.errors import DataError, UsageError
from rnncast.model import Forecaster, ModelConfig
from rnncast.settings import Layout, ReadOptions, WindowConfig, validate

FIT = ["--target", "OT", "--future-features", "HUFL", "--seq-len", "48", "--horizon", "12",
       "--hidden-size", "8", "--epochs", "2", "--ensemble", "1", "--threads", "1"]  # fmt: skip


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def ett():
    return pd.read_csv(ETTH1, nrows=700)


@pytest.fixture(scope="module")
def future_model(tmp_path_factory, ett):
    folder = tmp_path_factory.mktemp("future")
    data, model = folder / "fit.csv", folder / "m.rnncast"
    ett.iloc[:600].to_csv(data, index=False)
    fitted = run("fit", data, *FIT, "--model", model, "--format", "csv")
    assert fitted.exit_code == 0, fitted.output
    assert "known ahead HUFL" in fitted.stderr
    return model


def write(frame: pd.DataFrame, path) -> str:
    frame.to_csv(path, index=False)
    return str(path)


def test_the_head_reads_the_forecast_steps_known_inputs_and_nothing_else_of_them():
    """Row t carries rows t+1..t+H of the known inputs; the output moves with them, not with future targets."""
    known = np.arange(10.0)[:, None]
    assert encoding.leads(known, 3)[0].tolist() == [1, 2, 3] and encoding.leads(known, 3)[8].tolist() == [9, 0, 0]
    inputs = encoding.Inputs([], False, n_future=1, ahead=4)
    scaled = np.stack([np.sin(np.arange(30.0)), np.arange(30.0) % 5], axis=1)  # target, then the future feature
    rows = inputs.rows(scaled, pd.RangeIndex(30), 0)
    assert rows.shape == (30, 2 + 4) and rows[9, 2:].tolist() == scaled[10:14, 1].tolist()
    torch.manual_seed(0)
    cfg = ModelConfig(n_inputs=6, horizon=4, n_known=1, n_ahead=1, hidden_size=8, window_norm="last")
    model = Forecaster(cfg).eval()
    x = torch.as_tensor(rows[None, :12], dtype=torch.float32)
    other = x.clone()
    other[0, -1, 2:] += 1.0  # other known values for the forecast steps
    assert not torch.allclose(model(x), model(other))
    assert model.nets[0].ahead_rnn.input_size == 1 and model.nets[0].ahead_head.out_features == 1
    y = model.nets[0](x[..., :2], None, x[:, -1, 2:])  # (1, H·T): the head's plus the horizon recurrence's
    assert torch.allclose(
        y,
        model.nets[0].head(model.nets[0].rnn(x[..., :2])[0][:, -1])
        + torch.stack(
            [model.nets[0].ahead_head(g) for g in elman(model.nets[0], x[..., :2], x[0, -1, 2:])], dim=1
        ).flatten(1),
    )


def elman(net, x, known):
    """The horizon recurrence by hand: g_0 = h_L, g_k = tanh(W_ag a_k + b_ag + W_gg g_{k-1} + b_gg)."""
    r = net.ahead_rnn
    g = net.rnn(x)[0][:, -1]
    out = []
    for a in known:
        g = torch.tanh(a[None, None] @ r.weight_ih_l0.T + r.bias_ih_l0 + g @ r.weight_hh_l0.T + r.bias_hh_l0)
        out.append(g)
    return out


def test_fit_records_the_columns_and_info_shows_them(future_model):
    art = artifact.load(future_model)
    assert art.meta["data"]["future_features"] == ["HUFL"] and art.meta["data"]["features"] == []
    assert art.meta["model"]["n_ahead"] == 1 and art.meta["format_version"] == 3
    card = run("info", "--model", future_model, "--format", "json")
    shown = json.loads(card.stdout)
    assert shown["future_features"] == ["HUFL"] and shown["format_version"] == 3 and shown["features"] == []


def test_a_format_3_file_relabelled_format_2_is_refused(tmp_path, future_model):
    """The version sits outside the checksum: a model that needs format 3 is refused under another number."""
    relabelled = tmp_path / "m.rnncast"
    relabelled.write_bytes(future_model.read_bytes().replace(b'"format_version":"3"', b'"format_version":"2"'))
    with pytest.raises(DataError, match="not an rnncast model file"):
        artifact.load(relabelled)


def test_a_model_without_inputs_known_ahead_or_highway_stays_format_2(tmp_path, elec_model):
    from rnncast import api

    plain = tmp_path / "plain.rnncast"
    api.fit(ELEC, settings(hidden_size=8, epochs=1, ensemble=1, highway=0), model_path=plain)
    art = artifact.load(plain)
    assert art.meta["format_version"] == 2 and "n_ahead" not in art.meta["model"] and "highway" not in art.meta["model"]
    assert artifact.load(elec_model).meta["format_version"] == 3  # the monthly default reads a highway


def test_forecast_reads_the_future_rows_by_stamp_and_matches_evaluate(tmp_path, future_model, ett):
    """forecast with --future gives the forecast evaluate makes for the same window from the same rows."""
    data = write(ett.iloc[:600], tmp_path / "data.csv")
    rows = ett.iloc[600:612][["date", "HUFL"]]
    future = write(rows.iloc[::-1], tmp_path / "future.csv")  # any order: rows are found by time stamp
    out = run("forecast", data, "--model", future_model, "--future", future, "--format", "csv")
    assert out.exit_code == 0, out.output
    forecast = pd.read_csv(io.StringIO(out.stdout))
    assert pd.to_datetime(forecast["date"]).tolist() == pd.to_datetime(ett["date"].iloc[600:612]).tolist()
    saved = run("forecast", "--model", future_model, "--future", future, "--format", "csv")  # the saved context
    assert saved.stdout == out.stdout
    scored = api.evaluate_file(future_model, io.StringIO(ett.iloc[:612].to_csv(index=False)), levels=())
    assert np.allclose(scored.forecasts["rnn"][0, :, 0], forecast["OT"], rtol=1e-5)
    # other known values for the forecast steps give another forecast; other future targets do not
    bumped = write(rows.assign(HUFL=rows["HUFL"] + 5), tmp_path / "bumped.csv")
    other = run("forecast", data, "--model", future_model, "--future", bumped, "--format", "csv")
    assert not np.allclose(pd.read_csv(io.StringIO(other.stdout))["OT"], forecast["OT"])
    changed = ett.iloc[:612].copy()
    changed.loc[600:, "OT"] += 50
    again = api.evaluate_file(future_model, io.StringIO(changed.to_csv(index=False)), levels=())
    assert np.array_equal(again.forecasts["rnn"][0], scored.forecasts["rnn"][0])


def test_forecast_refusals_name_the_value_and_the_fix(tmp_path, future_model, elec_model, ett):
    data = write(ett.iloc[:600], tmp_path / "data.csv")
    before = future_model.read_bytes()
    missing = run("forecast", data, "--model", future_model)
    assert missing.exit_code == 2 and "this model reads 'HUFL' for its forecast steps" in missing.output
    assert "--future FILE" in missing.output
    gap = write(ett.iloc[600:612][["date", "HUFL"]].drop(index=605), tmp_path / "gap.csv")
    short = run("forecast", data, "--model", future_model, "--future", gap)
    assert short.exit_code == 65
    assert re.search(r"^Error: --future has no row for 2016-07-26.05:00:00; the model reads HUFL", short.output)
    lacking = write(ett.iloc[600:612][["date", "OT"]], tmp_path / "lacking.csv")
    no_column = run("forecast", data, "--model", future_model, "--future", lacking)
    assert no_column.exit_code == 65 and "--future lacks column(s) 'HUFL'" in no_column.output
    blank = write(ett.iloc[600:612][["date", "HUFL"]].assign(HUFL=["x"] + [1.0] * 11), tmp_path / "blank.csv")
    text = run("forecast", data, "--model", future_model, "--future", blank)
    assert text.exit_code == 65 and "--future row 1: 'HUFL' is 'x', not a number" in text.output
    assert run("forecast", data, "--model", future_model, "--future", tmp_path / "none.csv").exit_code == 66
    folder = run("forecast", data, "--model", future_model, "--future", tmp_path)  # as DATA: 66, not a usage error
    assert (
        folder.exit_code == 66 and folder.output == f"Error: {tmp_path} is a directory; give the path of a CSV file\n"
    )
    both = run("forecast", "-", "--model", future_model, "--future", "-")
    assert both.exit_code == 2 and "cannot both be read from stdin" in both.output
    extra = run("forecast", "--model", elec_model, "--future", lacking)
    assert extra.exit_code == 2 and "--future is for models fitted with --future-features" in extra.output
    picture = run("plot", "--model", future_model, "-o", tmp_path / "p.png")
    assert picture.exit_code == 2 and "forecast with `rnncast forecast --future FILE`" in picture.output
    assert future_model.read_bytes() == before


def test_fit_refuses_a_column_given_as_both_kinds_of_feature(tmp_path, ett):
    data, model = write(ett.iloc[:300], tmp_path / "d.csv"), tmp_path / "m.rnncast"
    both = run("fit", data, "--target", "OT", "--features", "HUFL", "--future-features", "HUFL", "--model", model)
    assert both.exit_code == 2 and "'HUFL' is given to both --features and --future-features" in both.output
    absent = run("fit", data, "--target", "OT", "--future-features", "promo", "--model", model)
    assert absent.exit_code == 2 and "--future-features 'promo' is not a column" in absent.output
    assert not model.exists()
    with pytest.raises(UsageError, match="both --target and --future-features"):
        validate(settings(ReadOptions(targets=("OT",), future_features=("OT",))))
    twice = run("fit", data, "--target", "OT", "--future-features", "HUFL,HUFL", "--model", model)
    assert twice.exit_code == 2 and "the same --future-features column is given twice" in twice.output
    long = write(ett.iloc[:300].assign(site="a"), tmp_path / "long.csv")
    for option in ("--features", "--future-features"):
        named = run("fit", long, "--id-col", "site", "--target", "OT", option, "site", "--model", model)
        assert named.exit_code == 2 and named.output == (
            f"Error: {option} 'site' is the --id-col, which names the series, not an input; drop it from {option}\n"
        )
    # as a target it read as a column missing from one series: "series '17.38': --target 'site' is not a column"
    target = run("fit", long, "--id-col", "site", "--target", "site", "--model", model)
    assert target.exit_code == 2 and target.output == (
        "Error: --target 'site' is the --id-col, which names the series, not a value to forecast; "
        "choose another --target\n"
    )
    time = run("fit", long, "--id-col", "site", "--target", "OT", "--time-col", "site", "--model", model)
    assert time.exit_code == 2 and time.output == (
        "Error: --time-col 'site' is the --id-col, which names the series, not time; choose another --time-col\n"
    )
    # the time column as --id-col read each stamp as a series of rows in file order (and fitted them)
    stamps = run("fit", long, "--id-col", "date", "--target", "OT", "--model", model)
    assert stamps.exit_code == 2 and stamps.output == (
        "Error: --id-col 'date' holds dates: it is the time column, not the series' names; give --id-col the "
        "column naming each row's series (or --time-col to read time from another column)\n"
    )
    assert not model.exists()


def test_a_series_at_another_frequency_is_refused_naming_it_whether_known_or_unseen(tmp_path, ett):
    long = pd.concat([ett.iloc[:300].assign(site="a"), ett.iloc[:300].assign(site="b")])[["site", "date", "OT"]]
    data, model = write(long, tmp_path / "long.csv"), tmp_path / "m.rnncast"
    assert run("fit", data, "--id-col", "site", *FIT[:2], *FIT[4:], "--model", model).exit_code == 0
    daily = pd.DataFrame({"site": "new", "date": pd.date_range("2016-01-01", periods=60, freq="D"), "OT": 1.0})
    newer = write(pd.concat([long, daily]), tmp_path / "newer.csv")
    refused = run("forecast", newer, "--model", model)
    assert refused.exit_code == 65 and "series 'new': data frequency D differs from the model's h" in refused.output
    daily_b = daily.assign(site="b")  # a series the model knows, now daily: the same refusal, naming it
    changed = write(pd.concat([long[long["site"] == "a"], daily_b]), tmp_path / "b.csv")
    known = run("forecast", changed, "--model", model)
    assert known.exit_code == 65
    assert known.output == "Error: series 'b': data frequency D differs from the model's h; resample or retrain\n"


def test_many_series_read_their_own_future_rows_and_backtest_uses_the_data(tmp_path, ett):
    long = pd.concat([ett.iloc[:400].assign(site="a"), ett.iloc[:400].assign(site="b", OT=ett["OT"][:400] * 2)])
    data, model = write(long, tmp_path / "long.csv"), tmp_path / "m.rnncast"
    fitted = run("fit", data, "--id-col", "site", *FIT, "--model", model)
    assert fitted.exit_code == 0, fitted.output
    rows = ett.iloc[400:412][["date", "HUFL"]]
    future = pd.concat([rows.assign(site="a"), rows.assign(site="b", HUFL=rows["HUFL"] + 3)])
    out = run("forecast", "--model", model, "--future", write(future, tmp_path / "f.csv"), "--format", "csv")
    assert out.exit_code == 0, out.output
    frame = pd.read_csv(io.StringIO(out.stdout))
    assert frame["site"].tolist() == ["a"] * 12 + ["b"] * 12
    lacking = run("forecast", "--model", model, "--future", write(future.iloc[:-1], tmp_path / "g.csv"))
    assert lacking.exit_code == 65 and re.search("no row for 2016-07-18.03:00:00 of series 'b'", lacking.output)
    # a site the model never saw is forecast from its own rows, with its own future rows
    newer = write(pd.concat([long, ett.iloc[:400].assign(site="c", OT=ett["OT"][:400] * 3)]), tmp_path / "new.csv")
    with_c = write(pd.concat([future, rows.assign(site="c")]), tmp_path / "fc.csv")
    three = run("forecast", newer, "--model", model, "--future", with_c, "--format", "csv")
    assert three.exit_code == 0 and "series 'c' is not in the model" in three.stderr
    both = pd.read_csv(io.StringIO(three.stdout))
    assert both[both["site"] != "c"].reset_index(drop=True).equals(frame)  # a and b as before
    c = both[both["site"] == "c"]["OT"]
    assert len(c) == 12 and c.between(3 * ett["OT"][376:400].min() - 15, 3 * ett["OT"][376:400].max() + 15).all()
    without_c = run("forecast", newer, "--model", model, "--future", write(future, tmp_path / "f2.csv"))
    assert without_c.exit_code == 65 and "of series 'c'" in without_c.output
    result = api.backtest_file(
        ETTH1_HEAD(500),
        settings(ReadOptions(targets=("OT",), future_features=("HUFL",)), windows=WindowConfig(48, 12),
                 hidden_size=8, epochs=2, ensemble=1),
        folds=2, levels=(),
    )  # fmt: skip
    predictions = result.predictions()
    assert len(predictions) == 24 and predictions["rnn"].notna().all()
    assert (
        pd.to_datetime(predictions["date"]).tolist()
        == pd.to_datetime(pd.read_csv(ETTH1, nrows=500)["date"][476:]).tolist()
    )


def ETTH1_HEAD(rows: int) -> io.StringIO:  # noqa: N802
    return io.StringIO(pd.read_csv(ETTH1, nrows=rows).to_csv(index=False))


@pytest.mark.parametrize("ahead", [False, True])
def test_calendar_inputs_past_only_or_ahead_forecast_alike_from_every_path(tmp_path, ett, monkeypatch, ahead):
    """--calendar is past-only by default (measured); the ahead variant, kept for measurement, works end to end."""
    monkeypatch.setattr(windowing, "CALENDAR_AHEAD", ahead)
    data, model = write(ett.iloc[:400][["date", "OT"]], tmp_path / "d.csv"), tmp_path / "m.rnncast"
    fitted = run("fit", data, "--calendar", "--seq-len", "48", "--horizon", "12", "--hidden-size", "8",
                 "--epochs", "2", "--ensemble", "1", "--model", model)  # fmt: skip
    assert fitted.exit_code == 0, fitted.output
    art = artifact.load(model)
    assert art.meta["series"]["calendar_ahead"] is ahead and art.meta["format_version"] == (3 if ahead else 2)
    assert art.meta["model"].get("n_ahead", 0) == (4 if ahead else 0)  # hour and day of week: sin, cos
    saved = run("forecast", "--model", model, "--format", "csv")
    again = run("forecast", data, "--model", model, "--format", "csv")
    assert saved.exit_code == 0 and saved.stdout == again.stdout
    scored = api.evaluate_file(model, io.StringIO(ett.iloc[:412][["date", "OT"]].to_csv(index=False)), levels=())
    assert np.allclose(scored.forecasts["rnn"][0, :, 0], pd.read_csv(io.StringIO(saved.stdout))["OT"], rtol=1e-5)


# ---------------------------------------------------------------------------- hints for short data


def test_shrunk_defaults_are_explained_on_one_line(tmp_path):
    data = write(pd.read_csv(ELEC, nrows=60), tmp_path / "short.csv")
    fitted = run("fit", data, "--epochs", "1", "--hidden-size", "4", "--model", tmp_path / "m.rnncast")
    lines = [line for line in fitted.stderr.splitlines() if "short for the frequency's defaults" in line]
    assert fitted.exit_code == 0 and len(lines) == 1
    assert "horizon 6 (default 12: at most a tenth of the 60 rows)" in lines[0]
    assert "seq_len 16 (default 36: a window takes at most a third of the 48 rows two horizons leave" in lines[0]
    given = run("fit", data, "--epochs", "1", "--hidden-size", "4", "--seq-len", "12", "--horizon", "6",
                "--model", tmp_path / "n.rnncast")  # fmt: skip
    assert given.exit_code == 0 and "short for the frequency's defaults" not in given.stderr


@pytest.mark.parametrize(
    ("rows", "options", "hint"),
    [
        (60, ["--horizon", "12", "--seq-len", "40"], "--seq-len 12 fits --horizon 12 (at most --seq-len 36)"),
        (25, ["--horizon", "12"], "--seq-len 1 fits --horizon 12 (at most --seq-len 1)"),
        (60, ["--horizon", "30"], "no --seq-len fits --horizon 30 in 60 rows; try --horizon 6 --seq-len 16"),
    ],
)
def test_a_horizon_that_does_not_fit_gets_a_seq_len_that_does(tmp_path, rows, options, hint):
    data, model = write(pd.read_csv(ELEC, nrows=rows), tmp_path / "short.csv"), tmp_path / "m.rnncast"
    refused = run("fit", data, *options, "--epochs", "1", "--model", model)
    assert refused.exit_code == 65 and refused.output.count("Error:") == 1 and hint in refused.output
    assert not model.exists()
    fixed = hint.split("try ")[-1].split(" (")[0] if "try" in hint else hint.split(" fits")[0]
    retry = run("fit", data, *options[:2], *fixed.split(), "--epochs", "1", "--hidden-size", "4", "--model", model)
    assert retry.exit_code == 0 and model.exists()  # the suggestion works


def test_every_series_too_short_suggests_a_horizon_that_fits_the_longest():
    # many series: a short one is padded (issue 11), so only fewer than 2 x horizon rows leave nothing to fit
    frame = pd.read_csv(ELEC, nrows=40)
    frame = pd.concat([frame.assign(id="a"), frame.iloc[:30].assign(id="b")])
    source = io.StringIO(frame.to_csv(index=False))
    with pytest.raises(DataError, match=r"the longest has 40 rows, which fit --horizon 20 or less"):
        api.fit(source, settings(layout=Layout(id_col="id"), windows=WindowConfig(seq_len=30, horizon=25)), None)
    source.seek(0)
    fitted = api.fit(source, settings(layout=Layout(id_col="id"), windows=WindowConfig(seq_len=30, horizon=15),
                                      epochs=1, hidden_size=4), None)  # fmt: skip
    assert fitted.artifact.meta["series"]["ids"] == ["a", "b"]


def test_a_missing_future_row_is_named_at_the_stamp_the_user_writes_under_tz(tmp_path, ett):
    """Inside, stamps are naive UTC; the message names the row as the --future file writes it, in --tz's zone."""
    data, model = write(ett.iloc[:600], tmp_path / "data.csv"), tmp_path / "m.rnncast"
    assert run("fit", data, *FIT, "--tz", "Europe/Berlin", "--model", model).exit_code == 0
    gap = write(ett.iloc[600:612][["date", "HUFL"]].drop(index=605), tmp_path / "gap.csv")  # 2016-07-26 05:00 local
    short = run("forecast", "--model", model, "--future", gap)
    assert short.exit_code == 65
    assert short.output.startswith("Error: --future has no row for 2016-07-26T05:00:00+02:00; ")
    assert "forecast steps after 2016-07-25T23:00:00+02:00: add that row" in short.output


def test_a_future_file_with_offsets_for_a_model_without_them_is_refused(tmp_path, future_model, ett):
    """As DATA is: stamps with offsets are UTC instants, the model's are wall clock; matching them shifts every row."""
    rows = ett.iloc[600:620][["date", "HUFL"]]  # more rows than the horizon, so a shifted match would find some
    zoned = pd.to_datetime(rows["date"]).dt.tz_localize("Europe/Berlin").map(pd.Timestamp.isoformat)
    future = write(rows.assign(date=zoned), tmp_path / "zoned.csv")
    mixed = run("forecast", "--model", future_model, "--future", future)
    assert mixed.exit_code == 65, mixed.output
    assert mixed.output.startswith("Error: --future: the data's time stamps carry a UTC offset (+02:00), the model's")


def test_many_series_future_rows_in_any_order_are_placed_at_the_clock_change_per_series(tmp_path, ett):
    """Local --tz stamps repeat 02:00 on 27 October; each series' rows, in time order, place them (as DATA's)."""
    local = pd.date_range(pd.Timestamp("2024-10-10 00:00", tz="Europe/Berlin"), periods=400 + 12, freq="h")
    wall = local.strftime("%Y-%m-%d %H:%M")  # 02:00 twice: rows 410 and 411, in the forecast steps
    hours = ett.iloc[:412].assign(date=wall)
    long = pd.concat([hours.iloc[:400].assign(site="a"), hours.iloc[:400].assign(site="b", OT=ett["OT"][:400] * 2)])
    data, model = write(long, tmp_path / "long.csv"), tmp_path / "m.rnncast"
    fitted = run("fit", data, "--id-col", "site", "--tz", "Europe/Berlin", *FIT, "--model", model)
    assert fitted.exit_code == 0, fitted.output
    rows = hours.iloc[400:412][["date", "HUFL"]]
    future = pd.concat([rows.assign(site="a"), rows.assign(site="b", HUFL=rows["HUFL"] + 3)])
    blocks = run("forecast", "--model", model, "--future", write(future, tmp_path / "f.csv"), "--format", "csv")
    assert blocks.exit_code == 0, blocks.output
    interleaved = future.sort_values("date", kind="stable")  # a, b, a, b, ...: 02:00 four times in a row
    mixed = run("forecast", "--model", model, "--future", write(interleaved, tmp_path / "i.csv"), "--format", "csv")
    assert mixed.exit_code == 0, mixed.output
    assert mixed.stdout == blocks.stdout


def test_a_future_file_with_a_stamp_twice_is_refused_naming_it(tmp_path, future_model, ett):
    rows = ett.iloc[600:612][["date", "HUFL"]]
    twice = write(pd.concat([rows, rows.iloc[[3]].assign(HUFL=0.0)]), tmp_path / "twice.csv")
    refused = run("forecast", "--model", future_model, "--future", twice)
    assert refused.exit_code == 65, refused.output
    assert refused.output == (
        "Error: --future has 2 rows for 2016-07-26T03:00:00; which value holds is unclear: keep one row per time stamp\n"
    )


@pytest.mark.parametrize("tz", [None, "Europe/Berlin"])
def test_a_blank_time_stamp_in_the_future_file_is_named_by_its_row(tmp_path, ett, tz):
    """Not read as a missing row, nor (under --tz) as a file whose time is step numbers."""
    data, model = write(ett.iloc[:600], tmp_path / "data.csv"), tmp_path / "m.rnncast"
    assert run("fit", data, *FIT, *(["--tz", tz] if tz else []), "--model", model).exit_code == 0
    rows = ett.iloc[600:612][["date", "HUFL"]].copy()
    rows.iloc[3, 0] = None
    refused = run("forecast", "--model", model, "--future", write(rows, tmp_path / "blank.csv"))
    assert refused.exit_code == 65, refused.output
    assert refused.output == "Error: --future row 4: the time column 'date' is blank; give every row its time stamp\n"
