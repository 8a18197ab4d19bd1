# Relabel: `make demo` runs the whole pipeline on bundled images and serves the site;
# `make test` installs what the tests need and runs the whole suite (SQLite, then PostgreSQL).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/test
PIP_INSTALL := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: demo test lint bench services services-stop install-demo install-test vendor

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip

$(VENV)/.demo-installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP_INSTALL) -e '.[models]'
	touch $@

$(VENV)/.test-installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP_INSTALL) -e '.[models,dev]'
	touch $@

install-demo: $(VENV)/.demo-installed
install-test: $(VENV)/.test-installed

demo: install-demo
	$(BIN)/python manage.py demo

lint: install-test
	$(BIN)/ruff check .

# tests/scaleout run their own services against the real PostgreSQL whatever DATABASE_URL says,
# so they run once, in the PostgreSQL pass.
test: install-test lint
	$(BIN)/python -m pytest --ignore=tests/scaleout
	@if [ "$$CI" = "true" ] || pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
		echo "== second pass on PostgreSQL ($(PG_TEST_URL)) =="; \
		DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m pytest; \
	else \
		echo "PostgreSQL is not reachable on 127.0.0.1:5432: skipping the PostgreSQL pass (CI runs it)."; \
	fi

services: install-test
	scripts/services.sh start $(WORKERS)

services-stop:
	scripts/services.sh stop

bench: install-test
	$(BIN)/python bench/run_all.py

# Re-fetch the committed JavaScript libraries (vega, vega-lite, vega-embed; axe-core for tests) from npm at
# the versions and sha256 pinned in scripts/vendor_js.py. Only needed to change a version.
vendor: $(BIN)/python
	$(BIN)/python scripts/vendor_js.py
