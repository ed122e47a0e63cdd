"""The command line: options anywhere, quotes of every kind, and a clear word for every mistake."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from uuid import UUID

import pytest

from handlers.errors import UserInputError
from handlers.flags import Every, Help, OpenForm, Run, parse_command, parse_inline, tokenize
from handlers.options import Defaults

NONE = Defaults()


def wire(line: str, defaults: Defaults = NONE) -> dict:
    return parse_inline(line, defaults)[0].to_wire()


def refusal(line: str, defaults: Defaults = NONE) -> str:
    with pytest.raises(UserInputError) as caught:
        parse_inline(line, defaults)
    return caught.value.message


def test_the_issue_example() -> None:
    line = (
        "Check the price of the Sony WH-1000XM5 --url https://www.amazon.com --model gpt-4.1 "
        "--max-steps 30 --domains amazon.com,*.amazon.com --flash"
    )
    assert wire(line) == {
        "task": "Check the price of the Sony WH-1000XM5",
        "startUrl": "https://www.amazon.com",
        "llm": "gpt-4.1",
        "maxSteps": 30,
        "allowedDomains": ["amazon.com", "*.amazon.com"],
        "flashMode": True,
    }


def test_every_inline_option() -> None:
    session, profile = uuid.uuid4(), uuid.uuid4()
    line = (
        "Find it --model o3 --url=https://x.example --max-steps 5 --domains x.example "
        '--schema \'{"type":"object","properties":{"p":{"type":"number"}}}\' '
        "--thinking --thinking-level high --vision auto --highlight "
        '--system-prompt "Be brief" --ground-truth "42 EUR" --judge-model gpt-4.1 '
        f"--profile {profile} --proxy DE --screen 1280x800 --skills a,b --vault v1 "
        "--metadata project=q3 --meta team=ops"
    )
    assert wire(line) == {
        "task": "Find it",
        "llm": "o3",
        "startUrl": "https://x.example",
        "maxSteps": 5,
        "allowedDomains": ["x.example"],
        "structuredOutput": json.dumps(
            {"type": "object", "properties": {"p": {"type": "number"}}}, separators=(",", ":")
        ),
        "thinking": True,
        "thinkingLevel": "high",
        "vision": "auto",
        "highlightElements": True,
        "systemPromptExtension": "Be brief",
        "judge": True,
        "judgeGroundTruth": "42 EUR",
        "judgeLlm": "gpt-4.1",
        "sessionSettings": {
            "profileId": str(profile),
            "proxyCountryCode": "de",
            "browserScreenWidth": 1280,
            "browserScreenHeight": 800,
        },
        "skillIds": ["a", "b"],
        "opVaultId": "v1",
        "metadata": {"project": "q3", "team": "ops"},
    }
    assert wire(f"Go on --session {session} --judge --vision off")["sessionId"] == str(session)
    assert wire("x --proxy none")["sessionSettings"] == {"proxyCountryCode": None}
    assert wire("x --skills all")["skillIds"] == ["*"]
    assert wire("x --width 800 --height 600")["sessionSettings"] == {
        "browserScreenWidth": 800,
        "browserScreenHeight": 600,
    }


def test_typographic_and_straight_quotes_both_work() -> None:
    assert (
        wire("Say hi --system-prompt “Be very brief”")["systemPromptExtension"] == "Be very brief"
    )
    assert (
        wire('Say hi --system-prompt "Be very brief"')["systemPromptExtension"] == "Be very brief"
    )
    assert wire("Say hi --system-prompt ‘Be brief’")["systemPromptExtension"] == "Be brief"
    schema = wire("x --schema {“type”:“object”}")["structuredOutput"]
    assert json.loads(schema) == {"type": "object"}


def test_the_task_keeps_its_apostrophes_quotes_and_line_breaks() -> None:
    assert wire("What's on “Hacker News” today?\nList 5 --flash")["task"] == (
        "What's on “Hacker News” today?\nList 5"
    )
    # A quoted flag-like word is task text, not an option.
    assert wire('Explain the "--force" flag of git')["task"] == 'Explain the "--force" flag of git'


def test_options_can_stand_anywhere() -> None:
    assert wire("--flash Find the cheapest --model o3 flight")["task"] == "Find the cheapest flight"


def test_tokenize_spans() -> None:
    tokens = tokenize('a "b c" d')
    assert [(t.text, t.quoted) for t in tokens] == [("a", False), ("b c", True), ("d", False)]


@pytest.mark.parametrize(
    ("line", "complaint"),
    [
        ("x --modle gpt-4.1", "Unknown option `--modle`. Did you mean `--model`?"),
        ("x --model gpt4.1", "Unknown model `gpt4.1`. Did you mean `gpt-4.1`?"),
        ("x --judge-model clade", "Unknown judge model `clade`"),
        ("x --max-steps lots", "Max steps must be a whole number from 1 to 10000"),
        ("x --max-steps 0", "Max steps must be from 1 to 10000, not 0"),
        ("x --max-steps 10001", "from 1 to 10000"),
        ("x --url ftp://files.example", "must start with http:// or https://"),
        ("x --url javascript:alert(1)", "must start with http:// or https://"),
        ("x --domains 'not a domain!'", "is not a domain"),
        ("x --domains http://", "is not a domain"),
        ("x --schema [1,2]", "must be a JSON Schema object"),
        ("x --schema {oops", "not valid JSON"),
        ('x --schema {"type":"thing"}', "`thing` is not a JSON Schema type"),
        ('x --schema {"properties":[]}', "properties must be an object"),
        ("x --screen 100x800", "The screen width must be from 320 to 6144, not 100"),
        ("x --screen 1280x9000", "height must be from 320 to 3456"),
        ("x --screen big", "looks like `1280x800`"),
        ("x --session 1234", "The session ID must be a UUID"),
        ("x --profile nope", "The profile ID must be a UUID"),
        ("x --proxy zz", "Unknown proxy country `zz`"),
        ("x --vision maybe", "Vision is `on`, `off` or `auto`"),
        ("x --metadata novalue", "must look like `name=value`"),
        ("x --metadata slack=T1", "key `slack` is reserved"),
        ("x --secret password=hunter2", "Secrets are not accepted on the command line"),
        ("x --flash=yes", "`--flash` takes no value"),
        ("x --model", "`--model` needs a value, like `--model gpt-4.1`"),
        ("x --model --flash", "`--model` needs a value"),
        ("--flash", "Say what the browser should do"),
        ("x --system-prompt " + "y" * 2001, "limit is 2,000"),
        ("x --ground-truth " + "y" * 10_001, "limit is 10,000"),
        (f"x --session {uuid.UUID(int=7)} --proxy de", "only apply to new sessions"),
    ],
)
def test_mistakes_are_explained(line: str, complaint: str) -> None:
    assert complaint in refusal(line)


def test_a_secret_given_inline_is_not_echoed() -> None:
    assert "hunter2" not in refusal("x --secret password=hunter2")


def test_too_many_metadata_pairs() -> None:
    line = "x " + " ".join(f"--metadata k{i}=v" for i in range(9))
    assert "at most 8 pairs" in refusal(line)
    assert "I keep 2 of Browser Use's 10" in refusal(line)  # the route and the thread's browser
    assert len(wire("x " + " ".join(f"--metadata k{i}=v" for i in range(8)))["metadata"]) == 8


def test_the_admins_defaults_apply_unless_the_person_overrides_them() -> None:
    defaults = Defaults(llm="gpt-4.1-mini", max_steps=40, allowed_domains=("example.com",))
    assert wire("x", defaults) == {
        "task": "x",
        "llm": "gpt-4.1-mini",
        "maxSteps": 40,
        "allowedDomains": ["example.com"],
    }
    assert wire("x --model o3 --max-steps 5", defaults)["llm"] == "o3"


def test_subcommands() -> None:
    assert parse_command("help", NONE) == Help()
    assert parse_command("", NONE) == OpenForm()
    assert parse_command(" form ", NONE) == OpenForm()
    run = parse_command("Open <https://example.com|example> --flash", NONE)
    assert isinstance(run, Run)
    assert run.request.task == "Open https://example.com"


def test_a_command_that_starts_with_when_is_a_recurring_task() -> None:
    from bot.schedules import Repeat
    from handlers.flags import Every

    parsed = parse_command(
        "every weekday at 9:00 Check the price of the Sony WH-1000XM5 on amazon.com "
        "--model gpt-4.1 --on-change",
        NONE,
    )
    assert isinstance(parsed, Every)
    assert parsed.repeat == Repeat("weekdays", hour=9)
    assert parsed.request.task == "Check the price of the Sony WH-1000XM5 on amazon.com"
    assert parsed.request.llm == "gpt-4.1"
    assert parsed.on_change and not parsed.notify
    # A task that merely starts with "every" is a task.
    assert isinstance(parse_command("every product on this page: list its price", NONE), Run)


@pytest.mark.parametrize(
    ("line", "complaint"),
    [
        ("every 5 minutes check", "at most every 15 minutes"),
        ("every fortnight check", "Say it like"),
        ("check it --notify", "is for recurring tasks"),
        ("every day at 9 check --session 0b7e1f3a-5c1d-4e2f-9a8b-7c6d5e4f3a2b", "fresh browser"),
    ],
)
def test_a_recurring_task_the_app_cannot_keep_is_refused(line: str, complaint: str) -> None:
    with pytest.raises(UserInputError, match=complaint):
        parse_command(line, NONE)


def test_the_admins_shortest_repeat_applies() -> None:
    with pytest.raises(UserInputError, match="at most every 60 minutes"):
        parse_command("every 30 minutes check", NONE, 60)


def test_login_words_fill_the_login_form() -> None:
    from handlers.flags import Logins, SaveLogin

    assert parse_command("logins", NONE) == Logins()
    assert parse_command("login Expenses https://expenses.example/login --proxy DE", NONE) == (
        SaveLogin("Expenses", "https://expenses.example/login", "de")
    )
    assert parse_command("login", NONE) == SaveLogin()
    with pytest.raises(UserInputError, match="--model"):
        parse_command("login CRM --model o3", NONE)
    run = parse_command("Submit the receipts --login expenses --max-steps 20", NONE)
    assert isinstance(run, Run) and run.login == "expenses"
    assert run.request.task == "Submit the receipts" and run.request.max_steps == 20
    every = parse_command("every day at 9:00 check the inbox --login mail", NONE)
    assert isinstance(every, Every) and every.login == "mail"
    assert every.request.task == "check the inbox"


def test_a_login_brings_its_profile_and_proxy_and_refuses_what_contradicts_them() -> None:
    from bot.store import Login
    from handlers.flows.logins import with_login

    login = Login(team="T", name="CRM", owner="U1", profile_id=str(UUID(int=7)), proxy="de")
    request = with_login(parse_inline("Export leads --width 1280", NONE)[0], login)
    assert request.to_wire()["sessionSettings"] == {
        "browserScreenWidth": 1280,
        "profileId": str(UUID(int=7)),
        "proxyCountryCode": "de",
    }
    no_proxy = with_login(parse_inline("Export", NONE)[0], replace(login, proxy="none"))
    assert no_proxy.to_wire()["sessionSettings"]["proxyCountryCode"] is None
    for line, complaint in (
        ("Export --proxy us", "browse from there too"),
        (f"Export --profile {UUID(int=9)}", "not both"),
        (f"Export --session {UUID(int=9)}", "leave out `--session`"),
    ):
        with pytest.raises(UserInputError, match=complaint):
            with_login(parse_inline(line, NONE)[0], login)


def test_the_login_form_takes_only_what_it_shows() -> None:
    from handlers.errors import FormErrors
    from handlers.flows.logins import parse_login_form

    login = parse_login_form(
        {"login_name": " CRM ", "login_url": "https://crm.example", "login_proxy": "DE",
         "login_shared": "channels", "login_channels": ["C1", "G2"]},
        "T1",
        "U1",
    )  # fmt: skip
    assert (login.name, login.start_url, login.proxy, login.channels) == (
        "CRM",
        "https://crm.example",
        "de",
        ("C1", "G2"),
    )
    for values, field in (
        ({"login_name": ""}, "login_name"),
        ({"login_name": "--model"}, "login_name"),
        ({"login_name": "x", "login_url": "ftp://x"}, "login_url"),
        ({"login_name": "x", "login_proxy": "zz"}, "login_proxy"),
        ({"login_name": "x", "login_shared": "channels"}, "login_channels"),
        # Channels are shown as <#ID>: anything but an ID could mention or link.
        ({"login_name": "x", "login_shared": "channels", "login_channels": ["C1>|<!here"]},
         "login_channels"),
    ):  # fmt: skip
        with pytest.raises(FormErrors) as caught:
            parse_login_form(values, "T1", "U1")
        assert field in caught.value.errors
