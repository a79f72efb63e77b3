"""The command-line contract, as shells and cron see it: real processes, pipes, exit codes."""

import io
import json
import os
import pty
import subprocess
import sys

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import ELEC, MACRO

from rnncast import artifact
from rnncast.cli import cli

RNNCAST = f"{sys.executable} -m rnncast"
FAST = "--epochs 2 --hidden-size 4"
ESC = "\x1b["


def sh(script: str, cwd, env=None, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env or {})}
    return subprocess.run(["bash", "-c", f"set -o pipefail; {script}"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, **kw)  # fmt: skip


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A folder holding m.rnncast, fitted once through a real process reading stdin."""
    d = tmp_path_factory.mktemp("pipe")
    done = sh(f"cat {ELEC} | {RNNCAST} fit - --model m.rnncast {FAST} --quiet > metrics.csv", d)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return d


def test_stdin_fit_writes_csv_metrics_that_another_process_parses(model_dir):
    metrics = pd.read_csv(model_dir / "metrics.csv")
    assert metrics["model"].tolist() == ["rnn", "naive", "seasonal naive (12)"]
    assert metrics.loc[2, "MAE"] == pytest.approx(2.9601, abs=1e-4)


def test_stdin_forecast_piped_into_a_second_process(model_dir):
    parse = f'{sys.executable} -c "import sys, pandas; f = pandas.read_csv(sys.stdin); print(len(f), f.iloc[0, 0])"'
    done = sh(f"cat {ELEC} | {RNNCAST} forecast - --model m.rnncast | {parse}", model_dir)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["12", "2016-06-01"]
    assert done.stderr == ""


def test_head_closing_the_pipe_is_quiet(model_dir):
    done = sh(f"{RNNCAST} forecast --model m.rnncast --format csv | head -1", model_dir)
    assert done.returncode == 0
    assert done.stdout.startswith("DATE,")
    assert done.stderr == ""


def test_a_reader_that_is_gone_before_output_gives_no_traceback(model_dir):
    read, write = os.pipe()
    os.close(read)  # nobody will ever read: every write fails with EPIPE
    proc = subprocess.run(
        [sys.executable, "-m", "rnncast", "info", "--model", "m.rnncast", "--format", "json"],
        cwd=model_dir, stdout=write, stderr=subprocess.PIPE, text=True, timeout=120,
    )  # fmt: skip
    os.close(write)
    assert proc.returncode == 0
    assert "Traceback" not in proc.stderr and proc.stderr == ""


def test_messages_whose_reader_is_gone_cost_neither_the_model_nor_the_metrics(tmp_path):
    # `rnncast fit data.csv -v 2>&1 | head -20`: the reader of stderr leaves while fit runs; the messages are
    # lost, but the model and the metrics are not (rich's default is exit 1, "training failed", and no model)
    read, write = os.pipe()
    os.close(read)
    with open(tmp_path / "metrics.csv", "w") as out:
        proc = subprocess.run(
            [sys.executable, "-m", "rnncast", "fit", str(ELEC), "--model", "m.rnncast", *FAST.split(), "-v"],
            cwd=tmp_path, stdout=out, stderr=write, timeout=300,
        )  # fmt: skip
    os.close(write)
    assert proc.returncode == 0
    art = artifact.load(tmp_path / "m.rnncast")
    assert art.meta["training"]["epochs_run"] == 2
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    assert metrics["model"].tolist() == ["rnn", "naive", "seasonal naive (12)"]
    assert metrics.loc[2, "MAE"] == pytest.approx(2.9601, abs=1e-4)


def _on_a_terminal(args, cwd, env):
    """Run with stdout and stderr on a pseudo-terminal; return what the terminal showed."""
    main, child = pty.openpty()
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    proc = subprocess.Popen(args, cwd=cwd, stdout=child, stderr=child, env={**base, **env})
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(main)
    return b"".join(chunks).decode(errors="replace")


def test_colour_only_on_a_terminal_and_never_with_no_color_or_dumb_term(model_dir):
    args = [sys.executable, "-m", "rnncast", "forecast", "--model", "m.rnncast", "--format", "table"]
    coloured = _on_a_terminal(args, model_dir, {"TERM": "xterm-256color"})
    assert "2016-06-01" in coloured and ESC in coloured  # the check can fail: a terminal does get colour
    plain = _on_a_terminal(args, model_dir, {"TERM": "xterm-256color", "NO_COLOR": "1"})
    assert "2016-06-01" in plain and ESC not in plain
    dumb = _on_a_terminal(args, model_dir, {"TERM": "dumb"})
    assert "2016-06-01" in dumb and ESC not in dumb
    piped = subprocess.run(args, cwd=model_dir, capture_output=True, text=True, timeout=120)
    assert "2016-06-01" in piped.stdout and ESC not in piped.stdout + piped.stderr


def test_verbose_prints_each_epoch_on_stderr_only(tmp_path):
    done = sh(f"{RNNCAST} fit {ELEC} --model m.rnncast {FAST} --verbose --format csv", tmp_path)
    assert done.returncode == 0, done.stderr
    assert "epoch 1/2: train MSE" in done.stderr and "epoch 2/2" in done.stderr
    assert "epoch" not in done.stdout
    assert pd.read_csv(io.StringIO(done.stdout)).shape == (3, 6)


@pytest.mark.parametrize(
    "script,code,message",
    [
        (f"{RNNCAST} fit {ELEC} --model m.rnncast {FAST} --quiet", 0, None),
        (
            f"{RNNCAST} fit {ELEC} --model d.rnncast --lr 1e30 --clip 0 {FAST}",
            1,
            "loss became NaN at epoch 1; lower --lr",
        ),
        (f"{RNNCAST} fit {ELEC} --epochs 0", 2, "Invalid value for '--epochs'"),
        (f"{RNNCAST} fit {MACRO} --model x.rnncast", 2, "several numeric columns"),
        (f"printf 'v\\n1\\nx\\n' | {RNNCAST} fit - --time-col none --model x.rnncast", 65, "'x' at data row 2"),
        (f"{RNNCAST} fit nowhere.csv --model x.rnncast", 66, "nowhere.csv: no such file"),
        (f"{RNNCAST} forecast --model nowhere.rnncast", 66, "model file nowhere.rnncast not found"),
        (f"{RNNCAST} fit {ELEC} --model {ELEC}/m.rnncast {FAST}", 73, "cannot create lock"),
        (f"{RNNCAST} forecast --model m.rnncast --output {ELEC}/out.csv", 73, "cannot write"),
    ],
)
def test_exit_codes(model_dir, script, code, message):
    done = sh(script, model_dir)
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    if message:
        last = done.stderr.strip().splitlines()[-1]
        assert last.startswith("Error: ") and message in last
    assert not (model_dir / "x.rnncast").exists() and not (model_dir / "d.rnncast").exists()


def test_lock_held_by_another_process_exits_75_and_leaves_the_model(model_dir):
    before = (model_dir / "m.rnncast").read_bytes()
    hold = (f"{sys.executable} -c \"import fcntl, os, time; fd = os.open('m.rnncast.lock', os.O_RDWR | os.O_CREAT); "
            "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)\"")  # fmt: skip
    holder = subprocess.Popen(["bash", "-c", hold], cwd=model_dir, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        done = sh(f"{RNNCAST} fit {ELEC} --model m.rnncast {FAST}", model_dir)
        assert done.returncode == 75
        assert done.stderr.strip().splitlines()[-1].startswith("Error: another rnncast run is writing m.rnncast")
    finally:
        holder.kill()
        holder.wait()
    assert (model_dir / "m.rnncast").read_bytes() == before


def test_internal_errors_exit_70_with_a_traceback_only_when_verbose(monkeypatch, tmp_path):
    from rnncast import api

    def bug(*a, **k):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(api, "fit", bug)
    monkeypatch.chdir(tmp_path)
    quiet = CliRunner().invoke(cli, ["fit", str(ELEC)])
    assert quiet.exit_code == 70
    assert (
        quiet.stderr.strip() == "Error: internal error (ZeroDivisionError: a bug); rerun with --verbose and report it"
    )
    loud = CliRunner().invoke(cli, ["fit", str(ELEC), "--verbose"])
    assert loud.exit_code == 70 and "Traceback" in loud.stderr


def test_every_option_reads_its_environment_variable(model_dir):
    env = {"RNNCAST_MODEL": "m.rnncast", "RNNCAST_FORMAT": "json", "RNNCAST_HORIZON": "3"}
    done = sh(f"{RNNCAST} forecast", model_dir, env)
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)) == 3
    helptext = CliRunner().invoke(cli, ["fit", "--help"]).output
    for var in ("RNNCAST_MODEL", "RNNCAST_EPOCHS", "RNNCAST_DEVICE", "RNNCAST_SEQ_LEN", "RNNCAST_QUIET"):
        assert var in helptext


def test_output_file_and_report(tmp_path):
    done = sh(
        f"{RNNCAST} fit {ELEC} --model m.rnncast {FAST} --report run.json -o metrics.json --format json", tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert {r["model"] for r in json.loads((tmp_path / "metrics.json").read_text())} == {
        "rnn",
        "naive",
        "seasonal naive (12)",
    }
    report = json.loads((tmp_path / "run.json").read_text())
    assert report["epochs_run"] == 2 and report["best_epoch"] in (1, 2)
    assert report["device"] == "cpu" and report["seq_len"] == 36 and report["horizon"] == 12
    assert len(report["history"]) == 2 and report["timings"]["total_seconds"] >= report["timings"]["train_seconds"] > 0
    assert report["best_val_mse"] == min(h["val_mse"] for h in report["history"]) == report["best_val_loss"]
    assert report["loss"] == "mse"
    g = report["gradients"]  # clip statistics over every step of both epochs
    assert g["clip"] == 1.0 and g["steps"] > 2 and 0 <= g["clip_rate"] <= 1 and g["p50"] <= g["p99"] <= g["max"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files left


def test_loss_mae_is_named_wherever_the_loss_is_reported(tmp_path):
    done = sh(f"{RNNCAST} fit {ELEC} --model m.rnncast {FAST} --loss mae --report run.json --verbose", tmp_path)
    assert done.returncode == 0, done.stderr
    assert "epoch 1/2: train MAE " in done.stderr and ", val MAE " in done.stderr
    assert "(validation MAE " in done.stderr and "validation MSE" not in done.stderr.split("guard:")[0]
    report = json.loads((tmp_path / "run.json").read_text())
    assert report["loss"] == "mae" and report["best_val_mse"] is None
    assert report["best_val_loss"] == min(h["val_loss"] for h in report["history"])
    assert all(h["val_mse"] is None and h["train_loss"] > 0 for h in report["history"])
    card = json.loads(sh(f"{RNNCAST} info --model m.rnncast --format json", tmp_path).stdout)
    assert card["loss"] == "mae" and card["best_val_loss"] == report["best_val_loss"] and card["best_val_mse"] is None


def test_stale_data_warns_and_strict_refuses(model_dir):
    old = model_dir / "old.csv"
    lines = ELEC.read_text().splitlines()
    old.write_text("\n".join(lines[:101]) + "\n")  # ends in 2003, the model was trained to 2016
    warned = sh(f"{RNNCAST} forecast old.csv --model m.rnncast --format csv", model_dir)
    assert warned.returncode == 0
    assert "Warning: data ends at 2003-04-01, before the model's training end 2016-05-01" in warned.stderr
    assert len(pd.read_csv(io.StringIO(warned.stdout))) == 12
    strict = sh(f"{RNNCAST} forecast old.csv --model m.rnncast --strict", model_dir)
    assert strict.returncode == 65 and strict.stdout == ""
    assert strict.stderr.startswith("Error: data ends at 2003-04-01") and "--strict" in strict.stderr


def test_filled_gaps_warn_and_strict_refuses(model_dir):
    gappy = model_dir / "gappy.csv"
    lines = ELEC.read_text().splitlines()
    gappy.write_text("\n".join(lines[:-3] + lines[-2:]) + "\n")  # one month missing near the end
    warned = sh(f"{RNNCAST} forecast gappy.csv --model m.rnncast --format csv", model_dir)
    assert warned.returncode == 0 and "1 missing time step(s) added" in warned.stderr
    assert sh(f"{RNNCAST} forecast gappy.csv --model m.rnncast --strict", model_dir).returncode == 65


@pytest.mark.parametrize("command", ["fit", "forecast", "info"])
def test_command_help_imports_no_torch(command):
    code = (f"import sys; from rnncast.cli import cli\ntry: cli(['{command}', '--help'])\nexcept SystemExit: pass\n"
            "assert 'torch' not in sys.modules and 'pandas' not in sys.modules, 'heavy import'")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Usage: " in done.stdout


def test_model_written_by_the_pipeline_loads(model_dir):
    art = artifact.load(model_dir / "m.rnncast")
    assert art.meta["data"]["rows"] == 257
