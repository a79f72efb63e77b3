"""What the user chose, as small dataclasses, and the one place that checks it.

Every entry point (each CLI command, each `api` function) calls `validate` once, before any data is
read; the code below it asserts instead of re-checking. What the data decides later (window lengths
from the frequency, the network's input width, the base forecast of `--window-norm auto`) lives
elsewhere: `windowing.Plan` and `model.ModelConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rnncast.choices import CELLS, FILL_POLICIES, LOSSES, SCALERS, SCHEDULES, WINDOW_NORMS
from rnncast.errors import UsageError

# Adam's first step is lr / (1 - beta1) = 10 lr, applied in float32 (max 3.4e38).
MAX_LR = 1e37
SEED_RANGE = (-(2**63), 2**64 - 1)  # what torch.Generator.manual_seed accepts
ONE = ""  # the id of the only series of a single-series file


@dataclass
class ReadOptions:
    """How to find the time, target and feature columns in a file."""

    time_col: str | None = None  # None: detect; "none": rows are integer steps
    targets: tuple[str, ...] = ()  # empty: the one numeric column
    features: tuple[str, ...] = ()  # extra input columns, known only up to now
    fill: str = "interpolate"  # what to do with blank values, see FILL_POLICIES
    strict: bool = False  # refuse missing periods and irregular time instead of reindexing
    date_format: str | None = None  # strftime codes of the time column (%d.%m.%Y); None: detected
    freq: str | None = None  # the grid the stamps are on (D, B, C, W-SUN, h, 15min); None: inferred
    weekmask: str | None = None  # --freq C: the days of the week on the grid ("Mon Tue Wed Thu Fri Sat")
    tz: str | None = None  # the zone of naive local stamps, and the one stamps are shown in; None: as written
    future_features: tuple[str, ...] = ()  # extra input columns known for the forecast steps too (promotions, prices)


@dataclass
class Layout:
    """How series are laid out in the file: one series, long (an id column) or wide (a column each)."""

    id_col: str | None = None  # long format: the column naming each row's series
    wide: bool = False  # wide format: every target column is one series over the shared time column

    @property
    def many(self) -> bool:
        return self.id_col is not None or self.wide

    @property
    def id_name(self) -> str | None:
        """The header of the id column in outputs: the user's id column, `series` for wide data."""
        return self.id_col if self.id_col is not None else ("series" if self.wide else None)


@dataclass
class WindowConfig:
    seq_len: int | None = None  # past steps per window; None: from the frequency
    horizon: int | None = None  # steps to forecast; None: from the frequency
    val_frac: float = 0.2  # share of windows (the latest) kept for validation
    scaler: str = "standard"  # standard | minmax | robust (scikit-learn)
    season: int | None = None  # seasonal period for baselines and MASE; None: from the frequency
    calendar: bool = False  # add hour/day-of-week/month as sin/cos inputs (known in advance)


@dataclass
class NetworkOptions:
    """The network the user asked for; `model.ModelConfig` adds what the data decides."""

    cell: str = "rnn"  # rnn (Elman, tanh) | lstm | gru
    hidden_size: int = 64  # width of the hidden state h_t
    layers: int = 1  # stacked recurrent layers
    dropout: float = 0.0  # between stacked layers (needs layers > 1)
    window_norm: str = "auto"  # auto | last | season | mean | scale | none
    id_embedding: int = 0  # many series: width of a learned series embedding; 0: none
    segment: int | None = None  # points per recurrent step (SegRNN); 0: one point; None: seq_len // 8 (about 8 steps)
    ensemble: int | None = None  # members combined by their median; None: 5 on small data, else 1
    guard: bool = True  # blend the forecast with the better naive forecast, weights fitted on validation windows
    non_negative: bool | None = None  # clip forecasts and bounds at 0; None: when every target value is >= 0
    highway: int | None = None  # past steps a Linear map reads straight into the output (LSTNet); 0: off; None: default
    cell_len: int | None = None  # the cell reads only the window's last R steps (the highway may read all); None: all
    highway_members: int | None = None  # members that read the highway (the others their cell alone); None: all


def _train_config():
    from rnncast.train import TrainConfig

    return TrainConfig()


