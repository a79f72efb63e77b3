import numpy as np
import pandas as pd
import pytest
from conftest import ELEC, MACRO, read_csv_exact, settings

from rnncast import api, artifact
from rnncast import forecast as fc
from rnncast.errors import DataError, UsageError
from rnncast.settings import Layout, ReadOptions, WindowConfig


def test_forecast_continues_the_monthly_calendar(elec_model):
    result, warnings = api.forecast_file(elec_model)
    frame = result.frame()
    assert list(frame.columns) == ["DATE", "STS.M.I7.W.TOVT.NS0016.4.000"]
    assert frame["DATE"].iloc[0] == pd.Timestamp("2016-06-01")
    assert frame["DATE"].iloc[-1] == pd.Timestamp("2017-05-01")
    assert len(frame) == 12 and warnings == []
    # original units: the index has lived between 60 and 130
    assert frame.iloc[:, 1].between(40, 160).all()


def test_forecast_from_the_training_csv_equals_the_saved_context(elec_model):
    saved, _ = api.forecast_file(elec_model)
    from_csv, _ = api.forecast_file(elec_model, ELEC)
    np.testing.assert_allclose(from_csv.values, saved.values, rtol=1e-10)
    assert list(from_csv.index[0]) == list(saved.index[0])


def test_forecast_matches_the_network_by_hand(elec_model):
    art = artifact.load(elec_model)
    model = fc.build_model(art)
    import torch

    assert art.context.shape == (1, 36, 1) and art.scaling.shift.shape == (1, 1)  # one series: a series axis of 1
    x = torch.tensor((art.context - art.scaling.shift[:, None]) / art.scaling.scale[:, None], dtype=torch.float32)
    expected = model(x)[0, :, 0].double().detach().numpy() * art.scaling.scale[0, 0] + art.scaling.shift[0, 0]
    result, _ = api.forecast_file(elec_model)
    np.testing.assert_allclose(result.values[0, :, 0], expected, rtol=1e-6)


def test_shorter_horizon_is_a_prefix_and_longer_is_refused(elec_model):
    full, _ = api.forecast_file(elec_model)
    short, _ = api.forecast_file(elec_model, horizon=3)
    np.testing.assert_array_equal(short.values, full.values[:, :3])
    with pytest.raises(UsageError, match=r"outside 1\.\.12.*refit with --horizon 24"):
        api.forecast_file(elec_model, horizon=24)


def test_new_data_must_have_the_training_columns(elec_model, tmp_path):
    other = tmp_path / "other.csv"
    other.write_text("DATE,x\n" + "".join(f"2020-{m:02d}-01,{m}\n" for m in range(1, 13)))
    with pytest.raises(DataError, match="lacks column.*the model was trained on"):
        api.forecast_file(elec_model, other)


def test_new_data_shorter_than_seq_len_is_refused(elec_model, tmp_path):
    short = tmp_path / "short.csv"
    short.write_text("\n".join(ELEC.read_text().splitlines()[:20]) + "\n")
    with pytest.raises(DataError, match="needs the last 36"):
        api.forecast_file(elec_model, short)


def test_quarterly_multivariate_forecast_from_new_data(tmp_path):
    path = tmp_path / "macro.rnncast"
    from rnncast.settings import ReadOptions

    api.fit(MACRO, settings(ReadOptions(targets=("realgdp", "realcons"), features=("cpi",)), hidden_size=8, epochs=2),
            model_path=path)  # fmt: skip
    result, _ = api.forecast_file(path, MACRO)
    frame = result.frame()
    assert list(frame.columns) == ["date", "realgdp", "realcons"]
    assert frame["date"].iloc[0] == pd.Timestamp("2009-10-01")  # after 2009Q3
    assert len(frame) == 8


# ---------------------------------------------------------------------------- start-up: no pandas for a saved model

