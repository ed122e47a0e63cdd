"""Every Create Task option, once: its flags, its form field, and the parser both of them use.

`/browser-use … --model gpt-4.1` and the task form give the same `CreateTaskRequest` because both
turn text into fields through the converters below, then through `build_request`.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from pydantic import ValidationError

from bot.models import (
    ACCURATE,
    DEFAULT_LLM,
    JUDGE_GROUND_TRUTH_MAX_CHARS,
    KNOWN_LLMS,
    MAX_COST_USD,
    MAX_STEPS_RANGE,
    METADATA_MAX_PAIRS,
    PROXY_COUNTRY_CODES,
    RESERVED_METADATA_KEYS,
    SCREEN_HEIGHT_RANGE,
    SCREEN_WIDTH_RANGE,
    SYSTEM_PROMPT_EXTENSION_MAX_CHARS,
    TASK_MAX_CHARS,
    V4_MODEL_OF_V2,
    CreateTaskRequest,
    is_domain_pattern,
)
from handlers.errors import UserInputError
from handlers.views import kit

Fields = dict[str, Any]
# The app keeps metadata pairs of its own (the Slack route, the thread's browser session).
USER_METADATA_MAX_PAIRS = METADATA_MAX_PAIRS - len(RESERVED_METADATA_KEYS)


@dataclass(frozen=True)
class Defaults:
    """What a task starts from, under what the person sets: the workspace's defaults (the
    deployment's variables), then the channel's own (`channel`, request fields)."""

    llm: str | None = None
    max_steps: int | None = None
    allowed_domains: tuple[str, ...] = ()
    channel: Fields = field(default_factory=dict)
    # The workspace's engine: "v4" runs every task in accurate mode unless someone says v2.
    engine: str = "v2"
    # The saved logins the person may use where the form was opened (their names): the form's
    # Login select. Found in the store; the command line names one with `--login`.
    logins: tuple[str, ...] = ()

    def applied(self, request: CreateTaskRequest) -> list[str]:
        """The channel defaults this request kept (the person did not set them otherwise), in
        words, for the message that says which defaults were used."""
        data = request.model_dump(exclude_unset=True)
        kept = []
        for key, value in self.channel.items():
            if key == "session_settings":
                settings = data.get("session_settings") or {}
                kept += [f"{k.split('_')[0]} {v}" for k, v in value.items() if settings.get(k) == v]
            elif key == "login":
                continue  # the parent says whose login it is
            elif key == "engine":
                if request.engine == value == ACCURATE:
                    kept.append("accurate mode")
            elif data.get(key) == value:
                kept.append(
                    CHANNEL_WORDS.get(key, key) + ("" if value is True else f" {_short(value)}")
                )
        return kept


# What a channel may set as its defaults (`/browser-use settings`), named as the parent says.
CHANNEL_WORDS = {
    "login": "saved login",
    "llm": "model",
    "start_url": "starts at",
    "allowed_domains": "only",
    "max_steps": "max steps",
    "flash_mode": "flash mode",
    "vision": "vision",
    "thinking": "thinking",
    "judge": "judged",
    "system_prompt_extension": "extra instructions",
}


def _short(value: Any) -> str:
    text = ", ".join(value) if isinstance(value, list) else str(value)
    return text if len(text) <= 60 else text[:59] + "…"


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
            raise UserInputError(f"The {what} key `{name}` is reserved for the app's own use.")
        result[name] = value.strip()
    return result


TOO_MANY_PAIRS = (
    f"Metadata takes at most {USER_METADATA_MAX_PAIRS} pairs (the app keeps "
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


# The options a recurring task cannot keep (the form's block ID or request field → why).
ONCE_ONLY = {
    "secrets": "Secrets are not kept, so a recurring task cannot have them: use a saved login "
    "(`--login`) or a 1Password vault (`--vault`).",
    "session_id": "A recurring task opens a fresh browser at each run, so it can't keep a "
    "session. A saved login (`--login`) keeps you logged in between runs.",
}


# --- the table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormField:
    """An option's field in the task form: its label, its element (from the workspace's and
    the channel's defaults), and whether it is on the first screen or under More options."""

    label: str
    element: Callable[[Defaults], dict[str, Any]]
    hint: str = ""
    first_screen: bool = False
    required: bool = False


