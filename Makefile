# Two commands set everything up on a fresh machine (Python 3.11+, make, node/npm):
#   make demo   wrap the sample Flask app and serve it locally the way FC does
#   make test   ruff, mypy and the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FUN := .tools/node_modules/.bin/fun
DEMO_DIR := .fcmigrate/demo
PORT ?= 9000

.PHONY: setup test lint unit demo bench load clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# `fun validate` checks generated template.yml files; the tests use it when present.
$(FUN):
	npm install --silent --no-audit --no-fund --prefix .tools @alicloud/fun@3

setup: $(STAMP) $(FUN)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

unit: setup
	PATH="$(CURDIR)/.tools/node_modules/.bin:$$PATH" $(BIN)/pytest

test: lint unit

demo: setup
	rm -rf $(DEMO_DIR)
	mkdir -p $(dir $(DEMO_DIR))
	cp -r sample_apps/flask_app $(DEMO_DIR)
	$(BIN)/fcmigrate wrap app:app --out $(DEMO_DIR)
	$(BIN)/fcmigrate local --project $(DEMO_DIR) --port $(PORT)

# Benchmarks print their figures; they are not tests. wrk: apt-get install wrk.
bench: $(STAMP)
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/coldstart.py

load: $(STAMP)
	$(BIN)/python bench/load.py

clean:
	rm -rf $(VENV) .tools .fcmigrate build dist *.egg-info
