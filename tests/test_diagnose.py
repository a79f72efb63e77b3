import io
import json

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from conftest import ELEC

from rnncast import artifact, diagnose
from rnncast.cli import cli
from rnncast.model import Forecaster, ModelConfig
from rnncast.windowing import make_windows

KEYS = {"cell", "grad_norm_by_lag", "effective_memory", "spectral_radius", "max_singular_value", "clip_rate",
        "grad_norm_p50", "grad_norm_p90", "grad_norm_p99", "grad_norm_max", "val_mse", "verdict"}  # fmt: skip
FAST = ["--seq-len", "24", "--horizon", "6", "--segment", "0", "--hidden-size", "8", "--epochs", "2",
        "--ensemble", "1", "--quiet"]  # fmt: skip


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_effective_memory_is_the_last_lag_at_one_percent_of_the_maximum():
    assert diagnose.effective_memory(np.array([1.0, 0.5, 0.02, 0.009, 0.011, 0.0])) == 5  # 0.011 >= 0.01
    assert diagnose.effective_memory(np.array([0.001, 1.0, 0.0])) == 2
    assert diagnose.effective_memory(np.zeros(4)) == 0


def test_an_rnn_without_recurrence_remembers_one_step():
    torch.manual_seed(0)
    model = Forecaster(ModelConfig(horizon=2, hidden_size=4, window_norm="none")).eval()
    with torch.no_grad():
        model.nets[0].rnn.weight_hh_l0.zero_()  # h_t depends on x_t only: the head sees the last point alone
    series = torch.sin(torch.arange(60.0))[:, None]
    by_lag = diagnose.grad_norm_by_lag(model, make_windows(series, 10, 2, 1))
    assert by_lag.shape == (10,) and by_lag[0] > 0 and (by_lag[1:] == 0).all()
    assert diagnose.effective_memory(by_lag) == 1
    assert diagnose.recurrent_spectra(model) == ([0.0], [0.0])


def test_a_highway_does_not_count_as_the_cells_memory():
    """The highway reads all 8 of the last 8 points directly; the cell without recurrence still remembers one."""
    torch.manual_seed(0)
    model = Forecaster(ModelConfig(horizon=2, hidden_size=4, window_norm="none", highway=8)).eval()
    with torch.no_grad():
        model.nets[0].rnn.weight_hh_l0.zero_()
        model.nets[0].highway.weight.fill_(0.5)
    series = torch.sin(torch.arange(60.0))[:, None]
    by_lag = diagnose.grad_norm_by_lag(model, make_windows(series, 10, 2, 1))
    assert by_lag[0] > 0 and (by_lag[1:] == 0).all()
    assert diagnose.effective_memory(by_lag) == 1


def test_spectra_of_the_elman_matrix_and_of_the_gru_candidate_block():
    rnn = Forecaster(ModelConfig(hidden_size=2, window_norm="none"))
    with torch.no_grad():
        rnn.nets[0].rnn.weight_hh_l0.copy_(torch.tensor([[0.0, 2.0], [0.5, 0.0]]))  # eigenvalues ±1, singular 2
    radius, sigma = diagnose.recurrent_spectra(rnn)
    assert radius[0] == pytest.approx(1.0) and sigma[0] == pytest.approx(2.0)
    gru = Forecaster(ModelConfig(hidden_size=2, cell="gru", window_norm="none"))
    with torch.no_grad():
        w = torch.zeros(6, 2)
        w[4:] = torch.diag(torch.tensor([0.3, -0.7]))  # the n block (rows 2H..3H)
        w[0, 0] = 3.0  # a gate block: in the singular value of the stack, not in the radius
        gru.nets[0].rnn.weight_hh_l0.copy_(w)
    radius, sigma = diagnose.recurrent_spectra(gru)
    assert radius[0] == pytest.approx(0.7) and sigma[0] == pytest.approx(np.hypot(3.0, 0.3))  # column 0: 3 and 0.3


def test_verdicts_say_what_part_of_the_window_is_used():
    assert (
        diagnose.verdict("rnn", 9, 96, 0, 0.0)
        == "rnn uses about the last 9 of 96 steps; try --cell gru or --segment 24"
    )
    assert diagnose.verdict("gru", 9, 96, 12, 0.0) == "gru uses about the last 9 of 96 steps; try --segment 24"
    assert diagnose.verdict("gru", 90, 96, 0, 0.0).startswith("gru uses the whole window (90 of 96 steps)")
    assert diagnose.verdict("lstm", 3, 4, 0, 0.9).endswith("clipping engaged on 90% of steps: try a lower --lr")


def test_a_cell_that_reads_only_the_windows_last_steps_is_judged_on_those():
    """--cell-len 96 of a 336-step window (the long hourly default): lags past 96 never reach the cell, so
    using all 96 is its whole reach, not "about the last 96 of 336 steps; try --cell gru"."""
    assert diagnose.verdict("rnn", 96, 336, 12, 0.0, 96) == (
        "rnn uses all of its part of the window (96 of the last 96 steps its cell reads with --cell-len 96); "
        "a longer --cell-len may help"
    )
    assert diagnose.verdict("gru", 60, 336, 12, 0.0, 96).endswith("its cell reads with --cell-len 96, most of them")
    assert diagnose.verdict("gru", 9, 336, 0, 0.0, 96) == (
        "gru uses about the last 9 of the last 96 steps its cell reads with --cell-len 96; try --segment 24"
    )
    assert diagnose.verdict("rnn", 9, 96, 0, 0.0, 96) == diagnose.verdict("rnn", 9, 96, 0, 0.0)  # the whole window