PANDAS_FREE = """
import sys
from rnncast.cli import cli
try:
    cli.main(sys.argv[1:], prog_name="rnncast", standalone_mode=False)
finally:
    print("heavy:", sorted(m for m in ("pandas", "sklearn", "pyarrow", "scipy") if m in sys.modules), file=sys.stderr)
"""


def forecast_alone(model, *args: str) -> tuple[str, str]:
    """`rnncast forecast --model MODEL ARGS` in a fresh interpreter: (stdout, the heavy modules it imported)."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", PANDAS_FREE, "forecast", "--model", str(model), *args],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout, done.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("fmt", ["csv", "json", "table"])
def test_forecast_from_the_saved_contexts_imports_no_pandas_and_writes_what_pandas_wrote(elec_model, fmt):
    """The start-up path (issue 15): no pandas, scikit-learn or pyarrow, and the very text of the pandas
    route (the DataFrame written through render) in every format, intervals included."""
    from rnncast import render

    out, heavy = forecast_alone(elec_model, "--format", fmt, "--level", "80")
    assert heavy == "heavy: []"
    result, _ = api.forecast_file(elec_model, levels=(80,))
    frame = result.frame()
    assert frame["DATE"].dtype.kind == "M" and frame["DATE"].iloc[0] == pd.Timestamp("2016-06-01")
    if fmt == "table":
        assert "2016-06-01" in out and "lo 80" in out and f"{frame.iloc[0, 1]:.1f}" in out
    else:
        assert out == render.to_text(frame, fmt)
        assert out == render.to_text(result.columns(), fmt)
    if fmt == "csv":
        back = read_csv_exact(out)
        np.testing.assert_array_equal(back.iloc[:, 1], result.values[0, :, 0])  # full precision in csv


def test_a_zoned_hourly_model_forecasts_without_pandas_across_the_clock_change(tmp_path):
    """Stamps saved at fit time carry the offset of their own hour: +02:00 before the change, +01:00 after."""
    from test_dates import berlin

    data = tmp_path / "load.csv"
    data.write_text(berlin(start="2024-10-20 00:00", end="2024-10-27 00:00"))
    model = tmp_path / "m.rnncast"
    options = settings(
        ReadOptions(tz="Europe/Berlin"), windows=WindowConfig(seq_len=24, horizon=6), hidden_size=8, epochs=2
    )
    api.fit(data, options, model_path=model)
    out, heavy = forecast_alone(model, "--format", "csv")
    assert heavy == "heavy: []"
    stamps = [line.split(",")[0] for line in out.splitlines()[1:]]
    assert stamps == ["2024-10-27T01:00:00+02:00", "2024-10-27T02:00:00+02:00", "2024-10-27T02:00:00+01:00",
                      "2024-10-27T03:00:00+01:00", "2024-10-27T04:00:00+01:00", "2024-10-27T05:00:00+01:00"]  # fmt: skip
    result, _ = api.forecast_file(model)
    assert out == render_csv(result.frame())
    assert str(result.frame()["time"].dt.tz) == "Europe/Berlin"


def render_csv(frame: pd.DataFrame) -> str:
    from rnncast import render

    return render.to_text(frame, "csv")


def test_a_model_without_saved_stamps_computes_them_as_before(elec_model, tmp_path):
    """Model files written before fit saved `next_stamps` forecast the same stamps (computed with pandas)."""
    art = artifact.load(elec_model)
    saved, _ = fc.forecast(art)
    del art.meta["series"]["next_stamps"]
    older = tmp_path / "older.rnncast"
    artifact.save(art, older)
    computed, _ = api.forecast_file(older)
    assert computed.index == saved.index and saved.index[0][:2] == ["2016-06-01T00:00:00", "2016-07-01T00:00:00"]
    np.testing.assert_array_equal(computed.values, saved.values)


@pytest.mark.parametrize(
    ("stamps", "zone"),
    [
        (pd.date_range("2024-01-30", periods=5, freq="D"), None),  # midnights: the date alone
        (pd.date_range("2024-01-30 22:00", periods=5, freq="h"), None),  # one at midnight among others
        (pd.date_range("2024-03-31 00:00", periods=5, freq="h", tz="Europe/Berlin"), "Europe/Berlin"),  # clock change
    ],
)
def test_saved_stamp_text_follows_the_rule_of_the_pandas_columns(stamps, zone):
    """`forecast.stamp_texts` on ISO text writes a column as `timeindex.stamps` writes the same time stamps."""
    from rnncast import timeindex

    expected = timeindex.stamps(pd.Series(stamps)).tolist()
    assert fc.stamp_texts([t.isoformat() for t in stamps], zone) == expected


def test_a_forecast_recorded_in_the_run_history_imports_no_pandas(elec_model, tmp_path):
    """RNNCAST_HISTORY may be set for every run (README): recording the model file's sha256 must not bring
    pandas back into `forecast` from a saved model; the record still names the model and its digest."""
    import hashlib

    from rnncast import history

    db = tmp_path / "runs.db"
    out, heavy = forecast_alone(elec_model, "--format", "csv", "--history", str(db))
    assert heavy == "heavy: []"
    (record,) = history.runs(db)
    assert record["command"] == "forecast" and record["exit_code"] == 0
    assert record["model_sha256"] == hashlib.sha256(elec_model.read_bytes()).hexdigest()
    assert record["data"] is None and record["data_rows"] is None
    assert record["metrics"]["values"][0]["first"] == pytest.approx(float(out.splitlines()[1].split(",")[1]))


def test_past_the_cap_no_stamps_are_saved_and_the_forecast_computes_the_same(tmp_path, monkeypatch):
    """Thousands of series ending at different times would make `next_stamps` megabytes that every forecast
    parses: past NEXT_STAMPS_MAX none are saved, and the forecast computes the same stamps with pandas."""
    from rnncast import fitting

    t = pd.date_range("2024-01-01", periods=60, freq="h")
    rows = [
        pd.DataFrame({"id": sid, "time": t[: 60 - k], "y": np.sin(np.arange(60 - k) / 4) + k})
        for k, sid in enumerate("abc")
    ]
    data = tmp_path / "long.csv"
    pd.concat(rows).to_csv(data, index=False)
    options = settings(layout=Layout(id_col="id"), windows=WindowConfig(seq_len=12, horizon=4), hidden_size=8, epochs=1)
    saved, capped = tmp_path / "saved.rnncast", tmp_path / "capped.rnncast"
    api.fit(data, options, model_path=saved)
    monkeypatch.setattr(fitting, "NEXT_STAMPS_MAX", 3 * 4 - 1)  # three ends of four stamps: one too many
    api.fit(data, options, model_path=capped)
    assert len(artifact.load(saved).meta["series"]["next_stamps"]) == 3
    assert artifact.load(capped).meta["series"]["next_stamps"] == {}
    with_saved, computed = api.forecast_file(saved)[0], api.forecast_file(capped)[0]
    assert computed.index == with_saved.index and computed.index[2] == [
        f"2024-01-03T{h}:00:00" for h in (10, 11, 12, 13)
    ]
    np.testing.assert_array_equal(computed.values, with_saved.values)


def test_a_few_rows_after_the_training_end_are_read_behind_the_rows_saved_in_the_model(elec_model, tmp_path):
    """A cron job passes only the rows that arrived since `fit`: the window's other rows are the training
    data's last, which the model file keeps. The same forecast as from the whole history with those rows."""
    history = pd.read_csv(ELEC)
    date, value = history.columns
    new = pd.DataFrame({date: ["Jun-1-2016", "Jul-1-2016"], value: [95.1, 99.3]})
    new.to_csv(tmp_path / "new.csv", index=False)
    pd.concat([history, new]).to_csv(tmp_path / "whole.csv", index=False)
    short, warnings = api.forecast_file(elec_model, tmp_path / "new.csv")
    whole, _ = api.forecast_file(elec_model, tmp_path / "whole.csv")
    np.testing.assert_array_equal(short.values, whole.values)
    assert short.frame()["DATE"].iloc[0] == pd.Timestamp("2016-08-01") and warnings == [] and whole.notes == []
    assert short.notes == [
        "data has 2 row(s), from 2016-06-01; the 34 rows before them are the training data's last, saved in the model"
    ]
    # rows that overlap the training end replace the saved ones at their stamps
    changed = pd.concat([history.tail(3).assign(**{value: [1.0, 2.0, 3.0]}), new])
    changed.to_csv(tmp_path / "overlap.csv", index=False)
    pd.concat([history.iloc[:-3], changed]).to_csv(tmp_path / "whole_changed.csv", index=False)
    overlap, _ = api.forecast_file(elec_model, tmp_path / "overlap.csv")
    np.testing.assert_array_equal(
        overlap.values, api.forecast_file(elec_model, tmp_path / "whole_changed.csv")[0].values
    )
    assert overlap.notes[0].startswith("data has 5 row(s), from 2016-03-01; the 31 rows before them")
    assert not np.array_equal(overlap.values, short.values)


