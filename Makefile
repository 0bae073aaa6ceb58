# Two commands matter: `make demo` runs the product on the embedded defaults,
# `make test` runs the test suite (needs PostgreSQL and Redis on localhost, see README).
PYTHON ?= python3
VENV ?= .venv

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test,bench]'
	touch $@

.PHONY: install serve demo test bench
install: $(VENV)/.installed

# `make demo PORT=5077` (or `make serve PORT=5077`) listens on another port.
demo: $(VENV)/.installed
	$(VENV)/bin/infoshare demo $(if $(PORT),--port $(PORT))

serve: $(VENV)/.installed
	$(VENV)/bin/infoshare serve $(if $(PORT),--port $(PORT))

test: $(VENV)/.installed
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# Each benchmark exits 1 when it misses its target; `-` runs the rest regardless.
bench: $(VENV)/.installed
	-$(VENV)/bin/python bench/ingest.py
	-$(VENV)/bin/python bench/latency.py
	-$(VENV)/bin/python bench/dispatch.py
	-$(VENV)/bin/python bench/retention.py
	-$(VENV)/bin/python bench/audit_verify.py
