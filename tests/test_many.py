"""Many series, one model: reading long/wide data, per-series split and scaling, boundary-safe windows.

The same pipeline as one series (a series is the case of one id); these tests cover what only many series have.
"""

import io

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from conftest import ETTH1, settings

from rnncast import api, artifact, collection, newdata, reading, timeindex, windowing
from rnncast.cli import cli
from rnncast.errors import DataError, UsageError
from rnncast.metrics import POOLED
from rnncast.model import Forecaster, ModelConfig
from rnncast.settings import Layout, ReadOptions, WindowConfig


def sines(n_series: int = 6, base: int = 120, step: int = 20, noise: float = 0.05, seed: int = 0) -> pd.DataFrame:
    """Hourly sines with a per-series level, amplitude and phase, lengths and start times (long format)."""
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(n_series):
        n = base + step * k
        t = np.arange(n)
        values = 10 + 5 * k + (1 + 0.2 * k) * np.sin(2 * np.pi * t / 24 + 0.7 * k) + rng.normal(0, noise, n)
        start = pd.Timestamp("2024-01-01") + pd.Timedelta(hours=5 * k)
        frames.append(
            pd.DataFrame({"store": f"s{k}", "date": pd.date_range(start, periods=n, freq="h"), "sales": values})
        )
    return pd.concat(frames, ignore_index=True).sample(frac=1, random_state=seed)  # rows in any order


def csv(frame: pd.DataFrame, path) -> str:
    frame.to_csv(path, index=False)
    return str(path)


def long_plan(frame: pd.DataFrame, wc: WindowConfig | None = None) -> windowing.Plan:
    coll = collection.collect(frame, ReadOptions(time_col="date", targets=("sales",)), Layout(id_col="store"))
    return windowing.plan(coll, wc or WindowConfig(seq_len=24, horizon=6))


def test_long_format_gives_one_sorted_series_per_id_with_its_own_length_and_start():
    p = collection.collect(sines(), ReadOptions(targets=("sales",)), Layout(id_col="store"))
    assert p.ids == [f"s{k}" for k in range(6)]
    assert [len(s) for s in p.series] == [120 + 20 * k for k in range(6)]
    assert p.series[2].index[0] == pd.Timestamp("2024-01-01 10:00")
    assert all(s.freq == "h" for s in p.series)
    assert p.series[0].values[1, 0] == pytest.approx(10 + np.sin(2 * np.pi / 24), abs=0.25)


def test_short_series_is_padded_at_the_start_and_one_too_short_for_two_horizons_is_skipped():
    frame = sines(3)
    frame = frame[(frame["store"] != "s1") | (frame["date"] < pd.Timestamp("2024-01-02 05:00"))]  # s1: 24 rows
    p = long_plan(frame)  # seq_len 24, horizon 6: 36 rows needed, s1 is padded with its first value
    s1 = p.members[1]
    assert [m.id for m in p.members] == ["s0", "s1", "s2"] and [m.pad for m in p.members] == [0, 18, 0]
    assert s1.own_rows == 24 and len(s1.series) == 42
    own = frame[frame["store"] == "s1"].sort_values("date")
    np.testing.assert_array_equal(s1.series.values[18:, 0], own["sales"].to_numpy())
    assert (s1.series.values[:18, 0] == own["sales"].iloc[0]).all()
    assert s1.series.index[0] == own["date"].iloc[0] - pd.Timedelta(hours=18) and s1.series.freq == "h"
    # no target is a padded row (the first training window's targets start at row seq_len), and the
    # scaler saw only s1's own training rows
    assert s1.split.seq_len >= s1.pad and s1.split.n_train >= 1 and s1.split.n_val >= 1
    assert s1.scaling.shift[0] == pytest.approx(own["sales"].iloc[: s1.split.cut - 18].mean())
    assert any("1 series ('s1') have fewer than the 36 rows" in n and "padded" in n for n in p.notes)
    p = long_plan(frame, WindowConfig(seq_len=100, horizon=40))  # 80 rows needed at least: s1 (24) is skipped
    assert [m.id for m in p.members] == ["s0", "s2"] and [m.pad for m in p.members] == [60, 60]
    assert any("'s1' has 24 rows, fewer than the 80" in n and "skipped" in n for n in p.notes)
    with pytest.raises(DataError, match="every series is shorter than the 180 rows"):
        long_plan(frame, WindowConfig(seq_len=100, horizon=90))


def test_the_window_is_sized_on_the_series_trained_on_not_on_those_skipped():
    # 6 series of 120..220 rows, three cut to 20: median 120, but the three trained on have 160-220 (median 200)
    frame = sines(6)
    cut = frame["store"].isin(["s0", "s1", "s2"]) & (frame["date"] >= frame.groupby("store")["date"].transform("min")
                                                   + pd.Timedelta(hours=20))  # fmt: skip
    p = long_plan(frame[~cut], WindowConfig(horizon=50))  # 100 rows needed for a training target
    assert [m.id for m in p.members] == ["s3", "s4", "s5"]
    # a third of what two horizons leave of the median trained series: (200 - 100) // 3, not (70 - 100) // 3 -> 2
    assert p.seq_len == 33
    assert "a third of the 100 rows two horizons leave" in p.shrunk
    assert "-" not in p.shrunk.split("rows two horizons")[0]


def test_a_series_skipped_in_a_backtest_fold_is_counted_before_the_rows_held_out():
    # backtest plans each fold on the rows before its blocks: s0 (120 rows) has 20 left before the last 100,
    # and the note must not say the file's series has 20 rows
    coll = collection.collect(sines(3), ReadOptions(time_col="date", targets=("sales",)), Layout(id_col="store"))
    p = windowing.plan(coll.head(100), WindowConfig(seq_len=24, horizon=12))
    assert [m.id for m in p.members] == ["s1", "s2"]
    assert "series 's0' has 20 rows before the last 100 (held out to be forecast), fewer than the 24" in p.notes[0]
    with pytest.raises(DataError, match="the longest has 60 rows before the last 100 .held out to be forecast."):
        windowing.plan(coll.head(100), WindowConfig(seq_len=24, horizon=31))


def test_each_series_is_split_at_its_own_end_and_scaled_on_its_own_training_rows_only():
    frame = sines(4)
    p = long_plan(frame)
    for m in p.members:
        n, cut = len(m.series), m.split.cut
        assert m.split.n_val >= 1 and cut < n
        train = m.series.values[:cut, 0]
        assert m.scaling.shift[0] == pytest.approx(train.mean())
        assert m.scaling.scale[0] == pytest.approx(train.std())
    # wreck every validation value: no series' scaler moves
    spoiled = frame.copy()
    for m in p.members:
        late = (spoiled["store"] == m.id) & (spoiled["date"] >= m.series.index[m.split.cut])
        spoiled.loc[late, "sales"] = 1e6
    again = long_plan(spoiled)
    for a, b in zip(p.members, again.members, strict=True):
        assert np.array_equal(a.scaling.shift, b.scaling.shift) and np.array_equal(a.scaling.scale, b.scaling.scale)


def test_no_window_crosses_from_one_series_into_another():
    p = long_plan(sines(5))
    pw = windowing.plan_windows(p, with_id=True)
    span = p.seq_len + p.horizon
    for windows in (pw.train, pw.val):
        starts = windows.starts.numpy()
        first_series = np.searchsorted(pw.offsets, starts, side="right")
        last_series = np.searchsorted(pw.offsets, starts + span - 1, side="right")
        assert (first_series == last_series).all()
    assert len(pw.train) == sum(m.split.n_train for m in p.members)
    assert len(pw.val) == sum(m.split.n_val for m in p.members)
    # the last validation window of series 3 is exactly that series' last rows, scaled by its own scaler
    m = p.members[3]
    offset_in_val = sum(q.split.n_val for q in p.members[:4]) - 1
    x, y = pw.val.batch(torch.tensor([offset_in_val]))
    expected = m.scaling.transform(m.series.values[-span:])
    assert np.allclose(x[0, :, :1].numpy(), expected[: p.seq_len], atol=1e-5)
    assert np.allclose(y[0].numpy(), expected[p.seq_len :], atol=1e-5)
    assert (x[0, :, 1] == 3).all()  # the series number, for the id embedding


