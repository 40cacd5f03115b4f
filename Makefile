# mmstudio: `make run` opens the app on the built-in demo, `make test` runs the tests.
# Both create .venv when it is missing and install the package into it.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU build fits every machine; for a GPU pick the matching build, e.g.
#   make TORCH="torch --index-url https://download.pytorch.org/whl/cu124" run
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.installed

.PHONY: run test setup clean bench

run: $(STAMP)
	$(BIN)/mmstudio

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q $(PYTEST_ARGS)

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

bench: $(STAMP)
	$(BIN)/python benchmarks/encode.py

clean:
	rm -rf $(VENV) build *.egg-info
