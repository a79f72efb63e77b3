import dataclasses

import numpy as np
import pytest
from conftest import ELEC

from rnncast import api, data
from rnncast.data import ReadOptions
from rnncast.model import ModelConfig
from rnncast.train import TrainConfig


def test_plan_fits_the_scaler_without_any_validation_value():
    series = data.read_series(ELEC, ReadOptions())
    plan = api.plan(series, api.WindowConfig())
    poisoned = dataclasses.replace(series, values=series.values.copy())
    poisoned.values[plan.split.cut :] *= 1000.0  # every validation target
    again = api.plan(poisoned, api.WindowConfig())
    np.testing.assert_array_equal(again.scaling.shift, plan.scaling.shift)
    np.testing.assert_array_equal(again.scaling.scale, plan.scaling.scale)
    assert plan.scaling.shift[0] == pytest.approx(series.values[: plan.split.cut, 0].mean())
    poisoned.values[plan.split.cut - 1] *= 1000.0  # the last training row does move it
    assert api.plan(poisoned, api.WindowConfig()).scaling.shift[0] != plan.scaling.shift[0]


def test_defaults_come_from_the_frequency_and_are_reported():
    plan = api.plan(data.read_series(ELEC, ReadOptions()), api.WindowConfig())
    assert (plan.seq_len, plan.horizon, plan.season) == (36, 12, 12)
    assert set(plan.chosen) == {"seq_len", "horizon", "season"}
    given = api.plan(data.read_series(ELEC, ReadOptions()), api.WindowConfig(seq_len=24, horizon=6, season=6))
    assert (given.seq_len, given.horizon, given.season) == (24, 6, 6) and given.chosen == {}


def test_same_seed_same_forecast_end_to_end(tmp_path):
    cfg = dict(model_cfg=ModelConfig(hidden_size=8), train_cfg=TrainConfig(epochs=3, seed=7, threads=1))
    api.fit(ELEC, model_path=tmp_path / "a.rnncast", **cfg)
    api.fit(ELEC, model_path=tmp_path / "b.rnncast", **cfg)
    a, _ = api.forecast_file(tmp_path / "a.rnncast")
    b, _ = api.forecast_file(tmp_path / "b.rnncast")
    np.testing.assert_array_equal(a.values, b.values)


def test_validation_scores_are_computed_on_the_validation_windows_in_original_units():
    result = api.fit(ELEC, model_cfg=ModelConfig(hidden_size=8), train_cfg=TrainConfig(epochs=2), model_path=None)
    p = result.plan
    values = p.series.values[:, 0]
    # naive: each validation window's last input value, repeated over the horizon
    errors = [
        np.abs(values[start + p.seq_len : start + p.seq_len + p.horizon] - values[start + p.seq_len - 1]).mean()
        for start in range(p.split.val_start, p.split.val_start + p.split.n_val)
    ]
    naive = next(s for s in result.scores if s.model == "naive")
    assert naive.mae == pytest.approx(np.mean(errors))
    rnn = next(s for s in result.scores if s.model == "rnn")
    residuals = result.artifact.val_residuals
    assert rnn.mae == pytest.approx(np.abs(residuals).mean(), rel=1e-5)


def test_auto_window_norm_starts_from_the_naive_forecast_that_wins_on_training_windows(tmp_path):
    seasonal = api.plan(data.read_series(ELEC, ReadOptions()), api.WindowConfig())
    assert seasonal.base == "season"  # monthly production: last year's month beats last month
    walk = np.cumsum(np.random.default_rng(0).normal(size=(400, 1)), axis=0)  # no cycle: repeat-last wins
    assert api.better_base(walk, 300, 48, 12, 24) == "last"
    assert api.better_base(walk, 300, 12, 6, 24) == "last"  # season longer than the window: not usable
    result = api.fit(ELEC, train_cfg=TrainConfig(epochs=1), model_path=tmp_path / "m.rnncast")
    assert result.artifact.meta["model"]["window_norm"] == "season"
    assert result.artifact.meta["model"]["season"] == 12