def test_one_global_model_beats_per_series_naive_and_forecasts_each_series_in_its_units(tmp_path):
    model = tmp_path / "m.rnncast"
    result = api.fit(
        csv(sines(), tmp_path / "long.csv"),
        settings(ReadOptions(time_col="date", targets=("sales",)), Layout(id_col="store"),
                 WindowConfig(seq_len=24, horizon=6), hidden_size=16, epochs=25, batch_size=32, threads=1),
        model,
    )  # fmt: skip
    frame = result.frame()
    pooled = frame[frame["store"] == POOLED].set_index("model")
    assert pooled.loc["rnn", "MASE"] < 0.6 * pooled.loc["naive", "MASE"]
    per_series = frame[(frame["store"] != POOLED)].pivot(index="store", columns="model", values="MAPE")
    assert len(per_series) == 6 and (per_series["rnn"] < per_series["naive"]).all()
    assert pooled.loc["rnn", "MAPE"] == pytest.approx(per_series["rnn"].mean())  # positive values: MAPE, as for one

    art = artifact.load(model)
    assert art.scaling.shift.shape == (6, 1) and art.context.shape == (6, 24, 1)
    assert art.meta["series"]["ids"] == [f"s{k}" for k in range(6)]
    fcast, _ = api.forecast_file(model)
    out = fcast.frame()
    assert list(out.columns) == ["store", "date", "sales"] and len(out) == 36  # the user's id column
    for k in range(6):  # each series continues its own level, amplitude and phase
        n, t = 120 + 20 * k, np.arange(120 + 20 * k, 126 + 20 * k)
        truth = 10 + 5 * k + (1 + 0.2 * k) * np.sin(2 * np.pi * t / 24 + 0.7 * k)
        assert np.abs(out[out["store"] == f"s{k}"]["sales"].to_numpy() - truth).mean() < 0.3, (k, n)
    s5_start = pd.Timestamp("2024-01-01") + pd.Timedelta(hours=25)  # 220 rows
    assert out[out["store"] == "s5"]["date"].iloc[0] == s5_start + pd.Timedelta(hours=220)


def test_id_embedding_and_calendar_inputs_reach_the_network():
    cfg = ModelConfig(n_inputs=1 + 2 + 1, n_targets=1, horizon=3, hidden_size=4, n_known=2, n_series=3, id_embedding=2)
    model = Forecaster(cfg)
    assert model.nets[0].rnn.input_size == 1 + 2 + 2
    x = torch.zeros(2, 5, 4)
    x[1, :, -1] = 2.0  # second window belongs to series 2
    with torch.no_grad():
        model.nets[0].embed.weight[2] = 1.0
        out = model(x)
    assert out.shape == (2, 3, 1) and not torch.allclose(out[0], out[1])


def test_calendar_features_are_sin_cos_of_hour_day_of_week_and_month():
    index = pd.date_range("2024-01-01", periods=48, freq="h")  # a Monday
    assert timeindex.calendar_parts(index) == ["hour", "dayofweek"]
    feats = timeindex.calendar_features(index, ["hour", "dayofweek"])
    assert feats.shape == (48, 4)
    assert feats[6, 0] == pytest.approx(1.0) and feats[6, 1] == pytest.approx(0.0, abs=1e-12)  # 06:00
    assert feats[24, 2] == pytest.approx(np.sin(2 * np.pi / 7))  # Tuesday
    with pytest.raises(UsageError, match="--calendar needs a date"):
        timeindex.calendar_parts(pd.RangeIndex(10))


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_cli_long_fit_forecast_all_one_and_from_new_data(tmp_path):
    data, model = csv(sines(3), tmp_path / "long.csv"), tmp_path / "m.rnncast"
    tiny = [*SHORT_FIT, "--epochs", "2"]
    fitted = run("fit", data, "--id-col", "store", "--target", "sales", "--model", model, "--format", "csv", *tiny)
    assert fitted.exit_code == 0, fitted.output
    scores = pd.read_csv(io.StringIO(fitted.stdout))
    assert list(scores.columns) == ["store", "target", "model", "MAE", "RMSE", "MAPE", "MASE"]
    assert scores["store"].tolist()[:3] == [POOLED] * 3 and set(scores["store"]) == {POOLED, "s0", "s1", "s2"}
    assert "3 series of 120-160 rows" in fitted.stderr and "none across series" in fitted.stderr

    every = pd.read_csv(io.StringIO(run("forecast", "--model", model, "--format", "csv").stdout))
    assert list(every.columns) == ["store", "date", "sales"]
    assert every["store"].tolist() == ["s0"] * 4 + ["s1"] * 4 + ["s2"] * 4
    one = pd.read_csv(io.StringIO(run("forecast", "--model", model, "--id", "s1", "--format", "csv").stdout))
    s1 = every[every["store"] == "s1"].reset_index(drop=True)
    assert one["date"].equals(s1["date"]) and np.allclose(one["sales"], s1["sales"])
    # the same data read back as new data: the tails are the saved contexts, so the same forecasts
    again = pd.read_csv(io.StringIO(run("forecast", data, "--model", model, "--format", "csv").stdout))
    assert np.allclose(again["sales"], every["sales"]) and again["date"].equals(every["date"])

    missing = run("forecast", "--model", model, "--id", "s9")
    assert (
        missing.exit_code == 2
        and "Error: --id 's9' is not a series of this model; it has 3: s0, s1, s2" in missing.output
    )
    # a series of the model that new data lacks: the error names it, not "none of the model's series"
    without_s1 = sines(3).query("store != 's1'")
    absent = run("forecast", csv(without_s1, tmp_path / "no_s1.csv"), "--model", model, "--id", "s1")
    assert absent.exit_code == 65
    assert absent.output.strip() == "Error: --id 's1' is not in the data; it holds 2 series: 's0', 's2'"


def test_cli_errors_name_the_bad_column(tmp_path):
    data = csv(sines(2), tmp_path / "long.csv")
    model = ["--model", tmp_path / "m.rnncast"]  # no lock file beside the checkout
    bad_id = run("fit", data, "--id-col", "shop", "--target", "sales", *model)
    assert bad_id.exit_code == 2
    assert bad_id.output.strip() == "Error: --id-col 'shop' is not a column; columns are: store, date, sales"
    wide = pd.DataFrame({"date": pd.date_range("2024", periods=50, freq="D"), "a": np.arange(50.0), "note": "x"})
    bad_wide = run("fit", csv(wide, tmp_path / "wide.csv"), "--wide", *model)
    assert bad_wide.exit_code == 65
    assert "column 'note' is not numeric" in bad_wide.output
    single = run("fit", data, "--target", "sales", "--id-embedding", "2", "--time-col", "date", *model)
    assert single.exit_code == 2 and "add --id-col COLUMN or --wide" in single.output


def test_wide_shipped_example_reads_seven_series_over_one_time_column():
    p = collection.collect(pd.read_csv(ETTH1), ReadOptions(), Layout(wide=True))
    assert p.ids == ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]
    assert all(len(s) == 17420 and s.freq == "h" and s.targets == ["value"] for s in p.series)
    assert p.series[6].values[0, 0] == pytest.approx(30.531)


