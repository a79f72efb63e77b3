import math
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import ELEC

from rnncast import train, windowing
from rnncast.errors import TrainingError, UsageError
from rnncast.model import Forecaster, ModelConfig
from rnncast.settings import validate_training


def sine_windows(n=300, seq_len=24, horizon=6):
    t = np.arange(n)
    series = torch.tensor(np.sin(2 * np.pi * t / 12)[:, None], dtype=torch.float32)
    w = windowing.make_windows(series, seq_len, horizon, 1)
    n_val = 40
    return w.take(0, len(w) - n_val - horizon), w.take(len(w) - n_val, n_val)


def trained_weights(seed):
    tr_w, val_w = sine_windows()
    torch.manual_seed(seed)
    model = Forecaster(ModelConfig(horizon=6, hidden_size=8))
    result = train.fit(model, tr_w, val_w, train.TrainConfig(epochs=4, batch_size=16, seed=seed, threads=1))
    return model.state_dict(), result


def test_same_seed_gives_bit_identical_weights():
    a, ra = trained_weights(3)
    b, rb = trained_weights(3)
    for k in a:
        assert torch.equal(a[k], b[k])
    assert ra.best_val_loss == rb.best_val_loss


def test_different_seeds_differ():
    a, _ = trained_weights(1)
    b, _ = trained_weights(2)
    assert not torch.equal(a["nets.0.head.weight"], b["nets.0.head.weight"])


def test_learns_a_sine_better_than_repeating_the_last_value():
    tr_w, val_w = sine_windows()
    torch.manual_seed(0)
    model = Forecaster(ModelConfig(horizon=6, hidden_size=16))
    result = train.fit(model, tr_w, val_w, train.TrainConfig(epochs=60, batch_size=32, lr=5e-3))
    naive = ((val_w.x[:, -1:, :1] - val_w.y) ** 2).mean().item()
    assert result.best_val_loss < 0.2 * naive


def test_early_stopping_restores_the_best_weights():
    tr_w, val_w = sine_windows()
    torch.manual_seed(0)
    model = Forecaster(ModelConfig(horizon=6, hidden_size=8))
    result = train.fit(model, tr_w, val_w, train.TrainConfig(epochs=200, lr=0.05, patience=3))
    assert result.epochs_run == result.best_epoch + 3 or result.epochs_run == 200
    assert train.mse(model, val_w) == pytest.approx(result.best_val_loss, rel=1e-6)
    assert result.best_val_loss == min(h.val_loss for h in result.history)


def test_each_member_of_an_ensemble_is_kept_at_its_own_best_epoch():
    """Members train together but stop apart: member j holds exactly the weights it had after its own best
    epoch (a run of that many epochs without validation, the same seed, reaches them bit for bit: the same
    batches), training ends when every member's patience has run out, and the loss reported is the
    ensemble's as kept. A refit given the members' epochs keeps each at its own."""
    tr_w, val_w = sine_windows()
    cfg = train.TrainConfig(epochs=80, batch_size=32, lr=0.02, patience=4, threads=1)
    torch.manual_seed(0)
    model = Forecaster(ModelConfig(horizon=6, hidden_size=8, ensemble=3))
    result = train.fit(model, tr_w, val_w, cfg)
    epochs = result.member_epochs
    assert len(epochs) == 3 and len(set(epochs)) > 1, epochs  # the members did stop apart here
    assert result.best_epoch == max(epochs) and result.epochs_run == min(max(epochs) + 4, 80)
    assert train.mse(model, val_w) == pytest.approx(result.best_val_loss, rel=1e-6)
    for j, epoch in enumerate(epochs):
        torch.manual_seed(0)
        alone = Forecaster(ModelConfig(horizon=6, hidden_size=8, ensemble=3))
        train.fit(alone, tr_w, None, cfg, stop=epoch)
        for name, value in model.nets[j].state_dict().items():
            assert torch.equal(value, alone.nets[j].state_dict()[name]), (j, name)
    torch.manual_seed(0)
    refit = Forecaster(ModelConfig(horizon=6, hidden_size=8, ensemble=3))
    again = train.fit(refit, tr_w, None, cfg, stop=max(epochs), member_stops=epochs)
    assert again.member_epochs == epochs and again.epochs_run == max(epochs)
    for ours, theirs in zip(model.state_dict().values(), refit.state_dict().values(), strict=True):
        assert torch.equal(ours, theirs)