@dataclass(frozen=True)
class Option:
    """One option. `key` is its form block ID and the name errors are filed under. A switch's
    form field is a box in the form's Agent checkboxes (`form` is its text); any other's is
    `form`, a field of its own. The table's order is the form's."""

    key: str
    flags: tuple[str, ...]
    help: str
    example: str
    parse: Callable[[str], Fields]
    switch: bool = False  # a flag that takes no value
    repeatable: bool = False
    inline: bool = True  # False: only the form takes it (secrets)
    form: FormField | str | None = None


NO_LOGIN = "-"  # the Saved login select's "none" (a static select cannot be emptied)


def login_select(defaults: Defaults) -> dict[str, Any]:
    """The logins the person may use here; the channel's default login chosen, if it is one."""
    channel = defaults.channel.get("login")
    initial = channel if channel in defaults.logins else NO_LOGIN
    choices = [(NO_LOGIN, "No saved login"), *[(n, n) for n in defaults.logins]]
    return kit.select(choices, initial)


def _text(placeholder: str, *, multiline: bool = False) -> Callable[[Defaults], dict[str, Any]]:
    return lambda _: kit.text_input(placeholder, multiline=multiline)


def _models(initial: str | None = None) -> dict[str, Any]:
    return kit.select([(m, m) for m in KNOWN_LLMS], initial)


SESSION_HINT = "Only for new sessions: leave empty when you give a session ID."


def _session(**fields: Any) -> Fields:
    return {"session_settings": fields}


