# Two commands that work in a fresh shell on a fresh clone, in either order, no venv active:
#   make demo   a virtual environment (.venv), torch and the project with its train extra only
#               (Lightning, Hydra, torchmetrics, matplotlib), then classify trained
#   make test   the same environment (made if missing) plus the dev extra (pytest, ruff and the
#               optional extras the tests cover), then the default tests
# Other targets: make test-slow (learning, resume, DDP, Optuna, notebook), make lint, make install.
# TORCH is installed first, on its own: a bare `pip install torch` would take a CUDA build of several
# GB. torch==2.13.0 takes the CPU wheel on this project's machines; elsewhere pick your build, e.g.
# make test TORCH="torch==2.13.0 --index-url URL-of-the-PyTorch-CPU-wheels".

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin
TRAIN_STAMP := $(VENV)/.installed-train
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow lint install

install: $(STAMP)

# what the demo needs: torch, then the project with the train extra
$(TRAIN_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(TORCH)
	$(BIN)/python -m pip install -e ".[train]"
	touch $@

# what the tests need besides: pytest, ruff, hypothesis and every optional extra
$(STAMP): $(TRAIN_STAMP)
	$(BIN)/python -m pip install -e ".[dev]"
	touch $@

demo: $(TRAIN_STAMP)
	$(BIN)/python train.py task=classify

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow
	$(BIN)/python -m pytest -q --nbmake --nbmake-timeout=600 notebooks/

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
