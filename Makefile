# Two entry points for a fresh Debian machine: `make run` and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Programs the tests run, as path:Debian-package (NUT's real programs are the
# peers the tests compare against; systemd-analyze checks the units; mmdebstrap,
# systemd-nspawn and nsenter boot the container where the units run under a
# real systemd; the mDNS tests browse with avahi over a private dbus).
TEST_PEERS := /lib/nut/upsd:nut-server /lib/nut/dummy-ups:nut-server \
  /lib/nut/apcsmart:nut-server /sbin/upsdrvctl:nut-server /lib/nut/upsmon:nut-client \
  /usr/bin/upsc:nut-client /usr/bin/upscmd:nut-client /usr/bin/upsrw:nut-client \
  /usr/bin/upslog:nut-client /usr/bin/openssl:openssl \
  /usr/bin/systemd-analyze:systemd /usr/bin/unshare:util-linux \
  /usr/bin/prometheus:prometheus /usr/bin/promtool:prometheus \
  /usr/bin/nsenter:util-linux /usr/bin/nut-scanner:nut-server /usr/sbin/ip:iproute2 \
  /usr/bin/dbus-daemon:dbus-daemon /usr/sbin/avahi-daemon:avahi-daemon \
  /usr/bin/avahi-browse:avahi-utils \
  /usr/bin/mmdebstrap:mmdebstrap /usr/bin/systemd-nspawn:systemd-container \
  /lib/nut/apcupsd-ups:nut-server \
  /usr/bin/chromium:chromium /usr/bin/chromedriver:chromium-driver
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# `make install`: a private venv under PREFIX, the command in PREFIX/bin, the
# systemd units, and the demo config as examples.  It never writes /etc/nut.
PREFIX     ?= /usr/local
SYSTEMDDIR ?= /etc/systemd/system
# The real upsmon (Debian's /sbin/upsmon is a wrapper that says yes when NUT is
# disabled, which must not decide whether to cut the power).
UPSMON     ?= $(firstword $(wildcard /lib/nut/upsmon /usr/sbin/upsmon /sbin/upsmon) /lib/nut/upsmon)
DEST       := $(abspath $(PREFIX))

# apcupsd's own programs for the NIS tests.  Debian's apcupsd conflicts with
# nut-client (installing it removes NUT's clients), so it is unpacked here with
# the libraries it needs, never installed.
APCUPSD_DIR  := .cache/apcupsd
APCUPSD_DEBS := apcupsd libusb-0.1-4 libwrap0

.PHONY: run test test-systemd lint typecheck unit nut-tools apcupsd-peer venv clean install \
  soak bench mutate

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

venv: $(STAMP)

# NUT's real programs are the peers the tests compare against.
nut-tools:
	@packages=""; for peer in $(TEST_PEERS); do \
	  [ -x $${peer%%:*} ] || packages="$$packages $${peer##*:}"; \
	done; \
	if [ -n "$$packages" ]; then \
	  packages=$$(echo $$packages | tr ' ' '\n' | sort -u | tr '\n' ' '); \
	  echo "installing the test peers from Debian: $$packages"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
	    $$packages >/dev/null; \
	fi

apcupsd-peer: $(APCUPSD_DIR)/sbin/apcupsd

$(APCUPSD_DIR)/sbin/apcupsd:
	@echo "unpacking Debian's $(APCUPSD_DEBS) into $(APCUPSD_DIR) (not installed)"
	@rm -rf $(APCUPSD_DIR).new && mkdir -p $(APCUPSD_DIR).new/debs
	@cd $(APCUPSD_DIR).new/debs && { apt-get download -qq $(APCUPSD_DEBS) 2>/dev/null || \
	  { $(SUDO) apt-get update -qq && apt-get download -qq $(APCUPSD_DEBS); }; }
	@for deb in $(APCUPSD_DIR).new/debs/*.deb; do dpkg -x $$deb $(APCUPSD_DIR).new; done
	@rm -rf $(APCUPSD_DIR).new/debs $(APCUPSD_DIR) && mv $(APCUPSD_DIR).new $(APCUPSD_DIR)

run: $(STAMP)
	@chmod 640 conf/upsd.users  # git does not keep the mode; upsd.users must not be world-readable
	$(VENV)/bin/nutpy serve -c conf

lint: $(STAMP)
	$(VENV)/bin/ruff check nutpy tests soak bench mutation
	$(VENV)/bin/lint-imports --no-cache

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# Most tests wait on real programs and timers rather than compute, so three
# run at once on two cores; those marked `alone` (latency bounds, the systemd
# containers' shared root tree) run afterwards with the machine to themselves.
TEST_WORKERS ?= 3
test: $(STAMP) nut-tools apcupsd-peer lint typecheck
	$(VENV)/bin/pytest -q -n $(TEST_WORKERS) -m 'not alone'
	$(VENV)/bin/pytest -q -m alone

# Only the units under a real systemd, in a container (part of `make test` too;
# about 2 minutes, plus 30 s to build the cached root tree the first time).
test-systemd: $(STAMP) nut-tools
	$(VENV)/bin/pytest -q tests/system/test_systemd_container.py

install:
	python3 -m venv $(DEST)/lib/nutpy
	$(DEST)/lib/nutpy/bin/pip install --quiet .
	install -d $(DEST)/bin $(SYSTEMDDIR) $(DEST)/share/nutpy/examples
	ln -sf $(DEST)/lib/nutpy/bin/nutpy $(DEST)/bin/nutpy
	for unit in systemd/*.service; do \
	  sed -e 's|/usr/local/bin/nutpy|$(DEST)/bin/nutpy|' -e 's|/lib/nut/upsmon|$(UPSMON)|' \
	    $$unit > $(SYSTEMDDIR)/$$(basename $$unit); \
	done
	install -m 644 conf/ups.conf conf/upsd.conf conf/demo.dev $(DEST)/share/nutpy/examples/
	install -m 640 conf/upsd.users $(DEST)/share/nutpy/examples/
	@echo "installed $(DEST)/bin/nutpy and the units in $(SYSTEMDDIR); next:"
	@echo "  systemctl daemon-reload && systemctl disable --now nut-server"
	@echo "  systemctl enable --now nutpy.service && systemctl enable nutpy-killpower.service"

# Not part of `make test`: 30 minutes by default (SOAK_SECONDS=120 for a short run),
# then 10 minutes of line noise under three upsmon hosts (SOAK_NOISE_SECONDS).
soak: $(STAMP) nut-tools
	$(PY) -m soak.run
	$(PY) -m soak.noise

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

# Mutation testing of the core modules against tests/unit and tests/trio (not
# part of `make test`: an hour or more).  mutmut runs at nice 19, module by
# module, as the machine is shared; MODULES="nutpy.protocols.tokenizer ..."
# runs only those, MUTATE_JOBS=N tries N mutants at once (default 2).  The
# table goes in docs/testing.md.
MUTATE_STAMP := $(VENV)/.mutate-installed

$(MUTATE_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet -e '.[test,mutate]'
	touch $@

mutate: $(MUTATE_STAMP)
	nice -n 19 $(PY) -m mutation.run $(MODULES)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .cache mutants
