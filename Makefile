# Everything a fresh machine with python3 and make needs.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
UV      := $(BIN)/uv
SUITE   ?= evalsuites/support-triage.yaml

.PHONY: install dev demo test lint docs clean bench bench-peer
.DEFAULT_GOAL := demo

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(UV): $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check uv==0.13.8

$(VENV)/.installed: requirements.txt pyproject.toml $(UV)
	$(UV) pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.txt
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	$(BIN)/python -m compileall -q cli/agentctl
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.installed
	$(UV) pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
dev: $(VENV)/.dev-installed

## The main job: the offline demo suite through the real code path. Exit 0 (gates pass) or 1 (a gate
## failed) both mean the harness worked; anything else fails the target.
demo: install
	@rm -f reports/demo.duckdb
	@set +e; $(BIN)/agentctl eval run $(SUITE) --db reports/demo.duckdb --junit reports/junit.xml; \
	  code=$$?; echo "agentctl eval run exited $$code"; \
	  if [ "$(SUITE)" = "evalsuites/support-triage.yaml" ]; then \
	    echo "(the three runs.jsonl warnings above are planted on purpose: malformed tool-call JSON the demo shows being reported; see datasets/support-triage/README.md)"; fi; \
	  if [ $$code -le 1 ]; then exit 0; else exit $$code; fi

## The test suite on every core (pytest-xdist); lint is its own target, not part of it.
test: dev
	$(BIN)/python -m pytest -q -n auto --dist loadgroup

lint: dev
	$(BIN)/ruff check cli tests scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

## Regenerate the reference in docs/ (field tables, store schema, CLI reference, JSON Schemas).
docs: dev
	$(BIN)/python scripts/gen_docs.py

## Issue 13's table (median of 3; synthetic data in a temp dir; a mock on 127.0.0.1). BENCH_ARGS="--only replay_10000"
bench: install
	@# Bytecode for the package as it is now (an editable install; PYTHONDONTWRITEBYTECODE=1
	@# would otherwise have every command compile it again).
	$(BIN)/python -m compileall -q cli/agentctl
	$(BIN)/python tests/bench/bench_perf.py $(BENCH_ARGS)
	$(BIN)/python tests/bench/bench_compute.py

## The same single-call workloads with promptfoo 0.123.1 (installed with npm into a scratch folder).
bench-peer: install
	$(BIN)/python -m compileall -q cli/agentctl
	$(BIN)/python tests/bench/bench_peer.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) reports/*.html reports/*.md reports/*.xml reports/*.json reports/*.duckdb reports/*.duckdb.lock agentctl.duckdb agentctl.duckdb.lock
