# Karma — `make run` serves the seeded API on http://127.0.0.1:8000; `make test` runs the suite.
# The first interpreter that really runs and is 3.11 or 3.12 (durable-rules does not import on 3.13).
PYTHON ?= $(shell for p in python3.11 python3.12 python3; do \
	$$p -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 13))' >/dev/null 2>&1 \
	&& command -v $$p && break; done)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# The test suite uses its own Neo4j (own data dir and port) so it never touches `make run`'s data.
TEST_ENV := KARMA_NEO4J_HOME=$(CURDIR)/.karma/neo4j-test KARMA_NEO4J_BOLT_PORT=$${KARMA_TEST_BOLT_PORT:-7697} \
            KARMA_NEO4J_LIB=$(CURDIR)/.karma/neo4j/lib

.PHONY: setup run test lint unit neo4j-start neo4j-stop neo4j-status seed rules-validate rules-corpus stop clean bench bench-full chaos

# Any pyproject.toml change (pins, entry points of karma_tools) reinstalls: `karma neo4j|bench` are entry points.
$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 or 3.12 is required (durable-rules does not import on 3.13)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

setup: $(STAMP) ## Python deps in .venv and the Neo4j jars in .karma/neo4j/lib
	$(BIN)/karma neo4j jars

run: setup ## start Neo4j (unless NEO4J_URI/Docker; Neo4j Browser on :7474), seed, serve the API with gunicorn
	KARMA_NEO4J_HTTP_PORT=$${KARMA_NEO4J_HTTP_PORT:-7474} $(BIN)/karma serve

# Two pytest workers (whole files each), the second on a Neo4j of its own (.karma/neo4j-test-gw1, Bolt port
# + 100; tests/conftest.py). One worker when NEO4J_URI names a single shared database, or TEST_WORKERS=0.
TEST_WORKERS ?= $(if $(NEO4J_URI),0,2)
TEST_XDIST   := $(if $(filter-out 0 1,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile,)

test: setup ## start the test Neo4j if needed and run the whole suite (two workers, ~14 min)
	$(TEST_ENV) $(BIN)/karma neo4j start
	$(TEST_ENV) $(BIN)/python -m pytest $(TEST_XDIST) $(PYTEST_ARGS)

unit: $(STAMP) ## pure-logic tests only (no Neo4j)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

neo4j-start: setup
	$(BIN)/karma neo4j start
neo4j-stop:
	$(BIN)/karma neo4j stop
neo4j-status:
	$(BIN)/karma neo4j status

seed: setup ## (re)load the karma world
	$(BIN)/karma seed

rules-validate: $(STAMP)
	$(BIN)/karma rules validate

rules-corpus: $(STAMP) ## the long differential run: engine vs oracle on generated rules (EXAMPLES=2000 per corpus)
	$(BIN)/python -m karma_tools.rulecorpus --examples $${EXAMPLES:-2000}

bench: setup ## every performance figure in about 11 min → bench/results/latest.json (docs/performance.md)
	$(BIN)/karma bench run $(BENCH_ARGS)

bench-full: setup ## the long benchmark: more samples, 1–32 users (BENCH_ARGS="--sizes 1k,10k,100k,1m" for 1M)
	$(BIN)/karma bench run --full $(BENCH_ARGS)

chaos: setup ## availability figures (slow clients, a frozen test Neo4j) in about 2 min → bench/results/chaos.json
	$(TEST_ENV) $(BIN)/karma neo4j start
	$(TEST_ENV) $(BIN)/python -m karma_tools.chaos

stop: ## stop the local Neo4j servers (dev, test, bench)
	-$(BIN)/karma neo4j stop
	-$(TEST_ENV) $(BIN)/karma neo4j stop
	-KARMA_NEO4J_HOME=$(CURDIR)/.karma/neo4j-test-gw1 $(BIN)/karma neo4j stop
	-$(BIN)/karma bench stop

clean: stop
	rm -rf .karma $(VENV)

lint: $(STAMP) ## ruff (configured in pyproject.toml): lint rules and one format; CI fails on any finding
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
