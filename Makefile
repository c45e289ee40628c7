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

.PHONY: run test lint format bench clean

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
	bash scripts/ensure-chromium.sh
	bash scripts/ensure-pgjdbc.sh
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m bench run
	$(BIN)/python -m bench report

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
