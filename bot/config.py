"""Settings from the environment (and `.env`), checked once at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, SecretStr

from bot.logs import FORMATS, LEVELS
from bot.models import KNOWN_LLMS, is_domain_pattern
from bot.sealed import Sealer, SealError
from bot.store import DEFAULT_DATABASE_URL, database_url

DEFAULT_BROWSER_USE_API_URL = "https://api.browser-use.com/api/v2"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"


# The settings an admin may also change in Slack (App Home → Settings), by the variable that sets
# each from the deployment. A variable that is set wins, and Slack shows it read-only.
ADMIN_SETTINGS: dict[str, str] = {
    "default_llm": "DEFAULT_LLM",
    "default_max_steps": "DEFAULT_MAX_STEPS",
    "default_allowed_domains": "DEFAULT_ALLOWED_DOMAINS",
    "allowed_user_ids": "ALLOWED_USER_IDS",
    "allowed_channel_ids": "ALLOWED_CHANNEL_IDS",
    "allowed_llms": "ALLOWED_LLMS",
    "max_steps_limit": "MAX_STEPS_LIMIT",
    # A floor: added to every task's allowed domains (FORCED_ALLOWED_DOMAINS, its old name,
    # is still read).
    "forced_allowed_domains": "ALWAYS_ALLOWED_DOMAINS",
    # A fence: every task is kept to these; a person may narrow it, never widen it.
    "domain_fence": "DOMAIN_FENCE",
    "max_running_tasks_per_user": "MAX_RUNNING_TASKS_PER_USER",
    "max_tasks_per_hour_per_user": "MAX_TASKS_PER_HOUR_PER_USER",
    "channel_defaults_by": "CHANNEL_DEFAULTS_BY",
    "profile_ids_by": "PROFILE_IDS_BY",
    "max_schedules_per_person": "MAX_SCHEDULES_PER_PERSON",
    "min_repeat_minutes": "MIN_REPEAT_MINUTES",
    "default_engine": "DEFAULT_ENGINE",
    "accurate_by": "ACCURATE_BY",
    "max_accurate_tasks_per_hour_per_user": "MAX_ACCURATE_TASKS_PER_HOUR_PER_USER",
    # The most one task may cost (USD): its --max-cost may be lower, never higher.
    "max_cost_per_task": "MAX_COST_PER_TASK",
    # Spend caps in US dollars, over a UTC day or month, from the costs tasks report.
    **{
        f"max_spend_per_{who}_{span}": f"MAX_SPEND_PER_{who.upper()}_{span.upper()}"
        for who in ("person", "channel", "workspace")
        for span in ("day", "month")
    },
}
APPROVAL_RULES = ("accurate", "shared_login", "cost_over", "outside_fence")
SPEND_CAPS = tuple(key for key in ADMIN_SETTINGS if key.startswith("max_spend_per_"))
# A recurring task repeats at most this often unless an admin says otherwise.
DEFAULT_MIN_REPEAT_MINUTES = 15


class ConfigError(Exception):
    """The process cannot start; the message says what to fix."""


class Timers(BaseModel):
    """How long the app waits between tries, in seconds: one place for every such wait. The
    defaults are production's; `TIMER_SCALE` (tests set it small) scales them all at once."""

    model_config = ConfigDict(frozen=True)

    # Browser Use's retry policy: the first wait before a retry, doubled each time up to the
    # most, plus up to `retry_jitter` at random.
    retry_first: float = 1.0
    retry_most: float = 5.0
    retry_jitter: float = 0.25
    # After a create whose outcome is unknown: the waits before each look for the task.
    lookup_waits: tuple[float, ...] = (0.5, 1.5)
    # The longest wait between two polls of a running task (it backs off up to this).
    poll_ceiling: float = 15.0
    # A task is polled on its own (its thread shows each step) this long after it starts or
    # one of its buttons is clicked; after that the sweep follows it. And the shortest wait
    # between two sweeps (a thousand running tasks take longer: the sweep's share of the
    # request budget sets the pace).
    watch: float = 120.0
    sweep_floor: float = 5.0
    # A task this new may not be in Browser Use's list yet: the sweep leaves it alone.
    sweep_grace: float = 10.0
    # What Slack could not take (it was down): tried again after this, doubled each time, up
    # to the most.
    outbox_first: float = 2.0
    outbox_most: float = 60.0
    # The shortest wait between two sweeps for idle thread sessions.
    janitor_floor: float = 1.0
    # A start that would wait this long for the request budget tells the person it is queued,
    # this much later (so the notices don't compete with the burst's own acks).
    queue_notice_after: float = 3.0
    queue_notice_delay: float = 1.0
    # A login browser's live view, until it is up: read this often, this long at most. And the
    # wait before the profile's cookies are read again when its first read found none.
    live_url_poll: float = 1.0
    live_url_wait: float = 30.0
    cookie_reread: float = 1.0

    def scaled(self, factor: float) -> Timers:
        return Timers.model_validate(
            {
                name: tuple(v * factor for v in value)
                if isinstance(value, tuple)
                else value * factor
                for name, value in self.model_dump().items()
            }
        )