def test_rows_since_fit_from_the_training_end_in_may_are_read_in_the_files_own_date_style(elec_model, tmp_path):
    """The sample file writes Jun-1-2016; a cron job's rows from its last training month (May) on were
    refused as mixing date formats. They replace the saved May row and forecast as the whole history does."""
    history = pd.read_csv(ELEC)
    date, value = history.columns
    new = pd.DataFrame({date: ["May-1-2016", "Jun-1-2016", "Jul-1-2016"], value: [93.0, 95.1, 99.3]})
    new.to_csv(tmp_path / "new.csv", index=False)
    pd.concat([history.iloc[:-1], new]).to_csv(tmp_path / "whole.csv", index=False)
    short, _ = api.forecast_file(elec_model, tmp_path / "new.csv")
    np.testing.assert_array_equal(short.values, api.forecast_file(elec_model, tmp_path / "whole.csv")[0].values)
    assert short.frame()["DATE"].iloc[0] == pd.Timestamp("2016-08-01")


@pytest.mark.parametrize("values", [[None, 99.3, 97.0], [95.1, None, 97.0]], ids=["first-blank", "middle-blank"])
def test_blanks_in_a_few_rows_since_fit_are_filled_after_the_saved_rows_are_put_before_them(
    elec_model, tmp_path, values
):
    """A third of three new rows blank is over --fill interpolate's 20%, of those rows; behind the 36 saved
    rows it is not, and a first row's blank lies between the training end and the next new value (not
    back-filled from it): the same forecast and scores as from the whole history with those rows."""
    history = pd.read_csv(ELEC)
    date, value = history.columns
    new = pd.DataFrame({date: ["Jun-1-2016", "Jul-1-2016", "Aug-1-2016"], value: values})
    new.to_csv(tmp_path / "new.csv", index=False)
    pd.concat([history, new]).to_csv(tmp_path / "whole.csv", index=False)
    short, warnings = api.forecast_file(elec_model, tmp_path / "new.csv")
    whole, whole_warnings = api.forecast_file(elec_model, tmp_path / "whole.csv")
    np.testing.assert_array_equal(short.values, whole.values)
    assert warnings == whole_warnings == ["filled 1 blank value(s) by interpolate"]
    filled = pd.concat([history, new])[value].astype(float).interpolate().to_numpy()[-3:]
    if values[0] is None:  # between the training end's value and 99.3, not 99.3 again
        assert filled[0] == (history[value].iloc[-1] + 99.3) / 2 != 99.3
    first = api.evaluate_file(elec_model, tmp_path / "new.csv")
    every = api.evaluate_file(elec_model, tmp_path / "whole.csv")
    assert first.windows == every.windows == 1
    np.testing.assert_array_equal(first.actual, every.actual)
    np.testing.assert_array_equal(first.actual[0, :3, 0], filled)


