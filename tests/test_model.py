import pytest
import torch

from rnncast.model import Forecaster, ModelConfig


def elman_by_hand(x, layers):
    """The seed's equations, one step at a time: h_t = tanh(W_xh x_t + b_ih + W_hh h_{t-1} + b_hh)."""
    seq = x
    for w_xh, w_hh, b_xh, b_hh in layers:
        h = torch.zeros(x.shape[0], w_hh.shape[0])
        outs = []
        for t in range(seq.shape[1]):
            h = torch.tanh(seq[:, t] @ w_xh.T + b_xh + h @ w_hh.T + b_hh)
            outs.append(h)
        seq = torch.stack(outs, dim=1)
    return seq


@pytest.mark.parametrize("num_layers", [1, 2])
def test_nn_rnn_matches_the_elman_equations(num_layers):
    torch.manual_seed(0)
    model = Forecaster(
        ModelConfig(n_inputs=3, n_targets=2, horizon=4, hidden_size=5, layers=num_layers, window_norm="none")
    )
    rnn = model.nets[0].rnn
    x = torch.randn(7, 11, 3)
    params = [
        (
            getattr(rnn, f"weight_ih_l{k}"),
            getattr(rnn, f"weight_hh_l{k}"),
            getattr(rnn, f"bias_ih_l{k}"),
            getattr(rnn, f"bias_hh_l{k}"),
        )
        for k in range(num_layers)
    ]
    with torch.no_grad():
        hidden = elman_by_hand(x, params)
        out, _ = rnn(x)
        torch.testing.assert_close(out, hidden, rtol=1e-5, atol=1e-6)
        # y = W_hy h_L + b_y, all horizon steps at once
        y = hidden[:, -1] @ model.nets[0].head.weight.T + model.nets[0].head.bias
        torch.testing.assert_close(model(x), y.view(7, 4, 2))


def test_default_cell_is_the_elman_rnn_with_tanh():
    model = Forecaster(ModelConfig())
    assert isinstance(model.nets[0].rnn, torch.nn.RNN)
    assert model.nets[0].rnn.nonlinearity == "tanh" and model.nets[0].rnn.batch_first


@pytest.mark.parametrize("cell,cls", [("lstm", torch.nn.LSTM), ("gru", torch.nn.GRU)])
def test_other_cells_give_the_same_shapes(cell, cls):
    model = Forecaster(ModelConfig(n_inputs=2, n_targets=1, horizon=6, cell=cell, hidden_size=4, layers=2, dropout=0.1))
    assert isinstance(model.nets[0].rnn, cls)
    assert model(torch.randn(3, 9, 2)).shape == (3, 6, 1)


def test_last_value_norm_makes_forecasts_follow_the_level():
    """Shifting a window by c shifts its forecast by c: the cell sees only the shape."""
    torch.manual_seed(1)
    model = Forecaster(ModelConfig(n_inputs=1, n_targets=1, horizon=3, hidden_size=6)).eval()
    x = torch.randn(4, 10, 1)
    with torch.no_grad():
        torch.testing.assert_close(model(x + 5.0), model(x) + 5.0, rtol=1e-5, atol=1e-5)


def test_mean_norm_also_follows_the_level_and_none_does_not():
    torch.manual_seed(2)
    x = torch.randn(4, 10, 1)
    mean = Forecaster(ModelConfig(hidden_size=6, window_norm="mean")).eval()
    none = Forecaster(ModelConfig(hidden_size=6, window_norm="none")).eval()
    with torch.no_grad():
        torch.testing.assert_close(mean(x + 3.0), mean(x) + 3.0, rtol=1e-5, atol=1e-5)
        assert not torch.allclose(none(x + 3.0), none(x) + 3.0, atol=1e-3)


