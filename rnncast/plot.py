"""Pictures: the forecast with its intervals after the history, loss curves, backtest folds, gradients by lag.

matplotlib (Agg backend, no display needed) is imported only here, and only when a picture is drawn.
Files are written atomically; the format follows the file's extension (png, svg or pdf).
"""

from __future__ import annotations

import io
from pathlib import Path

from rnncast.errors import UsageError

FORMATS = ("png", "svg", "pdf")
SIZE = (10, 5)  # inches; at DPI a 1000 x 500 image
DPI = 100


def image_format(path: str | Path) -> str:
    """The file's format from its extension, or a usage error naming the ones we write."""
    ext = Path(str(path)).suffix.lower().lstrip(".")
    if ext not in FORMATS:
        raise UsageError(f"cannot draw to {str(path)!r}: name a .png, .svg or .pdf file")
    return ext


def figure():
    """A fresh figure and axes on the Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    ax.grid(True, alpha=0.3)
    return fig, ax


def save(fig, path: str | Path) -> None:
    """Render the figure and write it atomically; the extension picks the format."""
    from rnncast.atomic import write_atomic

    fmt = image_format(path)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt)
    write_atomic(Path(path), buffer.getvalue())
