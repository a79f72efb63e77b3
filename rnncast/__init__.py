"""rnncast: forecast time series from a CSV with a recurrent neural network (Elman RNN, LSTM, GRU)."""

__version__ = "0.2.0"
