# Two commands for a fresh Debian machine: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_DB := sqlite:///var/etykieta.db
# the lab's office day plus its PBX, transfer and audio calls
DEMO_CAPTURES := $(sort $(wildcard tests/data/calls/demo_*.pcap tests/data/calls/b2bua_*.pcap \
	tests/data/calls/transfer_*.pcap tests/data/calls/audio_*.pcap))

.PHONY: demo test deps lab benchmark lint clean

$(STAMP): pyproject.toml scripts/install-deps.sh
	bash scripts/install-deps.sh python
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# ingest the sample captures, then serve the dashboard (demo logins printed) until Ctrl-C
demo: $(STAMP)
	bash scripts/demo.sh $(DEMO_DB) $(DEMO_CAPTURES)

deps:
	bash scripts/install-deps.sh test

# PostgreSQL: a role and database of the suite's own (scripts/ensure-postgres.sh), or the
# ETYKIETA_TEST_DATABASE_URL given; `make test ETYKIETA_TEST_DATABASE_URL=` runs SQLite only.
test: $(STAMP) deps
	url="$$(bash scripts/ensure-postgres.sh)" && \
	  ETYKIETA_TEST_DATABASE_URL="$$url" $(PY) -m pytest -q

lab: $(STAMP) deps
	bash tests/lab/make_captures.sh
	bash tests/lab/pbx/make_captures.sh
	bash tests/lab/audio/make_captures.sh

benchmark: $(STAMP) deps
	$(PY) benchmarks/ingest.py

lint: $(STAMP)
	$(PY) -m pip install --quiet ruff mypy
	$(PY) -m ruff check etykieta tests benchmarks
	$(PY) -m mypy

clean:
	rm -rf $(VENV) var build *.egg-info .pytest_cache .hypothesis
