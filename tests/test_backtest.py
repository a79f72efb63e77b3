from dataclasses import replace

import numpy as np
import pytest
from conftest import BACKTEST_COLUMNS, ELEC, settings

from rnncast import api, collection, evaluation, reading
from rnncast.errors import DataError
from rnncast.settings import ReadOptions, WindowConfig


def tiny(**windows):
    return settings(windows=WindowConfig(**windows), hidden_size=8, epochs=2, threads=1)


def one(series):
    return collection.Collection([""], [series])


@pytest.fixture(scope="module")
def elec_backtest():
    series = reading.read_series(ELEC, ReadOptions())
    result = evaluation.backtest(one(series), tiny(horizon=6), folds=3, levels=(80, 95))
    return series, result


def test_backtest_scores_the_last_folds_against_hand_computed_baselines(elec_backtest):
    series, result = elec_backtest
    values = series.values[:, 0]
    n = len(values)  # 257 months; folds forecast rows 239..244, 245..250, 251..256
    expected = np.stack([values[o : o + 6] for o in (n - 18, n - 12, n - 6)])
    assert np.array_equal(result.actual[..., 0], expected)
    naive = np.stack([np.repeat(values[o - 1], 6) for o in (n - 18, n - 12, n - 6)])
    seasonal = np.stack([values[o - 12 : o - 6] for o in (n - 18, n - 12, n - 6)])
    assert np.array_equal(result.forecasts["naive"][..., 0], naive)
    assert np.array_equal(result.forecasts["seasonal naive (12)"][..., 0], seasonal)
    first = n - 18
    scale = np.abs(values[12:first] - values[: first - 12]).mean()  # in-sample seasonal-naive MAE before fold 1

    frame = result.frame()
    row = frame[(frame.step == "all") & (frame.model == "seasonal naive (12)")].iloc[0]
    assert row.MAE == pytest.approx(np.abs(seasonal - expected).mean())
    assert row.RMSE == pytest.approx(np.sqrt(((seasonal - expected) ** 2).mean()))
    assert row.MAPE == pytest.approx(100 * (np.abs(seasonal - expected) / expected).mean())
    assert row.MASE == pytest.approx(np.abs(seasonal - expected).mean() / scale)
    step3 = frame[(frame.step == 3) & (frame.model == "naive")].iloc[0]
    assert step3.MAE == pytest.approx(np.abs(naive[:, 2] - expected[:, 2]).mean())


def test_backtest_table_has_every_step_for_every_model_and_coverage_for_the_network(elec_backtest):
    _, result = elec_backtest
    frame = result.frame()
    assert list(frame.columns) == BACKTEST_COLUMNS
    assert frame.step.tolist()[:6] == ["all", "all", "all", 1, 1, 1]
    assert len(frame) == 3 * (1 + 6)
    rnn = frame[frame.model == "rnn"]
    assert frame[frame.model != "rnn"].coverage_80.isna().all()
    lower, upper = result.bounds[80]
    inside = (result.actual >= lower) & (result.actual <= upper)
    assert rnn.coverage_80.iloc[0] == pytest.approx(100 * inside.mean())
    assert (rnn.coverage_95.to_numpy() >= rnn.coverage_80.to_numpy()).all()  # wider intervals cover more
    assert ((upper - lower) > 0).all()


def test_backtest_refits_on_rows_before_each_origin_only(monkeypatch):
    """Each fold's network sees no row at or after its origin: the honest (refit) backtest."""
    series = reading.read_series(ELEC, ReadOptions())
    seen = []
    real = evaluation.fit_plan
    monkeypatch.setattr(evaluation, "fit_plan", lambda p, *a, **k: seen.append(len(p.first)) or real(p, *a, **k))
    evaluation.backtest(one(series), tiny(horizon=4), folds=2, levels=(80,))
    assert seen == [len(series) - 8, len(series) - 4]


def test_with_refit_a_folds_seconds_and_epochs_count_the_refit_too(monkeypatch):
    """--refit trains each fold's network a second time; the fold line said only the first run's seconds."""
    series = reading.read_series(ELEC, ReadOptions())
    results, folds = [], []
    real = evaluation.fit_plan
    monkeypatch.setattr(evaluation, "fit_plan", lambda *a, **k: results.append(real(*a, **k)) or results[-1])
    s = tiny(horizon=4)
    evaluation.backtest(one(series), replace(s, train=replace(s.train, refit=True)), folds=2, levels=(80,),
                        on_fold=lambda i, fold: folds.append(fold))  # fmt: skip
    assert len(folds) == 2 and all(r.refit is not None for r in results)
    for fold, r in zip(folds, results, strict=True):
        assert fold.seconds == r.training.seconds + r.refit.seconds and r.refit.seconds > 0
        assert fold.epochs == r.training.epochs_run and fold.refit_epochs == r.refit.epochs_run >= 1
    plain = []
    evaluation.backtest(one(series), s, folds=1, levels=(80,), on_fold=lambda i, fold: plain.append(fold))
    assert plain[0].refit_epochs is None


