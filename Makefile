# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Where the official files are: $CRIMEPLAN_DATA, else ../shared/data when it exists,
# else ./data (filled by `crimeplan fetch` from the official addresses).
DATA := $(or $(CRIMEPLAN_DATA),$(if $(wildcard ../shared/data),../shared/data,data))
export CRIMEPLAN_DB ?= crimeplan.duckdb

.PHONY: setup run test bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

run: setup
	@if [ ! -d "$(DATA)" ]; then $(BIN)/crimeplan fetch --dest "$(DATA)"; fi
	$(BIN)/crimeplan load "$(DATA)"
	$(BIN)/crimeplan status
	$(BIN)/crimeplan scorecard

test: setup
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python bench/run.py --data "$(DATA)"

clean:
	rm -rf $(VENV) crimeplan.duckdb crimeplan.duckdb.wal site bench/work
