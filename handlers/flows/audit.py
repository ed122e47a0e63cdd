"""`/browser-use audit`: the audit trail, for the workspace's admins alone, as a CSV file
uploaded to them privately (`files.uploadV2` into their DM with the bot)."""

from __future__ import annotations

import logging
import time

from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from handlers.access import is_admin
from handlers.flags import AuditRequest
from handlers.slack_io import SLACK_ERRORS
from handlers.views.audit import audit_csv

log = logging.getLogger(__name__)

ONLY_ADMINS = "Only admins can read the audit trail."


async def export_audit(
    deps: Deps, client: AsyncWebClient, user_id: str, asked: AuditRequest
) -> str:
    """The trail as asked, sent to `user_id` privately; what to tell them (mrkdwn)."""
    if not await is_admin(deps, client, user_id):
        log.info("audit.refused user=%s", user_id)
        return ONLY_ADMINS
    since = time.time() - asked.days * 86400
    events = await deps.store.audit_trail(since, actor=asked.person, channel=asked.channel)
    whose = (f" of <@{asked.person}>" if asked.person else "") + (
        f" in <#{asked.channel}>" if asked.channel else ""
    )
    name = f"audit-{time.strftime('%Y-%m-%d')}-{asked.days}d.csv"
    try:
        opened = await client.conversations_open(users=user_id)
        await client.files_upload_v2(
            channel=str(opened["channel"]["id"]),
            filename=name,
            title=name,
            content=audit_csv(events),
            initial_comment=f"The audit trail{whose}, the last {asked.days} days: "
            f"{len(events)} event{'s' if len(events) != 1 else ''}.",
        )
    except SLACK_ERRORS as exc:
        log.warning("audit.upload_failed user=%s: %s", user_id, type(exc).__name__)
        return "I could not send you the file. Try again in a minute."
    log.info("audit.exported user=%s events=%d days=%d", user_id, len(events), asked.days)
    return f":page_facing_up: I sent you the audit trail{whose} ({len(events)} events) privately."