def test_a_member_whose_own_validation_loss_is_nan_stops_training_with_advice(monkeypatch):
    """The median of the other members stays finite: without this check the NaN member would keep its
    untrained weights, silently."""
    real = train.member_error_sums

    def one_nan(*args, **kw):
        sums = real(*args, **kw)
        sums[2] = float("nan")
        return sums

    monkeypatch.setattr(train, "member_error_sums", one_nan)
    tr_w, val_w = sine_windows()
    torch.manual_seed(0)
    model = Forecaster(ModelConfig(horizon=6, hidden_size=8, ensemble=3))
    with pytest.raises(TrainingError, match=r"loss became NaN at epoch 1; lower --lr"):
        train.fit(model, tr_w, val_w, train.TrainConfig(epochs=3, batch_size=32, threads=1))


def test_members_error_sums_are_the_ensembles_and_each_members_in_one_pass():
    _, val_w = sine_windows()
    torch.manual_seed(0)
    model = Forecaster(ModelConfig(horizon=6, hidden_size=8, ensemble=3)).eval()
    sums = train.member_error_sums(model, val_w, range(len(val_w)))
    assert sums[0].item() == train.error_sum(model, val_w, range(len(val_w))).item()
    with torch.no_grad():
        each = ((model.members(val_w.x) - val_w.y[:, None]) ** 2).sum(dim=(0, 2, 3), dtype=torch.float64)
    torch.testing.assert_close(sums[1:], each)


@pytest.mark.parametrize("kind", ["mae", "huber"])
def test_loss_is_what_training_minimises_and_early_stopping_watches(kind):
    tr_w, val_w = sine_windows()
    torch.manual_seed(0)
    model = Forecaster(ModelConfig(horizon=6, hidden_size=8))
    result = train.fit(model, tr_w, val_w, train.TrainConfig(epochs=30, lr=0.01, patience=5, loss=kind))
    with torch.no_grad():
        diff = model(val_w.x) - val_w.y
    expected = diff.abs() if kind == "mae" else torch.where(diff.abs() < 1, 0.5 * diff**2, diff.abs() - 0.5)
    assert result.best_val_loss == pytest.approx(expected.mean().item(), rel=1e-5)
    assert result.best_val_loss == min(h.val_loss for h in result.history)
    assert result.config.loss == kind


def test_pointwise_losses_by_hand():
    out, y = torch.tensor([[0.0, 3.0, -0.5]]), torch.tensor([[0.5, 0.0, -0.5]])
    assert train.pointwise("mse", out, y).tolist() == [[0.25, 9.0, 0.0]]
    assert train.pointwise("mae", out, y).tolist() == [[0.5, 3.0, 0.0]]
    assert train.pointwise("huber", out, y).tolist() == [[0.125, 2.5, 0.0]]
    members = torch.zeros(1, 2, 3)  # (B, K, H) against (B, H): every member scored against the same target
    assert train.pointwise("mae", members, y).tolist() == [[[0.5, 0.0, 0.5]] * 2]


def test_unknown_loss_is_refused():
    with pytest.raises(UsageError, match="--loss"):
        validate_training(train.TrainConfig(loss="l3"))


def test_clipping_bounds_the_gradient_norm(monkeypatch):
    seen = []
    real = torch.nn.utils.clip_grad_norm_

    def spy(params, max_norm):
        params = list(params)
        before = real(params, max_norm)  # the pre-clip norm, which fit records
        seen.append(math.sqrt(sum(float((p.grad**2).sum()) for p in params)))
        return before

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", spy)
    tr_w, val_w = sine_windows()
    model = Forecaster(ModelConfig(horizon=6, hidden_size=8))
    train.fit(model, tr_w, val_w, train.TrainConfig(epochs=1, clip=0.01))
    assert seen and max(seen) <= 0.01 + 1e-6


def test_diverging_loss_stops_with_advice():
    tr_w, val_w = sine_windows()
    bad = windowing.Windows(tr_w.x.clone(), tr_w.y.clone())
    bad.y[0, 0, 0] = float("nan")
    model = Forecaster(ModelConfig(horizon=6, hidden_size=8))
    with pytest.raises(TrainingError, match=r"NaN at epoch 1; lower --lr"):
        train.fit(model, bad, val_w, train.TrainConfig(epochs=2))


