# The two entry points of the README: `make demo` (first run) and `make test` (the whole suite).
# Both install what they need into .venv, the project's own virtual environment.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test unit e2e fuzz bench check-config clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/fxhelp-bot demo

test: $(BIN)/.installed
	$(BIN)/python -m pytest -q

unit: $(BIN)/.installed
	$(BIN)/python -m pytest -q tests/unit

e2e: $(BIN)/.installed
	$(BIN)/python -m pytest -q tests/e2e

# The fuzz tier runs a bounded profile inside `make test`; this is the long run (many more examples).
fuzz: $(BIN)/.installed
	FXHELP_FUZZ_PROFILE=fuzz-long $(BIN)/python -m pytest -q tests/fuzz

bench: $(BIN)/.installed
	$(BIN)/python bench/latency.py
	$(BIN)/python bench/scheduler_bench.py
	$(BIN)/python bench/replies_bench.py
	$(BIN)/python bench/stall_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis demo
