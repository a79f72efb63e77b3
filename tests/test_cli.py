import io
import json
import os
import subprocess
import sys

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import ELEC, ETTH1, MACRO, ROOT, TINY

from rnncast import __version__
from rnncast.cli import cli

ELEC_COL = "STS.M.I7.W.TOVT.NS0016.4.000"


def run(*args, **kw):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False, **kw)


@pytest.mark.parametrize("command", [[], ["fit"], ["forecast"], ["info"]])
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
    assert frame["DATE"].tolist()[:2] == ["2016-06-01T00:00:00", "2016-07-01T00:00:00"]
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
    code = "import sys; from rnncast.cli import cli; assert 'torch' not in sys.modules and 'pandas' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_threads_and_precision_options(tmp_path):
    import torch

    before = torch.get_num_threads()
    try:
        fitted = run("fit", ELEC, "--model", tmp_path / "m.rnncast", "--threads", "2", *TINY)
        assert fitted.exit_code == 0, fitted.output
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    if not torch.cuda.is_available():
        refused = run("fit", ELEC, "--model", tmp_path / "b.rnncast", "--precision", "bf16", *TINY)
        assert refused.exit_code == 2
        assert refused.stderr.startswith("Error: --precision bf16 needs a CUDA GPU")
        assert not (tmp_path / "b.rnncast").exists()
