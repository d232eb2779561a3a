# SeatLock. `make run` serves the demo cinema; `make test` runs every test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8000

.PHONY: help install run test test-fast e2e bench lint format lock messages screenshots check-deploy docker-config clean

help:
	@echo "make run      serve SeatLock on http://127.0.0.1:$(PORT) (embedded PostgreSQL unless DATABASE_URL is set)"
	@echo "make test     the whole test suite (unit, concurrency, browser)"
	@echo "make bench    the flash-sale benchmark (docs/benchmarks.md)"
	@echo "make lint     ruff check, format check, import layers (import-linter)"
	@echo "make lock     regenerate the hash-pinned requirements from pyproject.toml"

install: $(VENV)/.installed

$(VENV)/.installed: requirements/dev.txt
	@echo "[seatlock] installing Python dependencies into $(VENV) (hash-checked)…"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.txt
	@touch $@

run: install
	@$(BIN)/python -m config.devserver

# Tests use their own queue name and files so they never feed a running `make run`.
test: install
	@echo "[seatlock] running the test suite…"
	DEBUG=1 HUEY_NAME=seatlock-test HUEY_SQLITE_PATH=var/huey-test.sqlite3 \
	  $(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: install
	DEBUG=1 HUEY_NAME=seatlock-test HUEY_SQLITE_PATH=var/huey-test.sqlite3 \
	  $(BIN)/python -m pytest -m "not e2e" $(PYTEST_ARGS)

e2e: install
	DEBUG=1 HUEY_NAME=seatlock-test HUEY_SQLITE_PATH=var/huey-test.sqlite3 $(BIN)/python -m pytest e2e $(PYTEST_ARGS)

# BENCH_QUICK=1: a few seconds per scenario (smoke); DATABASE_URL: another server (docs/benchmarks.md).
bench: install
	@$(BIN)/python -m bench.run

screenshots: install
	DEBUG=1 SCREENSHOT_DIR=docs/screenshots $(BIN)/python -m pytest e2e -k screenshot

# Translations: refresh locale/de/LC_MESSAGES/django.po from the code and templates, then compile
# the .mo (committed, so running SeatLock needs no gettext tools). Needs GNU gettext.
messages: install
	DEBUG=1 $(BIN)/python manage.py makemessages -l de --no-obsolete --no-location \
	  --ignore=.venv --ignore=bench --ignore=tests --ignore=e2e --ignore=var --ignore=static/vendor
	DEBUG=1 $(BIN)/python manage.py compilemessages -l de --ignore=.venv

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

lock:
	$(BIN)/pip-compile -q --allow-unsafe --generate-hashes --no-emit-index-url --no-emit-find-links \
	  --no-emit-trusted-host --strip-extras -o requirements/base.txt pyproject.toml
	$(BIN)/pip-compile -q --allow-unsafe --generate-hashes --no-emit-index-url --no-emit-find-links \
	  --no-emit-trusted-host --strip-extras --extra dev -o requirements/dev.txt pyproject.toml

check-deploy: install
	DEBUG=0 SECRET_KEY=$$(head -c 48 /dev/urandom | base64) ALLOWED_HOSTS=seatlock.example \
	  STRIPE_SECRET_KEY=sk_test_x STRIPE_WEBHOOK_SECRET=whsec_x \
	  $(BIN)/python manage.py check --deploy --fail-level WARNING

# Validates docker-compose.yml (no engine needed); dummy secrets stand in for the real ones.
docker-config:
	@if docker compose version >/dev/null 2>&1; then dc="docker compose"; else dc="docker-compose"; fi; \
	  POSTGRES_PASSWORD=x SECRET_KEY=x STRIPE_SECRET_KEY=x STRIPE_WEBHOOK_SECRET=x $$dc config -q \
	  && echo "docker-compose.yml is valid ($$dc)"

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