@pytest.mark.parametrize(
    ("fill", "dates", "values", "said"),
    [
        ("interpolate", ["Jun-1-2016", "Aug-1-2016"], [95.1, 97.0], "1 missing time step(s) added on the MS grid"),
        ("drop", ["Jun-1-2016", "Jul-1-2016", "Aug-1-2016"], [95.1, None, 97.0], "dropped 1 row(s)"),
        ("drop", ["Jun-1-2016", "Jul-1-2016", "Aug-1-2016"], [None, 99.3, 97.0], "dropped 1 row(s)"),
        ("drop", ["Jun-1-2016", "Jul-1-2016"], [None, None], "dropped 2 row(s)"),
        ("interpolate", ["Aug-1-2016", "Sep-1-2016"], [97.0, 110.2], "2 missing time step(s) added on the MS grid"),
        ("drop", ["Aug-1-2016", "Sep-1-2016"], [97.0, 110.2], "2 missing time step(s) added on the MS grid"),
    ],
    ids=[
        "skipped-month", "drop-a-blank-row", "drop-a-blank-first-row", "drop-every-row",
        "a-gap-after-the-end", "a-gap-after-the-end-with-drop",
    ],
)  # fmt: skip
def test_missing_or_dropped_rows_among_a_few_rows_since_fit_are_read_as_the_whole_history(
    elec_model, tmp_path, fill, dates, values, said
):
    """Rows since fit with a month missing (among them or right after the training end: a cron job that missed
    two runs), or with --fill drop blank rows dropped, are put on the grid behind the saved rows as the whole
    history puts them: the same forecast, not a refusal for too few rows; the note counts the file's rows."""
    model = elec_model
    if fill == "drop":
        model = tmp_path / "drop.rnncast"
        api.fit(ELEC, settings(read=ReadOptions(fill="drop"), hidden_size=4, epochs=1), model_path=model)
    history = pd.read_csv(ELEC)
    date, value = history.columns
    new = pd.DataFrame({date: dates, value: values})
    new.to_csv(tmp_path / "new.csv", index=False)
    pd.concat([history, new]).to_csv(tmp_path / "whole.csv", index=False)
    short, warnings = api.forecast_file(model, tmp_path / "new.csv")
    whole, whole_warnings = api.forecast_file(model, tmp_path / "whole.csv")
    np.testing.assert_array_equal(short.values, whole.values)
    assert warnings == whole_warnings
    assert [w for w in warnings if w.startswith(said)], warnings
    if dates[0] == "Aug-1-2016":  # two months added before the file's first row: not counted as the file's
        assert short.notes[0].startswith("data has 2 row(s), from 2016-08-01; the 32 rows before them are the")


