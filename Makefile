# Two commands set up everything on a fresh machine:
#   make local   the whole stack on http://127.0.0.1:8080 (moto inside, no AWS, no Docker)
#   make test    every test, lint, types, template checks and the packaging check
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BENCH_MEDIA ?= bench-media
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: local test lint types unit integration e2e package bench bench-media openapi clean

$(STAMP): pyproject.toml
	@python312=$$(.ci/find-python312) || exit 1; \
	  [ -x $(PY) ] || "$$python312" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet ".[dev]"
	@touch $(STAMP)

local: $(STAMP)
	$(PY) -m local

test: $(STAMP) lint types
	$(PY) -m pytest -n 2 --dist loadgroup -q
	$(MAKE) package

lint: $(STAMP)
	$(VENV)/bin/ruff check functions shared local tests bench
	$(VENV)/bin/cfn-lint template.yaml

types: $(STAMP)
	$(VENV)/bin/mypy functions shared local

unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

integration: $(STAMP)
	$(PY) -m pytest -q tests/integration

e2e: $(STAMP)
	$(PY) -m pytest -q tests/e2e

# sam build for arm64 without Docker, then the size check of what Lambda would unzip.
package: $(STAMP)
	$(VENV)/bin/sam build --template-file template.yaml --build-dir .aws-sam/build --parallel --cached
	$(PY) -m local.package_check .aws-sam/build

openapi: $(STAMP)
	$(PY) -m local.openapi > openapi.json

$(BENCH_MEDIA)/synth1080.mp4: | $(STAMP)
	$(PY) ../shared/bench/gen_media.py $(BENCH_MEDIA)

bench: $(STAMP) $(BENCH_MEDIA)/synth1080.mp4
	$(PY) bench/bench_chunks.py $(BENCH_MEDIA)
	$(PY) bench/bench_create.py $(BENCH_MEDIA)
	$(PY) bench/bench_imports.py
	$(PY) bench/bench_annotations.py
	$(PY) bench/bench_formats.py $(BENCH_MEDIA)

clean:
	rm -rf $(VENV) .venv-layer .aws-sam .pytest_cache .mypy_cache .ruff_cache
