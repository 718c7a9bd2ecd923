# semroute: `make run` serves the embedded default, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install browser demo lint bench-venv clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	$(PY) manage.py demo_traffic --if-empty
	$(PY) manage.py ensure_operator
	$(PY) manage.py runserver --noreload $(HOST):$(PORT)

# Debian's Chromium for the browser tests (never a downloaded browser); skipped when not root.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
	  || echo "chromium not installed: browser tests will be skipped"; }

test: install browser
	$(PY) -m pytest -q

demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo

lint: install
	$(VENV)/bin/ruff check .

# semantic-router for bench/engine_*.py's side-by-side comparison (separate: it downgrades openai).
bench-venv: install
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/pip install --quiet --upgrade pip
	.venv-bench/bin/pip install --quiet -e ".[bench-compare]"

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles test-artifacts
