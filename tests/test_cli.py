import io
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import BACKTEST_COLUMNS, ELEC, ETTH1, MACRO, ROOT, TINY

from rnncast import __version__
from rnncast.cli import cli

ELEC_COL = "STS.M.I7.W.TOVT.NS0016.4.000"


def run(*args, **kw):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False, **kw)


@pytest.mark.parametrize(
    "command",
    [[], ["fit"], ["forecast"], ["info"], ["backtest"], ["evaluate"], ["history"], ["diagnose"], ["plot"], ["tune"]],
)
def test_help_for_every_command(command):
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert "Usage: " in result.output


def test_version():
    assert run("--version").output.strip() == f"rnncast, version {__version__}"


def test_fit_prints_metrics_for_the_rnn_and_both_baselines(tmp_path):
    model = tmp_path / "m.rnncast"
    result = run("fit", ELEC, "--model", model, "--format", "csv", *TINY)
    assert result.exit_code == 0, result.output
    scores = pd.read_csv(io.StringIO(result.stdout))
    assert list(scores.columns) == ["target", "model", "MAE", "RMSE", "MAPE", "MASE"]
    assert scores["model"].tolist() == ["rnn", "naive", "seasonal naive (12)"]
    assert (scores["RMSE"] >= scores["MAE"]).all() and (scores["MAE"] > 0).all()
    # the seasonal-naive baseline does not depend on training: the same numbers every run
    snaive = scores.set_index("model").loc["seasonal naive (12)"]
    assert snaive["MAE"] == pytest.approx(2.9601, abs=1e-4)
    assert "seq_len 36 (from data), horizon 12 (from data)" in result.stderr
    assert model.exists()


def test_fit_json_metrics_and_forecast_in_every_format(tmp_path):
    model = tmp_path / "m.rnncast"
    fitted = run("fit", ELEC, "--model", model, "--format", "json", "--horizon", "6", *TINY)
    records = json.loads(fitted.stdout)
    assert {r["model"] for r in records} == {"rnn", "naive", "seasonal naive (12)"}

    csv_out = run("forecast", "--model", model, "--format", "csv").stdout
    frame = pd.read_csv(io.StringIO(csv_out))
    assert list(frame.columns) == ["DATE", ELEC_COL]
    assert frame["DATE"].tolist()[:2] == ["2016-06-01", "2016-07-01"]
    assert len(frame) == 6

    as_json = json.loads(run("forecast", "--model", model, "--format", "json").stdout)
    assert [r[ELEC_COL] for r in as_json] == pytest.approx(frame[ELEC_COL].tolist())
    assert as_json[0]["DATE"].startswith("2016-06-01")

    table = run("forecast", "--model", model, "--format", "table").stdout
    assert "2016-06-01" in table and ELEC_COL[:10] in table


def test_forecast_from_new_data_and_a_shorter_horizon(tmp_path):
    model = tmp_path / "m.rnncast"
    run("fit", ELEC, "--model", model, *TINY)
    tail = tmp_path / "tail.csv"
    lines = ELEC.read_text().splitlines()
    tail.write_text("\n".join([lines[0]] + lines[-40:]) + "\n")
    out = run("forecast", tail, "--model", model, "--horizon", "3", "--format", "csv").stdout
    saved = run("forecast", "--model", model, "--horizon", "3", "--format", "csv").stdout
    assert out == saved  # the model only reads the last seq_len rows


def test_several_targets_and_features(tmp_path):
    model = tmp_path / "m.rnncast"
    result = run("fit", MACRO, "--target", "realgdp", "--target", "unemp", "--features", "cpi,infl",
                 "--model", model, "--format", "csv", *TINY)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    scores = pd.read_csv(io.StringIO(result.stdout))
    assert sorted(set(scores["target"])) == ["realgdp", "unemp"]
    frame = pd.read_csv(io.StringIO(run("forecast", "--model", model, "--format", "csv").stdout))
    assert list(frame.columns) == ["date", "realgdp", "unemp"]
    assert frame["date"].iloc[0].startswith("2009-10-01")


