"""One voice: the app speaks as itself ("I"), says what happened in the person's words and what
they can do, with no HTTP status codes and no environment variable names (those are for whoever
runs it: the docs and the admin's own settings). Checked on every string a person can read in
`handlers/` (docstrings, comments and log lines aside)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VARIABLES = set(
    re.findall(r"^\| `([A-Z_0-9]+)` \|", (ROOT / "docs/configuration.md").read_text(), re.M)
)
# Shown to admins alone: the admin's settings, which say which variable set a value.
ADMIN_ONLY = {"handlers/views/settings.py", "handlers/flows/admin_settings.py"}


def readable_strings(path: Path) -> list[tuple[int, str]]:
    """Each string literal of `path` a person may read: not a docstring, not in a log call."""
    tree = ast.parse(path.read_text())
    skipped: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            skipped.add(id(first.value))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "log"
        ):
            skipped.update(id(part) for part in ast.walk(node))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        if id(node) not in skipped
    ]


def breaks(path: Path, where: str) -> list[str]:
    found = []
    for line, text in readable_strings(path):
        if re.search(r"\b[Tt]h(e|is) app\b", text):
            found.append(f"{where}:{line} speaks of itself as 'the app' (say I): {text!r}")
        if re.search(r"\bHTTP\s*(\d|\{|$)", text):  # a number, or an f-string's value next
            found.append(f"{where}:{line} gives an HTTP status: {text!r}")
        named = [v for v in VARIABLES if re.search(rf"\b{v}\b", text)]
        if named and where not in ADMIN_ONLY:
            found.append(f"{where}:{line} names {named} to someone who cannot set it: {text!r}")
    return found


def test_every_sentence_speaks_in_one_voice() -> None:
    found = [
        found
        for path in sorted((ROOT / "handlers").rglob("*.py"))
        for found in breaks(path, str(path.relative_to(ROOT)))
    ]
    assert found == [], "\n".join(found)


def test_the_check_sees_what_it_is_for(tmp_path: Path) -> None:
    """The rule fails on each kind of break (so the test above can fail)."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""A docstring may say the app."""\n'
        "import logging\nlog = logging.getLogger(__name__)\n"
        'log.info("the app HTTP 500 BROWSER_USE_API_KEY")\n'
        'A = "The app could not read it."\n'
        'B = f"Browser Use answered HTTP {500}."\n'
        'C = "Set BROWSER_USE_API_KEY."\n'
    )
    found = breaks(sample, "handlers/sample.py")
    assert len(found) == 3, found
