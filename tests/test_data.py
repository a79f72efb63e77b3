import io

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import ELEC, ETTH1, MACRO

from rnncast import reading, timeindex, windowing
from rnncast.errors import DataError, InputError, UsageError
from rnncast.settings import ReadOptions


def read(text: str, **opts) -> reading.Series:
    return reading.read_series(io.StringIO(text), ReadOptions(**opts))


def test_monthly_file_with_odd_dates_and_code_column_name():
    s = reading.read_series(ELEC, ReadOptions())
    assert s.time_col == "DATE" and s.freq == "MS"
    assert s.targets == ["STS.M.I7.W.TOVT.NS0016.4.000"]
    assert len(s) == 257
    assert s.index[0] == pd.Timestamp("1995-01-01") and s.index[-1] == pd.Timestamp("2016-05-01")
    assert s.values[0, 0] == pytest.approx(66.19)


def test_year_and_quarter_columns_become_a_quarterly_index():
    s = reading.read_series(MACRO, ReadOptions(targets=("realgdp",), features=("cpi", "unemp")))
    assert s.freq.startswith("QS")
    assert s.columns == ["realgdp", "cpi", "unemp"]
    assert s.index[1] == pd.Timestamp("1959-04-01")
    assert s.time_parts == ["year", "quarter"]
    assert any("year" in n and "quarter" in n for n in s.notes)
    assert s.values[0].tolist() == pytest.approx([2710.349, 28.98, 5.8])


def test_several_numeric_columns_need_a_target_and_the_error_lists_them():
    with pytest.raises(UsageError, match=r"realgdp, realcons.*--target"):
        reading.read_series(MACRO, ReadOptions())


def test_hourly_multivariate_file():
    s = reading.read_series(ETTH1, ReadOptions(targets=("OT",), features=("HUFL", "HULL")))
    assert s.freq == "h" and len(s) == 17420
    assert s.values[0, 0] == pytest.approx(30.5310001373291)


def test_rows_are_sorted_by_time_and_gaps_are_filled_on_the_grid():
    s = read("t,v\n2024-01-03,3\n2024-01-01,1\n2024-01-02,2\n2024-01-05,5\n2024-01-06,6\n")
    assert s.freq == "D"
    assert s.values[:, 0].tolist() == [1, 2, 3, 4, 5, 6]  # 01-04 added and interpolated
    assert any("missing" in n for n in s.notes)


def test_no_time_column_means_integer_steps():
    s = read("a\n1\n2\n3\n")
    assert s.time_col is None and s.freq is None and list(s.index) == [0, 1, 2]


def test_unknown_target_lists_the_columns():
    with pytest.raises(UsageError, match=r"--target 'x' is not a column; columns are: t, v"):
        read("t,v\n2024-01-01,1\n", targets=("x",))


def test_text_in_a_numeric_column_names_the_row():
    with pytest.raises(DataError, match=r"'oops' at data row 2"):
        read("v\n1\noops\n3\n", time_col="none", targets=("v",))


def test_duplicate_timestamps_are_refused():
    with pytest.raises(DataError, match="duplicate time stamp"):
        read("t,v\n2024-01-01,1\n2024-01-01,2\n2024-01-02,3\n")


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        reading.read_series(tmp_path / "nope.csv", ReadOptions())


def test_semicolon_delimiter_is_detected():
    s = read("t;v\n2024-01-01;1.5\n2024-01-02;2.5\n2024-01-03;3.5\n")
    assert s.values[:, 0].tolist() == [1.5, 2.5, 3.5]


@pytest.mark.parametrize(
    "freq,expected",
    [
        ("h", (24, 24, 96)),
        ("MS", (12, 12, 36)),
        ("QS-JAN", (4, 8, 16)),
        ("D", (7, 14, 56)),
        ("W-SUN", (52, 13, 104)),
        (None, (1, 10, 30)),
    ],
)
def test_defaults_follow_the_frequency(freq, expected):
    assert timeindex.freq_defaults(freq) == expected


