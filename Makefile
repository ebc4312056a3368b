# The two commands: `make run` (demo on http://127.0.0.1:8000) and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# The local demo: SQLite unless DATABASE_URL says otherwise, eager Celery, console e-mail.
DEMO_ENV := DEBUG=1

.PHONY: run setup install install-dev test lint format worker beat

run: setup
	@$(DEMO_ENV) $(BIN)/python manage.py seed_demo --accounts-only
	@echo ""
	@echo "Serving the portal on http://127.0.0.1:8000 (Ctrl-C stops it)."
	$(DEMO_ENV) $(BIN)/python manage.py runserver 127.0.0.1:8000

setup: install
	$(DEMO_ENV) $(BIN)/python manage.py migrate --noinput
	$(DEMO_ENV) $(BIN)/python manage.py load_taxonomy
	$(DEMO_ENV) $(BIN)/python manage.py seed_demo

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

test: install-dev
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
