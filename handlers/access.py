"""Who may start tasks where, and the limits an admin set: each refusal says why, politely."""

from __future__ import annotations

import logging
import time

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import SPEND_CAPS, Settings
from bot.deps import Deps
from bot.models import ACCURATE, DEFAULT_LLM, CreateTaskRequest
from bot.store import Login
from handlers.errors import UserInputError
from handlers.slack_text import escape, usd

log = logging.getLogger(__name__)

NOT_ALLOWED_USER = (
    "Sorry, you can't start browser tasks in this workspace. If you need to, ask an admin to "
    "add you."
)
NOT_ALLOWED_CHANNEL = (
    "Browser tasks can't be started in this channel. Ask an admin which channels they're "
    "allowed in."
)
API_DEFAULT_MAX_STEPS = 100


def inside(domain: str, fence: tuple[str, ...]) -> bool:
    """Whether every site `domain` allows is one the fence allows: the same domain, or (a
    fence's `*.x`) `x` itself, a subdomain of it, or a narrower `*.` pattern under it."""
    domain = domain.lower()
    for allowed in (f.lower() for f in fence):
        if domain == allowed:
            return True
        if allowed.startswith("*."):
            base = allowed[2:]
            bare = domain[2:] if domain.startswith("*.") else domain
            if bare == base or bare.endswith("." + base):
                return True
    return False


def outside_fence(domains: list[str], settings: Settings) -> list[str]:
    """Those of `domains` the admin's fence does not hold (none without a fence)."""
    fence = settings.domain_fence
    return [d for d in domains if not inside(d, fence)] if fence else []


def check_access(settings: Settings, user_id: str, channel_id: str | None) -> None:
    """Raise `UserInputError` unless `user_id` may start a task in `channel_id` (admins may)."""
    if user_id in settings.admin_user_ids:
        return
    if settings.allowed_user_ids and user_id not in settings.allowed_user_ids:
        raise UserInputError(NOT_ALLOWED_USER)
    if settings.allowed_channel_ids and channel_id not in settings.allowed_channel_ids:
        raise UserInputError(NOT_ALLOWED_CHANNEL, field="channel")


def apply_policy(
    request: CreateTaskRequest, settings: Settings, *, approved: bool = False
) -> CreateTaskRequest:
    """The request within the admin's limits: models, max steps, and the domains every task
    gets. Domains outside the fence are refused, unless an approver may say yes to them
    (`APPROVAL_FOR=outside_fence`: the start asks, `handlers.flows.approvals`) or did
    (`approved`)."""
    fields = {name: getattr(request, name) for name in request.model_fields_set}
    allowed = settings.allowed_llms
    if allowed:
        for name, what in (("llm", "model"), ("judge_llm", "judge model")):
            default = DEFAULT_LLM if name == "llm" and fields.get("engine") != ACCURATE else None
            chosen = fields.get(name) or default
            if chosen is not None and chosen not in allowed:
                raise UserInputError(
                    f"The {what} `{chosen}` is not allowed here. Allowed: "
                    + ", ".join(f"`{m}`" for m in allowed),
                    field=name,
                )
    accurate = fields.get("engine") == ACCURATE
    if accurate and (settings.forced_allowed_domains or settings.domain_fence):
        raise UserInputError(
            "This workspace keeps every task to some domains, and accurate mode cannot: run it "
            "without `--accurate`.",
            field="accurate",
        )
    ceiling = settings.max_cost_per_task
    if ceiling is not None:
        asked = fields.get("max_cost_usd")
        if asked is not None and asked > ceiling:
            raise UserInputError(
                f"A task may cost at most {usd(ceiling)} here. Ask for that or less.",
                field="max_cost_usd",
            )
        fields["max_cost_usd"] = asked if asked is not None else ceiling
    limit = settings.max_steps_limit
    if limit is not None and not accurate:
        steps = fields.get("max_steps")
        if steps is not None and steps > limit:
            raise UserInputError(f"Max steps is limited to {limit} here.", field="max_steps")
        if steps is None and limit < API_DEFAULT_MAX_STEPS:
            fields["max_steps"] = limit
    if settings.domain_fence:
        # A fence: what a task asks for (or its defaults) must lie inside it; nothing asked,
        # the fence itself.
        asked = fields.get("allowed_domains") or []
        outside = outside_fence(asked, settings)
        if outside and not (approved or "outside_fence" in settings.approval_for):
            raise UserInputError(
                f"This workspace keeps every task to {', '.join(settings.domain_fence)}, and "
                f"{', '.join(outside)} is outside that. Ask for those domains or fewer, or ask "
                "an admin.",
                field="allowed_domains",
            )
        fields["allowed_domains"] = list(asked or settings.domain_fence)
    if settings.forced_allowed_domains:
        # A floor: these domains are added to every task's, whatever it asks.
        domains = list(
            dict.fromkeys(
                [*(fields.get("allowed_domains") or []), *settings.forced_allowed_domains]
            )
        )
        fields["allowed_domains"] = domains
    return CreateTaskRequest.model_validate(fields)


