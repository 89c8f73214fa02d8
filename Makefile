# Two commands do everything on a fresh machine:
#   make plan   - set up, then print what the `dev` stack would create (offline, no AWS, no Pulumi CLI)
#   make test   - set up, then run the whole test suite (starts its own PostgreSQL and Secrets Manager emulator)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STACK  ?= dev

.PHONY: setup plan validate test bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed
	@scripts/ensure-postgres

plan: $(VENV)/.installed
	$(PY) -m components plan --stack $(STACK)

validate: $(VENV)/.installed
	$(PY) -m components validate

test: setup
	$(PY) -m pytest -n 2

bench: setup
	$(PY) bench/plan_scale.py
	$(PY) bench/rotation.py

clean:
	rm -rf $(VENV) build .pytest_cache
