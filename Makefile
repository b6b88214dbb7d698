# Hands Up: `make demo` to try it, `make test` to test it.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.12 2>/dev/null || command -v python3.13 2>/dev/null || command -v python3)
UV_VERSION := 0.13.8
UV := .tools/bin/uv
VENV := .venv
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never
PYTEST_ARGS ?=

.PHONY: demo install install-dev browser tools test lint format check clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

# Runtime packages only (no test tools) for the demo; where the test tools are already
# installed, sync them too, because `--no-dev` would remove them.
$(VENV)/.runtime-installed: $(UV) uv.lock pyproject.toml
	if [ -f $(VENV)/.dev-installed ] || [ -x $(VENV)/bin/pytest ]; then \
	  $(UV) sync --frozen --python "$(PYTHON)" --quiet && touch $(VENV)/.dev-installed; \
	else \
	  $(UV) sync --frozen --no-dev --inexact --python "$(PYTHON)" --quiet; \
	fi
	touch $@

$(VENV)/.dev-installed: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --python "$(PYTHON)" --quiet
	touch $@ $(VENV)/.runtime-installed

install: $(VENV)/.runtime-installed
install-dev: $(VENV)/.dev-installed

demo: install
	HANDSUP_DEMO=1 $(VENV)/bin/handsup demo

browser:
	@scripts/ensure-browser

tools:
	@scripts/ensure-wrk

test: install-dev browser tools
	$(VENV)/bin/pytest -n auto $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	HANDSUP_TESTING=1 $(VENV)/bin/mypy handsup tests
	HANDSUP_TESTING=1 $(VENV)/bin/handsup makemigrations --check --dry-run
	$(VENV)/bin/handsup check

format: install-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) .tools var