def test_cli_wide_with_calendar_and_embedding_round_trips_through_the_model_file(tmp_path):
    wide = sines(3).pivot(index="date", columns="store", values="sales").reset_index()  # blanks before late starts
    data, model = csv(wide, tmp_path / "wide.csv"), tmp_path / "w.rnncast"
    tiny = [*SHORT_FIT, "--epochs", "2"]
    fitted = run("fit", data, "--wide", "--calendar", "--id-embedding", "2", "--model", model, "--format", "csv", *tiny)
    assert fitted.exit_code == 0, fitted.output
    assert "3 series of 120-160 rows" in fitted.stderr and "calendar hour, dayofweek" in fitted.stderr
    card = pd.read_csv(io.StringIO(run("info", "--model", model, "--format", "csv").stdout)).set_index("field")
    assert card.loc["series", "value"] == "3" and card.loc["calendar", "value"] == "hour,dayofweek"
    assert card.loc["id_embedding", "value"] == "2"
    saved = pd.read_csv(io.StringIO(run("forecast", "--model", model, "--format", "csv").stdout))
    assert list(saved.columns) == ["series", "date", "value"] and saved["series"].unique().tolist() == [
        "s0",
        "s1",
        "s2",
    ]
    # calendar inputs are rebuilt from the new data's time stamps: the same forecasts as from the saved context
    again = pd.read_csv(io.StringIO(run("forecast", data, "--model", model, "--format", "csv").stdout))
    assert np.allclose(again["value"], saved["value"]) and again["date"].equals(saved["date"])
    absent = run("forecast", csv(wide.drop(columns="s1"), tmp_path / "no_s1.csv"), "--model", model, "--id", "s1")
    assert absent.exit_code == 65
    assert absent.output.strip() == "Error: --id 's1' is not in the data; it holds 2 series: 's0', 's2'"


def test_cli_backtest_scores_every_series_over_its_own_last_blocks_and_their_mean(tmp_path):
    data = csv(sines(3), tmp_path / "long.csv")
    tiny = [*SHORT_FIT, "--epochs", "2"]
    result = run("backtest", data, "--id-col", "store", "--target", "sales", "--folds", "2", "--format", "csv", *tiny)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(io.StringIO(result.stdout))
    assert len(table) == 4 * 3 * (1 + 4)  # (mean and 3 series) x 3 models x (all + 4 steps)
    assert table["coverage_80"].notna().sum() == 4 * (1 + 4)  # the network's rows: intervals for many series too
    table = table[table["step"] == "all"]
    assert table["store"].tolist() == [POOLED] * 3 + ["s0"] * 3 + ["s1"] * 3 + ["s2"] * 3
    assert "fold 2/2" in result.stderr
    # the naive baseline does not depend on training: its MAE is that of repeating each block's previous value
    frame = sines(3)
    for sid in ("s0", "s2"):
        values = frame[frame["store"] == sid].sort_values("date")["sales"].to_numpy()
        n = len(values)
        blocks = [values[n - k * 4 : n - (k - 1) * 4] - values[n - k * 4 - 1] for k in (2, 1)]
        naive = table[(table["store"] == sid) & (table["model"] == "naive")]["MAE"].item()
        assert naive == pytest.approx(np.abs(np.concatenate(blocks)).mean())
    means = table[table["store"] != POOLED].groupby("model")["MASE"].mean()
    assert table[table["store"] == POOLED].set_index("model")["MASE"].to_dict() == pytest.approx(means.to_dict())


def test_wide_targets_pick_the_series_and_a_shared_note_is_said_once():
    from conftest import MACRO

    p = collection.collect(pd.read_csv(MACRO), ReadOptions(targets=("realgdp", "cpi")), Layout(wide=True))
    assert p.ids == ["realgdp", "cpi"] and all(len(s) == 203 for s in p.series)
    for s in p.series:  # quarter starts: pandas 3.1 names them QS-JAN, 3.0 QS-OCT (the same dates)
        assert s.freq.startswith("QS") and pd.date_range(s.index[0], periods=203, freq=s.freq).equals(s.index)
    pp = windowing.plan(p, WindowConfig())
    assert pp.notes == ["time built from columns 'year' + 'quarter'"]
    assert (pp.seq_len, pp.horizon, pp.season) == (16, 8, 4)


@pytest.mark.parametrize("embedding", [[], ["--id-embedding", "2"]])
def test_forecast_from_new_data_forecasts_an_unseen_series_from_its_own_rows(tmp_path, embedding):
    frame = sines(2)
    data, model = csv(frame, tmp_path / "long.csv"), tmp_path / "m.rnncast"
    tiny = [*SHORT_FIT, "--epochs", "1"]
    fitted = run("fit", data, "--id-col", "store", "--target", "sales", "--model", model, *tiny, *embedding)
    assert fitted.exit_code == 0
    s1 = frame[frame["store"] == "s1"]
    extra = s1.assign(store="new", sales=2 * s1["sales"] + 100)  # s1 at another level and scale
    newer = csv(pd.concat([frame, extra]), tmp_path / "newer.csv")
    result = run("forecast", newer, "--model", model, "--format", "csv")
    assert result.exit_code == 0, result.output
    warning = "Warning: series 'new' is not in the model; forecast from its own last 24 rows, scaled on them"
    assert warning in result.stderr and ("mean of the learned series embeddings" in result.stderr) == bool(embedding)
    out = pd.read_csv(io.StringIO(result.stdout))
    assert out["store"].tolist() == ["new"] * 4 + ["s0"] * 4 + ["s1"] * 4  # ids in sorted order
    new, tail = out[out["store"] == "new"]["sales"], 2 * s1.sort_values("date")["sales"].to_numpy()[-24:] + 100
    assert new.notna().all() and tail.min() - 3 < new.min() and new.max() < tail.max() + 3  # its own level and scale
    # the known series are forecast as before: the unseen one changes nothing for them
    alone = run("forecast", data, "--model", model, "--format", "csv")
    assert out[out["store"] != "new"].reset_index(drop=True).equals(pd.read_csv(io.StringIO(alone.stdout)))
    # --id s0 (rows in time order): no word of the unseen series, and --strict does not refuse for it
    ordered = csv(pd.concat([frame, extra]).sort_values(["store", "date"]), tmp_path / "ordered.csv")
    picked = [
        run("forecast", ordered, "--model", model, "--id", "s0", "--format", "csv", *strict)
        for strict in ([], ["--strict"])
    ]
    assert [p.exit_code for p in picked] == [0, 0] and picked[0].stdout == picked[1].stdout
    assert picked[0].stderr == "" and pd.read_csv(io.StringIO(picked[0].stdout))["store"].unique().tolist() == ["s0"]