@dataclass
class Settings:
    """Everything that decides what `fit` trains; `backtest` refits with the same."""

    read: ReadOptions = field(default_factory=ReadOptions)
    layout: Layout = field(default_factory=Layout)
    windows: WindowConfig = field(default_factory=WindowConfig)
    network: NetworkOptions = field(default_factory=NetworkOptions)
    train: object = field(default_factory=_train_config)  # train.TrainConfig (torch is imported lazily)


def validate(s: Settings) -> None:
    """Refuse every setting that no data could make work, with the option's name and a fix."""
    r, lay, w, n, t = s.read, s.layout, s.windows, s.network, s.train
    if r.fill not in FILL_POLICIES:
        raise UsageError(f"unknown --fill {r.fill!r}; choose one of {', '.join(FILL_POLICIES)}")
    if len(set(r.targets)) != len(r.targets):
        raise UsageError("the same --target is given twice; name each target once")
    both = [c for c in r.future_features if c in r.features or c in r.targets]
    if both:
        where = "--features" if both[0] in r.features else "--target"
        raise UsageError(
            f"column {both[0]!r} is given to both {where} and --future-features; keep it in one of them "
            "(--future-features when its values are known for the forecast steps)"
        )
    if len(set(r.future_features)) != len(r.future_features):
        raise UsageError("the same --future-features column is given twice; name each column once")
    validate_time(r)
    if lay.id_col is not None and lay.wide:
        raise UsageError("--id-col and --wide describe different layouts; give one of them")
    for option, role, columns in (
        ("--target", "a value to forecast", r.targets),
        ("--time-col", "time", (r.time_col,)),
    ):
        if lay.id_col is not None and lay.id_col in columns:  # else a column missing from a series, named oddly
            raise UsageError(
                f"{option} {lay.id_col!r} is the --id-col, which names the series, not {role}; choose another {option}"
            )
    for option, columns in (("--features", r.features), ("--future-features", r.future_features)):
        if lay.id_col is not None and lay.id_col in columns:  # else reported as a missing --features column
            raise UsageError(
                f"{option} {lay.id_col!r} is the --id-col, which names the series, not an input; drop it from {option}"
            )
    if w.seq_len is not None and w.seq_len < 1 or w.horizon is not None and w.horizon < 1:
        raise UsageError("--seq-len and --horizon must be at least 1")
    if not 0 < w.val_frac < 1:
        raise UsageError(f"--val-frac must be between 0 and 1, got {w.val_frac}; try 0.2")
    if w.scaler not in SCALERS:
        raise UsageError(f"unknown --scaler {w.scaler!r}; choose one of {', '.join(SCALERS)}")
    if w.season is not None and w.season < 1:
        raise UsageError("--season must be at least 1")
    validate_network(n)
    if w.seq_len is not None:  # given: what the window cannot hold is refused now, before the data is read
        check_window_parts(w.seq_len, n.cell_len, n.segment, n.highway)
    if n.id_embedding and not lay.many:
        raise UsageError("--id-embedding is for many series; add --id-col COLUMN or --wide")
    validate_training(t)


def check_window_parts(seq_len: int, cell_len: int | None, segment: int | None, highway: int | None) -> None:
    """Refuse a --cell-len, --segment or --highway that a window of seq_len steps cannot hold (None: the cell
    reads the whole window; segment and highway not checked)."""
    cell = seq_len if cell_len is None else cell_len
    if cell > seq_len:
        raise UsageError(
            f"--cell-len {cell} is longer than the window (seq_len {seq_len}); "
            f"choose a --cell-len of at most {seq_len} or a longer --seq-len"
        )
    if segment is not None and segment > cell:
        what, longer = ("the window (seq_len ", "--seq-len") if cell == seq_len else ("--cell-len (", "--cell-len")
        raise UsageError(
            f"--segment {segment} is longer than {what}{cell}); choose a --segment of at most {cell} or a longer {longer}"
        )
    if highway is not None and highway > seq_len:
        raise UsageError(
            f"--highway {highway} reads more steps than the window holds (seq_len {seq_len}); "
            f"choose a --highway of at most {seq_len} or a longer --seq-len"
        )


