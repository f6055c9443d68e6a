# The two commands of the README:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
VENDOR  = src/serviceloop/static/vendor

.PHONY: demo test install assets lint prereqs prereqs-sqlite test-sqlite test-postgres bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/.installed

$(VENDOR)/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/
	cp node_modules/echarts/dist/echarts.min.js $(VENDOR)/
	cp node_modules/@viz-js/viz/dist/viz-global.js $(VENDOR)/
	touch $@

assets: $(VENDOR)/.installed

## Start ServiceLoop with demo data on SQLite at http://127.0.0.1:8000
## (EXTRA_SPECIALISTS=2: the same demo with two more specialists, into a new SERVICELOOP_DATA_DIR)
EXTRA_SPECIALISTS ?= 0
demo: install assets
	$(BIN)/serviceloop demo --extra-specialists $(EXTRA_SPECIALISTS)

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy src

## Say what the tests need that this machine lacks (PostgreSQL, chromium, npm, Python 3.11) and how to get it
prereqs:
	@scripts/prereqs.sh all

prereqs-sqlite:
	@scripts/prereqs.sh sqlite

## Run every test: lint, SQLite, then PostgreSQL (started on loopback by scripts/postgres.sh)
test: prereqs install assets lint test-sqlite test-postgres

# -rs lists every skipped test with its reason: nothing is skipped silently.
test-sqlite: prereqs-sqlite install assets
	$(BIN)/pytest -n 2 --dist loadgroup -rs

test-postgres: prereqs install assets
	@url=$$(scripts/postgres.sh url) || exit 1; \
	echo "DATABASE_URL=$$url"; \
	DATABASE_URL=$$url $(BIN)/pytest -n 2 --dist loadgroup -rs -m "not spark" --ignore=tests/analytics

bench: install
	$(BIN)/python benchmarks/mining_vs_pm4py.py
	$(BIN)/python benchmarks/api_load.py

clean:
	rm -rf $(VENV) node_modules $(VENDOR) var
