"""What unattended runs rely on: default levels that never stop a run, output formats, one field per meaning."""

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import ELEC

from rnncast.cli import cli

FAST = ["--hidden-size", "8", "--epochs", "2", "--ensemble", "1"]


def run(*args, **kw):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False, **kw)


@pytest.fixture(scope="module")
def short(tmp_path_factory):
    """The first 144 months of the sample series: 2 folds of 12 leave 15 validation windows, too few for 95%."""
    d = tmp_path_factory.mktemp("short")
    path = d / "air.csv"
    path.write_text("\n".join(ELEC.read_text().splitlines()[:145]) + "\n")
    return path


@pytest.fixture(scope="module")
def short_model(short):
    """A model with 11 validation windows: enough for 80% (4), not for 95% (19)."""
    model = short.parent / "air.rnncast"
    done = run("fit", short, "--model", model, "--val-frac", "0.1", "--seq-len", "24", *FAST, "--quiet")
    assert done.exit_code == 0, done.output
    return model


def test_backtest_skips_an_unsupported_default_level_with_one_warning(short):
    result = run("backtest", short, "--horizon", "12", "--folds", "2", "--format", "csv", *FAST)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(io.StringIO(result.stdout))
    assert "coverage_80" in table.columns and "coverage_95" not in table.columns
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert warnings == [
        "Warning: --level 95 needs at least 19 validation windows, the model has 15; "
        "the default level 95 is skipped (choose with --level)"
    ]


def test_an_explicit_level_still_refuses(short, monkeypatch):
    result = run("backtest", short, "--horizon", "12", "--folds", "2", "--level", "95", *FAST)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: --level 95 needs at least 19 validation windows, the model has 15")
    monkeypatch.setenv("RNNCAST_LEVEL", "95")  # the environment is the user's choice too
    assert run("backtest", short, "--horizon", "12", "--folds", "2", *FAST).exit_code == 2


