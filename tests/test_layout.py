"""The layout holds: listeners in `handlers/listeners` (module-level functions, never importing
each other), the flows they call in `handlers/flows` (never a listener), pure views in
`handlers/views` (no Slack, Browser Use, store, process or flow in them).
A change that breaks the architecture fails here, not in review."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LISTENERS = sorted((ROOT / "handlers" / "listeners").glob("[!_]*.py"))
VIEWS = sorted((ROOT / "handlers" / "views").glob("[!_]*.py"))
FLOWS = sorted((ROOT / "handlers" / "flows").glob("[!_]*.py"))
# What a view may not import: anything that talks to Slack, Browser Use, the store or the
# process, and the flows (which do).
NOT_IN_VIEWS = (
    "slack_sdk",
    "slack_bolt",
    "httpx",
    "aiohttp",
    "sqlalchemy",
    "bot.deps",
    "bot.browser_use",
    "bot.app",
    "handlers.listeners",
    "handlers.slack_io",
    "handlers.flows",
    "handlers.access",
)


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_there_are_listener_view_and_flow_modules() -> None:
    assert len(LISTENERS) >= 5 and len(VIEWS) >= 5 and len(FLOWS) >= 5


@pytest.mark.parametrize("path", LISTENERS, ids=lambda p: p.stem)
def test_a_listener_module_imports_no_other(path: Path) -> None:
    others = {f"handlers.listeners.{p.stem}" for p in LISTENERS if p != path}
    assert not imports(path) & others


@pytest.mark.parametrize("path", LISTENERS, ids=lambda p: p.stem)
def test_listeners_are_module_level_functions_taking_deps(path: Path) -> None:
    tree = ast.parse(path.read_text())
    functions = {
        n.name: n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    register = functions["register"]
    assert not [
        n for n in ast.walk(register) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    ][1:]
    handlers = [f for name, f in functions.items() if name.startswith("handle_")]
    assert handlers
    for handler in handlers:
        # `workspaces`: a listener of the workspaces themselves (the app's removal), which may
        # come when the workspace has no world any more.
        keywords = {a.arg for a in handler.args.kwonlyargs}
        assert keywords & {"deps", "workspaces"}, handler.name


def test_only_the_app_imports_the_listeners() -> None:
    outside = [
        p
        for p in [*ROOT.glob("bot/*.py"), *ROOT.glob("handlers/*.py"), *FLOWS, *VIEWS]
        if p.name != "app.py" and any(i.startswith("handlers.listeners") for i in imports(p))
    ]
    assert outside == []


@pytest.mark.parametrize("path", VIEWS, ids=lambda p: p.stem)
def test_a_view_is_pure(path: Path) -> None:
    wrong = {i for i in imports(path) if i.startswith(NOT_IN_VIEWS)}
    assert wrong == set()
