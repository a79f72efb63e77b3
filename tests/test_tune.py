"""rnncast tune: a few tiny trials on the monthly sample series, driven through the CLI."""

import csv
import io
import itertools
import json
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import ELEC, ROOT, read_csv_exact, settings

from rnncast import artifact, collection
from rnncast import tune as tuning
from rnncast.cli import Duration, cli

# Small trials: the behaviour under test does not need a good model. seq_len and layers fixed keep them fast.
TINY = ["--hidden-size", "8", "--epochs", "2", "--batch-size", "32", "--seq-len", "24", "--layers", "1"]
COLUMNS = ["number", "state", "val_mse", "seconds", "epochs"]


def run(*args, **kw):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False, **kw)


def trials_of(result) -> pd.DataFrame:
    assert result.exit_code == 0, result.output
    return read_csv_exact(result.stdout)


def test_tune_saves_the_best_trial_and_prints_every_trial_best_first(tmp_path):
    model = tmp_path / "m.rnncast"
    result = run("tune", ELEC, "--trials", "3", *TINY, "--model", model, "--format", "csv")
    frame = trials_of(result)
    # fixed on the command line: hidden_size, layers (so no dropout), seq_len; the rest is searched
    assert list(frame.columns) == [*COLUMNS, "segment", "cell", "lr", "window_norm", "ensemble", "highway"]
    assert sorted(frame["number"]) == [0, 1, 2] and set(frame["state"]) == {"COMPLETE"}
    assert frame["val_mse"].is_monotonic_increasing and (frame["val_mse"] > 0).all()
    assert (frame["epochs"] == 2).all()
    drawn = frame[frame["number"] != 0]  # trial 0 is fit's own choice (below), not a draw
    assert set(drawn["segment"]) <= {0, 4, 8, 12, 24}  # never above seq_len 24
    assert set(drawn["cell"]) <= {"rnn", "lstm", "gru"} and "auto" not in set(frame["window_norm"])
    assert ((drawn["lr"] >= 1e-4) & (drawn["lr"] <= 1e-2)).all()
    assert set(drawn["highway"]) <= {0, 24}  # off, or over the whole window

    best, meta = frame.iloc[0], artifact.load(model).meta
    assert tuning.objective_of(meta) == pytest.approx(best["val_mse"], rel=1e-12)
    assert meta["tune"]["trial"] == best["number"] and meta["tune"]["study"] == "elec_equip"
    assert meta["model"]["cell"] == best["cell"] and meta["model"]["hidden_size"] == 8
    assert meta["windows"]["seq_len"] == 24 and meta["train"]["lr"] == pytest.approx(best["lr"])
    lines = result.stderr.splitlines()
    assert sum(line.startswith("trial ") for line in lines) == 3
    assert "ran 3 of 3 trial(s) (3 complete)" in result.stderr
    assert lines[-1].startswith(f"best trial {best['number']}: val MSE ") and lines[-1].endswith(f"saved {model}")

    forecast = pd.read_csv(io.StringIO(run("forecast", "--model", model, "--format", "csv").stdout))
    assert len(forecast) == 12 and forecast["DATE"].iloc[0].startswith("2016-06-01")
    assert not (tmp_path / "m.rnncast.lock").exists()


def test_the_first_trial_is_what_fit_trains_so_the_best_is_never_worse_than_fit(tmp_path):
    """Trial 0 of a new study fits the options as given, as `fit` would (the segment, window norm, members
    and lr it resolves from the data, recorded as the trial's values): the search starts from fit's choice,
    and the saved best is at least as good on validation as a plain `fit` with the same options."""
    fitted, tuned = tmp_path / "fit.rnncast", tmp_path / "tune.rnncast"
    assert run("fit", ELEC, *TINY, "--model", fitted).exit_code == 0
    frame = trials_of(run("tune", ELEC, "--trials", "2", *TINY, "--model", tuned, "--format", "csv"))
    first, plain = frame.set_index("number").loc[0], artifact.load(fitted).meta
    assert first["val_mse"] == pytest.approx(tuning.objective_of(plain), rel=1e-12)
    model = plain["model"]
    assert (first["segment"], first["cell"], first["window_norm"], first["ensemble"], first["highway"]) == (
        model["segment"],
        model["cell"],
        model["window_norm"],
        model["ensemble"],
        24,
    )  # fmt: skip  (a monthly series: the highway over the whole window by default)
    assert first["lr"] == pytest.approx(plain["train"]["lr"]) and model["segment"] == 3  # 24 // 8: not in the space
    assert tuning.objective_of(artifact.load(tuned).meta) <= first["val_mse"]
    again = run(
        "tune", ELEC, "--trials", "1", *TINY, "--model", tuned, "--study-db", tmp_path / "s.db", "--format", "csv"
    )
    assert trials_of(again)["val_mse"].iloc[0] == pytest.approx(first["val_mse"], rel=1e-12)  # a new db: trial 0 again