class Settings(BaseModel):
    """Everything the process needs, typed. Secrets are `SecretStr` so no repr shows them."""

    model_config = ConfigDict(frozen=True)

    # One workspace: its bot token and the Browser Use key it pays with. Many workspaces
    # (`many_workspaces`): neither; each workspace's are in the store, sealed.
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    browser_use_api_key: SecretStr | None = None
    # Many workspaces: the Slack app's OAuth credentials, where Slack sends the installer back,
    # and the keys that seal what the store keeps of each workspace (`bot.sealed`).
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_redirect_uri: str | None = None
    encryption_keys: SecretStr | None = None
    browser_use_api_url: str = DEFAULT_BROWSER_USE_API_URL
    slack_api_url: str = DEFAULT_SLACK_API_URL
    port: int = 3000
    browser_use_timeout: float = 30.0
    browser_use_requests_per_second: float = 20.0
    browser_use_webhook_secret: SecretStr | None = None
    # Admin defaults that the form and the flags start from.
    default_llm: str | None = None
    default_max_steps: int | None = None
    default_allowed_domains: tuple[str, ...] = ()
    log_level: str = "INFO"
    # "text" (a line of text) or "json" (one JSON object a line): `bot.logs`.
    log_format: str = "text"
    admin_user_ids: frozenset[str] = frozenset()
    # Access and limits an admin sets; empty means no limit.
    allowed_user_ids: frozenset[str] = frozenset()
    allowed_channel_ids: frozenset[str] = frozenset()
    max_steps_limit: int | None = None
    allowed_llms: tuple[str, ...] = ()
    forced_allowed_domains: tuple[str, ...] = ()
    domain_fence: tuple[str, ...] = ()
    max_running_tasks_per_user: int | None = None
    max_tasks_per_hour_per_user: int | None = None
    # Who may change a channel's defaults (`/browser-use settings`): "anyone" or "admins".
    channel_defaults_by: str = "anyone"
    # Who may give a raw browser profile ID (`--profile`): "admins" or "anyone". A profile
    # logged in as someone is used without a saved login's sharing rules, so admins by default.
    profile_ids_by: str = "admins"
    # Who may run a task in accurate mode (v4: slower, costs about twice as much): "anyone",
    # "admins" or "nobody"; and how many such tasks a person may start an hour.
    accurate_by: str = "anyone"
    # The engine a task runs on unless someone says otherwise: "v2" or "v4" (accurate mode).
    default_engine: str = "v2"
    max_accurate_tasks_per_hour_per_user: int | None = None
    # Approvals: the rules that send a task to an approver before it runs ("accurate", a
    # "shared_login" of someone else's, a "cost_over" cap above `approval_cost_over`), who
    # approves (a user group's ID; empty: the admins of ADMIN_USER_IDS), and for how long an
    # approval may wait.
    approval_for: tuple[str, ...] = ()
    approval_cost_over: float | None = None
    approvers_group: str | None = None
    approval_hours: float = 24.0
    # The most one task may cost (USD; None: no ceiling): a task without --max-cost gets it.
    max_cost_per_task: float | None = None
    # Spend caps (USD; None: none): what a person, a channel, the workspace may spend a UTC
    # day or month, counted from the costs their tasks reported.
    max_spend_per_person_day: float | None = None
    max_spend_per_person_month: float | None = None
    max_spend_per_channel_day: float | None = None
    max_spend_per_channel_month: float | None = None
    max_spend_per_workspace_day: float | None = None
    max_spend_per_workspace_month: float | None = None
    # Recurring tasks: how many each person may keep (None: no limit), and how often at most
    # one repeats (None: DEFAULT_MIN_REPEAT_MINUTES).
    max_schedules_per_person: int | None = None
    min_repeat_minutes: int | None = None
    # Which of ADMIN_SETTINGS the deployment set (they cannot be changed from Slack).
    from_deployment: frozenset[str] = frozenset()
    # A thread's browser session is closed after this long without a task.
    session_idle_minutes: float = 10.0
    # How long a login browser stays open for a person to log in (`/browser-use login`).
    login_minutes: float = 10.0
    # How often a running task is polled at first (it backs off from there), in seconds.
    poll_interval: float = 3.0
    # The store: SQLite in a file unless DATABASE_URL names a PostgreSQL (see bot/store/engine.py).
    database_url: SecretStr = SecretStr(DEFAULT_DATABASE_URL)  # may hold a password
    # A process that stops renewing its lease on a task is taken over after this many seconds.
    follow_lease_seconds: float = 30.0
    # A process's claim on posting a task's result lasts this long, renewed while the result
    # waits its turn in Slack's pace; a process that dies is taken over once it runs out.
    report_lease_seconds: float = 120.0
    # Tasks reported longer ago than this are deleted from the store (and with them Run again).
    retention_days: float = 30.0
    # `GET /metrics` is served to whoever sends this as a bearer token; unset, not at all.
    metrics_token: SecretStr | None = None
    # How often each process says it is alive (and re-takes its share of the request budget).
    heartbeat_seconds: float = 5.0
    # How often a running task's "is browsing…" status is sent again (Slack drops it after 120 s).
    status_refresh_seconds: float = 90.0
    # Slack's limits the app keeps, per workspace: `chat.update` and
    # `assistant.threads.setStatus` calls a minute (Tier 3), and posts a minute in one channel.
    slack_updates_per_minute: float = 50.0
    slack_posts_per_minute: float = 60.0
    # A watched task's steps streamed into its thread (`chat.startStream`), or, off, shown by
    # editing its status message.
    slack_streaming: bool = True
    timers: Timers = Timers()

    @property
    def repeat_floor(self) -> int:
        """The shortest interval a recurring task may have, in minutes."""
        return self.min_repeat_minutes or DEFAULT_MIN_REPEAT_MINUTES

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def many_workspaces(self) -> bool:
        """Installed with "Add to Slack" in any number of workspaces (`SLACK_CLIENT_ID`)."""
        return self.slack_client_id is not None


