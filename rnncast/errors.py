"""One exception family; the CLI turns each into a one-line `Error: …` and its exit code.

Exit codes follow BSD sysexits, so cron jobs and scripts can tell faults apart:
0 success, 1 other failure (e.g. training diverged), 2 usage, 3 accuracy degraded (`history --check`),
65 bad data, 66 input missing or unreadable, 70 internal error, 73 cannot write output, 75 try again later.
"""

from __future__ import annotations

EX_FAILURE = 1
EX_USAGE = 2
EX_DEGRADED = 3  # not in sysexits: `history --check` found a model's accuracy degraded (an alarm, not a fault)
EX_DATAERR = 65
EX_NOINPUT = 66
EX_SOFTWARE = 70
EX_CANTCREAT = 73
EX_TEMPFAIL = 75


class RnncastError(Exception):
    """A failure the user can act on; the message says what to do, on one line."""

    exit_code = EX_FAILURE

    def __str__(self) -> str:
        # Messages quote the user's data (column names, cells): escape the control characters in it
        # (newlines, form feeds, terminal escapes) so the message stays one harmless line.
        return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in super().__str__())


class UsageError(RnncastError):
    """Options that contradict each other or the data."""

    exit_code = EX_USAGE


class DataError(RnncastError):
    """The input data is malformed or unsuitable (wrong columns, too short, ...)."""

    exit_code = EX_DATAERR


class InputError(RnncastError):
    """An input file is missing or cannot be read."""

    exit_code = EX_NOINPUT


class OutputError(RnncastError):
    """An output or model file cannot be written."""

    exit_code = EX_CANTCREAT


class LockedError(RnncastError):
    """Another run holds the lock on the model file."""

    exit_code = EX_TEMPFAIL


class TrainingError(RnncastError):
    """Training failed (loss became NaN or inf)."""

    exit_code = EX_FAILURE