def test_evaluate_skips_an_unsupported_default_level_and_refuses_an_explicit_one(short, short_model):
    result = run("evaluate", short, "--model", short_model, "--all-windows", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert "the default level 95 is skipped" in result.stderr
    assert "coverage_95" not in pd.read_csv(io.StringIO(result.stdout)).columns
    refused = run("evaluate", short, "--model", short_model, "--all-windows", "--level", "95")
    assert refused.exit_code == 2 and "needs at least 19 validation windows, the model has 11" in refused.stderr


def test_the_output_file_extension_chooses_the_format_unless_format_says(tmp_path, short_model):
    assert run("forecast", "--model", short_model, "-o", tmp_path / "f.json").exit_code == 0
    records = json.loads((tmp_path / "f.json").read_text())
    assert len(records) == 12 and records[0]["DATE"].startswith("2007-01-01")
    run("forecast", "--model", short_model, "-o", tmp_path / "f.csv")
    assert pd.read_csv(tmp_path / "f.csv")["DATE"].iloc[0] == "2007-01-01"
    run("forecast", "--model", short_model, "-o", tmp_path / "g.json", "--format", "csv")
    assert (tmp_path / "g.json").read_text().startswith("DATE,")
    run("info", "--model", short_model, "-o", tmp_path / "card.json")
    assert json.loads((tmp_path / "card.json").read_text())["horizon"] == 12


def test_a_level_written_as_a_fraction_is_refused_with_the_percentage_to_use(short_model):
    result = run("forecast", "--model", short_model, "--level", "0.8")
    assert result.exit_code == 2
    assert result.stderr == "Error: --level 0.8 looks like a fraction; levels are percentages: try --level 80\n"


@pytest.mark.parametrize("command,code", [("forecast", 66), ("info", 66), ("evaluate", 66), ("fit", 73)])
def test_a_model_path_that_is_a_folder_is_an_unreadable_input_or_unwritable_output(tmp_path, command, code):
    args = {"fit": [ELEC, *FAST], "evaluate": [ELEC]}.get(command, [])
    result = run(command, *args, "--model", tmp_path)
    assert result.exit_code == code
    assert result.stderr == f"Error: {tmp_path} is a directory, not a model file; pass --model FILE\n"


@pytest.mark.parametrize("command", ["forecast", "evaluate", "info"])
def test_commands_that_do_not_train_say_nothing_of_training_in_their_help(command):
    text = run(command, "--help").output
    assert "epoch" not in text.lower() and "training failed" not in text
    assert "Exit codes: 0 ok, 2 usage, 65 bad data, 66 input missing" in text
    assert "1 training failed" in run("fit", "--help").output


def test_json_scores_have_a_numeric_step_and_mark_the_rows_over_all_steps(short, short_model):
    result = run("evaluate", short, "--model", short_model, "--all-windows", "--level", "80", "--format", "json")
    records = json.loads(result.stdout)
    overall = [r for r in records if r["all_steps"]]
    assert {r["model"] for r in overall} == {"rnn", "naive", "seasonal naive (12)"}
    assert all(r["step"] is None for r in overall)
    assert sorted({r["step"] for r in records if not r["all_steps"]}) == list(range(1, 13))
    table = pd.read_csv(io.StringIO(run("evaluate", short, "--model", short_model, "--all-windows", "--level", "80",
                                        "--format", "csv").stdout))  # fmt: skip
    assert "all_steps" not in table.columns and table["step"].iloc[0] == "all"  # csv keeps 'all' for people


def test_data_without_time_stamps_forecasts_a_step_column(tmp_path):
    data = tmp_path / "counts.csv"
    data.write_text("v\n" + "".join(f"{i % 7 + 3}\n" for i in range(80)))
    model = tmp_path / "c.rnncast"
    assert run("fit", data, "--time-col", "none", "--model", model, "--horizon", "4", *FAST).exit_code == 0
    frame = pd.read_csv(io.StringIO(run("forecast", "--model", model, "--format", "csv").stdout))
    assert list(frame.columns) == ["step", "v"] and frame["step"].tolist() == [80, 81, 82, 83]


def test_the_percentage_error_column_is_the_same_for_a_target_in_fit_backtest_and_evaluate(tmp_path):
    # zeros in every part of the series: fit, backtest and evaluate all report sMAPE
    data = tmp_path / "counts.csv"
    data.write_text("v\n" + "".join(f"{i % 5}\n" for i in range(120)))
    model = tmp_path / "c.rnncast"
    common = ["--time-col", "none", "--horizon", "5", "--seq-len", "10", *FAST]
    fitted = pd.read_csv(io.StringIO(run("fit", data, "--model", model, *common, "--format", "csv").stdout))
    tested = pd.read_csv(io.StringIO(run("backtest", data, *common, "--folds", "1", "--format", "csv").stdout))
    scored = pd.read_csv(io.StringIO(run("evaluate", data, "--model", model, "--format", "csv").stdout))
    assert "sMAPE" in fitted.columns and "sMAPE" in tested.columns and "sMAPE" in scored.columns
    # a model fitted where MAPE applies keeps MAPE on new rows that also allow it
    elec = pd.read_csv(io.StringIO(run("backtest", ELEC, "--folds", "1", *FAST, "--format", "csv").stdout))
    assert "MAPE" in elec.columns and "sMAPE" not in elec.columns


def test_evaluate_keeps_fit_s_smape_on_new_rows_without_zeros(tmp_path):
    from rnncast import api
    from rnncast.artifact import load

    data = tmp_path / "counts.csv"
    values = [i % 5 for i in range(100)] + [3, 4, 5, 6, 5, 4, 3, 4, 5, 6]  # zeros up to the training end only
    data.write_text("v\n" + "".join(f"{v}\n" for v in values))
    head = tmp_path / "head.csv"
    head.write_text("v\n" + "".join(f"{v}\n" for v in values[:100]))
    model = tmp_path / "c.rnncast"
    run("fit", head, "--model", model, "--time-col", "none", "--horizon", "5", "--seq-len", "10", *FAST, "-q")
    assert load(model).meta["data"]["pct_names"] == ["sMAPE"]
    result = api.evaluate_file(model, data, levels=())
    assert "sMAPE" in result.frame().columns  # the new rows alone would allow MAPE


def test_backtest_predictions_hold_every_fold_and_step_with_the_baselines_and_bounds(short, tmp_path):
    out = tmp_path / "pred.csv"
    result = run("backtest", short, "--horizon", "6", "--folds", "3", "--step", "3", "--level", "80",
                 "--predictions", out, "--format", "csv", *FAST)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "3 fold(s) of 6 steps from 2006-01-01, origins 3 apart" in result.stderr
    pred = pd.read_csv(out)
    assert list(pred.columns) == ["cutoff", "DATE", "actual", "rnn", "naive", "seasonal_naive", "lower_80", "upper_80"]
    assert len(pred) == 3 * 6
    assert pred["cutoff"].unique().tolist() == ["2005-12-01", "2006-03-01", "2006-06-01"]
    assert pred["DATE"].iloc[-1] == "2006-12-01" and pred["DATE"].iloc[0] == "2006-01-01"
    series = pd.read_csv(short).iloc[:, 1].to_numpy()
    assert pred["actual"].tolist() == pytest.approx(list(series[-12:-6]) + list(series[-9:-3]) + list(series[-6:]))
    # naive: the last value before each cutoff; seasonal naive: the same month a year before
    assert pred["naive"].tolist()[:6] == pytest.approx([series[-13]] * 6)
    assert pred["seasonal_naive"].tolist()[:6] == pytest.approx(list(series[-24:-18]))
    assert (pred["lower_80"] <= pred["rnn"]).all() and (pred["rnn"] <= pred["upper_80"]).all()
    # the score table is made from the same numbers
    scores = pd.read_csv(io.StringIO(result.stdout))
    naive_mae = scores[(scores.step == "all") & (scores.model == "naive")].MAE.iloc[0]
    assert naive_mae == pytest.approx((pred["actual"] - pred["naive"]).abs().mean())


def test_backtest_predictions_of_many_series_name_the_id_column_and_follow_the_extension(tmp_path):
    frame = pd.read_csv(ELEC).iloc[-120:]
    value = frame.columns[1]
    long = pd.concat([frame.assign(shop="a"), frame.assign(shop="b", **{value: frame[value] * 2})])
    data = tmp_path / "long.csv"
    long.to_csv(data, index=False)
    out = tmp_path / "pred.json"
    result = run("backtest", data, "--id-col", "shop", "--horizon", "4", "--folds", "2", "--seq-len", "12",
                 "--predictions", out, "--format", "csv", *FAST)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "pred.json").read_text().startswith("shop,")  # --format wins over the extension
    run("backtest", data, "--id-col", "shop", "--horizon", "4", "--folds", "2", "--seq-len", "12", "--level", "80",
        "--predictions", out, "-o", tmp_path / "scores.csv", *FAST)  # fmt: skip
    records = json.loads(out.read_text())
    assert len(records) == 2 * 2 * 4 and records[0]["shop"] == "a" and records[-1]["shop"] == "b"
    assert list(records[0]) == ["shop", "cutoff", "DATE", "actual", "rnn", "naive", "seasonal_naive", "lower_80",
                                "upper_80"]  # fmt: skip
    assert records[0]["cutoff"].startswith("2015-09-01") and records[0]["DATE"].startswith("2015-10-01")
    b = [r for r in records if r["shop"] == "b"]
    a = [r for r in records if r["shop"] == "a"]
    assert [r["actual"] for r in b] == pytest.approx([2 * r["actual"] for r in a])