def _read_environment(env: Mapping[str, str] | None, dotenv_path: Path | None) -> dict[str, str]:
    """The real environment wins over `.env`; empty values count as unset."""
    merged: dict[str, str] = {}
    path = dotenv_path if dotenv_path is not None else Path.cwd() / ".env"
    if path.is_file():
        merged.update({k: v for k, v in dotenv_values(path).items() if v is not None})
    merged.update(os.environ if env is None else env)
    return {k: v.strip() for k, v in merged.items() if v and v.strip()}


def _logging(values: Mapping[str, str], problems: list[str]) -> tuple[str, str]:
    """(LOG_LEVEL, LOG_FORMAT), each checked; a bad one is a problem, and the default stands."""
    level = values.get("LOG_LEVEL", "INFO").upper()
    if level not in LEVELS:
        problems.append(f"LOG_LEVEL must be one of {', '.join(LEVELS)}")
        level = "INFO"
    fmt = values.get("LOG_FORMAT", "text").lower()
    if fmt not in FORMATS:
        problems.append(f"LOG_FORMAT must be {' or '.join(FORMATS)}")
        fmt = "text"
    return level, fmt


def _refuse(problems: list[str]) -> None:
    if problems:
        raise ConfigError(
            "Cannot start Browser Use for Slack:\n"
            + "\n".join(f"  - {p}" for p in problems)
            + "\nSet them in the environment or in .env (see .env.example)."
        )


