"""Browser Use's v2 and v4 contracts, as the stand-in enforces them on every request and answer.

The models come from `browser-use-sdk` (a dev dependency): Browser Use generates them from its
own OpenAPI, so a clone anywhere checks the same contract, with nothing beside it. The check is
stricter than the real API in one way on purpose: Browser Use ignores a field it does not know
(`startURL` for `startUrl`), which would hide the mistake; here it is refused.
"""

from __future__ import annotations

import json
from typing import Any, Union, get_args, get_origin
from uuid import UUID

from browser_use_sdk.generated.v2 import models as v2
from browser_use_sdk.generated.v4 import models as v4
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, RootModel, ValidationError

__all__ = [
    "ProfileListQuery",
    "RunEventsQuery",
    "SessionListQuery",
    "TaskListQuery",
    "problems",
    "v2",
    "v4",
]


class _Query(BaseModel):
    """A list endpoint's query string, as the spec's parameters declare it."""

    model_config = ConfigDict(extra="forbid")

    pageSize: int = Field(10, ge=1, le=100)
    pageNumber: int = Field(1, ge=1)


class TaskListQuery(_Query):
    """`GET /tasks`."""

    sessionId: UUID | None = None
    filterBy: v2.TaskStatus | None = None
    after: AwareDatetime | None = None
    before: AwareDatetime | None = None


class SessionListQuery(_Query):
    """`GET /sessions`."""

    filterBy: v2.SessionStatus | None = None


class ProfileListQuery(_Query):
    """`GET /profiles`."""

    query: str | None = Field(None, max_length=200)


class RunEventsQuery(BaseModel):
    """v4's `GET /runs/{id}/events`."""

    model_config = ConfigDict(extra="forbid")

    after: int | None = Field(None, ge=0)
    limit: int | None = Field(None, ge=1, le=1000)


def problems(model: type[BaseModel], raw: bytes | str) -> list[str]:
    """What is wrong with `raw` (a JSON body) as `model`: the SDK model's own rules, checked
    strictly (no "5" for 5), and every field the model does not have. Empty when it is right."""
    try:
        data = json.loads(raw)
    except ValueError:
        return ["body: not JSON"]
    try:
        model.model_validate_json(raw, strict=True)
        found: list[str] = []
    except ValidationError as exc:
        found = [f"{_where(error['loc'])}: {error['msg']}" for error in exc.errors()]
    return found + unknown_fields(model, data)


def query_problems(model: type[_Query], query: dict[str, str]) -> list[str]:
    """What is wrong with a query string (its values are strings on the wire)."""
    try:
        model.model_validate(dict(query))
    except ValidationError as exc:
        return [f"query {_where(error['loc'])}: {error['msg']}" for error in exc.errors()]
    return []


def unknown_fields(model: type[BaseModel], data: Any, where: str = "") -> list[str]:
    """Every key in `data`, at any depth, that `model` does not declare."""
    if not isinstance(data, dict) or issubclass(model, RootModel):
        return []
    fields = {field.alias or name: field.annotation for name, field in model.model_fields.items()}
    found = [f"{where}{key}: not a field of {model.__name__}" for key in data if key not in fields]
    for key, value in data.items():
        if key in fields:
            found += _walk(fields[key], value, f"{where}{key}.")
    return found


def _walk(annotation: Any, value: Any, where: str) -> list[str]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return unknown_fields(annotation, value, where)
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is list and isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _walk(args[0], item, f"{where}{i}.")]
    if origin is dict and isinstance(value, dict):
        return [p for k, item in value.items() for p in _walk(args[1], item, f"{where}{k}.")]
    if origin is Union or type(annotation).__name__ == "UnionType":
        for arg in args:
            if isinstance(arg, type) and issubclass(arg, BaseModel) and isinstance(value, dict):
                return unknown_fields(arg, value, where)
    return []


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"
