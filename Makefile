# The two commands of the README:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
VENDOR  = src/serviceloop/static/vendor

.PHONY: demo test install assets lint test-sqlite test-postgres bench clean

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
demo: install assets
	$(BIN)/serviceloop demo

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy src

## Run every test: lint, SQLite, then PostgreSQL (started on loopback by scripts/postgres.sh)
test: install assets lint test-sqlite test-postgres

test-sqlite: install assets
	$(BIN)/pytest -n 2 --dist loadgroup

test-postgres: install assets
	DATABASE_URL=$$(scripts/postgres.sh url) $(BIN)/pytest -n 2 --dist loadgroup -m "not spark" --ignore=tests/analytics

bench: install
	$(BIN)/python benchmarks/mining_vs_pm4py.py
	$(BIN)/python benchmarks/api_load.py

clean:
	rm -rf $(VENV) node_modules $(VENDOR) var
