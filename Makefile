# Two commands for a newcomer: `make demo` and `make test` (see README.md).
PYTHON ?= python3
PORT ?= 8000
VENV := .venv
TOOLS := .tools
UV := $(TOOLS)/bin/uv
BIN := $(VENV)/bin
MUTUALIS := $(BIN)/mutualis
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never

.PHONY: install assets demo serve test lint messages bench accessibility clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv>=0.9,<1"

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --python $(PYTHON)
	touch $@

install: $(VENV)/.installed

# Compiled translations and collected static files (WhiteNoise serves them).
assets: install
	$(MUTUALIS) compilemessages --ignore=.venv --ignore=.tools -v0
	$(MUTUALIS) collectstatic --noinput -v0

# `mutualis setup` is every release step (see docs/operations.md); the territory and the
# demo accounts are the demo's own.
demo: assets
	$(MUTUALIS) setup
	$(MUTUALIS) import_territory --region 27
	$(MUTUALIS) seed_demo
	$(MUTUALIS) actes_standin --pki-only
	mkdir -p var/legality/pes-standin
	$(MUTUALIS) pes_standin --keys-only --keys-dir var/legality/pes-standin > var/legality/pes-standin/host_key.line
	PORT=$(PORT) bin/demo

# In parallel processes (pytest-xdist, one per CPU; a file's tests stay together), the
# longest files first (tests/conftest.py: xdist's own order would leave them for the end),
# the 15 slowest tests listed; set PYTEST_ARGS= for one process.
PYTEST_ARGS ?= -n auto --dist loadfile --no-loadscope-reorder --durations=15
test: assets
	$(BIN)/pytest $(PYTEST_ARGS)

# Style, formatting, types (mypy with django-stubs) and the import contracts (import-linter),
# all configured in pyproject.toml.
lint: install
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

messages: install
	cd src/mutualis && ../../$(MUTUALIS) makemessages -l fr -l en --no-location --no-obsolete -v0

# The axe-core results of every browser journey, summed up for the accessibility statement.
accessibility: assets
	rm -f var/axe-lines.jsonl
	MUTUALIS_AXE_REPORT=$(CURDIR)/var/axe-lines.jsonl $(BIN)/pytest -q -m browser tests/e2e
	$(BIN)/python scripts/accessibility_report.py var/axe-lines.jsonl

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(TOOLS) var .mypy_cache