@pytest.mark.parametrize(
    ("first", "shown", "before"),
    [("Mar-1-2016", "2016-03-01", 31), ("May-1-2016", "2016-05-01", 33)],  # the window's rows before the file's first
    ids=["two-months-before-the-end", "at-the-end"],
)
def test_a_few_rows_from_before_the_training_end_with_a_month_missing_after_it_keep_the_saved_rows(
    elec_model, tmp_path, first, shown, before
):
    """Rows since fit that begin at or before the training end (May 2016) and skip June: the saved rows between
    them stay the training data's, June is added and filled, said as the whole history says it, and the note
    counts the file's two rows."""
    history = pd.read_csv(ELEC)
    date, value = history.columns
    again = float(history.loc[history[date] == first, value].iloc[0])  # the training data's value, read again
    pd.DataFrame({date: [first, "Jul-1-2016"], value: [again, 97.0]}).to_csv(tmp_path / "new.csv", index=False)
    pd.concat([history, pd.DataFrame({date: ["Jul-1-2016"], value: [97.0]})]).to_csv(
        tmp_path / "whole.csv", index=False
    )
    short, warnings = api.forecast_file(elec_model, tmp_path / "new.csv")
    whole, whole_warnings = api.forecast_file(elec_model, tmp_path / "whole.csv")
    np.testing.assert_array_equal(short.values, whole.values)
    assert warnings == whole_warnings
    assert "1 missing time step(s) added on the MS grid and filled" in warnings
    assert short.notes == [
        f"data has 2 row(s), from {shown}; the {before} rows before them are the training data's last, saved in the model"
    ]


