"""Files the browser can use: files shared with a mention or a DM (and, later in the thread, with
a follow-up) reach the task's browser before the task starts.

Each file is checked against Browser Use's limits before anything is opened (10 MiB, the content
types its upload takes), read from Slack with the bot token (`files:read`; the token goes to
Slack's file host only), then uploaded into the task's browser session through a presigned URL
(it lasts 120 s, so at once), and the task's text names the files: v2 tasks have no attachment
field, the agent finds them by name (API notes §13).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.answers import UPLOAD_CONTENT_TYPES, UPLOAD_MAX_BYTES, SessionView
from bot.browser_use import BrowserUseError
from bot.deps import Deps
from bot.models import CreateSessionRequest, CreateTaskRequest, TaskCreated
from handlers.errors import UserInputError, failure_text, file_text
from handlers.flows.submit import NotStarted, Origin, start_task, tell_privately
from handlers.payloads import SharedFile
from handlers.slack_io import SLACK_ERRORS, SlackFileError, download_file
from handlers.views import messages

log = logging.getLogger(__name__)

MAX_FILES = 5
# Slack names some types its own way; Browser Use takes the standard name.
SLACK_TYPES = {"text/x-markdown": "text/markdown", "application/csv": "text/csv"}


@dataclass(frozen=True)
class Upload:
    """A file read from Slack, ready for the browser."""

    name: str
    content_type: str
    content: bytes


def content_type_of(file: SharedFile) -> str | None:
    """The type Browser Use takes for this file, or None when it takes none."""
    kind = SLACK_TYPES.get(file.mimetype or "", file.mimetype or "")
    if (file.name or "").lower().endswith(".md") and kind == "text/plain":
        kind = "text/markdown"
    return kind if kind in UPLOAD_CONTENT_TYPES else None


def check(files: tuple[SharedFile, ...]) -> None:
    """Browser Use's limits, before anything is read or opened: a `UserInputError` naming the
    first file it would refuse."""
    if len(files) > MAX_FILES:
        raise UserInputError(
            f"A task takes at most {MAX_FILES} files; this message has {len(files)}."
        )
    for file in files:
        name = file.name or file.id
        if file.size is not None and file.size > UPLOAD_MAX_BYTES:
            raise UserInputError(file_text("too_big", name))
        if file.size == 0:
            raise UserInputError(file_text("empty", name))
        if content_type_of(file) is None:
            raise UserInputError(file_text("wrong_type", name))


async def gather(deps: Deps, client: AsyncWebClient, files: tuple[SharedFile, ...]) -> list[Upload]:
    """The shared files, checked and read from Slack; a `UserInputError` for the first that
    cannot be (nothing has been opened or created by then)."""
    described = [await _described(client, f) for f in files]
    check(tuple(described))
    token = client.token  # the workspace's bot token (each install's, with many workspaces)
    assert token is not None
    api_host = _host(deps.settings.slack_api_url)
    uploads = []
    for file in described:
        name = file.name or file.id
        assert file.url_private_download is not None  # `_described` made sure
        try:
            content = await download_file(
                file.url_private_download, token, also_host=api_host, max_bytes=UPLOAD_MAX_BYTES
            )
        except SlackFileError as exc:
            log.warning("file.unreadable file=%s reason=%s", file.id, exc.code)
            raise UserInputError(file_text(exc.code, name)) from None
        if not content:
            raise UserInputError(file_text("empty", name))
        kind = content_type_of(file)
        assert kind is not None  # `check` made sure
        uploads.append(Upload(name, kind, content))
    return uploads


async def _described(client: AsyncWebClient, file: SharedFile) -> SharedFile:
    """The file as `files.info` describes it, when the event gave its ID only."""
    if file.complete:
        return file
    try:
        answer = await client.files_info(file=file.id)
    except (SlackApiError, *SLACK_ERRORS) as exc:
        log.warning("slack.files_info failed: %s", type(exc).__name__)
        raise UserInputError(file_text("refused", file.name or file.id)) from None
    described = SharedFile.model_validate(answer.get("file") or {"id": file.id})
    if not described.url_private_download:
        raise UserInputError(file_text("refused", file.name or file.id))
    return described


async def upload(deps: Deps, session_id: str, uploads: list[Upload]) -> None:
    """Each file into the session's browser, at once after its URL is made (it lasts 120 s)."""
    for item in uploads:
        target = await deps.browser_use.upload_target(
            session_id, item.name, item.content_type, len(item.content)
        )
        await deps.browser_use.upload(target, item.content, item.content_type)
        log.info("file.uploaded session_id=%s bytes=%d", session_id, len(item.content))


async def open_session(deps: Deps, request: CreateTaskRequest) -> SessionView:
    """A browser kept alive for the thread, with the session settings the person asked for."""
    settings = request.session_settings
    fields: dict[str, Any] = {}
    if settings is not None:
        fields = {name: getattr(settings, name) for name in settings.model_fields_set}
    # Kept alive for follow-ups, with the agent's memory; both said, not left to defaults.
    session = await deps.browser_use.create_session(
        CreateSessionRequest(keep_alive=True, persist_memory=True, **fields)
    )
    log.info("session.opened session_id=%s", session.id)
    return session


async def start_with_files(
    deps: Deps,
    client: AsyncWebClient,
    request: CreateTaskRequest,
    origin: Origin,
    uploads: list[Upload],
) -> TaskCreated | NotStarted:
    """A task with files, from the form: its browser is opened first (with the request's session
    settings), the files go into it, then the task runs there. The browser is the app's, kept
    like a thread's (closed when idle), and closed at once if the task does not start."""

    async def not_started(exc: BrowserUseError) -> NotStarted:
        reason = failure_text(exc)
        await tell_privately(client, origin, messages.notice(f":x: {reason}"), None)
        return NotStarted(reason)

    try:
        session = await open_session(deps, request)
    except BrowserUseError as exc:
        return await not_started(exc)
    try:
        await upload(deps, session.id, uploads)
    except BrowserUseError as exc:
        await _close(deps, session.id)
        return await not_started(exc)
    fields = {name: getattr(request, name) for name in request.model_fields_set}
    fields.pop("session_settings", None)  # they went to the session itself
    in_session = CreateTaskRequest.model_validate({**fields, "session_id": session.id})
    kept = replace(origin, thread_session=session.id, kept_request=request.to_kept())
    started = await start_task(deps, client, naming(in_session, uploads), kept)
    if isinstance(started, NotStarted):
        await _close(deps, session.id)
    return started


async def _close(deps: Deps, session_id: str) -> None:
    try:
        await deps.browser_use.stop_session(session_id)
    except BrowserUseError as exc:
        log.warning("session.not_closed session_id=%s error=%s", session_id, exc)


def naming(request: CreateTaskRequest, uploads: list[Upload]) -> CreateTaskRequest:
    """The task's text, with the files it may use named (the agent finds them by name)."""
    if not uploads:
        return request
    names = ", ".join(item.name for item in uploads)
    text = f"{request.task}\n\nFiles uploaded for this task (use them by name): {names}"
    fields = {name: getattr(request, name) for name in request.model_fields_set}
    return CreateTaskRequest.model_validate({**fields, "task": text})


def _host(url: str) -> str | None:
    return urlsplit(url).hostname
