"""The audit trail: what people start, stop, share and change lands in the store as it happens,
and an admin, alone, gets it as a CSV file, privately, filtered by person, channel and period."""

from __future__ import annotations

import csv
import io

from tests.conftest import OwnApp
from tests.fakes.browser_use import FakeBrowserUse
from tests.fakes.server import wait_for
from tests.fakes.slack import FakeSlack
from tests.test_following_e2e import click, start


def audit_file(slack: FakeSlack, user: str) -> list[dict[str, str]]:
    """The last CSV file uploaded into `user`'s DM with the bot, as rows."""
    (upload,) = [
        f for f in slack.uploads.values() if f.get("complete") and f.get("channel") == f"D{user}"
    ][-1:]
    return list(csv.DictReader(io.StringIO(upload["content"].decode())))


def test_an_admin_gets_the_trail_privately_and_nobody_else_does(
    own_app: OwnApp, slack: FakeSlack, browser_use: FakeBrowserUse, database_url: str
) -> None:
    with own_app(DATABASE_URL=database_url) as (_, sender):
        started = start(sender, slack, browser_use, "Find the cheapest flight", user="U42")
        other = start(sender, slack, browser_use, "=HYPERLINK(evil)", user="U7", channel="C5")
        click(sender, "stop_task", started, user="U42")
        wait_for(lambda: browser_use.stops, 5, "the stop")
        browser_use.finish(other.task_id)
        wait_for(lambda: [c for c in slack.posts() if "Finished" in c.args["text"]], 5, "end")
        sender.settle()

        def answer(line: str, user: str) -> str:
            before = len(slack.responses)
            assert sender.command(line, user_id=user).status_code == 200
            return wait_for(lambda: slack.responses[before:], 5, "the answer")[0].args["text"]

        assert "Only admins" in answer("audit", "U42")
        assert not [f for f in slack.uploads.values() if f.get("channel") == "DU42"]

        assert "sent you the audit trail" in answer("audit 7", "UADMIN")
        rows = audit_file(slack, "UADMIN")
        seen = [(r["action"], r["person"], r["task_id"]) for r in rows]
        assert ("task.started", "U42", started.task_id) in seen
        assert ("task.stopped", "U42", started.task_id) in seen
        assert ("task.started", "U7", other.task_id) in seen
        ends = {r["task_id"]: r for r in rows if r["action"] == "task.ended"}
        assert ends[other.task_id]["detail"] == "finished"
        assert float(ends[other.task_id]["cost_usd"]) > 0
        assert ends[started.task_id]["detail"] == "stopped"
        assert all(r["time_utc"] and r["channel"] for r in rows)

        assert "of <@U7> in <#C5>" in answer("audit <@U7|ada> C5", "UADMIN")
        assert {r["person"] for r in audit_file(slack, "UADMIN")} == {"U7"}
        assert "'=HYPERLINK" not in str(audit_file(slack, "UADMIN"))  # no task text is kept

        assert "is not a person's member ID" in sender.command("audit everyone").json()["text"]
