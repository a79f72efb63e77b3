"""Data files beyond plain CSV: Parquet and compressed CSV, read by their extension; damaged ones refused.

The same series written as CSV, Parquet, .csv.gz and .csv.zst must give the same model and forecast.
"""

import gzip
import io
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import zstandard
from click.testing import CliRunner
from conftest import ELEC, ROOT

from rnncast import history, reading
from rnncast.cli import cli
from rnncast.settings import ReadOptions

TINY = ["--epochs", "3", "--hidden-size", "8", "--ensemble", "1", "--seed", "0", "--quiet", "--format", "csv"]


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def elec_files(tmp_path) -> dict[str, str]:
    """elec_equip as CSV, Parquet (a real datetime column), .csv.gz and .csv.zst."""
    raw = ELEC.read_bytes()
    frame = pd.read_csv(ELEC)
    frame["DATE"] = pd.to_datetime(frame["DATE"], format="%b-%d-%Y")
    paths = {kind: tmp_path / f"elec{kind}" for kind in (".csv", ".parquet", ".csv.gz", ".csv.zst")}
    paths[".csv"].write_bytes(raw)
    frame.to_parquet(paths[".parquet"], index=False)
    paths[".csv.gz"].write_bytes(gzip.compress(raw))
    paths[".csv.zst"].write_bytes(zstandard.ZstdCompressor().compress(raw))
    return {kind: str(p) for kind, p in paths.items()}


def numbers(output: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(output))


@pytest.mark.parametrize("kind", [".parquet", ".csv.gz", ".csv.zst"])
def test_a_parquet_or_compressed_file_fits_and_forecasts_exactly_as_its_csv(tmp_path, kind):
    files = elec_files(tmp_path)
    outputs = {}
    for k in (".csv", kind):
        model = tmp_path / f"m{k}.rnncast"
        fitted = run("fit", files[k], "--model", model, *TINY)
        assert fitted.exit_code == 0, fitted.output
        forecast = run("forecast", files[k], "--model", model, "--format", "csv")
        assert forecast.exit_code == 0, forecast.output
        outputs[k] = numbers(fitted.stdout), numbers(forecast.stdout)
    (fit_csv, fc_csv), (fit_other, fc_other) = outputs[".csv"], outputs[kind]
    assert list(fc_other["DATE"]) == list(fc_csv["DATE"]) and fc_csv["DATE"].iloc[0] == "2016-06-01"
    target = "STS.M.I7.W.TOVT.NS0016.4.000"
    assert np.array_equal(fc_other[target].to_numpy(), fc_csv[target].to_numpy())
    assert np.array_equal(fit_other["MASE"].to_numpy(), fit_csv["MASE"].to_numpy())


def test_backtest_and_evaluate_read_parquet_and_compressed_files_as_their_csv(tmp_path, elec_model):
    files = elec_files(tmp_path)
    evaluated = {
        k: run("evaluate", files[k], "--model", elec_model, "--all-windows", "--format", "csv")
        for k in (".csv", ".parquet")
    }
    assert all(r.exit_code == 0 for r in evaluated.values())
    scores = numbers(evaluated[".csv"].stdout)
    assert len(scores) > 0 and numbers(evaluated[".parquet"].stdout).equals(scores)
    short = ["--folds", "1", *TINY]
    tested = {k: run("backtest", files[k], *short) for k in (".csv", ".csv.zst")}
    assert all(r.exit_code == 0 for r in tested.values()), tested[".csv.zst"].output
    folds = numbers(tested[".csv"].stdout)
    assert len(folds) > 0 and numbers(tested[".csv.zst"].stdout).equals(folds)


def test_parquet_keeps_its_types_a_zoned_time_column_becomes_utc(tmp_path):
    stamps = pd.date_range("2024-03-30 20:00", periods=60, freq="h", tz="Europe/Berlin")  # crosses the DST change
    frame = pd.DataFrame({"when": stamps, "count": np.arange(60, dtype=np.int64) % 7, "temp": np.linspace(-3, 4, 60)})
    path = tmp_path / "zoned.pq"
    frame.to_parquet(path, index=False)
    s = reading.read_series(path, ReadOptions(targets=("count",), features=("temp",)))
    assert s.freq == "h" and s.time_col == "when" and s.notes == []
    assert s.index[0] == pd.Timestamp("2024-03-30 19:00") and s.index.tz is None  # 20:00 CET is 19:00 UTC
    assert np.array_equal(s.values[:, 0], np.arange(60) % 7) and np.array_equal(s.values[:, 1], np.linspace(-3, 4, 60))
    as_csv = tmp_path / "zoned.csv"
    frame.to_csv(as_csv, index=False)  # the same stamps written with their offsets
    t = reading.read_series(as_csv, ReadOptions(targets=("count",), features=("temp",)))
    assert t.index.equals(s.index)  # values to the last bit but one: pandas 3.0's csv parser is off in the last
    np.testing.assert_allclose(t.values, s.values, rtol=1e-15, atol=1e-15)


def test_a_parquet_index_of_dates_is_read_as_the_time_column(tmp_path):
    frame = pd.DataFrame({"y": np.arange(40.0)}, index=pd.date_range("2020-01-01", periods=40, freq="D", name="day"))
    frame.to_parquet(tmp_path / "indexed.parquet")
    s = reading.read_series(tmp_path / "indexed.parquet", ReadOptions())
    assert s.time_col == "day" and s.freq == "D" and s.values[-1, 0] == 39.0


def damaged(tmp_path) -> dict[str, bytes]:
    good = tmp_path / "good.parquet"
    pd.read_csv(ELEC).to_parquet(good, index=False, write_page_checksum=True)
    body = bytearray(good.read_bytes())
    body[len(body) // 3] ^= 0xFF  # a flipped byte in the data: the page checksum fails
    zipped = gzip.compress(ELEC.read_bytes())
    return {
        "flipped.parquet": bytes(body),
        "truncated.parquet": good.read_bytes()[:300],
        "text.pq": ELEC.read_bytes(),
        "truncated.csv.gz": zipped[: len(zipped) // 2],
        "plain.csv.zst": ELEC.read_bytes(),
    }


@pytest.mark.parametrize(
    "name, message",
    [
        ("flipped.parquet", "is not a readable Parquet file (could not verify page integrity"),
        ("truncated.parquet", "is not a readable Parquet file (Could not open Parquet input source"),
        ("text.pq", "Parquet magic bytes not found"),
        ("truncated.csv.gz", "is not valid gzip data (Compressed file ended"),
        ("plain.csv.zst", "is not valid zstd data"),
    ],
)
def test_a_damaged_parquet_or_compressed_file_is_one_error_line_and_exit_65(tmp_path, name, message):
    path = tmp_path / name
    path.write_bytes(damaged(tmp_path)[name])
    model = tmp_path / "m.rnncast"
    done = subprocess.run(
        [sys.executable, "-m", "rnncast", "fit", str(path), "--model", str(model), "--epochs", "1"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 65 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"Error: {path}") and message in done.stderr
    assert "Traceback" not in done.stderr and not model.exists()


def test_the_run_history_counts_the_rows_inside_parquet_and_compressed_files(tmp_path):
    files = elec_files(tmp_path)
    rows = {kind: history.file_facts(path)[1] for kind, path in files.items()}
    assert rows == {".csv": 257, ".parquet": 257, ".csv.gz": 257, ".csv.zst": 257}
    assert reading.file_kind("x.PQ") == "parquet" and reading.file_kind("x.tsv.gz") == "gzip"
    assert reading.file_kind("x.csv") == "csv" and reading.file_kind("parquet.csv") == "csv"
