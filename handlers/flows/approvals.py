"""Tasks that wait for a yes (`APPROVAL_FOR`): accurate mode, someone else's saved login, a cost
cap above `APPROVAL_COST_OVER`, domains outside the admin's fence. The request is kept, the
approvers (a user group, else the admins of `ADMIN_USER_IDS`) each get it in a DM with Approve
and Deny, and the first decision wins across processes; an approved task runs once, as the one
who asked, with what they asked.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.models import CreateTaskRequest
from bot.store import Approval, AuditEvent, Login
from handlers.access import apply_policy, is_admin, outside_fence
from handlers.errors import UserInputError, failure_text
from handlers.slack_io import SLACK_ERRORS, post, tell_clicker
from handlers.slack_text import escape, usd
from handlers.views import messages
from handlers.views.approvals import approval_request

if TYPE_CHECKING:
    from handlers.flows.submit import Origin

log = logging.getLogger(__name__)

# What a kept origin takes back (the rest are a Workflow step's or a recurring run's, which
# cannot wait for a yes).
ORIGIN_FIELDS = (
    "team_id",
    "channel_id",
    "user_id",
    "thread_ts",
    "response_url",
    "announce",
    "react_ts",
    "thread_session",
    "defaults_note",
    "login_note",
    "keeps_session",
)


def needs_approval(
    deps: Deps, request: CreateTaskRequest, origin: Origin, login: Login | None
) -> list[str]:
    """Why this task waits for a yes (mrkdwn), by the rules an admin chose; [] when it does not."""
    rules, reasons = deps.policy.approval_for, []
    if origin.approved or not rules:
        return []
    if "accurate" in rules and request.accurate:
        reasons.append("it runs in accurate mode (about twice the cost)")
    if "shared_login" in rules and login is not None and login.owner != origin.acting:
        reasons.append(f"it uses <@{login.owner}>'s saved login “{escape(login.name)}”")
    if "outside_fence" in rules and (
        wider := outside_fence(list(request.allowed_domains or []), deps.policy)
    ):
        reasons.append(f"it asks for {escape(', '.join(wider))}, outside this workspace's domains")
    over = deps.policy.approval_cost_over
    cap = request.max_cost_usd
    if "cost_over" in rules and over is not None and (cap is None or cap > over):
        reasons.append(f"it may cost more than {usd(over)}")
    return reasons


async def approvers(deps: Deps, client: AsyncWebClient) -> list[str]:
    """Who may approve: the members of the admin's user group, else `ADMIN_USER_IDS`."""
    group = deps.policy.approvers_group
    if group:
        try:
            return list((await client.usergroups_users_list(usergroup=group)).get("users") or [])
        except SLACK_ERRORS as exc:
            log.warning("slack.usergroups_users_list failed: %s", exc)
            return []
    return sorted(deps.settings.admin_user_ids)