def test_a_given_cell_len_bounds_the_searched_windows_and_segments_so_no_trial_fails_on_it(tmp_path):
    """--cell-len 20 (not searched): windows shorter than it and segments longer than it would each fail a
    trial ("--cell-len 20 is longer than the window", "--segment 24 is longer than --cell-len"): 7 of 15 did."""
    quick = ["--hidden-size", "8", "--epochs", "1", "--ensemble", "1", "--cell-len", "20"]
    result = run("tune", ELEC, "--trials", "15", *quick, "--model", tmp_path / "m.rnncast", "--format", "csv")
    frame = trials_of(result)
    assert set(frame["state"]) == {"COMPLETE"}, result.stderr
    assert (frame["seq_len"] >= 20).all() and (frame["segment"] <= 20).all() and frame["segment"].nunique() > 1
    assert (frame["cell_len"] == 20).all()  # every trial's row says what it trained with, trial 0's as the rest
    assert sum("cell_len 20" in line for line in result.stderr.splitlines() if line.startswith("trial ")) == 15
    assert "searching seq_len (36, 56, 72, 108), segment (0, 4, 8, 12), cell," in result.stderr
    assert artifact.load(tmp_path / "m.rnncast").meta["model"]["cell_len"] == 20


def test_trial_0_on_a_long_hourly_series_is_fits_long_window_and_the_saved_model_keeps_it(tmp_path):
    """On the shipped hourly file (horizon 24) fit's default is a 336-step window with the highway over it and
    the cell over its last 96; the plan line shows it, trial 0 trains it, and with --refit the saved model is built again from the
    trial's recorded values, --cell-len included though tune does not search it."""
    from conftest import ETTH1

    tuned = tmp_path / "tune.rnncast"
    quick = ["--target", "OT", "--hidden-size", "8", "--epochs", "1", "--layers", "1", "--ensemble", "1"]
    result = run("tune", ETTH1, "--trials", "1", *quick, "--refit", "--model", tuned, "--format", "csv")
    frame = trials_of(result)
    # the plan line says what trial 0 trains, and later trials may draw that window too
    assert "seq_len 336 (from data), horizon 24 (from data)" in result.stderr
    assert "searching seq_len (48, 96, 144, 192, 288, 336), segment" in result.stderr
    first = frame.set_index("number").loc[0]
    assert (first["seq_len"], first["highway"], first["segment"], first["cell_len"]) == (336, 336, 12, 96)
    meta = artifact.load(tuned).meta
    assert (meta["model_seq_len"], meta["model"]["highway"], meta["model"]["cell_len"]) == (336, 336, 96)
    assert meta["tune"]["params"]["cell_len"] == 96 and meta["training"]["refit"]["epochs"] == 1


def test_trials_are_ranked_by_validation_mse_whatever_the_loss(tmp_path):
    """--loss mae --no-guard: val_mse is still the network's validation MSE (the one fit's guard line
    prints for the same network), not the MAE training watched."""
    fitted, tuned = tmp_path / "fit.rnncast", tmp_path / "tune.rnncast"
    assert run("fit", ELEC, *TINY, "--loss", "mae", "--model", fitted, "--quiet").exit_code == 0
    network = artifact.load(fitted).meta["guard"]["val_mse"]["network"]
    out = run("tune", ELEC, "--trials", "1", *TINY, "--loss", "mae", "--no-guard", "--model", tuned, "--format", "csv")
    best = trials_of(out)["val_mse"].iloc[0]  # trial 0: fit's own settings, the same network
    assert best == pytest.approx(network, rel=1e-5)
    meta = artifact.load(tuned).meta
    assert tuning.objective_of(meta) == best and best != meta["training"]["best_val_loss"]
    assert f"best trial 0: val MSE {best:.4g}" in out.stderr