def test_a_new_column_in_wide_data_is_forecast_as_an_unseen_series(tmp_path):
    """Wide data's series are its numeric columns at fit time, and at forecast time too: a column the model
    was not fitted on is forecast from its own rows with a warning (as an unseen id in a long file), not
    dropped in silence; a text column beside them is no series, and --id still picks."""
    wide = sines(2).pivot(index="date", columns="store", values="sales").reset_index()
    data, model = csv(wide, tmp_path / "wide.csv"), tmp_path / "w.rnncast"
    assert run("fit", data, "--wide", "--model", model, *SHORT_FIT, "--epochs", "1").exit_code == 0
    newer = csv(wide.assign(s9=3 * wide["s0"] + 50, note="checked"), tmp_path / "newer.csv")
    result = run("forecast", newer, "--model", model, "--format", "csv")
    assert result.exit_code == 0, result.output
    assert "Warning: series 's9' is not in the model; forecast from its own last 24 rows" in result.stderr
    out = pd.read_csv(io.StringIO(result.stdout))
    assert out["series"].tolist() == ["s0"] * 4 + ["s1"] * 4 + ["s9"] * 4
    tail = 3 * wide["s0"].dropna().to_numpy()[-24:] + 50
    new = out[out["series"] == "s9"]["value"]
    assert tail.min() - 5 < new.min() and new.max() < tail.max() + 5  # its own level and scale
    alone = pd.read_csv(io.StringIO(run("forecast", data, "--model", model, "--format", "csv").stdout))
    assert out[out["series"] != "s9"].reset_index(drop=True).equals(alone)  # the known ones as before
    picked = run("forecast", newer, "--model", model, "--format", "csv", "--id", "s1")
    assert pd.read_csv(io.StringIO(picked.stdout))["series"].unique().tolist() == ["s1"]
    strict = run("forecast", newer, "--model", model, "--strict")
    assert strict.exit_code != 0 and "'s9' is not in the model" in strict.output
    fewer = csv(wide.drop(columns="s1"), tmp_path / "fewer.csv")  # a known column left out: the others, as long data
    kept = run("forecast", fewer, "--model", model, "--format", "csv")
    assert kept.exit_code == 0 and pd.read_csv(io.StringIO(kept.stdout))["series"].unique().tolist() == ["s0"]
    none = csv(wide[["date"]].assign(note="x"), tmp_path / "none.csv")
    refused = run("forecast", none, "--model", model)
    assert refused.exit_code == 65 and "holds none of the model's series ('s0', 's1')" in refused.output


# ---------------------------------------------------------------------------- many series read at once


def one_by_one(frame: pd.DataFrame, read: ReadOptions, id_col: str) -> tuple[list[str], list[reading.Series]]:
    """The reference: each series read on its own by `to_series`, as long files were read before 0.3."""
    ids, series = [], []
    for key, rows in frame.groupby(id_col, sort=True):
        try:
            series.append(reading.to_series(rows.drop(columns=id_col).reset_index(drop=True), read))
        except (DataError, UsageError) as exc:
            raise type(exc)(f"series {str(key)!r}: {exc}") from None
        ids.append(str(key))
    return ids, series


def outcome(read_all) -> object:
    try:
        return read_all()
    except (DataError, UsageError) as exc:
        return f"{type(exc).__name__}: {exc}"


def untidy(seed: int, freq: str) -> pd.DataFrame:
    """A long CSV's table with what real files hold: shuffled rows, missing periods, blanks, a late start."""
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(5):
        n = int(rng.integers(3, 50))
        stamps = pd.date_range(
            pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 9))), periods=n, freq=freq
        )
        values = np.round(rng.normal(10, 3, n), 3)
        frames.append(
            pd.DataFrame({"shop": f"s{k}", "date": stamps, "sales": values, "price": np.round(values / 3, 2)})
        )
    frame = pd.concat(frames, ignore_index=True)
    frame = frame[rng.random(len(frame)) > 0.08]  # missing periods
    for col, share in (("sales", 0.05), ("price", 0.25 if seed % 3 == 0 else 0.05)):
        frame.loc[rng.random(len(frame)) < share, col] = np.nan
    if seed % 2:
        frame = frame.sample(frac=1, random_state=seed)
    if seed % 5 == 4:
        frame.loc[frame.index[3], "date"] += pd.Timedelta(minutes=7)  # an irregular stamp
    return pd.read_csv(io.StringIO(frame.to_csv(index=False)))


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("freq", ["h", "D", "W", "MS"])
def test_a_long_file_read_all_at_once_equals_reading_each_series_alone(seed, freq):
    frame = untidy(seed, freq)
    for fill in ("interpolate", "ffill", "zero", "drop", "error"):
        for read in (ReadOptions(fill=fill, features=("price",), targets=("sales",)),
                     ReadOptions(fill=fill, strict=True, targets=("sales",)),
                     ReadOptions(fill=fill, time_col="none", targets=("price",)),
                     ReadOptions(fill=fill, freq=freq, targets=("sales",)),  # the user's grid
                     ReadOptions(fill=fill, tz="Europe/Berlin", targets=("sales",))):  # fmt: skip
            expected = outcome(lambda read=read: one_by_one(frame, read, "shop"))
            got = outcome(lambda read=read: collection.collect(frame, read, Layout(id_col="shop")))
            if isinstance(expected, str):
                assert got == expected
                continue
            assert isinstance(got, collection.Collection), got
            assert got.ids == expected[0]
            for a, b in zip(got.series, expected[1], strict=True):
                mine, theirs = (a.freq, a.notes, a.targets, a.features), (b.freq, b.notes, b.targets, b.features)
                assert mine == theirs and (a.time_col, a.zone, a.time_read) == (b.time_col, b.zone, b.time_read)
                assert a.index.equals(b.index) and type(a.index) is type(b.index) and a.index.name == b.index.name
                assert np.array_equal(a.values, b.values)


def test_numeric_steps_and_repeated_or_blank_stamps_in_a_long_file_as_one_series_alone():
    frame = pd.DataFrame(
        {"id": np.repeat(["a", "b", "c"], 20), "t": np.tile(np.arange(20) * 5, 3), "y": np.arange(60.0)}
    )
    frame = frame.iloc[::-1].reset_index(drop=True)
    read = ReadOptions(time_col="t", targets=("y",))
    coll = collection.collect(frame, read, Layout(id_col="id"))
    assert [s.index.tolist() for s in coll.series] == [list(range(0, 100, 5))] * 3
    assert coll.series[1].values[0, 0] == 20.0 and coll.series[1].notes == [
        "rows were not in time order; sorted by time"
    ]
    repeated = frame.copy()
    repeated.loc[repeated["id"] == "c", "t"] = repeated.loc[repeated["id"] == "c", "t"].clip(upper=80)
    with pytest.raises(DataError, match=r"^series 'c': duplicate time stamp 80 in 't'"):
        collection.collect(repeated, read, Layout(id_col="id"))
    blank = frame.astype({"t": float})
    blank.loc[45, "t"] = np.nan  # series 'a' (rows 40-59 reversed): its 6th row
    with pytest.raises(DataError, match=r"^series 'a': time column 't' is blank at data row 6"):
        collection.collect(blank, read, Layout(id_col="id"))


def test_a_bad_value_far_down_a_long_file_names_its_series_and_row(tmp_path):
    frame = sines(40, base=200, step=5)
    frame = frame.sort_values(["store", "date"]).reset_index(drop=True)
    frame["sales"] = frame["sales"].round(3).astype(str)
    rows_of_s37 = frame.index[frame["store"] == "s37"]
    frame.loc[rows_of_s37[250], "sales"] = "12..5"  # series s37's data row 251, far down the file
    frame.loc[frame.index[frame["store"] == "s38"][3], "sales"] = "n.a"  # a later series: not the one named
    data = csv(frame, tmp_path / "long.csv")
    result = run("fit", data, "--id-col", "store", "--target", "sales", "--model", tmp_path / "m.rnncast")
    assert result.exit_code == 65
    assert result.output.strip() == (
        "Error: series 's37': column 'sales' is not numeric: '12..5' at data row 251; fix the value or choose "
        "another column"
    )
    assert not (tmp_path / "m.rnncast").exists()


