import numpy as np
import pytest

from rnncast import metrics


def test_scores_match_hand_computation():
    actual = np.array([10.0, 20.0, 30.0, 40.0])
    pred = np.array([12.0, 18.0, 33.0, 40.0])
    s = metrics.score("m", "y", actual, pred, scale=2.0)
    assert s.mae == pytest.approx((2 + 2 + 3 + 0) / 4)
    assert s.rmse == pytest.approx(np.sqrt((4 + 4 + 9 + 0) / 4))
    assert s.pct_name == "MAPE"
    assert s.pct == pytest.approx(100 * (2 / 10 + 2 / 20 + 3 / 30 + 0) / 4)
    assert s.mase == pytest.approx(1.75 / 2.0)


def test_smape_replaces_mape_when_values_reach_zero():
    actual = np.array([-1.0, 0.0, 2.0])
    pred = np.array([1.0, 0.0, 1.0])
    s = metrics.score("m", "y", actual, pred, scale=1.0)
    assert s.pct_name == "sMAPE"
    assert s.pct == pytest.approx(100 * (2 * 2 / 2 + 0 + 2 * 1 / 3) / 3)


def test_mase_scale_is_the_in_sample_seasonal_naive_mae():
    history = np.array([[1.0], [2.0], [4.0], [7.0], [11.0]])
    assert metrics.mase_scale(history, season=2)[0] == pytest.approx(np.mean([3, 5, 7]))
    assert metrics.mase_scale(history, season=1)[0] == pytest.approx(np.mean([1, 2, 3, 4]))
    assert metrics.mase_scale(np.full((5, 1), 3.0), 1)[0] == 1.0  # constant: no division by zero


def test_naive_repeats_the_last_value():
    context = np.arange(12, dtype=float).reshape(2, 3, 2)  # (N=2, L=3, T=2)
    out = metrics.naive(context, 4)
    assert out.shape == (2, 4, 2)
    assert out[1, :, 0].tolist() == [10.0] * 4 and out[0, :, 1].tolist() == [5.0] * 4


def test_seasonal_naive_repeats_the_last_season():
    context = np.arange(8, dtype=float).reshape(1, 8, 1)  # 0..7, season 3 → last season 5, 6, 7
    out = metrics.seasonal_naive(context, horizon=7, season=3)
    assert out[0, :, 0].tolist() == [5, 6, 7, 5, 6, 7, 5]


def test_baselines_skip_seasonal_naive_when_the_window_is_shorter_than_the_season():
    context = np.zeros((1, 4, 1))
    assert list(metrics.baselines(context, 2, season=12)) == ["naive"]
    assert list(metrics.baselines(context, 2, season=3)) == ["naive", "seasonal naive (3)"]


def test_by_step_scores_all_steps_then_each_step_by_hand():
    actual = np.array([[10.0, 20.0], [30.0, 40.0], [50.0, 60.0]])  # (N=3, H=2)
    pred = np.array([[11.0, 18.0], [30.0, 44.0], [47.0, 60.0]])
    overall, step1, step2 = metrics.by_step("m", "y", actual, pred, 2.0, "MAPE")
    assert overall.mae == pytest.approx((1 + 2 + 0 + 4 + 3 + 0) / 6)
    assert step1.mae == pytest.approx((1 + 0 + 3) / 3)
    assert step2.mae == pytest.approx((2 + 4 + 0) / 3)
    assert step2.rmse == pytest.approx(np.sqrt((4 + 16 + 0) / 3))
    assert step1.pct == pytest.approx(100 * (1 / 10 + 0 + 3 / 50) / 3)
    assert step2.mase == pytest.approx(2.0 / 2.0)


def test_by_step_keeps_one_percentage_error_for_the_whole_target():
    actual = np.array([[0.0, 2.0], [1.0, 4.0]])  # step 1 reaches zero: sMAPE for every step
    pred = np.array([[1.0, 1.0], [1.0, 4.0]])
    assert metrics.uses_smape(actual)
    scores = metrics.by_step("m", "y", actual, pred, 1.0, "sMAPE")
    assert {s.pct_name for s in scores} == {"sMAPE"}
    assert scores[2].pct == pytest.approx(100 * (2 * 1 / 3 + 0) / 2)
