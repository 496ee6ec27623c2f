# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Where the official files are: $CRIMEPLAN_DATA, else ../shared/data when it exists,
# else ./data (filled by `crimeplan fetch` from the official addresses).
DATA := $(or $(CRIMEPLAN_DATA),$(if $(wildcard ../shared/data),../shared/data,data))
export CRIMEPLAN_DB ?= crimeplan.duckdb

.PHONY: setup run test bench clean browser

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
	$(BIN)/crimeplan publish site
	@echo "The dashboard is in site/: open site/index.html in a browser (no server needed),"
	@echo "or run '$(BIN)/crimeplan serve' and open http://127.0.0.1:8000/ (any period, any area, the JSON API)."

# The browser tests drive Debian's chromium through Playwright (never `playwright install`); the report tests read
# the printed PDFs back with poppler's pdftotext and pdftoppm.
browser:
	@command -v chromium >/dev/null && command -v pdftotext >/dev/null || \
	  (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium poppler-utils) || \
	  echo "chromium or poppler-utils is not installed and could not be installed here: run 'sudo apt-get install -y chromium poppler-utils' (Debian/Ubuntu); the browser and report tests skip without them (and fail in CI)"

test: setup browser
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python bench/run.py --data "$(DATA)" $(if $(ONLY),--only $(ONLY))

clean:
	rm -rf $(VENV) crimeplan.duckdb crimeplan.duckdb.wal crimeplan.duckdb.load-lock crimeplan.duckdb.loading site bench/work
