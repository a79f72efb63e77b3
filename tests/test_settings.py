"""Settings are checked once, where they enter, before any data is read: each bad value names its option."""

import math

import pytest
from click.testing import CliRunner
from conftest import ELEC, settings

from rnncast import api
from rnncast.cli import cli
from rnncast.errors import UsageError
from rnncast.settings import Layout, Settings, WindowConfig, validate


@pytest.mark.parametrize(
    "bad,message",
    [
        (dict(windows=WindowConfig(val_frac=1.5)), "--val-frac"),
        (dict(windows=WindowConfig(val_frac=math.nan)), "--val-frac"),
        (dict(windows=WindowConfig(seq_len=0)), "--seq-len"),
        (dict(windows=WindowConfig(season=0)), "--season"),
        (dict(windows=WindowConfig(scaler="zscore")), "--scaler"),
        (dict(layout=Layout(id_col="shop", wide=True)), "--id-col and --wide"),
        (dict(id_embedding=4), "--id-embedding is for many series"),
        (dict(epochs=0), "--epochs"),
        (dict(lr=-1.0), "--lr"),
        (dict(device="tpu"), "--device"),
    ],
)
def test_each_bad_setting_is_refused_with_its_option_name(bad, message):
    with pytest.raises(UsageError, match=message):
        validate(settings(**bad))


def test_the_library_refuses_before_reading_anything(tmp_path):
    """A missing file would be exit 66: the settings error comes first, so nothing was read."""
    with pytest.raises(UsageError, match="--val-frac"):
        api.fit(tmp_path / "missing.csv", settings(windows=WindowConfig(val_frac=2.0)), model_path=None)
    with pytest.raises(UsageError, match="--val-frac"):
        api.backtest_file(tmp_path / "missing.csv", settings(windows=WindowConfig(val_frac=2.0)))


def test_defaults_are_the_same_at_every_entry_point(monkeypatch):
    """The CLI's defaults and the library's are one set: a fit through either trains the same network."""
    from rnncast.cli import _settings

    monkeypatch.delenv("RNNCAST_DEVICE")  # the suite's --device cpu (conftest): here the default itself is tested
    ctx = cli.commands["fit"].make_context("fit", [str(ELEC)])
    assert _settings(ctx.params) == Settings()


def test_many_series_backtest_refuses_the_removed_bf16_like_fit(tmp_path):
    """The precision check used to be skipped by the many-series backtest."""
    result = CliRunner().invoke(cli, ["backtest", str(ELEC), "--wide", "--precision", "bf16", "--device", "cpu"])
    assert result.exit_code == 2 and "--precision bf16 was removed" in result.output
