"""Wire models of the Browser Use v2 API (camelCase on the wire, only the fields set are sent)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any, Literal
from urllib.parse import urlsplit
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    SerializationInfo,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

TASK_MAX_CHARS = 50_000
MAX_STEPS_RANGE = (1, 10_000)
SCREEN_WIDTH_RANGE = (320, 6144)
SCREEN_HEIGHT_RANGE = (320, 3456)
# The live API accepts 10,000 characters; older deployments of v2 stop at 2,000, so we keep to that.
SYSTEM_PROMPT_EXTENSION_MAX_CHARS = 2_000
JUDGE_GROUND_TRUTH_MAX_CHARS = 10_000
METADATA_MAX_PAIRS = 10
MAX_COST_USD = 1000
DEFAULT_LLM = "browser-use-2.0"

# SupportedLLMs of Browser Use's v2 API, as its SDK's models list them. The list changes often;
# tests/test_models.py checks that every name the SDK (a dev dependency) lists is here.
KNOWN_LLMS: tuple[str, ...] = (
    "browser-use-2.0",
    "browser-use-llm",
    "bu-2-0-mini-preview",
    "gpt-4.1",
    "gpt-4.1-mini",
    "o4-mini",
    "o3",
    "gpt-5.5",
    "gpt-5.6-sol",
    "gpt-5.6-terra",
    "gpt-5.6-luna",
    "gemini-2.5-flash",
    "gemini-2.5-pro",
    "gemini-3-pro-preview",
    "gemini-3.1-pro-preview",
    "gemini-3-flash-preview",
    "gemini-3.5-flash",
    "gemini-flash-latest",
    "gemini-flash-lite-latest",
    "claude-sonnet-4-20250514",
    "claude-sonnet-4-5-20250929",
    "claude-sonnet-5",
    "claude-opus-4-5-20251101",
    "claude-opus-4-7",
    "claude-opus-4-8",
    "claude-opus-5",
    "claude-3-7-sonnet-20250219",
    "glm-5.2",
    "glm-5.3-flash",
    "minimax-m3",
    "grok-4.6",
    "deepseek-v4-flash-vision",
    "llama-4-maverick-17b-128e-instruct",
)

# ProxyCountryCode of Browser Use's v2 API (lower-case ISO 3166 codes, plus "uk").
PROXY_COUNTRY_CODES: frozenset[str] = frozenset(
    """
    ad ae af ag ai al am an ao aq ar as at au aw az ba bb bd be bf bg bh bi bj bl bm bn bo
    bq br bs bt bv bw by bz ca cc cd cf cg ch ci ck cl cm co cr cs cu cv cw cx cy cz de dj dk
    dm do dz ec ee eg eh er es et fi fj fk fm fo fr ga gd ge gf gg gh gi gl gm gn gp gq gr
    gs gt gu gw gy hk hm hn hr ht hu id ie il im in iq ir is it je jm jo jp ke kg kh ki km
    kn kp kr kw ky kz la lb lc li lk lr ls lt lu lv ly ma mc md me mf mg mh mk ml mm mn mo
    mp mq mr ms mt mu mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph
    pk pl pm pn pr ps pt pw py qa re ro rs ru rw sa sb sc sd se sg sh si sj sk sl sm sn so
    sr ss st sv sx sy sz tc td tf tg th tj tk tl tm tn to tr tt tv tw tz ua ug uk us uy uz
    va vc ve vg vi vn vu wf ws xk ye yt za zm zw
    """.split()  # noqa: SIM905
)

_DOMAIN_PATTERN = re.compile(
    r"^(https?://)?(\*\.)?([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$|^localhost$"
)


def is_domain_pattern(value: str) -> bool:
    """`example.com`, `*.example.com` or `https://example.com`: what allowedDomains takes."""
    return bool(_DOMAIN_PATTERN.match(value.lower()))


ThinkingLevel = Literal["disabled", "low", "medium", "high"]

# The agents a task can run on: Browser Use's v2 tasks (the default: cheap and fast) and its v4
# runs ("accurate mode": more accurate on hard tasks, slower and dearer). See the API notes §15.
Engine = Literal["v2", "v4"]
ACCURATE: Engine = "v4"

# v4's models (its RunCreateRequest.model), and the v2 names that mean the same model there;
# tests/test_models.py checks every name against browser-use-sdk's v4 models.
V4_MODELS: tuple[str, ...] = (
    "gpt-6-luna",
    "gpt-6-sol",
    "gpt-6.1-sol",
    "gpt-6-astra",
    "gpt-5.5",
    "gpt-5.6",
    "gpt-5.6-sol",
    "gpt-5.6-terra",
    "gpt-5.6-luna",
    "claude-opus-4.7",
    "claude-opus-4.8",
    "claude-opus-5",
    "claude-opus-5-5",
    "claude-sonnet-5",
    "claude-sonnet-5-5",
    "claude-fable-5",
    "gemini-3.6-flash",
    "gemini-3.5-flash",
    "gemini-3.1-pro",
    "gemini-3-flash",
    "glm-5.2",
    "glm-5.3-flash",
    "grok-4.5",
    "grok-4.6",
    "kimi-k3",
    "minimax-m3",
    "deepseek-v4.1-flash",
    "deepseek-v4-flash-vision",
    "mimo-v2.6-pro",
    "mimo-v2.6-flash",
    "bu-ultrafast",
    "bu-fast",
)
V4_MODEL_OF_V2: dict[str, str] = {
    "claude-opus-4-7": "claude-opus-4.7",
    "claude-opus-4-8": "claude-opus-4.8",
    "gemini-3.1-pro-preview": "gemini-3.1-pro",
    "gemini-3-flash-preview": "gemini-3-flash",
    **{name: name for name in V4_MODELS},
}
# v4's run statuses, as the v2 task statuses the rest of the app speaks.
V4_STATUS = {
    "queued": "created",
    "dispatching": "created",
    "running": "started",
    "completed": "finished",
    "failed": "failed",
    "cancelled": "stopped",
}


class WireModel(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown fields from the server are kept."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    def to_wire(self) -> dict[str, Any]:
        """The JSON body: only the fields that were set, secrets revealed."""
        return self.model_dump(
            mode="json", by_alias=True, exclude_unset=True, context={"reveal_secrets": True}
        )


class SessionSettings(WireModel):
    model_config = ConfigDict(extra="forbid")

    profile_id: UUID | None = None
    # None disables the proxy, so it is sent as null when a person chose it.
    proxy_country_code: str | None = None
    browser_screen_width: int | None = Field(
        default=None, ge=SCREEN_WIDTH_RANGE[0], le=SCREEN_WIDTH_RANGE[1]
    )
    browser_screen_height: int | None = Field(
        default=None, ge=SCREEN_HEIGHT_RANGE[0], le=SCREEN_HEIGHT_RANGE[1]
    )

    @field_validator("proxy_country_code")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.lower()
        if code not in PROXY_COUNTRY_CODES:
            raise ValueError(f"unknown proxy country code {value!r}")
        return code


class CreateTaskRequest(WireModel):
    """`POST /tasks`. Only `task` is required; the API's defaults apply to whatever is unset."""

    model_config = ConfigDict(extra="forbid")

    task: str = Field(min_length=1, max_length=TASK_MAX_CHARS)
    llm: str | None = None
    start_url: str | None = None
    max_steps: int | None = Field(default=None, ge=MAX_STEPS_RANGE[0], le=MAX_STEPS_RANGE[1])
    structured_output: str | None = None
    session_id: UUID | None = None
    metadata: dict[str, str] | None = None
    secrets: dict[str, SecretStr] | None = None
    allowed_domains: list[str] | None = None
    op_vault_id: str | None = None
    session_settings: SessionSettings | None = None
    highlight_elements: bool | None = None
    flash_mode: bool | None = None
    thinking: bool | None = None
    thinking_level: ThinkingLevel | None = None
    vision: bool | Literal["auto"] | None = None
    system_prompt_extension: str | None = Field(
        default=None, max_length=SYSTEM_PROMPT_EXTENSION_MAX_CHARS
    )
    judge: bool | None = None
    judge_ground_truth: str | None = Field(default=None, max_length=JUDGE_GROUND_TRUTH_MAX_CHARS)
    judge_llm: str | None = None
    skill_ids: list[str] | None = None
    # Not v2 fields: which agent runs the task, and (v4 only) the session's spend cap in USD.
    engine: Engine | None = Field(default=None, exclude=True)
    max_cost_usd: float | None = Field(default=None, gt=0, le=MAX_COST_USD, exclude=True)

    @property
    def accurate(self) -> bool:
        return self.engine == ACCURATE

    def to_v4_wire(self) -> dict[str, Any]:
        """`POST /api/v4/runs`: the same request as v4 takes it (the API notes §15). The
        options v4 has no place for are refused before this (`handlers.options`); a start URL
        is said in the task."""
        task = f"Start at {self.start_url}. {self.task}" if self.start_url else self.task
        body: dict[str, Any] = {"task": task}
        if self.llm:
            body["model"] = V4_MODEL_OF_V2.get(self.llm, self.llm)
        if self.structured_output:
            body["outputSchema"] = json.loads(self.structured_output)
        if self.session_id:
            body["sessionId"] = str(self.session_id)
        if self.session_settings is not None:
            fields = self.session_settings.model_dump(exclude_unset=True)
            names = {
                "profile_id": "profileId",
                "proxy_country_code": "proxyCountryCode",
                "browser_screen_width": "screenWidth",
                "browser_screen_height": "screenHeight",
            }
            body["browserSettings"] = {
                names[k]: str(v) if k == "profile_id" else v for k, v in fields.items()
            }
        if self.op_vault_id:
            body["opVaultId"] = self.op_vault_id
        if self.secrets:
            domains = list(self.allowed_domains or [])
            body["secretBindings"] = [
                {
                    "alias": name,
                    "source": {"type": "inline", "value": value.get_secret_value()},
                    "allowedDomains": domains,
                }
                for name, value in self.secrets.items()
            ]
        if self.judge or self.judge_ground_truth:
            body["judge"] = {"context": self.judge_ground_truth} if self.judge_ground_truth else {}
        if self.max_cost_usd is not None:
            body["maxCostUsd"] = self.max_cost_usd
        return body

    @field_validator("start_url")
    @classmethod
    def _http_only(cls, value: str | None) -> str | None:
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError("the start URL must be an http:// or https:// address")
        return value

    @field_validator("metadata")
    @classmethod
    def _few_pairs(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is not None and len(value) > METADATA_MAX_PAIRS:
            raise ValueError(f"metadata takes at most {METADATA_MAX_PAIRS} pairs")
        return value

    @model_validator(mode="after")
    def _session_or_settings(self) -> CreateTaskRequest:
        if self.session_id is not None and self.session_settings is not None:
            raise ValueError(
                "session settings only apply to new sessions; leave them out with a session ID"
            )
        return self

    def to_kept(self) -> str:
        """The request as JSON to keep and start again: what the person set, without secrets
        (never stored), the app's own metadata, or the session (a re-run gets a fresh one,
        unless its thread keeps one)."""
        data = self.model_dump(mode="json", exclude_unset=True, exclude={"secrets", "session_id"})
        if self.engine is not None:
            data["engine"] = self.engine
        if self.max_cost_usd is not None:
            data["max_cost_usd"] = self.max_cost_usd
        metadata = {
            k: v for k, v in (self.metadata or {}).items() if k not in RESERVED_METADATA_KEYS
        }
        if metadata:
            data["metadata"] = metadata
        else:
            data.pop("metadata", None)
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_kept(cls, kept: str) -> CreateTaskRequest:
        return cls.model_validate_json(kept)

    @field_serializer("secrets")
    def _hide_secrets(
        self, secrets: dict[str, SecretStr] | None, info: SerializationInfo
    ) -> dict[str, str] | None:
        if secrets is None:
            return None
        reveal = bool(info.context and info.context.get("reveal_secrets"))
        return {k: v.get_secret_value() if reveal else str(v) for k, v in secrets.items()}


class TaskCreated(WireModel):
    """The 202 answer to `POST /tasks`."""

    id: str
    session_id: str


# The metadata keys the app keeps for itself; a person cannot set them. The second is set only on
# tasks in a browser session the app opened for a thread (so it may close it when idle).
ROUTE_METADATA_KEY = "slack"
SESSION_METADATA_KEY = "slack_session"
RESERVED_METADATA_KEYS = frozenset({ROUTE_METADATA_KEY, SESSION_METADATA_KEY})


_SLACK_ID = re.compile(r"[A-Z0-9]{1,32}")
_SLACK_TS = re.compile(r"\d{1,12}\.\d{1,9}")
_REQUEST_ID = re.compile(r"[0-9a-f]{8,32}")


class SlackRoute(BaseModel):
    """Where a task's thread lives. It rides in the task's metadata, so any process can find it."""

    model_config = ConfigDict(frozen=True)

    team: str
    channel: str
    thread_ts: str | None
    user: str
    max_steps: int | None = None  # to say "step 3 of 30" after a restart too
    # Unique per Slack request: finds the task again when a create's outcome is unknown.
    request_id: str | None = None

    def encode(self) -> str:
        parts = [self.team, self.channel, self.thread_ts or "-", self.user]
        if self.max_steps or self.request_id:
            parts.append(str(self.max_steps or "-"))
        if self.request_id:
            parts.append(self.request_id)
        return "/".join(parts)

    @classmethod
    def decode(cls, value: str) -> SlackRoute | None:
        """The route in a task's metadata, or None if it is not one this app wrote. Anyone with
        the API key can set metadata, so every part must look like what Slack issues."""
        parts = value.split("/")
        if not 4 <= len(parts) <= 6:
            return None
        team, channel, thread_ts, user = parts[:4]
        max_steps, request_id = [*parts[4:], "-", "-"][:2]
        if not (
            _SLACK_ID.fullmatch(team)
            and _SLACK_ID.fullmatch(channel)
            and _SLACK_ID.fullmatch(user)
            and (thread_ts == "-" or _SLACK_TS.fullmatch(thread_ts))
            and (max_steps == "-" or max_steps.isdigit())
            and (request_id == "-" or _REQUEST_ID.fullmatch(request_id))
        ):
            return None
        return cls(
            team=team,
            channel=channel,
            thread_ts=None if thread_ts == "-" else thread_ts,
            user=user,
            max_steps=None if max_steps == "-" else int(max_steps),
            request_id=None if request_id == "-" else request_id,
        )

    @classmethod
    def from_metadata(cls, metadata: dict[str, str] | None) -> SlackRoute | None:
        value = (metadata or {}).get(ROUTE_METADATA_KEY)
        return cls.decode(value) if value else None

    def attach(
        self, request: CreateTaskRequest, *, thread_session: str | None = None
    ) -> CreateTaskRequest:
        """A copy of `request` whose metadata carries this route (and, for a task in a session
        the app opened for the thread, that session's ID): one or two of the ten pairs."""
        metadata = {**(request.metadata or {}), ROUTE_METADATA_KEY: self.encode()}
        if thread_session:
            metadata[SESSION_METADATA_KEY] = thread_session
        # Validating anew (rather than model_copy) re-checks the pair limit and marks the field set.
        fields = {name: getattr(request, name) for name in request.model_fields_set}
        return CreateTaskRequest.model_validate({**fields, "metadata": metadata})


def parse_time(value: str | None) -> datetime | None:
    """The API's timestamps, with or without an offset (naive ones are UTC)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


class CreateSessionRequest(WireModel):
    """`POST /sessions`: a browser kept alive between tasks, for a conversation in a thread."""

    model_config = ConfigDict(extra="forbid")

    keep_alive: bool = True
    persist_memory: bool = True
    profile_id: UUID | None = None
    proxy_country_code: str | None = None
    start_url: str | None = None
    browser_screen_width: int | None = None
    browser_screen_height: int | None = None


class CreateProfileRequest(WireModel):
    """`POST /profiles`: a named browser profile; `user_id` says whose (`<team>:<user>`)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    user_id: str | None = Field(default=None, max_length=255)
