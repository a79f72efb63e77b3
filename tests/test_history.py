"""The run history: one record per run, safe under concurrent cron jobs, never a reason to lose a forecast."""

import hashlib
import io
import json
import subprocess
import sys

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import ELEC

from rnncast import history
from rnncast.cli import cli

FAST = ["--hidden-size", "8", "--epochs", "2", "--ensemble", "1"]
RNNCAST = [sys.executable, "-m", "rnncast"]


def run(*args, **kw):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False, **kw)


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A history with a fit, a forecast, an evaluate, a backtest and a failed forecast of a 144-month series."""
    d = tmp_path_factory.mktemp("history")
    data, model, db = d / "air.csv", d / "air.rnncast", d / "runs.db"
    data.write_text("\n".join(ELEC.read_text().splitlines()[:145]) + "\n")
    out = {}
    out["fit"] = run("fit", data, "--model", model, "--history", db, *FAST, "--format", "csv")
    out["forecast"] = run("forecast", "--model", model, "--history", db, "--format", "csv")
    out["evaluate"] = run("evaluate", ELEC, "--model", model, "--history", db, "--format", "csv", "--level", "80")
    out["backtest"] = run("backtest", data, "--folds", "1", "--history", db, *FAST, "--format", "csv", "-q")
    out["failed"] = run("forecast", d / "missing.csv", "--model", model, "--history", db)
    return d, data, model, db, out


def test_each_run_appends_one_record_with_its_facts_and_metrics(recorded):
    d, data, model, db, out = recorded
    assert all(r.exit_code == 0 for k, r in out.items() if k != "failed")
    runs = history.runs(db)
    assert [r["command"] for r in runs] == ["fit", "forecast", "evaluate", "backtest", "forecast"]
    fit, forecast, evaluate, backtest, failed = runs
    assert fit["arguments"][:2] == ["fit", str(data)] and "--history" in fit["arguments"]
    assert fit["model"] == str(model) and fit["model_sha256"] == sha256(model)
    assert fit["data_sha256"] == sha256(data) and fit["data_rows"] == 144 and fit["exit_code"] == 0
    assert fit["seconds"] > 0 and fit["started"].endswith("+00:00")
    scores = pd.read_csv(io.StringIO(out["fit"].stdout))
    assert [s["MASE"] for s in fit["metrics"]["scores"]] == pytest.approx(scores["MASE"].tolist())
    printed = pd.read_csv(io.StringIO(out["forecast"].stdout)).iloc[:, 1]
    assert forecast["metrics"]["horizon"] == 12 and forecast["data"] is None and forecast["data_rows"] is None
    assert forecast["metrics"]["values"][0]["first"] == pytest.approx(printed.iloc[0])
    assert forecast["metrics"]["values"][0]["last"] == pytest.approx(printed.iloc[-1])
    table = pd.read_csv(io.StringIO(out["evaluate"].stdout))
    network = table[(table.step == "all") & (table.model == "rnn")].MASE.iloc[0]
    target = table.target.iloc[0]
    assert evaluate["metrics"]["MASE"] == {target: pytest.approx(network)}
    assert evaluate["metrics"]["val_MASE"] == {target: pytest.approx(scores.MASE.iloc[0])}
    assert evaluate["data_rows"] == 257 and evaluate["metrics"]["windows"] == 257 - 144 - 11
    assert backtest["model"] is None and backtest["metrics"]["steps"] == 12
    assert failed["exit_code"] == 66 and failed["metrics"] == {}


def test_history_lists_and_filters_runs(recorded):
    d, data, model, db, out = recorded
    listed = pd.read_csv(io.StringIO(run("history", "--history", db, "--format", "csv").stdout))
    assert listed["command"].tolist() == ["fit", "forecast", "evaluate", "backtest", "forecast"]
    assert listed["data_rows"].tolist()[:1] == [144]
    last = pd.read_csv(io.StringIO(run("history", "--history", db, "--command", "forecast", "--last", "1").stdout))
    assert last["exit_code"].tolist() == [66]
    mine = run("history", "--history", db, "--model", model, "--format", "json").stdout
    records = json.loads(mine)
    assert [r["command"] for r in records] == ["fit", "forecast", "evaluate", "forecast"]
    assert records[1]["metrics"]["horizon"] == 12 and records[0]["arguments"][0] == "fit"  # typed in json


def add(db, model: str, mase: float, val: float, command: str = "evaluate", code: int = 0) -> None:
    metrics = {"MASE": {"y": mase}, "val_MASE": {"y": val}} if command == "evaluate" else {}
    history.append(db, history.Run("2026-01-01T00:00:00+00:00", command, [command], 1.0, code, model,
                                   metrics=metrics))  # fmt: skip


def test_check_compares_each_models_latest_evaluate_with_its_validation_mase(tmp_path):
    db = tmp_path / "runs.db"
    add(db, "/m/a.rnncast", 2.0, 1.0)  # an old bad run of a, superseded below
    add(db, "/m/a.rnncast", 1.1, 1.0)  # +10%: ok
    add(db, "/m/b.rnncast", 1.5, 1.0)  # +50%: degraded
    add(db, "/m/b.rnncast", 9.0, 1.0, code=65)  # a failed evaluate does not count
    result = run("history", "--history", db, "--check", "--format", "csv")
    assert result.exit_code == 3
    table = pd.read_csv(io.StringIO(result.stdout))
    assert table["status"].tolist() == ["ok", "degraded"]
    assert table["change_pct"].tolist() == pytest.approx([10.0, 50.0])
    assert "degraded: /m/b.rnncast y: MASE 1.5 against 1 at validation (+50%, tolerance 20%)" in result.stderr
    assert run("history", "--history", db, "--check", "--tolerance", "60").exit_code == 0
    assert run("history", "--history", db, "--check", "--model", "/m/a.rnncast").exit_code == 0


def test_check_table_fits_an_80_column_terminal_and_csv_keeps_every_value_whole(tmp_path):
    """A cron user reads --check on a terminal: the model path and the evaluation time were cut to `…`."""
    from test_pipelines import _on_a_terminal

    db = tmp_path / "runs.db"
    model = "/srv/forecast/models/shop-weekly-forecast-model.rnncast"
    add(db, model, 1.1, 1.0)
    shown = _on_a_terminal(
        [*RNNCAST, "history", "--history", str(db), "--check"], tmp_path, {"TERM": "dumb", "COLUMNS": "80"}
    )
    lines = shown.replace("\r", "").splitlines()
    assert all(len(line) <= 80 for line in lines), shown
    row = next(line.split() for line in lines if "rnncast" in line and "ok" in line)
    assert row == ["/srv/foreca…odel.rnncast", "2026-01-01T00:00", "1.000", "1.100", "10.00", "ok"]  # all readable
    whole = pd.read_csv(io.StringIO(run("history", "--history", db, "--check", "--format", "csv").stdout))
    assert whole.loc[0, "model"] == model and whole.loc[0, "evaluated"] == "2026-01-01T00:00:00+00:00"


def test_the_run_list_on_a_terminal_shows_when_what_and_how_each_run_ended(tmp_path):
    """On 80 columns the list showed only model_sha256, data_sha256, metrics and arguments: rich squeezed the id,
    start, command, exit code and paths to nothing. The table keeps what a person scans; csv and json keep all."""
    from test_pipelines import _on_a_terminal

    db = tmp_path / "runs.db"
    model, data = "/srv/forecast/models/shop-weekly-forecast-model.rnncast", "/srv/forecast/data/shop-2026-01.csv"
    history.append(db, history.Run("2026-01-01T02:00:07+00:00", "fit", ["fit", data], 12.5, 0, model, "ab" * 32,
                                   data, "cd" * 32, 1234, {"scores": []}))  # fmt: skip
    history.append(db, history.Run("2026-01-01T02:30:00+00:00", "forecast", ["forecast"], 0.25, 65, model))
    shown = _on_a_terminal([*RNNCAST, "history", "--history", str(db)], tmp_path, {"TERM": "dumb", "COLUMNS": "80"})
    lines = shown.replace("\r", "").splitlines()
    assert all(len(line) <= 80 for line in lines), shown
    rows = [line.split() for line in lines if "rnncast" in line]
    assert rows == [
        ["1", "2026-01-01T02:00", "fit", "12.50", "0", "/srv/f…rnncast", "/srv/f…-01.csv"],
        ["2", "2026-01-01T02:30", "forecast", "0.25", "65", "/srv/f…rnncast", "-"],
    ], shown
    whole = pd.read_csv(io.StringIO(run("history", "--history", db, "--format", "csv").stdout))
    assert whole.loc[0, "model"] == model and whole.loc[0, "data_sha256"] == "cd" * 32
    assert whole.loc[0, "started"] == "2026-01-01T02:00:07+00:00" and whole.loc[0, "arguments"] == f"fit {data}"


def test_check_with_nothing_evaluated_warns_and_a_missing_history_is_a_missing_input(tmp_path):
    db = tmp_path / "runs.db"
    add(db, "/m/a.rnncast", 0, 0, command="fit")
    nothing = run("history", "--history", db, "--check")
    assert nothing.exit_code == 0 and "Warning: no successful evaluate run in" in nothing.stderr
    missing = run("history", "--history", tmp_path / "none.db")
    assert missing.exit_code == 66 and missing.stderr.startswith("Error: no run history at")
    assert run("history").exit_code == 2


def test_a_history_that_cannot_be_written_warns_and_keeps_the_forecast(recorded, tmp_path):
    d, data, model, db, out = recorded
    expected = run("forecast", "--model", model, "--format", "csv").stdout
    for bad in (tmp_path / "no" / "such" / "dir.db", tmp_path):  # a missing folder; a folder
        result = run("forecast", "--model", model, "--history", bad, "--format", "csv")
        assert result.exit_code == 0 and result.stdout == expected
        assert result.stderr.startswith(f"Warning: cannot write the run history {bad}")
        assert result.stderr.rstrip().endswith("this run is not in it")
    junk = tmp_path / "junk.db"
    junk.write_text("not a database\n" * 100)
    result = run("forecast", "--model", model, "--history", junk, "--format", "csv")
    assert (
        result.exit_code == 0 and result.stdout == expected and "Warning: cannot write the run history" in result.stderr
    )
    failing = run("forecast", d / "missing.csv", "--model", model, "--history", junk)
    assert failing.exit_code == 66  # the run's own exit code, not the history's


def test_concurrent_processes_never_lose_a_record(tmp_path, recorded):
    d, data, model, db, out = recorded
    shared = tmp_path / "runs.db"
    writer = ("import sys; from rnncast import history\n"
              "for i in range(40):\n"
              "    history.append(sys.argv[1], history.Run('t', 'fit', [sys.argv[2], str(i)], 0.1, 0))\n")  # fmt: skip
    procs = [subprocess.Popen([sys.executable, "-c", writer, str(shared), f"w{k}"]) for k in range(6)]
    procs += [subprocess.Popen([*RNNCAST, "forecast", "--model", str(model), "--history", str(shared), "-q"],
                               stdout=subprocess.DEVNULL) for _ in range(2)]  # fmt: skip
    assert [p.wait(timeout=120) for p in procs] == [0] * 8
    runs = history.runs(shared)
    assert len(runs) == 6 * 40 + 2
    assert sorted((r["arguments"][0], r["arguments"][1]) for r in runs if r["command"] == "fit") == sorted(
        (f"w{k}", str(i)) for k in range(6) for i in range(40)
    )
    assert [r["command"] for r in runs].count("forecast") == 2


def test_history_help_imports_no_sqlite_torch_or_pandas():
    code = ("import sys; from rnncast.cli import cli\ntry: cli(['history', '--help'])\nexcept SystemExit: pass\n"
            "assert not {'torch', 'pandas', 'sqlite3'} & set(sys.modules), 'heavy import'")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Exit codes: 0 ok, 2 usage, 3 accuracy degraded" in done.stdout
