# Two entry points for a fresh Debian machine: `make run` and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
NUT_BINS := /lib/nut/upsd /lib/nut/dummy-ups /usr/bin/upsc /usr/bin/upscmd /usr/bin/upsrw /usr/bin/upslog /usr/sbin/upsmon
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint typecheck unit nut-tools venv clean bench

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

venv: $(STAMP)

# NUT's real programs are the peers the tests compare against.
nut-tools:
	@missing=0; for b in $(NUT_BINS); do [ -x $$b ] || missing=1; done; \
	if [ $$missing = 1 ]; then \
	  echo "installing Debian's nut-client and nut-server (test peers)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nut-client nut-server >/dev/null; \
	fi

run: $(STAMP)
	@chmod 640 conf/upsd.users  # git does not keep the mode; upsd.users must not be world-readable
	$(VENV)/bin/nutpy serve -c conf

lint: $(STAMP)
	$(VENV)/bin/ruff check nutpy tests

typecheck: $(STAMP)
	$(VENV)/bin/mypy

test: $(STAMP) nut-tools lint typecheck
	$(VENV)/bin/pytest -q

# Benchmark against NUT's upsd (not part of `make test`): ~15 min, or ~2 min with
# BENCH_QUICK=1.  Needs a C compiler for the load generator, and the profilers.
BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $@

bench: $(BENCH_STAMP) nut-tools
	@command -v cc >/dev/null 2>&1 || { \
	  echo "installing build-essential (the load generator is compiled C)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq build-essential >/dev/null; }
	$(PY) -m bench $(if $(filter 1 yes true,$(BENCH_QUICK)),--quick)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
