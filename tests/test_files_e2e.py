"""Files shared with a mention or a DM reach the task's browser: read from Slack's file host with
the bot token, checked against Browser Use's limits first, uploaded through presigned POSTs, and
named in the task's text. A file Browser Use would refuse is told, and nothing is opened."""

from __future__ import annotations

import uuid
from typing import Any

from tests.fakes.browser_use import FakeBrowserUse
from tests.fakes.server import wait_for
from tests.fakes.slack import BOT_TOKEN, TEAM_ID, FakeSlack
from tests.slack_requests import SlackSender, view_submission
from tests.test_conversations_e2e import Mention, new_ts

PDF = b"%PDF-1.7\n" + b"x" * 2048
CSV = b"name,price\nheadphones,349\n"


def share(
    sender: SlackSender,
    text: str,
    files: list[dict[str, Any]],
    *,
    dm: bool = False,
    thread_ts: str | None = None,
) -> Mention:
    """A message that shares `files`: a mention in C77, or a DM (`file_share`)."""
    ts = new_ts()
    event: dict[str, Any] = {
        "type": "message" if dm else "app_mention",
        "user": "U42",
        "text": text if dm else f"<@UBOT> {text}",
        "ts": ts,
        "channel": "D42" if dm else "C77",
        "event_ts": ts,
        "team": TEAM_ID,
        "files": files,
    }
    if dm:
        event.update(channel_type="im", subtype="file_share")
    if thread_ts:
        event["thread_ts"] = thread_ts
    assert sender.event(event, event_id=f"Ev{uuid.uuid4().hex[:10]}").status_code == 200
    return Mention(ts, thread_ts or ts)


def test_files_shared_with_a_mention_reach_the_browser_and_the_task_names_them(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    files = [
        slack.share_file("cv.pdf", PDF, "application/pdf"),
        slack.share_file("prices.csv", CSV, "text/csv", id_only=True),  # read with files.info
    ]
    said = share(sender, "fill the job form at https://jobs.example from my CV", files)
    (task,) = wait_for(lambda: browser_use.created, 5, "the task")
    (session_id,) = browser_use.uploads
    assert task.body["sessionId"] == session_id  # the thread's browser, with the files in it
    assert browser_use.uploads[session_id] == {"cv.pdf": PDF, "prices.csv": CSV}
    assert task.body["task"].endswith("(use them by name): cv.pdf, prices.csv")
    assert slack.calls_to("files.info")  # the ID-only file was described by Slack
    # The token went to Slack's file host only; the uploads carried no credential.
    assert all(d.get("Authorization") == f"Bearer {BOT_TOKEN}" for d in slack.file_downloads)
    assert browser_use.upload_refusals == []
    wait_for(lambda: slack.in_thread(said.ts), 5, "the status message")


def test_a_dm_with_a_file_and_a_follow_up_with_another_reach_the_same_browser(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    first = share(
        sender, "summarise this", [slack.share_file("a.md", b"# A\n", "text/plain")], dm=True
    )
    (task,) = wait_for(lambda: browser_use.created, 5, "the first task")
    browser_use.finish(task.id)
    wait_for(lambda: slack.reactions(first.ts) == ["white_check_mark"], 5, "the first result")
    files = [slack.share_file("b.txt", b"B", "text/plain")]
    share(sender, "now compare it with this", files, dm=True, thread_ts=first.ts)
    wait_for(lambda: len(browser_use.created) == 2, 5, "the follow-up")
    (session_id,) = browser_use.uploads
    assert browser_use.uploads[session_id] == {"a.md": b"# A\n", "b.txt": b"B"}
    assert browser_use.created[1].body["sessionId"] == session_id


def test_a_file_browser_use_would_refuse_is_told_and_nothing_is_opened(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    big = slack.share_file("scan.pdf", b"x" * (10 * 1024 * 1024 + 1), "application/pdf")
    exe = slack.share_file("setup.exe", b"MZ", "application/x-msdownload")
    for shared, complaint in ((big, "over 10 MB"), (exe, "does not take")):
        said = share(sender, "read this", [shared])
        (told,) = wait_for(lambda s=said: slack.in_thread(s.ts), 5, "the refusal")
        assert complaint in told.args["text"] and "Nothing was started" in told.args["text"]
        wait_for(lambda s=said: slack.reactions(s.ts) == ["x"], 5, "❌")
    slack.files_read_scope = False  # Slack answers its sign-in page instead of the file
    said = share(sender, "read this", [slack.share_file("ok.pdf", PDF, "application/pdf")])
    (told,) = wait_for(lambda: slack.in_thread(said.ts), 5, "the refusal")
    assert "files:read" in told.args["text"]
    assert browser_use.create_calls == 0 and browser_use.session_requests == []
    assert len(slack.file_downloads) == 1  # the too-big and wrong-type ones were never read


def test_files_from_the_form_reach_a_browser_the_app_keeps_and_a_wrong_one_is_shown(
    sender: SlackSender, slack: FakeSlack, browser_use: FakeBrowserUse
) -> None:
    from tests.test_form_e2e import opened_view

    sender.command("", channel_id="C55")
    view = opened_view(slack)
    wrong = [slack.share_file("virus.exe", b"MZ", "application/x-msdownload")]
    answer = sender.interactive(view_submission(view, {"task": "Read it", "files": wrong}))
    assert answer.json()["errors"] == {"files": answer.json()["errors"]["files"]}
    assert "does not take" in answer.json()["errors"]["files"]

    cv = [slack.share_file("cv.pdf", PDF, "application/pdf")]
    entered = {"task": "Apply at https://jobs.example with my CV", "files": cv}
    assert sender.interactive(view_submission(view, entered)).text == ""
    (task,) = wait_for(lambda: browser_use.created, 5, "the task")
    (session_id,) = browser_use.uploads
    assert browser_use.uploads[session_id] == {"cv.pdf": PDF}
    assert task.body["sessionId"] == session_id and "sessionSettings" not in task.body
    assert task.body["metadata"]["slack_session"] == session_id  # closed by the app when idle
    assert browser_use.session_requests == [{"keepAlive": True, "persistMemory": True}]
