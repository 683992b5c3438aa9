# hazchain — two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres

.PHONY: install install-test run serve test test-fast lint fmt migrate seed-demo \
        rebuild-projections verify checkpoint bench fuzz clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(TEST_STAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(STAMP)  ## create .venv and install hazchain

install-test: $(TEST_STAMP)

migrate: install  ## alembic upgrade head on DATABASE_URL (default: SQLite under var/)
	$(BIN)/hazchain migrate

seed-demo: migrate  ## seed the demo plant (development mode only)
	$(BIN)/hazchain seed-demo

run: migrate  ## install, migrate, seed the demo plant if empty, serve on 127.0.0.1:$(PORT)
	$(BIN)/hazchain seed-demo --if-empty
	$(BIN)/hazchain serve --port $(PORT)

rebuild-projections: install  ## replay the log into the read models
	$(BIN)/hazchain rebuild-projections

verify: install  ## recompute every hash chain
	$(BIN)/hazchain verify

checkpoint: install
	$(BIN)/hazchain checkpoint

test: install-test  ## all tests; PostgreSQL ones run when HAZCHAIN_TEST_POSTGRES_URL is reachable
	HAZCHAIN_TEST_POSTGRES_URL=$${HAZCHAIN_TEST_POSTGRES_URL-$(PG_TEST_URL)} \
	  $(BIN)/python -m pytest -n 2 --dist loadfile -q $(PYTEST_ARGS)

test-fast: install-test  ## domain and rule tests only (no database)
	$(BIN)/python -m pytest -q tests/domain tests/labels

lint: install-test  ## ruff, format check, import boundaries
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

fmt: install-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install-test  ## benchmarks; figures go to docs/benchmarks.md
	HAZCHAIN_BENCH_POSTGRES_URL=$${HAZCHAIN_BENCH_POSTGRES_URL-$(PG_TEST_URL)} \
	  $(BIN)/python -m benchmarks $(BENCH_ARGS)

fuzz: install-test  ## schemathesis over every API operation and console route, FUZZ_EXAMPLES per pair (default 50); every console form mutated field by field
	$(BIN)/python -m tests.security.fuzz --examples $${FUZZ_EXAMPLES-50}
	$(BIN)/python -m tests.security.mutate

clean:
	rm -rf var/hazchain.db* .pytest_cache .ruff_cache
