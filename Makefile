# Everyday commands. `make serve` and `make test` set up the virtualenv on first use.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: serve test test-embedded test-postgres soak fuzz lint format install clean oidc-provider s3-server

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

# The real OpenID Provider the OIDC tests sign in against (npm's oidc-provider, Node.js 20+).
OIDC_PROVIDER := tests/oidc/provider/node_modules/.package-lock.json
$(OIDC_PROVIDER): tests/oidc/provider/package-lock.json
	npm ci --prefix tests/oidc/provider --no-audit --no-fund

oidc-provider: $(OIDC_PROVIDER)

# The S3-speaking server the attachment tests run (moto's server mode), in a virtualenv of
# its own: botocore pins python-dateutil below the version the service uses.
S3_SERVER_VENV := $(VENV)-s3server
S3_SERVER := $(S3_SERVER_VENV)/.installed-stamp
$(S3_SERVER): tests/attachments/s3server/requirements.lock
	$(PYTHON) -m venv $(S3_SERVER_VENV)
	$(S3_SERVER_VENV)/bin/python -m pip install --quiet --require-hashes -r tests/attachments/s3server/requirements.lock
	@touch $(S3_SERVER)

s3-server: $(S3_SERVER)

serve: $(STAMP)  ## start the server on the embedded default (SQLite + in-process Redis)
	$(BIN)/taskmanager serve $(ARGS)

test: $(STAMP) $(OIDC_PROVIDER) $(S3_SERVER)  ## the whole suite, on the embedded default and on PostgreSQL + Redis
	scripts/test

test-embedded: $(STAMP) $(OIDC_PROVIDER) $(S3_SERVER)
	TM_TEST_BACKEND=embedded $(BIN)/pytest $(ARGS)

test-postgres: $(STAMP) $(OIDC_PROVIDER) $(S3_SERVER)
	TM_TEST_BACKEND=postgres $(BIN)/pytest $(ARGS)

SOAK_SECONDS ?= 600
SYNC_SOAK_EXAMPLES ?= 100
SYNC_SOAK_STEPS ?= 120
soak: $(STAMP)  ## the fault-injection soak for SOAK_SECONDS (default 10 min; CI runs 30 s), then SYNC_SOAK_EXAMPLES random sync runs
	TM_TEST_BACKEND=postgres TM_SOAK_SECONDS=$(SOAK_SECONDS) $(BIN)/pytest tests/faults/test_soak.py -s $(ARGS)
	TM_TEST_BACKEND=postgres TM_SYNC_SOAK_EXAMPLES=$(SYNC_SOAK_EXAMPLES) TM_SYNC_SOAK_STEPS=$(SYNC_SOAK_STEPS) $(BIN)/pytest tests/sync/test_property.py $(ARGS)

FUZZ_EXAMPLES ?= 300
fuzz: $(STAMP)  ## schemathesis, long random run: FUZZ_EXAMPLES per operation and mode, both backends
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) TM_TEST_BACKEND=embedded $(BIN)/pytest tests/fuzz $(ARGS)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) TM_TEST_BACKEND=postgres $(BIN)/pytest tests/fuzz $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

.PHONY: bench
bench: $(STAMP)  ## service vs raw floor on PostgreSQL + Redis (wrk, WebSockets); ~5.5 min -> bench/results/
	command -v wrk >/dev/null || apt-get install -y wrk || (apt-get update -qq && apt-get install -y wrk)
	$(BIN)/python -c 'import matplotlib' 2>/dev/null || $(BIN)/python -m pip install --quiet 'matplotlib==3.11.2'
	$(BIN)/python bench/run.py $(ARGS)

clean:
	rm -rf $(VENV) $(S3_SERVER_VENV) data .mypy_cache .ruff_cache .pytest_cache