def test_with_refit_trials_compare_unrefitted_networks_and_only_the_saved_one_is_refit(tmp_path):
    tuned = tmp_path / "tune.rnncast"
    out = run("tune", ELEC, "--trials", "1", *TINY, "--model", tuned, "--refit", "--format", "csv")
    assert out.exit_code == 0, out.output
    meta = artifact.load(tuned).meta
    assert meta["training"]["refit"]["epochs"] == meta["training"]["best_epoch"]
    assert trials_of(out)["val_mse"].iloc[0] == pytest.approx(tuning.objective_of(meta), rel=1e-12)
    assert "refit: the best trial's settings trained again on all" in out.stderr


def test_tune_writes_fits_run_report_and_history_record_for_its_best_trial(tmp_path):
    model, report, db = tmp_path / "m.rnncast", tmp_path / "run.json", tmp_path / "runs.db"
    args = ["tune", ELEC, "--trials", "2", *TINY, "--model", model, "--format", "json"]
    result = run(*args, "--report", report, "--history", db)
    trials = json.loads(result.stdout)
    best = trials[0]
    written = json.loads(report.read_text())
    # fit's report of the saved (best) model, and the study beside it
    assert written["model"] == str(model) and written["seq_len"] == 24 and written["epochs_run"] == 2
    assert written["best_val_mse"] == pytest.approx(artifact.load(model).meta["training"]["best_val_loss"])
    study = written["tune"]
    assert study["study_name"] == "elec_equip" and study["trials_run"] == 2 and study["trials_in_study"] == 2
    assert study["states"] == {"COMPLETE": 2, "PRUNED": 0, "FAIL": 0} and not study["budget_spent"]
    assert study["best"]["number"] == best["number"] and study["best"]["val_mse"] == pytest.approx(best["val_mse"])
    assert study["best"]["params"]["cell"] == best["cell"] and not study["best"]["refitted"]

    records = json.loads(run("history", "--history", db, "--command", "tune", "--format", "json").stdout)
    assert len(records) == 1 and records[0]["command"] == "tune" and records[0]["exit_code"] == 0
    assert records[0]["metrics"]["tune"]["best"]["number"] == best["number"]
    assert {r["model"] for r in records[0]["metrics"]["scores"]} >= {"rnn", "naive"}

    both = run(*args, "--report", "-")  # the report and the trials table would share stdout
    assert both.exit_code == 2 and "--report - and the trials table would both go to stdout" in both.stderr


def test_resuming_a_study_adds_trials_and_saves_the_study_best(tmp_path):
    model, db = tmp_path / "m.rnncast", tmp_path / "tune.db"
    args = ["tune", ELEC, "--trials", "2", *TINY, "--model", model, "--study-db", db, "--format", "json"]
    first = json.loads(run(*args).stdout)
    assert sorted(r["number"] for r in first) == [0, 1]
    again = run(*args)
    second = json.loads(again.stdout)
    assert sorted(r["number"] for r in second) == [0, 1, 2, 3]
    assert "study 'elec_equip' in" in again.stderr and "now holds 4" in again.stderr
    same = {r["number"]: r["val_mse"] for r in first}
    assert all(r["val_mse"] == pytest.approx(same[r["number"]]) for r in second if r["number"] < 2)
    new = [(r["segment"], r["cell"], r["window_norm"]) for r in second if r["number"] >= 2]
    assert new != [(r["segment"], r["cell"], r["window_norm"]) for r in first]  # the sampler does not replay
    # the study's best, from either session (an earlier one's is refitted: same seed, same weights on CPU)
    assert tuning.objective_of(artifact.load(model).meta) == pytest.approx(second[0]["val_mse"], rel=1e-9)

    other = run(*args, "--cell", "gru")
    assert other.exit_code == 2
    assert other.stderr.splitlines()[-1].startswith("Error: study 'elec_equip' was run with other settings or data")


