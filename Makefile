# Waspada task runner. `make demo` and `make test` work on a fresh clone with only
# Python 3.11+ and make; everything else goes into .venv.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8765
SHELL  := /bin/bash
# Training and pickling must not depend on hash randomisation (bit-for-bit models).
export PYTHONHASHSEED := 0

.DEFAULT_GOAL := help
.PHONY: help demo test model bench lint format lock clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install -q -c constraints.txt -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install -q -c constraints.txt -e ".[test]"
	@touch $@

demo: $(VENV)/.installed ## start the demo job board, run the nightly batch on it, print the report path
	@$(BIN)/waspada -q demo-site --port $(PORT) & pid=$$!; \
	trap 'kill $$pid 2>/dev/null' EXIT; \
	for i in $$(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$(PORT)) 2>/dev/null && break; sleep 0.1; done; \
	$(BIN)/waspada nightly --config config/demo.toml; rc=$$?; \
	if [ $$rc -eq 0 ] || [ $$rc -eq 3 ]; then echo; echo "Top of the review queue:"; $(BIN)/waspada queue --limit 10; fi; \
	exit $$rc

test: $(VENV)/.installed-test ## install the test extras and run the whole suite
	$(BIN)/ruff check pipeline scrapers tests benchmarks
	$(BIN)/pytest -q

model: $(VENV)/.installed ## retrain the shipped default model from data/seed (bit-for-bit on the same machine)
	$(BIN)/waspada train --data data/seed --promote force --note "shipped default, trained from data/seed by make model"

bench: $(VENV)/.installed-test ## run the benchmarks (each prints one JSON line at the end)
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done
	@echo "== benchmarks/score_bench.py --shape typical"; $(BIN)/python benchmarks/score_bench.py --shape typical

lint: $(VENV)/.installed-test ## ruff check and format check
	$(BIN)/ruff check pipeline scrapers tests benchmarks
	$(BIN)/ruff format --check pipeline scrapers tests benchmarks

format: $(VENV)/.installed-test ## ruff format and fix imports
	$(BIN)/ruff check --fix pipeline scrapers tests benchmarks
	$(BIN)/ruff format pipeline scrapers tests benchmarks

lock: $(VENV)/.installed-test ## rewrite constraints.txt from the current venv
	$(BIN)/pip freeze --exclude-editable | grep -v '^-e' > constraints.txt

clean: ## remove the venv, caches and run outputs (keeps models/ and data/seed)
	rm -rf $(VENV) .pytest_cache .ruff_cache data/waspada.db* data/reports data/raw
