"""Dates and time (issue 12): day-first dates, --date-format, --freq/--weekmask, --tz.

Small files written the way real exports write them: a German shop's daily sales (`01.01.2024;1.234,5`),
monthly figures with `01/02/2015` for 1 February, a shop closed on Sundays, and a Berlin meter's local
wall-clock hours across the October clock change.
"""

import io
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import test_bad_input
from conftest import MACRO, ROOT, TINY, settings
from test_bad_input import fit_refused, run

from rnncast import reading
from rnncast.errors import DataError
from rnncast.settings import ReadOptions, WindowConfig

MON_SAT = "Mon Tue Wed Thu Fri Sat"
workdir = test_bad_input.workdir  # the fixture: a directory with a model that every refusal must leave untouched


def read(text: str, **options) -> reading.Series:
    return reading.read_series(io.StringIO(text), ReadOptions(**options))


def german_daily(days: int = 120) -> str:
    """Daily sales from 1 January 2024 as a German export writes them: `01.01.2024;1.200,0`."""
    stamps = pd.date_range("2024-01-01", periods=days, freq="D")
    values = 1200 + 150 * np.sin(2 * np.pi * np.arange(days) / 7)
    german = lambda v: f"{v:,.1f}".replace(",", "_").replace(".", ",").replace("_", ".")  # noqa: E731
    return "Datum;Umsatz\n" + "".join(f"{d:%d.%m.%Y};{german(v)}\n" for d, v in zip(stamps, values, strict=True))


def monthly(dates: list[str]) -> str:
    return "date,sales\n" + "".join(f"{d},{100 + 3 * i % 7}\n" for i, d in enumerate(dates))


def shop(sundays: bool = False) -> str:
    """A year of daily sales of a shop closed on Sundays: no Sunday rows at all."""
    days = pd.bdate_range("2024-01-01", "2024-12-31", freq="C", weekmask=MON_SAT)
    counts = 30 + 10 * (days.day_of_week == 5) + (np.arange(len(days)) * 7) % 5
    rows = [f"{d.date()},{c}" for d, c in zip(days, counts, strict=True)]
    if sundays:
        rows.insert(6, "2024-01-07,3")  # one Sunday sale, after Saturday 6 January
    return "date,sales\n" + "\n".join(rows) + "\n"


def berlin(start: str = "2024-10-20 00:00", end: str = "2024-10-27 06:00", offsets: bool = False) -> str:
    """Hourly load as a Berlin meter writes it: local wall-clock time, 02:00 twice on 27 October."""
    utc = pd.date_range(pd.Timestamp(start, tz="Europe/Berlin"), pd.Timestamp(end, tz="Europe/Berlin"), freq="h")
    local = utc.tz_convert("Europe/Berlin")
    load = 50 + 10 * np.sin(2 * np.pi * np.arange(len(local)) / 24)
    stamps = [t.isoformat() if offsets else t.strftime("%Y-%m-%d %H:%M") for t in local]
    return "time,load\n" + "".join(f"{t},{v:.2f}\n" for t, v in zip(stamps, load, strict=True))


def without_second(start: str, text: str) -> str:
    """The text without the second line that starts with `start` (one of the two 02:00 hours)."""
    lines = text.splitlines()
    second = [i for i, line in enumerate(lines) if line.startswith(start)][1]
    return "\n".join(lines[:second] + lines[second + 1 :]) + "\n"


# ------------------------------------------------------------------------------ day-first dates


def test_day_first_dates_are_read_day_first_and_kept_for_new_data(tmp_path):
    text = german_daily()
    s = read(text)
    assert s.freq == "D" and s.index[12] == pd.Timestamp("2024-01-13") and s.index[-1] == pd.Timestamp("2024-04-29")
    assert s.values[0, 0] == pytest.approx(1200.0) and not s.notes  # 13.01. decides: no warning needed
    data, model = tmp_path / "umsatz.csv", tmp_path / "m.rnncast"
    data.write_text(text)
    fitted = run("fit", data, "--model", model, *TINY)
    assert fitted.exit_code == 0, fitted.stderr
    assert "120 rows, 2024-01-01 → 2024-04-29, frequency D" in fitted.stderr
    card = dict(pd.read_csv(io.StringIO(run("info", "--model", model, "--format", "csv").stdout)).values)
    assert card["date_format"] == "%d.%m.%Y"
    out = run("forecast", data, "--model", model, "--horizon", "3", "--format", "csv")
    assert out.exit_code == 0, out.stderr
    assert pd.read_csv(io.StringIO(out.stdout))["Datum"].tolist() == ["2024-04-30", "2024-05-01", "2024-05-02"]


