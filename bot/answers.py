"""What Browser Use answers, as read: tasks and their steps and files, v4 runs (accurate mode),
sessions, profiles, the account, share links and upload targets. Unknown fields are ignored, so
a newer API does not break the app; `bot.models` holds what the app sends."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    field_validator,
)
from pydantic.alias_generators import to_camel

from bot.models import V4_STATUS, Engine, WireModel

TaskStatus = Literal["created", "started", "finished", "failed", "stopped"]
TERMINAL_STATUSES: frozenset[str] = frozenset({"finished", "failed", "stopped"})


class ReadModel(WireModel):
    """An answer from the API: unknown fields are ignored, so a newer API does not break us."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class TaskStep(ReadModel):
    number: int
    memory: str = ""
    evaluation_previous_goal: str = ""
    next_goal: str = ""
    url: str = ""
    screenshot_url: str | None = None
    actions: list[str] = Field(default_factory=list)
    duration: float | None = None


class OutputFile(ReadModel):
    id: str
    file_name: str


class TaskStatusView(ReadModel):
    """`GET /tasks/{id}/status`: the cheap read for polling."""

    id: str
    status: str
    output: str | None = None
    finished_at: str | None = None
    is_success: bool | None = None
    cost: str | None = None

    @property
    def ended(self) -> bool:
        return self.status in TERMINAL_STATUSES


class TaskView(TaskStatusView):
    """`GET /tasks/{id}` (and, without steps and files, an item of `GET /tasks`); a v4 run
    read as one (`RunView.as_task`)."""

    session_id: str
    engine: Engine = "v2"
    llm: str = ""
    task: str = ""
    created_at: str | None = None
    started_at: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    steps: list[TaskStep] = Field(default_factory=list)
    output_files: list[OutputFile] = Field(default_factory=list)
    judgement: str | None = None
    judge_verdict: bool | None = None

    @field_validator("metadata", mode="before")
    @classmethod
    def _strings(cls, value: Any) -> dict[str, str]:
        return {str(k): str(v) for k, v in (value or {}).items()}

    @property
    def last_step(self) -> TaskStep | None:
        return max(self.steps, key=lambda s: s.number) if self.steps else None


# --- v4 runs (accurate mode) --------------------------------------------------------------------


class RunView(ReadModel):
    """`GET /api/v4/runs/{id}` (`RunSummary`), what the app reads of it."""

    id: str
    status: str
    session_id: str = ""
    task: str = ""
    model: str = ""
    result: str | None = None
    output: Any = None
    error: str | None = None
    judgement: Any = None
    total_cost_usd: str | None = None
    created_at: str | None = None
    updated_at: str | None = None

    def as_task(self) -> TaskView:
        """The run as the task the app follows and reports: its `result` (or its parsed
        `output`) as the output; no steps, success flag, files or metadata (v4 has none); the
        judgement's verdict where it gives one (its shape is UNCONFIRMED)."""
        status = V4_STATUS.get(self.status, "created")
        output = self.result
        if self.output is not None:
            output = json.dumps(self.output, ensure_ascii=False)
        if status == "failed" and not output:
            output = self.error
        judgement = self.judgement if isinstance(self.judgement, dict) else {}
        verdict = judgement.get("verdict")
        return TaskView(
            id=self.id,
            status=status,
            output=output,
            cost=self.total_cost_usd,
            session_id=self.session_id,
            llm=self.model,
            task=self.task,
            created_at=self.created_at,
            finished_at=self.updated_at if status in TERMINAL_STATUSES else None,
            engine="v4",
            judgement=judgement.get("reasoning"),
            judge_verdict=verdict if isinstance(verdict, bool) else None,
        )


class RunStatusView(ReadModel):
    """`GET /api/v4/runs/{id}/status`."""

    status: str


class RunEvent(ReadModel):
    type: str
    data: dict[str, Any] = Field(default_factory=dict)


class RunEvents(ReadModel):
    """`GET /api/v4/runs/{id}/events`."""

    events: list[RunEvent]


class QueuedMessageView(ReadModel):
    """`POST /api/v4/sessions/{id}/queue` and its `GET`: a follow-up Browser Use keeps until
    the session is free, and the run it became."""

    id: int
    status: str
    run_id: str | None = None


class TaskList(ReadModel):
    items: list[TaskView]
    total_items: int = 0
    page_number: int = 1
    page_size: int = 10


class SessionView(ReadModel):
    id: str
    status: str
    live_url: str | None = None
    public_share_url: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    keep_alive: bool | None = None
    tasks: list[TaskView] = Field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.status == "active"

    @property
    def busy(self) -> bool:
        """A session runs one task at a time; is one running now?"""
        return any(not task.ended for task in self.tasks)


class SessionList(ReadModel):
    items: list[SessionView]
    total_items: int = 0
    page_number: int = 1
    page_size: int = 10


class Account(ReadModel):
    total_credits_balance_usd: float | None = None
    project_id: str | None = None


class ProfileView(ReadModel):
    id: str
    name: str | None = None
    user_id: str | None = None
    # The sites the profile holds cookies for (a consent cookie counts too).
    cookie_domains: list[str] = Field(default_factory=list)


class ShareView(ReadModel):
    share_url: str


class OutputFileLink(ReadModel):
    id: str
    file_name: str
    download_url: str


# What Browser Use takes into a session's browser (`POST /files/sessions/{id}/presigned-url`).
UPLOAD_MAX_BYTES = 10 * 1024 * 1024
UPLOAD_CONTENT_TYPES: frozenset[str] = frozenset(
    {
        "image/jpg",
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/svg+xml",
        "application/pdf",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "text/plain",
        "text/csv",
        "text/markdown",
    }
)


class UploadTarget(ReadModel):
    """Where one file goes: an S3-style presigned POST (every field, then the file), for
    `expires_in` seconds (120)."""

    url: str
    method: str = "POST"
    fields: dict[str, str] = Field(default_factory=dict)
    file_name: str
    expires_in: int = 120
