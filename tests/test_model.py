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
    rnn = model.rnn
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
        y = hidden[:, -1] @ model.head.weight.T + model.head.bias
        torch.testing.assert_close(model(x), y.view(7, 4, 2))


def test_default_cell_is_the_elman_rnn_with_tanh():
    model = Forecaster(ModelConfig())
    assert isinstance(model.rnn, torch.nn.RNN)
    assert model.rnn.nonlinearity == "tanh" and model.rnn.batch_first


@pytest.mark.parametrize("cell,cls", [("lstm", torch.nn.LSTM), ("gru", torch.nn.GRU)])
def test_other_cells_give_the_same_shapes(cell, cls):
    model = Forecaster(ModelConfig(n_inputs=2, n_targets=1, horizon=6, cell=cell, hidden_size=4, layers=2, dropout=0.1))
    assert isinstance(model.rnn, cls)
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
                             (NetworkOptions(id_embedding=-1), "--id-embedding")]:  # fmt: skip
        with pytest.raises(UsageError, match=message):
            validate_network(options)
    with pytest.raises(UsageError, match="not enough memory"):
        build(ModelConfig(hidden_size=10**11))


def test_season_norm_corrects_the_seasonal_naive_forecast():
    """With a silent head the network returns the window's last cycle, repeated: the base it learns to correct."""
    model = Forecaster(ModelConfig(n_inputs=2, n_targets=1, horizon=5, hidden_size=4, window_norm="season", season=3))
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.zero_()
    x = torch.arange(16, dtype=torch.float32).view(1, 8, 2)  # target channel: 0, 2, 4, ..., 14
    y = model(x)[0, :, 0]
    assert y.tolist() == [10.0, 12.0, 14.0, 10.0, 12.0]  # last cycle 10, 12, 14 repeated


def test_season_norm_without_a_usable_season_falls_back_to_the_last_value():
    model = Forecaster(ModelConfig(horizon=2, hidden_size=4, window_norm="season", season=12))
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.zero_()
    x = torch.randn(3, 6, 1)  # shorter than the season
    torch.testing.assert_close(model(x), x[:, -1:, :].expand(3, 2, 1))
