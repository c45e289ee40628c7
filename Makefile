# One set of commands locally and in CI. Only Python is needed on a fresh machine:
# the virtualenv is created from the lock file on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA_DIR ?= ./data
HOST ?= 127.0.0.1
PORT ?= 8080
PG_PORT ?= 5433

# Debian packages tests and benchmarks need, installed when missing (scripts/ensure-package.sh).
ENSURE := bash scripts/ensure-package.sh
ENSURE_WRK := $(ENSURE) wrk wrk "the http_peer benchmark and its tests"

DIST ?= dist
RELEASE := $(BIN)/python -m release --dist $(DIST)
# Timestamps from the commit: a rebuild of one commit gives a byte-identical wheel (the sdist,
# as setuptools writes it, still differs).
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 315532800)
export SOURCE_DATE_EPOCH

.PHONY: run test lint format bench clean dist sbom slsa sign verify-release api-validate \
	api-snapshot audit

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --config-settings editable_mode=compat -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/bkgdb --data-dir $(DATA_DIR) init --if-missing
	@echo "PostgreSQL: postgresql://bkg@$(HOST):$(PG_PORT)/public (password: an API key or a JWT)"
	$(BIN)/bkgdb --data-dir $(DATA_DIR) serve --host $(HOST) --port $(PORT) --pg-port $(PG_PORT)

test: $(STAMP)
	$(ENSURE) chromium /usr/bin/chromium "the dashboard's browser tests (tests/web)"
	bash scripts/ensure-pgjdbc.sh
	$(ENSURE_WRK)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(ENSURE_WRK)
	$(BIN)/python -m bench run
	$(BIN)/python -m bench report

# Supply chain (docs/operations.md, "Releases"): all offline; the key is BKG_SIGNING_KEY, or a
# throwaway one that `sign` announces. verify-release builds and signs nothing.
dist: $(STAMP)
	mkdir -p $(DIST)
	rm -f $(DIST)/*.whl $(DIST)/*.tar.gz
	$(BIN)/python -m build --no-isolation --skip-dependency-check --sdist --wheel --outdir $(DIST) .

sbom: $(STAMP)
	$(RELEASE) sbom

slsa: dist
	$(RELEASE) slsa

sign: dist sbom
	$(RELEASE) sign

verify-release: $(STAMP)
	$(RELEASE) verify

api-validate: $(STAMP)
	$(RELEASE) api-validate

api-snapshot: $(STAMP)
	$(RELEASE) api-snapshot

# Needs the advisory database (network); the lock is audited as pinned, without resolving;
# --strict: a dependency that could not be looked up fails the run (never a false "clean").
audit: $(STAMP)
	$(BIN)/pip-audit --requirement requirements.lock --no-deps --disable-pip --strict --progress-spinner off

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(DIST) build
