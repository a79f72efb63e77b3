"""One rank of a 2-process gloo run started by tests/test_distributed.py (WORLD_SIZE, RANK etc. in the environment).

python tests/ddp_worker.py step OUT.pt        one DDP step on sine windows; saves this rank's weights
python tests/ddp_worker.py fail in|after ARGS…   `rnncast ARGS…`, where rank 1 fails in training or after it
"""

from __future__ import annotations

import os
import sys

import numpy as np
import torch


def sine_windows(n_train: int, seq_len: int = 24, horizon: int = 6):
    """Training windows (exactly n_train) and 40 validation windows of a sine with period 12."""
    from rnncast import windowing

    n = n_train + horizon + 40 + seq_len + horizon
    t = np.arange(n)
    series = torch.tensor(np.sin(2 * np.pi * t / 12)[:, None] + 0.1 * np.cos(t)[:, None], dtype=torch.float32)
    w = windowing.make_windows(series, seq_len, horizon, 1)
    return w.take(0, n_train), w.take(len(w) - 40, 40)


def one_step(batch: int, ensemble: int = 2) -> tuple[dict, object]:
    """Weights after one optimizer step on `batch` windows (a second epoch never runs), and the TrainResult."""
    from rnncast import distributed, train
    from rnncast.model import Forecaster, ModelConfig

    tr_w, val_w = sine_windows(batch)
    torch.manual_seed(0)
    model = Forecaster(ModelConfig(horizon=6, hidden_size=8, segment=4, ensemble=ensemble))
    cfg = train.TrainConfig(epochs=1, batch_size=batch, lr=0.01, threads=1)
    with distributed.session(torch.device("cpu")):
        result = train.fit(model, tr_w, val_w, cfg)
    return {k: v.clone() for k, v in model.state_dict().items()}, result


def main() -> None:
    mode = sys.argv[1]
    if mode == "step":
        state, result = one_step(int(sys.argv[3]))
        torch.save({"state": state, "val": result.best_val_loss, "world": result.world_size}, sys.argv[2])
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)  # as the CLI does after a run across processes: gloo's teardown can abort (see clikit.Cli.main)
    where, args = sys.argv[2], sys.argv[3:]
    from rnncast import distributed, fitting, train

    if distributed.env_rank() == 1:
        if where == "in":  # the third step of rank 1 fails while rank 0 waits in DDP's all-reduce
            real, calls = train.shared_loss, []

            def failing(*a):
                calls.append(1)
                if len(calls) == 3:
                    raise RuntimeError("injected failure in training")
                return real(*a)

            train.shared_loss = failing
        else:  # after training: rank 0 waits to agree before writing the model

            def failing_guard(*a):
                raise RuntimeError("injected failure after training")

            fitting.fit_guard = failing_guard
    from rnncast.cli import main as cli_main

    sys.argv = ["rnncast", *args]
    cli_main()


if __name__ == "__main__":
    main()
