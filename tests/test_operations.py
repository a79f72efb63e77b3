"""What unattended runs rely on: default levels that never stop a run, output formats, one field per meaning."""

import io
import json

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
    assert pd.read_csv(tmp_path / "f.csv")["DATE"].iloc[0] == "2007-01-01T00:00:00"
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