def test_monthly_day_first_dates_are_read_as_the_first_of_each_month_with_a_warning():
    dates = [f"{d:%d/%m/%Y}" for d in pd.date_range("2015-01-01", periods=36, freq="MS")]
    s = read(monthly(dates))
    assert s.freq == "MS" and s.index[1] == pd.Timestamp("2015-02-01") and s.index[-1] == pd.Timestamp("2017-12-01")
    assert s.notes == [
        "time column 'date': dates read day first ('01/02/2015' is 1 February 2015); read month first they are "
        "not regular (--date-format %d/%m/%Y says so and silences this)"
    ]
    assert not read(monthly(dates), date_format="%d/%m/%Y").notes


def test_dates_that_read_regularly_both_ways_are_refused_naming_date_format(workdir):
    dates = [f"{d:%d/%m/%Y}" for d in pd.date_range("2015-01-01", periods=12, freq="MS")]  # or 1..12 January?
    fit_refused(workdir, monthly(dates), [], 2,
                "'01/02/2015' could be 1 February 2015 (day first) or 2 January 2015 (month first), and both "
                "readings give regular dates; pass --date-format %d/%m/%Y or --date-format %m/%d/%Y")  # fmt: skip
    s = read(monthly(dates), date_format="%m/%d/%Y")  # the user's word decides
    assert s.freq == "D" and s.index[-1] == pd.Timestamp("2015-01-12")


def test_a_day_above_12_makes_the_order_unambiguous():
    dates = [f"{d:%m/%d/%Y}" for d in pd.date_range("2015-01-01", periods=20, freq="D")]  # US: 01/13/2015
    s = read(monthly(dates))
    assert s.freq == "D" and s.index[12] == pd.Timestamp("2015-01-13") and not s.notes


@pytest.mark.parametrize(
    "content,args,code,message",
    [
        (german_daily(), ["--date-format", "%m.%d.%Y"], 2,
         "no column matches --date-format '%m.%d.%Y' ('Datum' holds '13.01.2024' at data row 13); check the format"),
        (german_daily(), ["--time-col", "Datum", "--date-format", "%m.%d.%Y"], 65,
         "--time-col 'Datum' has '13.01.2024' at data row 13, which does not match --date-format '%m.%d.%Y'"),
        (german_daily(), ["--date-format", "dd.mm.yyyy"], 2, "--date-format 'dd.mm.yyyy' holds no strftime codes"),
        ("date,v\n" + "".join(f"2024-01-0{d},{d}\n" for d in range(1, 5)) + "05.01.2024,5\n", [], 65,
         "mixes date formats: '2024-01-01' (data row 1) but '05.01.2024' (data row 5)"),
    ],
    ids=["format-fits-no-column", "format-misses-a-value", "no-codes", "two-formats-named-once-each"],
)  # fmt: skip
def test_bad_date_formats_are_refused(workdir, content, args, code, message):
    fit_refused(workdir, content, args, code, message)


# ------------------------------------------------------------------------------ --freq and --weekmask


def test_a_shop_closed_on_sundays_is_on_its_own_grid_and_forecasts_skip_sundays(tmp_path):
    data, model = tmp_path / "shop.csv", tmp_path / "m.rnncast"
    data.write_text(shop())
    guessed = read(shop())  # without --freq: every Sunday is a missing day, interpolated
    assert guessed.freq == "D" and "52 missing time step(s) added on the D grid and filled" in guessed.notes
    fitted = run("fit", data, "--freq", "C", "--weekmask", MON_SAT, "--model", model, *TINY)
    assert fitted.exit_code == 0, fitted.stderr
    assert "314 rows" in fitted.stderr and "frequency C" in fitted.stderr and "missing" not in fitted.stderr
    assert "season 6 (from data)" in fitted.stderr  # a week of six open days
    expected = pd.bdate_range("2025-01-01", periods=8, freq="C", weekmask=MON_SAT).strftime("%Y-%m-%d").tolist()
    assert "2025-01-05" not in expected  # a Sunday
    for args in ([], [data]):  # after the saved data, and after new data read on the same grid
        out = run("forecast", *args, "--model", model, "--horizon", "8", "--format", "csv")
        assert out.exit_code == 0, out.stderr
        assert pd.read_csv(io.StringIO(out.stdout))["date"].tolist() == expected
    scored = run("backtest", data, "--freq", "C", "--weekmask", MON_SAT, "--folds", "1", "--horizon", "6",
                 "--predictions", tmp_path / "p.csv", *TINY)  # fmt: skip
    assert scored.exit_code == 0, scored.stderr
    times = pd.to_datetime(pd.read_csv(tmp_path / "p.csv")["date"])
    assert times.tolist() == list(pd.bdate_range(end="2024-12-31", periods=6, freq="C", weekmask=MON_SAT))