def validate_time(r: ReadOptions) -> None:
    """--date-format, --freq, --weekmask and --tz: known codes, frequencies and zones, and a time column to use them on."""
    given = [f"--{o.replace('_', '-')}" for o in ("date_format", "freq", "weekmask", "tz") if getattr(r, o)]
    if not given:
        return
    if r.time_col == "none":
        raise UsageError(f"{given[0]} needs a date/time column, and --time-col none numbers the rows; drop one of them")
    if r.date_format is not None and "%" not in r.date_format:
        raise UsageError(f"--date-format {r.date_format!r} holds no strftime codes; write e.g. %d.%m.%Y")
    from rnncast import timeindex  # pandas: only when a date option is given

    if r.freq is not None:
        timeindex.offset(r.freq, r.weekmask)
    elif r.weekmask is not None:
        raise UsageError("--weekmask is for --freq C (custom business days); add --freq C")
    if r.tz is not None:
        timeindex.check_zone(r.tz)


def validate_network(n: NetworkOptions) -> None:
    if n.cell not in CELLS:
        raise UsageError(f"unknown --cell {n.cell!r}; choose one of {', '.join(CELLS)}")
    if n.window_norm not in WINDOW_NORMS:
        raise UsageError(f"unknown --window-norm {n.window_norm!r}; choose one of {', '.join(WINDOW_NORMS)}")
    for name in ("hidden_size", "layers"):
        if getattr(n, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1")
    if not 0 <= n.dropout < 1:  # also refuses NaN
        raise UsageError(f"--dropout must be in [0, 1), got {n.dropout}; try 0.1")
    if n.id_embedding < 0:
        raise UsageError("--id-embedding must be 0 (off) or positive")
    if n.segment is not None and n.segment < 0:
        raise UsageError("--segment must be 0 (off: one point per step) or positive")
    if n.ensemble is not None and n.ensemble < 1:
        raise UsageError("--ensemble must be at least 1")
    if n.highway_members is not None and n.highway_members < 1:
        raise UsageError("--highway-members must be at least 1; leave it out for every member")
    if n.highway_members is not None and n.ensemble is not None and n.highway_members > n.ensemble:
        raise UsageError(
            f"--highway-members {n.highway_members} is more than the --ensemble {n.ensemble} members; "
            f"choose at most {n.ensemble}"
        )
    if n.highway_members is not None and n.highway == 0:
        raise UsageError("--highway-members needs a highway; leave out --highway 0 or --highway-members")
    if n.cell_len is not None and n.cell_len < 1:
        raise UsageError("--cell-len must be at least 1; leave it out for the whole window")
    if n.highway is not None and n.highway < 0:
        raise UsageError("--highway must be 0 (off) or positive; try the --seq-len")


def validate_training(t) -> None:
    """Loop settings (train.TrainConfig), the device included: refused here, before any data is read."""
    from rnncast import train

    for name in ("epochs", "batch_size", "patience"):
        if getattr(t, name) is not None and getattr(t, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1")
    if t.lr is not None and not 0 < t.lr <= MAX_LR:  # also refuses NaN
        raise UsageError(f"--lr must be positive and at most {MAX_LR:g}; try 0.001")
    if not t.clip >= 0:
        raise UsageError("--clip must be 0 (off) or positive; try 1.0")
    if not SEED_RANGE[0] <= t.seed <= SEED_RANGE[1]:
        raise UsageError("--seed must fit in 64 bits; try 0")
    if t.threads is not None and t.threads < 1:
        raise UsageError("--threads must be at least 1")
    if not t.weight_decay >= 0:
        raise UsageError("--weight-decay must be 0 (off) or positive; try 0.0001")
    if t.schedule not in SCHEDULES:
        raise UsageError(f"unknown --schedule {t.schedule!r}; choose one of {', '.join(SCHEDULES)}")
    if t.loss is not None and t.loss not in LOSSES:
        raise UsageError(f"unknown --loss {t.loss!r}; choose one of {', '.join(LOSSES)}")
    train.resolve_device(t.device)


def validate_levels(levels: tuple[float, ...] | list[float]) -> tuple[float, ...]:
    """Levels in percent, each strictly between 0 and 100, without repeats, in the order given."""
    out: list[float] = []
    for level in levels:
        if 0 < level < 1:  # 0.8 meant as 80%: a 0.8% interval is never what anyone wants, so say so
            raise UsageError(
                f"--level {level:g} looks like a fraction; levels are percentages: try --level {100 * level:g}"
            )
        if not 0 < level < 100:
            raise UsageError(f"--level {level:g} is not a percentage between 0 and 100; try --level 80 --level 95")
        if level in out:
            raise UsageError(f"--level {level:g} is given twice; give each level once")
        out.append(float(level))
    return tuple(out)