def test_info_shows_the_model_card(tmp_path):
    model = tmp_path / "m.rnncast"
    run("fit", ETTH1, "--target", "OT", "--seq-len", "24", "--horizon", "12", "--model", model, *TINY, "--epochs", "1")
    card = dict(pd.read_csv(io.StringIO(run("info", "--model", model, "--format", "csv").stdout)).values)
    assert card["cell"] == "rnn" and card["seq_len"] == "24" and card["horizon"] == "12"
    assert card["frequency"] == "h" and card["targets"] == "OT"
    assert card["training_end"] == "2018-06-26T19:00:00"
    meta = json.loads(run("info", "--model", model, "--format", "json").stdout)
    assert 0 <= meta["clip_rate"] <= 1 and 0 < meta["grad_norm_p50"] <= meta["grad_norm_p90"] <= meta["grad_norm_max"]


@pytest.mark.parametrize(
    "args,code,message",
    [
        (["fit", "missing.csv"], 66, "Error: missing.csv: no such file; check the path"),
        (["fit", MACRO], 2, "Error: several numeric columns (realgdp, realcons"),
        (["fit", ELEC, "--target", "nope"], 2, "Error: --target 'nope' is not a column; columns are: DATE"),
        (["fit", ELEC, "--seq-len", "250"], 65, "too short for --seq-len 250"),
        (["fit", ELEC, "--val-frac", "1.5"], 2, "--val-frac must be between 0 and 1"),
        (["forecast", "--model", "absent.rnncast"], 66, "model file absent.rnncast not found; train one with"),
        (["forecast", "--model", ELEC], 65, "is not an rnncast model file"),
        (["backtest", ELEC, "--folds", "50"], 65, "too few for 50 folds of horizon 12; lower --folds or --horizon"),
        (["backtest", ELEC, "--level", "120"], 2, "--level 120 is not a percentage between 0 and 100"),
        (["backtest", ELEC, "--level", "99"], 2, "--level 99 needs at least 99 validation windows, the model has 35"),
        (["evaluate", "missing.csv", "--model", "absent.rnncast"], 66, "model file absent.rnncast not found"),
    ],
)
def test_user_mistakes_give_one_line_and_an_exit_code(tmp_path, monkeypatch, args, code, message):
    monkeypatch.chdir(tmp_path)
    result = run(*args, "--model" if args[0] == "fit" else "--quiet", *(["m.rnncast"] if args[0] == "fit" else []))
    assert result.exit_code == code
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert message in lines[0]
    assert "Traceback" not in result.output
    assert not (tmp_path / "m.rnncast").exists()