OPTIONS: tuple[Option, ...] = (
    Option(
        "start_url",
        ("--url", "--start-url"),
        "the page to start on",
        "--url https://www.amazon.com",
        lambda v: {"start_url": http_url(v)},
        form=FormField(
            "Start URL",
            lambda _: {"type": "url_text_input"},
            "The page the browser opens first.",
            first_screen=True,
        ),
    ),
    Option(
        "llm",
        ("--model", "--llm"),
        "the model that drives the browser",
        "--model gpt-4.1",
        lambda v: {"llm": llm_name(v)},
        form=FormField(
            "Model",
            lambda d: _models(d.llm or DEFAULT_LLM),
            first_screen=True,
            required=True,
        ),
    ),
    Option(
        "max_steps",
        ("--max-steps", "--steps"),
        "stop after this many steps (1–10,000)",
        "--max-steps 30",
        lambda v: {"max_steps": whole_number(v, *MAX_STEPS_RANGE, "Max steps")},
        form=FormField(
            "Max steps",
            lambda d: kit.number_input(*MAX_STEPS_RANGE, d.max_steps),
            "The agent stops after this many steps. Browser Use's default is 100.",
            first_screen=True,
        ),
    ),
    Option(
        "structured_output",
        ("--schema", "--structured-output"),
        "a JSON Schema the answer must follow (quote it)",
        '--schema \'{"type":"object","properties":{"price":{"type":"number"}}}\'',
        lambda v: {"structured_output": json_schema(v)},
        form=FormField(
            "Structured output (JSON Schema)",
            _text(
                '{"type": "object", "properties": {"price": {"type": "number"}}}', multiline=True
            ),
            "The answer will be JSON that follows this schema.",
            first_screen=True,
        ),
    ),
    Option(
        "allowed_domains",
        ("--domains", "--allowed-domains"),
        "only visit these domains (comma-separated, `*.` for subdomains)",
        "--domains amazon.com,*.amazon.com",
        lambda v: {"allowed_domains": domain_list(v)},
        form=FormField(
            "Allowed domains",
            lambda d: kit.text_input(
                "example.com, *.example.com", initial=", ".join(d.allowed_domains)
            ),
            "The browser stays on these domains. Comma-separated; *. for subdomains.",
            first_screen=True,
        ),
    ),
    Option(
        "accurate",
        ("--accurate",),
        "accurate mode: Browser Use's v4 agent, for hard tasks (slower, costs more)",
        "--accurate",
        lambda v: {"engine": ACCURATE},
        switch=True,
        form="Accurate mode (slower, costs more)",
    ),
    Option(
        "engine",
        ("--engine",),
        "the agent: `v2` (the default) or `v4` (accurate mode)",
        "--engine v4",
        engine_name,
    ),
    Option(
        "max_cost_usd",
        ("--max-cost",),
        "accurate mode: the most the task's session may spend, in US dollars",
        "--max-cost 5",
        lambda v: {"max_cost_usd": dollars(v)},
        form=FormField(
            "Max cost in USD (accurate mode)",
            _text("5.00"),
            "Accurate mode has no step limit: this caps what the session spends instead.",
        ),
    ),
    Option(
        "flash_mode",
        ("--flash",),
        "flash mode: faster, fewer checks",
        "--flash",
        lambda v: {"flash_mode": True},
        switch=True,
        form="Flash mode (faster, fewer checks)",
    ),
    Option(
        "thinking",
        ("--thinking",),
        "let the model think before each step",
        "--thinking",
        lambda v: {"thinking": True},
        switch=True,
        form="Thinking (the model reasons before each step)",
    ),
    Option(
        "highlight_elements",
        ("--highlight",),
        "highlight interactive elements on the page",
        "--highlight",
        lambda v: {"highlight_elements": True},
        switch=True,
        form="Highlight interactive elements",
    ),
    Option(
        "judge",
        ("--judge",),
        "have a judge model check the result",
        "--judge",
        lambda v: {"judge": True},
        switch=True,
        form="Judge the result",
    ),
    Option(
        "vision",
        ("--vision",),
        "screenshots for the model: on, off or auto",
        "--vision auto",
        lambda v: {"vision": vision_mode(v)},
        form=FormField(
            "Vision",
            lambda _: kit.select([("on", "On"), ("off", "Off"), ("auto", "Auto")]),
            "Screenshots for the model. Browser Use's default is on.",
        ),
    ),
    Option(
        "thinking_level",
        ("--thinking-level",),
        "reasoning depth: disabled, low, medium, high",
        "--thinking-level high",
        lambda v: {"thinking_level": thinking_level(v)},
        form=FormField(
            "Thinking level",
            lambda _: kit.select(
                [(v, v.capitalize()) for v in ("disabled", "low", "medium", "high")]
            ),
        ),
    ),
    Option(
        "system_prompt_extension",
        ("--system-prompt", "--instructions"),
        f"extra instructions for the agent (up to {SYSTEM_PROMPT_EXTENSION_MAX_CHARS:,} chars)",
        '--system-prompt "Answer in French"',
        lambda v: {
            "system_prompt_extension": bounded_text(
                v, SYSTEM_PROMPT_EXTENSION_MAX_CHARS, "The system prompt extension"
            )
        },
        form=FormField(
            "Extra instructions for the agent",
            _text("Answer in French.", multiline=True),
            f"Up to {SYSTEM_PROMPT_EXTENSION_MAX_CHARS:,} characters.",
        ),
    ),
    Option(
        "judge_ground_truth",
        ("--ground-truth", "--expect"),
        "the answer the judge compares against (turns the judge on)",
        '--ground-truth "349 EUR"',
        lambda v: {
            "judge": True,
            "judge_ground_truth": bounded_text(
                v, JUDGE_GROUND_TRUTH_MAX_CHARS, "The judge's ground truth"
            ),
        },
        form=FormField(
            "Expected answer (for the judge)",
            _text("349 EUR", multiline=True),
            "Turns the judge on.",
        ),
    ),
    Option(
        "judge_llm",
        ("--judge-model",),
        "the judge's model",
        "--judge-model o3",
        lambda v: {"judge_llm": llm_name(v, "judge model")},
        form=FormField("Judge model", lambda _: _models()),
    ),
    Option(
        "session_id",
        ("--session",),
        "run in an existing session (its ID)",
        "--session 6f1c…",
        lambda v: {"session_id": uuid_text(v, "session ID")},
        form=FormField(
            "Session ID",
            _text("Run in an existing session"),
            "Reuse a browser session (cookies, open pages).",
        ),
    ),
    Option(
        "login",
        ("--login",),
        "a saved login: the browser starts logged in (`/browser-use logins` lists them)",
        "--login expenses",
        lambda v: {"login": bounded_text(v, 100, "The login's name")},
        form=FormField(
            "Saved login",
            lambda d: (
                login_select(d)
                if d.logins
                else kit.text_input("None saved yet: /browser-use login saves one")
            ),
            "The browser starts logged in, from the login's proxy country.",
            first_screen=True,
        ),
    ),
    Option(
        "profile_id",
        ("--profile",),
        "a browser profile with saved logins (its ID)",
        "--profile 0b3e…",
        lambda v: _session(profile_id=uuid_text(v, "profile ID")),
        form=FormField("Profile ID", _text("A browser profile with saved logins"), SESSION_HINT),
    ),
    Option(
        "proxy_country_code",
        ("--proxy", "--country"),
        "browse through a proxy in this country, or `none`",
        "--proxy de",
        lambda v: _session(proxy_country_code=country(v)),
        form=FormField("Proxy country", _text("us, de, jp … or none"), SESSION_HINT),
    ),
    Option(
        "screen",
        ("--screen",),
        "browser screen size, width x height",
        "--screen 1280x800",
        lambda v: _session(**screen_size(v)),
    ),
    Option(
        "browser_screen_width",
        ("--width",),
        "browser screen width (320–6144)",
        "--width 1280",
        lambda v: _session(
            browser_screen_width=whole_number(v, *SCREEN_WIDTH_RANGE, "The screen width")
        ),
        form=FormField(
            "Screen width", lambda _: kit.number_input(*SCREEN_WIDTH_RANGE), SESSION_HINT
        ),
    ),
    Option(
        "browser_screen_height",
        ("--height",),
        "browser screen height (320–3456)",
        "--height 800",
        lambda v: _session(
            browser_screen_height=whole_number(v, *SCREEN_HEIGHT_RANGE, "The screen height")
        ),
        form=FormField(
            "Screen height", lambda _: kit.number_input(*SCREEN_HEIGHT_RANGE), SESSION_HINT
        ),
    ),
    Option(
        "skill_ids",
        ("--skills",),
        "skill IDs to enable (comma-separated), or `all`",
        "--skills all",
        lambda v: {"skill_ids": skill_list(v)},
        form=FormField("Skills", _text("Skill IDs, comma-separated, or all")),
    ),
    Option(
        "op_vault_id",
        ("--vault",),
        "a 1Password vault to take credentials from",
        "--vault abc123",
        lambda v: {"op_vault_id": bounded_text(v, 200, "The vault ID")},
        form=FormField("1Password vault ID", _text("Credentials come from this vault")),
    ),
    Option(
        "secrets",
        ("--secret", "--secrets"),
        "credentials for the agent (form only)",
        "(use the form)",
        lambda v: {"secrets": pairs(v, "secret")},
        inline=False,
        form=FormField(
            "Secrets",
            _text("name=value, one a line", multiline=True),
            "Passed to the agent, never shown in Slack or in logs.",
        ),
    ),
    Option(
        "metadata",
        ("--metadata", "--meta"),
        "a `key=value` pair to tag the task (repeatable)",
        "--metadata project=q3",
        lambda v: {"metadata": metadata_pairs(v)},
        repeatable=True,
        form=FormField(
            "Metadata",
            _text("key=value, one a line", multiline=True),
            f"Up to {USER_METADATA_MAX_PAIRS} pairs, kept with the task at Browser Use.",
        ),
    ),
)
BY_KEY = {option.key: option for option in OPTIONS}
BY_FLAG = {flag: option for option in OPTIONS for flag in option.flags}


