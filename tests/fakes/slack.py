"""A stand-in for Slack's Web API and for `response_url`s, spoken to over real HTTP.

The real slack_sdk client reaches it through `SLACK_API_URL`. It records every call and answers
like Slack: `ok`, a `ts` per posted message, `not_in_channel` and friends, and `ratelimited` with
`Retry-After`. Like Slack, it refuses a message or a view that breaks a Block Kit rule
(`invalid_blocks`, `invalid_arguments`; see `tests.fakes.blockkit`), and keeps the reasons in
`refused`, which the test fixtures check is empty after every test.

Agent sessions and streams (`agents.sessions.*`, `chat.startStream`/`appendStream`/`stopStream`)
are kept as Slack keeps them: a session's status per thread, a stream open until it is stopped,
until a person clicks Slack's stop button, or until `stream_lifetime` seconds after it started
(Slack ends a stream about five minutes after it started: third-party reports, UNCONFIRMED in
its docs), after which it answers `message_not_in_streaming_state`. What Slack refuses is
refused (`tests.fakes.blockkit.chunk_problems`).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp import WSMsgType, web

from tests.fakes.blockkit import chunk_problems, message_problems, view_problems
from tests.fakes.server import ThreadedServer

log = logging.getLogger(__name__)

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"  # Socket Mode
TEAM_ID = "T0TEST"
BOT_USER_ID = "UBOT"
APP_ID = "A0TEST"
# The app's OAuth credentials, for "Add to Slack" (many workspaces).
CLIENT_ID = "1111.2222"
CLIENT_SECRET = "client-s3cret-test"


@dataclass
class Workspace:
    """A workspace the app is installed in, as its bot token says."""

    team: str | None  # None: an org-wide install
    enterprise: str | None = None
    bot_user_id: str = BOT_USER_ID

    @property
    def tenant(self) -> str:
        return self.enterprise if self.team is None else self.team  # type: ignore[return-value]


@dataclass
class Approval:
    """What the person does on Slack's authorize page: approve for `workspace` as `user`, or
    cancel (`deny`)."""

    workspace: Workspace
    user: str = "UINSTALLER"
    deny: bool = False


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)
    answer: dict[str, Any] = field(default_factory=dict)
    tenant: str | None = None  # whose bot token made it (the tenant it was installed for)

    @property
    def raw(self) -> str:
        return json.dumps(self.args, ensure_ascii=False)


@dataclass
class Stream:
    """A message the app streams into a thread."""

    channel: str
    thread_ts: str
    mode: str
    started: float
    chunks: list[dict[str, Any]] = field(default_factory=list)
    open: bool = True
    stopped_by_user: bool = False
    final: dict[str, Any] = field(default_factory=dict)  # chat.stopStream's arguments


SESSION_STATUSES = frozenset({"processing", "active", "suspended", "closed"})


@dataclass
class Failure:
    error: str
    status: int = 200
    retry_after: int | None = None


def _decoded_list(value: Any) -> list[dict[str, Any]]:
    value = json.loads(value) if isinstance(value, str) else value
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


class FakeSlack(ThreadedServer):
    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self.sockets: list[web.WebSocketResponse] = []
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.calls: list[Call] = []
            self.responses: list[Call] = []  # messages sent to response_url
            self._failures: dict[str, list[Failure]] = {}
            self._blocked: dict[str, str] = {}
            self.uploads: dict[str, dict[str, Any]] = {}  # file ID -> name, content, where
            self.socket_acks: list[dict[str, Any]] = []
            self.refused: list[tuple[str, list[str]]] = []  # (method, why Slack said no)
            self.delays: dict[str, float] = {}  # method -> seconds before it answers
            self.workflow_tokens: set[str] = set()  # execution tokens not yet expired
            self.workspace_admins: set[str] = set()  # users.info says is_admin
            # users.info's `enterprise_user.is_admin`: admins of the whole organisation.
            self.org_admins: set[str] = set()
            self.usergroups: dict[str, set[str]] = {}  # user group ID -> its members
            self.time_zones: dict[str, str] = {}  # users.info's `tz`, by user
            self._answers: dict[str, list[dict[str, Any]]] = {}  # method -> canned answers
            self.shared_files: dict[str, dict[str, Any]] = {}  # files people shared, by ID
            self.file_downloads: list[dict[str, str]] = []  # (the headers of) each download
            self.files_read_scope = True  # False: the app lacks files:read (HTML, not the file)
            self.down_until = 0.0  # until then (monotonic), every call gets a 503 (`outage`)
            # Bot tokens Slack accepts, and whose each is (installs add theirs).
            self.tokens: dict[str, Workspace] = {BOT_TOKEN: Workspace(TEAM_ID)}
            self.approvals: list[Approval] = []  # the next visits to the authorize page
            self.codes: dict[str, tuple[Approval, str]] = {}  # code -> (approval, redirect_uri)
            self.authorize_visits: list[dict[str, str]] = []
            self.streams: dict[str, Stream] = {}  # by the streamed message's ts
            self.stream_lifetime = 300.0  # seconds a stream stays open (see the module's doc)
            # Each thread's agent session: its statuses in order, its title and initiator.
            self.sessions: dict[tuple[str, str], dict[str, Any]] = {}

    # --- what a test can ask for -------------------------------------------------------------

    def share_file(
        self, name: str, content: bytes, mimetype: str, *, id_only: bool = False
    ) -> dict[str, Any]:
        """A file a person shares in a message: the `files[]` item its event carries (a Slack
        Connect file may come as an ID only, to be read with `files.info`)."""
        file_id = f"F{uuid.uuid4().hex[:10].upper()}"
        full = {
            "id": file_id,
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "filetype": name.rsplit(".", 1)[-1],
            "size": len(content),
            "url_private": f"{self.url}/files-pri/T0TEST-{file_id}/{name}",
            "url_private_download": f"{self.url}/files-pri/T0TEST-{file_id}/download/{name}",
        }
        self.shared_files[file_id] = {**full, "content": content}
        return {"id": file_id, "file_access": "check_file_info"} if id_only else full

    def approve_next(self, approval: Approval) -> None:
        """The next visit to the authorize page: approved (or cancelled) this way."""
        with self._lock:
            self.approvals.append(approval)

    def uninstall(self, tenant: str) -> None:
        """The app is removed from the workspace: its bot tokens stop working."""
        with self._lock:
            self.tokens = {t: w for t, w in self.tokens.items() if w.tenant != tenant}

    def calls_by(self, tenant: str, method: str | None = None) -> list[Call]:
        """The calls made with `tenant`'s bot token (of `method`)."""
        with self._lock:
            return [
                c
                for c in self.calls
                if c.tenant == tenant and (method is None or c.method == method)
            ]

    def fail_next(
        self,
        method: str,
        error: str,
        *,
        times: int = 1,
        status: int = 200,
        retry_after: int | None = None,
    ) -> None:
        with self._lock:
            queue = self._failures.setdefault(method, [])
            queue.extend(Failure(error, status, retry_after) for _ in range(times))

    def succeeded(self, method: str) -> list[Call]:
        """The calls of `method` that Slack accepted."""
        return [c for c in self.calls_to(method) if c.answer.get("ok")]

    def answer_next(self, method: str, answer: dict[str, Any]) -> None:
        """The next call of `method` gets `answer` as it is (a shape Slack may change to)."""
        with self._lock:
            self._answers.setdefault(method, []).append(answer)

    def outage(self, seconds: float) -> None:
        """Slack is down for `seconds`: the Web API and response URLs answer 503, as its load
        balancer does, with a body that is not Slack's JSON."""
        self.down_until = time.monotonic() + seconds

    def is_down(self) -> bool:
        return time.monotonic() < self.down_until

    def block_channel(self, channel: str, error: str = "not_in_channel") -> None:
        """The bot cannot post in `channel`: every chat.* call there fails with `error`."""
        self._blocked[channel] = error

    def response_url(self, key: str = "cmd") -> str:
        return f"{self.url}/response/{key}"

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def posts(self) -> list[Call]:
        return self.calls_to("chat.postMessage")

    def in_thread(self, thread_ts: str) -> list[Call]:
        """The messages posted into a thread (its parent excluded)."""
        return [c for c in self.posts() if c.args.get("thread_ts") == thread_ts]

    def reactions(self, ts: str) -> list[str]:
        """The reactions on a message now, after every add and remove."""
        present: list[str] = []
        for call in self.calls:
            if call.args.get("timestamp") != ts:
                continue
            if call.method == "reactions.add":
                present.append(call.args["name"])
            elif call.method == "reactions.remove" and call.args["name"] in present:
                present.remove(call.args["name"])
        return present

    def files_in(self, thread_ts: str) -> dict[str, bytes]:
        """Files completed into a thread: name -> content."""
        return {
            f["name"]: f["content"]
            for f in self.uploads.values()
            if f.get("thread_ts") == thread_ts and f.get("complete")
        }

    def session(self, channel: str, thread_ts: str) -> dict[str, Any]:
        """The thread's agent session: `statuses` (in order), `title`, `initiator`."""
        return self.sessions.get((channel, thread_ts)) or {"statuses": []}

    def streams_in(self, thread_ts: str) -> list[Stream]:
        """The streams in a thread, oldest first."""
        return [s for s in self.streams.values() if s.thread_ts == thread_ts]

    def press_stop(self, channel: str, thread_ts: str) -> list[str]:
        """A person clicks the session's stop button: Slack stops the app's streams in the
        thread (the ts it names in the event) and leaves the rest to the app."""
        stopped = []
        with self._lock:
            for ts, stream in self.streams.items():
                if stream.channel == channel and stream.thread_ts == thread_ts and stream.open:
                    stream.open, stream.stopped_by_user = False, True
                    stopped.append(ts)
        return stopped

    def everything_sent(self) -> str:
        """Every argument of every call and response, as one string, for leak checks."""
        with self._lock:
            return "\n".join(c.raw for c in [*self.calls, *self.responses])

    # --- the server ---------------------------------------------------------------------------

    def build(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)  # slack_sdk GETs a few read methods
        app.router.add_post("/response/{key}", self._response_url)
        app.router.add_post("/upload/{file}", self._upload)
        app.router.add_get("/files-pri/{owner}/download/{name}", self._file)
        app.router.add_get("/socket", self._socket)
        app.router.add_get("/oauth/v2/authorize", self._authorize)
        # For a benchmark that runs this stand-in in another process.
        app.router.add_get("/_control/posts", self._control_posts)
        app.router.add_get("/_control/calls", self._control_calls)
        app.router.add_post("/_control/reset", self._control_reset)
        app.router.add_post("/_control/outage", self._control_outage)
        app.router.add_post("/_control/tokens", self._control_tokens)
        return app

    async def _control_tokens(self, request: web.Request) -> web.Response:
        """Bot tokens Slack accepts from now on, by team: as if each workspace had installed."""
        for token, team in (await request.json()).items():
            self.tokens[token] = Workspace(team)
        return web.json_response({"ok": True})

    async def _file(self, request: web.Request) -> web.Response:
        """Slack's file host: the file for a bot token with files:read; else, as Slack does, a
        login page in HTML with a 200."""
        self.file_downloads.append(dict(request.headers))
        file_id = request.match_info["owner"].split("-", 1)[-1]
        shared = self.shared_files.get(file_id)
        authorized = request.headers.get("Authorization", "").removeprefix("Bearer ") in self.tokens
        if shared is None or not authorized or not self.files_read_scope:
            page = (
                "<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in</body></html>"
            )
            return web.Response(text=page, content_type="text/html")
        return web.Response(body=shared["content"], content_type=shared["mimetype"])

    async def _control_posts(self, _: web.Request) -> web.Response:
        posts = [
            {
                "channel": c.args.get("channel"),
                "thread_ts": c.args.get("thread_ts"),
                "text": c.args.get("text"),
                "ts": c.answer.get("ts"),
                "ok": bool(c.answer.get("ok")),
                "at": c.at,
            }
            for c in self.posts()
        ]
        return web.json_response(posts)

    async def _control_calls(self, request: web.Request) -> web.Response:
        """Every Web API call: its method, when, its text (a post), and whether Slack took it;
        with `?full=1`, its arguments and answer too."""
        full = request.query.get("full") == "1"
        return web.json_response(
            [
                {
                    "method": c.method,
                    "at": c.at,
                    "text": c.args.get("text") or "",
                    "ok": bool(c.answer.get("ok")),
                    "tenant": c.tenant,
                    **({"args": c.args, "answer": c.answer} if full else {}),
                }
                for c in self.calls
            ]
        )

    async def _control_outage(self, request: web.Request) -> web.Response:
        self.outage(float((await request.json())["seconds"]))
        return web.json_response({"ok": True})

    async def _control_reset(self, _: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"ok": True})

    @staticmethod
    async def _args(request: web.Request) -> dict[str, Any]:
        """Arguments from the query string (slack_sdk sends some there) and the body."""
        args: dict[str, Any] = dict(request.query)
        text = await request.text()
        if request.content_type == "application/json":
            args.update(json.loads(text) if text else {})
        else:
            args.update(parse_qsl(text))
        return args

    async def _authorize(self, request: web.Request) -> web.Response:
        """Slack's authorize page, once the person chose: back to the app's redirect URI with a
        code (or `error=access_denied`) and the app's state. Slack refuses an unknown client,
        a missing redirect URI or scope, and so does this."""
        query = dict(request.query)
        self.authorize_visits.append(query)
        redirect = query.get("redirect_uri", "")
        if query.get("client_id") != CLIENT_ID or not redirect or not query.get("scope"):
            return web.Response(status=400, text="Invalid client_id, redirect_uri or scope")
        with self._lock:
            approval = self.approvals.pop(0) if self.approvals else None
        if approval is None:
            return web.Response(status=400, text="the test did not say who approves")
        state = urlencode({"state": query.get("state", "")})
        if approval.deny:
            raise web.HTTPFound(f"{redirect}?error=access_denied&{state}")
        code = uuid.uuid4().hex
        with self._lock:
            self.codes[code] = (approval, redirect)
        raise web.HTTPFound(f"{redirect}?code={code}&{state}")

    def _oauth_access(self, request: web.Request, args: dict[str, Any]) -> dict[str, Any]:
        """`oauth.v2.access`: a code, once, for the app's own credentials (in the body, or as
        HTTP Basic auth as slack_sdk sends them) and the redirect URI it was given for."""
        client_id, secret = args.get("client_id"), args.get("client_secret")
        basic = request.headers.get("Authorization", "")
        if basic.startswith("Basic "):
            client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
        if (client_id, secret) != (CLIENT_ID, CLIENT_SECRET):
            return {"ok": False, "error": "invalid_client_id"}
        with self._lock:
            found = self.codes.pop(str(args.get("code")), None)
        if found is None:
            return {"ok": False, "error": "invalid_code"}
        approval, redirect = found
        if args.get("redirect_uri") != redirect:
            return {"ok": False, "error": "bad_redirect_uri"}
        workspace = approval.workspace
        token = f"xoxb-{workspace.tenant}-{uuid.uuid4().hex[:12]}"
        with self._lock:
            self.tokens[token] = workspace
        org_wide = workspace.team is None
        return {
            "ok": True,
            "app_id": APP_ID,
            "authed_user": {"id": approval.user},
            "scope": ",".join(sorted(set(str(args.get("scope") or "").split(",")) - {""}))
            or "commands,chat:write",
            "token_type": "bot",
            "access_token": token,
            "bot_user_id": workspace.bot_user_id,
            "team": None if org_wide else {"id": workspace.team, "name": workspace.team},
            "enterprise": {"id": workspace.enterprise, "name": "Org"}
            if workspace.enterprise
            else None,
            "is_enterprise_install": org_wide,
        }

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        call = Call(method, args, dict(request.headers))
        try:
            return await self._call(request, method, args, call)
        finally:
            # Recorded once answered, so a test never sees a call whose answer (its ts) is not
            # there yet.
            with self._lock:
                self.calls.append(call)

    async def _call(
        self, request: web.Request, method: str, args: dict[str, Any], call: Call
    ) -> web.Response:
        if self.is_down():
            call.answer = {"ok": False, "error": "http_503"}
            return web.Response(status=503, text="Service Unavailable")
        with self._lock:
            queue = self._failures.get(method)
            failure = queue.pop(0) if queue else None
            canned = self._answers.get(method)
            answer = canned.pop(0) if canned else None
        if self.delays.get(method):
            await asyncio.sleep(self.delays[method])
        if answer is not None:
            call.answer = answer
            return web.json_response(answer)
        if method == "oauth.v2.access":
            call.answer = self._oauth_access(request, args)
            return web.json_response(call.answer)
        given = request.headers.get("Authorization", "").removeprefix("Bearer ")
        workspace = self.tokens.get(given)
        call.tenant = workspace.tenant if workspace else None
        if method == "apps.connections.open":
            if given != APP_TOKEN:
                call.answer = {"ok": False, "error": "invalid_auth"}
                return web.json_response(call.answer)
        elif given.startswith("xwfp-"):
            # A workflow execution's token: good until it expires (a test says when).
            if given not in self.workflow_tokens:
                call.answer = {"ok": False, "error": "token_expired"}
                return web.json_response(call.answer)
        elif workspace is None:
            call.answer = {"ok": False, "error": "invalid_auth"}
            return web.json_response(call.answer)
        if failure is not None:
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
            status = 429 if failure.error == "ratelimited" else failure.status
            return web.json_response(
                {"ok": False, "error": failure.error}, status=status, headers=headers
            )
        channel = str(args.get("channel", ""))
        if method.startswith("chat.") and channel in self._blocked:
            return web.json_response({"ok": False, "error": self._blocked[channel]})
        refusal = self._refusal(method, args)
        if refusal is not None:
            call.answer = refusal
            return web.json_response(refusal)
        if method.startswith("agents.sessions.") or method.endswith("Stream"):
            call.answer = self._agent_answer(method, args)
            return web.json_response(call.answer)
        call.answer = self._answer(method, args, workspace)
        return web.json_response(call.answer)

    MESSAGE_METHODS = frozenset({"chat.postMessage", "chat.update", "chat.postEphemeral"})
    VIEW_METHODS = frozenset({"views.open", "views.update", "views.push", "views.publish"})

    def _refusal(self, method: str, args: dict[str, Any]) -> dict[str, Any] | None:
        """Slack's answer to a payload it would refuse, or None when it is valid."""
        if method in self.MESSAGE_METHODS:
            problems = message_problems(args)
            error = "invalid_blocks"
            if any(p.startswith("no_text") for p in problems):
                error = "no_text"
            elif any(p.startswith("metadata") for p in problems):
                error = "invalid_metadata_format"
        elif method in self.VIEW_METHODS:
            problems, error = view_problems(args.get("view")), "invalid_arguments"
        else:
            return None
        if not problems:
            return None
        return self._refuse(method, error, problems)

    def _agent_answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        """Agent sessions and streams, refused where Slack refuses them."""
        channel = str(args.get("channel") or args.get("channel_id") or "")
        if method in ("agents.sessions.setStatus", "agents.sessions.rename"):
            status, title = args.get("status"), args.get("title")
            problems = []
            if not channel or not args.get("thread_ts"):
                problems.append("channel_id and thread_ts are required")
            if method.endswith("setStatus") and status not in SESSION_STATUSES:
                problems.append(f"status {status!r} is not one of {sorted(SESSION_STATUSES)}")
            if title is not None and not 0 < len(str(title)) <= 200:
                problems.append("title must be 1 to 200 characters")
            if problems:
                return self._refuse(method, "invalid_arguments", problems)
            if method.endswith("setStatus"):
                self._session_status(channel, str(args["thread_ts"]), str(status), args)
            elif (channel, args["thread_ts"]) in self.sessions:
                self.sessions[(channel, str(args["thread_ts"]))]["title"] = title
            return {"ok": True}
        if method == "chat.startStream":
            mode = args.get("task_display_mode") or "timeline"
            problems = chunk_problems(args.get("chunks"), mode)
            if not args.get("thread_ts"):
                problems.append("thread_ts: a stream answers in a thread")
            if mode not in ("timeline", "plan"):
                problems.append(f"task_display_mode {mode!r} is not timeline or plan")
            if len(str(args.get("markdown_text") or "")) > 12_000:
                return self._refuse(method, "msg_too_long", ["markdown_text over 12,000"])
            if not channel.startswith("D"):
                # In a channel a stream is addressed to one person of one team.
                for needed in ("recipient_user_id", "recipient_team_id"):
                    if not args.get(needed):
                        return self._refuse(method, f"missing_{needed}", [needed])
            if problems:
                return self._refuse(method, "invalid_chunks", problems)
            ts = f"{1_700_000_000 + next(self._ts)}.000300"
            stream = Stream(channel, str(args["thread_ts"]), mode, time.monotonic())
            stream.chunks += _decoded_list(args.get("chunks"))
            with self._lock:
                self.streams[ts] = stream
            self._session_status(channel, stream.thread_ts, "processing", {})
            return {"ok": True, "channel": channel, "ts": ts}
        # chat.appendStream, chat.stopStream
        stream = self.streams.get(str(args.get("ts")))
        if stream is None or stream.channel != channel or not self._streaming(stream):
            return {"ok": False, "error": "message_not_in_streaming_state"}
        problems = chunk_problems(args.get("chunks"), stream.mode)
        if method == "chat.stopStream":
            status = args.get("session_status") or "active"
            if status not in SESSION_STATUSES:
                problems.append(f"session_status {status!r} is not a session status")
            if args.get("blocks") is not None:
                problems += message_problems({"text": "-", "blocks": args["blocks"]})
                kinds = {b.get("type") for b in _decoded_list(args["blocks"])}
                if stream.mode == "plan" and kinds & {"plan", "task_card"}:
                    problems.append("a plan stream's blocks may not hold a plan or task cards")
        if problems:
            return self._refuse(method, "invalid_chunks", problems)
        stream.chunks += _decoded_list(args.get("chunks"))
        if method == "chat.stopStream":
            stream.open, stream.final = False, dict(args)
            self._session_status(channel, stream.thread_ts, str(status), {})
        return {"ok": True, "channel": channel, "ts": args["ts"]}

    def _streaming(self, stream: Stream) -> bool:
        if stream.open and time.monotonic() - stream.started > self.stream_lifetime:
            stream.open = False  # Slack ended it
        return stream.open

    def _session_status(
        self, channel: str, thread_ts: str, status: str, args: dict[str, Any]
    ) -> None:
        with self._lock:
            session = self.sessions.get((channel, thread_ts))
            if session is None:
                # Title and initiator are taken when the session is made, and only then.
                session = self.sessions[(channel, thread_ts)] = {
                    "statuses": [],
                    "title": args.get("title"),
                    "initiator": args.get("initiator_user_id"),
                }
            if not session["statuses"] or session["statuses"][-1] != status:
                session["statuses"].append(status)

    def _refuse(self, method: str, error: str, problems: list[str]) -> dict[str, Any]:
        with self._lock:
            self.refused.append((method, problems))
        log.warning("fake slack refused %s: %s: %s", method, error, "; ".join(problems))
        return {"ok": False, "error": error, "response_metadata": {"messages": problems}}

    def _answer(
        self, method: str, args: dict[str, Any], workspace: Workspace | None = None
    ) -> dict[str, Any]:
        if method == "auth.test":
            workspace = workspace or Workspace(TEAM_ID)
            return {
                "ok": True,
                "url": "https://test.slack.com/",
                "team": "Test",
                "user": "browser-use",
                "team_id": workspace.team,
                "enterprise_id": workspace.enterprise,
                "user_id": workspace.bot_user_id,
                "bot_id": "BBOT",
                "is_enterprise_install": workspace.team is None,
            }
        if method in ("chat.postMessage", "chat.update"):
            ts = args.get("ts") or f"{1_700_000_000 + next(self._ts)}.000100"
            channel = str(args.get("channel"))
            return {
                "ok": True,
                # Posted to a person (their user ID), a message lands in their DM with the app.
                "channel": "D" + channel[1:] if channel.startswith("U") else channel,
                "ts": ts,
                "message": {"text": args.get("text"), "ts": ts},
            }
        if method == "apps.connections.open":
            return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"}
        if method == "conversations.replies":
            thread = str(args.get("ts"))
            messages = [
                {
                    "ts": c.answer.get("ts"),
                    "text": c.args.get("text"),
                    "thread_ts": c.args.get("thread_ts") or c.answer.get("ts"),
                    **({"metadata": c.args["metadata"]} if c.args.get("metadata") else {}),
                }
                for c in self.posts()
                if c.answer.get("ts") == thread or c.args.get("thread_ts") == thread
            ]
            return {"ok": True, "messages": messages, "has_more": False}
        if method == "files.info":
            shared = self.shared_files.get(str(args.get("file")))
            if shared is None:
                return {"ok": False, "error": "file_not_found"}
            return {"ok": True, "file": {k: v for k, v in shared.items() if k != "content"}}
        if method == "users.info":
            user = str(args.get("user"))
            return {
                "ok": True,
                "user": {
                    "id": user,
                    "is_admin": user in self.workspace_admins,
                    "is_owner": False,
                    "enterprise_user": {
                        "id": user,
                        "enterprise_id": "E1ORG",
                        "is_admin": user in self.org_admins,
                        "is_owner": False,
                    },
                    "tz": self.time_zones.get(user, "America/Los_Angeles"),
                },
            }
        if method == "chat.getPermalink":
            return {
                "ok": True,
                "channel": args.get("channel"),
                "permalink": f"https://test.slack.com/archives/{args.get('channel')}/"
                f"p{str(args.get('message_ts')).replace('.', '')}",
            }
        if method == "usergroups.users.list":
            group = str(args.get("usergroup") or "")
            if group not in self.usergroups:
                return {"ok": False, "error": "no_such_subteam"}
            return {"ok": True, "users": sorted(self.usergroups[group])}
        if method == "conversations.open":
            users = str(args.get("users") or "")
            if not users:
                return {"ok": False, "error": "not_found"}
            return {"ok": True, "channel": {"id": f"D{users.split(',')[0]}"}}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"{1_700_000_000 + next(self._ts)}.000200"}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ts):06d}"
            self.uploads[file_id] = {"name": args.get("filename"), "content": b""}
            return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = args.get("files")
            files = json.loads(files) if isinstance(files, str) else files
            for f in files or []:
                self.uploads[f["id"]].update(
                    complete=True, channel=args.get("channel_id"), thread_ts=args.get("thread_ts")
                )
            return {
                "ok": True,
                "files": [{"id": f["id"], "title": f.get("title")} for f in files or []],
            }
        if method in ("views.open", "views.update", "views.push"):
            view = args.get("view")
            view = json.loads(view) if isinstance(view, str) else view
            return {"ok": True, "view": {**(view or {}), "id": "V0TEST", "hash": "h1"}}
        return {"ok": True}

    # --- Socket Mode --------------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0TEST"}}
        )
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                self.socket_acks.append(json.loads(message.data))
        return ws

    def send_envelope(self, kind: str, payload: dict[str, Any]) -> str:
        """Push a request down the Socket Mode connection, as Slack does; returns its ID."""
        envelope_id = f"env-{next(self._ts)}"
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
        }

        async def send() -> None:
            await self.sockets[-1].send_json(envelope)

        asyncio.run_coroutine_threadsafe(send(), self.loop).result(5)
        return envelope_id

    async def _upload(self, request: web.Request) -> web.Response:
        self.uploads[request.match_info["file"]]["content"] = await request.read()
        return web.Response(text="OK")

    async def _response_url(self, request: web.Request) -> web.Response:
        if self.is_down():
            return web.Response(status=503, text="Service Unavailable")
        body = await request.json()
        problems = message_problems(body)
        if problems:
            # A response_url answers a refused message with HTTP 400 and the error as text.
            self._refuse("response_url", "invalid_blocks", problems)
            return web.Response(status=400, text="invalid_blocks")
        with self._lock:
            self.responses.append(Call("response_url", body, dict(request.headers)))
        return web.Response(text="ok")
