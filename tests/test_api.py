import dataclasses

import numpy as np
import pytest
from conftest import ELEC, settings

from rnncast import api, collection, reading, windowing
from rnncast.settings import ReadOptions, WindowConfig


def plan_of(series, wc=None):
    """The plan of one series read on its own."""
    return windowing.plan(collection.Collection([""], [series]), wc or WindowConfig())


def test_plan_fits_the_scaler_without_any_validation_value():
    series = reading.read_series(ELEC, ReadOptions())
    (m,) = plan_of(series).members
    poisoned = dataclasses.replace(series, values=series.values.copy())
    poisoned.values[m.split.cut :] *= 1000.0  # every validation target
    (again,) = plan_of(poisoned).members
    np.testing.assert_array_equal(again.scaling.shift, m.scaling.shift)
    np.testing.assert_array_equal(again.scaling.scale, m.scaling.scale)
    assert m.scaling.shift[0] == pytest.approx(series.values[: m.split.cut, 0].mean())
    poisoned.values[m.split.cut - 1] *= 1000.0  # the last training row does move it
    assert plan_of(poisoned).members[0].scaling.shift[0] != m.scaling.shift[0]


def test_defaults_come_from_the_frequency_and_are_reported():
    plan = plan_of(reading.read_series(ELEC, ReadOptions()))
    assert (plan.seq_len, plan.horizon, plan.season) == (36, 12, 12)
    assert set(plan.chosen) == {"seq_len", "horizon", "season"}
    given = plan_of(reading.read_series(ELEC, ReadOptions()), WindowConfig(seq_len=24, horizon=6, season=6))
    assert (given.seq_len, given.horizon, given.season) == (24, 6, 6) and given.chosen == {}


def test_same_seed_same_forecast_end_to_end(tmp_path):
    cfg = settings(hidden_size=8, epochs=3, seed=7, threads=1)
    api.fit(ELEC, cfg, model_path=tmp_path / "a.rnncast")
    api.fit(ELEC, cfg, model_path=tmp_path / "b.rnncast")
    a, _ = api.forecast_file(tmp_path / "a.rnncast")
    b, _ = api.forecast_file(tmp_path / "b.rnncast")
    np.testing.assert_array_equal(a.values, b.values)


def test_validation_scores_are_computed_on_the_validation_windows_in_original_units():
    result = api.fit(ELEC, settings(hidden_size=8, epochs=2), model_path=None)
    p = result.plan
    (m,) = p.members
    values = m.series.values[:, 0]
    # naive: each validation window's last input value, repeated over the horizon
    errors = [
        np.abs(values[start + p.seq_len : start + p.seq_len + p.horizon] - values[start + p.seq_len - 1]).mean()
        for start in range(m.split.val_start, m.split.val_start + m.split.n_val)
    ]
    naive = next(s for _, s in result.scores if s.model == "naive")
    assert naive.mae == pytest.approx(np.mean(errors))
    rnn = next(s for _, s in result.scores if s.model == "rnn")
    residuals = result.artifact.val_residuals
    assert rnn.mae == pytest.approx(np.abs(residuals).mean(), rel=1e-5)


def test_auto_window_norm_starts_from_the_naive_forecast_that_wins_on_training_windows(tmp_path):
    seasonal = plan_of(reading.read_series(ELEC, ReadOptions()))
    assert seasonal.base == "season"  # monthly production: last year's month beats last month
    walk = np.cumsum(np.random.default_rng(0).normal(size=(400, 1)), axis=0)  # no cycle: repeat-last wins
    member = windowing.Member("", None, windowing.Split(48, 12, 359, 300, 30), None)
    member.series = reading.Series(walk, np.arange(400), ["y"], [], None, None)
    assert windowing.better_base([member], 48, 12, 24) == "last"
    assert windowing.better_base([member], 12, 6, 24) == "last"  # season longer than the window: not usable
    result = api.fit(ELEC, settings(epochs=1), model_path=tmp_path / "m.rnncast")
    assert result.artifact.meta["model"]["window_norm"] == "season"
    assert result.artifact.meta["model"]["season"] == 12
