# For Render, Fly, Railway, or Docker on a VM: the same install as Heroku's and `make run`, from
# uv.lock without the dev tools, on the Python .python-version names; the Procfile's web command.
# Migrations: run `python -m bot migrate` as the platform's pre-deploy / release command (the app
# also migrates at start). See docs/deploying.md.
FROM python:3.11-slim

# uv from PyPI, at the version the Makefile uses.
RUN pip install --no-cache-dir uv==0.13.9

WORKDIR /app
ENV UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_PYTHON_DOWNLOADS=never \
    UV_NO_CACHE=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy

# The dependencies first (a layer that changes only with the lock), then the app.
COPY pyproject.toml uv.lock .python-version ./
RUN uv sync --locked --no-dev
COPY Procfile ./
COPY bot ./bot
COPY handlers ./handlers

# Not root: a user of its own, who may write only the SQLite folder (used without DATABASE_URL).
RUN useradd --create-home --uid 10001 app && mkdir -p /app/data && chown app /app/data
USER app

ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PORT=3000
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz', timeout=4)"
CMD ["python", "-m", "bot"]