def wide_one_by_one(frame: pd.DataFrame, read: ReadOptions) -> tuple[list[str], list[reading.Series]]:
    """The reference: each column read on its own by `to_series`, as wide files were read before 0.3."""
    from dataclasses import replace

    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    probe = reading.to_series(frame, replace(read, targets=(numeric[-1],), features=(), fill="drop"))
    columns = list(read.targets) or [c for c in frame.columns if c not in probe.time_parts]
    time_col = probe.time_col if len(probe.time_parts) == 1 else read.time_col
    series = []
    for col in columns:
        present = frame[col].notna().to_numpy()
        if not present.any():
            raise DataError(f"--wide: column {col!r} is blank in every row; drop it")
        first, last = present.argmax(), len(present) - present[::-1].argmax()
        rows = frame.iloc[first:last][[*probe.time_parts, col]].reset_index(drop=True)
        series.append(
            replace(reading.to_series(rows, replace(read, time_col=time_col, targets=(col,))), targets=["value"])
        )
    return columns, series


@pytest.mark.parametrize("seed", range(6))
def test_a_wide_file_read_all_at_once_equals_reading_each_column_alone(seed):
    rng = np.random.default_rng(seed)
    n = 60
    frame = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=n, freq=["h", "D", "MS"][seed % 3])})
    for k, col in enumerate("abcd"):
        values = np.round(rng.normal(10, 2, n), 2)
        values[rng.random(n) < [0.0, 0.05, 0.3, 0.1][k]] = np.nan  # blanks; column c too many to fill
        values[: int(rng.integers(0, 15))] = np.nan  # a later start
        frame[col] = values
    frame = frame[rng.random(n) > 0.1]  # missing periods
    frame = pd.read_csv(
        io.StringIO((frame.sample(frac=1, random_state=seed) if seed % 2 else frame).to_csv(index=False))
    )
    for fill in ("interpolate", "drop", "zero", "error"):
        for read in (ReadOptions(fill=fill), ReadOptions(fill=fill, targets=("a", "b", "d"), strict=True),
                     ReadOptions(fill=fill, time_col="none", targets=("a", "d"))):  # fmt: skip
            expected = outcome(lambda read=read: wide_one_by_one(frame, read))
            got = outcome(lambda read=read: collection.collect(frame, read, Layout(wide=True)))
            if isinstance(expected, str):
                assert got == expected
                continue
            assert got.ids == expected[0]
            for a, b in zip(got.series, expected[1], strict=True):
                assert (a.freq, a.notes, a.targets, a.time_col) == (b.freq, b.notes, b.targets, b.time_col)
                assert a.index.equals(b.index) and type(a.index) is type(b.index)
                assert np.array_equal(a.values, b.values)


SHORT_FIT = ["--hidden-size", "8", "--seq-len", "24", "--horizon", "4", "--threads", "1"]  # short series


def fit_stores(frame: pd.DataFrame, tmp_path, epochs: int):
    """Fit one model on the long sines (`store`, `sales`) with SHORT_FIT: (data, model, the fit options, result)."""
    data, model = csv(frame, tmp_path / "long.csv"), tmp_path / "m.rnncast"
    tiny = [*SHORT_FIT, "--epochs", str(epochs)]
    return data, model, tiny, run("fit", data, "--id-col", "store", "--target", "sales", "--model", model, *tiny)


def test_a_short_series_is_fitted_forecast_and_backtested_by_the_one_model(tmp_path):
    frame = sines(3)
    frame = frame[(frame["store"] != "s1") | (frame["date"] < pd.Timestamp("2024-01-01 23:00"))]  # s1: 18 rows
    data, model, tiny, fit = fit_stores(frame, tmp_path, epochs=2)
    assert fit.exit_code == 0, fit.output
    assert "1 series ('s1') have fewer than the 32 rows" in fit.stderr
    meta = artifact.load(model).meta
    assert meta["series"]["ids"] == ["s0", "s1", "s2"] and meta["series"]["rows"] == [120, 18, 160]
    saved = pd.read_csv(io.StringIO(run("forecast", "--model", model, "--format", "csv").stdout))
    assert saved["store"].unique().tolist() == ["s0", "s1", "s2"]
    # from the data, s1's 18 rows are padded as fit padded them: the same forecast as from the saved context
    again = run("forecast", data, "--model", model, "--format", "csv")
    assert "1 series ('s1') have fewer than the 24 rows the model reads" in again.stderr
    assert np.allclose(pd.read_csv(io.StringIO(again.stdout))["sales"], saved["sales"])
    back = run("backtest", data, "--id-col", "store", "--target", "sales", "--folds", "2", "--format", "csv", *tiny)
    assert back.exit_code == 0, back.output
    table = pd.read_csv(io.StringIO(back.stdout))
    s1 = frame[frame["store"] == "s1"].sort_values("date")["sales"].to_numpy()
    naive = table[(table["store"] == "s1") & (table["step"] == "all") & (table["model"] == "naive")]["MAE"].item()
    blocks = [s1[10:14] - s1[9], s1[14:18] - s1[13]]
    assert naive == pytest.approx(np.abs(np.concatenate(blocks)).mean())


def test_a_short_unseen_series_is_scaled_on_its_own_rows_not_on_the_padding(tmp_path):
    frame = sines(2)
    _, model, _, fitted = fit_stores(frame, tmp_path, epochs=1)
    assert fitted.exit_code == 0
    s1 = frame[frame["store"] == "s1"].sort_values("date")
    extra = s1.tail(10).assign(store="new", sales=lambda f: 2 * f["sales"] + 100)  # 10 rows of the 24 read
    coll = collection.collect(pd.concat([frame, extra]), ReadOptions(targets=("sales",)), Layout(id_col="store"))
    contexts, warnings = newdata.contexts_from(artifact.load(model), coll, unseen=True)
    (new,) = [c for c in contexts if c.unseen]
    own = extra["sales"].to_numpy()
    assert new.unseen[1].shift == pytest.approx([own.mean()])  # fit pads only the rows the network reads
    assert new.unseen[1].scale == pytest.approx([own.std()])
    assert any("forecast from its own last 10 rows, scaled on them" in w for w in warnings)


def test_plot_draws_a_padded_series_history_without_its_padding(tmp_path):
    frame = sines(2)
    frame = frame[(frame["store"] != "s1") | (frame["date"] < pd.Timestamp("2024-01-01 17:00"))]  # s1: 12 rows
    _, model, _, fitted = fit_stores(frame, tmp_path, epochs=1)
    assert fitted.exit_code == 0 and "padded" in fitted.stderr, fitted.output
    picture, _ = api.forecast_picture(model, sid="s1")  # from the saved context: 12 padded rows, then s1's 12
    own = frame[frame["store"] == "s1"].sort_values("date")
    np.testing.assert_allclose(picture.history[:, 0], own["sales"].to_numpy())
    assert picture.history_index.equals(pd.DatetimeIndex(own["date"]))
    whole, _ = api.forecast_picture(model, sid="s0")  # a series longer than the window: all seq_len rows
    assert len(whole.history) == 24


def test_forecast_of_a_series_of_one_row_stays_on_the_models_grid(tmp_path):
    """A known series' one row (its training end) is read behind its saved rows, an unseen one's is padded:
    either way the forecast steps are on the model's hourly grid though one row has no frequency."""
    frame = sines(2)
    _, model, _, fitted = fit_stores(frame, tmp_path, epochs=1)
    assert fitted.exit_code == 0
    saved = pd.read_csv(io.StringIO(run("forecast", "--model", model, "--format", "csv").stdout))
    last = frame[frame["store"] == "s1"].sort_values("date").tail(1)  # a frequency needs 3 rows: this one has none
    for one in (last, last.assign(store="new")):  # a known series and one the model never saw
        newer = csv(pd.concat([frame[frame["store"] == "s0"], one]), tmp_path / "newer.csv")
        out = run("forecast", newer, "--model", model, "--format", "csv")
        assert out.exit_code == 0, out.output
        if one["store"].item() == "s1":
            assert (
                "Note: series 's1': data has 1 row(s), from 2024-01-07T00:00:00; the 23 rows before them" in out.stderr
            )
            known = pd.read_csv(io.StringIO(out.stdout))
            assert known.equals(saved)  # the saved rows end where this row is: the saved contexts' forecast
        else:
            assert "series ('new') have fewer than the 24 rows" in out.stderr
        got = pd.read_csv(io.StringIO(out.stdout))
        got = got[got["store"] == one["store"].item()]
        assert pd.to_datetime(got["date"]).tolist() == list(pd.date_range(one["date"].item(), periods=5, freq="h")[1:])
        assert got["sales"].notna().all()