def test_missing_open_days_are_the_only_gaps_on_the_users_grid():
    text = "\n".join(line for line in shop().splitlines() if not line.startswith("2024-01-06")) + "\n"  # a Saturday
    s = read(text, freq="C", weekmask=MON_SAT)
    assert "1 missing time step(s) added on the C grid and filled" in s.notes
    assert pd.Timestamp("2024-01-06") in s.index and pd.Timestamp("2024-01-07") not in s.index
    with pytest.raises(DataError, match=r"1 time step\(s\) missing on the C grid \(first 2024-01-06 00:00:00\)"):
        read(text, freq="C", weekmask=MON_SAT, strict=True)
    header, *rows = shop().splitlines()
    weekdays = [header] + [row for row in rows if pd.Timestamp(row[:10]).day_of_week < 5]  # Saturdays dropped
    business = read("\n".join(weekdays) + "\n", freq="B")  # Monday to Friday: no gaps on the B grid
    assert business.freq == "B" and len(business) == 262 and not business.notes


@pytest.mark.parametrize(
    "content,args,code,message",
    [
        (shop(sundays=True), ["--freq", "C", "--weekmask", MON_SAT], 65,
         "time stamp 2024-01-07 (Sunday) is not on the --freq C (--weekmask Mon Tue Wed Thu Fri Sat) grid"),
        (shop(), ["--freq", "H"], 2, "unknown --freq 'H'; did you mean h?"),
        (shop(), ["--freq", "fortnightly"], 2, "unknown --freq 'fortnightly'; use a pandas frequency"),
        (shop(), ["--weekmask", MON_SAT], 2, "--weekmask is for --freq C (custom business days); add --freq C"),
        (shop(), ["--freq", "C", "--weekmask", "Montag"], 2, "--weekmask 'Montag' is not a week mask"),
        (shop(), ["--freq", "D", "--time-col", "none"], 2, "--freq needs a date/time column"),
    ],
    ids=["sunday-off-grid", "freq-H", "freq-unknown", "weekmask-without-C", "weekmask-bad", "freq-without-time"],
)  # fmt: skip
def test_bad_grids_are_refused(workdir, content, args, code, message):
    fit_refused(workdir, content, args, code, message)


# ------------------------------------------------------------------------------ time zones


def test_local_hours_across_the_october_change_are_placed_by_tz():
    s = read(berlin(), tz="Europe/Berlin")
    assert s.freq == "h" and s.zone == "Europe/Berlin" and len(s) == 24 * 7 + 7 + 1  # 02:00 twice: one more hour
    assert s.index[0] == pd.Timestamp("2024-10-19 22:00")  # naive UTC inside: midnight CEST
    twice = s.index[(s.index >= pd.Timestamp("2024-10-27 00:00")) & (s.index <= pd.Timestamp("2024-10-27 01:00"))]
    assert len(twice) == 2  # 02:00 CEST and 02:00 CET, an hour apart in UTC