def load_store_settings(
    env: Mapping[str, str] | None = None, dotenv_path: Path | None = None
) -> tuple[str, str, str]:
    """(DATABASE_URL, LOG_LEVEL, LOG_FORMAT): all `python -m bot migrate` (a release phase, with
    only the database to reach) needs, or `ConfigError`."""
    values = _read_environment(env, dotenv_path)
    problems: list[str] = []
    level, fmt = _logging(values, problems)
    try:
        url = database_url(values.get("DATABASE_URL"))
    except ValueError as exc:
        problems.append(str(exc))
    _refuse(problems)
    return url, level, fmt


def load_secrets_settings(
    env: Mapping[str, str] | None = None, dotenv_path: Path | None = None
) -> tuple[str, str]:
    """(DATABASE_URL, ENCRYPTION_KEYS): all `python -m bot rekey` needs, or `ConfigError`."""
    values = _read_environment(env, dotenv_path)
    if "ENCRYPTION_KEYS" not in values:
        raise ConfigError("ENCRYPTION_KEYS is not set: the keys, newest first, comma-separated")
    try:
        return database_url(values.get("DATABASE_URL")), values["ENCRYPTION_KEYS"]
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


# Many workspaces: what must be set, and what must not (a deployment-wide token or key would act
# for, or be paid by, every workspace).
MANY_NEEDS = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_SIGNING_SECRET")
MANY_REFUSES = {
    "SLACK_BOT_TOKEN": "each workspace's bot token comes from its install",
    "SLACK_APP_TOKEN": "Socket Mode serves one workspace; many workspaces are served over HTTP",
    "BROWSER_USE_API_KEY": "it would pay for every workspace; each connects its own in App Home",
    "BROWSER_USE_WEBHOOK_SECRET": "webhooks are set per Browser Use project; the app follows "
    "each workspace's tasks itself",
}


def _mode_problems(values: Mapping[str, str]) -> list[str]:
    """Many workspaces (`SLACK_CLIENT_ID`): what is missing or must go."""
    problems = [f"{name} is not set (many workspaces)" for name in MANY_NEEDS if name not in values]
    redirect = values.get("SLACK_REDIRECT_URI")
    if redirect is None:
        problems.append(
            "SLACK_REDIRECT_URI is not set (many workspaces): "
            "https://<your host>/slack/oauth_redirect"
        )
    elif not redirect.startswith(("https://", "http://localhost", "http://127.0.0.1")):
        problems.append("SLACK_REDIRECT_URI must be an https:// URL (Slack refuses others)")
    if "ENCRYPTION_KEYS" not in values:
        problems.append(
            "ENCRYPTION_KEYS is not set (many workspaces): make one with `python -m bot keygen`"
        )
    else:
        try:
            Sealer(values["ENCRYPTION_KEYS"])
        except SealError as exc:
            problems.append(f"ENCRYPTION_KEYS: {exc}")
    problems += [
        f"{name} must not be set with many workspaces: {why}"
        for name, why in MANY_REFUSES.items()
        if name in values
    ]
    return problems


