"""Fitting: the guard that blends the network with the naive forecast, and what fit says when a baseline wins."""

import io
import json

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from conftest import ELEC, ETTH1, MACRO, TINY, settings

from rnncast import api, artifact, collection, fitting, train
from rnncast.cli import cli
from rnncast.settings import Layout, ReadOptions, WindowConfig


def test_closed_form_alpha_is_the_least_squares_weight_clipped_to_0_1():
    rng = np.random.default_rng(0)
    actual = rng.normal(size=(50, 3, 1))
    base = np.zeros_like(actual)
    assert fitting.closed_form_alpha(actual, actual, base) == pytest.approx(np.ones((3, 1)))  # perfect network
    assert fitting.closed_form_alpha(actual, -actual, base) == pytest.approx(np.zeros((3, 1)))  # anti-correlated
    half = fitting.closed_form_alpha(actual, 2 * actual, base)  # twice too large: halve it
    assert half == pytest.approx(np.full((3, 1), 0.5))
    noisy = actual + rng.normal(size=actual.shape)
    alpha = fitting.closed_form_alpha(actual, noisy, base)
    for a in (alpha - 0.05, alpha + 0.05):  # a least-squares minimum in [0, 1]
        assert ((actual - a * noisy) ** 2).sum(axis=0).min() >= ((actual - alpha * noisy) ** 2).sum(axis=0).min()


def test_with_many_series_every_series_counts_alike_in_the_guard_however_large_its_errors():
    """Series A: 400 windows, its errors 100 times larger, the network's correction there unrelated noise;
    series B: 40 windows where the network is exact. Pooled, A's windows set the weight; weighted, each
    series' relative error counts once, as in a mean of per-series scores."""
    rng = np.random.default_rng(0)
    actual = np.concatenate([100 * rng.normal(size=(400, 2, 1)), rng.normal(size=(40, 2, 1))])
    base = np.zeros_like(actual)
    net = np.concatenate([100 * rng.normal(size=(400, 2, 1)), actual[400:]])  # A: noise; B: exact
    owner = np.repeat([0, 1], [400, 40])
    weight = fitting.series_weights(actual, base, owner)
    base_error = weight * ((actual - base) ** 2).mean(axis=(1, 2))
    assert base_error[:400].sum() == pytest.approx(1) and base_error[400:].sum() == pytest.approx(1)  # one share each
    assert (fitting.closed_form_alpha(actual, net, base) < 0.1).all()  # pooled: series A decides
    alpha = fitting.closed_form_alpha(actual, net, base, weight)
    assert ((0.4 < alpha) & (alpha < 0.6)).all()  # weighted: A pulls to 0, B to 1, alike
    one = fitting.series_weights(actual, base, np.zeros(440, dtype=int))  # one series: equal weights, as unweighted
    assert fitting.closed_form_alpha(actual, net, base, one) == pytest.approx(
        fitting.closed_form_alpha(actual, net, base)
    )


def test_the_guarded_model_is_never_worse_than_its_base_on_the_windows_alpha_was_fitted_on():
    result = api.fit(ELEC, settings(hidden_size=8, epochs=3, ensemble=1), model_path=None)
    guard = result.artifact.meta["guard"]
    assert guard["base"] in ("last", "season") and result.artifact.meta["model"]["guard"] == guard["base"]
    alpha = np.asarray(guard["alpha"])
    assert alpha.shape == (12, 1) and ((0 <= alpha) & (alpha <= 1)).all()
    # the metrics fit prints are scored with the weights of the other half: honest, not the in-sample fit
    assert guard["val_mse"]["guarded"] != pytest.approx(guard["val_mse"]["network"])


