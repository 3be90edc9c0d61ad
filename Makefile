# The README's commands. Each target creates .venv and installs genzoo first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.genzoo-installed
ARGS   ?=

.PHONY: install train demo test test-all lint format bench zoo clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Train the default experiment (VAE on the embedded digits) on the CPU.
train: $(STAMP)
	$(BIN)/genzoo-train experiment=vae_digits trainer=cpu $(ARGS)

## The local web demo of the shipped models on http://127.0.0.1:7860 (ARGS="runs=runs/...").
demo: $(STAMP)
	$(BIN)/genzoo-demo $(ARGS)

## The default suite: fast tests, no GPU, no network (CI runs this).
test: $(STAMP)
	WANDB_MODE=offline $(BIN)/python -m pytest -m "not slow and not gpu" -n auto --dist worksteal $(ARGS)

test-all: $(STAMP)
	WANDB_MODE=offline $(BIN)/python -m pytest $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts
	$(BIN)/ruff format --check src tests scripts
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format src tests scripts
	$(BIN)/ruff check --fix src tests scripts

bench: $(STAMP)
	$(BIN)/python scripts/bench.py $(ARGS)

## Retrain, pack and evaluate the shipped checkpoints (src/genzoo/zoo/, docs/zoo.md).
zoo: $(STAMP)
	$(BIN)/python scripts/build_zoo.py all $(ARGS)

clean:
	rm -rf runs outputs multirun .pytest_cache