def test_windows_are_views_with_the_right_contents():
    series = torch.arange(40, dtype=torch.float32).view(20, 2)  # (T=20, F=2)
    w = windowing.make_windows(series, seq_len=5, horizon=3, n_targets=1)
    assert w.x.shape == (13, 5, 2) and w.y.shape == (13, 3, 1)
    assert w.x.untyped_storage().data_ptr() == series.untyped_storage().data_ptr()  # no copy
    for i in (0, 7, 12):
        torch.testing.assert_close(w.x[i], series[i : i + 5])
        torch.testing.assert_close(w.y[i], series[i + 5 : i + 8, :1])


def test_original_windows_match_torch_windows():
    values = np.arange(60, dtype=float).reshape(30, 2)
    w = windowing.make_windows(torch.as_tensor(values), 6, 4, 2)
    np.testing.assert_array_equal(windowing.original_windows(values, 6, 5, 4), w.y[:5].numpy())
    np.testing.assert_array_equal(windowing.original_windows(values, 0, 5, 6), w.x[:5].numpy())


def test_split_keeps_validation_targets_out_of_training():
    split = windowing.plan_split(n_rows=100, seq_len=10, horizon=5, val_frac=0.2)
    last_train_target_row = split.n_train - 1 + split.seq_len + split.horizon - 1
    first_val_target_row = split.val_start + split.seq_len
    assert first_val_target_row == split.cut
    assert last_train_target_row < split.cut
    assert split.val_start + split.n_val - 1 + 10 + 5 - 1 == 99  # validation reaches the last row
    assert split.n_val == round(0.2 * 86)


def test_scaler_never_sees_validation_rows():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(200, 2))
    split = windowing.plan_split(len(values), 24, 12, 0.25)
    before = windowing.fit_scaling(values[: split.cut])
    poisoned = values.copy()
    poisoned[split.cut :] = 1e6  # validation targets: must not move the scaler
    after = windowing.fit_scaling(poisoned[: split.cut])
    np.testing.assert_array_equal(before.shift, after.shift)
    np.testing.assert_array_equal(before.scale, after.scale)
    assert before.shift == pytest.approx(values[: split.cut].mean(axis=0))


@pytest.mark.parametrize("kind", ["standard", "minmax", "robust"])
def test_scalings_round_trip_and_match_sklearn(kind):
    from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

    values = np.random.default_rng(1).gamma(2.0, size=(50, 3))
    s = windowing.fit_scaling(values, kind)
    ref = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}[kind]().fit(values)
    np.testing.assert_allclose(s.transform(values), ref.transform(values), atol=1e-12)
    np.testing.assert_allclose(s.inverse(s.transform(values)), values, atol=1e-12)


def test_constant_column_scales_without_dividing_by_zero():
    s = windowing.fit_scaling(np.full((10, 1), 7.0))
    assert s.transform(np.full((2, 1), 7.0)).tolist() == [[0.0], [0.0]]


def test_too_short_series_says_the_minimum_and_the_option():
    with pytest.raises(DataError, match=r"needs at least 58.*lower --seq-len or --horizon"):
        windowing.plan_split(40, 36, 11, 0.2)


def test_plain_number_check_looks_past_the_first_rows():
    numbers = pd.Series([str(i) for i in range(100)], dtype=object)
    assert timeindex.all_plain_numbers(numbers)
    assert not timeindex.all_plain_numbers(pd.concat([numbers, pd.Series(["2020-01-01"])], ignore_index=True))
    assert not timeindex.all_plain_numbers(pd.Series(["2020-01-01", "12"]))
    # a text column of numbers holds values, not time
    assert timeindex._parse_dates(numbers, "n") is None


def test_strict_refuses_gaps_and_irregular_time():
    gappy = "t,v\n" + "".join(f"2024-01-{d:02d},{d}\n" for d in range(1, 12) if d not in (3, 4))
    assert len(read(gappy)) == 11
    with pytest.raises(DataError, match=r"2 time step\(s\) missing on the D grid \(first 2024-01-03"):
        read(gappy, strict=True)
    irregular = "t,v\n2024-01-01 00:00,1\n2024-01-01 00:07,2\n2024-01-01 00:09,3\n2024-01-01 00:30,4\n"
    with pytest.raises(DataError, match="irregular"):
        read(irregular, strict=True)


