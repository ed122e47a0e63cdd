"""The messages a person sees, built by pure functions."""

from __future__ import annotations

import uuid

from bot.models import CreateTaskRequest, SessionSettings, TaskCreated
from handlers import blocks
from handlers.options import OPTIONS


def all_text(message: dict) -> str:
    return str(message)


def test_parent_message_says_who_asked_and_what() -> None:
    message = blocks.parent_message("U42", CreateTaskRequest(task="Find <!here> flights"))
    assert message["text"] == "<@U42> asked the browser: Find &lt;!here&gt; flights"
    assert "<!here>" not in all_text(message)
    assert message["blocks"][0]["text"]["verbatim"] is True
    assert message["blocks"][1]["elements"][0]["text"] == blocks.STARTING


def test_parent_not_started_keeps_the_question_and_says_it_failed() -> None:
    request = CreateTaskRequest(task="Find flights")
    message = blocks.parent_message("U42", request, status=blocks.NOT_STARTED)
    assert "Find flights" in message["text"]
    assert "did not start" in all_text(message)


def test_the_parent_lists_the_options_chosen_and_counts_secrets() -> None:
    request = CreateTaskRequest(
        task="Log in and check the invoice",
        llm="gpt-4.1",
        start_url="https://example.com/login",
        max_steps=30,
        allowed_domains=["example.com"],
        flash_mode=True,
        vision=False,
        judge=True,
        judge_ground_truth="42",
        session_settings=SessionSettings(
            proxy_country_code=None, browser_screen_width=1280, browser_screen_height=800
        ),
        secrets={"password": "hunter2", "otp": "123456"},
        metadata={"project": "<!channel>"},
        skill_ids=["*"],
    )
    context = blocks.parent_message("U1", request)["blocks"][1]["elements"][0]["text"]
    for words in (
        "model `gpt-4.1`",
        "starts at https://example.com/login",
        "max 30 steps",
        "only example.com",
        "flash mode",
        "vision off",
        "judged against an expected",
        "proxy off",
        "screen 1280x800",
        "2 secrets passed",
        "all skills",
    ):
        assert words in context
    assert "hunter2" not in all_text(request.model_dump()) and "hunter2" not in context
    assert "123456" not in context


def test_no_options_means_only_the_status() -> None:
    message = blocks.parent_message("U1", CreateTaskRequest(task="x"))
    assert message["blocks"][1]["elements"][0]["text"] == blocks.STARTING


def test_a_session_id_shows_in_the_parent() -> None:
    session = uuid.uuid4()
    request = CreateTaskRequest(task="x", session_id=session)
    assert f"in session `{session}`" in str(blocks.parent_message("U1", request))


def test_task_started_has_both_ids_in_text_and_as_code() -> None:
    created = TaskCreated(id="task-1", session_id="session-2")
    message = blocks.task_started(created)
    assert "task-1" in message["text"] and "session-2" in message["text"]
    body = message["blocks"][0]["text"]["text"]
    assert "`task-1`" in body and "`session-2`" in body


def test_ephemeral_adds_the_hint_and_never_replaces_the_command() -> None:
    message = blocks.ephemeral(blocks.task_failed("out of credits"), blocks.NO_THREAD_HINT)
    assert message["response_type"] == "ephemeral"
    assert message["replace_original"] is False
    assert "/invite" in message["blocks"][-1]["elements"][0]["text"]


def test_usage_lists_every_inline_flag_with_an_example() -> None:
    message = blocks.usage()
    assert message["response_type"] == "ephemeral"
    for option in OPTIONS:
        if option.inline:
            assert option.flags[0] in message["text"] and option.example in message["text"]
    assert all(len(b["text"]["text"]) <= 3000 for b in message["blocks"])
