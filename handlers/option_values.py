"""What each option's text may be: the converters from what a person typed (the command line,
the form, a Workflow step's input) to request fields, each refusing what Browser Use would and
saying why (`UserInputError`)."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from bot.models import (
    ACCURATE,
    KNOWN_LLMS,
    MAX_COST_USD,
    METADATA_MAX_PAIRS,
    PROXY_COUNTRY_CODES,
    RESERVED_METADATA_KEYS,
    SCREEN_HEIGHT_RANGE,
    SCREEN_WIDTH_RANGE,
    is_domain_pattern,
)
from handlers.errors import UserInputError

Fields = dict[str, Any]
# The app keeps metadata pairs of its own (the Slack route, the thread's browser session).
USER_METADATA_MAX_PAIRS = METADATA_MAX_PAIRS - len(RESERVED_METADATA_KEYS)


# --- converters: raw text -> request fields, or a UserInputError saying what is wrong ----------


def suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word.lower(), list(choices), n=1, cutoff=0.5)
    return f" Did you mean `{close[0]}`?" if close else ""


def llm_name(raw: str, what: str = "model") -> str:
    name = raw.strip()
    if name not in KNOWN_LLMS:
        raise UserInputError(f"Unknown {what} `{name}`.{suggest(name, KNOWN_LLMS)}")
    return name


def engine_name(raw: str) -> Fields:
    name = raw.strip().lower()
    if name in ("v4", "accurate"):
        return {"engine": ACCURATE}
    if name in ("v2", "fast", "default"):
        return {"engine": "v2"}
    raise UserInputError("The engine is `v2` (the default: fast, cheaper) or `v4` (accurate mode).")


def dollars(raw: str) -> float:
    try:
        amount = float(raw.strip().lstrip("$"))
    except ValueError:
        raise UserInputError(
            "The cost cap is an amount in US dollars, like `5` or `2.50`."
        ) from None
    if not 0 < amount <= MAX_COST_USD:
        raise UserInputError(f"The cost cap must be more than $0 and at most ${MAX_COST_USD:,}.")
    return amount


def whole_number(raw: str, low: int, high: int, what: str) -> int:
    try:
        number = int(raw.strip())
    except ValueError:
        raise UserInputError(f"{what} must be a whole number from {low} to {high}.") from None
    if not low <= number <= high:
        raise UserInputError(f"{what} must be from {low} to {high}, not {number}.")
    return number


def http_url(raw: str) -> str:
    url = raw.strip().strip("<>")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UserInputError(f"The start URL must start with http:// or https:// (got `{url}`).")
    return url


def domain_list(raw: str) -> list[str]:
    domains = [d.strip().lower() for d in re.split(r"[,\s]+", raw) if d.strip()]
    bad = [d for d in domains if not is_domain_pattern(d)]
    if bad:
        raise UserInputError(
            f"`{bad[0]}` is not a domain. Use names like `example.com` or `*.example.com`."
        )
    return domains


def uuid_text(raw: str, what: str) -> str:
    try:
        return str(UUID(raw.strip()))
    except ValueError:
        raise UserInputError(f"The {what} must be a UUID (like `{UUID(int=1)}`).") from None


def json_schema(raw: str) -> str:
    """A JSON Schema object, sent as the stringified JSON the API expects."""
    # Slack clients turn typed quotes into typographic ones.
    raw = raw.translate(str.maketrans("“”„‘’", '"""\'\''))
    try:
        schema = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UserInputError(f"The structured output is not valid JSON: {exc.msg}.") from None
    if not isinstance(schema, dict):
        raise UserInputError("The structured output must be a JSON Schema object `{…}`.")
    problem = _schema_problem(schema)
    if problem:
        raise UserInputError(f"The structured output is not a valid JSON Schema: {problem}.")
    return json.dumps(schema, separators=(",", ":"))


_SCHEMA_TYPES = {"object", "array", "string", "number", "integer", "boolean", "null"}