def test_a_date_column_with_one_typo_is_refused_not_ignored():
    text = "t,v\n" + "".join(f"2024-01-{d:02d},{d}\n" for d in range(1, 10)) + "2024-01-1O,10\n"
    with pytest.raises(DataError, match=r"not a date: '2024-01-1O' at data row 10"):
        read(text)


def test_a_text_column_that_is_mostly_numbers_is_not_taken_for_dates():
    with pytest.raises(DataError, match=r"'v' holds 'x' at data row 1"):
        read("v\nx\n1\n2\n3\n4\n5\n")


def test_numbers_as_text_thousands_and_decimal_commas():
    assert reading._as_float(pd.Series(["1,234.5", " 2 ", None, "nan"]), "v").tolist()[:2] == [1234.5, 2.0]
    assert reading._as_float(pd.Series(["1.234,5", "12,25"]), "v").tolist() == [1234.5, 12.25]
    assert reading._as_float(pd.Series(["1,234", "12,345"]), "v").tolist() == [1234.0, 12345.0]


def test_scaling_to_float32_refuses_overflow_and_names_the_time():
    s = read("v\n1\n2\n1\n2\n1e30\n", time_col="none")
    scaling = windowing.fit_scaling(s.values[:4])
    with pytest.raises(DataError, match=r"column 'v' at 4 \(1e\+30\) is too far"):
        scaling.transform32(s)
    assert scaling.transform32(read("v\n1\n2\n", time_col="none")).dtype == np.float32


def test_a_column_named_date_is_refused_with_its_bad_value_rather_than_ignored():
    with pytest.raises(DataError, match=r"time column 'Date' has a value that is not a date: 'tbd' at data row 2"):
        read("Date,v\n2024-01-01,1\ntbd,2\n2024-01-03,3\n")
    s = read("code,v\n2024-01-01,1\ntbd,2\nxyz,3\n")  # any other name: too few dates to be the time
    assert s.time_col is None


def test_messages_write_time_stamps_in_one_form():
    assert timeindex.stamp(pd.Timestamp("2016-05-01")) == "2016-05-01"
    assert timeindex.stamp("2016-05-01T00:00:00") == "2016-05-01"
    assert timeindex.stamp(pd.Timestamp("2018-06-26 19:00")) == "2018-06-26T19:00:00"
    assert timeindex.stamp(17) == "17"
    # steps shorter than a day: midnight keeps its time, as an hourly output column writes it
    assert timeindex.stamp(pd.Timestamp("2024-01-06"), "h") == "2024-01-06T00:00:00"
    assert timeindex.stamp("2024-01-06", "15min") == "2024-01-06T00:00:00"
    for freq in ("D", "B", "W-SUN", "MS", None):
        assert timeindex.stamp(pd.Timestamp("2024-01-06"), freq) == "2024-01-06"


@pytest.mark.parametrize("kind", ["standard", "minmax", "robust"])
def test_scalers_fitted_together_equal_scikit_learns_bit_for_bit(kind):
    from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

    rng = np.random.default_rng(1)
    stacked = rng.normal(50, 20, (7 * 300, 3)) * rng.uniform(1e-3, 1e3, 3)
    blocks = [stacked[i * 300 : i * 300 + 290 - 40 * (i % 2)] for i in range(7)]  # views of two lengths
    blocks.append(np.full((290, 3), 7.0))  # constant columns
    for rows, got in zip(blocks, windowing.fit_scalings(blocks, kind), strict=True):
        if kind == "standard":
            s = StandardScaler().fit(rows)
            shift, scale = s.mean_, s.scale_
        elif kind == "minmax":
            s = MinMaxScaler().fit(rows)
            shift, scale = -s.min_ / s.scale_, 1.0 / s.scale_
        else:
            s = RobustScaler().fit(rows)
            shift, scale = s.center_, s.scale_
        assert np.array_equal(got.shift, shift) and np.array_equal(got.scale, np.where(scale > 0, scale, 1.0))