def test_a_tz_model_forecasts_backtests_and_evaluates_with_offsets(tmp_path):
    """Fitted on hours that end just before the clock change: the next hours are 02:00+02:00 then 02:00+01:00."""
    data, model, full = tmp_path / "load.csv", tmp_path / "m.rnncast", tmp_path / "full.csv"
    data.write_text(berlin(end="2024-10-27 01:00"))
    full.write_text(berlin(end="2024-10-28 12:00"))
    fitted = run("fit", data, "--tz", "Europe/Berlin", "--seq-len", "24", "--horizon", "6", "--model", model, *TINY)
    assert fitted.exit_code == 0, fitted.stderr
    assert "2024-10-20T00:00:00+02:00 → 2024-10-27T01:00:00+02:00, frequency h" in fitted.stderr
    expected = ["2024-10-27T02:00:00+02:00", "2024-10-27T02:00:00+01:00", "2024-10-27T03:00:00+01:00",
                "2024-10-27T04:00:00+01:00", "2024-10-27T05:00:00+01:00", "2024-10-27T06:00:00+01:00"]  # fmt: skip
    out = run("forecast", "--model", model, "--format", "csv")
    assert pd.read_csv(io.StringIO(out.stdout))["time"].tolist() == expected
    out = run("forecast", data, "--model", model, "--format", "json")  # new data: localised like fit's
    assert [r["time"] for r in pd.read_json(io.StringIO(out.stdout), dtype=False).to_dict("records")] == expected
    card = dict(pd.read_csv(io.StringIO(run("info", "--model", model, "--format", "csv").stdout)).values)
    assert card["time_zone"] == "Europe/Berlin" and card["training_end"] == "2024-10-27T01:00:00+02:00"
    evaluated = run(
        "evaluate", full, "--model", model, "--format", "csv"
    )  # 02:00 twice in it: read with the model's zone
    assert evaluated.exit_code == 0, evaluated.stderr
    assert "with targets from 2024-10-27T02:00:00+02:00 to 2024-10-28T12:00:00+01:00" in evaluated.stderr
    # only the rows since fit, 02:00 twice among them: read behind the saved rows on the local clock
    lines = full.read_text().splitlines()
    since = tmp_path / "since.csv"
    since.write_text("\n".join([lines[0], *(line for line in lines[1:] if line >= "2024-10-27 02:00")]) + "\n")
    again = run("evaluate", since, "--model", model, "--format", "csv")
    assert again.exit_code == 0 and again.stdout == evaluated.stdout, again.stderr
    assert "the inputs before the data's first row include the training rows saved in the model" in again.stderr
    ahead = [run("forecast", source, "--model", model, "--format", "csv") for source in (since, full)]
    assert ahead[0].stdout == ahead[1].stdout and "2024-10-28T13:00:00+01:00" in ahead[0].stdout
    scored = run("backtest", data, "--tz", "Europe/Berlin", "--seq-len", "24", "--horizon", "6", "--folds", "1",
                 "--predictions", tmp_path / "p.csv", *TINY)  # fmt: skip
    assert scored.exit_code == 0, scored.stderr
    predictions = pd.read_csv(tmp_path / "p.csv")
    assert predictions["cutoff"].iloc[0] == "2024-10-26T19:00:00+02:00"
    assert predictions["time"].tolist()[-1] == "2024-10-27T01:00:00+02:00"


