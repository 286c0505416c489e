# Front doors: `make run` (local stack with demo data) and `make test`.
# Everything else is a helper. Needs python3.11 (or a python3 that is 3.11) and make.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
VENV := .venv
VENV_PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements.stamp
REQUIREMENTS := requirements.txt requirements-dev.txt
PYTEST_ARGS ?=

.PHONY: help venv install messages run test lint format migrate stop-db clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

$(VENV_PY):
	@test -n "$(PYTHON)" || { echo "python3.11 (or python3) not found" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "need Python 3.11, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)

# Re-installs only when a requirements file is newer than the stamp.
$(STAMP): $(REQUIREMENTS) | $(VENV_PY)
	$(VENV_PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

venv: $(STAMP) ## Create .venv and install requirements-dev.txt (when they change)
install: venv

messages: $(STAMP) ## Compile the translation catalogues (.po -> .mo; needs gettext's msgfmt)
	$(VENV_PY) scripts/makemessages.py --compile

run: $(STAMP) messages ## Migrate, seed demo data, start web + worker + beat (Ctrl-C stops all)
	LIMS_ENV=development $(VENV_PY) scripts/run.py

test: $(STAMP) messages ## Run the whole test suite (embedded PostgreSQL unless DATABASE_URL is set)
	@status=0; $(VENV_PY) -m pytest $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: treating that as a failure" >&2; fi; \
	exit $$status

lint: $(STAMP) ## ruff check + ruff format --check + import contracts
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff format --check .

format: $(STAMP) ## Apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

migrate: $(STAMP) ## Apply migrations (LIMS_ENV defaults to development)
	LIMS_ENV=$${LIMS_ENV:-development} $(VENV_PY) manage.py migrate

stop-db: ## Stop the embedded PostgreSQL under var/pgdata if it runs
	@if [ -x $(VENV_PY) ] && [ -f var/pgdata/postmaster.pid ]; then \
		$(VENV_PY) -m lims.embedded_pg stop && echo "embedded PostgreSQL stopped"; \
	else echo "embedded PostgreSQL is not running"; fi

clean: stop-db ## Stop the embedded DB, then delete var/ (DB, queue, static) and .venv
	rm -rf var $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis
