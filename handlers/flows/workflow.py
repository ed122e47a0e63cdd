"""Workflow Builder's "Run a browser task" step.

Slack sends `function_executed` with the step's inputs; they are checked as the form checks its
fields (a bad one fails the step at once with the form's message), and the task starts through
the same path as every other entry point (access, limits, defaults, its thread when a channel is
given). The step is completed when the task ends, however long that takes: by whichever process
reports the task (`complete_step`, called from the result's report, so exactly once), with the
execution's own token while it lasts and the bot token after.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.answers import TaskView
from bot.browser_use import BrowserUseClient, BrowserUseError
from bot.models import CreateTaskRequest
from bot.store import TaskRecord
from handlers.build import build_request, merge
from handlers.errors import UserInputError
from handlers.flows.outbox import slack_down
from handlers.flows.submit import Origin
from handlers.ids import SlackError
from handlers.option_values import Fields
from handlers.options import BY_KEY, Defaults
from handlers.slack_io import SLACK_ERRORS, error_code
from handlers.slack_text import shorten
from handlers.views import outcomes, tracking

log = logging.getLogger(__name__)

# The step's inputs (manifest.yaml declares them) and the option each one is.
INPUT_OPTIONS = {
    "start_url": "start_url",
    "model": "llm",
    "max_steps": "max_steps",
    "allowed_domains": "allowed_domains",
    "structured_output": "structured_output",
    "profile_id": "profile_id",
    "engine": "engine",
}
# Slack's answers that mean "this token is no good (any more)": try the bot token instead.
TOKEN_REFUSED = frozenset(
    {
        SlackError.INVALID_AUTH,
        SlackError.TOKEN_EXPIRED,
        SlackError.NOT_AUTHED,
        SlackError.TOKEN_REVOKED,
        SlackError.ACCOUNT_INACTIVE,
    }
)


# The step's input Slack fills with who ran the workflow (`slack#/types/user_context`): a
# builder cannot type it in.
USER_CONTEXT_INPUT = "user_context"
NOBODY_UNDER_AN_ALLOW_LIST = (
    "This workflow step does not know who ran it (it was made before the step had a “Who runs "
    "it” input), and only some people may start browser tasks here. Its builder can update the "
    "step in Workflow Builder so that Slack says who runs it."
)
_USER_ID = re.compile(r"[UW][A-Z0-9]{1,31}")


def user_of_context(value: Any) -> str | None:
    """The user ID in a `slack#/types/user_context` value (`{"id": "U…", "secret": "…"}`), or
    None when there is none: an old step without the input, or anything of another shape."""
    if isinstance(value, dict):
        found = value.get("id")
        if isinstance(found, str) and _USER_ID.fullmatch(found):
            return found
    return None


def request_from_inputs(inputs: dict[str, Any], defaults: Defaults) -> CreateTaskRequest:
    """The Create Task request the step's inputs ask for, or `UserInputError` (the form's
    message for the first input at fault)."""
    fields: Fields = {}
    for name, key in INPUT_OPTIONS.items():
        value = inputs.get(name)
        if value is None or str(value).strip() == "":
            continue
        try:
            merge(fields, BY_KEY[key].parse(str(value)))
        except UserInputError as exc:
            raise UserInputError(f"{name}: {exc.message}", field=name) from None
    fields.pop("login", None)
    return build_request(str(inputs.get("task") or ""), fields, defaults)


def step_outputs(task: TaskView, share_url: str | None) -> dict[str, Any]:
    """The step's outputs (manifest.yaml declares them): every one always present."""
    structured = outcomes.structured(task.output)
    return {
        "output": task.output or "",
        "structured_output": task.output if structured is not None else "",
        "success": task.status == "finished" and task.is_success is not False,
        "task_id": task.id,
        "session_id": task.session_id,
        "share_url": share_url or "",
        "steps": len(task.steps),
        "cost": task.cost or "",
    }


def step_error(task: TaskView) -> str:
    """Why the step failed, in plain words (a failed or stopped task)."""
    _, headline = tracking.outcome(task)
    step = task.last_step
    where = ""
    if step is not None:
        where = f" at step {step.number}" + (f" on {shorten(step.url, 200)}" if step.url else "")
    return f"The browser task {headline.lower()}{where}. Task ID: {task.id}"


class SlackDown(Exception):
    """Slack could not take the step's completion now (down, or unreachable): try again later."""


async def complete_step(
    client: AsyncWebClient,
    browser_use: BrowserUseClient,
    task: TaskView,
    record: TaskRecord,
    execution_token: str | None = None,
) -> bool:
    """Complete the workflow step of `record` with how `task` ended, with the execution's token
    if this process still has it, else the bot token. True when Slack took it; `SlackDown`
    when Slack could not say (tried again later, by the report)."""
    assert record.execution_id is not None
    args: dict[str, Any]
    if task.status == "finished":
        share_url = None
        try:
            share_url = (await browser_use.share_session(task.session_id)).share_url
        except BrowserUseError as exc:
            log.warning("workflow.share_failed task_id=%s: %s", task.id, exc)
        method, args = "functions.completeSuccess", {"outputs": step_outputs(task, share_url)}
    else:
        method, args = "functions.completeError", {"error": step_error(task)}
    # The execution's token expires (15 minutes after it is issued, or when the step completes);
    # a task may run for hours, so the bot token is the fallback.
    tokens: list[str | None] = [execution_token] if execution_token else []
    for token in [*tokens, None]:
        caller = client if token is None else _with_token(client, token)
        try:
            await caller.api_call(
                method, json={"function_execution_id": record.execution_id, **args}
            )
        except SlackApiError as exc:
            error = error_code(exc)
            log.warning(
                "workflow.complete_refused task_id=%s token=%s error=%s",
                task.id,
                "execution" if token else "bot",
                error,
            )
            if error in TOKEN_REFUSED:
                continue
            if slack_down(error):
                raise SlackDown(error) from None
            return False
        except SLACK_ERRORS as exc:
            log.warning("workflow.complete_failed task_id=%s: %s", task.id, type(exc).__name__)
            raise SlackDown(type(exc).__name__) from None
        log.info("workflow.completed task_id=%s execution_id=%s", task.id, record.execution_id)
        return True
    log.error(
        "workflow.unreported task_id=%s execution_id=%s: Slack refused both tokens",
        task.id,
        record.execution_id,
    )
    return False


def _with_token(client: AsyncWebClient, token: str) -> AsyncWebClient:
    return AsyncWebClient(
        token=token,
        base_url=client.base_url,
        session=client.session,
        timeout=client.timeout,
        retry_handlers=client.retry_handlers,
    )


async def fail_step(client: AsyncWebClient, origin: Origin, reason: str) -> None:
    """Fail the step at once (the execution's token is fresh now)."""
    token = origin.execution_token
    caller = _with_token(client, token) if token else client
    try:
        await caller.functions_completeError(
            function_execution_id=origin.execution_id or "", error=reason
        )
    except SLACK_ERRORS as exc:
        log.warning("workflow.fail_refused execution_id=%s: %s", origin.execution_id, exc)
