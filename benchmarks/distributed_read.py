"""Every rank reads DATA, or rank 0 reads and broadcasts it? Times both for 2 CPU processes (gloo).

    torchrun --standalone --nproc-per-node 2 benchmarks/distributed_read.py

For each file, the wall-clock time until every rank holds the validated series: every rank reading
it at once (`collection.read_collection`), or rank 0 reading it alone and sending it to the others
(`broadcast_object_list`, pickled). Printed by rank 0.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch.distributed as dist

from rnncast import collection
from rnncast.settings import Layout, ReadOptions

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def files(folder: Path) -> dict[str, tuple[Path, ReadOptions, Layout]]:
    import defaults  # benchmarks/defaults.py: the M4 Weekly sample as long CSV

    m4 = folder / "m4w.csv"
    m4.write_text(defaults.m4_weekly(359))
    return {
        "ETTh1, 7 series wide (17,420 rows)": (SHARED / "ett" / "ETTh1.csv", ReadOptions(), Layout(wide=True)),
        "M4 Weekly, 359 series long": (m4, ReadOptions(), Layout(id_col="id")),
    }


def main() -> None:
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    with tempfile.TemporaryDirectory() as tmp:
        chosen = files(Path(tmp)) if rank == 0 else None
        box = [chosen]
        dist.broadcast_object_list(box, 0)
        for name, (path, read, layout) in box[0].items():
            dist.barrier()
            start = time.perf_counter()
            collection.read_collection(path, read, layout)  # every rank at once
            dist.barrier()
            every_s = time.perf_counter() - start
            start = time.perf_counter()
            coll = collection.read_collection(path, read, layout) if rank == 0 else None  # rank 0 alone
            read_s = time.perf_counter() - start
            sent = [coll]
            dist.broadcast_object_list(sent, 0)
            one_s = time.perf_counter() - start
            if rank == 0:
                print(f"{name}: every rank reads {every_s:.3f} s; rank 0 reads {read_s:.3f} s and broadcasts, "
                      f"{one_s:.3f} s in all (wall clock until every rank has the data)")  # fmt: skip
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
