# Two commands for a newcomer: `make demo` and `make test`. Everything else is what they call.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/pip install --quiet -c constraints.txt

# Test processes side by side: tests mostly wait on the broker and the database, so more than cores pays.
# Not more: each holds a vhost of Siaga's quorum queues, which reserve RabbitMQ's file handles (927 under
# Debian's 1,024 open files), and a broker out of them silently accepts no connection (tests/vhost_pool.py).
JOBS   ?= 3
SHARDS := $(BIN)/python scripts/test-shards.py $(JOBS)

# The suite, the demo and the benchmarks reach the broker and the database by address on this machine:
# eventlet's green DNS (dnspython: 0.8 s of CPU to import, in every test process and every service process
# they start) buys nothing here. Compose's services keep it; they resolve their peers by name.
export EVENTLET_NO_GREENDNS := yes

.PHONY: setup system-packages broker-api demo test test-durations unit integration e2e security bench bench-kannel soak chaos fuzz replay contract lint clean

setup: $(VENV)/.installed

# uv installs the pinned set in about 8 s where pip takes most of a minute; pip when uv cannot be had.
UV_VERSION := 0.9.5
REQUIREMENTS := -r requirements.txt -r requirements-local.txt -r requirements-test.txt

$(VENV)/.installed: requirements.txt requirements-local.txt requirements-test.txt constraints.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv==$(UV_VERSION) \
	  && $(BIN)/uv pip install --quiet --python $(BIN)/python -c constraints.txt $(REQUIREMENTS) \
	  || $(PIP) $(REQUIREMENTS)
	$(BIN)/pip install --quiet --no-deps -e .   # the `siaga` command
	touch $@

contract/node_modules/.installed: contract/package.json contract/package-lock.json
	npm ci --prefix contract --no-audit --no-fund --loglevel=error
	touch $@

system-packages:  ## the Debian packages the suite needs (docker-compose, chromium, kannel), installed if missing
	scripts/system-packages.sh

broker-api:  ## the local RabbitMQ's management API, enabled if off (vhosts per test in milliseconds)
	scripts/broker-management.sh

demo: setup  ## start everything with demo data; Ctrl-C stops (SIAGA_DEMO_EXIT=1 exits after the demo)
	$(BIN)/python -m siaga.demo

# The Compose and Kannel checks fail rather than skip here: system-packages has just installed them.
test: setup contract/node_modules/.installed system-packages broker-api  ## the whole suite: unit, integration, end to end
	SIAGA_REQUIRE_COMPOSE_CHECK=1 SIAGA_REQUIRE_KANNEL=1 $(SHARDS)

test-durations: setup contract/node_modules/.installed system-packages broker-api  ## the suite, keeping what each module took (shares it out evenly)
	SIAGA_REQUIRE_COMPOSE_CHECK=1 SIAGA_REQUIRE_KANNEL=1 $(SHARDS) --save-durations

unit: setup contract/node_modules/.installed  ## pure rules and service layers, no broker: seconds
	$(BIN)/python -m pytest tests/unit

integration: setup broker-api
	$(SHARDS) tests/integration

e2e: setup contract/node_modules/.installed system-packages broker-api
	$(SHARDS) tests/e2e

security: setup broker-api  ## the attacks of tests/security, against the real broker, database and HTTP servers
	$(SHARDS) tests/security

bench: setup  ## printed figures: pipeline vs nameko floor, round trips, dispatch choice, dedup, notify
	$(BIN)/python -m bench

bench-kannel: setup system-packages  ## the Kannel bridge's sustained rate against a real Kannel (KANNEL_BENCH_COUNT, KANNEL_BENCH_THROUGHPUT)
	$(BIN)/python -m bench.kannel

soak: setup  ## 100k incidents at 12/s (~2 h 20 min) with archiving on: first vs last 10k, memory (SOAK_* to shrink)
	$(BIN)/python -m bench soak

chaos: setup  ## 10k incidents while services are SIGKILLed and RabbitMQ restarts (CHAOS_* to shrink)
	$(BIN)/python -m bench.chaos

fuzz: setup  ## 100k fuzzed bodies to every consumer (FUZZ_COUNT to shrink)
	$(BIN)/python -m bench.fuzz

.PHONY: fuzz-decode
FUZZ_SECONDS ?= 300
fuzz-decode: setup  ## coverage-guided (atheris) fuzzing of every consumer's decode for FUZZ_SECONDS; findings in var/fuzz-decode
	FUZZ_SECONDS=$(FUZZ_SECONDS) $(BIN)/python -m bench.fuzz_decode

replay: setup  ## every message of a run delivered twice more, shuffled: prints the database diff (REPLAY_INCIDENTS)
	$(BIN)/python -m bench.replay

contract: setup  ## regenerate contract/asyncapi.yaml from the code's schemas
	$(BIN)/python -m contract.generate

lint: setup
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) var contract/node_modules
