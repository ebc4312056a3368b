# The two commands: `make run` (demo on http://127.0.0.1:8000) and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# The local demo: SQLite unless DATABASE_URL says otherwise, eager Celery, console e-mail.
# Two-factor is off for the demo accounts only here (OTP_REQUIRED=0); production keeps it on.
DEMO_ENV := DEBUG=1 OTP_REQUIRED=0

.PHONY: run setup install install-dev test lint typecheck format worker beat run-prod need-redis vendor oidc-provider messages

# `make run` prints the accounts once, last, just before serving: its setup step loads the
# demo data without printing them (a target-specific variable reaches the prerequisites).
# `make run DEMO_LANGUAGE=nb`: a Norwegian demo (every demo person has chosen Norsk bokmål).
run: SEED_ARGS := --no-accounts $(if $(DEMO_LANGUAGE),--language $(DEMO_LANGUAGE))
run: setup
	@$(DEMO_ENV) $(BIN)/python manage.py seed_demo --accounts-only
	@echo ""
	@echo "Two-factor authentication is OFF for this local demo (OTP_REQUIRED=0): olivia, lena"
	@echo "and admin log in with their password alone. Production requires it (docs/security.md)."
	@echo "Serving the portal on http://127.0.0.1:8000 (Ctrl-C stops it)."
	$(DEMO_ENV) $(BIN)/python manage.py runserver 127.0.0.1:8000

setup: install
	$(DEMO_ENV) $(BIN)/python manage.py migrate --noinput
	$(DEMO_ENV) $(BIN)/python manage.py load_taxonomy
	$(DEMO_ENV) $(BIN)/python manage.py seed_demo $(SEED_ARGS)

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

install-dev: $(VENV)/.installed-dev oidc-provider

# The test identity provider of the single sign-on tests (tests/oidc_provider): npm's
# oidc-provider, pinned by its lock file; node_modules is git-ignored. Without npm the
# tests that need it skip locally and fail under CI=true.
OIDC_PROVIDER_DIR := tests/oidc_provider
oidc-provider:
	@if command -v npm >/dev/null 2>&1; then \
	  if [ ! -f $(OIDC_PROVIDER_DIR)/node_modules/.installed ] || \
	     [ $(OIDC_PROVIDER_DIR)/package-lock.json -nt $(OIDC_PROVIDER_DIR)/node_modules/.installed ]; then \
	    (cd $(OIDC_PROVIDER_DIR) && npm ci --no-audit --no-fund --loglevel=error) && \
	    touch $(OIDC_PROVIDER_DIR)/node_modules/.installed; \
	  fi; \
	else echo "npm not found: the single sign-on tests need it (Node.js 20+)"; fi

# The translations (docs/languages.md): collect every marked text into each language's
# catalogue under locale/ (no source locations, so two branches' catalogues merge cleanly),
# then compile the .mo files Django reads; both are committed. Needs GNU gettext.
LANGUAGE_CODES ?= nb
messages: install-dev
	DEBUG=1 $(BIN)/python manage.py makemessages $(addprefix -l ,$(LANGUAGE_CODES)) \
	  --no-location --no-obsolete --ignore=tests --ignore=benchmarks --ignore=node_modules
	DEBUG=1 $(BIN)/python manage.py compilemessages $(addprefix -l ,$(LANGUAGE_CODES)) --ignore=.venv

test: install-dev
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

# mypy on the services and selectors (pyproject.toml, [tool.mypy]). django-stubs imports the
# settings, which need DEBUG=1 (or a SECRET_KEY) to load.
typecheck: install-dev
	DEBUG=1 $(BIN)/mypy

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# --- Notifications and scheduled jobs: a Celery worker and beat on Redis (REDIS_URL) ------
CELERY_WORKER_CONCURRENCY ?= 2

need-redis:
	@test -n "$$REDIS_URL" || { echo "Set REDIS_URL (e.g. redis://127.0.0.1:6379/0): without it tasks run in-process and no worker is needed."; exit 1; }

worker: install need-redis
	mkdir -p var
	$(BIN)/celery -A portal worker --loglevel INFO --concurrency $(CELERY_WORKER_CONCURRENCY)

beat: install need-redis
	mkdir -p var
	$(BIN)/celery -A portal beat --loglevel INFO --schedule var/celerybeat-schedule

# Web (gunicorn), worker and beat together from the Procfile, as in production.
run-prod: install need-redis
	@test -n "$$SECRET_KEY" || { echo "Set SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL (see .env.example)."; exit 1; }
	mkdir -p var
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/honcho start --procfile Procfile

# --- Front-end files from the npm registry (pinned in package.json / package-lock.json) ----
# The built files are committed, so `make run` and `make test` need Python only; run this
# after changing a version in package.json to refresh them.
vendor:
	npm ci --no-audit --no-fund --ignore-scripts
	mkdir -p portal/static/vendor/chartjs tests/e2e/vendor/axe-core
	cp node_modules/chart.js/dist/chart.umd.min.js node_modules/chart.js/LICENSE.md portal/static/vendor/chartjs/
	cp node_modules/axe-core/axe.min.js node_modules/axe-core/LICENSE tests/e2e/vendor/axe-core/
	# No source map is shipped: a reference to a missing one fails collectstatic's manifest.
	sed -i '/sourceMappingURL=/d' portal/static/vendor/chartjs/chart.umd.min.js
