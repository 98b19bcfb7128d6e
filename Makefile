# The offer engine's tasks. Every target sets up what it needs on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	@$(UV) pip install -q --python $(BIN)/python -r requirements.lock
	@$(UV) pip install -q --python $(BIN)/python --no-deps -e .
	@touch $(STAMP)

.PHONY: venv
venv: $(STAMP) ## Create .venv with the pinned packages and the project

.PHONY: system-deps
system-deps: ## Install Java, Maven, redis-server and kcat from Debian's packages if missing
	@bash scripts/install-system-deps.sh

.PHONY: kafka
kafka: venv system-deps ## Fetch the Kafka broker's jars from Maven Central (cached)
	@$(BIN)/offers stack fetch

.PHONY: demo
demo: kafka ## Run 3 simulated days through the whole engine and its customers, print the results
	@$(BIN)/offers demo

.PHONY: up
up: kafka ## Start the local stack in the background (stop with: make down)
	@$(BIN)/offers stack up

.PHONY: down
down: venv ## Stop the local stack
	@$(BIN)/offers stack down

.PHONY: lint
lint: venv ## ruff (lint and format check) and mypy --strict
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy

.PHONY: unit
unit: venv ## Unit tests (no services)
	@$(BIN)/pytest -m "not integration and not slow"

.PHONY: test
test: kafka lint ## Lint, then every test: unit and integration (real Kafka and Redis)
	@$(BIN)/pytest -m "not slow" --durations=30

.PHONY: test-all
test-all: kafka lint ## Every test, the slow scale checks included
	@$(BIN)/pytest

.PHONY: chaos
chaos: kafka ## Fault scenarios at full size (workers killed through 100,000 events...): docs/chaos-results.md
	@CHAOS_SCALE=full CHAOS_RESULTS=docs/chaos-results.md $(BIN)/pytest tests/integration/chaos --timeout 5400

.PHONY: bench
bench: kafka ## Every benchmark, each on a stack of its own: JSON and RESULTS.md in bench/results/
	@$(BIN)/python -m bench.run

.PHONY: bench-decisions
bench-decisions: kafka ## Decision latency at fixed rates, beside a pass-through worker
	@$(BIN)/python -m bench.decision_latency

.PHONY: lock
lock: venv ## Re-pin requirements.lock from pyproject.toml
	@$(UV) pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

.PHONY: clean
clean: ## Remove the venv, the stack's data and caches (not the Kafka jar cache)
	rm -rf $(VENV) .stack .pytest_cache .mypy_cache .ruff_cache
