PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench clean

# The venv is rebuilt only when the dependencies change.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m bot

# The repo's modules compiled once, up front: where PYTHONDONTWRITEBYTECODE is set (CI), each of
# the run's processes (the workers, the test forker, a real `python -m bot`) compiled them again.
test: $(STAMP)
	$(BIN)/python -m compileall -q bot handlers tests
	$(BIN)/python -m pytest -n 4 --dist worksteal

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The commands' acks and creates, then following many running tasks (bench/follow.py), then
# two workspaces on two processes, each with its own Browser Use project (bench/workspaces.py).
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)
	$(BIN)/python -m bench.follow $(FOLLOW_ARGS)
	$(BIN)/python -m bench.workspaces $(WORKSPACES_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache *.egg-info
