import numpy as np
import pandas as pd
import pytest
from conftest import ELEC, MACRO, settings

from rnncast import api, artifact
from rnncast import forecast as fc
from rnncast.errors import DataError, UsageError


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
