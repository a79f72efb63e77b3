"""Training across processes: 2 CPU processes with gloo, started here as torchrun would start them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from conftest import ELEC, ROOT

from rnncast import artifact, distributed, train
from rnncast.cli import cli
from rnncast.errors import UsageError

WORKER = Path(__file__).with_name("ddp_worker.py")
TINY = ["--device", "cpu", "--hidden-size", "8", "--epochs", "3", "--threads", "1"]
TIMEOUT = 120  # a hang is a failure, not a stuck suite


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_ranks(args_of_rank, cwd: Path) -> list[subprocess.CompletedProcess]:
    """Run `python ARGS` as ranks 0 and 1 of a 2-process world (the environment torchrun sets), both to the end."""
    port = free_port()
    procs = []
    for rank in (0, 1):
        env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE="2", RANK=str(rank),
                   LOCAL_RANK=str(rank), PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")  # fmt: skip
        procs.append(subprocess.Popen([sys.executable, *args_of_rank(rank)], cwd=cwd, env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))  # fmt: skip
    done = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            pytest.fail("a rank did not finish: the other one is stuck waiting")
        done.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return done


def test_one_ddp_step_on_two_half_batches_equals_one_process_on_the_whole_batch(tmp_path):
    import ddp_worker

    ranks = start_ranks(lambda r: [WORKER, "step", tmp_path / f"rank{r}.pt", "32"], tmp_path)
    assert [r.returncode for r in ranks] == [0, 0], ranks[0].stderr + ranks[1].stderr
    single, result = ddp_worker.one_step(32)
    saved = [torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1)]
    assert saved[0]["world"] == 2 and result.world_size == 1
    assert saved[0]["val"] == saved[1]["val"]  # all-reduced: both ranks see the same validation loss
    assert saved[0]["val"] == pytest.approx(result.best_val_loss, rel=1e-6)
    moved = 0.0
    for name, weight in single.items():
        assert torch.equal(saved[0]["state"][name], saved[1]["state"][name]), name  # one model on both ranks
        torch.testing.assert_close(saved[0]["state"][name], weight, rtol=1e-5, atol=1e-6)
        moved = max(moved, (weight - saved[0]["state"][name]).abs().max().item())
    # and the step did move the weights (Adam's first step is about lr = 0.01 per weight)
    torch.manual_seed(0)
    from rnncast.model import Forecaster, ModelConfig

    fresh = Forecaster(ModelConfig(horizon=6, hidden_size=8, segment=4, ensemble=2)).state_dict()
    assert max((fresh[k] - single[k]).abs().max().item() for k in fresh) > 0.005


def test_shares_of_a_batch_are_disjoint_and_cover_it():
    worlds = [distributed.World(3, r) for r in range(3)]
    parts = [list(train.share(10, w)) for w in worlds]
    assert sorted(sum(parts, [])) == list(range(10)) and [len(p) for p in parts] == [3, 3, 4]


@pytest.mark.parametrize("where", ["in training", "after training"])
def test_an_error_on_one_rank_ends_both_with_one_line_and_the_old_model_untouched(tmp_path, where):
    model = tmp_path / "m.rnncast"
    model.write_bytes(b"the old model")
    args = ["fit", str(ELEC), *TINY, "--model", str(model), "--format", "csv"]
    rank0, rank1 = start_ranks(lambda r: [WORKER, "fail", where.split()[0], *args], tmp_path)
    assert rank0.returncode == rank1.returncode == 70  # the failing rank's code (an internal error there)
    assert rank0.stderr.splitlines()[-1] == (
        f"Error: rank 1 of 2 failed: internal error (RuntimeError: injected failure {where}); no model was written"
    )
    assert [line for line in rank0.stderr.splitlines() if line.startswith("Error")] == [rank0.stderr.splitlines()[-1]]
    assert rank1.stderr == "" and rank0.stdout == rank1.stdout == ""  # rank 0 alone speaks
    assert model.read_bytes() == b"the old model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.rnncast"]  # no lock or temporary file left


def test_rank_0_failing_before_training_stops_rank_1_quietly(tmp_path):
    """Rank 0 alone takes the lock: a model path it cannot write fails there; rank 1 must not wait forever."""
    args = ["-m", "rnncast", "fit", str(ELEC), *TINY, "--model", str(tmp_path / "missing" / "m.rnncast")]
    rank0, rank1 = start_ranks(lambda r: args, tmp_path)
    assert rank0.returncode == 73 and rank1.returncode != 0
    assert rank0.stderr.startswith("Error: cannot create lock") and rank0.stderr.count("\n") == 1
    assert rank1.stderr == ""


def test_ranks_quiet_torchs_cpp_warnings_unless_the_user_set_a_level():
    """On the 16-core CUDA test machine rank 1 printed 40 lines of c10d stack frames ("recvValue failed ...
    Connection was likely closed") after rank 0's one-line error; the level is set before torch loads."""
    code = "import os; from rnncast.cli import quiet_peers; quiet_peers(); print(os.environ.get('TORCH_CPP_LOG_LEVEL'))"
    for world, mine, expected in (("2", None, "ERROR"), ("2", "INFO", "INFO"), ("1", None, "None"), ("", None, "None")):
        env = {k: v for k, v in os.environ.items() if k != "TORCH_CPP_LOG_LEVEL"}
        env.update(WORLD_SIZE=world, PYTHONPATH=str(ROOT), **({"TORCH_CPP_LOG_LEVEL": mine} if mine else {}))
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        assert out.stdout.strip() == expected, (world, mine)


def test_torchrun_fits_one_model_with_two_processes(tmp_path):
    """End to end: torchrun starts 2 ranks of `rnncast fit`; rank 0 writes the model, report and output once."""
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.exists():
        pytest.skip("torchrun is not beside this python")
    cmd = [str(torchrun), "--standalone", "--nproc-per-node", "2", "-m", "rnncast", "fit", str(ELEC), *TINY,
           "--report", "run.json", "--format", "csv"]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "run.json").read_text())
    assert report["world_size"] == 2 and report["device"] == "cpu" and report["epochs_run"] == 3
    meta = artifact.load(tmp_path / "model.rnncast").meta
    assert meta["training"]["world_size"] == 2
    assert done.stdout.count("target,model,MAE") == 1  # the metrics table once, from rank 0
    assert done.stderr.count("trained 3 epoch(s)") == 1
    # the same validation loss as one process training on whole batches, to float tolerance
    one = CliRunner().invoke(cli, ["fit", str(ELEC), *TINY, "--model", str(tmp_path / "one.rnncast"), "--quiet"])
    assert one.exit_code == 0, one.output
    alone = artifact.load(tmp_path / "one.rnncast").meta["training"]["history"]
    assert report["history"][-1]["val_mse"] == pytest.approx(alone[-1][1], rel=1e-4)
    assert sum(meta["training"]["history"], []) == pytest.approx(sum(alone, []), rel=1e-4)  # every epoch
    # each ensemble member kept at the same epoch of its own as one process keeps it
    members = artifact.load(tmp_path / "one.rnncast").meta["training"]["member_epochs"]
    assert report["member_epochs"] == meta["training"]["member_epochs"] == members and len(members) == 5


