PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Every install is `uv sync` from uv.lock, as on Heroku and in the Dockerfile: the same versions
# everywhere, and `--locked` refuses a lock that no longer matches pyproject.toml (add a
# dependency, then `make lock`). uv itself comes from PyPI, into a folder of its own.
UV_VERSION := 0.13.9
UV := .uv/bin/uv
# The machine's Python, never one uv would download.
export UV_PYTHON := $(PYTHON)
export UV_PYTHON_DOWNLOADS := never

.PHONY: run test lint format bench lock dev clean

$(UV):
	$(PYTHON) -m venv .uv
	.uv/bin/python -m pip install --quiet uv==$(UV_VERSION)

# The app's dependencies alone (the dev tools are removed if an earlier `make test` added them).
run: $(UV)
	$(UV) sync --locked --no-dev --quiet
	$(BIN)/python -m bot

# Everything, dev tools included: what the tests, the linters and the benchmarks need.
dev: $(UV)
	$(UV) sync --locked --quiet

# The repo's modules compiled once, up front: where PYTHONDONTWRITEBYTECODE is set (CI), each of
# the run's processes (the workers, the test forker, a real `python -m bot`) compiled them again.
# The deploy smoke test (tests/test_deploy.py) installs from the lock into a fresh environment
# and runs the Procfile's commands: about 4 s, spent beside the other tests.
test: dev
	$(BIN)/python -m compileall -q bot handlers tests
	$(BIN)/python -m pytest -n 4 --dist worksteal

lint: dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# After changing the dependencies in pyproject.toml: the lock again, changing no other pin.
lock: $(UV)
	$(UV) lock

# The commands' acks and creates, then following many running tasks (bench/follow.py), then
# two workspaces on two processes, each with its own Browser Use project (bench/workspaces.py),
# then a deploy in a busy channel (bench/restart.py), what a stop waits for (bench/stop.py),
# what following costs right after a burst of commands (bench/after_burst.py), and a watched
# task's steps in its thread and Slack's stop button (bench/streams.py).
bench: dev
	$(BIN)/python -m bench $(BENCH_ARGS)
	$(BIN)/python -m bench.follow $(FOLLOW_ARGS)
	$(BIN)/python -m bench.workspaces $(WORKSPACES_ARGS)
	$(BIN)/python -m bench.restart $(RESTART_ARGS)
	$(BIN)/python -m bench.stop $(STOP_ARGS)
	$(BIN)/python -m bench.after_burst $(AFTER_BURST_ARGS)
	$(BIN)/python -m bench.streams $(STREAMS_ARGS)

clean:
	rm -rf $(VENV) .uv .pytest_cache .ruff_cache .mypy_cache *.egg-info
