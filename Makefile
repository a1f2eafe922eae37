# Two entry points that work on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint bench docs clean woo-plugin

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# The CPU build of PyTorch first (the sentence-embedding extra needs it; a plain
	# `torch` requirement would pull a multi-GB CUDA build).
	$(BIN)/python -m pip install -q 'torch==2.13.0'
	$(BIN)/python -m pip install -q -e '.[test,embeddings,spark]'
	touch $(STAMP)

## Generate the demo shop, train it and serve it on http://127.0.0.1:8000
demo: $(STAMP)
	$(BIN)/shoprec --data-dir data demo

## Run the whole test suite (starts a local redis-server when none answers)
test: $(STAMP)
	bash .ci/ensure-redis.sh
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python bench/import.py
	$(BIN)/python bench/train.py

## Build the documentation site into site/ (MkDocs, strict: a broken link fails it)
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

## Build the installable WordPress plugin zip: dist/shoprec-for-woocommerce.zip
DIST ?= $(CURDIR)/dist
woo-plugin:
	mkdir -p $(DIST)
	rm -f $(DIST)/shoprec-for-woocommerce.zip
	cd integrations/woocommerce && $(PYTHON) -m zipfile -c $(DIST)/shoprec-for-woocommerce.zip shoprec-for-woocommerce

clean:
	rm -rf $(VENV) data site .pytest_cache dist