def test_steps_reading_adds_among_a_few_rows_keep_the_training_values_saved_at_them(elec_model, tmp_path):
    """March, April and July 2016 against a model that ends in May: reading puts May and June on the grid blank;
    May is the training data's, saved in the model, not interpolated over: the whole history's forecast."""
    history = pd.read_csv(ELEC)
    date, value = history.columns
    again = history[history[date].isin(["Mar-1-2016", "Apr-1-2016"])]  # the training data's values, read again
    july = pd.DataFrame({date: ["Jul-1-2016"], value: [97.0]})
    pd.concat([again, july]).to_csv(tmp_path / "new.csv", index=False)
    pd.concat([history, july]).to_csv(tmp_path / "whole.csv", index=False)
    short, warnings = api.forecast_file(elec_model, tmp_path / "new.csv")
    whole, whole_warnings = api.forecast_file(elec_model, tmp_path / "whole.csv")
    np.testing.assert_array_equal(short.values, whole.values)
    for said in (warnings, whole_warnings):
        assert "filled 1 blank value(s) by interpolate" in said  # June alone


@pytest.mark.parametrize(
    "dates",
    [["Jan-1-2018"], ["Jun-15-2016", "Jul-15-2016"], ["Jan-1-2010", "Feb-1-2010"], ["Jan-1-2016", "Feb-1-2016"]],
    ids=["a-long-gap-after-the-end", "off-the-monthly-grid", "long-before-the-end", "ending-before-the-end"],
)
def test_a_few_rows_that_do_not_continue_the_training_data_are_refused(elec_model, tmp_path, dates):
    date, value = pd.read_csv(ELEC).columns
    pd.DataFrame({date: dates, value: 100.0}).to_csv(tmp_path / "new.csv", index=False)
    with pytest.raises(DataError) as refused:
        api.forecast_file(elec_model, tmp_path / "new.csv")
    assert str(refused.value) == (
        f"data has {len(dates)} rows; the model needs the last 36; give a longer history, "
        "or rows that continue the training data (from 2016-06-01 on)"
    )


def test_a_gap_after_the_training_end_is_refused_where_fit_refused_blanks(tmp_path):
    """With fit's --fill error the whole history would refuse the missing months: rows since fit after them
    are refused saying where they must start, not filled."""
    model = tmp_path / "error.rnncast"
    api.fit(ELEC, settings(read=ReadOptions(fill="error"), hidden_size=4, epochs=1), model_path=model)
    date, value = pd.read_csv(ELEC).columns
    pd.DataFrame({date: ["Aug-1-2016"], value: [97.0]}).to_csv(tmp_path / "new.csv", index=False)
    with pytest.raises(DataError, match=r"rows that continue the training data \(from 2016-06-01 on\)"):
        api.forecast_file(model, tmp_path / "new.csv")


def test_a_cron_job_under_strict_forecasts_from_the_rows_since_fit_with_a_note(elec_model, tmp_path):
    """--strict refuses stale or gappy data, not the saved rows the window is meant to take: a note, exit 0."""
    import subprocess
    import sys

    history = pd.read_csv(ELEC)
    date, value = history.columns
    pd.DataFrame({date: ["Jun-1-2016"], value: [95.1]}).to_csv(tmp_path / "new.csv", index=False)
    pd.concat([history, pd.read_csv(tmp_path / "new.csv")]).to_csv(tmp_path / "whole.csv", index=False)
    runs = [
        subprocess.run(
            [
                sys.executable,
                "-m",
                "rnncast",
                "forecast",
                str(tmp_path / name),
                "--model",
                str(elec_model),
                "--strict",
                "--format",
                "csv",
            ],
            capture_output=True,
            text=True,
            check=False,
        )  # fmt: skip
        for name in ("new.csv", "whole.csv")
    ]
    assert [r.returncode for r in runs] == [0, 0] and runs[0].stdout == runs[1].stdout
    assert runs[0].stderr == (
        "Note: data has 1 row(s), from 2016-06-01; the 35 rows before them are the training data's last, saved "
        "in the model\n"
    )
    assert runs[1].stderr == "" and runs[0].stdout.splitlines()[1].startswith("2016-07-01,")


