"""Where the shared reference material lives, and how tests skip when it is absent."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
OPENAPI = REFERENCE / "browser-use-openapi-v2.json"
WEBHOOK_VECTORS = REFERENCE / "browser-use-webhook-signatures.json"
MANIFEST_SCHEMA = REFERENCE / "slack-manifest.schema.json"


def require(path: Path) -> Path:
    """Skip the calling test, saying why, when a reference file is not beside the clone."""
    if not path.is_file():
        pytest.skip(
            f"reference file {path} is absent (../shared/reference is not beside the clone)"
        )
    return path


@cache
def openapi_spec() -> dict[str, Any] | None:
    return json.loads(OPENAPI.read_text()) if OPENAPI.is_file() else None


def schema_validator(name: str) -> Any | None:
    """A JSON Schema validator for one of the spec's `components.schemas`, or None offline."""
    spec = openapi_spec()
    if spec is None:
        return None
    from jsonschema import Draft202012Validator

    schema = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
