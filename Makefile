# Caretaker: one test command (`make test`) and one demo command (`make demo`).
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export CARETAKER_CACHE ?= $(HOME)/.cache/caretaker
RADOS_SO := /usr/lib/python3/dist-packages/rados.cpython-311-x86_64-linux-gnu.so

.PHONY: test lint unit integration testbed-install venv testbed-up testbed-down demo demo-down clean

## test: install what is missing, run linters, unit tests and real-component tests
test: testbed-install venv lint
	$(BIN)/pytest tests

## testbed-install: Debian packages for etcd, Ceph, Prometheus, Alertmanager; builds kube-apiserver
testbed-install:
	hack/testbed/install.sh

venv: $(VENV)/.stamp
$(VENV)/.stamp: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@# librados binding from Debian's python3-rados (built for CPython 3.11)
	if [ -f $(RADOS_SO) ]; then ln -sf $(RADOS_SO) "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/"; fi
	touch $@

lint: venv
	$(BIN)/ruff check operator tests bench
	$(BIN)/ruff format --check operator tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: venv
	$(BIN)/pytest tests/unit

integration: testbed-install venv
	$(BIN)/pytest tests/integration

## testbed-up / testbed-down: a long-running local testbed for development (tests reuse it when
## CARETAKER_TESTBED_DIR points at it)
testbed-up: testbed-install
	hack/testbed/up.sh

testbed-down:
	hack/testbed/down.sh

## demo / demo-down: the local testbed, the operator and a Maintenance going through its phases
demo: testbed-install venv
	hack/demo.sh

demo-down:
	hack/demo-down.sh

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