# --- from fields to a request -------------------------------------------------------------------


def login_of(fields: Fields, defaults: Defaults) -> str | None:
    """The saved login a request asks for, taken out of `fields`: the person's own (`--login`,
    the form's select), else the channel's default one unless the person chose a browser of
    their own (a session, a profile or a proxy)."""
    login = fields.pop("login", None)
    if login == NO_LOGIN:
        return None
    if login is not None:
        return str(login)
    own = fields.get("session_settings") or {}
    if fields.get("session_id") or "profile_id" in own or "proxy_country_code" in own:
        return None
    channel = defaults.channel.get("login")
    return str(channel) if channel else None


def merge(into: Fields, fields: Fields) -> None:
    """Fold one option's fields in; nested session settings and metadata pairs accumulate."""
    for name, value in fields.items():
        if isinstance(value, dict) and isinstance(into.get(name), dict):
            into[name] = {**into[name], **value}
        else:
            into[name] = value


# What v4 has no place for (the API notes §15), and what to say instead.
NOT_IN_ACCURATE_MODE = {
    "max_steps": "Accurate mode has no step limit: cap what it spends with `--max-cost` instead.",
    "flash_mode": "Flash mode is not part of accurate mode.",
    "vision": "Accurate mode chooses when to look at the page itself: leave out vision.",
    "highlight_elements": "Accurate mode does not highlight elements: leave it out.",
    "system_prompt_extension": "Accurate mode takes no extra instructions: say them in the task.",
    "skill_ids": "Skills are not part of accurate mode.",
    "judge_llm": "Accurate mode chooses its judge's model itself: leave out the judge model.",
    "metadata": "Accurate mode keeps no metadata with the task.",
    "thinking": "Accurate mode sets the model's thinking itself: leave out thinking.",
    "thinking_level": "Accurate mode sets the model's thinking itself: leave out the level.",
}


