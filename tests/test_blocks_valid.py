"""Every message and view the app builds is one real Slack accepts, whatever text goes in.

The validator is the Slack stand-in's own (`tests.fakes.blockkit`): what it refuses, Slack refuses.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.answers import TaskView
from bot.config import Settings
from bot.models import CreateTaskRequest, SlackRoute, TaskCreated
from handlers.errors import UserInputError, failure_text
from handlers.flows.said import Said, follow_up_value
from handlers.options import Defaults
from handlers.payloads import FormContext
from handlers.views import home, messages, outcomes, tracking
from handlers.views.form import Prefill, task_form
from tests.fakes.blockkit import message_problems, view_problems

ROUTE = SlackRoute(team="T1", channel="C1", thread_ts="1.2", user="U7", max_steps=20)
TASK_ID, SESSION_ID = str(uuid.uuid4()), str(uuid.uuid4())


def valid(message: dict[str, Any]) -> None:
    assert message_problems(message) == []


def view(**fields: Any) -> TaskView:
    base = {
        "id": TASK_ID,
        "sessionId": SESSION_ID,
        "llm": "gpt-4.1",
        "task": "x",
        "status": "finished",
        "createdAt": "2026-11-29T06:00:00Z",
        "startedAt": "2026-11-29T06:00:00Z",
        "finishedAt": "2026-11-29T06:01:00Z",
        "steps": [],
        "outputFiles": [],
    }
    return TaskView.model_validate({**base, **fields})


def step(number: int, goal: str, url: str) -> dict[str, Any]:
    return {"number": number, "nextGoal": goal, "url": url, "actions": []}


# --- the three payloads real Slack refused --------------------------------------------------


def test_an_answer_full_of_ampersands_fits_once_escaped() -> None:
    # 2,890 characters with 39 `&`: 3,046 once escaped, over the section's 3,000.
    output = ("Price & tax " * 39)[:468] + "x" * (2890 - 468)
    assert len(output) == 2890 and output.count("&") == 39
    result = outcomes.task_result(view(output=output), ROUTE)
    valid(result.message)
    assert result.attachments == [("output.txt", output.encode())]  # nothing is lost


def test_a_long_preview_full_of_ampersands_fits_once_escaped() -> None:
    result = outcomes.task_result(view(output="&" * 9000), ROUTE)
    valid(result.message)
    assert result.attachments[0][1] == b"&" * 9000


def test_a_long_japanese_follow_up_can_still_be_queued() -> None:
    # 349 characters: as json.dumps escapes them, 2,158 characters in the button's value.
    text = "東京駅から大阪駅までの新幹線の最安値を調べて" * 16
    text = text[:349]
    said = Said(team_id="T1", channel_id="C1", user_id="U1", text=text, ts="1.1", thread_ts="1.1")
    value = follow_up_value(said, SESSION_ID)
    assert value is not None and text in value
    message = messages.session_busy(TASK_ID, value)
    valid(message)
    assert "Queue my follow-up" in json.dumps(message)


def test_a_follow_up_too_long_to_queue_says_so_and_stays_valid() -> None:
    said = Said(
        team_id="T1", channel_id="C1", user_id="U1", text="x" * 2500, ts="1.1", thread_ts="1.1"
    )
    assert follow_up_value(said, SESSION_ID) is None
    message = messages.session_busy(TASK_ID, None)
    valid(message)
    assert "too long to queue" in message["text"]


def test_an_answer_of_only_whitespace_says_there_was_no_answer() -> None:
    result = outcomes.task_result(view(output=" \n\t  \n"), ROUTE)
    valid(result.message)
    assert "no written answer" in json.dumps(result.message)


# --- every builder, with hostile text ---------------------------------------------------------

hostile = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.sampled_from("&<>\n *_~`@!#|"), max_size=4000),
    st.integers(0, 12_000).map(lambda n: "&" * n),
    st.text(alphabet=st.characters(min_codepoint=0x3040, max_codepoint=0x30FF), max_size=3000),
    st.lists(st.sampled_from(["😀", "🚀", "👍🏽", "\u200d", "é"]), max_size=3000).map("".join),
    st.sampled_from(["", " ", "\n\n", "\t \n", "<!channel>", "<@U123|x>", "&amp;"]),
)
prompt = hostile.filter(lambda t: t.strip() != "")
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(task=prompt, url=hostile, domain=st.sampled_from(["example.com", "*.a.example"]))
def test_parent_messages_are_valid(task: str, url: str, domain: str) -> None:
    start = "https://example.com/" + url.replace(" ", "").replace("\n", "")[:2000]
    request = CreateTaskRequest(
        task=task[:50_000],
        start_url=start,
        allowed_domains=[domain] * 30,
        metadata={"k" + str(i): url[:50] for i in range(8)},
    )
    for status in (messages.STARTING, messages.NOT_STARTED):
        valid(messages.parent_message("U1", request, status=status))


@PROPERTY
@given(goal=hostile, url=hostile, output=hostile, status=st.sampled_from(list(tracking.STATES)))
def test_status_and_result_messages_are_valid(
    goal: str, url: str, output: str, status: str
) -> None:
    task = view(
        status=status,
        steps=[step(i, goal, url) for i in range(1, 4)],
        output=output,
        outputFiles=[{"id": str(uuid.uuid4()), "fileName": url[:200] or "f"}],
        metadata={"slack_session": SESSION_ID},
        llm=goal[:100],
    )
    valid(tracking.task_status(task, ROUTE))
    valid(outcomes.task_result(task, ROUTE).message)


@PROPERTY
@given(values=st.dictionaries(hostile, hostile, max_size=15), as_list=st.booleans())
def test_structured_results_are_valid(values: dict[str, str], as_list: bool) -> None:
    output = json.dumps([values, values] if as_list else values)
    valid(outcomes.task_result(view(output=output), ROUTE).message)


@PROPERTY
@given(text=hostile)
def test_notices_and_follow_ups_are_valid(text: str) -> None:
    said = Said(team_id="T1", channel_id="C1", user_id="U1", text=text, ts="1.1", thread_ts="1.1")
    valid(messages.session_busy(TASK_ID, follow_up_value(said, SESSION_ID)))
    # An error may quote what the person typed, at any length.
    reason = failure_text(UserInputError(f"Unknown option `--{text}`."))
    for message in (
        messages.task_failed(reason),
        messages.notice(f":warning: {reason}"),
        messages.with_hint(messages.notice("x"), reason),
        messages.ephemeral(messages.notice("x"), reason),
    ):
        valid(message)


def test_fixed_messages_are_valid() -> None:
    for message in (
        messages.usage(),
        messages.mention_usage(),
        messages.session_closed("idle", idle_minutes=10),
        messages.session_closed("asked"),
        messages.queued(12.5),
        tracking.task_started(TaskCreated(id=TASK_ID, session_id=SESSION_ID), react_ts="1.1"),
    ):
        valid(message)


@PROPERTY
@given(task=hostile, url=st.sampled_from([None, "https://example.com/x"]), more=st.booleans())
def test_the_task_form_is_valid(task: str, url: str | None, more: bool) -> None:
    for context in (FormContext(channel_id="C1", thread_ts="1.2"), FormContext()):
        form = task_form(
            context,
            Defaults("gpt-4.1", 30, ("example.com",)),
            prefill=Prefill(task=task, start_url=url),
            advanced=more,
        )
        assert view_problems(form) == []


@PROPERTY
@given(prompts=st.lists(hostile, min_size=0, max_size=10), credit=st.floats(0, 1e9))
def test_the_home_tab_is_valid(prompts: list[str], credit: float) -> None:
    tasks = [
        (view(task=p, status=s), "https://test.slack.com/archives/C1/p1")
        for p, s in zip(
            prompts, ["started", "finished", "failed", "stopped", "created"] * 2, strict=False
        )
    ]
    settings_ = Settings(
        slack_bot_token="xoxb-1",
        browser_use_api_key="bu_1",
        allowed_llms=("gpt-4.1",),
        forced_allowed_domains=("example.com",),
        max_running_tasks_per_user=2,
        max_tasks_per_hour_per_user=5,
    )
    assert view_problems(home.home_view(tasks, settings_, credit)) == []


def test_the_validator_refuses_what_slack_refuses() -> None:
    """The checks above mean something only if the validator says no where Slack does."""
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    assert message_problems({"text": "t", "blocks": [section]})
    assert message_problems(
        {"text": "t", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": " "}}]}
    )
    button = {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "b"}}
    assert message_problems(
        {
            "text": "t",
            "blocks": [{"type": "actions", "elements": [{**button, "value": "v" * 2001}]}],
        }
    )
    assert message_problems({"text": "t", "blocks": [section] * 51})
    assert message_problems({"text": "t", "metadata": {"event_type": "a b", "event_payload": {}}})
    assert message_problems({"blocks": None, "text": ""})
    modal = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "x" * 25},
        "blocks": [{"type": "divider"}],
    }
    assert view_problems(modal)
    assert view_problems(
        {**modal, "title": {"type": "plain_text", "text": "ok"}, "private_metadata": "m" * 3001}
    )


@PROPERTY
@given(
    prompts=st.lists(hostile, min_size=0, max_size=25),
    before=hostile,
    after=hostile,
    paused=st.booleans(),
)
def test_recurring_tasks_messages_and_lists_are_valid(
    prompts: list[str], before: str, after: str, paused: bool
) -> None:
    from bot.schedules import Repeat
    from bot.store import Schedule
    from handlers.views import schedules as views

    schedules = [
        Schedule(
            team="T1",
            channel="C1",
            user_id="U7",
            repeat=Repeat("weekly", tz="Asia/Tokyo", hour=7, weekday=n % 7).dump(),
            request=CreateTaskRequest(task=p or "x").to_kept(),
            next_run_at=1_800_000_000.0 + n,
            on_change=n % 2 == 0,
            notify=n % 3 == 0,
            paused=paused,
            paused_reason="its last 3 runs failed" if paused else None,
            last_status=[None, "finished", "changed", "unchanged", "failed", "skipped"][n % 6],
            id=n + 1,
            changed_at=1_800_000_000.0,
        )
        for n, p in enumerate(prompts)
    ]
    for schedule in schedules[:3]:
        valid(views.created(schedule))
        valid(views.unchanged(schedule, 1_800_000_100.0))
        valid(views.skipped(schedule, 1_800_000_000.0))
        valid(views.did_not_run(schedule, failure_text(UserInputError(before or "x"))))
        valid(views.paused_for_failures(schedule, 3))
    valid(views.channel_list(schedules, note=":double_vertical_bar: Paused."))
    valid(views.what_changed(before, after, 1_800_000_000.0))
    valid(views.what_changed(json.dumps({"price": before}), json.dumps({"price": after}), None))
    settings_ = Settings(slack_bot_token="xoxb-1", browser_use_api_key="bu_1")
    assert view_problems(home.home_view([], settings_, None, schedules=schedules)) == []


def test_what_changed_shows_the_lines_or_the_fields_that_changed() -> None:
    from handlers.views import schedules as views

    text = json.dumps(views.what_changed("a\nb\nc", "a\nB\nc", None))
    assert "-b" in text and "+B" in text
    assert "-a" not in text and "+a" not in text  # the unchanged lines are not shown
    fields = json.dumps(
        views.what_changed('{"price": 349, "seller": "x"}', '{"price": 329, "seller": "x"}', None)
    )
    assert "price: 349 \\u2192 329" in fields or "price: 349 → 329" in fields
    assert "seller" not in fields
    assert views.comparable('{"b": 1, "a": 2}') == views.comparable('{"a": 2, "b": 1}')
    assert views.comparable("  same \n") == views.comparable("same")