def test_the_guard_line_of_many_series_shows_what_decides_and_agrees_with_alpha(tmp_path):
    """Many series: the blend is kept or dropped on each-series-alike MSE; fit prints that beside the pooled MSE."""
    data, model = csv(sines(4), tmp_path / "long.csv"), tmp_path / "m.rnncast"
    fit = run("fit", data, "--id-col", "store", "--target", "sales", "--model", model,
              "--hidden-size", "8", "--epochs", "3", "--seq-len", "24", "--horizon", "4", "--ensemble", "1")  # fmt: skip
    assert fit.exit_code == 0, fit.output
    guard = artifact.load(model).meta["guard"]
    relative, alpha = guard["val_relative"], np.asarray(guard["alpha"])
    assert set(relative) == {"network", "guarded"} and all(v > 0 for v in relative.values())
    assert alpha.any() == (relative["guarded"] <= 1.0)  # the decision follows the relative number printed
    line = next(x for x in fit.stderr.splitlines() if x.startswith("guard, every series counted alike"))
    assert f"network {relative['network']:.3f}, guarded {relative['guarded']:.3f}; blend " in line
    assert ("blend kept" in line) == bool(alpha.any())
    single = api.fit(io.StringIO(sines(1).drop(columns="store").to_csv(index=False)),
                     settings(windows=WindowConfig(seq_len=24, horizon=4), epochs=1, hidden_size=4), None)  # fmt: skip
    assert "val_relative" not in single.artifact.meta["guard"]  # one series: the pooled MSE is the one that decides


def test_many_series_train_on_absolute_errors_by_default_and_one_series_on_squared(tmp_path):
    """--loss not given: mae with --id-col (fitting.resolved_loss), mse for one series; a given --loss is kept."""
    data = csv(sines(3), tmp_path / "s.csv")
    tiny = ("--hidden-size", "8", "--epochs", "2", "--seq-len", "24", "--horizon", "6", "--ensemble", "1")
    losses = {}
    for name, extra in {"many": ("--id-col", "store"), "given": ("--id-col", "store", "--loss", "mse")}.items():
        out = run("fit", data, "--model", tmp_path / f"{name}.rnncast", "--target", "sales", *extra, *tiny)
        assert out.exit_code == 0, out.output
        losses[name] = artifact.load(tmp_path / f"{name}.rnncast").meta["train"]["loss"]
    one = sines(1).drop(columns="store")
    out = run("fit", csv(one, tmp_path / "one.csv"), "--model", tmp_path / "one.rnncast", *tiny)
    assert out.exit_code == 0, out.output
    losses["one"] = artifact.load(tmp_path / "one.rnncast").meta["train"]["loss"]
    assert losses == {"many": "mae", "given": "mse", "one": "mse"}
    assert "(validation MAE " in run("fit", data, "--model", tmp_path / "m.rnncast", "--id-col", "store", *tiny).stderr


def test_rows_that_arrived_since_fit_are_read_behind_each_series_saved_rows_not_padded(tmp_path):
    """Each known series' few new rows continue its own training end (the series end at different hours); a
    series whose rows start a few hours late has them filled, as the whole history would; one whose rows start
    too late for --fill (9 of 34 hours missing, over 20%) does not continue it and is padded, with the note."""
    frame = sines(3)
    whole = sines(3, base=124)  # the same series, each 4 hours longer (the noise draws differ: new values)
    ends = frame.groupby("store")["date"].max()
    new = whole[whole["date"] > whole["store"].map(ends)]  # 4 rows of each series, after its own end
    _, model, _, fitted = fit_stores(frame, tmp_path, epochs=1)
    assert fitted.exit_code == 0 and len(new) == 12
    few = run("forecast", csv(new, tmp_path / "new.csv"), "--model", model, "--format", "csv")
    assert few.exit_code == 0, few.output
    longer = pd.concat([frame, new])
    everything = run("forecast", csv(longer, tmp_path / "all.csv"), "--model", model, "--format", "csv")
    assert few.stdout == everything.stdout
    assert few.stderr.splitlines()[-1] == (
        "Note: 3 series ('s0', 's1', 's2') have fewer than the 24 rows the model reads and continue their training "
        "data: the rows before them are the training data's last, saved in the model"
    )  # one line however many series, as for padded ones
    assert "padded" not in few.stderr
    s0 = new[new["store"] == "s0"].sort_values("date")
    late = pd.concat([new[new["store"] != "s0"], s0.tail(1)])  # s0: its one row 3 hours after the step after its end
    filled = run("forecast", csv(late, tmp_path / "late.csv"), "--model", model, "--format", "csv")
    gappy = run("forecast", csv(pd.concat([frame, late]), tmp_path / "gappy.csv"), "--model", model, "--format", "csv")
    assert filled.exit_code == 0 and filled.stdout == gappy.stdout  # the 3 hours filled as the whole history fills them
    assert "Warning: series 's0': 3 missing time step(s) added on the h grid and filled" in filled.stderr
    assert "Note: 3 series ('s0', 's1', 's2') have fewer than the 24 rows the model reads and continue" in filled.stderr
    far = s0.tail(1).assign(date=lambda f: pd.to_datetime(f["date"]) + pd.Timedelta(hours=6))  # 9 hours missing
    padded = run("forecast", csv(pd.concat([new[new["store"] != "s0"], far]), tmp_path / "far.csv"), "--model", model)
    assert padded.exit_code == 0 and "1 series ('s0') have fewer than the 24 rows the model reads" in padded.stderr
    assert "Note: 2 series ('s1', 's2') have fewer than the 24 rows the model reads and continue" in padded.stderr
    alone = run("forecast", csv(s0, tmp_path / "s0.csv"), "--model", model, "--format", "csv")
    assert "Note: series 's0': data has 4 row(s), from 2024-01-06T00:00:00; the 20 rows before" in alone.stderr


def test_blanks_in_rows_since_fit_are_filled_behind_each_series_saved_rows(tmp_path):
    """Two of s0's four new rows blank (50% of them) are filled behind its 20 saved rows, as in the whole
    history; a series blank beyond 20% of its window is refused by name, with fit's --fill."""
    frame, whole = sines(3), sines(3, base=124)
    ends = frame.groupby("store")["date"].max()
    new = whole[whole["date"] > whole["store"].map(ends)].copy()  # 4 rows of each series, after its own end
    _, model, _, fitted = fit_stores(frame, tmp_path, epochs=1)
    assert fitted.exit_code == 0
    s0 = new.index[new["store"] == "s0"]
    new.loc[s0[:2], "sales"] = None
    few = run("forecast", csv(new, tmp_path / "new.csv"), "--model", model, "--format", "csv")
    assert few.exit_code == 0, few.output
    everything = run(
        "forecast", csv(pd.concat([frame, new]), tmp_path / "all.csv"), "--model", model, "--format", "csv"
    )
    assert few.stdout == everything.stdout
    assert "Warning: series 's0': filled 2 blank value(s) by interpolate" in few.stderr
    new.loc[new["store"] == "s1", "sales"] = None  # and 4 blank rows after them: 8 of the 24 saved + 8 new
    holes = pd.concat([new, new[new["store"] == "s1"].assign(date=lambda f: f["date"] + pd.Timedelta(hours=4))])
    refused = run("forecast", csv(holes, tmp_path / "holes.csv"), "--model", model)
    assert refused.exit_code == 65
    assert refused.stderr.strip().splitlines()[-1] == (
        "Error: series 's1': column 'sales' is 25% blank, too much to fill; clean the data: new data's blanks are "
        "filled as fit's were (--fill interpolate), up to 20% of a column"
    )


