import io
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import ELEC, settings

from rnncast import api, artifact, atomic
from rnncast.errors import DataError, InputError, LockedError, OutputError


def test_round_trip_keeps_everything(elec_model):
    art = artifact.load(elec_model)
    meta = art.meta
    assert meta["data"]["targets"] == ["STS.M.I7.W.TOVT.NS0016.4.000"]
    assert meta["data"]["freq"] == "MS" and meta["data"]["end"] == "2016-05-01T00:00:00"
    assert meta["model"]["cell"] == "rnn" and meta["model"]["horizon"] == 12
    assert meta["model_seq_len"] == 36 and art.context.shape == (1, 36, 1)  # format 2: a series axis, always
    assert art.context[0, -1, 0] == pytest.approx(97.86)  # last row of the CSV
    assert meta["format_version"] == 3 and meta["model"]["highway"] == 36  # monthly: the highway by default
    assert meta["series"]["ids"] == [""] and meta["series"]["id_col"] is None
    assert {s["model"] for s in meta["metrics"]} == {"rnn", "naive", "seasonal naive (12)"}
    assert set(meta["versions"]) >= {"rnncast", "torch", "pandas", "numpy"}
    assert art.val_residuals.shape == (meta["data"]["val_windows"], 12, 1)
    assert "model.nets.0.rnn.weight_hh_l0" not in art.state_dict and "nets.0.rnn.weight_hh_l0" in art.state_dict


def test_saved_file_is_plain_safetensors(elec_model):
    from safetensors import safe_open

    with safe_open(str(elec_model), framework="pt") as f:
        assert f.metadata()["format"] == "rnncast"
        assert f.get_tensor("model.nets.0.head.weight").shape == (12, 8)


def test_failed_write_leaves_the_previous_file(tmp_path, elec_model, monkeypatch):
    path = tmp_path / "m.rnncast"
    path.write_bytes(elec_model.read_bytes())
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)  # rnncast.atomic calls os.replace
    with pytest.raises(OutputError, match="No space left"):
        artifact.save(artifact.load(elec_model), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.rnncast"]  # no temp file left behind


def test_failed_fit_leaves_the_previous_model(tmp_path, elec_model):
    path = tmp_path / "m.rnncast"
    path.write_bytes(elec_model.read_bytes())
    bad = tmp_path / "bad.csv"
    bad.write_text("v\n1\n2\n")
    with pytest.raises(DataError):
        api.fit(bad, model_path=path)
    assert path.read_bytes() == elec_model.read_bytes()


def test_bit_flip_is_detected(tmp_path, elec_model):
    raw = bytearray(elec_model.read_bytes())
    raw[-10] ^= 0x01  # inside the last tensor's bytes
    path = tmp_path / "flipped.rnncast"
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match="checksum"):
        artifact.load(path)


def test_truncated_and_foreign_files_are_refused(tmp_path, elec_model):
    truncated = tmp_path / "t.rnncast"
    truncated.write_bytes(elec_model.read_bytes()[:500])
    junk = tmp_path / "j.rnncast"
    junk.write_bytes(b"not a model at all")
    for path in (truncated, junk):
        with pytest.raises(DataError, match="not an rnncast model file"):
            artifact.load(path)
    with pytest.raises(InputError, match="not found"):
        artifact.load(tmp_path / "missing.rnncast")


def test_a_pickle_payload_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    hostile = tmp_path / "model.rnncast"
    hostile.write_bytes(pickle.dumps(Payload()))
    torch.save({"x": Payload()}, tmp_path / "torch.rnncast")
    for path in (hostile, tmp_path / "torch.rnncast"):
        with pytest.raises(DataError):
            artifact.load(path)
    assert not marker.exists()


def test_newer_format_is_refused(tmp_path, elec_model, monkeypatch):
    monkeypatch.setattr(artifact, "FORMAT_VERSION", 99)
    art = artifact.load(elec_model)
    path = tmp_path / "future.rnncast"
    artifact.save(art, path)
    monkeypatch.setattr(artifact, "FORMAT_VERSION", 1)
    with pytest.raises(DataError, match="newer rnncast.*upgrade"):
        artifact.load(path)


