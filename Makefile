# The two entry points of the README: `make demo` (first run) and `make test` (the whole suite).
# Both install what they need into .venv, the project's own virtual environment.
#
# `make test` tests what users install: the unit tier runs from the source tree; then the
# Dockerfile is replayed (.ci/replay_dockerfile.py: the wheel built by the Dockerfile's own
# `pip wheel` step, installed alone into a clean environment under .wheel/image, checked, started),
# and the end-to-end tier runs against that installed fxhelp-bot. `make e2e` runs the end-to-end tier from the source tree.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
IMAGE  := .wheel/image
INSTALLED := $(abspath $(IMAGE))/usr/local/bin/fxhelp-bot

.PHONY: demo test unit e2e fuzz image e2e-installed lint bench check-config clean

$(BIN)/.installed: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/fxhelp-bot demo

test: unit image e2e-installed

unit: $(BIN)/.installed
	$(BIN)/python -m pytest -q tests/unit tests/fuzz

e2e: $(BIN)/.installed
	$(BIN)/python -m pytest -q tests/e2e

# The fuzz tier runs a bounded profile inside `make test`; this is the long run (many more examples).
fuzz: $(BIN)/.installed
	FXHELP_FUZZ_PROFILE=fuzz-long $(BIN)/python -m pytest -q tests/fuzz

image: $(BIN)/.installed
	$(BIN)/python .ci/replay_dockerfile.py --image $(IMAGE)

e2e-installed: image
	FXHELP_E2E_INSTALLED=$(INSTALLED) $(BIN)/python -m pytest -q tests/e2e

# The import contract (pyproject's [tool.importlinter]) and ruff's lint rules (no reformatting).
lint: $(BIN)/.installed
	$(BIN)/lint-imports
	$(BIN)/ruff check .

bench: $(BIN)/.installed
	$(BIN)/python bench/latency.py
	$(BIN)/python bench/scheduler_bench.py
	$(BIN)/python bench/replies_bench.py
	$(BIN)/python bench/stall_bench.py
	$(BIN)/python bench/dashboard_bench.py

clean:
	rm -rf $(VENV) .wheel build *.egg-info .pytest_cache .hypothesis demo