def test_an_infinite_loss_without_validation_is_called_infinite():
    """A run on every window (--refit) has no validation loss to blame: an overflowing training loss is
    'infinite', as it is with validation, not 'NaN'."""
    tr_w, val_w = sine_windows()
    huge = windowing.Windows(tr_w.x.clone(), tr_w.y.clone())
    huge.y[0, 0, 0] = 1e30  # its square overflows float32
    for val in (val_w, None):
        model = Forecaster(ModelConfig(horizon=6, hidden_size=8, window_norm="none"))
        with pytest.raises(TrainingError, match=r"loss became infinite at epoch 1; lower --lr"):
            train.fit(model, huge, val, train.TrainConfig(epochs=2))


def test_missing_cuda_is_refused_clearly():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(UsageError, match="no CUDA GPU"):
        train.resolve_device("cuda")


def test_auto_is_cuda_where_there_is_one():
    assert train.resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_threads_default_to_one_and_the_option_sets_them(monkeypatch, restore_threads):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    tr_w, val_w = sine_windows()
    model = Forecaster(ModelConfig(horizon=6, hidden_size=8))
    train.fit(model, tr_w, val_w, train.TrainConfig(epochs=1))
    assert torch.get_num_threads() == 1
    train.fit(model, tr_w, val_w, train.TrainConfig(epochs=1, threads=2))
    assert torch.get_num_threads() == 2


def test_omp_num_threads_sets_the_default(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert train.default_threads() == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "junk")
    assert train.default_threads() == 1


def cuda_windows():
    tr_w, val_w = sine_windows()
    return windowing.Windows(tr_w.x.cuda(), tr_w.y.cuda()), windowing.Windows(val_w.x.cuda(), val_w.y.cuda())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_trains_with_the_data_on_the_device():
    tr_w, val_w = cuda_windows()
    torch.manual_seed(0)
    model = Forecaster(ModelConfig(horizon=6, hidden_size=16)).cuda()
    result = train.fit(model, tr_w, val_w, train.TrainConfig(epochs=30, batch_size=32, lr=5e-3))
    naive = ((val_w.x[:, -1:, :1] - val_w.y) ** 2).mean().item()
    assert result.device.startswith("cuda") and result.best_val_loss < 0.5 * naive


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("weight_decay", [0.0, 1e-4])
def test_on_cuda_one_fused_kernel_updates_the_weights(monkeypatch, weight_decay):
    """Small networks' steps on a GPU are bound by kernel launches; Adam's fused kernel is one launch a step."""
    made = []
    for name in ("Adam", "AdamW"):
        real = getattr(torch.optim, name)
        monkeypatch.setattr(torch.optim, name, lambda *a, real=real, **k: made.append(k) or real(*a, **k))
    tr_w, val_w = cuda_windows()
    model = Forecaster(ModelConfig(horizon=6, hidden_size=16)).cuda()
    train.fit(model, tr_w, val_w, train.TrainConfig(epochs=2, batch_size=32, weight_decay=weight_decay))
    assert len(made) == 1 and made[0]["fused"] is True and made[0].get("weight_decay", 0.0) == weight_decay


def test_on_the_cpu_adam_is_torchs_default_not_fused(monkeypatch):
    made = []
    real = torch.optim.Adam
    monkeypatch.setattr(torch.optim, "Adam", lambda *a, **k: made.append(k) or real(*a, **k))
    tr_w, val_w = sine_windows()
    train.fit(Forecaster(ModelConfig(horizon=6, hidden_size=8)), tr_w, val_w, train.TrainConfig(epochs=1))
    assert made == [{"lr": 1e-3}]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("options", [dict(), dict(segment=4, ensemble=3), dict(cell="lstm")])
def test_same_seed_gives_bit_identical_weights_on_cuda(options):
    """Seeded reruns on one GPU: the shuffle comes from a CUDA generator, cuDNN's RNN kernels are deterministic."""
    runs = []
    for _ in range(2):
        tr_w, val_w = cuda_windows()
        torch.manual_seed(3)
        model = Forecaster(ModelConfig(horizon=6, hidden_size=16, **options)).cuda()
        result = train.fit(model, tr_w, val_w, train.TrainConfig(epochs=4, batch_size=16, seed=3))
        runs.append((model.state_dict(), result.history))
    (a, ha), (b, hb) = runs
    assert all(torch.equal(a[k], b[k]) for k in a) and ha == hb


