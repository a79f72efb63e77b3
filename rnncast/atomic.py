"""Files that are either wholly old or wholly new, and a lock so cron runs never overlap."""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from rnncast.errors import LockedError, OutputError


def write_atomic(path: Path, payload: bytes) -> None:
    """Replace `path` with `payload` so that readers see the old file or the new one, never a mix."""
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise OutputError(f"cannot write {path} ({exc.strerror}); check the folder exists and is writable") from exc
    try:
        os.fchmod(fd, _mode_for(path))  # mkstemp makes it 0600; a refit must not hide the model from others
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {path} ({exc.strerror}); check the path and free space") from exc
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(directory, os.O_RDONLY)
        os.fsync(dir_fd)
        os.close(dir_fd)


def _mode_for(path: Path) -> int:
    """The permissions of the file being replaced, or what a new file gets under the umask."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextlib.contextmanager
def model_lock(path: str | Path) -> Iterator[None]:
    """Hold `PATH.lock` for the duration; a run that finds it held fails at once (exit 75).

    The lock file is removed on the way out, so a failed run leaves nothing behind. Removing it is
    safe because a run that locked a file another run has just removed sees that its inode is no
    longer the one at PATH.lock, and starts over with the new file.
    """
    if Path(path).is_dir():  # refused before any data is read or network trained
        raise OutputError(f"{path} is a directory, not a model file; pass --model FILE")
    lock_path = Path(f"{path}.lock")
    while True:
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutputError(f"cannot create lock {lock_path} ({exc.strerror}); check the folder is writable") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockedError(f"another rnncast run is writing {path} (lock {lock_path}); try again later") from None
        if _same_file(fd, lock_path):
            break
        os.close(fd)  # the previous holder removed this file after we opened it: lock the current one
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock_path)  # while still holding it, so no one can lock the removed inode unnoticed
        os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        at_path = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (at_path.st_dev, at_path.st_ino)
