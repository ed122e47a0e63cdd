"""Every Create Task option, once (the table `OPTIONS`): its flags, its form field, its help, and
the converter both of them use (`handlers.option_values`); and what a task starts from under
what the person sets (`Defaults`).

`/browser-use … --model gpt-4.1` and the task form give the same `CreateTaskRequest` because both
turn text into fields through the same converters, then through `handlers.build.build_request`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.models import (
    ACCURATE,
    DEFAULT_LLM,
    JUDGE_GROUND_TRUTH_MAX_CHARS,
    KNOWN_LLMS,
    MAX_STEPS_RANGE,
    SCREEN_HEIGHT_RANGE,
    SCREEN_WIDTH_RANGE,
    SYSTEM_PROMPT_EXTENSION_MAX_CHARS,
    CreateTaskRequest,
)
from handlers.option_values import (
    USER_METADATA_MAX_PAIRS,
    Fields,
    bounded_text,
    country,
    dollars,
    domain_list,
    engine_name,
    http_url,
    json_schema,
    llm_name,
    metadata_pairs,
    pairs,
    screen_size,
    skill_list,
    thinking_level,
    uuid_text,
    vision_mode,
    whole_number,
)
from handlers.views import kit


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
    "max_cost_usd": "max cost (USD)",
    "flash_mode": "flash mode",
    "vision": "vision",
    "thinking": "thinking",
    "judge": "judged",
    "system_prompt_extension": "extra instructions",
}


def _short(value: Any) -> str:
    text = ", ".join(value) if isinstance(value, list) else str(value)
    return text if len(text) <= 60 else text[:59] + "…"


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
        "the most the task may spend, in US dollars (accurate mode: Browser Use stops it; "
        "otherwise I stop it once its reported cost reaches the cap)",
        "--max-cost 5",
        lambda v: {"max_cost_usd": dollars(v)},
        form=FormField(
            "Max cost in USD",
            _text("5.00"),
            "The task is stopped once it has cost this much.",
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