def test_lock_held_by_another_process_fails_fast(tmp_path):
    path = tmp_path / "m.rnncast"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import fcntl,os,sys,time; fd=os.open('{path}.lock', os.O_RDWR|os.O_CREAT); "
         "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockedError, match="try again later"):
            api.fit(ELEC, settings(hidden_size=4, epochs=1), model_path=path)
        assert not path.exists()
    finally:
        holder.kill()
        holder.wait()


def test_context_and_scaling_survive_exactly(tmp_path):
    result = api.fit(ELEC, settings(hidden_size=4, epochs=1), model_path=tmp_path / "m.rnncast")
    loaded = artifact.load(tmp_path / "m.rnncast")
    np.testing.assert_array_equal(loaded.context, result.artifact.context)
    np.testing.assert_array_equal(loaded.scaling.shift, result.artifact.scaling.shift)
    for k, v in result.artifact.state_dict.items():
        assert torch.equal(loaded.state_dict[k], v)


def test_format_version_zero_and_handmade_metadata_are_refused(tmp_path, elec_model):
    raw = elec_model.read_bytes()
    old = tmp_path / "v0.rnncast"
    old.write_bytes(re.sub(rb'"format_version":"\d+"', b'"format_version":"0"', raw))
    with pytest.raises(DataError, match="not an rnncast model file"):
        artifact.load(old)
    # A valid checksum over metadata this version cannot use (anyone can compute the checksum).
    from safetensors.torch import save_file

    tensors = {"context": torch.zeros(2, 1, dtype=torch.float64)}
    meta = '{"model": {"cell": "transformer"}}'
    save_file(tensors, str(tmp_path / "h.rnncast"), metadata={
        "format": "rnncast", "format_version": "1", "meta": meta, "sha256": artifact._checksum(meta, tensors)})  # fmt: skip
    with pytest.raises(DataError, match="not an rnncast model file"):
        artifact.load(tmp_path / "h.rnncast")


def test_the_lock_file_goes_away_and_a_removed_lock_is_not_trusted(tmp_path, monkeypatch):
    path = tmp_path / "m.rnncast"
    with atomic.model_lock(path):
        assert (tmp_path / "m.rnncast.lock").exists()
    assert not (tmp_path / "m.rnncast.lock").exists()
    # A run that opened the lock file just before its holder removed it must not trust that inode.
    real_flock, swapped = atomic.fcntl.flock, []

    def flock_after_the_file_was_replaced(fd, op):
        if not swapped:
            swapped.append(True)
            os.unlink(tmp_path / "m.rnncast.lock")
            (tmp_path / "m.rnncast.lock").touch()
        return real_flock(fd, op)

    monkeypatch.setattr(atomic.fcntl, "flock", flock_after_the_file_was_replaced)
    with atomic.model_lock(path):
        held = os.stat(tmp_path / "m.rnncast.lock").st_ino
        monkeypatch.setattr(atomic.fcntl, "flock", real_flock)
        with pytest.raises(LockedError):  # the file at the path is the one really held
            with atomic.model_lock(path):
                pass
        assert os.stat(tmp_path / "m.rnncast.lock").st_ino == held


def test_saving_keeps_the_replaced_files_permissions(tmp_path, elec_model):
    art = artifact.load(elec_model)
    path = tmp_path / "m.rnncast"
    old_umask = os.umask(0o022)
    try:
        artifact.save(art, path)
        assert path.stat().st_mode & 0o777 == 0o644  # a new file follows the umask, not mkstemp's 0600
        path.chmod(0o640)
        artifact.save(art, path)
        assert path.stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old_umask)