def test_diagnose_judges_a_cell_len_network_on_the_steps_its_cell_reads():
    fast = ["--seq-len", "48", *FAST[2:], "--highway", "48", "--cell-len", "12", "--format", "json"]
    (d,) = json.loads(run("diagnose", ELEC, *fast).stdout)
    assert len(d["grad_norm_by_lag"]) == 48 and not any(d["grad_norm_by_lag"][12:])  # the highway is left out
    assert 1 <= d["effective_memory"] <= 12 and "its cell reads with --cell-len 12" in d["verdict"], d["verdict"]


def test_diagnose_two_cells_as_json_csv_and_a_plot(tmp_path):
    png = tmp_path / "lags.png"
    result = run("diagnose", ELEC, "--cell", "rnn", "--cell", "gru", *FAST, "--format", "json", "--plot", png)
    assert result.exit_code == 0, result.stderr
    found = json.loads(result.stdout)
    assert [d["cell"] for d in found] == ["rnn", "gru"]
    for d in found:
        assert set(d) == KEYS
        assert len(d["grad_norm_by_lag"]) == 24 and 1 <= d["effective_memory"] <= 24
        assert d["grad_norm_by_lag"][d["effective_memory"] - 1] >= 0.01 * max(d["grad_norm_by_lag"])
        assert len(d["spectral_radius"]) == 1 and d["spectral_radius"][0] > 0
        assert 0 <= d["clip_rate"] <= 1 and d["grad_norm_p50"] <= d["grad_norm_max"] and d["val_mse"] > 0
        assert d["verdict"].startswith(f"{d['cell']} uses ")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000

    table = pd.read_csv(io.StringIO(run("diagnose", ELEC, *FAST, "--format", "csv").stdout))
    assert table["cell"].tolist() == ["rnn"]  # the default cell
    assert table["effective_memory"][0] == found[0]["effective_memory"]  # same seed, same fit
    assert len(table["grad_norm_by_lag"][0].split()) == 24


def test_diagnose_a_saved_model_on_new_data(elec_model, monkeypatch):
    monkeypatch.delenv("RNNCAST_DEVICE")  # the suite's --device cpu (conftest) would be refused with --model
    result = run("diagnose", ELEC, "--model", elec_model, "--format", "json")
    assert result.exit_code == 0, result.stderr
    (d,) = json.loads(result.stdout)
    assert set(d) == KEYS and d["cell"] == "rnn" and len(d["grad_norm_by_lag"]) == 36  # seq_len from the file
    assert d["clip_rate"] is not None and d["val_mse"] > 0
    table = run("diagnose", ELEC, "--model", elec_model, "--format", "table").stdout.splitlines()
    assert table[2].split() == ["cell", "memory", "radius", "sigma", "clipped", "norm", "p99", "val", "MSE"]
    assert table[4].split()[:2] == ["rnn", str(d["effective_memory"])] and table[-1] == d["verdict"]
    refused = run("diagnose", ELEC, "--model", elec_model, "--cell", "gru")
    assert refused.exit_code == 2 and refused.stderr.startswith("Error: --cell does not apply with --model")


def test_diagnose_and_plot_refuse_new_data_at_another_frequency_as_forecast_does(elec_model, tmp_path, monkeypatch):
    """The monthly sample restamped daily: forecast and evaluate refused it, while diagnose --model measured
    the model on daily windows and plot drew daily rows as the model's history, both without a word."""
    monkeypatch.delenv("RNNCAST_DEVICE")  # the suite's --device cpu would be refused with --model
    frame = pd.read_csv(ELEC)
    frame.iloc[:, 0] = pd.date_range("2000-01-01", periods=len(frame), freq="D").strftime("%Y-%m-%d")
    daily = tmp_path / "daily.csv"
    frame.to_csv(daily, index=False)
    message = "Error: data frequency D differs from the model's MS; resample or retrain\n"
    for args in (["diagnose", daily, "--model", elec_model], ["plot", daily, "--model", elec_model, "--output",
                                                              tmp_path / "p.png"]):  # fmt: skip
        refused = run(*args)
        assert refused.exit_code == 65 and refused.output == message, (args[0], refused.output)
    assert not (tmp_path / "p.png").exists()
    assert run("plot", ELEC, "--model", elec_model, "--output", tmp_path / "p.png").exit_code == 0  # monthly: drawn


def test_diagnose_reports_the_validation_mse_whatever_the_loss_and_never_refits(tmp_path):
    """--loss mae trains on MAE, but val_mse stays the network's validation MSE, the one fit's guard line
    prints; --refit changes nothing: diagnose saves no model, so it diagnoses the network it validated."""
    model = tmp_path / "mae.rnncast"
    assert run("fit", ELEC, *FAST, "--loss", "mae", "--model", model).exit_code == 0
    network = artifact.load(model).meta["guard"]["val_mse"]["network"]
    mae = run("diagnose", ELEC, *FAST, "--loss", "mae", "--format", "json")
    assert mae.exit_code == 0, mae.stderr
    (d,) = json.loads(mae.stdout)
    assert d["val_mse"] == pytest.approx(network, rel=1e-5)
    again = run("diagnose", ELEC, *FAST, "--loss", "mae", "--refit", "--format", "json")
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout) == [d]
