import io
import math

import numpy as np
import pandas as pd
import pytest
from conftest import settings

from rnncast import api, intervals
from rnncast.errors import DataError, UsageError
from rnncast.settings import ReadOptions, validate_levels


def test_half_width_is_the_finite_sample_conformal_quantile():
    residuals = np.arange(1.0, 20.0).reshape(19, 1, 1) * np.array([1, -1] * 9 + [1]).reshape(19, 1, 1)  # ±1 .. ±19
    # n = 19: 80% → k = ceil(20 × 0.8) = 16th smallest |r| = 16; 95% → k = 19 → 19
    assert intervals.half_widths(residuals, 80)[0, 0] == 16
    assert intervals.half_widths(residuals, 95)[0, 0] == 19
    assert intervals.half_widths(residuals, 50)[0, 0] == math.ceil(20 * 0.5)


def test_half_widths_are_per_step_and_target():
    rng = np.random.default_rng(0)
    residuals = rng.normal(size=(99, 3, 2)) * np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1)
    width = intervals.half_widths(residuals, 90)
    k = math.ceil(100 * 0.9)
    for h in range(3):
        for j in range(2):
            assert width[h, j] == np.sort(np.abs(residuals[:, h, j]))[k - 1]
    assert width[0, 0] < width[1, 0] < width[2, 0]


def test_adaptive_bounds_scale_with_the_window_volatility():
    residuals = np.array([1.0, -2.0, 3.0, -4.0]).reshape(4, 1, 1)
    val_scales = np.array([[1.0], [2.0], [1.0], [2.0]])  # scores |r|/s: 1, 1, 3, 2 → 50% (k=3): 2
    calm = np.array([[0.0], [1.0], [2.0]])  # mean |change| 1
    wild = np.array([[0.0], [3.0], [0.0]])  # mean |change| 3
    lo, hi = intervals.bounds(np.array([[10.0]]), residuals, 50, val_scales, calm)
    assert (lo[0, 0], hi[0, 0]) == (8.0, 12.0)
    lo, hi = intervals.bounds(np.array([[10.0]]), residuals, 50, val_scales, wild)
    assert (lo[0, 0], hi[0, 0]) == (4.0, 16.0)
    flat = np.zeros((3, 1))  # no change at all: the floor (0.1 × median validation scale) keeps a width
    lo, hi = intervals.bounds(np.array([[10.0]]), residuals, 50, val_scales, flat)
    assert hi[0, 0] - 10 == pytest.approx(2 * 0.1 * 1.5)


def test_the_windows_a_decimal_level_needs_are_counted_exactly():
    # 999 windows give 99.9% its rank (ceil(1000 x 0.999) = 999), but 100 / (100 - 99.9) is 1000.0000000000568 in
    # floating point: the message asked for 1000
    assert intervals.rank(999, 99.9) == 999
    with pytest.raises(UsageError, match="--level 99.9 needs at least 999 validation windows, the model has 998"):
        intervals.rank(998, 99.9)
    for level in (80, 90, 95, 97.5, 99, 99.9, 90.1):
        with pytest.raises(UsageError) as refused:
            intervals.rank(1, level)
        need = int(str(refused.value).split("needs at least ")[1].split()[0])
        assert intervals.rank(need, level) == need  # enough
        with pytest.raises(UsageError):  # and one fewer is not
            intervals.rank(need - 1, level)


def test_too_few_validation_windows_for_a_level_is_a_usage_error():
    with pytest.raises(UsageError, match="--level 99 needs at least 99 validation windows, the model has 10"):
        intervals.half_widths(np.ones((10, 1, 1)), 99)
    with pytest.raises(DataError, match="no validation residuals"):
        intervals.half_widths(np.zeros((0, 1, 1)), 80)


@pytest.mark.parametrize(
    "levels,message", [((0,), "between 0 and 100"), ((100,), "between 0 and 100"), ((80, 80), "twice")]
)
def test_bad_levels(levels, message):
    with pytest.raises(UsageError, match=message):
        validate_levels(levels)


@pytest.mark.parametrize(
    "fit_rows,eval_rows,val_frac",
    [
        (11520, 2880, 0.25),  # the ETTh1 benchmark split: validation [8640, 11520), test [11520, 14400)
        (3000, 1000, 0.2),  # a short history, scored on the next six weeks
    ],
)
def test_conformal_coverage_on_held_out_etth1(shared_data, tmp_path, fit_rows, eval_rows, val_frac):
    """Fit on the first rows of the real series; the intervals must cover later, unseen windows at nominal ±5."""
    frame = pd.read_csv(shared_data / "ett" / "ETTh1.csv", usecols=["date", "OT"])
    seq_len = 48
    model = tmp_path / "m.rnncast"
    api.fit(
        io.StringIO(frame.iloc[:fit_rows].to_csv(index=False)),
        settings(
            windows=api.WindowConfig(seq_len=seq_len, horizon=12, val_frac=val_frac),
            hidden_size=16,
            epochs=3,
            threads=1,
        ),
        model_path=model,
    )
    later = io.StringIO(frame.iloc[fit_rows - seq_len : fit_rows + eval_rows].to_csv(index=False))
    result = api.evaluate_file(model, later, ReadOptions(time_col="date"), levels=(80, 95))
    assert result.windows == eval_rows - 12 + 1  # every window whose targets are all after the training end
    assert result.coverage(80) == pytest.approx(80, abs=5)
    assert result.coverage(95) == pytest.approx(95, abs=5)