def test_a_study_begun_before_a_setting_existed_resumes_with_its_default(tmp_path):
    """A study an older rnncast began keeps no train.loss: it ran with MSE, today's default, so the same
    options resume it; --loss mae does not."""
    import optuna

    model, db = tmp_path / "m.rnncast", tmp_path / "tune.db"
    args = ["tune", ELEC, "--trials", "1", *TINY, "--model", model, "--study-db", db, "--format", "csv"]
    assert len(trials_of(run(*args))) == 1
    study = optuna.load_study(study_name="elec_equip", storage=f"sqlite:///{db}")
    older = {k: v for k, v in study.user_attrs["settings"].items() if k != "train.loss"}
    study.set_user_attr("settings", older)
    assert sorted(trials_of(run(*args))["number"]) == [0, 1]
    other = run(*args, "--loss", "mae")
    assert other.exit_code == 2 and "(train.loss differ)" in other.stderr


def test_an_older_many_series_study_trained_on_mse_is_not_resumed_with_todays_mae(tmp_path):
    """Many series train on mae when --loss is not given; a study an older rnncast began trained them on mse,
    so resuming it without --loss would mix the two in one pruner: refused, and --loss mse resumes it."""
    import optuna

    data = tmp_path / "wide.csv"
    pd.read_csv(ELEC).assign(other=lambda f: f.iloc[:, 1] * 2 + 1).to_csv(data, index=False)
    model, db = tmp_path / "m.rnncast", tmp_path / "tune.db"
    args = ["tune", data, "--wide", "--trials", "1", *TINY, "--model", model, "--study-db", db, "--format", "csv"]
    assert len(trials_of(run(*args, "--loss", "mse"))) == 1
    study = optuna.load_study(study_name="wide", storage=f"sqlite:///{db}")
    assert study.user_attrs["settings"]["train.loss"] == "mse"
    study.set_user_attr("settings", {k: v for k, v in study.user_attrs["settings"].items() if k != "train.loss"})
    refused = run(*args)
    assert refused.exit_code == 2 and "(train.loss differ)" in refused.stderr
    assert "give the same options (--loss mse) and data" in refused.stderr  # the fix, never typed before
    assert sorted(trials_of(run(*args, "--loss", "mse"))["number"]) == [0, 1]


def test_a_best_trial_from_an_earlier_session_is_refitted(monkeypatch, tmp_path):
    model, db = tmp_path / "m.rnncast", tmp_path / "tune.db"
    args = ["tune", ELEC, "--trials", "1", *TINY, "--model", model, "--study-db", db, "--format", "csv"]
    earlier = trials_of(run(*args)).iloc[0]
    model.unlink()
    real = tuning.suggest
    monkeypatch.setattr(tuning, "suggest", lambda *a: {**real(*a), "lr": 1e30})  # this session's trial diverges
    result = run(*args)
    frame = trials_of(result)
    assert frame["state"].tolist() == ["COMPLETE", "FAIL"] and frame["number"].tolist() == [0, 1]
    assert f"best trial 0: val MSE {earlier['val_mse']:.4g} (from an earlier run; refitted: val MSE " in result.stderr
    # on CPU the same seed and settings give the same weights, so the refit scores exactly as the trial did
    assert tuning.objective_of(artifact.load(model).meta) == pytest.approx(earlier["val_mse"], rel=1e-12)


def test_time_budget_starts_no_trial_once_spent(monkeypatch, tmp_path):
    ticks = itertools.count(0.0, 1.5)  # the clock moves 1.5 s between two looks at it
    monkeypatch.setattr(tuning, "time", SimpleNamespace(monotonic=lambda: next(ticks)))
    model = tmp_path / "m.rnncast"
    result = run("tune", ELEC, "--trials", "5", "--time-budget", "1s", *TINY, "--model", model, "--format", "csv")
    assert len(trials_of(result)) == 1
    assert "ran 1 of 5 trial(s) (1 complete)" in result.stderr and "time budget (1 s) was spent" in result.stderr
    assert model.exists()