FIXTURES = Path(__file__).parent / "fixtures"
# A saved network's forecast on another torch build or CPU: float32 kernels round differently (torch 2.11+cu130
# on an Intel Xeon forecast these files 3.5e-8 apart, relatively), far inside float32's own 1.2e-7 step.
FLOAT32_RTOL = 1e-6


@pytest.mark.parametrize("name", ["v1_single", "v1_wide"])
def test_format_1_files_of_rnncast_0_1_still_load_and_forecast_the_same(name):
    """Committed files written by rnncast 0.1 (format 1), with the forecasts it printed for them."""
    art = artifact.load(FIXTURES / f"{name}.rnncast")
    assert art.meta["format_version"] == 1 and "panel" not in art.meta
    assert art.context.ndim == 3 and art.scaling.shift.shape[0] == len(art.meta["series"]["ids"])
    result, warnings = api.forecast_file(FIXTURES / f"{name}.rnncast", levels=(80,))
    expected = pd.read_csv(FIXTURES / f"{name}_forecast.csv")
    got = pd.read_csv(io.StringIO(result.frame().to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%S")))
    if name == "v1_wide":  # 0.1 called the id column `id`; wide data's is now `series`
        expected = expected.rename(columns={"id": "series"})
    assert list(got.columns) == list(expected.columns) and warnings == []
    for col in expected.columns:
        if expected[col].dtype.kind == "f":
            np.testing.assert_allclose(got[col], expected[col], rtol=FLOAT32_RTOL)
        else:
            assert got[col].tolist() == expected[col].tolist()


def test_a_format_2_calendar_model_still_reads_its_calendar_over_the_past_window_only():
    """Written by rnncast 0.2 (format 2, `--calendar`, no guard), with the forecast it printed: new fits read the
    forecast steps' calendar too, a format-2 file keeps the inputs it was trained with."""
    path = FIXTURES / "v2_calendar.rnncast"
    art = artifact.load(path)
    assert art.meta["format_version"] == 2 and "n_ahead" not in art.meta["model"] and art.meta["series"]["calendar"]
    result, warnings = api.forecast_file(path, levels=(80,))
    expected = pd.read_csv(FIXTURES / "v2_calendar_forecast.csv")
    got = pd.read_csv(io.StringIO(result.frame().to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%S")))
    assert list(got.columns) == list(expected.columns) and warnings == [] and got["date"].equals(expected["date"])
    np.testing.assert_allclose(got.drop(columns="date"), expected.drop(columns="date"), rtol=FLOAT32_RTOL)
    assert expected["OT"].nunique() == len(expected)  # the network's own forecast, not a flat naive one
    assert api.model_card(art.meta)["calendar_ahead"] is False and api.model_card(art.meta)["future_features"] == []


@pytest.mark.parametrize("name", ["v1_single", "v2_calendar"])
def test_a_model_file_made_before_loss_existed_is_shown_as_trained_on_mse(name):
    """Files written before --loss hold no train.loss: they trained on MSE, so info shows its best_val_mse."""
    meta = artifact.load(FIXTURES / f"{name}.rnncast").meta
    assert "loss" not in meta.get("train", {})
    card = api.model_card(meta)
    assert card["loss"] == "mse" and card["best_val_mse"] == card["best_val_loss"] == meta["training"]["best_val_loss"]
    assert card["refit_epochs"] is None and card["refit_windows"] is None


@pytest.mark.parametrize("field,value", [("highway", 37), ("cell_len", 40)])
def test_a_file_whose_highway_or_cell_reads_past_its_window_is_refused(tmp_path, elec_model, field, value):
    """A consistent checksum over a model whose highway or cell would read more steps than its saved window
    (36) holds: refused on load as not an rnncast model, not sliced into a wrong forecast later."""
    art = artifact.load(elec_model)
    art.meta["model"][field] = value
    path = tmp_path / "crafted.rnncast"
    path.write_bytes(artifact.to_bytes(art))
    with pytest.raises(DataError, match="not an rnncast model file"):
        artifact.load(path)
