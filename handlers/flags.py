"""`/browser-use <task> --flag value …`: the command line, parsed into a Create Task request."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.models import CreateTaskRequest
from bot.schedules import Repeat, RepeatError, parse_repeat
from handlers.build import build_request, login_of, merge
from handlers.errors import UserInputError
from handlers.option_values import Fields, country, http_url, suggest
from handlers.options import BY_FLAG, ONCE_ONLY, Defaults
from handlers.slack_text import slack_to_plain
from handlers.subcommands import BY_NAME

# Slack clients turn typed quotes into typographic ones; each opening quote and its closers.
QUOTES = {'"': '"”“', "“": '”"', "„": '“”"', "”": '”"', "'": "'’", "‘": "’'"}


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int
    quoted: bool


def tokenize(line: str) -> list[Token]:
    """Words and quoted strings, with their spans. An apostrophe inside a word is just a letter."""
    tokens: list[Token] = []
    i, n = 0, len(line)
    while i < n:
        if line[i].isspace():
            i += 1
            continue
        closers = QUOTES.get(line[i])
        if closers:
            # A quote opens a string only if it closes before a space or the end.
            for j in range(i + 1, n):
                if line[j] in closers and (j + 1 == n or line[j + 1].isspace()):
                    tokens.append(Token(line[i + 1 : j], i, j + 1, quoted=True))
                    i = j + 1
                    break
            else:
                closers = None
        if not closers:
            j = i
            while j < n and not line[j].isspace():
                j += 1
            tokens.append(Token(line[i:j], i, j, quoted=False))
            i = j
    return tokens


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class OpenForm:
    pass


@dataclass(frozen=True)
class ChannelSettings:
    """`settings`: the channel's defaults."""


@dataclass(frozen=True)
class Run:
    request: CreateTaskRequest
    login: str | None = None  # `--login <name>`: resolved after the ack (it is in the store)


@dataclass(frozen=True)
class SaveLogin:
    """`login [name] [login page] [--proxy xx]`: the form that saves a login, filled in."""

    name: str = ""
    url: str = ""
    proxy: str = ""


@dataclass(frozen=True)
class Logins:
    """`logins`: the saved logins this person may use here."""


@dataclass(frozen=True)
class Status:
    task_id: str


@dataclass(frozen=True)
class Stop:
    task_id: str


@dataclass(frozen=True)
class Every:
    """`every <when> <task> [--on-change] [--notify]`: a recurring task. The repeat is in UTC
    until the person's own time zone is known (`users.info`, after the ack)."""

    request: CreateTaskRequest
    repeat: Repeat
    on_change: bool = False
    notify: bool = False
    login: str | None = None  # `--login <name>`: each run starts logged in


@dataclass(frozen=True)
class AuditRequest:
    """`audit [person] [channel] [days]`: the audit trail, for admins, as a CSV file."""

    person: str | None = None
    channel: str | None = None
    days: int = 30


@dataclass(frozen=True)
class Schedules:
    """`schedules`: the channel's recurring tasks."""


Command = (
    Help
    | OpenForm
    | ChannelSettings
    | Schedules
    | Run
    | Every
    | Status
    | Stop
    | SaveLogin
    | Logins
    | AuditRequest
)
# The switches of a recurring task (not Create Task options).
SCHEDULE_SWITCHES = ("--on-change", "--notify")
_TASK_ID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def parse_command(text: str, defaults: Defaults, min_repeat_minutes: int = 15) -> Command:
    """What `/browser-use <text>` asks for. Raises `UserInputError` with what is wrong."""
    plain = slack_to_plain(text).strip()
    word = plain.lower()
    alone: dict[str, Command] = {
        "help": Help(),
        "form": OpenForm(),
        "settings": ChannelSettings(),
        "schedules": Schedules(),
        "logins": Logins(),
    }
    if word == "":
        return OpenForm()
    for name, command in alone.items():
        if word in BY_NAME[name].words:
            return command
    if word == "login" or word.startswith("login "):
        return save_login_words(plain[len("login") :])
    if word == "audit" or word.startswith("audit "):
        return audit_words(text.strip()[len("audit") :])
    # `stop <task ID>` and `status <task ID>`; "stop the music on Spotify" is still a task.
    verb, _, rest = plain.partition(" ")
    if verb.lower() in ("stop", "status") and _TASK_ID.fullmatch(rest.strip()):
        task_id = rest.strip().lower()
        return Stop(task_id) if verb.lower() == "stop" else Status(task_id)
    switches, plain = _schedule_switches(plain)
    try:
        repeat = parse_repeat(plain, "UTC", min_repeat_minutes)
    except RepeatError as exc:
        raise UserInputError(str(exc)) from None
    if repeat is None:
        if switches:
            raise UserInputError(
                f"`{switches[0]}` is for recurring tasks: start with when, like "
                "`/browser-use every weekday at 9:00 <task>`."
            )
        request, login = parse_inline(plain, defaults)
        return Run(request, login)
    request, login = parse_inline(repeat[1], defaults)
    for name, why in ONCE_ONLY.items():
        if name in request.model_fields_set:
            raise UserInputError(why)
    return Every(request, repeat[0], "--on-change" in switches, "--notify" in switches, login)


