# One command surface for people and CI. `make help` lists the targets.
VENV ?= .venv
PY := $(VENV)/bin/python
STORE ?=

.PHONY: help setup serve demo test test-fast lint format typecheck docs bench gpu-test

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(PY):
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q torch==2.13.0 -e '.[dev]'

setup: $(PY) ## create .venv with the project and its dev tools

serve: $(PY) ## start the dashboard (measures the demo zoo first on an empty store)
	$(VENV)/bin/paretoscope serve $(if $(STORE),--store $(STORE))

demo: $(PY) ## measure the demo zoo on this host into the store
	$(VENV)/bin/paretoscope demo $(if $(STORE),--store $(STORE))

test: $(PY) ## the whole suite, as CI runs it
	$(PY) -m pytest

test-fast: $(PY) ## skip browser and slow tests
	$(PY) -m pytest -m "not browser and not slow"

lint: $(PY) ## ruff lint and format check
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(PY) ## apply ruff's formatting and safe fixes
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

typecheck: $(PY) ## mypy over the library, the pages, the tests and the benchmarks
	$(PY) -m mypy

docs: $(PY) ## regenerate the reference sections of docs/*.md from the code
	$(PY) -m paretoscope.cli.reference --write

bench: $(PY) ## run the benchmark scripts (see benchmarks/README.md)
	$(PY) benchmarks/harness_overhead.py
	$(PY) benchmarks/cluster.py
