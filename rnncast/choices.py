"""The closed sets of option values, kept apart so the CLI can list them without importing torch."""

CELLS = ("rnn", "lstm", "gru")
WINDOW_NORMS = ("auto", "last", "season", "mean", "scale", "none")
SCALERS = ("standard", "minmax", "robust")
FILL_POLICIES = ("interpolate", "ffill", "zero", "drop", "error")
FORMATS = ("table", "csv", "json")
SCHEDULES = ("none", "plateau", "onecycle")
LOSSES = ("mse", "mae", "huber")
LOSS_NAMES = {"mse": "MSE", "mae": "MAE", "huber": "Huber loss"}  # as messages and plots name them
RECORDED = ("fit", "forecast", "evaluate", "backtest", "tune")  # the commands --history records