def fit_accurate(data: Fields, person: Fields) -> None:
    """A request for v4: what the person set that v4 has no place for is refused, under its
    field; what only came from the workspace's or the channel's defaults is left out. Allowed
    domains are refused however they came (v4 keeps a browser to them only for typing secrets,
    so a channel's or an admin's limit would silently not hold)."""
    for key, why in NOT_IN_ACCURATE_MODE.items():
        if key in person:
            raise UserInputError(why, field=key)
        data.pop(key, None)
    llm = data.get("llm")
    if llm and llm not in V4_MODEL_OF_V2:
        if "llm" in person:
            raise UserInputError(
                f"The model `{llm}` is not one accurate mode offers. Leave it out (accurate mode "
                f"picks its own), or choose one of: {', '.join(sorted(set(V4_MODEL_OF_V2)))}.",
                field="llm",
            )
        data.pop("llm")
    if data.get("allowed_domains") and not data.get("secrets"):
        raise UserInputError(
            "Accurate mode cannot keep the browser to a list of domains (here, or as a channel "
            "default). Run it without `--accurate`, or without the domains.",
            field="allowed_domains",
        )


def build_request(task: str, fields: Fields, defaults: Defaults) -> CreateTaskRequest:
    """The request: the admin's defaults under what the person set; any error names its field."""
    task = task.strip()
    if not task:
        raise UserInputError("Say what the browser should do.", field="task")
    if len(task) > TASK_MAX_CHARS:
        raise UserInputError(
            f"The task is {len(task):,} characters; the limit is {TASK_MAX_CHARS:,}.", field="task"
        )
    data: Fields = {"task": task}
    if defaults.llm:
        data["llm"] = defaults.llm
    if defaults.max_steps:
        data["max_steps"] = defaults.max_steps
    if defaults.allowed_domains:
        data["allowed_domains"] = list(defaults.allowed_domains)
    if defaults.engine == ACCURATE:
        data["engine"] = ACCURATE
    channel = dict(defaults.channel)
    channel.pop("login", None)  # a saved login is found in the store by its name (`login_of`)
    if fields.get("session_id"):
        channel.pop("session_settings", None)  # a given session keeps its own browser
    merge(data, channel)
    merge(data, fields)
    if data.get("session_id") and data.get("session_settings"):
        raise UserInputError(
            "Session settings (profile, proxy, screen size) only apply to new sessions; leave "
            "them out when you give a session ID, or leave out the session ID.",
            field="session_id",
        )
    if len(data.get("metadata") or {}) > USER_METADATA_MAX_PAIRS:
        raise UserInputError(TOO_MANY_PAIRS, field="metadata")
    if data.get("engine") == ACCURATE:
        fit_accurate(data, fields)
    elif "max_cost_usd" in data:
        raise UserInputError(
            "A cost cap is for accurate mode (`--accurate`); without it, use `--max-steps`.",
            field="max_cost_usd",
        )
    try:
        return CreateTaskRequest.model_validate(data)
    except ValidationError as exc:
        # The converters catch everything a person can type; this is the model's last word.
        error = exc.errors()[0]
        loc = [str(p) for p in error["loc"]]
        field = next((p for p in reversed(loc) if p in BY_KEY), None)
        raise UserInputError(str(error["msg"]), field=field or (loc[0] if loc else None)) from None