def test_impossible_configs_are_usage_errors():
    import math

    from rnncast.errors import UsageError
    from rnncast.model import build
    from rnncast.settings import NetworkOptions, validate_network

    for options, message in [(NetworkOptions(dropout=math.nan), "--dropout"), (NetworkOptions(cell="tcn"), "--cell"),
                             (NetworkOptions(id_embedding=-1), "--id-embedding"),
                             (NetworkOptions(highway=-1), "--highway")]:  # fmt: skip
        with pytest.raises(UsageError, match=message):
            validate_network(options)
    with pytest.raises(UsageError, match="not enough memory"):
        build(ModelConfig(hidden_size=10**11))


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs CUDA"))])  # fmt: skip
def test_a_network_too_big_for_the_device_is_refused_before_anything_is_allocated(device):
    from rnncast.errors import UsageError
    from rnncast.model import build, training_bytes

    h = 10**6
    cfg = ModelConfig(hidden_size=h)  # one input, one step ahead: W_hh h², W_ih h, two biases 2h, head h + 1
    assert training_bytes(cfg) == 20 * (h * h + 4 * h + 1)  # 20 TB: weight, gradient, Adam's two, best copy
    with pytest.raises(
        UsageError, match=rf"not enough memory .* needs about 20,0\d\d GB .*, {device} has [\d.]+ GB\); lower them"
    ):
        build(cfg, device)
    with pytest.raises(UsageError, match="more than any tensor can hold"):
        build(ModelConfig(hidden_size=10**11), device)
    assert build(ModelConfig(hidden_size=8), device).alpha.device.type == device


def test_season_norm_corrects_the_seasonal_naive_forecast():
    """With a silent head the network returns the window's last cycle, repeated: the base it learns to correct."""
    model = Forecaster(ModelConfig(n_inputs=2, n_targets=1, horizon=5, hidden_size=4, window_norm="season", season=3))
    with torch.no_grad():
        model.nets[0].head.weight.zero_()
        model.nets[0].head.bias.zero_()
    x = torch.arange(16, dtype=torch.float32).view(1, 8, 2)  # target channel: 0, 2, 4, ..., 14
    y = model(x)[0, :, 0]
    assert y.tolist() == [10.0, 12.0, 14.0, 10.0, 12.0]  # last cycle 10, 12, 14 repeated


def test_season_norm_without_a_usable_season_falls_back_to_the_last_value():
    model = Forecaster(ModelConfig(horizon=2, hidden_size=4, window_norm="season", season=12))
    with torch.no_grad():
        model.nets[0].head.weight.zero_()
        model.nets[0].head.bias.zero_()
    x = torch.randn(3, 6, 1)  # shorter than the season
    torch.testing.assert_close(model(x), x[:, -1:, :].expand(3, 2, 1))


def test_segments_keep_the_elman_recurrence_over_embedded_segments():
    """--segment W: e_s = relu(W_e s + b_e) for each W-point segment, then the seed's equation over segments."""
    torch.manual_seed(0)
    cfg = ModelConfig(n_inputs=2, n_targets=1, horizon=3, hidden_size=5, window_norm="none", segment=4)
    model = Forecaster(cfg)
    net = model.nets[0]
    x = torch.randn(6, 14, 2)  # 14 points: the oldest 2 are left out, 3 segments of 4 points remain
    segments = x[:, 2:].reshape(6, 3, 8)
    embedded = torch.relu(segments @ net.embed_segment.weight.T + net.embed_segment.bias)
    rnn = net.rnn
    with torch.no_grad():
        hidden = elman_by_hand(embedded, [(rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0)])
        y = hidden[:, -1] @ net.head.weight.T + net.head.bias
        torch.testing.assert_close(model(x), y.view(6, 3, 1))
    assert hidden.shape[1] == 3  # three recurrent steps instead of fourteen


