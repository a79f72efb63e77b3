import pytest
from click.testing import CliRunner
from conftest import ELEC

from rnncast import api, artifact, render
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


def test_plot_curves_of_an_ensemble_mark_each_members_kept_epoch(tmp_path):
    """Members stop apart: the chart marks the epochs they were kept at, not the lowest point of the
    ensemble's curve (an epoch no member was chosen by), and its title agrees with `rnncast fit`."""
    model = tmp_path / "members.rnncast"
    args = ["--hidden-size", "8", "--epochs", "40", "--patience", "3", "--lr", "0.01", "--ensemble", "3", "--seed", "0"]
    assert run("fit", ELEC, "--model", model, *args, "--quiet").exit_code == 0
    t = artifact.load(model).meta["training"]
    members = sorted(t["member_epochs"])
    assert len(set(members)) > 1, members  # they did stop apart here
    out = tmp_path / "loss.svg"
    assert run("plot", "--model", model, "--curves", "-o", out).exit_code == 0
    text = out.read_text()
    assert f"members' best epochs {', '.join(map(str, members))}" in text
    assert f"members' best {', '.join(map(str, members))}" in text and "best epoch " not in text


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


def test_terminal_chart_draws_history_forecast_actuals_and_the_widest_interval(older_model):
    from rnncast.plot import terminal_chart

    picture, sid = api.forecast_picture(older_model, ELEC, (80.0, 95.0))
    assert sid == "" and len(picture.forecast) == 12 and len(picture.actual) == 12
    lines = terminal_chart(picture, width=80, height=16).splitlines()
    assert lines[0] == f"forecast after 2014-05-01 (old.rnncast): {ELEC_COL}"
    assert len(lines) == 1 + 16 + 1 and all(len(line) <= 80 for line in lines)
    body = "\n".join(lines[1:-1])
    assert body.count("●") == 12 and "·" in body and "×" in body and "░" in body  # one ● per step
    assert lines[-1].split() == ["·", "history", "●", "forecast", "×", "actual", "░", "95%", "interval"]
    top = max(picture.history.max(), picture.bounds[95.0][1].max(), picture.actual.max())
    assert lines[1].split()[0] == f"{top:.4g}"  # the y axis ends at the highest value drawn


def test_plot_without_output_on_a_terminal_draws_text(older_model, tmp_path):
    import sys

    from test_pipelines import _on_a_terminal

    args = [sys.executable, "-m", "rnncast", "plot", "--model", str(older_model), "--quiet"]
    shown = _on_a_terminal(args, tmp_path, {"TERM": "dumb", "COLUMNS": "80"})
    assert shown.startswith(f"forecast after 2014-05-01 (old.rnncast): {ELEC_COL}")
    assert "● forecast" in shown and not list(tmp_path.iterdir())  # no file written
    curves = _on_a_terminal([*args, "--curves"], tmp_path, {"TERM": "dumb"})
    assert curves.strip().startswith("Error: --curves draws no terminal chart: name a picture file with -o")


def test_a_default_level_the_model_cannot_support_is_left_out_not_a_refusal(tmp_path):
    """A model with one validation window has no 80% interval; plot without --level still draws."""
    short = tmp_path / "short.csv"
    short.write_text("\n".join(ELEC.read_text().splitlines()[:62]) + "\n")  # 61 months: one validation window
    model = tmp_path / "m.rnncast"
    fitted = run("fit", short, "--seq-len", "36", "--horizon", "12", "--hidden-size", "4", "--epochs", "1",
                 "--ensemble", "1", "--model", model)  # fmt: skip
    assert fitted.exit_code == 0, fitted.output
    drawn = run("plot", "--model", model, "-o", tmp_path / "p.png")
    assert drawn.exit_code == 0, drawn.output
    assert (tmp_path / "p.png").read_bytes()[:8] == PNG
    asked = run("plot", "--model", model, "--level", "80", "-o", tmp_path / "q.png")
    assert asked.exit_code == 2 and "--level 80 needs at least" in asked.output  # asked for: still refused


def test_plot_of_data_holding_only_rows_after_the_training_end_draws_the_saved_history(older_model, tmp_path):
    """A cron job's file of just the new actual values: the history comes from the model, the actuals from DATA."""
    lines = ELEC.read_text().splitlines()
    new = tmp_path / "new.csv"
    new.write_text("\n".join([lines[0], *lines[-24:]]) + "\n")  # the 24 months after the training end
    png = tmp_path / "new.png"
    result = run("plot", new, "--model", older_model, "-o", png)
    assert result.exit_code == 0, result.stderr
    assert png.read_bytes()[:8] == PNG
    with_data, _ = api.forecast_picture(older_model, new)
    saved, _ = api.forecast_picture(older_model)
    assert list(with_data.history_index) == list(saved.history_index)  # the model's last 36 months
    assert with_data.history[-1, 0] == float(lines[-25].split(",")[1])  # up to the training end, 2014-05
    assert with_data.actual[:, 0].tolist() == [float(line.split(",")[1]) for line in lines[-24:-12]]


def test_plot_of_data_ending_before_the_training_end_is_refused(older_model, tmp_path):
    """Its history would be drawn years before a forecast that does not follow from it."""
    lines = ELEC.read_text().splitlines()
    early = tmp_path / "early.csv"
    early.write_text("\n".join(lines[:101]) + "\n")  # 1995-01 .. 2003-04; the model was trained to 2014-05
    result = run("plot", early, "--model", older_model, "-o", tmp_path / "early.png")
    assert result.exit_code == 65
    assert result.stderr == (
        "Error: the data ends at 2003-04-01, before the model's training end 2014-05-01; plot draws the forecast "
        "after the training end: pass data that reaches it, or leave DATA out to draw the saved history\n"
    )
    assert not (tmp_path / "early.png").exists()