def test_no_host_sync_per_step(monkeypatch):
    """`.item()` and `.tolist()` wait for the GPU: the loop reads both losses once per epoch, never per batch."""
    import sys

    calls = []
    for name in ("item", "tolist"):
        real = getattr(torch.Tensor, name)

        def spy(self, real=real):
            calls.append(sys._getframe(1).f_code.co_filename)
            return real(self)

        monkeypatch.setattr(torch.Tensor, name, spy)
    tr_w, val_w = sine_windows()
    model = Forecaster(ModelConfig(horizon=6, hidden_size=8))
    train.fit(model, tr_w, val_w, train.TrainConfig(epochs=2, batch_size=8, patience=5))  # 29 batches per epoch
    package = Path(train.__file__).parent
    ours = [f for f in calls if Path(f).parent == package]  # Adam's .item() reads its CPU step counter: no sync
    assert len(ours) == 2  # one read of (train loss, validation loss) per epoch


@pytest.mark.parametrize(
    "field,value,message",
    [("lr", math.inf, "--lr"), ("lr", math.nan, "--lr"), ("clip", math.nan, "--clip"), ("seed", 2**64, "--seed")],
)
def test_config_values_torch_cannot_use_are_usage_errors(field, value, message):
    with pytest.raises(UsageError, match=message):
        validate_training(train.TrainConfig(**{field: value}))


def test_clip_stats_count_the_steps_where_clipping_engaged():
    stats = train.clip_stats(np.array([0.5, 2.0, 1.0, 3.0]), clip=1.0)
    assert stats["steps"] == 4 and stats["clip_rate"] == 0.5  # 1.0 itself is not above the limit
    assert stats["p50"] == 1.5 and stats["max"] == 3.0
    assert stats["p90"] == pytest.approx(2.7) and stats["p99"] == pytest.approx(2.97)
    assert train.clip_stats(np.array([5.0]), clip=0)["clip_rate"] == 0.0  # --clip 0: never clipped


def test_fit_records_the_pre_clip_norm_of_every_step():
    tr_w, val_w = sine_windows()
    steps_per_epoch = math.ceil(len(tr_w) / 16)
    torch.manual_seed(0)
    model = Forecaster(ModelConfig(horizon=6, hidden_size=8))
    tight = train.fit(model, tr_w, val_w, train.TrainConfig(epochs=3, batch_size=16, clip=1e-3, patience=99))
    g = tight.gradients
    assert g["steps"] == 3 * steps_per_epoch and g["clip"] == 1e-3
    assert g["clip_rate"] == 1.0 and 1e-3 < g["p50"] <= g["p90"] <= g["p99"] <= g["max"]  # every step clipped
    torch.manual_seed(0)
    model = Forecaster(ModelConfig(horizon=6, hidden_size=8))
    free = train.fit(model, tr_w, val_w, train.TrainConfig(epochs=3, batch_size=16, clip=0, patience=99))
    assert free.gradients["clip_rate"] == 0.0 and free.gradients["max"] > 0  # measured though never clipped


def test_a_failed_cpu_allocation_while_training_is_the_memory_message_not_an_internal_error(monkeypatch, tmp_path):
    """The CPU allocator raises a RuntimeError, not torch.OutOfMemoryError: a batch too large for the machine's
    memory (here `fit ETTh1.csv --batch-size 16000 --seq-len 500 --segment 0 --hidden-size 8192` asked for
    221 GB) ended as `internal error`, exit 70. It is the same one line as on CUDA, exit 2, no model file."""
    from click.testing import CliRunner

    from rnncast import train
    from rnncast.cli import cli

    def allocate(*args, **kwargs):
        raise RuntimeError(
            "[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: "
            "you tried to allocate 221102080000 bytes. Error code 12 (Cannot allocate memory)"
        )

    monkeypatch.setattr(train, "_fit", allocate)
    model = tmp_path / "m.rnncast"
    result = CliRunner().invoke(cli, ["fit", str(ELEC), "--model", str(model), "--batch-size", "16"])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: cpu ran out of memory while training with --batch-size 16; lower --batch-size, --hidden-size or --seq-len"
    )
    assert not model.exists()
    monkeypatch.setattr(train, "_fit", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("shapes do not match")))
    assert CliRunner().invoke(cli, ["fit", str(ELEC), "--model", str(model)]).exit_code == 70  # others stay internal