def test_an_ensemble_is_the_median_of_independent_members_and_trains_each():
    torch.manual_seed(0)
    model = Forecaster(ModelConfig(n_inputs=1, horizon=2, hidden_size=4, ensemble=3, window_norm="none"))
    assert len(model.nets) == 3
    assert not torch.equal(model.nets[0].rnn.weight_hh_l0, model.nets[1].rnn.weight_hh_l0)  # own initial weights
    x = torch.randn(5, 7, 1)
    model.eval()
    with torch.no_grad():
        each = torch.stack([net(x).view(5, 2, 1) for net in model.nets], dim=1)  # (B, K, H, T)
        torch.testing.assert_close(model(x), each.median(dim=1).values)
    model.train()
    assert model(x).shape == (5, 3, 2, 1)  # training: every member's forecast, each with its own loss
    model(x)[:, 1].sum().backward()  # member 1's loss reaches member 1 only
    assert model.nets[1].head.weight.grad.abs().sum() > 0
    assert model.nets[0].head.weight.grad is None or not model.nets[0].head.weight.grad.any()


def test_the_guard_blends_toward_the_naive_forecast_by_alpha():
    torch.manual_seed(0)
    model = Forecaster(ModelConfig(n_inputs=1, horizon=3, hidden_size=4, window_norm="none", guard="last")).eval()
    x = torch.randn(4, 6, 1)
    with torch.no_grad():
        model.alpha.zero_()
        torch.testing.assert_close(model(x), x[:, -1:, :].expand(4, 3, 1))  # alpha 0: exactly the baseline
        model.alpha.fill_(1.0)
        raw = model.members(x)[:, 0]
        torch.testing.assert_close(model(x), raw)  # alpha 1: the network
        model.alpha.copy_(torch.tensor([[0.0], [0.5], [1.0]]))
        blended = model(x)
    torch.testing.assert_close(blended[:, 1], 0.5 * x[:, -1] + 0.5 * raw[:, 1])


def test_scale_norm_makes_forecasts_follow_level_and_spread():
    """window_norm 'scale': a window times a plus b gives the forecast times a plus b."""
    torch.manual_seed(0)
    model = Forecaster(ModelConfig(n_inputs=1, horizon=4, hidden_size=6, window_norm="scale")).eval()
    x = torch.randn(3, 10, 1)
    with torch.no_grad():
        torch.testing.assert_close(model(3.0 * x + 7.0), 3.0 * model(x) + 7.0, rtol=1e-4, atol=1e-4)


def test_the_highway_adds_a_linear_map_of_the_last_p_normalised_values_to_the_elman_part():
    """--highway P: y = W_hy h_L + b_y + V x_{L-P+1..L} + c per target (the same V for each), on the window
    minus its last value (window norm last), and the last value added back; the recurrence is the seed's."""
    torch.manual_seed(0)
    cfg = ModelConfig(n_inputs=3, n_targets=2, horizon=3, hidden_size=5, window_norm="last", highway=4)
    model = Forecaster(cfg).eval()
    net = model.nets[0]
    x = torch.randn(6, 9, 3)  # two targets and a feature; the highway reads the targets only
    level = x[:, -1:, :]
    normalised = x - level
    rnn = net.rnn
    with torch.no_grad():
        hidden = elman_by_hand(normalised, [(rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0)])
        recurrent = (hidden[:, -1] @ net.head.weight.T + net.head.bias).view(6, 3, 2)  # (B, H, T)
        v, c = net.highway.weight, net.highway.bias  # (H, P), (H,)
        linear = torch.zeros(6, 3, 2)
        for b in range(6):
            for h in range(3):
                for t in range(2):
                    linear[b, h, t] = sum(v[h, p] * normalised[b, 5 + p, t] for p in range(4)) + c[h]
        torch.testing.assert_close(model(x), recurrent + linear + level[:, :, :2])
    assert "highway" not in ModelConfig().to_dict() and cfg.to_dict()["highway"] == 4  # old files: no key


