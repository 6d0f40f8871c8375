# Two commands for a newcomer:
#   make run    installs what is needed and opens the dashboard on a bundled sample
#   make test   installs what is needed (Python packages, Debian's chromium) and runs every test
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501
# make run listens on this address only: the loopback one by default, so no one else on the network
# reaches your dashboard. HOST=0.0.0.0 (or EXPLORER_HOST=0.0.0.0) serves it to the network.
HOST ?= $(or $(EXPLORER_HOST),127.0.0.1)
# The sidebar's list of every saved run: on when only this machine can reach the dashboard, off when
# HOST opens it to others (they would see, and open, every run). LIST_RUNS=1 forces it on.
LIST_RUNS ?= $(if $(filter 127.0.0.1 localhost ::1,$(HOST)),1,0)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# What `make lint` checks with ruff (lint and format); mypy's files are in pyproject.toml.
LINT_PATHS ?= app.py explorer pages tests bench tools

.PHONY: run test lint install install-dev chromium test-fast bench clean

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

chromium:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; }

run: install
	EXPLORER_LIST_RUNS=$(LIST_RUNS) $(PY) -m streamlit run app.py --server.address $(HOST) --server.port $(PORT)

test: install-dev chromium
	$(PY) -m pytest -q

# ruff (lint, then format check) and mypy, with the settings in pyproject.toml; .ci/run runs it before the tests.
lint: install-dev
	$(PY) -m ruff check $(LINT_PATHS)
	$(PY) -m ruff format --check $(LINT_PATHS)
	$(PY) -m mypy

test-fast: install-dev
	$(PY) -m pytest -q -m "not browser and not slow"

bench: install-dev
	$(PY) -m bench.run_all

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache runs test-output
