# The two commands of the README: `make demo` and `make test`. Everything else is plumbing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test demo lint services chromium clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Reinstall only when the project's metadata changes. The service and its tests need every
# extra but [gpu] (`[test]` pulls in `[server]`, which pulls in `[core]`).
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[server,test]'
	touch $(STAMP)

services:
	@bash scripts/ensure-services.sh

# Debian's Chromium for tests/browser (Playwright drives /usr/bin/chromium; no browser download).
chromium:
	@bash scripts/ensure-chromium.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check gir_core app worker tests bench
	$(VENV)/bin/ruff format --check gir_core app worker tests bench
	$(VENV)/bin/mypy

test: $(STAMP) services chromium lint
	$(VENV)/bin/pytest -n 2 --durations=15

# The embedded demo runs on SQLite and a filesystem broker: no PostgreSQL or Redis to start.
# Options go through ARGS, e.g. `make demo ARGS=--no-serve` or `make demo ARGS="--reset --yes"`.
demo: $(STAMP)
	$(PY) -m app.demo $(ARGS)

clean:
	rm -rf $(VENV) out var .mypy_cache .ruff_cache .pytest_cache