@pytest.mark.parametrize("time_col", ["none", "t"], ids=["no-time-column", "step-numbers"])
def test_a_model_without_dates_asks_only_for_a_longer_history(tmp_path, time_col):
    """Without dates on a grid new rows cannot be placed after the saved ones: the refusal offers no rows
    that continue the training data, which it could not read."""
    values = pd.read_csv(ELEC).iloc[:, 1]
    frame = pd.DataFrame({"t": np.arange(len(values)), "y": values})
    frame.iloc[:-6].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[-6:].to_csv(tmp_path / "new.csv", index=False)
    model = tmp_path / "m.rnncast"
    read = ReadOptions(time_col=time_col, targets=("y",))
    api.fit(tmp_path / "train.csv", settings(read, hidden_size=8, epochs=1), model_path=model)
    with pytest.raises(DataError) as refused:
        api.forecast_file(model, tmp_path / "new.csv")
    seq_len = artifact.load(model).meta["model_seq_len"]
    assert str(refused.value) == f"data has 6 rows; the model needs the last {seq_len}; give a longer history"


def test_blank_new_data_is_filled_as_fit_filled_and_refused_naming_fits_fill(elec_model, tmp_path):
    """forecast and evaluate have no --fill: new data's blanks are filled by fit's --fill, saved in the model
    (a --fill zero model read new blanks as interpolated before), and a refusal names it, not an option
    these commands lack."""
    from rnncast.settings import ReadOptions

    history = pd.read_csv(ELEC)
    date, value = history.columns
    blank = pd.DataFrame({date: ["Jun-1-2016", "Jul-1-2016", "Aug-1-2016", "Sep-1-2016"], value: [95.1, None, 96, 97]})
    blank.to_csv(tmp_path / "blank.csv", index=False)
    holes = history.copy()
    holes.loc[::4, value] = None  # a whole history, a quarter of it blank
    holes.to_csv(tmp_path / "holes.csv", index=False)
    with pytest.raises(DataError) as refused:
        api.forecast_file(elec_model, tmp_path / "holes.csv")
    assert str(refused.value) == (
        f"column {value!r} is 25% blank, too much to fill; clean the data: new data's blanks are filled as fit's "
        "were (--fill interpolate), up to 20% of a column"
    )
    strict = tmp_path / "strict.rnncast"
    api.fit(ELEC, settings(read=ReadOptions(fill="error"), hidden_size=4, epochs=1), model_path=strict)
    with pytest.raises(DataError) as refused:
        api.evaluate_file(strict, tmp_path / "blank.csv")
    assert str(refused.value) == (
        f"column {value!r} is blank at 2016-07-01; fill it: the model was fitted with --fill error, "
        "which refuses blanks"
    )
    zero = tmp_path / "zero.rnncast"  # count data: a blank is a period with nothing sold
    api.fit(ELEC, settings(read=ReadOptions(fill="zero"), hidden_size=4, epochs=1), model_path=zero)
    assert api.model_card(artifact.load(zero).meta)["fill"] == "zero"
    assert api.model_card(artifact.load(elec_model).meta)["fill"] == "interpolate"
    filled, _ = api.forecast_file(zero, tmp_path / "blank.csv")
    blank.fillna(0.0).to_csv(tmp_path / "zeros.csv", index=False)
    np.testing.assert_array_equal(filled.values, api.forecast_file(zero, tmp_path / "zeros.csv")[0].values)
