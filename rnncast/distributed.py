"""Training across processes and machines: torchrun's environment → one process group → one global model.

`torchrun --nproc-per-node N -m rnncast fit DATA` starts N copies of rnncast with WORLD_SIZE, RANK and
LOCAL_RANK set. Each copy joins the process group (gloo on CPU, nccl on CUDA with the
GPU of its LOCAL_RANK), gets the data rank 0 read, and trains the same network under DistributedDataParallel on its share of every
batch (train.py); rank 0 alone locks and writes the model file, the report and the history. Without
WORLD_SIZE (a plain `rnncast fit`) nothing here does anything.

A rank that fails records its error in the process group's key-value store before it exits; rank 0,
whose next collective then fails (or whom torchrun stops), prints that error as the run's one line.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from rnncast.errors import EX_FAILURE, EX_SOFTWARE, RnncastError, UsageError

TIMEOUT = timedelta(minutes=10)  # a collective that waits longer than this on a silent peer fails
_ERROR_KEY = "rnncast/error/"  # + rank: "exit code|message" of a rank that failed
T = TypeVar("T")
_GENERIC = "another rank stopped without a message (see torchrun's output above); no model was written"


@dataclass(frozen=True)
class World:
    size: int = 1  # processes training together (WORLD_SIZE)
    rank: int = 0  # this process among them (RANK); 0 writes the files
    local_rank: int = 0  # this process on its machine (LOCAL_RANK): its GPU

    @property
    def active(self) -> bool:
        return self.size > 1

    @property
    def main(self) -> bool:
        return self.rank == 0


class PeerFailed(RnncastError):
    """Another rank failed; this one stopped without writing anything."""

    exit_code = EX_FAILURE


def from_env() -> World:
    """The world torchrun describes in the environment; one process when WORLD_SIZE is unset."""
    values = {}
    for name, default in (("WORLD_SIZE", 1), ("RANK", 0), ("LOCAL_RANK", 0)):
        text = os.environ.get(name, "").strip()
        if text and not text.isdigit():
            raise UsageError(f"${name} is {text!r}, not a number; start several processes with torchrun")
        values[name] = int(text) if text else default
    world = World(values["WORLD_SIZE"] or 1, values["RANK"], values["LOCAL_RANK"])
    if world.rank >= world.size:
        raise UsageError(f"$RANK {world.rank} is not below $WORLD_SIZE {world.size}; start the processes with torchrun")
    return world


def current() -> World:
    """The world of the process group this process has joined; one process when it has joined none."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return World()
    return World(dist.get_world_size(), dist.get_rank(), from_env().local_rank)


@contextlib.contextmanager
def session(device) -> Iterator[World]:
    """Join the process group for the duration (a no-op for one process); failures become one line on rank 0.

    `device` is this rank's torch.device (train.resolve_device gives cuda:LOCAL_RANK under torchrun):
    nccl for CUDA, gloo otherwise.
    """
    world = from_env()
    if not world.active:
        yield world
        return
    import torch
    import torch.distributed as dist

    if device.type == "cuda":
        torch.cuda.set_device(device)
    try:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", timeout=TIMEOUT)
    except Exception as exc:  # no rendezvous: a wrong MASTER_ADDR/PORT, a port in use, a peer that never came
        failed = PeerFailed(
            f"cannot join the other training processes ({exc}); start the run with torchrun, "
            "with --standalone on one machine or one --rdzv-endpoint every machine can reach"
        )
        failed.rnncast_silent = not world.main  # every rank fails alike: rank 0 says it
        raise failed from None
    global _joined
    _joined = True
    previous = _stop_on_sigterm()
    try:
        yield world
    except KeyboardInterrupt as exc:  # Ctrl-C reaches every rank: rank 0 says it
        exc.rnncast_silent = not world.main
        raise
    except BaseException as exc:
        if isinstance(exc, PeerFailed) or _is_collective_failure(exc):
            failed = exc if isinstance(exc, PeerFailed) else _recorded_failure(world) or PeerFailed(_GENERIC)
            failed.rnncast_silent = not world.main
            if failed is exc:
                raise
            raise failed from None
        if _record(world, exc) and not world.main:
            exc.rnncast_silent = True  # rank 0 prints it, once for the run
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        with contextlib.suppress(Exception):
            dist.destroy_process_group()