@pytest.mark.parametrize("text,seconds", [("90s", 90), ("10m", 600), ("1h", 3600), ("2.5", 2.5), (" 1.5H ", 5400)])
def test_durations(text, seconds):
    assert Duration().convert(text, None, None) == seconds


@pytest.mark.parametrize("budget", ["10x", "0", "-5s", "1d", "1h30m", "nan"])
def test_a_bad_time_budget_is_one_usage_error(tmp_path, budget):
    model = tmp_path / "m.rnncast"
    result = run("tune", ELEC, "--time-budget", budget, "--model", model)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: Invalid value for '--time-budget'")
    assert "is not a positive duration; use e.g. 90s, 10m, 1h" in lines[0]
    assert not model.exists()


def test_options_given_on_the_command_line_or_environment_are_not_searched(tmp_path):
    model = tmp_path / "m.rnncast"
    result = run("tune", ELEC, "--trials", "3", *TINY, "--cell", "gru", "--model", model, "--format", "csv",
                 env={"RNNCAST_WINDOW_NORM": "mean"})  # fmt: skip
    frame = trials_of(result)
    assert list(frame.columns) == [*COLUMNS, "segment", "lr", "ensemble", "highway"]
    assert "fixed: cell gru, hidden_size 8, layers 1, seq_len 24, window_norm mean" in result.stderr
    trial_lines = [line for line in result.stderr.splitlines() if line.startswith("trial ")]
    assert len(trial_lines) == 3 and not any("cell" in line or "window_norm" in line for line in trial_lines)
    meta = artifact.load(model).meta["model"]
    assert meta["cell"] == "gru" and meta["window_norm"] == "mean"


def test_a_segment_is_never_longer_than_the_window():
    import optuna

    space = tuning.Space(("seq_len", "segment"), seq_lens=(16, 36), segments=tuning.SEGMENTS)
    base = tuning.Settings()
    drawn = optuna.trial.FixedTrial({"seq_len": 16, "segment": 48})
    assert tuning.suggest(drawn, space, base, 36) == {"seq_len": 16, "segment": 12}
    drawn = optuna.trial.FixedTrial({"seq_len": 36, "segment": 24})
    values = tuning.suggest(drawn, space, base, 36)
    assert values == {"seq_len": 36, "segment": 24}
    chosen = tuning.trial_settings(base, space, values)
    assert chosen.windows.seq_len == 36 and chosen.network.segment == 24 and base.network.segment is None


def test_a_drawn_highway_reads_the_whole_window_of_its_trial():
    import optuna

    space = tuning.Space(("seq_len", "highway"), seq_lens=(16, 36))
    base = tuning.Settings()
    assert tuning.suggest(optuna.trial.FixedTrial({"seq_len": 16, "highway": True}), space, base, 36) == {
        "seq_len": 16, "highway": 16}  # fmt: skip
    values = tuning.suggest(optuna.trial.FixedTrial({"seq_len": 36, "highway": False}), space, base, 36)
    assert values == {"seq_len": 36, "highway": 0}
    assert tuning.trial_settings(base, space, values).network.highway == 0


def test_a_pruned_trial_stops_at_the_epoch_its_pruner_says():
    import optuna

    from rnncast.windowing import plan

    class PruneFromEpoch2(optuna.pruners.BasePruner):
        def prune(self, study, trial) -> bool:
            return trial.last_step >= 2

    s = settings(hidden_size=8, epochs=5, batch_size=32)
    coll = collection.read_collection(ELEC, s.read, s.layout)
    space = tuning.search_space(plan(coll, s.windows), s, {"seq_len", "segment", "ensemble"})
    study = optuna.create_study(pruner=PruneFromEpoch2(), sampler=optuna.samplers.RandomSampler(seed=0))
    row, fit = tuning.run_trial(study, coll, s, space, 36)
    assert row.state == "PRUNED" and row.epochs == 2 and fit is None
    assert row.val_mse == min(study.trials[0].intermediate_values.values())
    pruner = tuning.open_study(None, "x", {}, 0).pruner  # what tune uses: the median, once 5 trials completed
    assert isinstance(pruner, optuna.pruners.MedianPruner)


