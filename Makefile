# Two commands on a fresh machine:  make demo  (set up + fit + forecast),  make test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch is pinned here so set-up takes the CPU wheel the development machine has on disk (seconds, not a
# multi-GB CUDA download). Elsewhere:  make demo TORCH=torch   (pyproject accepts torch>=2.2); from PyPI,
# Linux gets the CUDA build: TORCH_INDEX=https://download.pytorch.org/whl/cpu takes PyTorch's CPU-only one.
TORCH ?= torch==2.13.0
TORCH_INDEX ?=

.PHONY: install demo test lint format bench bench-accuracy clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q "$(TORCH)" $(if $(TORCH_INDEX),--index-url "$(TORCH_INDEX)")
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

demo: install
	$(BIN)/rnncast fit sample_data/elec_equip.csv
	$(BIN)/rnncast forecast

test: install
	$(BIN)/python -m pytest -q

# The accuracy scoreboard (docs/accuracy.md; not part of make test): ETTh1/ETTh2, M4 Weekly, the sample
# files and a generated panel, ~25 min on 2 CPU cores; `make bench-accuracy ARGS=--quick` 6-9 min.
# statsforecast (AutoETS / AutoTheta baselines) requires pandas<3, so it gets a venv of its own rather than
# downgrading pandas in the one `make test` uses.
BENCH_VENV ?= .venv-bench
ARGS ?=

$(BENCH_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q "$(TORCH)"
	$(BENCH_VENV)/bin/python -m pip install -q -e ".[bench]"
	touch $@

bench-accuracy: $(BENCH_VENV)/.installed
	nice $(BENCH_VENV)/bin/python benchmarks/accuracy.py $(ARGS)

# Speed against references measured in the same run (README, Performance); not part of `make test`.
# Second table: long files of 2,000 and 10,000 series x 500 rows read, validated and windowed vs pandas.
bench: install
	nice $(BIN)/python benchmarks/speed.py
	nice $(BIN)/python benchmarks/reading.py

# Many-series training throughput: 10,000 series x 500 points vs one long series (~2 min on 2 CPU cores).
.PHONY: bench-panel
bench-panel: install
	$(BIN)/python benchmarks/panel_speed.py

lint: install
	$(BIN)/ruff check rnncast tests benchmarks
	$(BIN)/ruff format --check rnncast tests benchmarks

format: install
	$(BIN)/ruff format rnncast tests benchmarks
	$(BIN)/ruff check --fix rnncast tests benchmarks

clean:
	rm -rf $(VENV) $(BENCH_VENV) *.egg-info .pytest_cache model.rnncast model.rnncast.lock
