# make demo: set up .venv and run the end-to-end demo on generated data.
# make test: set up .venv and run the test suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,regions,plot,dask]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m astromask.demo --out demo-output

test: $(STAMP)
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) demo-output