def test_cuda_without_a_gpu_is_a_usage_error(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = run("fit", ELEC, "--device", "cuda", "--model", tmp_path / "m.rnncast")
    assert result.exit_code == 2 and "no CUDA GPU" in result.stderr


def test_fit_then_forecast_as_a_real_pipeline(tmp_path):
    """What a cron job does: fit && forecast --format csv, read by another program."""
    exe = [sys.executable, "-m", "rnncast"]
    env = dict(os.environ, NO_COLOR="1")
    script = (
        f"{' '.join(exe)} fit {ELEC} --model m.rnncast --epochs 3 --hidden-size 8 --quiet > metrics.csv && "
        f"{' '.join(exe)} forecast --model m.rnncast --format csv | "
        f'{sys.executable} -c "import sys, pandas; f = pandas.read_csv(sys.stdin); print(len(f), f.columns[1])"'
    )
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"12 {ELEC_COL}"
    assert done.stderr == ""  # --quiet: nothing on stderr
    metrics = pd.read_csv(tmp_path / "metrics.csv")  # piped stdout defaults to csv
    assert "MASE" in metrics.columns


def test_help_does_not_import_torch():
    code = (
        "import sys; from rnncast.cli import cli; "
        "assert not {'torch', 'pandas', 'matplotlib'} & set(sys.modules), sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_forecast_with_levels_in_every_format(elec_model):
    frame = pd.read_csv(io.StringIO(run("forecast", "--model", elec_model, "--level", "80", "--level", "95").stdout))
    col = ELEC_COL
    assert list(frame.columns) == [
        "DATE",
        col,
        f"{col}_lower_80",
        f"{col}_upper_80",
        f"{col}_lower_95",
        f"{col}_upper_95",
    ]
    assert (frame[f"{col}_lower_95"] < frame[f"{col}_lower_80"]).all()
    assert (frame[f"{col}_lower_80"] < frame[col]).all() and (frame[col] < frame[f"{col}_upper_80"]).all()
    assert (frame[f"{col}_upper_80"] < frame[f"{col}_upper_95"]).all()
    plain = pd.read_csv(io.StringIO(run("forecast", "--model", elec_model).stdout))
    assert frame[col].tolist() == pytest.approx(plain[col].tolist())  # intervals leave the point forecast alone

    records = json.loads(run("forecast", "--model", elec_model, "--level", "90", "--format", "json").stdout)
    assert records[0][f"{col}_lower_90"] < records[0][col] < records[0][f"{col}_upper_90"]
    args = ["forecast", "--model", elec_model, "--level", "90", "--horizon", "2"]
    two = pd.read_csv(io.StringIO(run(*args, "--format", "csv").stdout))
    table = run(*args, "--format", "table", env={"COLUMNS": "80"}).stdout
    assert f"Forecast of {col}" in table  # the full name once; the column shortened in the middle
    header = next(line for line in table.splitlines() if "DATE" in line).split()
    assert header == ["DATE", "STS.M.I7.…0016.4.000", "lo", "90", "hi", "90"]
    assert f"{two[f'{col}_upper_90'][1]:.1f}" in table and f"{two[f'{col}_lower_90'][0]:.1f}" in table  # ~100: 4 digits
    assert "2016-06-01" in table


def test_backtest_on_real_data_in_every_format(shared_data):
    etth1 = shared_data / "ett" / "ETTh1.csv"
    args = [
        "backtest",
        etth1,
        "--target",
        "OT",
        "--seq-len",
        "24",
        "--horizon",
        "6",
        "--folds",
        "2",
        *TINY,
        "--threads",
        "1",
    ]
    result = run(*args, "--epochs", "1", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    frame = pd.read_csv(io.StringIO(result.stdout))
    assert list(frame.columns) == BACKTEST_COLUMNS
    assert frame["model"].tolist()[:3] == ["rnn", "naive", "seasonal naive (24)"]
    assert frame["step"].astype(str).tolist()[::3] == ["all", "1", "2", "3", "4", "5", "6"]
    # the naive forecast of the last 12 hours of ETTh1 OT, by hand: rows 17408..17419 from rows 17407 and 17413
    ot = pd.read_csv(etth1)["OT"].to_numpy()
    naive = [abs(ot[17408 + h] - ot[17407]) for h in range(6)] + [abs(ot[17414 + h] - ot[17413]) for h in range(6)]
    overall = frame[(frame.step == "all") & (frame.model == "naive")].iloc[0]
    assert overall.MAE == pytest.approx(sum(naive) / 12)
    assert "fold 2/2: origin 2018-06-26T14:00:00" in result.stderr
    assert "80% interval:" in result.stderr

    records = json.loads(run(*args, "--epochs", "1", "--format", "json", "--level", "90").stdout)
    assert records[0]["step"] is None and records[0]["all_steps"] is True  # json: a number, or null over all steps
    assert records[3]["step"] == 1 and records[3]["all_steps"] is False
    assert records[0]["MAE"] == pytest.approx(frame.MAE[0])  # same seed, same numbers
    assert 0 <= records[0]["coverage_90"] <= 100 and records[1]["coverage_90"] is None
    table = run(*args, "--epochs", "1", "--format", "table").stdout
    assert "Backtest, 2 fold(s)" in table and "season" in table and "rnn" in table


def test_backtest_on_sample_data(tmp_path):
    result = run("backtest", ELEC, "--horizon", "3", "--folds", "2", "--format", "csv", *TINY)
    assert result.exit_code == 0, result.stderr
    frame = pd.read_csv(io.StringIO(result.stdout))
    assert set(frame.model) == {"rnn", "naive", "seasonal naive (12)"} and len(frame) == 3 * 4
    assert (frame.MAE > 0).all() and (frame.RMSE >= frame.MAE).all()
    assert "seq_len 36 (from data), horizon 3, season 12 (from data);" in result.stderr  # --horizon: given


def test_backtest_says_which_lengths_it_chose_from_the_data_as_fit_does():
    """ETTh1's default backtest: the long hourly window and the horizon, both chosen from the data."""
    result = run("backtest", ETTH1, "--target", "OT", "--folds", "1", "--format", "csv", *TINY[:-4], "--epochs", "1",
                 "--ensemble", "1", "--batch-size", "256")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "seq_len 336 (from data), horizon 24 (from data), season 24 (from data);" in result.stderr


def test_evaluate_new_actuals_in_every_format(tmp_path):
    """The cron job: a model fitted on older rows scores itself once newer actuals arrive."""
    lines = ELEC.read_text().splitlines()
    old, new = tmp_path / "old.csv", tmp_path / "new.csv"
    old.write_text("\n".join(lines[:-24]) + "\n")
    new.write_text("\n".join([lines[0]] + lines[-60:]) + "\n")  # only recent rows: history and new actuals
    model = tmp_path / "m.rnncast"
    run("fit", old, "--model", model, "--horizon", "6", *TINY)
    result = run("evaluate", new, "--model", model, "--format", "csv")
    assert result.exit_code == 0, result.stderr
    frame = pd.read_csv(io.StringIO(result.stdout))
    assert frame.columns.tolist()[-2:] == ["coverage_80", "coverage_95"]
    assert "scored 19 window(s) with targets from 2014-06-01" in result.stderr
    values = pd.read_csv(ELEC)[ELEC_COL].to_numpy()
    n = len(values)
    naive_mae = np.mean([abs(values[o + h] - values[o - 1]) for o in range(n - 24, n - 5) for h in range(6)])
    row = frame[(frame.step == "all") & (frame.model == "naive")].iloc[0]
    assert row.MAE == pytest.approx(naive_mae)

    records = json.loads(run("evaluate", new, "--model", model, "--format", "json", "--level", "50").stdout)
    assert {r["model"] for r in records} == {"rnn", "naive", "seasonal naive (12)"}
    assert "coverage_50" in records[0] and "coverage_80" not in records[0]
    assert "Evaluation of" in run("evaluate", new, "--model", model, "--format", "table").stdout
    stale = run("evaluate", old, "--model", model, "--quiet")
    assert stale.exit_code == 65 and stale.stderr.startswith("Error: data has no actual value to score")


def test_threads_option_and_the_removed_precision(tmp_path):
    import torch

    before = torch.get_num_threads()
    try:
        fitted = run("fit", ELEC, "--model", tmp_path / "m.rnncast", "--threads", "2", "--precision", "fp32", *TINY)
        assert fitted.exit_code == 0, fitted.output
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    refused = run("fit", ELEC, "--model", tmp_path / "b.rnncast", "--precision", "bf16", *TINY)
    assert refused.exit_code == 2 and refused.stderr.count("\n") == 1
    assert refused.stderr.startswith("Error: --precision bf16 was removed: bf16 autocast measured 1.26x slower")
    assert "drop the option" in refused.stderr and not (tmp_path / "b.rnncast").exists()
    assert "--precision" not in run("fit", "--help").stdout


def test_tables_fit_80_columns_with_one_target_named_once():
    from rich.console import Console

    from rnncast import render

    frame = pd.DataFrame({"target": [ELEC_COL] * 2, "step": ["all", "1"], "model": ["seasonal naive (12)", "rnn"],
                          "MAE": [3.68912, 10.4613], "MASE": [0.46271, 1.0], "coverage_80": [float("nan"), 66.6667]})  # fmt: skip
    out = io.StringIO()
    Console(file=out, width=80, color_system=None).print(render.to_table(frame, "Backtest"))
    lines = out.getvalue().splitlines()
    assert lines[0].strip() == f"Backtest: {ELEC_COL}" and all(len(line) <= 80 for line in lines)
    assert lines[2].split() == ["step", "model", "MAE", "MASE", "cov", "80"]
    assert lines[4].split() == ["all", "seasonal", "naive", "(12)", "3.69", "0.463", "-"]  # one line, not wrapped
    assert lines[5].split() == ["1", "rnn", "10.46", "1.000", "66.67"]  # 4 digits of each column's largest
    assert render.short(ELEC_COL, 20) == "STS.M.I7.…0016.4.000" and render.short("OT", 20) == "OT"


def test_a_many_series_score_table_fits_80_columns_without_cutting_a_number(shared_data, tmp_path):
    """M4 Weekly's first five series, fitted on their training values and evaluated on the 13 test weeks: with
    an id column, `seasonal naive (52)` and four-digit errors the table was cut to `(mea…`, `1,0…` at 80
    columns."""
    from rich.console import Console

    from rnncast import api, render

    train = pd.read_csv(shared_data / "m4" / "Weekly-train.csv").head(5)
    test = pd.read_csv(shared_data / "m4" / "Weekly-test.csv").head(5)
    rows = []
    for (_, tr), (_, te) in zip(train.iterrows(), test.iterrows(), strict=True):
        values = [*tr.iloc[1:].dropna(), *te.iloc[1:].dropna()]
        dates = pd.date_range(end="2020-04-05", periods=len(values), freq="W-SUN")
        rows += [(tr["V1"], d.date(), v) for d, v in zip(dates, values, strict=True)]
    whole = pd.DataFrame(rows, columns=["id", "date", "value"])
    data, old = tmp_path / "m4.csv", tmp_path / "m4_train.csv"
    whole.to_csv(data, index=False)
    whole.groupby("id").head(-13).to_csv(old, index=False)
    model = tmp_path / "m4.rnncast"
    assert run("fit", old, "--id-col", "id", "--model", model, *TINY, "--quiet").exit_code == 0
    frame = api.evaluate_file(model, data).frame()
    out = io.StringIO()
    Console(file=out, width=80, color_system=None).print(render.to_table(frame, "Evaluation"))
    text = out.getvalue()
    assert "…" not in text and all(len(line) <= 80 for line in text.splitlines()), text
    mean = frame[(frame["id"] == "(mean)") & (frame["model"] == "seasonal naive (52)") & (frame["step"] == "all")]
    mae = float(mean["MAE"].iloc[0])
    shown = next(
        line for line in text.splitlines() if line.split()[:5] == ["(mean)", "all", "seasonal", "naive", "(52)"]
    )
    assert shown.split()[5] == f"{mae:,.0f}"  # four digits of the column's largest value: whole numbers here


def test_info_on_an_80_column_terminal_keeps_the_field_names_apart(elec_model, tmp_path):
    """The value column's long hash and alpha list squeezed the field column to 29 characters, so the three
    `val_mase_<target>_<model>` rows read alike; field names now keep both ends and the column keeps them."""
    import re

    from test_pipelines import _on_a_terminal

    args = [sys.executable, "-m", "rnncast", "info", "--model", str(elec_model)]
    shown = _on_a_terminal(args, tmp_path, {"TERM": "xterm-256color", "COLUMNS": "80"})
    lines = re.sub(r"\x1b\[[0-9;]*m", "", shown).replace("\r", "").splitlines()
    assert all(len(line) <= 80 for line in lines), shown
    fields = [line.split("  ")[0].strip() for line in lines if line.startswith(" val_mase_")]
    assert fields == ["val_mase_STS.M.I7.W…OVT.NS0016.4.000_rnn", "val_mase_STS.M.I7.W…T.NS0016.4.000_naive",
                      "val_mase_STS.M.I7.W…_seasonal naive (12)"]  # fmt: skip
    assert any(line.split()[:2] == ["seq_len", "36"] for line in lines)


def test_a_forecast_of_a_column_named_target_keeps_its_column_in_a_table(tmp_path):
    """Only the text `target` column of fit, backtest and evaluate is named once in the title: a data column
    called `target` holds forecasts, and one forecast step (or a flat forecast) must not become the title."""
    data = tmp_path / "target.csv"
    data.write_text(ELEC.read_text().replace(ELEC_COL, "target", 1))
    model = tmp_path / "t.rnncast"
    assert run("fit", data, "--model", model, *TINY, "--epochs", "1", "--ensemble", "1", "-q").exit_code == 0
    args = ("forecast", "--model", model, "--horizon", "1", "--level", "80")
    (row,) = json.loads(run(*args, "--format", "json").stdout)
    lines = run(*args, "--format", "table").stdout.splitlines()
    assert lines[0].strip() == "Forecast"
    assert lines[2].split() == ["DATE", "target", "lo", "80", "hi", "80"]
    values = [row[c] for c in ("target", "target_lower_80", "target_upper_80")]  # ~100: 4 digits, one decimal
    assert lines[4].split() == ["2016-06-01", *(f"{v:,.1f}" for v in values)]


def test_csv_from_plain_columns_is_what_pandas_wrote_and_json_holds_the_same_values():
    """render writes csv/json without pandas (start-up): on real rows with the cells outputs hold (blank floats,
    whole numbers with a missing one, flags, text with commas and quotes, hourly and zoned stamps) the csv is
    pandas' own `to_csv` text, and json has the values `to_json` had, missing and infinite as null."""
    from rnncast import render, timeindex

    ett = pd.read_csv(ETTH1, nrows=6, parse_dates=["date"])
    frame = pd.DataFrame({
        "series": ["OT", 'say "hi"', "a,b", "OT", "x", "y"], "date": ett["date"],
        "zoned": ett["date"].dt.tz_localize("UTC").dt.tz_convert("Europe/Berlin"),
        "OT": ett["OT"].where(ett.index != 2), "HUFL": ett["HUFL"].where(ett.index != 3, float("inf")),
        "rows": pd.array([1, None, 3, 4, 5, 6], dtype="Int64"), "ok": ett["OT"] > 29, "step": ["all", 1, 2, 3, 4, 5],
        "half": ett["OT"].astype("float32"),  # written as pandas writes float32: 30.531, not 30.5310001373291
    })  # fmt: skip
    stamped = frame.assign(**{c: timeindex.stamps(frame[c]) for c in ("date", "zoned")})
    assert render.to_text(frame, "csv") == stamped.to_csv(index=False)
    ours, theirs = json.loads(render.to_text(frame, "json")), json.loads(stamped.to_json(orient="records"))
    assert [list(r) for r in ours] == [list(r) for r in theirs]
    for mine, pandas_ in zip(ours, theirs, strict=True):
        assert mine == {k: pytest.approx(v) if isinstance(v, float) else v for k, v in pandas_.items()}
    assert ours[2]["OT"] is None and ours[3]["HUFL"] is None and ours[1]["rows"] is None and ours[0]["step"] == "all"
    assert ours[0]["zoned"] == "2016-07-01T02:00:00+02:00" and ours[0]["date"] == "2016-07-01T00:00:00"
    assert ours[0]["half"] == 30.531
    typed = render.Columns({"metrics": [{"MASE": {"OT": float("nan")}, "values": [1.5, float("inf")]}]})
    assert json.loads(render.to_text(typed, "json")) == [{"metrics": {"MASE": {"OT": None}, "values": [1.5, None]}}]
    from rich.console import Console

    table = io.StringIO()
    Console(file=table, width=200, color_system=None).print(render.to_table(render.Columns.of(frame)))
    assert table.getvalue().splitlines()[4].split()[-4] == "-"  # the missing whole number: `-`, like a missing float


def test_on_a_terminal_a_status_line_while_reading_then_an_epoch_bar_with_remaining_time():
    """No `epoch 0/100` while the data loads: the bar comes with the first epoch."""
    from rich.console import Console

    from rnncast.clikit import _progress
    from rnncast.train import EpochLog

    screen = io.StringIO()
    err = Console(file=screen, force_terminal=True, width=120)
    progress = _progress(err, verbose=False, reading="big.csv")
    with progress as on_epoch:
        assert progress.status is not None and progress.bar is None  # reading: a status line, no bar yet
        progress.planned()
        assert progress.status is None and progress.bar is None
        on_epoch(EpochLog(1, 40, 0.5, 0.4, True))
        task = progress.bar.tasks[0]
        assert (task.completed, task.total) == (1, 40)
        assert any(type(c).__name__ == "TimeRemainingColumn" for c in progress.bar.columns)
    assert "reading big.csv" in screen.getvalue()


def test_time_stamps_read_the_same_in_table_csv_and_json(tmp_path, elec_model):
    """Date alone when every stamp is at midnight (monthly), ISO date T time otherwise (hourly)."""
    monthly = {fmt: run("forecast", "--model", elec_model, "--format", fmt, "--horizon", "2").stdout
               for fmt in ("csv", "json", "table")}  # fmt: skip
    assert "2016-06-01," in monthly["csv"] and json.loads(monthly["json"])[0]["DATE"] == "2016-06-01"
    assert "2016-06-01 " in monthly["table"] and "T00:00" not in "".join(monthly.values())
    model = tmp_path / "h.rnncast"
    assert run("fit", ETTH1, "--target", "OT", "--seq-len", "24", "--horizon", "2", "--model", model, *TINY,
               "--epochs", "1", "--ensemble", "1").exit_code == 0  # fmt: skip
    hourly = {fmt: run("forecast", "--model", model, "--format", fmt).stdout for fmt in ("csv", "json", "table")}
    stamp = "2018-06-26T20:00:00"
    assert f"{stamp}," in hourly["csv"] and json.loads(hourly["json"])[0]["date"] == stamp and stamp in hourly["table"]


def test_on_cuda_fit_runs_there_and_refuses_a_network_too_big_for_the_gpu(tmp_path):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    small = ["--hidden-size", "8", "--epochs", "3"]
    fitted = run(
        "fit", ELEC, "--device", "cuda", *small, "--model", tmp_path / "m.rnncast", "--report", tmp_path / "r.json"
    )
    assert fitted.exit_code == 0, fitted.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["device"].startswith("cuda") and report["world_size"] == 1
    assert run("forecast", "--model", tmp_path / "m.rnncast", "--format", "csv").exit_code == 0
    big = run("fit", ELEC, "--device", "cuda", "--hidden-size", str(10**11), "--model", tmp_path / "big.rnncast")
    last = big.stderr.splitlines()[-1]  # after the lines that describe the data
    assert big.exit_code == 2 and last.startswith("Error: not enough memory for a network with --hidden-size")
    assert "cuda has" in last and not (tmp_path / "big.rnncast").exists()


def test_a_column_whose_name_holds_a_comma_is_named_in_quotes(tmp_path):
    # spreadsheet exports name columns "temp, °C": --features splits on commas, so it was "--features 'temp' is
    # not a column"; a quoted name (CSV quoting) is one column
    days = pd.date_range("2024-01-01", periods=150, freq="D")
    frame = pd.DataFrame({"when": days, "sales": 100 + np.arange(150) % 7 * 5.0, "temp, °C": np.arange(150) % 5.0,
                          "promo": np.arange(150) % 3 == 0})  # fmt: skip
    frame["promo"] = frame["promo"].astype(int)
    data = tmp_path / "odd.csv"
    frame.to_csv(data, index=False)
    model = tmp_path / "m.rnncast"
    result = run("fit", data, "--target", "sales", "--features", '"temp, °C",promo', "--model", model, *TINY)
    assert result.exit_code == 0, result.output
    card = json.loads(run("info", "--model", model, "--format", "json").stdout)
    assert card["features"] == ["temp, °C", "promo"]
    unquoted = run("fit", data, "--target", "sales", "--features", "temp, °C", "--model", model, *TINY)
    assert unquoted.exit_code == 2 and "--features 'temp' is not a column" in unquoted.output


def test_a_column_name_with_a_space_can_come_from_the_environment(tmp_path):
    # click splits a repeatable option's variable on whitespace: RNNCAST_FEATURES="max temp" read 'max' and 'temp'
    days = pd.date_range("2024-01-01", periods=150, freq="D")
    frame = pd.DataFrame({"when": days, "sales": 100 + np.arange(150) % 7 * 5.0, "max temp": np.arange(150) % 5.0,
                          "promo": (np.arange(150) % 3 == 0).astype(int)})  # fmt: skip
    data, model = tmp_path / "spaced.csv", tmp_path / "m.rnncast"
    frame.to_csv(data, index=False)
    env = {"RNNCAST_FEATURES": "max temp,promo"}
    result = run("fit", data, "--target", "sales", "--model", model, *TINY, env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(run("info", "--model", model, "--format", "json").stdout)["features"] == ["max temp", "promo"]


def test_targets_are_a_column_list_like_features_on_the_command_line_and_in_the_environment(tmp_path):
    # RNNCAST_TARGET="unit sales" was split on its space: "--target 'unit' is not a column"
    days = pd.date_range("2024-01-01", periods=150, freq="D")
    frame = pd.DataFrame({"when": days, "unit sales": 100 + np.arange(150) % 7 * 5.0, "returns": np.arange(150) % 5.0})
    data, model = tmp_path / "spaced.csv", tmp_path / "m.rnncast"
    frame.to_csv(data, index=False)
    result = run("fit", data, "--model", model, *TINY, env={"RNNCAST_TARGET": "unit sales"})
    assert result.exit_code == 0, result.output
    assert json.loads(run("info", "--model", model, "--format", "json").stdout)["targets"] == ["unit sales"]
    both = run("fit", data, "--target", "unit sales,returns", "--model", model, *TINY)
    assert both.exit_code == 0, both.output
    assert json.loads(run("info", "--model", model, "--format", "json").stdout)["targets"] == ["unit sales", "returns"]