def _limits(deps: Deps, user_id: str) -> tuple[int | None, int | None] | None:
    """(running, an hour) for `user_id`; None when neither limits them (admins never are)."""
    settings = deps.policy
    running, hourly = settings.max_running_tasks_per_user, settings.max_tasks_per_hour_per_user
    if user_id in settings.admin_user_ids or (running is None and hourly is None):
        return None
    return running, hourly


def _over(limits: tuple[int | None, int | None], running: int, recent: int) -> None:
    running_limit, hourly_limit = limits
    if running_limit is not None and running >= running_limit:
        raise UserInputError(
            f"You already have {running} task{'s' if running != 1 else ''} running, and "
            f"the limit here is {running_limit}. Wait for one to finish, or stop one."
        )
    if hourly_limit is not None and recent >= hourly_limit:
        raise UserInputError(
            f"You've started {recent} tasks in the last hour, and the limit here is "
            f"{hourly_limit}. Try again a little later."
        )


async def check_quota(deps: Deps, user_id: str) -> None:
    """Per-person limits, counted in the store for both engines: a look before a browser is
    opened for a task that could not start (the start itself takes the slot: `take_slot`)."""
    limits = _limits(deps, user_id)
    if limits is not None:
        _over(limits, *await deps.store.slots_in_use(user_id))


def spend_caps(settings: Settings) -> dict[str, float]:
    """The spend caps in force, by setting name (`SPEND_CAPS`), in US dollars."""
    caps = {key: getattr(settings, key) for key in SPEND_CAPS}
    return {key: float(cap) for key, cap in caps.items() if cap is not None}


CAP_WHO = {"person": "you", "channel": "this channel", "workspace": "this workspace"}


def over_cap(name: str, cap: float, spent: float) -> UserInputError:
    """Whose cap, what is left of it (nothing), and when it resets."""
    who, span = name.removeprefix("max_spend_per_").split("_")
    resets = "at midnight UTC" if span == "day" else "on the 1st of the month (UTC)"
    return UserInputError(
        f"{CAP_WHO[who].capitalize()} spent {usd(spent)} of a {usd(cap)} cap this {span}, so "
        f"nothing was started. It resets {resets}; an admin can raise it in my Home tab."
    )


async def take_slot(deps: Deps, user_id: str, engine: str, channel: str | None) -> int:
    """A slot for the task `user_id` starts now in `channel`, taken atomically across
    processes (two starts at the same instant cannot both take the last one) and only under
    every spend cap (admins too: a cap is money). Every task has one, limited or not: its cost
    is kept on it, for the caps and App Home's spend. Else a `UserInputError` saying which
    limit or whose cap, and nothing is started."""
    limits = _limits(deps, user_id)
    caps = spend_caps(deps.policy)
    running, hourly = limits or (None, None)
    slot = await deps.store.take_slot(
        user_id, engine, running=running, hourly=hourly, channel=channel, caps=caps
    )
    if slot is None:
        if limits is not None:
            _over(limits, *await deps.store.slots_in_use(user_id))
        spent = await deps.store.spent(user_id, channel)
        for name, cap in caps.items():
            if spent[name] >= cap:
                raise over_cap(name, cap, spent[name])
        # A slot came free between the two reads: still none was taken for this start.
        raise UserInputError("You're at the limit here. Try again in a moment.")
    return slot


PROFILE_IDS_FOR_ADMINS = (
    "Only admins can give a browser profile ID here (it would act as whoever logged in to it). "
    "Use a saved login instead (`--login`, `/browser-use logins`), or ask an admin."
)


async def check_profile_id(deps: Deps, client: AsyncWebClient, user_id: str, asked: bool) -> None:
    """A person who gave a raw profile ID (`asked`) may, if the admin allows anyone to or they
    are an admin; else a `UserInputError` pointing to saved logins."""
    restricted = asked and deps.policy.profile_ids_by != "anyone"
    if restricted and not await is_admin(deps, client, user_id):
        raise UserInputError(PROFILE_IDS_FOR_ADMINS, field="profile_id")


