# The two commands a newcomer needs:  make run  and  make test  (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run dev test install install-dev services chromium caddy lint bench clean

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

## make run: the app with an embedded default (SQLite, filesystem broker, sandbox providers, demo
## account), served by gunicorn with the production settings of scheduler/gunicorn_conf.py
run: $(VENV)/.installed
	VENV=$(VENV) exec bin/run

## make dev: the same, with Django's autoreloading development server instead of gunicorn
dev: $(VENV)/.installed
	VENV=$(VENV) WEB=dev exec bin/run

## make test: everything the tests need (PostgreSQL, Redis, Chromium, Caddy), then the whole suite
test: $(VENV)/.installed-dev services chromium caddy
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run --settings=tests.settings
	$(BIN)/pytest $(PYTEST_ARGS)

services:
	bin/ensure-services

chromium:
	@command -v chromium >/dev/null || bin/ensure-chromium

caddy:
	@command -v caddy >/dev/null || bin/ensure-caddy

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(VENV)/.installed-dev services
	@for script in bench/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf var staticfiles .pytest_cache
