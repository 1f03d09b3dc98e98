# Two commands that work in a fresh shell on a fresh clone, in either order, no venv active:
#   make demo   a virtual environment (.venv), the project installed, then classify trained
#   make test   the same environment (made if missing), then the default tests
# Other targets: make test-slow (learning, resume, DDP, Optuna, notebook), make lint, make install.
# TORCH is installed first, on its own: a bare `pip install torch` would take a CUDA build of several
# GB. torch==2.13.0 takes the CPU wheel on this project's machines; elsewhere pick your build, e.g.
# make test TORCH="torch==2.13.0 --index-url URL-of-the-PyTorch-CPU-wheels".

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow lint install

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(TORCH)
	$(BIN)/python -m pip install -e ".[dev]"
	touch $@

demo: $(STAMP)
	$(BIN)/python train.py task=classify

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow
	$(BIN)/python -m pytest -q --nbmake --nbmake-timeout=600 notebooks/

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
