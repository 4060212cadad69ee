# Two commands set everything up on a fresh machine:
#   make run    creates .venv if missing, installs, launches the app
#   make test   creates .venv if missing, installs, runs the tests
VENV ?= .venv
PY := $(VENV)/bin/python

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

run: $(VENV)/.installed
	$(PY) main.py

test: $(VENV)/.installed
	$(VENV)/bin/ruff check --quiet .
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

.PHONY: install run test
