# The one place commands live. First use on a new Debian machine: `make run`, `make test`.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# Re-run `pip install` only when pyproject.toml is newer than this stamp.
INSTALL_STAMP := $(VENV)/.install-stamp
LOCALE_DIR := supplychain/locale
# Paths mypy checks; wildcard drops any that do not exist yet.
MYPY_PATHS := $(wildcard supplychain workflows activities web cli.py worker.py tests bench)
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
APT_PACKAGES := chromium fonts-noto-cjk poppler-utils libpangoft2-1.0-0

.PHONY: help venv install catalogs bytecode messages system-deps run test lint fmt migrate seed worker web histories bench

help:
	@echo "make run          install and start everything (web app, worker, Temporal dev server)"
	@echo "make test         system packages, install, lint, then the whole test suite"
	@echo "make lint | fmt   ruff + mypy | rewrite formatting and fixable lint"
	@echo "make migrate | seed | worker | web   one piece at a time"
	@echo "make venv | install | system-deps    set-up steps the targets above run for you"
	@echo "make messages     extract translatable strings and update the zh_CN/en catalogs"
	@echo "make histories    record the workflow histories of new scenarios (never overwrites one)"
	@echo "make bench        measure pages, clicks and throughput against their floors (a few minutes)"

venv: $(BIN)/python

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { \
	  echo "venv failed; installing python3.11-venv and retrying"; rm -rf $(VENV); \
	  $(SUDO) apt-get update && $(SUDO) apt-get install -y python3.11-venv && $(PYTHON) -m venv $(VENV); }

install: $(INSTALL_STAMP) catalogs bytecode

$(INSTALL_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e '.[dev]'
	touch $@

# The workflow sandbox imports workflows/ afresh for every workflow run: from bytecode when there is
# some (PYTHONDONTWRITEBYTECODE, set on this machine and in the image, stops Python writing it), else
# compiling the source each time (a fifth of the worker's CPU under load, make bench).
bytecode: $(INSTALL_STAMP)
	$(BIN)/python -m compileall -q workflows

# Babel's .mo files are build output (git-ignored); compile them from the .po sources when present.
catalogs: $(INSTALL_STAMP)
	@if compgen -G '$(LOCALE_DIR)/*/LC_MESSAGES/messages.po' >/dev/null; then \
	  $(BIN)/pybabel -q compile -d $(LOCALE_DIR) -D messages; fi

# Extract every marked string into the template and merge it into both catalogs; translate the new
# zh_CN entries, then `make catalogs` (or `make install`) compiles them.
messages: $(INSTALL_STAMP)
	mkdir -p $(LOCALE_DIR)
	$(BIN)/pybabel extract -F babel.cfg -k lazy -k gettext -k ngettext:1,2 --no-location \
	  -o $(LOCALE_DIR)/messages.pot .
	$(BIN)/pybabel update -i $(LOCALE_DIR)/messages.pot -d $(LOCALE_DIR) -D messages \
	  --no-fuzzy-matching

# Chromium for the browser tests, Noto CJK so PDFs render Chinese, pdffonts to check they embed it,
# Pango for WeasyPrint.
system-deps:
	@if [ -x /usr/bin/chromium ] && command -v pdffonts >/dev/null \
	    && fc-list 2>/dev/null | grep -q "Noto Sans CJK" \
	    && /sbin/ldconfig -p | grep -q libpangoft2-1.0; then \
	  echo "system packages present"; \
	else \
	  $(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y $(APT_PACKAGES); \
	fi

# Record the workflow histories of the scenarios in tests/workflows/history_scenarios.py whose files do
# not exist yet, on the time-skipping test server; a committed file is never overwritten (see
# tests/workflows/test_histories.py). Lists the new files to commit.
histories: install
	RECORD_HISTORIES=1 $(BIN)/pytest -q \
	  tests/workflows/test_histories.py::test_scenario_runs_and_its_fresh_histories_replay
	git status --short --untracked-files=all -- tests/workflows/histories/

run: install
	$(BIN)/portal dev

# The portal against its floors on this machine, in a world of its own under /tmp (never var/); see
# bench/run.py and the README's "Benchmarks". wrk drives the pages (Debian package, installed here
# like chromium in system-deps). BENCH_ARGS passes options, e.g. BENCH_ARGS="--pages approvals".
bench: install
	@command -v wrk >/dev/null || { $(SUDO) apt-get update \
	  && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y wrk; }
	$(BIN)/python -m bench $(BENCH_ARGS)

# --durations: the 15 slowest tests, so a test that grows slow is seen (and sped up, not dropped).
# -n: pytest-xdist workers, one per core by default (TEST_WORKERS=0 runs in this process). Each worker
# has its own database and Temporal servers (tests/conftest.py), so nothing is shared between them.
TEST_WORKERS ?= auto
test: system-deps install lint
	$(BIN)/pytest -n $(TEST_WORKERS) --durations=15

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(MYPY_PATHS)

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: install
	$(BIN)/portal migrate

seed: install
	$(BIN)/portal seed

worker: install
	$(BIN)/portal worker

web: install
	$(BIN)/portal web