def test_forecast_across_the_change_through_a_pipe(tmp_path):
    data, model = tmp_path / "load.csv", tmp_path / "m.rnncast"
    data.write_text(berlin(start="2024-10-22 00:00", end="2024-10-27 04:00"))
    fitted = run("fit", data, "--tz", "Europe/Berlin", "--seq-len", "24", "--horizon", "3", "--model", model, *TINY)
    assert fitted.exit_code == 0, fitted.stderr
    done = subprocess.run([sys.executable, "-m", "rnncast", "forecast", "-", "--model", str(model)], input=data.read_text(),
                          capture_output=True, text=True, cwd=ROOT, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert [line.split(",")[0] for line in done.stdout.splitlines()[1:]] == [
        "2024-10-27T05:00:00+01:00", "2024-10-27T06:00:00+01:00", "2024-10-27T07:00:00+01:00"]  # fmt: skip


def test_stamps_with_offsets_are_read_as_instants_and_shown_at_the_files_offset():
    text = "time,load\n" + "".join(
        f"{t.isoformat()},{i}\n" for i, t in enumerate(pd.date_range("2024-03-30 20:00", periods=12, freq="h", tz="Europe/Berlin"))
    )  # fmt: skip
    assert "2024-03-31T01:00:00+01:00,5" in text and "2024-03-31T03:00:00+02:00,6" in text
    s = read(text)
    assert s.freq == "h" and s.zone == "+02:00" and s.index[5] == pd.Timestamp("2024-03-31 00:00")
    assert s.values[:, 0].tolist() == list(range(12))
    assert read(text, tz="Europe/Berlin").zone == "Europe/Berlin"
    with_offsets = read(berlin(offsets=True))
    assert with_offsets.index.equals(read(berlin(), tz="Europe/Berlin").index)  # the same instants either way


def test_a_zoned_model_forecasts_at_the_files_offset(tmp_path):
    data, model = tmp_path / "load.csv", tmp_path / "m.rnncast"
    data.write_text(berlin(offsets=True))
    fitted = run("fit", data, "--seq-len", "24", "--horizon", "2", "--model", model, *TINY)
    assert fitted.exit_code == 0, fitted.stderr
    out = run("forecast", "--model", model, "--format", "csv")
    assert pd.read_csv(io.StringIO(out.stdout))["time"].tolist() == [
        "2024-10-27T07:00:00+01:00",
        "2024-10-27T08:00:00+01:00",
    ]
    naive = tmp_path / "naive.csv"  # the same hours without their offsets cannot be placed against the model's
    naive.write_text(berlin(start="2024-10-27 03:00", end="2024-10-28 12:00"))
    refused = run("forecast", naive, "--model", model)
    assert refused.exit_code == 65 and refused.stderr.strip().splitlines() == [
        "Error: the data's time stamps carry no UTC offset, the model's did (+01:00); write them with their offset, "
        "or refit with --tz ZONE on the same kind of stamps"
    ]


@pytest.mark.parametrize(
    "content,args,code,message",
    [
        (berlin(), [], 65,
         "duplicate time stamp 2024-10-27T02:00:00 in 'time'; remove or aggregate repeated rows; if the stamps are "
         "local time across a daylight-saving change, pass --tz ZONE"),
        (berlin(), ["--tz", "Europe/Berln"], 2,
         "unknown --tz 'Europe/Berln'; give a time zone name such as Europe/Berlin"),
        (without_second("2024-10-27 02:00,", berlin()), ["--tz", "Europe/Berlin"], 65,
         "time column 'time': 2024-10-27 02:00:00 in Europe/Berlin cannot be placed at the daylight-saving change "
         "(it is ambiguous)"),
        (berlin("2024-03-28 00:00", "2024-03-31 05:00").replace("2024-03-31 03:00,", "2024-03-31 02:00,"),
         ["--tz", "Europe/Berlin"], 65,
         "2024-03-31 02:00:00 in Europe/Berlin cannot be placed at the daylight-saving change (it does not exist)"),
        (german_daily(), ["--tz", "Europe/Berlin"], 2,
         "--tz Europe/Berlin: time column 'Datum' holds dates without a clock time, which need no zone; drop --tz"),
        (MACRO.read_text(), ["--target", "realgdp", "--tz", "Europe/Berlin"], 2,
         "--tz Europe/Berlin: the time built from year + quarter has no clock time; drop --tz"),
        ("t,v\n" + "".join(f"{i},{i % 3}\n" for i in range(40)), ["--time-col", "t", "--freq", "D", "--tz", "UTC"], 2,
         "--freq and --tz need a date/time column; this data's time is step numbers"),
        (berlin().replace("2024-10-25 10:00,", "2024-10-25 10:30,"), ["--tz", "Europe/Berlin", "--freq", "h"], 65,
         "time stamp 2024-10-25T10:30:00+02:00 (Friday) is not on the --freq h grid"),
    ],
    ids=["no-tz", "unknown-zone", "one-ambiguous-hour", "nonexistent-hour", "dates-only", "year-quarter", "steps",
         "off-grid-local"],
)  # fmt: skip
def test_bad_zones_are_refused(workdir, content, args, code, message):
    fit_refused(workdir, content, args, code, message)


def test_evaluate_without_new_rows_names_the_training_end_at_its_offset(tmp_path):
    data, model = tmp_path / "load.csv", tmp_path / "m.rnncast"
    data.write_text(berlin(end="2024-10-27 01:00"))
    fitted = run("fit", data, "--tz", "Europe/Berlin", "--seq-len", "24", "--horizon", "6", "--model", model, *TINY)
    assert fitted.exit_code == 0, fitted.stderr
    nothing = run("evaluate", data, "--model", model)
    assert nothing.exit_code == 65
    assert "no actual value to score after the model's training end (2024-10-27T01:00:00+02:00)" in nothing.stderr


def test_a_repeated_local_hour_under_tz_is_named_as_written_without_suggesting_tz(tmp_path):
    data = tmp_path / "load.csv"
    data.write_text(berlin().replace("2024-10-25 10:00,", "2024-10-25 09:00,"))
    refused = run("fit", data, "--tz", "Europe/Berlin", "--model", tmp_path / "m.rnncast", *TINY)
    assert refused.exit_code == 65 and refused.stderr.strip().splitlines() == [
        "Error: duplicate time stamp 2024-10-25T09:00:00+02:00 in 'time'; remove or aggregate repeated rows"
    ]


def test_daily_local_stamps_stay_daily_across_the_clock_change(tmp_path):
    """A reading at 06:00 local every day is 23 or 25 hours apart in UTC at a change: still a daily grid."""
    days = pd.date_range("2024-08-01 06:00", periods=120, freq="D")
    data, model = tmp_path / "daily.csv", tmp_path / "m.rnncast"
    data.write_text("time,load\n" + "".join(f"{d:%Y-%m-%d %H:%M},{50 + 10 * np.sin(i)}\n" for i, d in enumerate(days)))
    for freq in ([], ["--freq", "D"]):
        fitted = run("fit", data, "--tz", "Europe/Berlin", "--model", model, *freq, *TINY)
        assert fitted.exit_code == 0, fitted.stderr
        assert "frequency D" in fitted.stderr and "irregular" not in fitted.stderr
        out = run("forecast", "--model", model, "--format", "csv", "--horizon", "2")
        assert out.stdout.splitlines()[1:][0].startswith("2024-11-29T06:00:00+01:00,")
        assert out.stdout.splitlines()[2].startswith("2024-11-30T06:00:00+01:00,")
    assert read(data.read_text(), tz="Europe/Berlin").index[-1] == pd.Timestamp("2024-11-28 05:00")  # naive UTC
    lines = data.read_text().splitlines()
    gappy = read("\n".join(lines[:10] + lines[11:]) + "\n", tz="Europe/Berlin")  # 10 August missing
    assert gappy.freq == "D" and len(gappy) == 120  # still daily across the change, the missing day filled


def test_a_daily_local_forecast_keeps_its_hour_across_the_clock_change(tmp_path):
    days = pd.date_range("2024-07-01 06:00", periods=110, freq="D")  # ends 18 October: the horizon crosses the 27th
    data, model = tmp_path / "daily.csv", tmp_path / "m.rnncast"
    data.write_text("time,load\n" + "".join(f"{d:%Y-%m-%d %H:%M},{50 + 10 * np.sin(i)}\n" for i, d in enumerate(days)))
    fitted = run("fit", data, "--tz", "Europe/Berlin", "--horizon", "14", "--model", model, *TINY)
    assert fitted.exit_code == 0, fitted.stderr
    stamps = [
        line.split(",")[0] for line in run("forecast", "--model", model, "--format", "csv").stdout.splitlines()[1:]
    ]
    assert stamps[7:10] == ["2024-10-26T06:00:00+02:00", "2024-10-27T06:00:00+01:00", "2024-10-28T06:00:00+01:00"]


def test_calendar_inputs_follow_the_local_clock_across_the_change(tmp_path):
    """--calendar with --tz: the hour a meter reads 09:00 is hour 9 in summer and winter alike, not UTC's 7 or 8."""
    from rnncast import artifact, encoding, forecast

    s = read(berlin(start="2024-10-26 00:00", end="2024-10-28 00:00"), tz="Europe/Berlin")
    local = s.index.tz_localize("UTC").tz_convert("Europe/Berlin")
    rows = encoding.Inputs(["hour"], False, zone="Europe/Berlin").rows(np.zeros((len(s), 1)), s.index, 0)
    assert np.allclose(rows[:, 1], np.sin(2 * np.pi * local.hour / 24))
    nine = np.flatnonzero(local.hour == 9)  # 09:00+02:00 on the 26th, 09:00+01:00 on the 27th
    assert len(nine) == 2 and s.index[nine[0]].hour == 7 and s.index[nine[1]].hour == 8
    assert np.array_equal(rows[nine[0]], rows[nine[1]])
    data, model = tmp_path / "load.csv", tmp_path / "m.rnncast"
    data.write_text(berlin())
    fitted = run("fit", data, "--tz", "Europe/Berlin", "--calendar", "--seq-len", "24", "--horizon", "3",
                 "--model", model, *TINY)  # fmt: skip
    assert fitted.exit_code == 0, fitted.stderr
    assert forecast.model_inputs(artifact.load(model)).zone == "Europe/Berlin"  # forecast reads the same clock
    out = run("forecast", data, "--model", model, "--format", "csv")
    assert out.exit_code == 0 and len(pd.read_csv(io.StringIO(out.stdout))) == 3


def test_saved_context_stamps_of_a_daily_zoned_model_keep_the_local_clock(tmp_path):
    """A daily meter read at 09:00 Berlin time: the saved context's stamps (plot draws them) are 07:00 UTC
    before the clock change and 08:00 after, as the data's, not one UTC clock time throughout."""
    from rnncast import api, artifact, forecast

    local = pd.date_range("2024-09-15 09:00", periods=60, freq="D", tz="Europe/Berlin")
    data = tmp_path / "daily.csv"
    data.write_text("time,load\n" + "".join(f"{t:%Y-%m-%d %H:%M},{50 + i % 7}\n" for i, t in enumerate(local)))
    model = tmp_path / "m.rnncast"
    options = settings(
        ReadOptions(tz="Europe/Berlin"), windows=WindowConfig(seq_len=42, horizon=7), hidden_size=8, epochs=1
    )
    api.fit(data, options, model_path=model)
    context = forecast.saved_contexts(artifact.load(model), with_index=True)[0]
    expected = local[-42:].tz_convert("UTC").tz_localize(None)
    assert list(context.index) == list(expected)
    assert {t.hour for t in context.index} == {7, 8}


def test_rows_since_fit_within_one_week_continue_a_business_day_model(tmp_path):
    """Mon-Wed alone read as daily: the model's business-day grid decides whether they continue the training
    data (a Friday), not the frequency three rows infer; the forecast is the whole history's."""
    from conftest import ETTH1

    days = pd.read_csv(ETTH1, parse_dates=["date"]).set_index("date")["OT"].resample("D").mean()
    days = days[days.index.day_of_week < 5].iloc[:160].round(3)  # business days: fit infers B
    friday = int(np.flatnonzero(days.index.day_of_week == 4)[-2])  # a week before the end
    train, since = days.iloc[: friday + 1], days.iloc[friday + 1 : friday + 4]
    assert list(since.index.day_name()) == ["Monday", "Tuesday", "Wednesday"]
    train.to_csv(tmp_path / "train.csv")
    since.to_csv(tmp_path / "since.csv")
    pd.concat([train, since]).to_csv(tmp_path / "all.csv")
    model = tmp_path / "m.rnncast"
    fitted = run("fit", tmp_path / "train.csv", "--model", model, "--seq-len", "10", "--horizon", "5", *TINY)
    assert fitted.exit_code == 0, fitted.output
    few, whole = (
        run("forecast", tmp_path / name, "--model", model, "--format", "csv") for name in ("since.csv", "all.csv")
    )
    assert few.exit_code == 0, few.output
    assert few.stdout == whole.stdout and few.stdout.splitlines()[1].startswith(
        str(since.index[-1].date() + pd.Timedelta(days=1))
    )
    assert "Note: data has 3 row(s)" in few.stderr and "the 7 rows before them" in few.stderr


def test_month_names_beginning_in_may_read_as_the_short_names_they_are():
    """'May' is a full and a short month name alike: a first value 'May-1-2015' made pandas guess %B, which
    'Jun-1-2015' is not, and the column was refused as mixing formats (a cron job's rows from May on)."""
    s = reading.to_series(
        pd.read_csv(io.StringIO("DATE,v\nMay-1-2015,1\nJun-1-2015,2\nJul-1-2015,3\n")), reading.ReadOptions()
    )
    assert list(s.index) == list(pd.date_range("2015-05-01", periods=3, freq="MS")) and s.freq == "MS"
    with pytest.raises(DataError, match="mixes date formats: 'May-1-2015' .* but '2015-06-01'"):
        reading.to_series(pd.read_csv(io.StringIO("DATE,v\nMay-1-2015,1\n2015-06-01,2\nJul-1-2015,3\n")),
                          reading.ReadOptions())  # fmt: skip
