# make demo — run every pipeline against a local ConnectWise sandbox into the Sage 50 replica
# make test — the whole test suite (what CI runs)
# make bench — the benchmark (see bench/README.md)
# make lock — refresh requirements.lock: the newest releases pyproject.toml allows, resolved in a
#             fresh venv with the oldest supported Python (3.11), then frozen; check the result on
#             the other Pythons with .ci/smoke python3.12 python3.13
#
# Python 3.11, 3.12 or 3.13 (requires-python in pyproject.toml; docs/python-versions.md says how
# each was checked). .venv is made once, with PYTHON (default python3): `make PYTHON=python3.12
# test` makes it with 3.12 — where a .venv of another Python is already there, `make clean` first.
# Every install takes the versions pinned in requirements.lock (pip constraints), and runs again
# only when pyproject.toml or requirements.lock changed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
LOCK := requirements.lock
# pip's notes about this machine's unreachable local indexes are noise, not news
PIP_FILTER := { grep -v '^WARNING: Location' || true; }

.PHONY: demo test install bench lock clean python-check python-path python-versions

# The interpreter PYTHON names, as a path. Under pyenv, a pythonX.Y that is installed but not on
# the PATH (pyenv's global version is another) is found in pyenv's versions folder.
PYTHON_PATH = $(shell $(PYTHON) -c 'import sys; print(sys.executable)' 2>/dev/null \
	|| case '$(PYTHON)' in (python3.[0-9]*) ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/*/bin/$(PYTHON) \
		2>/dev/null | sort -V | tail -n 1;; esac)

# "X.Y" of the interpreter $1, or nothing when it does not run
py_version = $(if $(1),$(shell $(1) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null))

# The versions requires-python admits, e.g. "3.11 3.12 3.13", from its ">=A.B,<C.D" bounds
SUPPORTED = $(shell sed -nE 's/^requires-python *= *">= *3\.([0-9]+) *, *< *3\.([0-9]+)".*/\1 \2/p' \
	pyproject.toml | { read lo hi && for ((m = lo; m < hi; m++)); do echo "3.$$m"; done; })
NEEDS = Python $(firstword $(SUPPORTED)) to $(lastword $(SUPPORTED)) (requires-python in pyproject.toml; \
	see docs/python-versions.md)

# Stops, saying why, before pip would: PYTHON does not run or is outside requires-python (checked
# when .venv is to be made, or PYTHON was named on the command line or in the environment), or
# .venv was made with another Python than the one PYTHON names.
PYTHON_GIVEN = $(filter command% environment%,$(origin PYTHON))
python-check:
	@venv=$(call py_version,$(VENV)/bin/python); want=$(call py_version,$(PYTHON_PATH)); \
	if [ -z "$$venv" ] || [ -n "$(PYTHON_GIVEN)" ]; then \
		if [ -z "$$want" ]; then \
			echo "make: PYTHON=$(PYTHON) does not run here; cwsage needs $(NEEDS)." \
				"Name one: make PYTHON=python$(lastword $(SUPPORTED)) (or a path)" >&2; exit 2; \
		elif [[ " $(SUPPORTED) " != *" $$want "* ]]; then \
			echo "make: PYTHON=$(PYTHON) is Python $$want; cwsage needs $(NEEDS)." \
				"Name one: make PYTHON=python$(lastword $(SUPPORTED)) (or a path)" >&2; exit 2; \
		fi; \
	fi; \
	if [ -n "$$venv" ] && [ -n "$(PYTHON_GIVEN)" ] && [ "$$want" != "$$venv" ] \
		&& [ "$(MAKECMDGOALS)" != python-path ]; then \
		echo "make: $(VENV) was made with Python $$venv, but PYTHON=$(PYTHON) is $$want:" \
			"'make clean' first to remake it with $(PYTHON)" >&2; exit 2; \
	fi

# the path of the interpreter PYTHON names, once it passed python-check (.ci/smoke uses it)
python-path: python-check
	@echo $(PYTHON_PATH)

# the supported versions, e.g. "3.11 3.12 3.13" (.ci/run smokes those .venv is not)
python-versions:
	@echo $(SUPPORTED)

$(STAMP): pyproject.toml $(LOCK) | python-check
	@test -x $(VENV)/bin/python || $(PYTHON_PATH) -m venv $(VENV)
	@set -o pipefail; $(VENV)/bin/python -m pip install -q -c $(LOCK) -e '.[test]' 2>&1 \
		| $(PIP_FILTER)
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/cwsage demo

test: $(STAMP)
	$(VENV)/bin/python -m pytest

bench: $(STAMP)
	$(VENV)/bin/python -m bench --invoices 25000 --lines 4 --chunk-size 1000 --workers 1 2

# Pins are taken with the oldest supported Python: a newer one resolves releases that have left
# it behind (numpy 2.5 and scipy 1.18 need 3.12), while 3.11's picks also have 3.12/3.13 wheels.
lock:
	@oldest=$(firstword $(SUPPORTED)); want=$(call py_version,$(PYTHON_PATH)); \
	[ "$$want" = "$$oldest" ] || { echo "make lock: PYTHON=$(PYTHON) is Python $${want:-not runnable here}; the" \
		"lock is made with the oldest supported, $$oldest: make lock PYTHON=python$$oldest" >&2; \
		exit 2; }
	@set -euo pipefail; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(PYTHON_PATH) -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/python" -m pip install -q -e '.[test]' 2>&1 | $(PIP_FILTER); \
	{ echo "# The versions cwsage is installed and tested with: pip constraints, used by the"; \
	  echo "# Makefile as pip install -c $(LOCK) -e '.[test]'. Do not edit: 'make lock' writes it."; \
	  echo "# Resolved with Python $$("$$tmp/venv/bin/python" -V | cut -d' ' -f2) on $$(date -u +%F);" \
	       "a pin that a Python does not need"; \
	  echo "# is ignored there. See docs/python-versions.md."; \
	  "$$tmp/venv/bin/python" -m pip freeze --exclude-editable; \
	} > $(LOCK).new; \
	mv $(LOCK).new $(LOCK); \
	echo "$(LOCK): $$(grep -vc '^#' $(LOCK)) pins; now: .ci/smoke" \
		"$(addprefix python,$(wordlist 2,$(words $(SUPPORTED)),$(SUPPORTED)))"

clean:
	rm -rf $(VENV) .cwsage .pytest_cache