def _schedule_switches(line: str) -> tuple[list[str], str]:
    """The recurring task's own switches, and the line without them."""
    found = [t for t in tokenize(line) if not t.quoted and t.text.lower() in SCHEDULE_SWITCHES]
    return [t.text.lower() for t in found], _without(line, [(t.start, t.end) for t in found])


_PERSON = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>|([UW][A-Z0-9]{1,31})")
_CHANNEL = re.compile(r"<#([CGD][A-Z0-9]+)(?:\|[^>]*)?>|([CGD][A-Z0-9]{1,31})")


def audit_words(rest: str) -> AuditRequest:
    """`audit <@U…> <#C…> 7`: whose, where, how many days back (each optional, any order)."""
    person = channel = None
    days = 30
    for word in rest.split():
        if found := _PERSON.fullmatch(word):
            person = found[1] or found[2]
        elif found := _CHANNEL.fullmatch(word):
            channel = found[1] or found[2]
        elif word.isdigit() and 1 <= int(word) <= 366:
            days = int(word)
        else:
            raise UserInputError(
                f"`{word}` is not a person's member ID (U…), a channel ID (C…) or a number of "
                "days from 1 to 366."
            )
    return AuditRequest(person, channel, days)


def save_login_words(rest: str) -> SaveLogin:
    """`login Expenses https://expenses.example/login --proxy de`: what the form opens with."""
    words, proxy, i = tokenize(rest), "", 0
    name, url = [], ""
    while i < len(words):
        text = words[i].text
        if text.lower() in ("--proxy", "--country") and i + 1 < len(words):
            code = country(words[i + 1].text)
            proxy, i = code or "none", i + 2
            continue
        if text.startswith("--"):
            raise UserInputError(
                f"`{text}` is not for a login: it takes a name, a page, `--proxy`."
            )
        if re.match(r"<?https?://", text):
            url = http_url(text)
        else:
            name.append(text)
        i += 1
    return SaveLogin(" ".join(name)[:100], url, proxy)


def parse_inline(line: str, defaults: Defaults) -> tuple[CreateTaskRequest, str | None]:
    """The task is every word that is not an option; options may stand anywhere. With it, the
    name of the saved login it asks for (`--login`), which only the store can resolve."""
    tokens = tokenize(line)
    fields: Fields = {}
    cut: list[tuple[int, int]] = []  # spans of options, removed from the task text
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.quoted or not token.text.startswith("--") or token.text == "--":
            i += 1
            continue
        flag, has_value, value = token.text.partition("=")
        option = BY_FLAG.get(flag.lower())
        if option is None:
            raise UserInputError(
                f"Unknown option `{flag}`.{suggest(flag.lower(), BY_FLAG)} "
                "`/browser-use help` lists them all."
            )
        if not option.inline:
            raise UserInputError(
                "Secrets are not accepted on the command line, where Slack would keep them in "
                "your history. Use the form: `/browser-use` with no text."
            )
        end = token.end
        if option.switch:
            if has_value:
                raise UserInputError(f"`{flag}` takes no value.")
        elif not has_value:
            if i + 1 >= len(tokens) or _is_flag(tokens[i + 1]):
                raise UserInputError(f"`{flag}` needs a value, like `{option.example}`.")
            i += 1
            value, end = tokens[i].text, tokens[i].end
        try:
            merge(fields, option.parse(value))
        except UserInputError as exc:
            raise UserInputError(f"{flag}: {exc.message}", field=option.key) from None
        cut.append((token.start, end))
        i += 1
    login = login_of(fields, defaults)
    return build_request(_without(line, cut), fields, defaults), login


def _is_flag(token: Token) -> bool:
    return not token.quoted and token.text.startswith("--") and token.text.split("=")[0] in BY_FLAG


def _without(line: str, spans: list[tuple[int, int]]) -> str:
    """`line` with the option spans cut out; the task keeps its own spacing and line breaks."""
    kept, last = [], 0
    for start, end in spans:
        kept.append(line[last:start])
        last = end
    kept.append(line[last:])
    return re.sub(r"[ \t]{2,}", " ", "".join(kept)).strip()
