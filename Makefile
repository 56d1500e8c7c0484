# newsdesk: `make up` runs the service, `make test` runs the tests. Needs only python3 and make.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EVAL_DATA ?= $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)/shared/eval

.PHONY: up test lint typecheck eval bench lock clean help

help:
	@echo "make up      run Redis (embedded), the API on 127.0.0.1:8000, a worker and the reconciler"
	@echo "make test    install and run the tests (lint, types, unit, end-to-end)"
	@echo "make eval    measure extraction, summary and entity quality (EVAL_DATA=$(EVAL_DATA))"
	@echo "make bench   measure throughput and latency of the running pipeline"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Installs exactly what requirements.lock pins (with hashes), then the project itself.
$(STAMP): $(BIN)/python requirements.lock pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

up: $(STAMP)
	$(BIN)/newsdesk up

test: $(STAMP) lint typecheck
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

eval: $(STAMP)
	$(BIN)/python -m evaluation --data $(EVAL_DATA)

bench: $(STAMP)
	$(BIN)/python -m evaluation.bench

# Regenerate requirements.lock from pyproject.toml (needs the package registry).
lock: $(BIN)/python
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --extra dev --generate-hashes --strip-extras --allow-unsafe -o requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