def test_distributed_runs_refuse_stdin_a_bad_rendezvous_and_a_bad_rank(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    result = CliRunner().invoke(cli, ["fit", "-", *TINY], input="a,b\n1,2\n")
    assert result.exit_code == 2
    assert (
        result.output == "Error: training across processes reads DATA from a file, not stdin; save it to a file first\n"
    )
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", "999999")  # no rendezvous possible: one line, not a traceback
    result = CliRunner().invoke(cli, ["fit", str(ELEC), *TINY, "--model", "never.rnncast"])
    assert result.exit_code == 1 and result.output.startswith("Error: cannot join the other training processes (")
    assert result.output.count("\n") == 1 and "start the run with torchrun" in result.output
    monkeypatch.setenv("RANK", "5")
    with pytest.raises(UsageError, match=r"\$RANK 5 is not below \$WORLD_SIZE 2"):
        distributed.from_env()


def test_a_plain_run_has_a_world_of_one(monkeypatch):
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert distributed.from_env() == distributed.World() and not distributed.current().active


def test_an_option_every_rank_refuses_before_joining_is_said_by_rank_0_alone(monkeypatch, tmp_path):
    """Each rank checks the same options before the world is joined: rank 0 says it, the others exit quietly."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WORLD_SIZE", "2")
    for rank, said in (("0", True), ("1", False)):
        monkeypatch.setenv("RANK", rank)
        stdin = CliRunner().invoke(cli, ["fit", "-", *TINY], input="a,b\n1,2\n")
        layouts = CliRunner().invoke(cli, ["fit", str(ELEC), *TINY, "--id-col", "x", "--wide"])
        assert stdin.exit_code == layouts.exit_code == 2
        assert stdin.output.startswith("Error: training across processes reads DATA from a file") == said
        assert layouts.output.startswith("Error: --id-col and --wide describe different layouts") == said
        assert said or stdin.output == layouts.output == ""


def test_commands_other_than_fit_refuse_to_run_once_per_rank(monkeypatch, tmp_path):
    """`torchrun … forecast` would forecast on every rank and print N times: refused, by rank 0 alone."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WORLD_SIZE", "2")
    for rank, said in (("0", True), ("1", False)):
        monkeypatch.setenv("RANK", rank)
        for command in (["forecast"], ["backtest", str(ELEC)], ["info"]):
            result = CliRunner().invoke(cli, command)
            assert result.exit_code == 2
            expected = f"Error: rnncast {command[0]} runs as one process; only fit trains across processes: run it without torchrun\n"
            assert result.output == (expected if said else "")
    monkeypatch.delenv("WORLD_SIZE")
    monkeypatch.delenv("RANK")
    assert CliRunner().invoke(cli, ["info"]).exit_code == 66  # one process: info runs (and finds no model)