def test_evaluate_counts_only_the_scored_series_among_those_read_behind_their_saved_rows(tmp_path):
    """s1 continues its training end with too few rows for the horizon that s0's rows fill, s2's rows begin an
    hour late: both are skipped (not padded: evaluate scores no padding), so the summary names the one scored
    series as the one whose inputs include saved rows."""
    frame = sines(3)
    whole = sines(3, base=126)  # each series 6 hours longer
    new = whole[whole["date"] > whole["store"].map(frame.groupby("store")["date"].max())].sort_values("date")
    s1, s2 = (new[new["store"] == sid] for sid in ("s1", "s2"))
    new = pd.concat([new[new["store"] == "s0"], s1.head(2), s2.iloc[1:3]])
    _, model, _, fitted = fit_stores(frame, tmp_path, epochs=1)
    assert fitted.exit_code == 0 and len(new) == 6 + 2 + 2
    scored = run("evaluate", csv(new, tmp_path / "new.csv"), "--model", model, "--format", "csv")
    assert scored.exit_code == 0, scored.output
    for sid in ("s1", "s2"):
        assert f"series {sid!r} has no complete window after the model's training end; skipped" in scored.stderr
    assert "padded" not in scored.stderr
    assert (
        "scored 3 window(s) of 1 series; the inputs of 1 series before the data's first row include the training "
        "rows saved in the model"
    ) in scored.stderr


def test_a_series_short_in_training_continues_from_its_saved_rows_not_from_padding_of_the_new_ones(tmp_path):
    """s1 had 18 rows at fit (the model saved them behind fit's padding): its rows since fit follow those 18,
    padded only where the whole history would still be short, so the forecast is the whole history's."""
    frame = sines(3)
    frame = frame[(frame["store"] != "s1") | (frame["date"] < pd.Timestamp("2024-01-01 23:00"))]  # s1: 18 rows
    model = tmp_path / "m.rnncast"
    fit = run("fit", csv(frame, tmp_path / "long.csv"), "--id-col", "store", "--target", "sales", "--model", model,
              *SHORT_FIT, "--epochs", "2", "--no-guard", "--window-norm", "none")  # fmt: skip
    assert fit.exit_code == 0, fit.output
    whole = sines(3, base=130)
    new = whole[whole["date"] > whole["store"].map(frame.groupby("store")["date"].max())].sort_values("date")
    for s1_rows, padded in ((10, False), (3, True)):  # s1: 28 rows in all, then 21 (fewer than the 24 read)
        since = pd.concat([new[new["store"] != "s1"].groupby("store").head(5), new[new["store"] == "s1"].head(s1_rows)])
        few = run("forecast", csv(since, tmp_path / "new.csv"), "--model", model, "--format", "csv")
        everything = run("forecast", csv(pd.concat([frame, since]), tmp_path / "all.csv"), "--model", model,
                         "--format", "csv")  # fmt: skip
        assert few.exit_code == 0 and everything.exit_code == 0, few.output
        assert few.stdout == everything.stdout
        assert ("1 series ('s1') have fewer than the 24 rows the model reads; padded" in few.stderr) is padded
        assert (
            "Note: 3 series ('s0', 's1', 's2') have fewer than the 24 rows the model reads and continue" in few.stderr
        )