async def check_accurate(deps: Deps, client: AsyncWebClient, user_id: str) -> None:
    """Accurate mode's own rules (it costs about twice as much): who may use it, and how many
    such tasks a person may start an hour, counted in the store (v4 runs carry no metadata to
    count them by at Browser Use). Admins are never limited."""
    policy = deps.policy
    if policy.accurate_by == "nobody":
        raise UserInputError(
            "Accurate mode is turned off here. Run the task without `--accurate`.",
            field="accurate",
        )
    limit = policy.max_accurate_tasks_per_hour_per_user
    if policy.accurate_by == "anyone" and limit is None:
        return
    if await is_admin(deps, client, user_id):
        return
    if policy.accurate_by == "admins":
        raise UserInputError(
            "Only admins may use accurate mode here. Run the task without `--accurate`, or ask "
            "an admin.",
            field="accurate",
        )
    if limit is not None:
        started = await deps.store.count_tasks(user_id, engine=ACCURATE, since=time.time() - 3600)
        if started >= limit:
            raise UserInputError(
                f"You've started {started} accurate-mode task{'s' if started != 1 else ''} in "
                f"the last hour, and the limit here is {limit}. Run it without `--accurate`, or "
                "try again a little later.",
                field="accurate",
            )


def may_use_login(login: Login, person: str | None, channel_id: str | None) -> bool:
    """Its owner anywhere; others where it is shared. `person` None: nobody in particular (a
    Workflow step that Slack gave no user for), who may use only what is shared where it runs."""
    if person is not None and login.owner == person:
        return True
    return login.shared == "workspace" or (
        login.shared == "channels" and channel_id in login.channels
    )


def _profile_of(request: CreateTaskRequest) -> str | None:
    settings = request.session_settings
    return str(settings.profile_id) if settings and settings.profile_id else None


async def login_in_use(deps: Deps, request: CreateTaskRequest) -> Login | None:
    """The saved login a request's browser would act as: the one its profile belongs to, or the
    one the kept browser it runs in (its session) was opened on."""
    profile = _profile_of(request)
    if profile is None and request.session_id is not None:
        profile = await deps.store.session_profile(str(request.session_id))
    return await deps.store.login_with_profile(profile) if profile else None


async def login_of_task(deps: Deps, task_id: str, session_id: str) -> Login | None:
    """The saved login a task's browser acts as: its thread's kept browser's, or its own."""
    profile = await deps.store.session_profile(session_id)
    if profile is None:
        record = await deps.store.task(task_id)
        if record is not None and record.request is not None:
            profile = _profile_of(CreateTaskRequest.from_kept(record.request))
    return await deps.store.login_with_profile(profile) if profile else None


async def check_browser_of_task(deps: Deps, user_id: str, task_id: str, session_id: str) -> None:
    """Live view and Take over of a browser opened on a saved login: only for those who may use
    that login where the task runs (its owner, or where it is shared), admins included: a live
    view is the logged-in browser itself."""
    login = await login_of_task(deps, task_id, session_id)
    if login is None:
        return
    record = await deps.store.task(task_id)
    if not may_use_login(login, user_id, record.channel if record else None):
        log.info("login.refused login_id=%s user=%s what=browser", login.id, user_id)
        raise login_refused(login, "This browser")


def login_refused(login: Login, doing: str) -> UserInputError:
    """Why a person may not use someone's login here (mrkdwn: the owner mentioned by ID)."""
    return UserInputError(
        f"{doing} uses <@{login.owner}>'s saved login “{escape(login.name)}”, which is not "
        "shared with you here, so nothing was started or opened. Its owner can share it from "
        "`/browser-use logins`; or start a browser of your own (`--new` in a thread).",
        mrkdwn=True,
    )


async def check_login_use(
    deps: Deps, person: str | None, channel_id: str | None, request: CreateTaskRequest
) -> Login | None:
    """At every use of a saved login (a new task, a follow-up in a thread's browser, Run again,
    a recurring run, a Workflow step): the person acting now may use it here, whatever was true
    when it was first named; else a `UserInputError` saying whose it is."""
    login = await login_in_use(deps, request)
    if login is not None and not may_use_login(login, person, channel_id):
        log.info("login.refused login_id=%s user=%s channel=%s", login.id, person, channel_id)
        raise login_refused(login, "This task")
    return login


def asks_profile(request: CreateTaskRequest) -> bool:
    """Whether the request gives a browser profile ID of its own."""
    settings = request.session_settings
    return settings is not None and "profile_id" in settings.model_fields_set


async def is_admin(deps: Deps, client: AsyncWebClient, user_id: str, *, org: bool = False) -> bool:
    """`ADMIN_USER_IDS`, or an admin or owner of the workspace (as Slack says). `org`: what
    belongs to the whole install (its Browser Use key, its settings); in an org-wide install
    only the organisation's admins and owners (`enterprise_user` in `users.info`) govern that,
    not any one workspace's."""
    if user_id in deps.settings.admin_user_ids:
        return True
    try:
        user = (await client.users_info(user=user_id)).get("user") or {}
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("slack.users_info failed: %s", exc)
        return False
    if org and deps.org_wide:
        enterprise = user.get("enterprise_user")
        enterprise = enterprise if isinstance(enterprise, dict) else {}
        return bool(enterprise.get("is_admin") or enterprise.get("is_owner"))
    return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