def test_fit_says_so_when_a_baseline_still_wins(tmp_path):
    """A noiseless yearly cycle: repeating last year is exact, and no network matches it."""
    dates = pd.date_range("2000-01-01", periods=120, freq="MS")
    values = 100 + 10 * np.sin(2 * np.pi * np.arange(120) / 12)
    (tmp_path / "cycle.csv").write_text(pd.DataFrame({"date": dates, "v": values.round(6)}).to_csv(index=False))
    result = CliRunner().invoke(
        cli, ["fit", str(tmp_path / "cycle.csv"), "--model", str(tmp_path / "m.rnncast"), "--epochs", "2",
              "--hidden-size", "4", "--ensemble", "1", "--format", "csv"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if line.startswith("Note:")]
    assert len(notes) == 1 and "seasonal naive (12) beats the network on the validation windows of 'v'" in notes[0]
    assert "try --refit (and compare with `rnncast backtest --refit`), --ensemble 5" in notes[0]
    scores = pd.read_csv(io.StringIO(result.stdout)).set_index("model")
    assert scores.loc["seasonal naive (12)", "MASE"] < scores.loc["rnn", "MASE"]


def test_epochs_and_patience_follow_the_data_size_unless_given():
    small = train.resolve(train.TrainConfig(), n_windows=157)  # monthly sample: 3 batches an epoch
    assert (small.epochs, small.patience) == (667, 67)
    large = train.resolve(train.TrainConfig(), n_windows=100_000)
    assert (large.epochs, large.patience) == (100, 10)
    given = train.resolve(train.TrainConfig(epochs=5, patience=2), n_windows=157)
    assert (given.epochs, given.patience) == (5, 2)


def test_a_cuda_gpu_gets_large_batches_on_large_data_only():
    """resolve reads only the device's type, so the GPU defaults are tested without a GPU."""
    import torch

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    on_cpu = train.resolve(train.TrainConfig(), 20_000, cpu)
    assert (on_cpu.batch_size, on_cpu.lr, on_cpu.epochs, on_cpu.patience) == (64, 1e-3, 100, 10)
    on_gpu = train.resolve(train.TrainConfig(), 20_000, cuda)  # 20 batches an epoch
    assert (on_gpu.batch_size, on_gpu.lr, on_gpu.epochs, on_gpu.patience) == (1024, 4e-3, 100, 10)
    small = train.resolve(train.TrainConfig(), 157, cuda)
    assert (small.batch_size, small.lr) == (64, 1e-3)
    assert train.resolve(train.TrainConfig(batch_size=256), 20_000, cuda).lr == 1e-3  # the user's batch: plain lr
    chosen = train.resolve(train.TrainConfig(lr=0.01), 20_000, cuda)
    assert (chosen.batch_size, chosen.lr) == (1024, 0.01)


def test_small_data_gets_an_ensemble_and_windows_get_segments_by_default():
    assert fitting.default_ensemble(157) == 5 and fitting.default_ensemble(50_000) == 1
    # one series gets members up to 10,000 windows (ETTh1/ETTh2's ~8,000: docs/accuracy.md); many series up to 5,000
    assert fitting.default_ensemble(8_000, many=False) == 5 and fitting.default_ensemble(8_000, many=True) == 1
    assert fitting.default_ensemble(10_001, many=False) == 1
    assert fitting.default_segment(96) == 12 and fitting.default_segment(36) == 4 and fitting.default_segment(15) == 0
    result = api.fit(ELEC, settings(hidden_size=4, epochs=1), model_path=None)
    model = result.artifact.meta["model"]
    assert (model["segment"], model["ensemble"]) == (4, 5)


def test_a_weak_network_falls_back_to_the_naive_forecast_rather_than_a_worse_blend():
    """Two epochs of a tiny network on the monthly sample: the blend lost to seasonal naive on the windows
    its weights had not seen, so the model keeps the naive forecast (alpha 0) and says so in its scores."""
    result = api.fit(ELEC, settings(hidden_size=8, epochs=2, ensemble=1), model_path=None)
    guard = result.artifact.meta["guard"]
    mse = guard["val_mse"]
    if mse["guarded"] > mse["base"]:
        assert not np.asarray(guard["alpha"]).any()
    scores = {s.model: s for _, s in result.scores}
    best_naive = min(scores["naive"].mase, scores["seasonal naive (12)"].mase)
    assert scores["rnn"].mase <= best_naive + 1e-9  # never silently worse than the better naive forecast


def test_a_highway_is_fitted_once_kept_through_training_and_shown(tmp_path):
    """--highway 24 on the monthly sample: every member holds the same least-squares map after training (it is
    frozen), the file is format 3 (older rnncast says upgrade), `info` shows it and the model forecasts."""
    model = tmp_path / "hw.rnncast"
    runner = CliRunner()
    fit = runner.invoke(cli, ["fit", str(ELEC), "--model", str(model), *TINY, "--highway", "24"])
    assert fit.exit_code == 0, fit.output
    assert "a 24-step highway" in fit.stderr
    art = artifact.load(model)
    assert art.meta["model"]["highway"] == 24 and art.meta["format_version"] == 3
    members = [art.state_dict[f"nets.{k}.highway.weight"] for k in range(art.meta["model"]["ensemble"])]
    assert len(members) == 5 and members[0].shape == (12, 24) and members[0].abs().sum() > 0
    assert all(torch.equal(w, members[0]) for w in members)  # trained members of their own, one frozen map
    card = json.loads(runner.invoke(cli, ["info", "--model", str(model), "--format", "json"]).output)
    assert card["highway"] == 24
    forecast = runner.invoke(cli, ["forecast", "--model", str(model), "--format", "csv"])
    assert forecast.exit_code == 0, forecast.output
    assert len(pd.read_csv(io.StringIO(forecast.stdout))) == 12
    plain = tmp_path / "plain.rnncast"
    no_highway = ["--ensemble", "1", "--highway", "0"]  # a monthly series gets one by default
    assert runner.invoke(cli, ["fit", str(ELEC), "--model", str(plain), *TINY, *no_highway]).exit_code == 0
    assert "highway" not in artifact.load(plain).meta["model"] and artifact.load(plain).meta["format_version"] == 2


@pytest.mark.parametrize("value,message", [("37", "--highway 37 reads more steps than the window"), ("-1", "-1")])
def test_a_highway_longer_than_the_window_or_negative_is_refused(tmp_path, value, message):
    model = tmp_path / "hw.rnncast"
    out = CliRunner().invoke(
        cli, ["fit", str(ELEC), "--model", str(model), *TINY, "--seq-len", "36", "--highway", value]
    )
    assert out.exit_code == 2 and message in out.output and not model.exists()


def test_cell_len_puts_a_long_highway_beside_a_short_cell_in_a_format_4_file(tmp_path):
    """--seq-len 48 --highway 48 --cell-len 24 on the monthly sample: the window holds 48 months, the cell
    steps over segments of the last 24 (default segment 24 // 8), the file is format 4 (an rnncast reading up
    to format 3 refuses it), `info` and fit's line say it, and the model forecasts from new data too."""
    model = tmp_path / "cl.rnncast"
    runner = CliRunner()
    args = ["fit", str(ELEC), "--model", str(model), *TINY, "--seq-len", "48", "--highway", "48", "--cell-len", "24"]
    fit = runner.invoke(cli, args)
    assert fit.exit_code == 0, fit.output
    assert "3-point segments, the cell over the last 24 steps" in fit.stderr and "a 48-step highway" in fit.stderr
    art = artifact.load(model)
    assert art.meta["model"]["cell_len"] == 24 and art.meta["model"]["segment"] == 3
    assert art.meta["model_seq_len"] == 48 and art.meta["format_version"] == 4
    assert art.state_dict["nets.0.embed_segment.weight"].shape[1] == 3  # one segment of 3 points per step
    card = json.loads(runner.invoke(cli, ["info", "--model", str(model), "--format", "json"]).output)
    assert (card["seq_len"], card["cell_len"], card["highway"]) == (48, 24, 48)
    saved = pd.read_csv(io.StringIO(runner.invoke(cli, ["forecast", "--model", str(model), "--format", "csv"]).stdout))
    again = runner.invoke(cli, ["forecast", str(ELEC), "--model", str(model), "--format", "csv"])
    assert len(saved) == 12 and np.allclose(pd.read_csv(io.StringIO(again.stdout)).iloc[:, 1], saved.iloc[:, 1])


def test_highway_members_mixes_members_with_and_without_the_highway_in_a_format_5_file(tmp_path):
    """--ensemble 4 --highway 24 --highway-members 2: the first two members hold the frozen least-squares map,
    the other two none; the file is format 5 (older rnncast refuses it), fit's line and `info` say it, and the
    model forecasts the same from the file as from its training data."""
    model = tmp_path / "hm.rnncast"
    runner = CliRunner()
    args = ["fit", str(ELEC), "--model", str(model), *TINY, "--ensemble", "4", "--highway", "24"]
    fit = runner.invoke(cli, [*args, "--highway-members", "2"])
    assert fit.exit_code == 0, fit.output
    assert "4 rnn members" in fit.stderr and "a 24-step highway in 2 of them" in fit.stderr
    art = artifact.load(model)
    assert art.meta["model"]["highway_members"] == 2 and art.meta["format_version"] == 5
    assert torch.equal(art.state_dict["nets.0.highway.weight"], art.state_dict["nets.1.highway.weight"])
    assert "nets.2.highway.weight" not in art.state_dict and "nets.3.highway.bias" not in art.state_dict
    card = json.loads(runner.invoke(cli, ["info", "--model", str(model), "--format", "json"]).output)
    assert (card["ensemble"], card["highway"], card["highway_members"]) == (4, 24, 2)
    saved = pd.read_csv(io.StringIO(runner.invoke(cli, ["forecast", "--model", str(model), "--format", "csv"]).stdout))
    again = runner.invoke(cli, ["forecast", str(ELEC), "--model", str(model), "--format", "csv"])
    assert len(saved) == 12 and np.allclose(pd.read_csv(io.StringIO(again.stdout)).iloc[:, 1], saved.iloc[:, 1])
    every = tmp_path / "all.rnncast"  # as many members as the ensemble: every member, the format of before
    assert runner.invoke(cli, [*args[:3], str(every), *args[4:], "--highway-members", "4"]).exit_code == 0
    assert (
        "highway_members" not in artifact.load(every).meta["model"] and artifact.load(every).meta["format_version"] == 3
    )


@pytest.mark.parametrize(
    "args,message",
    [
        (["--ensemble", "2", "--highway-members", "3"], "--highway-members 3 is more than the --ensemble 2 members"),
        (["--highway", "0", "--highway-members", "1"], "--highway-members needs a highway; leave out --highway 0"),
        (["--ensemble", "1", "--highway-members", "2"], "--highway-members 2 is more than the --ensemble 1 members"),
        (["--highway-members", "0"], "Invalid value for '--highway-members': 0 is not in the range x>=1"),
    ],
)
def test_highway_members_that_the_ensemble_or_the_highway_cannot_hold_are_refused(tmp_path, args, message):
    model = tmp_path / "hm.rnncast"
    out = CliRunner().invoke(cli, ["fit", str(ELEC), "--model", str(model), *TINY, *args])
    assert out.exit_code == 2 and message in out.output and not model.exists(), out.output


def test_highway_members_on_data_whose_defaults_give_no_highway_or_fewer_members_are_refused(tmp_path):
    """The default ensemble and highway are known only once the data is read: said then, with the option to add."""
    model = tmp_path / "hm.rnncast"
    quarterly = ["fit", str(MACRO), "--target", "realgdp", "--model", str(model), *TINY, "--highway-members", "2"]
    refused = CliRunner().invoke(cli, quarterly)  # quarterly: no highway by default
    assert refused.exit_code == 2 and "--highway-members needs a highway, and this model has none" in refused.output
    many = CliRunner().invoke(cli, ["fit", str(ELEC), "--model", str(model), *TINY, "--highway-members", "6"])
    assert many.exit_code == 2 and "is more than the ensemble's 5 members (the default for this data)" in many.output
    assert not model.exists()


@pytest.mark.parametrize(
    "args,message",
    [
        (
            ["--cell-len", "40"],
            "--cell-len 40 is longer than the window (seq_len 36); choose a --cell-len of at most 36",
        ),
        (
            ["--cell-len", "12", "--segment", "16"],
            "--segment 16 is longer than --cell-len (12); choose a --segment of at",
        ),
        (["--cell-len", "0"], "Invalid value for '--cell-len': 0 is not in the range x>=1"),
    ],
)
def test_a_cell_len_longer_than_the_window_or_shorter_than_a_segment_is_refused(tmp_path, args, message):
    model = tmp_path / "cl.rnncast"
    out = CliRunner().invoke(cli, ["fit", str(ELEC), "--model", str(model), *TINY, "--seq-len", "36", *args])
    assert out.exit_code == 2 and message in out.output and not model.exists(), out.output
    assert len(out.stderr.splitlines()) == 1  # with --seq-len given, refused before the data's summary lines


def test_with_the_window_not_given_the_parts_are_checked_against_the_one_the_data_decides(tmp_path):
    """elec_equip's window is 36 from its frequency: --highway 40 can only be refused once the data is read."""
    out = CliRunner().invoke(cli, ["fit", str(ELEC), "--model", str(tmp_path / "m.rnncast"), *TINY, "--highway", "40"])
    assert out.exit_code == 2 and "seq_len 36 (from data)" in out.stderr
    assert out.stderr.splitlines()[-1] == (
        "Error: --highway 40 reads more steps than the window holds (seq_len 36); choose a --highway of at most 36 "
        "or a longer --seq-len"
    )


def test_refit_trains_the_same_network_again_on_every_window_for_the_epochs_chosen(tmp_path):
    """--refit on the monthly sample: the validation scores, guard weights and interval residuals are the
    selection run's (identical to a fit without it), the saved weights are a second run's over every
    window (training, the ones straddling the split and validation's) for the chosen number of epochs."""
    runner = CliRunner()
    plain, again = tmp_path / "plain.rnncast", tmp_path / "refit.rnncast"
    opts = ["--device", "cpu"]  # the defaults: the guard keeps some of the network here (alpha > 0)
    assert runner.invoke(cli, ["fit", str(ELEC), "--model", str(plain), *opts]).exit_code == 0
    out = runner.invoke(
        cli, ["fit", str(ELEC), "--model", str(again), *opts, "--refit", "--report", str(tmp_path / "r.json")]
    )
    assert out.exit_code == 0, out.output
    assert "refit: a fresh network trained on all 210 windows" in out.stderr
    a, b = artifact.load(plain), artifact.load(again)
    t = b.meta["training"]
    assert t["refit"]["windows"] == 210 == a.meta["data"]["train_windows"] + a.meta["data"]["val_windows"] + 12 - 1
    assert t["refit"]["epochs"] == t["best_epoch"] == a.meta["training"]["best_epoch"]
    assert a.meta["training"]["refit"] is None
    assert b.meta["metrics"] == a.meta["metrics"] and b.meta["guard"] == a.meta["guard"]
    assert np.asarray(b.meta["guard"]["alpha"]).any()  # so the saved network shows in the forecast
    assert np.array_equal(b.val_residuals, a.val_residuals)
    moved = [k for k in a.state_dict if not torch.equal(a.state_dict[k], b.state_dict[k])]
    assert any(k.endswith("head.weight") for k in moved) and "alpha" not in moved
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["refit"] == t["refit"] and report["refit"]["train_loss"] > 0
    card = json.loads(runner.invoke(cli, ["info", "--model", str(again), "--format", "json"]).output)
    assert card["refit_epochs"] == t["best_epoch"] and card["refit_windows"] == 210
    forecasts = [
        pd.read_csv(io.StringIO(runner.invoke(cli, ["forecast", "--model", str(m), "--format", "csv"]).stdout))
        for m in (plain, again)
    ]
    assert len(forecasts[1]) == 12 and not np.allclose(forecasts[0].iloc[:, -1], forecasts[1].iloc[:, -1])


def test_a_run_without_validation_trains_every_epoch_and_keeps_the_last_weights():
    from test_train import sine_windows

    from rnncast.model import Forecaster, ModelConfig

    tr_w, val_w = sine_windows()
    cfg = train.TrainConfig(epochs=3, batch_size=16, lr=0.01, patience=10)
    torch.manual_seed(0)
    model = Forecaster(ModelConfig(horizon=6, hidden_size=8))
    seen = []
    train.fit(
        model, tr_w, val_w, cfg, on_epoch=lambda log: seen.append({k: v.clone() for k, v in model.state_dict().items()})
    )
    torch.manual_seed(0)
    blind = Forecaster(ModelConfig(horizon=6, hidden_size=8))
    run = train.fit(blind, tr_w, None, cfg)
    assert run.epochs_run == 3 == run.best_epoch and all(np.isnan(h.val_loss) for h in run.history)
    assert all(torch.equal(blind.state_dict()[k], seen[-1][k]) for k in seen[-1])  # epoch 3's weights, as trained


def test_on_off_flags_read_their_environment_variables(tmp_path):
    """RNNCAST_REFIT=1 and RNNCAST_GUARD=0 act as --refit and --no-guard; --help names those variables."""
    model = tmp_path / "env.rnncast"
    env = {"RNNCAST_REFIT": "1", "RNNCAST_GUARD": "0", "RNNCAST_NON_NEGATIVE": "0"}
    out = CliRunner(env=env).invoke(cli, ["fit", str(ELEC), "--model", str(model), *TINY])
    assert out.exit_code == 0, out.output
    meta = artifact.load(model).meta
    assert meta["training"]["refit"]["epochs"] == meta["training"]["best_epoch"]
    assert meta.get("guard") is None and meta["non_negative"] is False
    shown = " ".join(CliRunner().invoke(cli, ["fit", "--help"]).output.split())
    assert all(f"env var: RNNCAST_{name}" in shown for name in ("REFIT;", "GUARD;", "NON_NEGATIVE]"))
    assert "__NO" not in shown


def test_a_onecycle_refit_runs_the_chosen_epochs_of_the_same_cycle(monkeypatch, tmp_path):
    """--schedule onecycle spans --epochs: the refit runs the first best_epoch epochs of a cycle that long,
    at the learning rates those epochs had, not a whole cycle squeezed into them."""
    spans, real = [], torch.optim.lr_scheduler.OneCycleLR

    def spy(optimizer, max_lr, total_steps, **kw):
        spans.append(total_steps)
        return real(optimizer, max_lr=max_lr, total_steps=total_steps, **kw)

    monkeypatch.setattr(torch.optim.lr_scheduler, "OneCycleLR", spy)
    model = tmp_path / "cycle.rnncast"
    args = [
        "fit",
        str(ELEC),
        "--model",
        str(model),
        *TINY,
        "--epochs",
        "40",
        "--patience",
        "3",
        "--lr",
        "0.01",
        "--ensemble",
        "3",
    ]
    out = CliRunner().invoke(cli, [*args, "--schedule", "onecycle", "--refit"])
    assert out.exit_code == 0, out.output
    t = artifact.load(model).meta["training"]
    assert t["refit"]["epochs"] == t["best_epoch"] < t["epochs_run"] < 40  # early stopping chose fewer epochs
    assert spans == [40 * 5, 40 * 7]  # 157 training windows: 5 batches of 32 an epoch; all 210: 7


def ett_collection(rows: int, layout: Layout | None = None):
    frame = pd.read_csv(ETTH1, nrows=rows)
    return collection.collect(frame, ReadOptions(targets=("OT",) if layout is None else ()), layout or Layout())


@pytest.mark.parametrize(
    "rows,options,long,members",
    [
        # the shipped hourly file has over 10,000 training windows at 336: the default is one member, the highway in it
        (17420, {}, True, (1, None)),  # default horizon 24: the long window
        (17420, {"horizon": 96}, True, (1, None)),  # one member: up to the cell's 96 steps ahead
        (17420, {"horizon": 97}, False, None),  # further ahead one member lost (ETTh2 at 336 and 720, the fold before)
        (17420, {"ensemble": 4, "horizon": 192}, True, (4, 2)),  # several members: the highway in half of them
        (17420, {"seq_len": 96}, False, None),  # any window, highway or cell length given: the user's choice
        (17420, {"highway": 0}, False, None),
        (17420, {"cell_len": 48}, False, None),
        (17420, {"segment": 24}, True, (1, None)),
        (17420, {"segment": 128}, False, None),  # more than the cell's 96 steps: refused against the window as before
        (5000, {}, False, None),  # 5,000 rows: about 3,700 training windows at 336, under LONG_MIN_WINDOWS
        (5400, {}, True, (10, 5)),  # where the default ensemble is 5: 10 members, 5 with the highway
        (11520, {"horizon": 720}, True, (10, 5)),  # the ETT protocol's fits, every horizon measured
        (11520, {"horizon": 721}, False, None),  # beyond what was measured
        (11520, {"horizon": 192, "ensemble": 1}, False, None),  # one member: up to 96 steps ahead only
        (11520, {"horizon": 192, "highway_members": 3}, True, (10, 3)),  # the user's share of the 10
    ],
)
def test_long_lookback_applies_to_one_long_hourly_series_with_half_its_members_reading_the_highway(
    rows, options, long, members
):
    windows = {k: v for k, v in options.items() if k in ("seq_len", "horizon")}
    network = {k: v for k, v in options.items() if k not in windows}
    s = settings(windows=WindowConfig(**windows), **network)
    chosen = fitting.long_lookback(ett_collection(rows), s)
    if long:
        assert (chosen.windows.seq_len, chosen.network.highway, chosen.network.cell_len) == (336, 336, 96)
        assert (chosen.network.ensemble, chosen.network.highway_members) == members
        assert chosen.windows.horizon == s.windows.horizon and chosen.train == s.train
    else:
        assert chosen is s


def test_a_default_fit_of_a_long_hourly_series_trains_ten_members_half_of_them_with_the_highway(tmp_path):
    """6,000 hourly rows (under 10,000 training windows, where one series gets 5 members by default), forecast
    192 steps ahead: the long window with 10 members, the first 5 holding the least-squares map; fit says so."""
    data, model = tmp_path / "ett6k.csv", tmp_path / "m.rnncast"
    pd.read_csv(ETTH1, nrows=6000, usecols=["date", "OT"]).to_csv(data, index=False)
    fit = CliRunner().invoke(cli, ["fit", str(data), "--model", str(model), *TINY, "--epochs", "1", "--horizon", "192"])
    assert fit.exit_code == 0, fit.output
    assert "seq_len 336 (from data)" in fit.stderr and "10 rnn members" in fit.stderr
    assert "a 336-step highway in 5 of them" in fit.stderr
    art = artifact.load(model)
    assert (art.meta["model"]["ensemble"], art.meta["model"]["highway_members"]) == (10, 5)
    assert [f"nets.{k}.highway.weight" in art.state_dict for k in range(10)] == [True] * 5 + [False] * 5


def test_long_lookback_leaves_many_series_and_other_frequencies_alone():
    s = settings()
    assert fitting.long_lookback(ett_collection(17420, Layout(wide=True)), s) is s  # 7 series of 17,420 rows
    daily = pd.DataFrame({"date": pd.date_range("1990-01-01", periods=17420, freq="D"), "y": np.arange(17420.0)})
    assert fitting.long_lookback(collection.collect(daily, ReadOptions(), Layout()), s) is s


def test_a_segment_too_long_for_the_long_windows_cell_is_refused_against_the_window_not_an_ungiven_cell_len(
    tmp_path,
):
    """--segment 128 on the shipped hourly file: the refusal names what the user can change (the window), not
    a --cell-len they never gave, whose advice ("a longer --cell-len") led to a second refusal."""
    model = tmp_path / "seg.rnncast"
    out = CliRunner().invoke(
        cli, ["fit", str(ETTH1), "--target", "OT", "--model", str(model), *TINY, "--segment", "128"]
    )
    assert out.exit_code == 2 and not model.exists()
    assert out.output.endswith(
        "Error: --segment 128 is longer than the window (seq_len 96); choose a --segment of at most 96 or a longer "
        "--seq-len\n"
    ), out.output


def test_fit_on_the_shipped_hourly_file_uses_the_long_window_and_says_so(tmp_path):
    """The default fit of sample_data/ETTh1.csv: a 336-step window chosen from the data, the highway over all
    of it, the cell over the last 96 in 12-point segments; backtest refits the same network per fold."""
    model = tmp_path / "ett.rnncast"
    runner = CliRunner()
    quick = [*TINY, "--ensemble", "1", "--epochs", "1"]
    fit = runner.invoke(cli, ["fit", str(ETTH1), "--target", "OT", "--model", str(model), *quick])
    assert fit.exit_code == 0, fit.output
    assert "seq_len 336 (from data), horizon 24 (from data)" in fit.stderr
    assert "12-point segments, the cell over the last 96 steps" in fit.stderr and "a 336-step highway" in fit.stderr
    m = artifact.load(model).meta
    assert (m["model_seq_len"], m["model"]["highway"], m["model"]["cell_len"], m["model"]["segment"]) == (
        336, 336, 96, 12,
    )  # fmt: skip
    plans = []
    s = settings(ReadOptions(targets=("OT",)), epochs=1, ensemble=1, hidden_size=8)
    ev = api.backtest_file(ETTH1, s, folds=1, levels=(), on_plan=plans.append)
    assert plans[0].seq_len == 336 and ev.forecasts["rnn"].shape == (1, 24, 1)


def test_the_highway_is_on_by_default_for_one_monthly_or_weekly_series_only():
    """Where held-out years gained from it (monthly elec_equip, weekly M4 series one at a time), the highway
    reads the whole window; quarterly, hourly (short of the long window) and many series keep it off."""
    from rnncast.windowing import plan

    def highway(frame: pd.DataFrame, layout: Layout | None = None, **read) -> int:
        coll = collection.collect(frame, ReadOptions(**read), layout or Layout())
        p = plan(coll, WindowConfig())
        return fitting.model_config(p, settings().network).highway

    monthly = pd.read_csv(ELEC)
    weekly = pd.DataFrame({"date": pd.date_range("2000-01-02", periods=400, freq="W-SUN"), "y": np.arange(400.0)})
    macro = pd.read_csv(MACRO)
    assert highway(monthly) == 36 and highway(weekly) == 104
    assert highway(macro[["year", "quarter", "realgdp"]]) == 0
    assert highway(pd.read_csv(ETTH1, nrows=2000), targets=("OT",)) == 0
    two = monthly.assign(other=monthly.iloc[:, 1] * 2)
    assert highway(two, Layout(wide=True)) == 0
    given = settings(highway=12).network  # the user's value, whatever the frequency
    assert fitting.model_config(plan(collection.collect(macro, ReadOptions(targets=("cpi",)), Layout()),
                                     WindowConfig()), given).highway == 12  # fmt: skip


def test_a_window_longer_than_both_cell_and_highway_read_gets_a_note(tmp_path):
    """--seq-len 48 --cell-len 24 without a highway over the rest: the oldest 24 steps reach the forecast
    through the window normalisation only; fit says so once, with the two fixes."""
    model = tmp_path / "m.rnncast"
    args = ["fit", str(ELEC), "--model", str(model), *TINY, "--seq-len", "48", "--cell-len", "24", "--highway", "0"]
    fit = CliRunner().invoke(cli, args)
    assert fit.exit_code == 0, fit.output
    assert (
        "Note: the cell reads the last 24 and the highway the last 0 of the 48 steps of the window; the oldest 24 "
        "are read by neither: add --highway 48 or use --seq-len 24"
    ) in fit.stderr
    covered = CliRunner().invoke(cli, [*args[:-1], "48"])  # --highway 48 reads them all: no note
    assert covered.exit_code == 0 and "read by neither" not in covered.stderr