def test_too_many_folds_is_a_data_error():
    series = reading.read_series(ELEC, ReadOptions())
    with pytest.raises(DataError, match="too few for 100 folds of horizon 12; lower --folds or --horizon"):
        evaluation.backtest(one(series), tiny(), folds=100)


def test_evaluate_scores_only_windows_after_the_training_end(tmp_path):
    lines = ELEC.read_text().splitlines()
    train_csv, all_csv = tmp_path / "train.csv", tmp_path / "all.csv"
    train_csv.write_text("\n".join(lines[:-20]) + "\n")  # 237 months
    all_csv.write_text("\n".join(lines) + "\n")
    model = tmp_path / "m.rnncast"
    api.fit(train_csv, tiny(horizon=6), model_path=model)
    result = api.evaluate_file(model, all_csv, levels=(80,))
    values = reading.read_series(ELEC, ReadOptions()).values[:, 0]
    assert result.windows == 20 - 6 + 1
    assert np.array_equal(result.actual[0, :, 0], values[237:243])  # the first window starts right after training
    assert np.array_equal(result.forecasts["naive"][0, :, 0], np.repeat(values[236], 6))
    every = api.evaluate_file(model, all_csv, levels=(80,), every=True)
    assert every.windows == 257 - 36 - 6 + 1
    with pytest.raises(DataError, match="no actual value to score"):
        api.evaluate_file(model, train_csv)
    exactly_inputs = tmp_path / "inputs.csv"  # 36 rows: the window's inputs and no actual value after them
    exactly_inputs.write_text("\n".join(lines[:1] + lines[-36:]) + "\n")
    with pytest.raises(DataError) as refused:
        api.evaluate_file(model, exactly_inputs, every=True)
    assert str(refused.value) == (
        "the data has no complete window to score: --all-windows needs 36 rows of inputs and at least one actual "
        "value after them; give a longer history"
    )
    # only the 20 rows since fit: the first windows' inputs are the training rows saved in the model
    new_csv = tmp_path / "new.csv"
    new_csv.write_text("\n".join(lines[:1] + lines[-20:]) + "\n")
    only_new = api.evaluate_file(model, new_csv, levels=(80,))
    assert only_new.windows == result.windows and only_new.predictions().equals(result.predictions())
    np.testing.assert_array_equal(only_new.scale, result.scale)
    for name in result.forecasts:
        np.testing.assert_array_equal(only_new.forecasts[name], result.forecasts[name])
    assert result.summary == "scored 15 window(s) with targets from 2014-10-01 to 2016-05-01"
    assert only_new.summary == result.summary + (
        "; the inputs before the data's first row include the training rows saved in the model"
    )


def test_evaluate_fills_a_month_missing_right_after_the_training_end_as_the_whole_history(tmp_path):
    """Rows since fit that start a month late (October 2014 missing): the month is added and filled behind the
    saved rows, and every score is the whole history's with that month missing."""
    lines = ELEC.read_text().splitlines()
    train_csv, new_csv, whole_csv, model = (tmp_path / n for n in ("train.csv", "new.csv", "whole.csv", "m.rnncast"))
    train_csv.write_text("\n".join(lines[:-20]) + "\n")  # to 2014-09-01
    new_csv.write_text("\n".join(lines[:1] + lines[-19:]) + "\n")  # from 2014-11-01
    whole_csv.write_text("\n".join(lines[:-20] + lines[-19:]) + "\n")
    api.fit(train_csv, tiny(horizon=6), model_path=model)
    since, whole = api.evaluate_file(model, new_csv, levels=(80,)), api.evaluate_file(model, whole_csv, levels=(80,))
    assert since.windows == whole.windows == 20 - 6 + 1  # the month added: windows from 2014-10 on
    assert since.predictions().equals(whole.predictions())
    assert "1 missing time step(s) added on the MS grid and filled" in since.notes


@pytest.mark.parametrize(
    "rows", [slice(-5, None), slice(-30, -22)], ids=["a-long-gap-after-the-end", "ending-before-it"]
)
def test_evaluate_refuses_rows_that_do_not_continue_the_training_data_saying_where_they_must_start(tmp_path, rows):
    """Fewer rows than the window that do not continue the training end (a gap after it longer than --fill fills,
    or stale rows that end before it): counted as given, with the step that rows since fit must start from; --all-windows reads none."""
    lines = ELEC.read_text().splitlines()
    train_csv, new_csv, model = tmp_path / "train.csv", tmp_path / "new.csv", tmp_path / "m.rnncast"
    train_csv.write_text("\n".join(lines[:-20]) + "\n")  # to 2014-09-01
    new_csv.write_text("\n".join(lines[:1] + lines[rows]) + "\n")
    api.fit(train_csv, tiny(horizon=6), model_path=model)
    count, needs = len(lines[rows]), "the model needs the last 36; give a longer history"
    with pytest.raises(DataError) as refused:
        api.evaluate_file(model, new_csv, levels=(80,))
    assert str(refused.value) == (
        f"data has {count} rows; {needs}, or rows that continue the training data (from 2014-10-01 on)"
    )
    with pytest.raises(DataError) as every:
        api.evaluate_file(model, new_csv, levels=(80,), every=True)
    assert str(every.value) == f"data has {count} rows; {needs}"