def test_cell_len_runs_the_elman_recurrence_over_the_last_steps_while_the_highway_reads_the_whole_window():
    """--cell-len R: the cell's segments are cut from the window's last R points only (the oldest points reach
    the forecast through the highway alone), y = W_hy h + b_y + V x_{L-P+1..L} + c."""
    torch.manual_seed(0)
    cfg = ModelConfig(n_inputs=1, horizon=2, hidden_size=5, window_norm="none", segment=3, highway=12, cell_len=6)
    model = Forecaster(cfg).eval()
    net = model.nets[0]
    x = torch.randn(4, 12, 1)
    segments = x[:, 6:].reshape(4, 2, 3)  # the last 6 points: two segments of 3
    with torch.no_grad():
        embedded = torch.relu(segments @ net.embed_segment.weight.T + net.embed_segment.bias)
        rnn = net.rnn
        hidden = elman_by_hand(embedded, [(rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0)])
        recurrent = hidden[:, -1] @ net.head.weight.T + net.head.bias  # (B, H)
        linear = x[:, :, 0] @ net.highway.weight.T + net.highway.bias  # all 12 points
        torch.testing.assert_close(model(x), (recurrent + linear)[..., None])
        older = x.clone()
        older[:, :6] += 1.0  # points the cell does not read move the forecast by the highway's weights only
        moved = model(older) - model(x)
        torch.testing.assert_close(moved[..., 0], net.highway.weight[:, :6].sum(dim=1).expand(4, -1))
    assert hidden.shape[1] == 2 and "cell_len" not in ModelConfig().to_dict() and cfg.to_dict()["cell_len"] == 6


def test_fit_highway_recovers_an_exact_linear_relation_and_freezes_it():
    """Targets that are exactly last value + V (window - last value) + c: the ridge least-squares fit finds V and
    c, every member gets them, and training cannot move them."""
    from rnncast.model import fit_highway
    from rnncast.windowing import Windows

    torch.manual_seed(0)
    model = Forecaster(ModelConfig(n_inputs=1, horizon=2, hidden_size=4, window_norm="last", highway=3, ensemble=2))
    x = torch.randn(500, 6, 1).cumsum(dim=1)
    v = torch.tensor([[0.5, -0.25, 0.0], [1.0, 2.0, 0.0]])  # the last normalised value is always 0: no weight
    c = torch.tensor([0.1, -0.3])
    last = x[:, -1:, :]
    y = last + ((x[:, -3:, 0] - last[:, :, 0]) @ v.T + c)[..., None]  # (N, H, 1)
    fit_highway(model, Windows(x, y), ridge=1e-9)
    for net in model.nets:
        torch.testing.assert_close(net.highway.weight, v, atol=1e-4, rtol=0)
        torch.testing.assert_close(net.highway.bias, c, atol=1e-4, rtol=0)
        assert not net.highway.weight.requires_grad and not net.highway.bias.requires_grad


def test_highway_members_gives_the_highway_to_the_first_members_only_and_the_rest_forecast_with_their_cell():
    """--highway-members 2 of 4: members 0 and 1 add the fitted linear map to their cell's output, 2 and 3 have no
    highway at all (no tensors) and forecast with their Elman cell alone; fit_highway sets only the first two."""
    from rnncast.model import fit_highway
    from rnncast.windowing import Windows

    torch.manual_seed(0)
    cfg = ModelConfig(
        n_inputs=1, horizon=2, hidden_size=4, window_norm="last", highway=3, ensemble=4, highway_members=2
    )
    model = Forecaster(cfg)
    assert [hasattr(net, "highway") for net in model.nets] == [True, True, False, False]
    assert not any(k.startswith(("nets.2.highway", "nets.3.highway")) for k in model.state_dict())
    x = torch.randn(200, 6, 1).cumsum(dim=1)
    fit_highway(model, Windows(x, x[:, -2:, :] + 1.0))
    n = model.normalise(x[:5])
    members = model.from_cells(n.x, n)  # (B, K, H, T)
    for k, net in enumerate(model.nets):
        alone = net.head(net.rnn(net.embed_segment(n.x.reshape(5, 1, -1)) if net.segment else n.x)[0][:, -1])
        if k < 2:
            alone = alone + net.highway(n.x[:, -3:, 0])
        torch.testing.assert_close(members[:, k, :, 0], alone + n.level[:, :, 0])
    assert ModelConfig(**cfg.to_dict()) == cfg and "highway_members" not in ModelConfig(highway=3).to_dict()