_joined = False  # this process joined a process group (a real run across processes, not only its environment)


def joined() -> bool:
    """Whether this process has joined a process group (then gloo's threads live until the process ends)."""
    return _joined


def agree() -> None:
    """Wait until every rank has got here (before rank 0 writes the model): a rank that failed makes this fail."""
    import torch
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else None
        dist.all_reduce(torch.ones((), device=device))  # a peer that is gone makes this raise (gloo) or stall


def from_rank0(make: Callable[[], T]) -> T:
    """`make()` run on rank 0 alone, its result sent to every rank (pickled, between this run's own
    processes); simply `make()` for one process. Reading DATA this way was faster than every rank
    reading it (benchmarks/distributed_read.py), and DATA need only be on rank 0's machine."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return make()
    box = [make() if dist.get_rank() == 0 else None]
    dist.broadcast_object_list(box, 0)
    return box[0]


def all_sum(values):
    """Sum a tensor over every rank, in place (nothing for one process); every rank gets the same bits."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(values)
    return values


def same_everywhere(module) -> None:
    """Make every rank hold rank 0's weights and buffers, bit for bit (they should already: this makes sure)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        for tensor in module.state_dict().values():
            dist.broadcast(tensor, 0)


def _stop_on_sigterm():
    """torchrun stops the other ranks with SIGTERM when one fails: turn it into PeerFailed so that locks
    are released and rank 0 says why."""

    def stop(signum, frame):
        raise _recorded_failure(current()) or PeerFailed(_GENERIC)

    try:
        return signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread: leave signals alone
        return None


def _store():
    import torch.distributed as dist

    return dist.distributed_c10d._get_default_store()


def _record(world: World, exc: BaseException) -> bool:
    """Leave this rank's error in the store for rank 0 to print; False when the store is gone with rank 0."""
    message = str(exc) if isinstance(exc, RnncastError) else f"internal error ({type(exc).__name__}: {exc})"
    try:
        _store().set(f"{_ERROR_KEY}{world.rank}", f"{getattr(exc, 'exit_code', EX_SOFTWARE)}|{message}")
    except Exception:
        return False
    return True


def _recorded_failure(world: World) -> PeerFailed | None:
    """The first other rank's recorded error as a PeerFailed with its exit code, or None."""
    try:
        store = _store()
        for rank in range(world.size):
            key = f"{_ERROR_KEY}{rank}"
            if rank != world.rank and store.check([key]):
                code, _, message = store.get(key).decode().partition("|")
                failed = PeerFailed(f"rank {rank} of {world.size} failed: {message}; no model was written")
                failed.exit_code = int(code) if code.isdigit() else EX_FAILURE
                return failed
    except Exception:
        return None
    return None


# How a collective reports a peer that went away: gloo raises a plain RuntimeError with one of these.
_PEER_GONE = ("Connection closed by peer", "Connection reset by peer", "Broken pipe", "NCCL", "gloo")


def _is_collective_failure(exc: BaseException) -> bool:
    import torch.distributed as dist

    return isinstance(exc, dist.DistError) or (
        isinstance(exc, RuntimeError) and any(marker in str(exc) for marker in _PEER_GONE)
    )


def prints_error(exc: BaseException) -> bool:
    """Whether this process prints its `Error:` line: not where rank 0 prints it for the whole run."""
    return not getattr(exc, "rnncast_silent", False)


def env_rank() -> int:
    """RANK from the environment (0 when unset or unreadable), without joining anything."""
    text = os.environ.get("RANK", "").strip()
    return int(text) if text.isdigit() else 0