def test_failing_trials_are_recorded_and_none_completing_is_an_error(tmp_path):
    model = tmp_path / "m.rnncast"
    result = run("tune", ELEC, "--trials", "2", *TINY, "--lr", "1e30", "--model", model, "--quiet")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no trial completed (the first failed: loss became NaN at epoch 1;")
    assert not model.exists()


def test_ctrl_c_leaves_the_old_model_and_exits_130(monkeypatch, tmp_path, elec_model):
    model = tmp_path / "m.rnncast"
    model.write_bytes(elec_model.read_bytes())
    calls = itertools.count()
    real = tuning.fit_plan

    def interrupted_second_trial(*args, **kw):
        if next(calls) == 1:
            raise KeyboardInterrupt
        return real(*args, **kw)

    monkeypatch.setattr(tuning, "fit_plan", interrupted_second_trial)
    db = tmp_path / "tune.db"
    result = run("tune", ELEC, "--trials", "3", *TINY, "--model", model, "--study-db", db)
    assert result.exit_code == 130
    assert result.stderr.splitlines()[-1] == "Error: interrupted; no model or output file was changed"
    assert model.read_bytes() == elec_model.read_bytes()
    assert not (tmp_path / "m.rnncast.lock").exists()
    import optuna

    states = [t.state.name for t in optuna.load_study(study_name="elec_equip", storage=f"sqlite:///{db}").trials]
    assert states == ["COMPLETE", "FAIL"]  # the interrupted trial is on record, not left running


def test_many_series_are_tuned_through_the_same_pipeline(tmp_path):
    rng = np.random.default_rng(0)
    t = np.arange(120)
    frame = pd.concat(
        pd.DataFrame({"store": f"s{k}", "date": pd.date_range("2024-01-01", periods=120, freq="h"),
                      "sales": 10 * k + np.sin(2 * np.pi * t / 24 + k) + rng.normal(0, 0.05, 120)})
        for k in range(3)
    )  # fmt: skip
    data, model = tmp_path / "stores.csv", tmp_path / "m.rnncast"
    frame.to_csv(data, index=False)
    args = ["--id-col", "store", "--target", "sales", "--horizon", "6", "--model", model]
    trials = trials_of(run("tune", data, "--trials", "2", *TINY, *args, "--format", "csv"))
    assert len(trials) == 2 and set(trials["state"]) == {"COMPLETE"}
    assert artifact.load(model).meta["series"]["ids"] == ["s0", "s1", "s2"]
    forecast = pd.read_csv(io.StringIO(run("forecast", "--model", model, "--format", "csv").stdout))
    assert list(forecast.columns) == ["store", "date", "sales"] and len(forecast) == 3 * 6


def test_help_lists_the_search_and_loads_neither_optuna_nor_torch():
    assert "Search network and window settings" in run("tune", "--help").output
    code = (
        "import sys; from click.testing import CliRunner; from rnncast.cli import cli; "
        "CliRunner().invoke(cli, ['tune', '--help']); "
        "assert not {'optuna', 'torch', 'pandas'} & set(sys.modules), sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_a_pruned_trial_of_many_series_names_the_loss_it_was_stopped_on(monkeypatch, tmp_path):
    """A pruned trial's number is its best epoch's validation loss in the loss trained on: mae for many series
    by default, so its line says val MAE (not MSE), and the printed value is the table's val_mse."""
    monkeypatch.setattr(tuning, "PRUNE_STARTUP", 1)  # prune against the first trial, from the first epoch
    monkeypatch.setattr(tuning, "PRUNE_WARMUP", 0)
    data = tmp_path / "wide.csv"
    pd.read_csv(ELEC).assign(other=lambda f: f.iloc[:, 1] * 2 + 1).to_csv(data, index=False)
    args = ["tune", data, "--wide", "--trials", "6", *TINY, "--model", tmp_path / "m.rnncast", "--format", "csv"]
    out = run(*args)
    rows = trials_of(out).set_index("number")
    pruned = [line for line in out.stderr.splitlines() if " pruned at epoch " in line]
    assert pruned and len(pruned) == (rows["state"] == "PRUNED").sum()
    for line in pruned:
        number, value = int(line.split()[1]), float(line.split("(val MAE ")[1].split(")")[0])
        assert value == pytest.approx(rows.loc[number, "val_mse"], rel=1e-3)
    one = run("tune", ELEC, "--trials", "6", *TINY, "--model", tmp_path / "one.rnncast", "--format", "csv")
    pruned_one = [line for line in one.stderr.splitlines() if " pruned at epoch " in line]
    assert pruned_one and all("(val MSE " in line for line in pruned_one)


def test_an_integer_setting_some_trials_lack_stays_an_integer_in_csv_and_json(tmp_path):
    """Trial 0 on the long hourly file trains --cell-len 96, trial 1 none: the blank must not turn 96 into 96.0,
    which `int()` in a script refuses."""
    from conftest import ETTH1

    args = ["tune", ETTH1, "--target", "OT", "--trials", "2", "--epochs", "1", "--quiet"]
    csv_run = run(*args, "--model", tmp_path / "a.rnncast", "--format", "csv")
    assert csv_run.exit_code == 0, csv_run.stderr
    rows = {r["number"]: r for r in csv.DictReader(io.StringIO(csv_run.stdout))}
    assert (rows["0"]["cell_len"], rows["0"]["seq_len"], rows["1"]["cell_len"]) == ("96", "336", "")
    json_run = run(*args, "--model", tmp_path / "b.rnncast", "--format", "json")
    records = {r["number"]: r for r in json.loads(json_run.stdout)}
    assert records[0]["cell_len"] == 96 and type(records[0]["cell_len"]) is int and records[1]["cell_len"] is None


def test_the_trials_table_fits_an_80_column_terminal_without_cutting_a_value(tmp_path):
    """On a terminal (the default format there) 15 columns were squeezed to `CO…`, `0…`: val_mse unreadable."""
    from test_pipelines import _on_a_terminal

    args = [sys.executable, "-m", "rnncast", "tune", str(ELEC), "--trials", "2", "--epochs", "1", "--quiet"]
    shown = _on_a_terminal([*args, "--model", "t.rnncast"], tmp_path, {"TERM": "dumb", "COLUMNS": "80"})
    lines = shown.replace("\r", "").splitlines()
    assert lines and all(len(line) <= 80 for line in lines) and "…" not in shown, shown
    rows = [line.split() for line in lines]
    scores = next(r for r in rows if r[:2] == ["0", "COMPLETE"])  # trial 0 ranks first: fit's own choice
    settings = [r for r in rows if r[:1] == ["0"] and r != scores][0]
    csv_run = run(*args[3:], "--model", tmp_path / "c.rnncast", "--format", "csv")  # the same trials, every digit
    first = next(csv.DictReader(io.StringIO(csv_run.stdout)))
    assert float(scores[2]) == pytest.approx(float(first["val_mse"]), rel=1e-3)
    assert settings == ["0", "36", "4", "rnn", "64", "1", "-", "0.001000", "season", "5", "36"]


def test_a_trial_with_fits_mixed_ensemble_records_its_highway_members_and_is_refitted_with_them():
    """Trial 0 on a long hourly series is fit's 10 members with the highway in 5: the trial's values keep
    highway_members (as cell_len), so refitting it in a later session builds the same model, not 10 highways."""
    space = tuning.Space(("seq_len", "ensemble", "highway"), (96, 336))
    meta = {"model_seq_len": 336, "train": {"lr": 0.001},
            "model": {"segment": 12, "cell": "rnn", "hidden_size": 64, "layers": 1, "dropout": 0.0,
                      "window_norm": "last", "ensemble": 10, "highway": 336, "cell_len": 96, "highway_members": 5}}  # fmt: skip
    values = tuning.resolved_params(meta, space)
    assert values == {"seq_len": 336, "ensemble": 10, "highway": 336, "cell_len": 96, "highway_members": 5}
    again = tuning.trial_settings(settings(), space, values)
    assert (again.network.ensemble, again.network.highway_members, again.network.cell_len) == (10, 5, 96)