def test_blank_rows_of_one_series_in_new_data_are_refused_naming_the_series_and_fits_fill(tmp_path):
    frame = sines(2)
    _, model, _, fitted = fit_stores(frame, tmp_path, epochs=1)
    assert fitted.exit_code == 0
    holes = frame.copy()
    s1 = holes.index[holes["store"] == "s1"]
    holes.loc[s1[: len(s1) // 3], "sales"] = np.nan  # a third of s1 blank
    out = run("forecast", csv(holes, tmp_path / "holes.csv"), "--model", model)
    assert out.exit_code == 65 and out.stderr.strip().splitlines()[-1] == (
        "Error: series 's1': column 'sales' is 33% blank, too much to fill; clean the data: new data's blanks are "
        "filled as fit's were (--fill interpolate), up to 20% of a column"
    )


def test_rows_since_fit_that_fit_drop_drops_are_read_behind_the_saved_rows_as_the_whole_history(tmp_path):
    """--fill drop drops a blank row among s2's new rows, and every new row of s1: each series is read behind its
    saved rows as in the whole history (not padded with its first value, nor an internal error on a series
    left with no row)."""
    frame, whole = sines(3), sines(3, base=124)
    ends = frame.groupby("store")["date"].max()
    new = whole[whole["date"] > whole["store"].map(ends)].copy()  # 4 rows of each series, after its own end
    new.loc[new["store"] == "s1", "sales"] = None
    new.loc[new.index[new["store"] == "s2"].sort_values()[1:2], "sales"] = None
    data, model = csv(frame, tmp_path / "train.csv"), tmp_path / "m.rnncast"
    options = ("--id-col", "store", "--target", "sales", "--fill", "drop", *SHORT_FIT, "--epochs", "1")
    assert run("fit", data, "--model", model, *options).exit_code == 0
    few = run("forecast", csv(new, tmp_path / "new.csv"), "--model", model, "--format", "csv")
    assert few.exit_code == 0, few.output
    everything = run(
        "forecast", csv(pd.concat([frame, new]), tmp_path / "all.csv"), "--model", model, "--format", "csv"
    )
    assert few.stdout == everything.stdout
    assert "padded" not in few.stderr
    assert "Warning: series 's1': dropped 4 row(s) with blank values" in few.stderr
    assert few.stderr.splitlines()[-1].startswith("Note: 3 series ('s0', 's1', 's2') have fewer than the 24 rows")


def wide_rows_since_fit(tmp_path, blanked) -> tuple:
    """A --wide model of 3 series ending together, and the next 4 hours' rows with `blanked(new)` made blank:
    (the model, the forecast from those rows alone, the one from the whole history with them; csv both)."""
    every, end = sines(3), pd.Timestamp("2024-01-05 20:00")  # the series' training data end together
    frame, new = every[every["date"] <= end], every[(every["date"] > end) & (every["date"] <= end + pd.Timedelta("4h"))]
    new = new.sort_values(["store", "date"]).reset_index(drop=True)
    new.loc[blanked(new), "sales"] = None
    wide = lambda f: f.pivot(index="date", columns="store", values="sales").reset_index()  # noqa: E731
    model, tiny = tmp_path / "m.rnncast", [*SHORT_FIT, "--epochs", "1"]
    assert run("fit", csv(wide(frame), tmp_path / "t.csv"), "--wide", "--model", model, *tiny).exit_code == 0
    few = run("forecast", csv(wide(new), tmp_path / "new.csv"), "--model", model, "--format", "csv")
    assert few.exit_code == 0, few.output
    everything = run(
        "forecast", csv(wide(pd.concat([frame, new])), tmp_path / "a.csv"), "--model", model, "--format", "csv"
    )
    return model, few, everything


def test_a_wide_columns_blank_first_row_since_fit_lies_between_the_training_end_and_its_next_value(tmp_path):
    """A wide file drops a column's blank rows before its first value: new rows whose first is blank in s0 are
    read with that row blank behind s0's saved rows and filled, as in the whole history (not padded)."""
    model, few, everything = wide_rows_since_fit(tmp_path, lambda new: new.index[:1])  # s0's first new row
    assert few.stdout == everything.stdout
    assert "Warning: series 's0': filled 1 blank value(s) by interpolate" in few.stderr
    assert "padded" not in few.stderr and "missing time step" not in few.stderr
    alone = run("forecast", tmp_path / "new.csv", "--model", model, "--id", "s0", "--format", "csv")
    assert alone.exit_code == 0 and "padded" not in alone.stderr, alone.output  # the other columns not read
    assert alone.stdout == run("forecast", tmp_path / "a.csv", "--model", model, "--id", "s0", "--format", "csv").stdout


def test_a_wide_column_blank_in_every_row_since_fit_is_forecast_after_its_training_end_with_a_warning(tmp_path):
    """A sensor that sent nothing in the latest rows: the whole history forecasts that column after its
    training end (its trailing blanks trimmed); the rows since fit alone were refused ('drop it'). An unknown
    column blank in every row is still refused."""
    model, few, everything = wide_rows_since_fit(tmp_path, lambda new: new["store"] == "s1")  # every s1 row
    assert few.stdout == everything.stdout
    out = pd.read_csv(io.StringIO(few.stdout))
    first = out.groupby("series")["date"].min()
    assert first["s1"] == "2024-01-05T21:00:00" and first["s0"] > first["s1"] and first["s2"] > first["s1"]
    assert "Warning: series 's1': blank in every row of the data: forecast after its training end" in few.stderr
    unknown = pd.read_csv(tmp_path / "new.csv").assign(s9=None)
    refused = run("forecast", csv(unknown, tmp_path / "u.csv"), "--model", model)
    assert refused.exit_code == 65 and "--wide: column 's9' is blank in every row; drop it" in refused.stderr


def test_a_blank_refused_in_zoned_rows_since_fit_is_named_at_its_stamp_as_the_file_writes_it(tmp_path):
    """--fill error names the blank's stamp in the data's zone, with its offset, as the file writes it (not
    the UTC clock read inside, an hour off in Berlin's winter)."""
    every = sines(2)
    every["date"] = every["date"].dt.tz_localize("Europe/Berlin").map(lambda t: t.isoformat())
    stamps = pd.to_datetime(every["date"], utc=True)
    end = stamps.min() + pd.Timedelta("100h")
    new = every[(stamps > end) & (stamps <= end + pd.Timedelta("4h"))].sort_values(["store", "date"])
    new = new.reset_index(drop=True)
    new.loc[1, "sales"] = None  # s0's second new row
    data, model = csv(every[stamps <= end], tmp_path / "t.csv"), tmp_path / "m.rnncast"
    options = ("--id-col", "store", "--target", "sales", "--tz", "Europe/Berlin", "--fill", "error", *SHORT_FIT)
    assert run("fit", data, "--model", model, *options, "--epochs", "1").exit_code == 0
    refused = run("forecast", csv(new, tmp_path / "new.csv"), "--model", model)
    assert refused.exit_code == 65
    assert refused.stderr.strip().splitlines()[-1] == (
        f"Error: series 's0': column 'sales' is blank at {new.loc[1, 'date']}; fill it: the model was fitted with "
        "--fill error, which refuses blanks"
    )
    assert new.loc[1, "date"].endswith("+01:00")


def test_a_wide_columns_blank_first_rows_since_fit_count_only_the_steps_the_file_misses(tmp_path):
    """Rows since fit 2, 4 and 5 hours after the training end, s0 blank in the first two: the steps added for
    s0 are the two hours the file misses (1 and 3), not the one its blank rows were taken to leave."""
    every, end = sines(3), pd.Timestamp("2024-01-05 18:00")  # s0's data ends at 23:00
    frame = every[every["date"] <= end]
    new = every[every["date"].isin([end + pd.Timedelta(hours=h) for h in (2, 4, 5)])].reset_index(drop=True)
    new.loc[(new["store"] == "s0") & (new["date"] < end + pd.Timedelta(hours=5)), "sales"] = None
    wide = lambda f: f.pivot(index="date", columns="store", values="sales").reset_index()  # noqa: E731
    model = tmp_path / "m.rnncast"
    assert run("fit", csv(wide(frame), tmp_path / "t.csv"), "--wide", "--model", model, *SHORT_FIT).exit_code == 0
    few = run("forecast", csv(wide(new), tmp_path / "new.csv"), "--model", model, "--format", "csv")
    everything = run(
        "forecast", csv(wide(pd.concat([frame, new])), tmp_path / "a.csv"), "--model", model, "--format", "csv"
    )
    assert few.exit_code == 0 and few.stdout == everything.stdout, few.output
    assert "Warning: series 's0': 2 missing time step(s) added on the h grid and filled" in few.stderr
    assert "Warning: series 's0': filled 4 blank value(s) by interpolate" in few.stderr


def test_whole_number_ids_written_as_floats_are_the_same_series_as_written_as_integers(tmp_path, monkeypatch):
    # store numbers a spreadsheet or pandas wrote as 1.0, 2.0: forecasting from a file that says 1, 2 read
    # every series as unseen ("series '1' is not in the model") and forecast it from its own rows alone
    frame = sines(3).assign(store=lambda f: f["store"].str[1:].astype(int) + 1)  # stores 1, 2, 3
    floats, ints = csv(frame.assign(store=frame["store"].astype(float)), tmp_path / "f.csv"), tmp_path / "i.csv"
    csv(frame[frame["date"] >= pd.Timestamp("2024-01-05")], ints)  # each store's last rows, ids written 1, 2, 3
    assert "1.0," in (tmp_path / "f.csv").read_text()
    s = settings(ReadOptions(targets=("sales",)), Layout(id_col="store"), WindowConfig(seq_len=24, horizon=6),
                 hidden_size=8, epochs=1, ensemble=1)  # fmt: skip
    model = tmp_path / "m.rnncast"
    api.fit(floats, s, model_path=model)
    assert artifact.load(model).meta["series"]["ids"] == ["1", "2", "3"]
    read = newdata.read_like_model(artifact.load(model), ints)
    assert read.ids == ["1", "2", "3"]
    result = CliRunner().invoke(cli, ["forecast", str(ints), "--model", str(model), "--format", "csv"])
    assert result.exit_code == 0 and "not in the model" not in result.stderr, result.output
    assert sorted(set(pd.read_csv(io.StringIO(result.stdout))["store"])) == [1, 2, 3]

    # a model fitted before (its ids '1.0', '2.0', '3.0') still knows the series in a file that says 1, 2, 3
    monkeypatch.setattr(collection, "id_texts", lambda keys: [str(k) for k in keys])
    old = tmp_path / "old.rnncast"
    api.fit(floats, s, model_path=old)
    assert artifact.load(old).meta["series"]["ids"] == ["1.0", "2.0", "3.0"]
    monkeypatch.undo()
    assert newdata.read_like_model(artifact.load(old), ints).ids == ["1.0", "2.0", "3.0"]
    assert list(newdata.known_ids(collection.row_ids(pd.Series([2, 2, 9, None])), ["1.0", "2.0"])) == [
        "2.0", "2.0", "9", "nan"
    ]  # fmt: skip
    # a float column with a fraction keeps its ids as written
    assert collection.id_texts(pd.Index([1.0, 2.5])) == ["1.0", "2.5"]