async def ask(
    deps: Deps,
    client: AsyncWebClient,
    request: CreateTaskRequest,
    origin: Origin,
    reasons: list[str],
) -> str:
    """Keep the task and ask the approvers; what to tell the one who asked (mrkdwn)."""
    why = "; ".join(reasons)
    if origin.execution_id or origin.schedule_id is not None:
        return (
            f"This task needs an approval ({why}), which a Workflow step or a recurring task "
            "cannot wait for, so nothing was started."
        )
    if request.secrets:
        return (
            f"This task needs an approval ({why}), and I keep no secrets while it waits: run "
            "it without secrets, or ask an admin."
        )
    deciders = [a for a in await approvers(deps, client) if a != origin.user_id]
    if not deciders:
        return (
            f"This task needs an approval ({why}), and nobody here may give one, so nothing "
            "was started. An admin can name the approvers."
        )
    hours = deps.policy.approval_hours
    waiting = f":hourglass: Waiting for a yes: {'; '.join(reasons)}."
    if origin.announce and not origin.thread_ts:
        # The task's thread starts now, saying it waits: its IDs land there once approved.
        parent = messages.parent_message(
            origin.user_id, request, waiting, channel_defaults=origin.defaults_note,
            login=origin.login_note,
        )  # fmt: skip
        ts, _ = await post(client, origin.channel_id, parent)
        if ts is not None:
            origin = replace(origin, thread_ts=ts, announce=False)
    elif origin.thread_ts:
        await post(client, origin.channel_id, messages.notice(waiting), origin.thread_ts)
    kept = {name: getattr(origin, name) for name in ORIGIN_FIELDS}
    approval = Approval(
        asker=origin.user_id,
        channel=origin.channel_id,
        request=request.to_kept(),
        origin=json.dumps(kept),
        reason="; ".join(reasons),
        expires_at=deps.store.clock() + hours * 3600,
        team=origin.team_id,
    )
    approval_id = await deps.store.add_approval(approval)
    message = approval_request(
        approval_id, origin.user_id, origin.channel_id, request.task, approval.reason, hours
    )
    for decider in deciders:
        await post(client, decider, message)
    await deps.store.record(
        AuditEvent("approval.asked", actor=origin.user_id, channel=origin.channel_id,
                   detail=approval.reason, team=origin.team_id)
    )  # fmt: skip
    log.info("approval.asked id=%d user=%s", approval_id, origin.user_id)
    return (
        f":hourglass: Your task needs a yes first: {approval.reason}. I asked the approvers; "
        "its thread says when one decides."
        if origin.thread_ts
        else f":hourglass: Your task needs a yes first: {approval.reason}. I asked the "
        "approvers, and I'll tell you when one decides."
    )


async def decide(deps: Deps, client: AsyncWebClient, body: dict[str, Any], approved: bool) -> None:
    """Approve or Deny, clicked in an approver's DM: once, by an approver who did not ask."""
    from handlers.flows.submit import NotStarted, Origin, start_task

    clicker = str(body["user"]["id"])
    approval_id = int(body["actions"][0]["value"])
    approval = await deps.store.approval(approval_id)
    if approval is None:
        await tell_clicker(client, body, "That request is not here any more.")
        return
    if clicker == approval.asker:
        await tell_clicker(client, body, "You can't approve or deny your own task.")
        return
    if clicker not in await approvers(deps, client) and not await is_admin(deps, client, clicker):
        await tell_clicker(client, body, "Only the approvers can decide on this task.")
        return
    if not await deps.store.decide(approval_id, clicker, approved):
        now = await deps.store.approval(approval_id)
        state = now.state if now else "gone"
        said = "It has expired." if state == "pending" else f"It was {state} already."
        await tell_clicker(client, body, said)
        return
    action = "approval.approved" if approved else "approval.denied"
    await deps.store.record(
        AuditEvent(action, actor=clicker, channel=approval.channel, detail=approval.reason,
                   team=approval.team)
    )  # fmt: skip
    log.info("%s id=%d by=%s", action, approval_id, clicker)
    asker = approval.asker
    kept = json.loads(approval.origin)
    thread = kept.get("thread_ts")

    async def tell_asker(text: str) -> None:
        """In the task's thread when it has one (the asker is mentioned), else in a DM."""
        where = (approval.channel, thread) if thread else (asker, None)
        mention = f"<@{asker}> " if thread else ""
        await post(client, where[0], messages.notice(mention + text), where[1])

    if not approved:
        await tell_asker(f"<@{clicker}> did not approve this task, so it did not run.")
        await tell_clicker(client, body, f"Denied: <@{asker}> is told.")
        return
    kept["defaults_note"] = tuple(kept.get("defaults_note") or ())
    origin = replace(Origin(**kept), approved=True)
    try:
        kept_request = CreateTaskRequest.from_kept(approval.request)
        request = apply_policy(kept_request, deps.policy, approved=True)
    except UserInputError as exc:
        await tell_asker(f":warning: {failure_text(exc)}")
        await deps.store.approval_started(approval_id, None)
        return
    await tell_clicker(client, body, f"Approved: <@{asker}>'s task runs now.")
    await tell_asker(f"<@{clicker}> approved this task; it runs now.")
    started = await start_task(deps, client, request, origin)
    task_id = None if isinstance(started, NotStarted) else started.id
    await deps.store.approval_started(approval_id, task_id)
