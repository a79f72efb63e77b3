import pytest
from click.testing import CliRunner
from conftest import ELEC

from rnncast import api, render
from rnncast.cli import cli

PNG = b"\x89PNG\r\n\x1a\n"
ELEC_COL = "STS.M.I7.W.TOVT.NS0016.4.000"


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def older_model(tmp_path_factory):
    """A model fitted on all but the last 24 months of the sample, so that DATA holds actuals after its end."""
    folder = tmp_path_factory.mktemp("plot")
    lines = ELEC.read_text().splitlines()
    old = folder / "old.csv"
    old.write_text("\n".join(lines[:-24]) + "\n")
    model = folder / "old.rnncast"
    done = run("fit", old, "--model", model, "--hidden-size", "8", "--epochs", "2", "--ensemble", "1", "--quiet")
    assert done.exit_code == 0, done.stderr
    return model


def test_plot_forecast_with_actuals_to_png_and_svg(older_model, tmp_path):
    png = tmp_path / "f.png"
    result = run("plot", ELEC, "--model", older_model, "-o", png, "--level", "80")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "" and f"drew {png}" in result.stderr
    data = png.read_bytes()
    assert data[:8] == PNG and len(data) > 20_000
    svg = tmp_path / "f.svg"
    assert run("plot", "--model", older_model, "-o", svg, "--quiet").exit_code == 0
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and ELEC_COL in text and "80% interval" in text
    assert "forecast after 2014-05-01" in text  # the training end, a date without its midnight


def test_plot_curves_from_the_kept_history(older_model, tmp_path):
    out = tmp_path / "loss.pdf"
    assert run("plot", "--model", older_model, "--curves", "-o", out).exit_code == 0
    assert out.read_bytes()[:5] == b"%PDF-"


def test_plot_refusals_are_one_line(older_model, tmp_path):
    cases = [
        (["plot", "--model", older_model], 2, "Error: stdout is not a terminal: name a picture file with -o FILE.png"),
        (["plot", "--model", older_model, "-o", tmp_path / "x.jpg"], 2, "Error: cannot draw to"),
        (["plot", ELEC, "--model", older_model, "--curves", "-o", tmp_path / "c.png"], 2, "Error: --curves draws"),
        (["plot", "--model", older_model, "--id", "x", "-o", tmp_path / "i.png"], 2, "Error: --id is for models"),
    ]
    for args, code, message in cases:
        result = run(*args)
        assert result.exit_code == code and result.stderr.startswith(message), result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())  # nothing written


def test_short_names_keep_both_ends():
    assert render.short(ELEC_COL, 20) == "STS.M.I7.…0016.4.000"
    assert len(render.short(ELEC_COL, 20)) == 20 and render.short("OT", 20) == "OT"


def test_plot_file_from_python_returns_the_series_drawn(elec_model, tmp_path):
    assert api.plot_file(elec_model, tmp_path / "p.png") == ""  # a single series has the empty id
    assert (tmp_path / "p.png").read_bytes()[:8] == PNG


def test_backtest_draws_each_fold_against_the_actuals(tmp_path):
    png = tmp_path / "bt.png"
    args = [
        "backtest",
        ELEC,
        "--horizon",
        "3",
        "--folds",
        "2",
        "--hidden-size",
        "8",
        "--epochs",
        "2",
        "--ensemble",
        "1",
    ]
    result = run(*args, "--format", "csv", "--plot", png)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("target,step,model") and f"drew {png}" in result.stderr
    data = png.read_bytes()
    assert data[:8] == PNG and len(data) > 20_000
    refused = run(*args, "--plot", tmp_path / "bt.gif")
    assert refused.exit_code == 2 and refused.stderr.startswith("Error: cannot draw to")
    assert "fold 1/2" not in refused.stderr  # refused before any training
