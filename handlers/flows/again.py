"""The buttons under a result: Run again (the same task, the same options, the same thread)
and Change and run (the task form with every option of the earlier task)."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.models import CreateTaskRequest
from bot.store import TaskRecord
from handlers.access import (
    apply_policy,
    check_access,
)
from handlers.errors import FORM_FAILED, UserInputError, failure_text
from handlers.flows.conversations import run_in_thread
from handlers.flows.modals import open_task_form
from handlers.flows.said import Said
from handlers.flows.submit import Origin, start_task
from handlers.payloads import FormContext, task_of
from handlers.slack_io import post, tell_clicker
from handlers.views import messages
from handlers.views.form import Prefill

log = logging.getLogger(__name__)


async def _earlier_task(
    deps: Deps, client: AsyncWebClient, body: dict[str, Any], task_id: str
) -> tuple[TaskRecord, CreateTaskRequest] | None:
    """The task a result's button is about and its request, if the clicker may run it again
    (the person who asked, or an admin); else they are told why, only them."""
    user = body["user"]["id"]
    record = await deps.store.task(task_id)
    if record is None or record.request is None:
        await tell_clicker(client, body, AGAIN_UNKNOWN)
        return None
    if not deps.may_control(user, record.user_id):
        await tell_clicker(
            client, body, f"Only <@{record.user_id}> (who asked) or an admin can run it again."
        )
        return None
    try:
        check_access(deps.policy, user, record.channel)
        request = apply_policy(CreateTaskRequest.from_kept(record.request), deps.policy)
    except UserInputError as exc:
        await tell_clicker(client, body, f":warning: {failure_text(exc)}")
        return None
    return record, request


AGAIN_UNKNOWN = (
    "I no longer have that task's options, so I can't run it again from here. Start it "
    "anew with `/browser-use`."
)


async def run_again(deps: Deps, client: AsyncWebClient, body: dict[str, Any]) -> None:
    """The same task with the same options, in the same thread: in the thread's browser when
    the thread keeps one, in a new browser otherwise."""
    earlier = await _earlier_task(deps, client, body, task_of(body))
    if earlier is None:
        return
    record, request = earlier
    user = body["user"]["id"]
    message = body.get("message") or {}
    thread_ts = record.thread_ts or str(message.get("thread_ts") or message.get("ts"))
    await post(client, record.channel, messages.ran_again(user), thread_ts)
    if record.thread_session:
        said = Said(
            team_id=record.team,
            channel_id=record.channel,
            user_id=user,
            text=request.task,
            ts=str(message.get("ts") or thread_ts),
            thread_ts=thread_ts,
        )
        await run_in_thread(deps, client, said, request)
        return
    origin = Origin(
        team_id=record.team,
        channel_id=record.channel,
        user_id=user,
        thread_ts=thread_ts,
        announce=False,
        response_url=body.get("response_url"),
    )
    await start_task(deps, client, request, origin)


async def change_and_run(deps: Deps, client: AsyncWebClient, body: dict[str, Any]) -> None:
    """The task form with every option of the earlier task (secrets excepted), answering in its
    thread."""
    earlier = await _earlier_task(deps, client, body, task_of(body))
    if earlier is None:
        return
    record, request = earlier
    context = FormContext(channel_id=record.channel, thread_ts=record.thread_ts)
    user = body.get("user") or {}
    person = (str((body.get("team") or {}).get("id") or user.get("team_id", "")), str(user["id"]))
    prefill = Prefill.of(request)
    if not await open_task_form(client, deps, body["trigger_id"], context, prefill, person=person):
        await tell_clicker(client, body, FORM_FAILED)