def _ids(raw: str) -> list[str]:
    return [part.strip() for part in raw.replace(" ", ",").split(",") if part.strip()]


def load_settings(
    env: Mapping[str, str] | None = None, dotenv_path: Path | None = None
) -> Settings:
    """Build `Settings`, or raise `ConfigError` naming every missing or malformed variable."""
    values = _read_environment(env, dotenv_path)
    if "FORCED_ALLOWED_DOMAINS" in values:  # the floor's old name
        values.setdefault("ALWAYS_ALLOWED_DOMAINS", values.pop("FORCED_ALLOWED_DOMAINS"))
    many = "SLACK_CLIENT_ID" in values or "SLACK_CLIENT_SECRET" in values
    problems = _mode_problems(values) if many else []
    if not many:
        missing = [n for n in ("SLACK_BOT_TOKEN", "BROWSER_USE_API_KEY") if n not in values]
        # Socket Mode needs the app-level token instead of request signatures.
        if "SLACK_APP_TOKEN" not in values and "SLACK_SIGNING_SECRET" not in values:
            missing.append("SLACK_SIGNING_SECRET")
        problems = [f"{name} is not set" for name in missing]

    def number(name: str, low: float, high: float, kind: type[float] = float) -> float | None:
        raw = values.get(name)
        if raw is None:
            return None
        try:
            value = kind(raw)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            what = "whole number" if kind is int else "number"
            problems.append(f"{name} must be a {what} from {low:g} to {high:g}")
            return None
        return value

    def integer(name: str, low: int, high: int) -> int | None:
        value = number(name, low, high, int)
        return None if value is None else int(value)

    port = integer("PORT", 1, 65535)
    poll_interval = number("POLL_INTERVAL_SECONDS", 0.1, 60)
    session_idle = number("SESSION_IDLE_MINUTES", 0.01, 1440)
    login_minutes = number("LOGIN_MINUTES", 0.01, 240)
    timeout = number("BROWSER_USE_TIMEOUT", 0.1, 300)
    timer_scale = number("TIMER_SCALE", 0.001, 1)
    rate = integer("BROWSER_USE_REQUESTS_PER_SECOND", 1, 1000)
    default_max_steps = integer("DEFAULT_MAX_STEPS", 1, 10_000)
    if "DEFAULT_LLM" in values and values["DEFAULT_LLM"] not in KNOWN_LLMS:
        problems.append(f"DEFAULT_LLM {values['DEFAULT_LLM']!r} is not a model Browser Use lists")
    allowed_llms = _ids(values.get("ALLOWED_LLMS", ""))
    if unknown := [m for m in allowed_llms if m not in KNOWN_LLMS]:
        problems.append(f"ALLOWED_LLMS names models Browser Use does not list: {unknown}")
    if allowed_llms and values.get("DEFAULT_LLM", allowed_llms[0]) not in allowed_llms:
        problems.append("DEFAULT_LLM must be one of ALLOWED_LLMS")
    domain_lists = {}
    for name in ("DEFAULT_ALLOWED_DOMAINS", "ALWAYS_ALLOWED_DOMAINS", "DOMAIN_FENCE"):
        domain_lists[name] = _ids(values.get(name, ""))
        if any(not is_domain_pattern(d) for d in domain_lists[name]):
            problems.append(f"{name} must be domains like example.com,*.example.com")
    max_steps_limit = integer("MAX_STEPS_LIMIT", 1, 10_000)
    if max_steps_limit and default_max_steps and default_max_steps > max_steps_limit:
        problems.append("DEFAULT_MAX_STEPS must not be above MAX_STEPS_LIMIT")
    max_running = integer("MAX_RUNNING_TASKS_PER_USER", 1, 1000)
    max_per_hour = integer("MAX_TASKS_PER_HOUR_PER_USER", 1, 10_000)
    max_schedules = integer("MAX_SCHEDULES_PER_PERSON", 1, 1000)
    min_repeat = integer("MIN_REPEAT_MINUTES", 1, 1440)
    channel_defaults_by = values.get("CHANNEL_DEFAULTS_BY", "anyone").lower()
    if channel_defaults_by not in ("anyone", "admins"):
        problems.append("CHANNEL_DEFAULTS_BY must be anyone or admins")
    profile_ids_by = values.get("PROFILE_IDS_BY", "admins").lower()
    if profile_ids_by not in ("anyone", "admins"):
        problems.append("PROFILE_IDS_BY must be admins or anyone")
    accurate_by = values.get("ACCURATE_BY", "anyone").lower()
    if accurate_by not in ("anyone", "admins", "nobody"):
        problems.append("ACCURATE_BY must be anyone, admins or nobody")
    max_accurate = integer("MAX_ACCURATE_TASKS_PER_HOUR_PER_USER", 1, 10_000)
    caps = {key: number(ADMIN_SETTINGS[key], 0.01, 1_000_000) for key in SPEND_CAPS}
    max_cost_per_task = number("MAX_COST_PER_TASK", 0.01, 1000)
    approval_for = tuple(_ids(values.get("APPROVAL_FOR", "").lower()))
    if unknown_rules := [r for r in approval_for if r not in APPROVAL_RULES]:
        problems.append(
            f"APPROVAL_FOR names rules it does not know: {unknown_rules}; it takes "
            + ", ".join(APPROVAL_RULES)
        )
    approval_cost_over = number("APPROVAL_COST_OVER", 0.01, 1000)
    approval_hours = number("APPROVAL_HOURS", 0.1, 24 * 30)
    default_engine = values.get("DEFAULT_ENGINE", "v2").lower()
    if default_engine not in ("v2", "v4"):
        problems.append("DEFAULT_ENGINE must be v2 or v4")
    elif default_engine == "v4" and (
        domain_lists["DEFAULT_ALLOWED_DOMAINS"]
        or domain_lists["ALWAYS_ALLOWED_DOMAINS"]
        or domain_lists["DOMAIN_FENCE"]
    ):
        problems.append(
            "DEFAULT_ENGINE=v4 (accurate mode) cannot keep tasks to allowed domains: leave "
            "DEFAULT_ALLOWED_DOMAINS, ALWAYS_ALLOWED_DOMAINS and DOMAIN_FENCE empty, or the "
            "engine v2"
        )
    log_level, log_format = _logging(values, problems)
    follow_lease = number("FOLLOW_LEASE_SECONDS", 1, 600)
    report_lease = number("REPORT_LEASE_SECONDS", 1, 3600)
    retention_days = number("RETENTION_DAYS", 1, 3650)
    if "METRICS_TOKEN" in values and len(values["METRICS_TOKEN"]) < 16:
        problems.append("METRICS_TOKEN must be at least 16 characters (a random string)")
    heartbeat = number("HEARTBEAT_SECONDS", 0.1, 60)
    status_refresh = number("STATUS_REFRESH_SECONDS", 0.5, 110)
    updates_per_minute = number("SLACK_UPDATES_PER_MINUTE", 1, 10_000)
    posts_per_minute = number("SLACK_POSTS_PER_MINUTE", 1, 10_000)
    streaming = values.get("SLACK_STREAMING", "on").lower()
    if streaming not in ("on", "off"):
        problems.append("SLACK_STREAMING must be on or off")
    try:
        database = database_url(values.get("DATABASE_URL"))
    except ValueError as exc:
        problems.append(str(exc))
        database = DEFAULT_DATABASE_URL
    for name in ("BROWSER_USE_API_URL", "SLACK_API_URL"):
        if name in values and not values[name].startswith(("http://", "https://")):
            problems.append(f"{name} must start with http:// or https://")

    _refuse(problems)

    def secret(name: str) -> SecretStr | None:
        return SecretStr(values[name]) if name in values else None

    slack_api_url = values.get("SLACK_API_URL", DEFAULT_SLACK_API_URL)
    return Settings(
        slack_bot_token=secret("SLACK_BOT_TOKEN"),
        slack_signing_secret=secret("SLACK_SIGNING_SECRET"),
        slack_app_token=secret("SLACK_APP_TOKEN"),
        browser_use_api_key=secret("BROWSER_USE_API_KEY"),
        slack_client_id=values.get("SLACK_CLIENT_ID"),
        slack_client_secret=secret("SLACK_CLIENT_SECRET"),
        slack_redirect_uri=values.get("SLACK_REDIRECT_URI"),
        encryption_keys=secret("ENCRYPTION_KEYS"),
        browser_use_api_url=values.get("BROWSER_USE_API_URL", DEFAULT_BROWSER_USE_API_URL).rstrip(
            "/"
        ),
        # slack_sdk joins method names onto the base URL, so it must end with a slash.
        slack_api_url=slack_api_url if slack_api_url.endswith("/") else slack_api_url + "/",
        port=port or 3000,
        browser_use_timeout=float(timeout or 30),
        browser_use_requests_per_second=float(rate or 20),
        browser_use_webhook_secret=secret("BROWSER_USE_WEBHOOK_SECRET"),
        default_llm=values.get("DEFAULT_LLM") or (allowed_llms[0] if allowed_llms else None),
        default_max_steps=default_max_steps,
        default_allowed_domains=tuple(domain_lists["DEFAULT_ALLOWED_DOMAINS"]),
        log_level=log_level,
        log_format=log_format,
        admin_user_ids=frozenset(_ids(values.get("ADMIN_USER_IDS", ""))),
        allowed_user_ids=frozenset(_ids(values.get("ALLOWED_USER_IDS", ""))),
        allowed_channel_ids=frozenset(_ids(values.get("ALLOWED_CHANNEL_IDS", ""))),
        max_steps_limit=max_steps_limit,
        allowed_llms=tuple(allowed_llms),
        forced_allowed_domains=tuple(domain_lists["ALWAYS_ALLOWED_DOMAINS"]),
        domain_fence=tuple(domain_lists["DOMAIN_FENCE"]),
        max_running_tasks_per_user=max_running,
        max_tasks_per_hour_per_user=max_per_hour,
        poll_interval=poll_interval or 3.0,
        session_idle_minutes=session_idle or 10.0,
        login_minutes=login_minutes or 10.0,
        database_url=SecretStr(database),
        channel_defaults_by=channel_defaults_by,
        profile_ids_by=profile_ids_by,
        accurate_by=accurate_by,
        default_engine=default_engine,
        max_accurate_tasks_per_hour_per_user=max_accurate,
        **caps,
        max_cost_per_task=max_cost_per_task,
        approval_for=approval_for,
        approval_cost_over=approval_cost_over,
        approvers_group=values.get("APPROVERS_GROUP"),
        approval_hours=approval_hours or 24.0,
        max_schedules_per_person=max_schedules,
        min_repeat_minutes=min_repeat,
        from_deployment=frozenset(k for k, name in ADMIN_SETTINGS.items() if name in values),
        follow_lease_seconds=follow_lease or 30.0,
        report_lease_seconds=report_lease or 120.0,
        retention_days=retention_days or 30.0,
        metrics_token=secret("METRICS_TOKEN"),
        heartbeat_seconds=heartbeat or 5.0,
        status_refresh_seconds=status_refresh or 90.0,
        slack_updates_per_minute=updates_per_minute or 50.0,
        slack_posts_per_minute=posts_per_minute or 60.0,
        slack_streaming=streaming != "off",
        timers=Timers().scaled(timer_scale or 1.0),
    )