def _schema_problem(schema: Mapping[str, Any], path: str = "schema") -> str | None:
    """The first structural mistake in a JSON Schema, checked by hand to avoid a dependency."""
    kinds = schema.get("type")
    for kind in kinds if isinstance(kinds, list) else [kinds] if kinds is not None else []:
        if kind not in _SCHEMA_TYPES:
            return f"{path}.type `{kind}` is not a JSON Schema type"
    properties = schema.get("properties")
    if properties is not None:
        if not isinstance(properties, dict):
            return f"{path}.properties must be an object"
        for name, sub in properties.items():
            if not isinstance(sub, dict):
                return f"{path}.properties.{name} must be an object"
            problem = _schema_problem(sub, f"{path}.properties.{name}")
            if problem:
                return problem
    required = schema.get("required")
    if required is not None and not (
        isinstance(required, list) and all(isinstance(r, str) for r in required)
    ):
        return f"{path}.required must be a list of property names"
    items = schema.get("items")
    if items is not None:
        if not isinstance(items, dict):
            return f"{path}.items must be an object"
        return _schema_problem(items, f"{path}.items")
    return None


def country(raw: str) -> str | None:
    code = raw.strip().lower()
    if code in ("none", "off", "no"):
        return None  # no proxy at all
    if code not in PROXY_COUNTRY_CODES:
        raise UserInputError(
            f"Unknown proxy country `{raw.strip()}`. Use a two-letter code like `us`, `de` or "
            f"`jp`, or `none` for no proxy.{suggest(code, PROXY_COUNTRY_CODES)}"
        )
    return code


def vision_mode(raw: str) -> bool | str:
    word = raw.strip().lower()
    if word in ("on", "true", "yes"):
        return True
    if word in ("off", "false", "no"):
        return False
    if word == "auto":
        return "auto"
    raise UserInputError("Vision is `on`, `off` or `auto`.")


def thinking_level(raw: str) -> str:
    level = raw.strip().lower()
    if level not in ("disabled", "low", "medium", "high"):
        raise UserInputError("The thinking level is `disabled`, `low`, `medium` or `high`.")
    return level


def bounded_text(raw: str, limit: int, what: str) -> str:
    text = raw.strip()
    if len(text) > limit:
        raise UserInputError(f"{what} is {len(text):,} characters; the limit is {limit:,}.")
    return text


def skill_list(raw: str) -> list[str]:
    skills = [s.strip() for s in re.split(r"[,\s]+", raw) if s.strip()]
    if not skills:
        raise UserInputError("Name at least one skill ID, or `all`.")
    return ["*"] if any(s.lower() in ("all", "*") for s in skills) else skills


def pairs(raw: str, what: str, *, reserved: frozenset[str] = frozenset()) -> dict[str, str]:
    """`name=value` pairs, one a line (or several, for metadata given as flags)."""
    result: dict[str, str] = {}
    for line in raw.splitlines():
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not name:
            # The line may hold a secret, so it is never quoted back.
            raise UserInputError(f"Each {what} line must look like `name=value`.")
        if name in reserved:
            raise UserInputError(f"The {what} key `{name}` is reserved for my own use.")
        result[name] = value.strip()
    return result


TOO_MANY_PAIRS = (
    f"Metadata takes at most {USER_METADATA_MAX_PAIRS} pairs (I keep "
    f"{len(RESERVED_METADATA_KEYS)} of Browser Use's {METADATA_MAX_PAIRS} for the Slack thread "
    "and its browser)."
)


def metadata_pairs(raw: str) -> dict[str, str]:
    found = pairs(raw, "metadata", reserved=RESERVED_METADATA_KEYS)
    if len(found) > USER_METADATA_MAX_PAIRS:
        raise UserInputError(TOO_MANY_PAIRS)
    return found


def screen_size(raw: str) -> Fields:
    match = re.fullmatch(r"\s*(\d+)\s*[x×X*]\s*(\d+)\s*", raw)
    if not match:
        raise UserInputError("The screen size looks like `1280x800` (width x height).")
    return {
        "browser_screen_width": whole_number(match[1], *SCREEN_WIDTH_RANGE, "The screen width"),
        "browser_screen_height": whole_number(match[2], *SCREEN_HEIGHT_RANGE, "The screen height"),
    }
