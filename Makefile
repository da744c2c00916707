# The project's one command surface. Every target sets itself up on a fresh machine that has
# only Python 3.11 and pip: the first run creates .venv and installs the project into it.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Test processes: two cores here; `make test PYTEST_WORKERS=0` runs in one process.
PYTEST_WORKERS ?= 2

.PHONY: run test lint bench demo venv dev-venv clean

$(VENV)/.runtime: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e .
	touch $@

$(VENV)/.dev: $(VENV)/.runtime pyproject.toml
	$(PY) -m pip install -e '.[dev]'
	touch $@

venv: $(VENV)/.runtime
dev-venv: $(VENV)/.dev

run: venv
	$(PY) manage.py migrate --noinput
	LOG_LEVEL=WARNING $(PY) manage.py seed_demo
	$(PY) manage.py serve --host $(HOST) --port $(PORT)

test: dev-venv
	$(PY) -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: dev-venv
	$(PY) -m ruff check .
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/lint-imports
	$(PY) manage.py check_translations
	$(PY) -m mypy

bench: dev-venv
	$(PY) -m bench.run_all

demo: venv
	$(PY) manage.py migrate --noinput
	LOG_LEVEL=WARNING $(PY) manage.py seed_demo --quiet
	LOG_LEVEL=WARNING $(PY) manage.py demo

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm staticfiles
