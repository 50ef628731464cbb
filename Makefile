# make demo — run every pipeline against a local ConnectWise sandbox into the Sage 50 replica
# make test — the whole test suite (what CI runs)
# make bench — the benchmark (see bench/README.md)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: demo test install bench clean

$(STAMP): pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@set -o pipefail; $(VENV)/bin/python -m pip install -q -e '.[test]' 2>&1 \
		| { grep -v '^WARNING: Location' || true; }
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/cwsage demo

test: $(STAMP)
	$(VENV)/bin/python -m pytest

bench: $(STAMP)
	$(VENV)/bin/python -m bench --invoices 25000 --lines 4 --chunk-size 1000 --workers 1 2

clean:
	rm -rf $(VENV) .cwsage .pytest_cache