def stdout_alone(args: list, option: str, message: str, table_file, fmt: list, unwritten=None) -> str:
    """`option -` beside the command's table on stdout is refused (exit 2, nothing written, `message`, no file
    `unwritten`); with the table in -o `table_file`, the run succeeds and stdout holds the option's document
    alone, returned."""
    refused = run(*args, option, "-", *fmt, prog_name="rnncast")
    assert refused.exit_code == 2 and refused.stdout == ""
    assert unwritten is None or not unwritten.exists()
    assert refused.stderr == f"Error: {message}; see 'rnncast {args[0]} --help'\n"
    done = run(*args, option, "-", "-o", table_file, "--format", "csv")
    assert done.exit_code == 0, done.stderr
    assert pd.read_csv(table_file).columns[0] == "target"
    return done.stdout


def test_backtest_predictions_to_stdout_need_the_scores_in_a_file(short, tmp_path):
    """`--predictions -` beside the score table on stdout would give two documents in one stream."""
    args = ["backtest", short, "--horizon", "6", "--folds", "2", "--level", "80", *FAST]
    message = (
        "--predictions - and the score table would both go to stdout; write the scores to a file with "
        "-o FILE (or the predictions with --predictions FILE)"
    )
    out = stdout_alone(args, "--predictions", message, tmp_path / "scores.csv", ["--format", "json"])
    pred = pd.read_csv(io.StringIO(out))  # stdout holds the predictions alone
    assert list(pred.columns)[:3] == ["cutoff", "DATE", "actual"] and len(pred) == 2 * 6


def test_fit_report_to_stdout_needs_the_metrics_in_a_file(short, tmp_path):
    """`--report -` meant a file named '-'; now stdout, refused beside the metrics table there (two documents)."""
    model = tmp_path / "m.rnncast"
    args = ["fit", short, "--horizon", "6", *FAST, "--model", model]
    message = (
        "--report - and the metrics table would both go to stdout; write the metrics to a file with "
        "-o FILE (or the report with --report FILE)"
    )
    report = json.loads(stdout_alone(args, "--report", message, tmp_path / "metrics.csv", [], unwritten=model))
    assert report["model"] == str(model) and report["epochs_run"] == 2 and report["horizon"] == 6
    assert not (tmp_path / "-").exists() and not Path("-").exists()


