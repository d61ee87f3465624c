# The one entry point: CI runs these same targets. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PROTOS := $(shell find protos -name '*.proto')
STUBS := gen/python/identity/__init__.py
DATABASE_URL ?= sqlite:///var/roster.db

.DEFAULT_GOAL := help
.PHONY: help venv proto check-generated run test bench lint api-baseline format lock clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(INSTALLED): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

venv: $(INSTALLED) ## Create .venv with the locked dependencies

$(STUBS): $(PROTOS) scripts/gen_protos.py | $(INSTALLED)
	$(PY) scripts/gen_protos.py gen/python

proto: $(INSTALLED) ## Regenerate the Python stubs in gen/python from protos/
	$(PY) scripts/gen_protos.py gen/python

check-generated: $(INSTALLED) ## Fail when gen/python drifts from protos/
	@tmp=$$(mktemp -d) && $(PY) scripts/gen_protos.py $$tmp >/dev/null \
	  && diff -r $$tmp/identity gen/python/identity -x __pycache__ \
	  && echo "generated code matches protos/"; rc=$$?; rm -rf $$tmp; exit $$rc

run: $(INSTALLED) $(STUBS) ## Migrate var/roster.db, ensure tenant demo, run identity_service and the SCIM facade
	@mkdir -p var
	$(BIN)/identity-service migrate --database-url $(DATABASE_URL)
	$(BIN)/identity-service tenants ensure demo --database-url $(DATABASE_URL)
	@exec scripts/run-all.sh $(DATABASE_URL)

test: $(INSTALLED) $(STUBS) ## Run the whole test suite
	@$(BIN)/pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; fi; exit $$rc

BENCH ?= full
BENCH_REUSE ?= 0
bench: $(INSTALLED) $(STUBS) ## Roster vs scim2-server, 1k-1M users (about 15 min; BENCH=quick: 2 min; BENCH_REUSE=1)
	BENCH=$(BENCH) BENCH_REUSE=$(BENCH_REUSE) $(PY) -m bench

lint: $(INSTALLED) ## ruff, mypy, buf lint, format and breaking, import-linter, generated-code drift
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/buf lint
	$(BIN)/buf format --exit-code --diff
	$(BIN)/buf breaking protos --against protos/baseline.binpb
	$(BIN)/lint-imports
	$(MAKE) --no-print-directory check-generated

api-baseline: $(INSTALLED) ## Record protos/ as the contract later changes must stay compatible with
	$(BIN)/buf build protos --exclude-source-info -o protos/baseline.binpb

format: $(INSTALLED) ## Apply ruff and buf formatting
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	$(BIN)/buf format -w

lock: ## Re-resolve requirements.lock from pyproject.toml (needs network)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --universal \
	  --python-version 3.11 -o requirements.lock

clean: ## Remove the virtualenv and local data
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
