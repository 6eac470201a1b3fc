# The two set-up commands of the README: `make demo` and `make test`.
# Each creates .venv if missing, installs torch (the CPU wheel: never a multi-GB CUDA
# build on a CPU machine), tenshot with its test extras, and Fashion-MNIST from Debian
# when apt is there and the data is not.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# On a machine with an NVIDIA GPU, `make TORCH=torch test` takes PyPI's CUDA build.
TORCH ?= torch==2.13.0
FMNIST_DIRS := /usr/share/datasets/fashion-mnist $(HOME)/.cache/tenshot/fashion-mnist $(TENSHOT_DATA)/fashion-mnist
PYTEST_ARGS ?= -n 2

.PHONY: demo test test-slow install data benchmarks clean

$(VENV)/.installed: pyproject.toml Makefile
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e '.[test]'
	@touch $@

install: $(VENV)/.installed

data:
	@found=""; for d in $(FMNIST_DIRS); do [ -d "$$d" ] && found="$$d"; done; \
	if [ -z "$$found" ] && command -v apt-get >/dev/null; then \
	  echo "installing Fashion-MNIST (Debian package dataset-fashion-mnist)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  ($$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq dataset-fashion-mnist >/dev/null) \
	    || echo "could not install dataset-fashion-mnist; tests that need it will be skipped, the demo uses digits"; \
	fi

demo: install data
	$(VENV)/bin/tenshot demo --force

test: install data
	$(PY) -m pytest -q $(PYTEST_ARGS)

test-slow: install data
	$(PY) -m pytest -q -m slow $(PYTEST_ARGS)

benchmarks: install data
	$(PY) benchmarks/label_efficiency.py
	$(PY) benchmarks/throughput.py

clean:
	rm -rf $(VENV) runs build *.egg-info src/*.egg-info