def test_evaluate_scores_the_steps_that_exist_when_fewer_than_the_horizon(short, short_model, tmp_path):
    more = tmp_path / "more.csv"
    lines = ELEC.read_text().splitlines()
    more.write_text("\n".join(lines[:150]) + "\n")  # 5 months after the model's training end, horizon 12
    result = run("evaluate", more, "--model", short_model, "--format", "csv", "--level", "80")
    assert result.exit_code == 0, result.output
    assert "Warning: only 5 of the 12 horizon steps have actual values after the model's training end" in result.stderr
    scores = pd.read_csv(io.StringIO(result.stdout))
    assert scores["step"].unique().tolist() == ["all", "1", "2", "3", "4", "5"]
    values = pd.read_csv(more).iloc[:, 1].to_numpy()
    naive = scores[(scores.step == "all") & (scores.model == "naive")].MAE.iloc[0]
    assert naive == pytest.approx(abs(values[144:149] - values[143]).mean())
    none_new = run("evaluate", short, "--model", short_model)
    assert none_new.exit_code == 65 and "no actual value to score after the model's training end" in none_new.stderr


def test_all_windows_help_says_it_scores_training_windows():
    text = " ".join(run("evaluate", "--help").output.split())
    assert "--all-windows" in text and "training windows too" in text


def counts(tmp_path, values) -> str:
    data = tmp_path / "counts.csv"
    data.write_text("v\n" + "".join(f"{v}\n" for v in values))
    return data


# Sales of a slow-moving item: mostly 0, 1 or 2 a day, now and then a burst.
SALES = [[0, 0, 1, 0, 2, 0, 0, 7, 0, 1][(i * 7 + i // 10) % 10] for i in range(200)]


def test_count_data_is_forecast_non_negative_by_default_and_it_never_raises_the_errors(tmp_path):
    from rnncast import api
    from rnncast.artifact import load

    data = counts(tmp_path, SALES)
    common = ["--time-col", "none", "--seq-len", "20", "--horizon", "5", "--hidden-size", "8", "--epochs", "3",
              "--ensemble", "1", "--no-guard", "--format", "csv"]  # fmt: skip
    clipped = run("fit", data, "--model", tmp_path / "c.rnncast", *common)
    free = run("fit", data, "--model", tmp_path / "f.rnncast", "--allow-negative", *common)
    assert load(tmp_path / "c.rnncast").meta["non_negative"] is True
    assert load(tmp_path / "f.rnncast").meta["non_negative"] is False
    a, b = (pd.read_csv(io.StringIO(r.stdout)).set_index("model").loc["rnn"] for r in (clipped, free))
    assert a["MAE"] <= b["MAE"] and a["RMSE"] <= b["RMSE"]  # same seed, same network: clipping only helps
    forecast, _ = api.forecast_file(tmp_path / "c.rnncast", levels=(80,))
    frame = forecast.frame()
    assert (frame["v"] >= 0).all() and (frame["v_lower_80"] >= 0).all()
    free_forecast, _ = api.forecast_file(tmp_path / "f.rnncast", levels=(80,))
    assert (free_forecast.frame()["v_lower_80"] < 0).any()  # what the clipping removed
    card = json.loads(run("info", "--model", tmp_path / "c.rnncast", "--format", "json").stdout)
    assert card["non_negative"] is True


def test_data_below_zero_is_not_clipped_unless_asked(tmp_path):
    from rnncast import api
    from rnncast.artifact import load

    data = counts(tmp_path, [v - 1 for v in SALES])  # reaches -1
    common = ["--time-col", "none", "--seq-len", "20", "--horizon", "5", *FAST, "-q"]
    run("fit", data, "--model", tmp_path / "d.rnncast", *common)
    assert load(tmp_path / "d.rnncast").meta["non_negative"] is False
    run("fit", data, "--model", tmp_path / "n.rnncast", "--non-negative", *common)
    forecast, _ = api.forecast_file(tmp_path / "n.rnncast", levels=(80,))
    assert (forecast.frame()[["v", "v_lower_80", "v_upper_80"]] >= 0).all().all()


def test_backtest_predictions_of_count_data_are_non_negative(tmp_path):
    data = counts(tmp_path, SALES)
    out = tmp_path / "p.csv"
    result = run("backtest", data, "--time-col", "none", "--seq-len", "20", "--horizon", "5", "--folds", "2",
                 "--level", "80", "--predictions", out, *FAST, "-q")  # fmt: skip
    assert result.exit_code == 0, result.output
    pred = pd.read_csv(out)
    assert (pred[["rnn", "lower_80", "upper_80"]] >= 0).all().all()
