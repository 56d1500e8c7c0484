# newsdesk: `make up` runs the service, `make test` runs the tests. Needs only python3 and make.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EVAL_DATA ?= $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)/shared/eval

# The Docker image: its Python (3.11), its platform (manylinux wheels for glibc 2.36, x86_64).
IMAGE         ?= newsdesk:latest
BASE_IMAGE    ?= python:3.11-slim
BUILD_IMAGE   ?= python:3.11
WHEELS        := wheels
WHEELS_STAMP  := $(WHEELS)/.downloaded
# pip takes every compatible platform tag explicitly: manylinux_2_17 (manylinux2014, which also
# admits manylinux2010 and manylinux1) up to glibc 2.36.
WHEEL_TARGET  := --python-version 3.11 --implementation cp --abi cp311 --platform manylinux2014_x86_64 \
                 $(foreach v,$(shell seq 17 36),--platform manylinux_2_$(v)_x86_64)
PIP_COMPILE   := $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
                 --no-emit-index-url --no-emit-find-links

.PHONY: up test chaos test-compose lint typecheck chromium wrk eval bench lock wheels image clean help

help:
	@echo "make up            run Redis (embedded), the API on 127.0.0.1:8000, a worker and the reconciler"
	@echo "make test          install and run the tests (lint, types, unit and end-to-end; no Docker)"
	@echo "make chaos         inject every fault of the fault table into the real stack (docs/RELIABILITY.md)"
	@echo "make test-compose  build the images and run docker-compose.yml on a Docker engine (faults, scaling)"
	@echo "make image         download the wheels and build the Docker image ($(IMAGE) from $(BASE_IMAGE))"
	@echo "make eval          measure extraction, summary and entity quality (EVAL_DATA=$(EVAL_DATA))"
	@echo "make bench         measure throughput, latency, intake and memory; writes docs/BENCHMARKS.md"
	@echo "make lock          regenerate requirements/*.lock from pyproject.toml and requirements/*.in"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Installs exactly what requirements/dev.lock pins (with hashes: the runtime lock's pins plus the
# development tools), then the project itself.
$(STAMP): $(BIN)/python requirements/dev.lock pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

up: $(STAMP)
	$(BIN)/newsdesk up

test: $(STAMP) lint typecheck chromium wrk
	$(BIN)/python -m pytest -m "not chaos"

# The fault table (docs/RELIABILITY.md): every fault of tests/chaos/ plus the crash-recovery
# tests, on the real stack; prints the measured table at the end.
FAULT_REPORT := var/fault-report.jsonl
chaos: $(STAMP)
	mkdir -p var && rm -f $(FAULT_REPORT)
	NEWSDESK_FAULT_REPORT=$(FAULT_REPORT) $(BIN)/python -m pytest -m "chaos or e2e" \
	    tests/chaos tests/test_recovery.py -p no:cacheprovider
	$(BIN)/python -m tests.chaos.table $(FAULT_REPORT)

# The web page's tests drive Debian's chromium (no browser download): installed when missing.
chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq \
	    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The benchmark's intake load comes from Debian's wrk: installed when missing.
wrk:
	@command -v wrk >/dev/null || { apt-get update -qq \
	    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

eval: $(STAMP)
	$(BIN)/python -m evaluation --data $(EVAL_DATA)

# BENCH_BASELINE=<another checkout> measures that checkout's bare pipeline alongside (named in the
# report by BENCH_BASELINE_LABEL).
bench: $(STAMP) wrk
	$(BIN)/python -m evaluation.bench --data $(EVAL_DATA) $(if $(BENCH_BASELINE),--baseline $(BENCH_BASELINE) \
	    --baseline-label "$(or $(BENCH_BASELINE_LABEL),another checkout)")

# Regenerate the locks (needs the package registry): runtime.lock is what the image installs;
# dev.lock adds the development tools with the runtime pins as constraints; build.lock is the
# pip and setuptools of the image's build stage.
lock: $(BIN)/python
	$(BIN)/python -m pip install --quiet pip-tools
	$(PIP_COMPILE) -o requirements/runtime.lock pyproject.toml requirements/runtime.in
	$(PIP_COMPILE) --extra dev -c requirements/runtime.lock -o requirements/dev.lock \
	    pyproject.toml requirements/runtime.in
	$(PIP_COMPILE) -c requirements/runtime.lock -o requirements/build.lock requirements/build.in

# The image's wheels, downloaded on this machine and checked against the locks' hashes. The lock
# pins every package, so --no-deps; langid exists only as an sdist, built in the image.
$(WHEELS_STAMP): $(BIN)/python requirements/runtime.lock requirements/build.lock
	mkdir -p $(WHEELS)
	$(BIN)/python -m pip download --quiet --no-deps --require-hashes -d $(WHEELS) $(WHEEL_TARGET) \
	    --only-binary=:all: --no-binary=langid -r requirements/runtime.lock
	$(BIN)/python -m pip download --quiet --no-deps --require-hashes -d $(WHEELS) $(WHEEL_TARGET) \
	    --only-binary=:all: -r requirements/build.lock
	@touch $(WHEELS_STAMP)

wheels: $(WHEELS_STAMP)

image: $(WHEELS_STAMP)
	DOCKER_BUILDKIT=0 docker build --force-rm --build-arg BASE_IMAGE=$(BASE_IMAGE) \
	    --build-arg BUILD_IMAGE=$(BUILD_IMAGE) -t $(IMAGE) .

# Runs docker-compose.yml on a real Docker engine: installs docker.io, docker-compose and
# debootstrap (Debian packages) when missing, starts dockerd when none runs (and stops it after),
# builds a local base image (no image registry needed; kept cached as newsdesk-base:bookworm)
# and the app image (kept cached), then tests faults and scaling and removes every container,
# volume and network it made.
test-compose: $(STAMP) $(WHEELS_STAMP)
	@command -v dockerd >/dev/null && command -v docker-compose >/dev/null \
	    && command -v debootstrap >/dev/null || { apt-get update -qq \
	    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io docker-compose debootstrap; }
	$(BIN)/python -m tests.compose.scenario

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(WHEELS)
