# The two commands of the quick start: `make run` and `make test`.
# `make install` builds .venv once; later runs only reinstall what changed (a stamp per install input).

SHELL := /bin/bash
# Cached bytecode keeps start-up and test subprocesses fast; some environments switch it off.
unexport PYTHONDONTWRITEBYTECODE
VENV := .venv
BIN := $(VENV)/bin
# The sandbox drops plugin executions to an unprivileged uid, which must be able to read the interpreter:
# prefer a system-wide Python (world-readable) over one under a private home such as pyenv's.
PYTHON ?= $(shell for p in /usr/bin/python3.13 /usr/bin/python3.12 /usr/bin/python3.11 /usr/local/bin/python3 python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { command -v $$p; break; }; done)
PLUGINS := $(sort $(wildcard builtin-plugins/*/pyproject.toml))
INSTALL_INPUTS := pyproject.toml setup.py sdk/pyproject.toml $(PLUGINS)
STAMP := $(VENV)/.installed

.PHONY: install run test test-browser lint bench clean

install: $(STAMP)

$(STAMP): $(INSTALL_INPUTS)
	@test -n "$(PYTHON)" || { echo "error: Python >= 3.11 with venv/ensurepip is required" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/python -m pip install -q --disable-pip-version-check uv
	@# Compiled bytecode keeps start-up fast even where PYTHONDONTWRITEBYTECODE is set.
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -e sdk $(foreach p,$(PLUGINS),-e $(dir $(p))) -e '.[test]'
	@touch $(STAMP)

run: install
	$(BIN)/utask serve --templates-path templates --http-port 8081

test: install test-browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The dashboard tests drive the machine's Chromium (Debian's package); install it when it is missing.
test-browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || [ -n "$$UTASK_TEST_CHROMIUM" ] || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "installing Chromium for the dashboard tests (apt-get install chromium)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  elif command -v apt-get >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
	    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "error: the dashboard tests need Chromium: install your distribution's chromium package" \
	         "or set UTASK_TEST_CHROMIUM to a Chromium binary" >&2; exit 1; \
	  fi; }

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV)
