# make demo: set up .venv and run the end-to-end demo on generated data.
# make test: set up .venv and run the test suite.
# make lint: ruff and mypy, as CI runs them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint venv clean browser

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0  # pinned: the CPU wheel, not gigabytes of CUDA packages
	$(PY) -m pip install --quiet -e ".[test,regions,plot,dask,cnn,healpix,reproject]"
	$(PY) -m astromask.maximask || echo "make: could not fetch the MaxiMask weights; the network tests will be skipped"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m astromask._dev.demo --out demo-output

test: $(STAMP) browser
	$(PY) -m pytest -q

# ruff (lint and format) over the code, tests and benchmarks; mypy strict on the core types (pyproject.toml)
lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy

# The report's browser test needs Debian's chromium; install it when absent (as root or with sudo).
SUDO := $(shell [ "$$(id -u)" = 0 ] || command -v sudo)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  $(SUDO) apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -q >/dev/null 2>&1 && $(SUDO) apt-get install -y -q chromium chromium-driver >/dev/null 2>&1; } || \
	  echo "make: could not install chromium; the browser test will be skipped"; }

clean:
	rm -rf $(VENV) demo-output
