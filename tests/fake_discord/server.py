"""aiohttp app emulating the parts of Discord's REST API and gateway that discord.py uses.

Runs inside the FakeDiscord background loop. All mutable state that tests also read
(messages, interactions, commands, sessions) is guarded by ``self.lock`` (a threading
RLock held only for short, non-awaiting sections).
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import secrets
import threading
import time
import traceback
import zlib
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Optional

import aiohttp
from aiohttp import WSMsgType, web

from . import limits
from .limits import LimitError, MentionPolicy
from .models import (
    ATTACH_FILES,
    CREATE_PUBLIC_THREADS,
    EMBED_LINKS,
    FLAG_EPHEMERAL,
    FLAG_IS_COMPONENTS_V2,
    FLAG_LOADING,
    MANAGE_THREADS,
    GUILD_TEXT,
    PUBLIC_THREAD,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    VIEW_CHANNEL,
    FakeAttachment,
    FakeChannel,
    FakeUser,
    SnowflakeFactory,
    channel_json,
    guild_create_json,
    iso_now,
    member_json,
    role_json,
    user_json,
)
from .records import Recorder, RecordedRequest, UploadedFile, Violation
from .world import FakeGuild, World

API_PREFIX = "/api/v10"

INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT

_EDITABLE_FLAGS = (1 << 2) | (1 << 12) | FLAG_IS_COMPONENTS_V2  # suppress embeds/notifications, v2
_FILE_FIELD_RE = re.compile(r"^files\[(\d+)\]$")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Typed storage keys (aiohttp >= 3.12 warns on plain string keys); strings on older aiohttp.
_RECORD: Any = web.RequestKey("record", RecordedRequest) if hasattr(web, "RequestKey") else "record"
_JSON: Any = web.ResponseKey("fake_json", object) if hasattr(web, "ResponseKey") else "fake_json"


@dataclass
class ServerOptions:
    """Behaviour knobs; defaults mirror real Discord as closely as practical."""

    heartbeat_interval_ms: int = 41250
    mention_policy: MentionPolicy = "detect"
    ack_timeout: Optional[float] = 3.0
    echo_bot_messages: bool = True
    emulate_message_content_intent: bool = True
    allowed_privileged_intents: int = PRIVILEGED_INTENTS
    token: Optional[str] = None
    attachment_size_limit: int = 10 * 1024 * 1024
    recommended_shards: int = 1
    """What GET /gateway/bot recommends: the shard count a bot without its own uses."""


@dataclass
class StoredMessage:
    data: dict[str, Any]
    channel_id: int
    ephemeral: bool = False
    interaction_id: Optional[int] = None
    created: float = field(default_factory=time.monotonic)
    updated: float = field(default_factory=time.monotonic)

    def replace(self, data: dict[str, Any]) -> None:
        self.data = data
        self.updated = time.monotonic()


@dataclass
class InteractionState:
    """Server-side lifecycle of one interaction (ack, original response, follow-ups)."""

    id: int
    token: str
    type: int
    payload: dict[str, Any]
    channel: FakeChannel
    user: FakeUser
    created: float = field(default_factory=time.monotonic)
    acked: bool = False
    response_type: Optional[int] = None
    original_message_id: Optional[int] = None
    source_message_id: Optional[int] = None
    followup_ids: list[int] = field(default_factory=list)
    choices: Optional[list[dict[str, Any]]] = None
    modal: Optional[dict[str, Any]] = None


class GatewaySession:
    """One websocket connection; sends in order (zlib-stream keeps shared state)."""

    def __init__(self, ws: web.WebSocketResponse, *, zlib_stream: bool) -> None:
        self.ws = ws
        self.seq = 0
        self.session_id: Optional[str] = None
        self.intents = 0
        self.active = False
        self.shard: tuple[int, int] = (0, 1)  # [shard_id, shard_count] from IDENTIFY
        self._lock = asyncio.Lock()
        self._zlib = zlib.compressobj() if zlib_stream else None

    async def send(self, payload: dict[str, Any]) -> None:
        text = json.dumps(payload)
        async with self._lock:
            if self.ws.closed:
                return
            if self._zlib is not None:
                data = self._zlib.compress(text.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
                await self.ws.send_bytes(data)
            else:
                await self.ws.send_str(text)

    async def dispatch(self, event: str, data: Any) -> None:
        self.seq += 1
        await self.send({"op": 0, "t": event, "s": self.seq, "d": data})


def json_response(data: Any, status: int = 200) -> web.Response:
    """JSON with ``Content-Type: application/json`` exactly: discord.py's ``json_or_text``
    compares the header verbatim, and aiohttp's ``json_response`` would append a charset."""
    resp = web.Response(body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"})
    resp[_JSON] = data
    return resp


def error_response(status: int, code: int, message: str) -> web.Response:
    return json_response({"message": message, "code": code}, status=status)


def no_content() -> web.Response:
    return web.Response(status=204)


@dataclass
class Hold:
    """REST requests matching ``method`` and ``path`` wait until released: a slow Discord, to catch replies in flight."""

    method: str
    path: "re.Pattern[str]"
    arrived: threading.Event = field(default_factory=threading.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and self.path.fullmatch(path) is not None


class FakeDiscordServer:
    """REST + gateway handlers and the state behind them."""

    def __init__(self, world: World, options: ServerOptions, recorder: Recorder) -> None:
        self.world = world
        self.options = options
        self.recorder = recorder
        self.lock = threading.RLock()
        self.snowflakes = SnowflakeFactory()
        self.messages: dict[int, StoredMessage] = {}
        self.interactions: dict[int, InteractionState] = {}
        self.tokens: dict[str, int] = {}
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self.files: dict[int, FakeAttachment] = {}
        self.sessions: dict[str, GatewaySession] = {}
        self.active: Optional[GatewaySession] = None  # the session that connected last
        self.shard_sessions: dict[int, GatewaySession] = {}  # shard id -> its live session
        self.identifies: list[dict[str, Any]] = []
        self.ready_count = 0
        self.joined_at = iso_now()
        self.holds: list[Hold] = []
        self.host = "127.0.0.1"
        self.port = 0
        self._runner: Optional[web.AppRunner] = None
        self._sockets: set[web.WebSocketResponse] = set()

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway"

    def make_app(self) -> web.Application:
        # Discord accepts uploads far above aiohttp's 1 MiB default body limit.
        app = web.Application(middlewares=[self._record_middleware], client_max_size=256 * 1024 * 1024)
        r = app.router
        a = API_PREFIX
        r.add_get("/gateway", self._gateway)
        r.add_get("/attachments/{attachment_id}/{filename}", self._serve_attachment)
        r.add_get(a + "/users/@me", self._get_me)
        r.add_get(a + "/users/{user_id}", self._get_user)
        r.add_post(a + "/users/@me/channels", self._create_dm)
        r.add_get(a + "/oauth2/applications/@me", self._get_application)
        r.add_get(a + "/applications/@me", self._get_application)
        r.add_get(a + "/gateway", self._get_gateway)
        r.add_get(a + "/gateway/bot", self._get_gateway_bot)
        for base in ("/applications/{app_id}/commands", "/applications/{app_id}/guilds/{guild_id}/commands"):
            r.add_get(a + base, self._list_commands)
            r.add_put(a + base, self._bulk_commands)
            r.add_post(a + base, self._upsert_command)
            r.add_get(a + base + "/{command_id}", self._get_command)
            r.add_patch(a + base + "/{command_id}", self._edit_command)
            r.add_delete(a + base + "/{command_id}", self._delete_command)
        r.add_get(a + "/guilds/{guild_id}", self._get_guild)
        r.add_get(a + "/guilds/{guild_id}/roles", self._get_roles)
        r.add_get(a + "/guilds/{guild_id}/channels", self._get_guild_channels)
        r.add_get(a + "/guilds/{guild_id}/members/{user_id}", self._get_member)
        r.add_get(a + "/channels/{channel_id}", self._get_channel)
        r.add_delete(a + "/channels/{channel_id}", self._delete_channel)
        r.add_post(a + "/channels/{channel_id}/typing", self._typing)
        r.add_get(a + "/channels/{channel_id}/messages", self._history)
        r.add_post(a + "/channels/{channel_id}/messages", self._create_message)
        r.add_get(a + "/channels/{channel_id}/messages/{message_id}", self._get_message)
        r.add_patch(a + "/channels/{channel_id}/messages/{message_id}", self._edit_message)
        r.add_delete(a + "/channels/{channel_id}/messages/{message_id}", self._delete_message)
        r.add_post(a + "/channels/{channel_id}/messages/{message_id}/threads", self._start_thread)
        r.add_put(a + "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me", self._reaction)
        r.add_delete(a + "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me", self._reaction)
        r.add_post(a + "/interactions/{interaction_id}/{token}/callback", self._interaction_callback)
        r.add_post(a + "/webhooks/{app_id}/{token}", self._webhook_create)
        r.add_get(a + "/webhooks/{app_id}/{token}/messages/{message_id}", self._webhook_get)
        r.add_patch(a + "/webhooks/{app_id}/{token}/messages/{message_id}", self._webhook_edit)
        r.add_delete(a + "/webhooks/{app_id}/{token}/messages/{message_id}", self._webhook_delete)
        r.add_route("*", "/{tail:.*}", self._unknown)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.make_app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------------ recording

    @web.middleware
    async def _record_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == "/gateway":
            return await handler(request)
        body, files = await self._parse_body(request)
        path = request.path[len(API_PREFIX):] if request.path.startswith(API_PREFIX) else request.path
        rec = RecordedRequest(index=-1, method=request.method, path=path, query=dict(request.query), json=body, files=files)
        request[_RECORD] = rec
        for hold in [h for h in self.holds if h.matches(request.method, path)]:
            hold.arrived.set()
            await hold.released.wait()
        try:
            resp = await handler(request)
        except Exception:  # a bug in the fake itself: make it loud, not a silent 500 retry loop
            rec.kind = "fake.error"
            self.recorder.server_errors.append(traceback.format_exc())
            resp = error_response(400, 0, "fake_discord internal error:\n" + traceback.format_exc(limit=3))
        rec.status = resp.status
        rec.response = resp.get(_JSON)
        if rec.message is None and rec.kind in ("message.create", "message.edit", "webhook.create", "webhook.edit") and rec.ok:
            rec.message = copy.deepcopy(rec.response)
        self.recorder.add_request(rec)
        return resp

    async def _parse_body(self, request: web.Request) -> tuple[Any, list[UploadedFile]]:
        files: list[UploadedFile] = []
        if request.content_type.startswith("multipart/"):
            payload: Any = None
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, aiohttp.BodyPartReader):  # nested multipart: not used by discord.py
                    continue
                if part.name == "payload_json":
                    payload = json.loads(await part.text())
                else:
                    data = bytes(await part.read(decode=False))
                    files.append(UploadedFile(part.name or "", part.filename, part.headers.get("Content-Type"), data))
            return payload, files
        if not request.body_exists:
            return None, files
        raw = await request.read()
        if not raw:
            return None, files
        try:
            return json.loads(raw), files
        except ValueError:
            return raw.decode(errors="replace"), files

    def _reject(self, rec: RecordedRequest, errors: list[LimitError], *, kind: str = "limits") -> web.Response:
        """400 with Discord's error body, and a recorded violation."""
        rec.errors = errors
        self.recorder.add_violation(
            Violation(kind, rec.method, rec.path, tuple(errors), copy.deepcopy(rec.json), rec)
        )
        return json_response(limits.to_discord_error(errors), status=400)

    def _too_large(self, rec: RecordedRequest) -> Optional[web.Response]:
        """Discord rejects uploads above the guild's limit with 413 / 40005."""
        total = sum(len(f.data) for f in rec.files)
        if total <= self.options.attachment_size_limit:
            return None
        err = LimitError("files", "REQUEST_ENTITY_TOO_LARGE", f"{total} bytes > {self.options.attachment_size_limit}")
        rec.errors = [err]
        self.recorder.add_violation(Violation("limits", rec.method, rec.path, (err,), copy.deepcopy(rec.json), rec))
        return error_response(413, 40005, "Request entity too large")

    def _protocol_violation(self, rec: RecordedRequest, code: str, message: str, resp: web.Response, kind: str = "protocol") -> web.Response:
        err = LimitError("interaction", code, message)
        rec.errors = [err]
        self.recorder.add_violation(Violation(kind, rec.method, rec.path, (err,), copy.deepcopy(rec.json), rec))
        return resp

    async def _unknown(self, request: web.Request) -> web.Response:
        rec: RecordedRequest = request[_RECORD]
        rec.kind = "unknown"
        return error_response(404, 0, f"fake_discord: no route for {request.method} {request.path}")

    # ------------------------------------------------------------------ helpers

    def _auth_ok(self, request: web.Request) -> bool:
        if self.options.token is None:
            return True
        return request.headers.get("Authorization") == f"Bot {self.options.token}"

    def _check_app(self, request: web.Request) -> bool:
        return int(request.match_info["app_id"]) == self.world.application_id

    def _channel(self, channel_id: int) -> Optional[FakeChannel]:
        return self.world.channel_by_id(channel_id)

    def _embeds(self, embeds: Any) -> list[dict[str, Any]]:
        out = []
        for e in embeds or []:
            e = dict(e)
            e.setdefault("type", "rich")
            out.append(e)
        return out

    def store_file(self, filename: str, data: bytes, content_type: Optional[str] = None, description: Optional[str] = None) -> FakeAttachment:
        """Keep bytes and serve them from ``/attachments/{id}/{filename}``."""
        aid = self.snowflakes.next()
        att = FakeAttachment(
            id=aid, filename=filename, data=data, url=f"{self.base_url}/attachments/{aid}/{filename}",
            content_type=content_type, description=description,
        )
        with self.lock:
            self.files[aid] = att
        return att

    def _attachments(self, payload: dict[str, Any], files: list[UploadedFile], existing: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Map ``attachments`` specs + ``files[n]`` parts to attachment objects (edits keep old ids)."""
        by_index: dict[int, UploadedFile] = {}
        for n, f in enumerate(files):
            m = _FILE_FIELD_RE.match(f.field)
            by_index[int(m.group(1)) if m else n] = f
        specs = payload.get("attachments")
        if specs is None:
            new = [self.store_file(f.filename or "file", f.data, f.content_type).to_json() for f in files]
            return list(existing) + new
        old = {str(a["id"]): a for a in existing}
        out: list[dict[str, Any]] = []
        for spec in specs:
            sid = str(spec.get("id"))
            if sid in old:
                out.append(old[sid])
                continue
            upload = by_index.get(int(sid)) if sid.isdigit() and int(sid) in by_index else None
            if upload is None:
                continue
            name = spec.get("filename") or upload.filename or "file"
            out.append(self.store_file(name, upload.data, upload.content_type, spec.get("description")).to_json())
        return out

    def _new_message(
        self,
        channel: FakeChannel,
        payload: dict[str, Any],
        files: list[UploadedFile],
        *,
        interaction: Optional[InteractionState] = None,
        extra_flags: int = 0,
    ) -> StoredMessage:
        mid = self.snowflakes.next()
        flags = (int(payload.get("flags") or 0) & (_EDITABLE_FLAGS | (FLAG_EPHEMERAL if interaction else 0))) | extra_flags
        msg: dict[str, Any] = {
            "id": str(mid),
            "channel_id": str(channel.id),
            "author": user_json(self.world.bot),
            "content": payload.get("content") or "",
            "timestamp": iso_now(),
            "edited_timestamp": None,
            "tts": bool(payload.get("tts")),
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": self._attachments(payload, files, []),
            "embeds": self._embeds(payload.get("embeds")),
            "components": copy.deepcopy(payload.get("components") or []),
            "pinned": False,
            "type": 0,
            "flags": flags,
        }
        if payload.get("nonce") is not None:
            msg["nonce"] = payload["nonce"]
        ref = payload.get("message_reference")
        if ref:
            ref_id = int(ref["message_id"])
            msg["type"] = 19
            msg["message_reference"] = {
                "type": 0, "message_id": str(ref_id), "channel_id": str(ref.get("channel_id") or channel.id),
                **({} if channel.is_dm else {"guild_id": str(self._guild_id_of(channel))}),
            }
            with self.lock:
                target = self.messages.get(ref_id)
            msg["referenced_message"] = copy.deepcopy(target.data) if target else None
        if interaction is not None:
            app = str(self.world.application_id)
            msg.update(webhook_id=app, application_id=app)
            meta = {
                "id": str(interaction.id), "type": interaction.type, "user": user_json(interaction.user),
                "authorizing_integration_owners": {"0": str(self._guild_id_of(channel) or self.world.guild_id)},
            }
            if interaction.type == 2 and (data := interaction.payload.get("data", {})).get("type") == 3:
                meta["target_message_id"] = data["target_id"]  # a message command: the message it was run on
            msg["interaction_metadata"] = meta
            if interaction.type == 2:
                msg["type"] = 20
                msg["interaction"] = {"id": str(interaction.id), "type": 2, "name": interaction.payload["data"]["name"], "user": user_json(interaction.user)}
        stored = StoredMessage(
            data=msg, channel_id=channel.id, ephemeral=bool(flags & FLAG_EPHEMERAL),
            interaction_id=interaction.id if interaction else None,
        )
        with self.lock:
            self.messages[mid] = stored
        return stored

    def _edited(self, stored: StoredMessage, payload: dict[str, Any], files: list[UploadedFile]) -> dict[str, Any]:
        """The message after applying an edit payload (not committed)."""
        d = copy.deepcopy(stored.data)
        if "content" in payload:
            d["content"] = payload["content"] or ""
        if "embeds" in payload:
            d["embeds"] = self._embeds(payload["embeds"])
        if "components" in payload:
            d["components"] = copy.deepcopy(payload["components"] or [])
        if payload.get("flags") is not None:
            d["flags"] = (d["flags"] & FLAG_EPHEMERAL) | (int(payload["flags"]) & _EDITABLE_FLAGS)
        if "attachments" in payload or files:
            d["attachments"] = self._attachments(payload, files, d["attachments"])
        d["flags"] &= ~FLAG_LOADING
        d["edited_timestamp"] = iso_now()
        return d

    def _guild_id_of(self, channel: FakeChannel) -> Optional[int]:
        guild = self.world.guild_of(channel)
        return guild.id if guild else None

    def _gateway_message(self, data: dict[str, Any], channel: FakeChannel) -> dict[str, Any]:
        d = copy.deepcopy(data)
        guild = self.world.guild_of(channel)
        if guild is not None:
            d["guild_id"] = str(guild.id)
            author = self.world.resolve_user(int(d["author"]["id"]))
            d["member"] = member_json(author, include_user=False, role_ids=self.world.member_roles(author, guild) or ())
        return d

    async def echo(self, event: str, stored: StoredMessage) -> None:
        """Real Discord echoes the bot's own non-ephemeral messages over the gateway."""
        if not self.options.echo_bot_messages or stored.ephemeral:
            return
        channel = self._channel(stored.channel_id)
        if channel is None:
            return
        intent = INTENT_DIRECT_MESSAGES if channel.is_dm else INTENT_GUILD_MESSAGES
        if event == "MESSAGE_DELETE":
            d: dict[str, Any] = {"id": stored.data["id"], "channel_id": str(channel.id)}
            if not channel.is_dm:
                d["guild_id"] = str(self._guild_id_of(channel))
        else:
            d = self._gateway_message(stored.data, channel)
        await self.dispatch(event, d, intent=intent)

    def session_for(self, guild_id: Optional[int]) -> Optional[GatewaySession]:
        """The session of the shard Discord sends this guild's events to: ``(guild_id >> 22) % shard_count``.

        DMs (``guild_id`` None) go to shard 0, as on Discord.
        """
        with self.lock:
            if not self.shard_sessions:
                return None
            count = next(iter(self.shard_sessions.values())).shard[1]
            return self.shard_sessions.get(0 if guild_id is None else (guild_id >> 22) % count)

    @staticmethod
    def _guild_of_event(event: str, data: Any) -> Optional[int]:
        if not isinstance(data, dict):
            return None
        raw = data.get("id") if event.startswith("GUILD_") and "guild_id" not in data else data.get("guild_id")
        return int(raw) if raw else None

    async def dispatch(self, event: str, data: Any, *, intent: Optional[int] = None) -> bool:
        """Send a DISPATCH to the session of the event's shard; False (and noted) if none or intent missing."""
        session = self.session_for(self._guild_of_event(event, data))
        if session is None:
            self.recorder.dropped_events.append((event, "no active gateway session"))
            return False
        if intent is not None and not session.intents & intent:
            self.recorder.dropped_events.append((event, f"missing intent {intent:#x}"))
            return False
        await session.dispatch(event, data)
        return True

    # ------------------------------------------------------------------ users / app / gateway info

    async def _get_me(self, request: web.Request) -> web.Response:
        request[_RECORD].kind = "users.me"
        if not self._auth_ok(request):
            return error_response(401, 0, "401: Unauthorized")
        return json_response(user_json(self.world.bot, full=True))

    async def _get_user(self, request: web.Request) -> web.Response:
        request[_RECORD].kind = "users.get"
        try:
            return json_response(user_json(self.world.resolve_user(int(request.match_info["user_id"]))))
        except (KeyError, ValueError):
            return error_response(404, 10013, "Unknown User")

    async def _get_application(self, request: web.Request) -> web.Response:
        request[_RECORD].kind = "application.get"
        owner = self.world.resolve_user(self.world.application_owner_id)
        return json_response({
            "id": str(self.world.application_id), "name": self.world.bot.username, "description": "fake application",
            "icon": None, "bot_public": True, "bot_require_code_grant": False, "owner": user_json(owner),
            "team": None, "verify_key": "0" * 64, "flags": (1 << 15) | (1 << 19), "summary": "",
            "bot": user_json(self.world.bot), "redirect_uris": [], "interactions_endpoint_url": None,
            "approximate_guild_count": len(self.world.guilds(joined_only=True)), "tags": [],
        })

    async def _get_gateway(self, request: web.Request) -> web.Response:
        request[_RECORD].kind = "gateway.get"
        return json_response({"url": self.gateway_url})

    async def _get_gateway_bot(self, request: web.Request) -> web.Response:
        request[_RECORD].kind = "gateway.get"
        return json_response({
            "url": self.gateway_url, "shards": self.options.recommended_shards,
            "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1},
        })

    async def _serve_attachment(self, request: web.Request) -> web.StreamResponse:
        request[_RECORD].kind = "cdn.download"
        with self.lock:
            att = self.files.get(int(request.match_info["attachment_id"]))
        if att is None:
            return error_response(404, 0, "asset not found")
        return web.Response(body=att.data, content_type=att.content_type or "application/octet-stream")

    # ------------------------------------------------------------------ application commands

    def _command_list(self, request: web.Request) -> Optional[list[dict[str, Any]]]:
        gid = request.match_info.get("guild_id")
        if gid is None:
            return self.global_commands
        if int(gid) not in {g.id for g in self.world.guilds()}:
            return None
        return self.guild_commands.setdefault(int(gid), [])

    def _normalize_command(self, cmd: dict[str, Any], guild_id: Optional[str], existing: list[dict[str, Any]]) -> dict[str, Any]:
        c = copy.deepcopy(cmd)
        ctype = c.get("type", 1)
        old = next((o for o in existing if o["name"] == c.get("name") and o.get("type", 1) == ctype), None)
        c["id"] = old["id"] if old else str(self.snowflakes.next())
        c["type"] = ctype
        c["application_id"] = str(self.world.application_id)
        c["version"] = str(self.snowflakes.next())
        c.setdefault("description", "")
        c.setdefault("options", [])
        c.setdefault("default_member_permissions", None)
        c.setdefault("nsfw", False)
        if guild_id is not None:
            c["guild_id"] = guild_id
        return c

    async def _list_commands(self, request: web.Request) -> web.Response:
        request[_RECORD].kind = "commands.list"
        with self.lock:
            cmds = self._command_list(request)
            if not self._check_app(request) or cmds is None:
                return error_response(404, 10002, "Unknown Application")
            return json_response(copy.deepcopy(cmds))

    async def _bulk_commands(self, request: web.Request) -> web.Response:
        rec: RecordedRequest = request[_RECORD]
        gid = request.match_info.get("guild_id")
        rec.kind = "commands.guild.bulk" if gid else "commands.global.bulk"
        errors = limits.check_commands(rec.json)
        if errors:
            return self._reject(rec, errors)
        with self.lock:
            cmds = self._command_list(request)
            if not self._check_app(request) or cmds is None:
                return error_response(404, 10002, "Unknown Application")
            new = [self._normalize_command(c, gid, cmds) for c in rec.json]
            cmds[:] = new
        self.recorder.notify()
        return json_response(copy.deepcopy(new))

    async def _upsert_command(self, request: web.Request) -> web.Response:
        rec: RecordedRequest = request[_RECORD]
        rec.kind = "commands.upsert"
        errors = limits.check_command(rec.json)
        if errors:
            return self._reject(rec, errors)
        gid = request.match_info.get("guild_id")
        with self.lock:
            cmds = self._command_list(request)
            if not self._check_app(request) or cmds is None:
                return error_response(404, 10002, "Unknown Application")
            c = self._normalize_command(rec.json, gid, cmds)
            cmds[:] = [o for o in cmds if o["id"] != c["id"]] + [c]
        self.recorder.notify()
        return json_response(copy.deepcopy(c), status=201)

    def _find_command(self, request: web.Request) -> tuple[Optional[list[dict[str, Any]]], Optional[dict[str, Any]]]:
        cmds = self._command_list(request)
        if cmds is None or not self._check_app(request):
            return None, None
        cid = request.match_info["command_id"]
        return cmds, next((c for c in cmds if c["id"] == cid), None)

    async def _get_command(self, request: web.Request) -> web.Response:
        request[_RECORD].kind = "commands.get"
        with self.lock:
            _, c = self._find_command(request)
            if c is None:
                return error_response(404, 10063, "Unknown application command")
            return json_response(copy.deepcopy(c))

    async def _edit_command(self, request: web.Request) -> web.Response:
        rec: RecordedRequest = request[_RECORD]
        rec.kind = "commands.edit"
        with self.lock:
            cmds, c = self._find_command(request)
            if cmds is None or c is None:
                return error_response(404, 10063, "Unknown application command")
            merged = {**c, **(rec.json or {})}
            errors = limits.check_command(merged)
            if errors:
                return self._reject(rec, errors)
            c.update(merged)
            return json_response(copy.deepcopy(c))

    async def _delete_command(self, request: web.Request) -> web.Response:
        request[_RECORD].kind = "commands.delete"
        with self.lock:
            cmds, c = self._find_command(request)
            if cmds is None or c is None:
                return error_response(404, 10063, "Unknown application command")
            cmds.remove(c)
        return no_content()

    def find_registered_command(
        self, name: str, *, guild_id: Optional[int], ctype: int = 1
    ) -> Optional[dict[str, Any]]:
        """That guild's command first (like Discord's client), then global; ``guild_id`` None in DMs; ``ctype`` 1
        for a slash command, 3 for a message's Apps menu."""
        with self.lock:
            pools = ([self.guild_commands.get(guild_id, [])] if guild_id is not None else []) + [self.global_commands]
            for pool in pools:
                for c in pool:
                    if c["name"] == name and c.get("type", 1) == ctype:
                        return copy.deepcopy(c)
        return None

    # ------------------------------------------------------------------ guild / channel reads

    def _joined_guild(self, request: web.Request) -> Optional[FakeGuild]:
        """The guild named in the path, if the bot is in it (Discord answers 404 otherwise)."""
        gid = int(request.match_info["guild_id"])
        return next((g for g in self.world.guilds(joined_only=True) if g.id == gid), None)

    async def _get_guild(self, request: web.Request) -> web.Response:
        request[_RECORD].kind = "guilds.get"
        guild = self._joined_guild(request)
        if guild is None:
            return error_response(404, 10004, "Unknown Guild")
        g = self.guild_payload(guild, include_members=False)
        for k in ("channels", "members", "threads", "presences", "voice_states"):
            g.pop(k, None)
        return json_response(g)

    async def _get_roles(self, request: web.Request) -> web.Response:
        request[_RECORD].kind = "guilds.roles"
        guild = self._joined_guild(request)
        if guild is None:
            return error_response(404, 10004, "Unknown Guild")
        return json_response([role_json(r) for r in guild.roles.values()])

    async def _get_guild_channels(self, request: web.Request) -> web.Response:
        request[_RECORD].kind = "guilds.channels"
        guild = self._joined_guild(request)
        if guild is None:
            return error_response(404, 10004, "Unknown Guild")
        return json_response([channel_json(c, guild_id=guild.id) for c in guild.channels.values()])

    async def _get_member(self, request: web.Request) -> web.Response:
        request[_RECORD].kind = "guilds.member"
        guild = self._joined_guild(request)
        try:
            u = self.world.resolve_user(int(request.match_info["user_id"]))
        except KeyError:
            u = None
        roles = self.world.member_roles(u, guild) if u is not None and guild is not None else None
        if u is None or roles is None:
            return error_response(404, 10007, "Unknown Member")
        return json_response(member_json(u, role_ids=roles))

    async def _get_channel(self, request: web.Request) -> web.Response:
        request[_RECORD].kind = "channels.get"
        c = self._channel(int(request.match_info["channel_id"]))
        if c is None:
            return error_response(404, 10003, "Unknown Channel")
        return json_response(self.channel_payload(c))

    def channel_payload(self, c: FakeChannel) -> dict[str, Any]:
        if c.is_dm:
            return channel_json(c, guild_id=None, recipient=self.world.resolve_user(c.recipient_id or 0))
        return channel_json(c, guild_id=self._guild_id_of(c))

    async def _create_dm(self, request: web.Request) -> web.Response:
        rec: RecordedRequest = request[_RECORD]
        rec.kind = "dm.create"
        try:
            user = self.world.resolve_user(int((rec.json or {}).get("recipient_id")))
            channel = self.world.dm_channel_for(user)
        except (KeyError, TypeError, ValueError):
            return error_response(400, 50033, "Invalid Recipient(s)")
        rec.channel_id = channel.id
        return json_response(self.channel_payload(channel))

    async def _typing(self, request: web.Request) -> web.Response:
        rec: RecordedRequest = request[_RECORD]
        rec.kind = "typing"
        rec.channel_id = int(request.match_info["channel_id"])
        return no_content()

    async def _history(self, request: web.Request) -> web.Response:
        rec: RecordedRequest = request[_RECORD]
        rec.kind = "message.history"
        cid = int(request.match_info["channel_id"])
        channel = self._channel(cid)
        if channel is None:
            return error_response(404, 10003, "Unknown Channel")
        if not self._bot_can_read_history(channel):  # Discord's documented answer: an empty page, not an error
            return json_response([])
        limit = int(request.query.get("limit", 50))
        before = int(request.query.get("before", 1 << 63))
        after = int(request.query.get("after", 0))
        with self.lock:
            msgs = sorted(
                (m.data for mid, m in self.messages.items() if m.channel_id == cid and not m.ephemeral and after < mid < before),
                key=lambda d: int(d["id"]), reverse="after" not in request.query,
            )
            return json_response(copy.deepcopy(msgs[:limit]))

    def _lookup_message(self, request: web.Request) -> tuple[Optional[FakeChannel], Optional[StoredMessage]]:
        channel = self._channel(int(request.match_info["channel_id"]))
        with self.lock:
            stored = self.messages.get(int(request.match_info["message_id"]))
        if channel is None or stored is None or stored.channel_id != channel.id or stored.ephemeral:
            return channel, None
        return channel, stored

    def _bot_can_read_history(self, channel: FakeChannel) -> bool:
        need = VIEW_CHANNEL | READ_MESSAGE_HISTORY
        return channel.is_dm or self.world.permissions(self.world.bot, channel) & need == need

    async def _get_message(self, request: web.Request) -> web.Response:
        request[_RECORD].kind = "message.get"
        channel, stored = self._lookup_message(request)
        if channel is not None and not self._bot_can_read_history(channel):
            return error_response(403, 50001, "Missing Access")
        if stored is None:
            return error_response(404, 10008, "Unknown Message")
        return json_response(copy.deepcopy(stored.data))

    async def _reaction(self, request: web.Request) -> web.Response:
        rec: RecordedRequest = request[_RECORD]
        rec.kind = "reaction.add" if request.method == "PUT" else "reaction.remove"
        _, stored = self._lookup_message(request)
        if stored is None:
            return error_response(404, 10008, "Unknown Message")
        rec.channel_id, rec.message_id = stored.channel_id, int(stored.data["id"])
        return no_content()

    # ------------------------------------------------------------------ channel messages

    def _bot_can_send(self, channel: FakeChannel, with_files: bool, payload: dict[str, Any]) -> bool:
        """A server's channel needs View Channel and Send Messages (in Threads, in a thread), Attach Files for files,
        Embed Links for embeds (Discord refuses a bot's message of embeds alone without it; interaction responses
        are exempt, and pmbot sends no message of both text and embeds), and Read Message History for a reply."""
        if channel.is_dm:
            return True
        perms = self.world.permissions(self.world.bot, channel)
        send = SEND_MESSAGES_IN_THREADS if channel.is_thread else SEND_MESSAGES
        need = VIEW_CHANNEL | send | (ATTACH_FILES if with_files else 0) | (EMBED_LINKS if payload.get("embeds") else 0)
        reference = payload.get("message_reference")
        if reference and reference.get("type", 0) == 0:  # a forward (type 1) is no reply
            need |= READ_MESSAGE_HISTORY
        return perms & need == need

    async def _create_message(self, request: web.Request) -> web.Response:
        rec: RecordedRequest = request[_RECORD]
        rec.kind = "message.create"
        cid = int(request.match_info["channel_id"])
        rec.channel_id = cid
        channel = self._channel(cid)
        if channel is None:
            return error_response(404, 10003, "Unknown Channel")
        too_large = self._too_large(rec)
        if too_large is not None:
            return too_large
        payload = rec.json if isinstance(rec.json, dict) else {}
        errors = limits.check_message(payload, creating=True, file_count=len(rec.files), mention_policy=self.options.mention_policy)
        ref = payload.get("message_reference")
        if ref and ref.get("fail_if_not_exists", True):
            with self.lock:
                target = self.messages.get(int(ref.get("message_id", 0)))
            if target is None or target.channel_id != cid:
                errors.append(LimitError("message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message"))
        if errors:
            return self._reject(rec, errors)
        if not self._bot_can_send(channel, bool(rec.files), payload):
            return error_response(403, 50013, "Missing Permissions")
        stored = self._new_message(channel, payload, rec.files)
        rec.message_id = int(stored.data["id"])
        rec.message = copy.deepcopy(stored.data)
        await self.echo("MESSAGE_CREATE", stored)
        return json_response(stored.data)

    async def _start_thread(self, request: web.Request) -> web.Response:
        """A thread started on a message: it takes the message's id, THREAD_CREATE goes out, and a message holds one."""
        rec: RecordedRequest = request[_RECORD]
        rec.kind = "thread.create"
        channel, stored = self._lookup_message(request)
        rec.channel_id = channel.id if channel else None
        if channel is None or stored is None:
            return error_response(404, 10008, "Unknown Message")
        guild = self.world.guild_of(channel)
        if guild is None or channel.type != GUILD_TEXT:
            return error_response(400, 50024, "Cannot execute action on this channel type")
        need = VIEW_CHANNEL | CREATE_PUBLIC_THREADS
        if self.world.permissions(self.world.bot, channel) & need != need:
            return error_response(403, 50013, "Missing Permissions")
        name = (rec.json or {}).get("name") if isinstance(rec.json, dict) else None
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            return self._reject(rec, [LimitError("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")])
        thread_id = int(stored.data["id"])
        if any(c.id == thread_id for c in guild.channels.values()):
            return error_response(400, 160004, "A thread has already been created for this message")
        thread = FakeChannel(id=thread_id, name=name, type=PUBLIC_THREAD, parent_id=channel.id, owner_id=self.world.bot.id)
        guild.channels[f"thread-{thread_id}"] = thread
        await self.dispatch("THREAD_CREATE", {**channel_json(thread, guild_id=guild.id), "newly_created": True})
        return json_response(channel_json(thread, guild_id=guild.id), status=201)

    async def _delete_channel(self, request: web.Request) -> web.Response:
        """A thread deleted, with its messages (no MESSAGE_DELETE for them), as Discord does: it needs Manage Threads
        in the thread's parent, and THREAD_DELETE goes out. The fake deletes no other kind of channel."""
        rec: RecordedRequest = request[_RECORD]
        rec.kind = "channel.delete"
        channel = self._channel(int(request.match_info["channel_id"]))
        rec.channel_id = channel.id if channel else None
        if channel is None:
            return error_response(404, 10003, "Unknown Channel")
        guild = self.world.guild_of(channel)
        need = VIEW_CHANNEL | MANAGE_THREADS
        if guild is None or not channel.is_thread or self.world.permissions(self.world.bot, channel) & need != need:
            return error_response(403, 50013, "Missing Permissions")
        with self.lock:
            for key in [k for k, c in guild.channels.items() if c.id == channel.id]:
                del guild.channels[key]
            for message_id in [i for i, m in self.messages.items() if m.channel_id == channel.id]:
                del self.messages[message_id]
        gone = {"id": str(channel.id), "guild_id": str(guild.id), "parent_id": str(channel.parent_id), "type": channel.type}
        await self.dispatch("THREAD_DELETE", gone)
        return json_response(channel_json(channel, guild_id=guild.id))

    async def _edit_message(self, request: web.Request) -> web.Response:
        rec: RecordedRequest = request[_RECORD]
        rec.kind = "message.edit"
        channel, stored = self._lookup_message(request)
        rec.channel_id = channel.id if channel else None
        if stored is None:
            return error_response(404, 10008, "Unknown Message")
        rec.message_id = int(stored.data["id"])
        if int(stored.data["author"]["id"]) != self.world.bot.id:
            return error_response(403, 50005, "Cannot edit a message authored by another user")
        payload = rec.json if isinstance(rec.json, dict) else {}
        if channel is not None and not self._bot_can_send(channel, bool(rec.files), payload):
            return error_response(403, 50013, "Missing Permissions")
        return await self._apply_edit(rec, stored)

    async def _apply_edit(self, rec: RecordedRequest, stored: StoredMessage) -> web.Response:
        too_large = self._too_large(rec)
        if too_large is not None:
            return too_large
        payload = rec.json if isinstance(rec.json, dict) else {}
        errors = limits.check_message(payload, creating=False, file_count=len(rec.files), mention_policy=self.options.mention_policy)
        if errors:
            return self._reject(rec, errors)
        new = self._edited(stored, payload, rec.files)
        if limits.is_empty_message(new):
            return self._reject(rec, [LimitError("content", "EMPTY_MESSAGE", "Cannot send an empty message")])
        with self.lock:
            stored.replace(new)
        rec.message = copy.deepcopy(new)
        await self.echo("MESSAGE_UPDATE", stored)
        return json_response(new)

    async def _delete_message(self, request: web.Request) -> web.Response:
        rec: RecordedRequest = request[_RECORD]
        rec.kind = "message.delete"
        channel, stored = self._lookup_message(request)
        rec.channel_id = channel.id if channel else None
        if stored is None:
            return error_response(404, 10008, "Unknown Message")
        rec.message_id = int(stored.data["id"])
        with self.lock:
            self.messages.pop(rec.message_id, None)
        await self.echo("MESSAGE_DELETE", stored)
        return no_content()

    # ------------------------------------------------------------------ interactions

    async def _interaction_callback(self, request: web.Request) -> web.Response:
        rec: RecordedRequest = request[_RECORD]
        rec.kind = "interaction.callback"
        iid = int(request.match_info["interaction_id"])
        rec.interaction_id = iid
        with self.lock:
            ix = self.interactions.get(iid)
        if ix is None or ix.token != request.match_info["token"]:
            return self._protocol_violation(rec, "UNKNOWN_INTERACTION", "Unknown interaction id/token", error_response(404, 10062, "Unknown interaction"))
        rec.channel_id = ix.channel.id
        if ix.acked:
            return self._protocol_violation(
                rec, "INTERACTION_ALREADY_ACKNOWLEDGED", "Interaction has already been acknowledged.",
                error_response(400, 40060, "Interaction has already been acknowledged."),
            )
        elapsed = time.monotonic() - ix.created
        if self.options.ack_timeout is not None and elapsed > self.options.ack_timeout:
            return self._protocol_violation(
                rec, "INTERACTION_ACK_TOO_LATE", f"acknowledged after {elapsed:.2f}s (> {self.options.ack_timeout}s)",
                error_response(404, 10062, "Unknown interaction"), kind="interaction.timeout",
            )
        too_large = self._too_large(rec)
        if too_large is not None:
            return too_large
        body = rec.json if isinstance(rec.json, dict) else {}
        errors = limits.check_interaction_callback(
            body, interaction_type=ix.type, file_count=len(rec.files), mention_policy=self.options.mention_policy
        )
        if errors:
            return self._reject(rec, errors)
        rtype = int(body["type"])
        data = body.get("data") or {}
        ix.acked, ix.response_type = True, rtype
        message: Optional[dict[str, Any]] = None
        ephemeral = bool(int(data.get("flags") or 0) & FLAG_EPHEMERAL)
        if rtype in (4, 5):
            stored = self._new_message(ix.channel, data if rtype == 4 else {"flags": data.get("flags")}, rec.files if rtype == 4 else [], interaction=ix, extra_flags=FLAG_LOADING if rtype == 5 else 0)
            ix.original_message_id = int(stored.data["id"])
            message = stored.data
            await self.echo("MESSAGE_CREATE", stored)
        elif rtype in (6, 7) and ix.source_message_id is not None:
            with self.lock:
                stored_src = self.messages.get(ix.source_message_id)
            ix.original_message_id = ix.source_message_id
            if stored_src is not None:
                ephemeral = stored_src.ephemeral
                if rtype == 7:
                    new = self._edited(stored_src, data, rec.files)
                    with self.lock:
                        stored_src.replace(new)
                    await self.echo("MESSAGE_UPDATE", stored_src)
                message = stored_src.data
        elif rtype == 8:
            ix.choices = copy.deepcopy(data.get("choices"))
        elif rtype == 9:
            ix.modal = copy.deepcopy(data)
        rec.message_id = ix.original_message_id
        rec.message = copy.deepcopy(message)
        self.recorder.notify()
        if "with_response" not in request.query:
            return no_content()
        info: dict[str, Any] = {"id": str(ix.id), "type": ix.type}
        if message is not None:
            info.update(
                response_message_id=message["id"], response_message_loading=rtype == 5, response_message_ephemeral=ephemeral
            )
        resource: dict[str, Any] = {"type": rtype}
        if message is not None:
            resource["message"] = copy.deepcopy(message)
        return json_response({"interaction": info, "resource": resource})

    def _webhook_interaction(self, request: web.Request, rec: RecordedRequest) -> tuple[Optional[InteractionState], Optional[web.Response]]:
        """Resolve the interaction behind an application webhook token, enforcing ack-first."""
        with self.lock:
            iid = self.tokens.get(request.match_info["token"])
            ix = self.interactions.get(iid) if iid is not None else None
        if ix is None or not self._check_app(request):
            return None, self._protocol_violation(rec, "UNKNOWN_WEBHOOK", "Unknown webhook token", error_response(404, 10015, "Unknown Webhook"))
        rec.interaction_id = ix.id
        rec.channel_id = ix.channel.id
        if not ix.acked:
            return None, self._protocol_violation(
                rec, "WEBHOOK_BEFORE_ACK", "Follow-up/original used before the interaction was acknowledged",
                error_response(404, 10015, "Unknown Webhook"),
            )
        return ix, None

    def _webhook_message(self, ix: InteractionState, mid_text: str) -> Optional[StoredMessage]:
        mid = ix.original_message_id if mid_text == "@original" else (int(mid_text) if mid_text.isdigit() else None)
        if mid is None or (mid != ix.original_message_id and mid not in ix.followup_ids):
            return None
        with self.lock:
            return self.messages.get(mid)

    async def _webhook_create(self, request: web.Request) -> web.Response:
        rec: RecordedRequest = request[_RECORD]
        rec.kind = "webhook.create"
        ix, err = self._webhook_interaction(request, rec)
        if ix is None:
            return err  # type: ignore[return-value]
        too_large = self._too_large(rec)
        if too_large is not None:
            return too_large
        payload = rec.json if isinstance(rec.json, dict) else {}
        errors = limits.check_message(payload, creating=True, file_count=len(rec.files), mention_policy=self.options.mention_policy)
        if errors:
            return self._reject(rec, errors)
        with self.lock:
            original = self.messages.get(ix.original_message_id or 0)
        if ix.response_type == 5 and original is not None and original.data["flags"] & FLAG_LOADING:
            # Discord: the first follow-up after a deferred reply replaces the "thinking" message.
            new = self._edited(original, payload, rec.files)
            with self.lock:
                original.replace(new)
            stored = original
            await self.echo("MESSAGE_UPDATE", stored)
        else:
            stored = self._new_message(ix.channel, payload, rec.files, interaction=ix)
            ix.followup_ids.append(int(stored.data["id"]))
            await self.echo("MESSAGE_CREATE", stored)
        rec.message_id = int(stored.data["id"])
        rec.message = copy.deepcopy(stored.data)
        if request.query.get("wait") in ("1", "true", "True"):
            return json_response(stored.data)
        return no_content()

    async def _webhook_get(self, request: web.Request) -> web.Response:
        rec: RecordedRequest = request[_RECORD]
        rec.kind = "webhook.get"
        ix, err = self._webhook_interaction(request, rec)
        if ix is None:
            return err  # type: ignore[return-value]
        stored = self._webhook_message(ix, request.match_info["message_id"])
        if stored is None:
            return error_response(404, 10008, "Unknown Message")
        return json_response(copy.deepcopy(stored.data))

    async def _webhook_edit(self, request: web.Request) -> web.Response:
        rec: RecordedRequest = request[_RECORD]
        rec.kind = "webhook.edit"
        ix, err = self._webhook_interaction(request, rec)
        if ix is None:
            return err  # type: ignore[return-value]
        stored = self._webhook_message(ix, request.match_info["message_id"])
        if stored is None:
            return error_response(404, 10008, "Unknown Message")
        rec.message_id = int(stored.data["id"])
        return await self._apply_edit(rec, stored)

    async def _webhook_delete(self, request: web.Request) -> web.Response:
        rec: RecordedRequest = request[_RECORD]
        rec.kind = "webhook.delete"
        ix, err = self._webhook_interaction(request, rec)
        if ix is None:
            return err  # type: ignore[return-value]
        stored = self._webhook_message(ix, request.match_info["message_id"])
        if stored is None:
            return error_response(404, 10008, "Unknown Message")
        rec.message_id = int(stored.data["id"])
        with self.lock:
            self.messages.pop(rec.message_id, None)
        await self.echo("MESSAGE_DELETE", stored)
        return no_content()

    def register_interaction(self, ix: InteractionState) -> None:
        with self.lock:
            self.interactions[ix.id] = ix
            self.tokens[ix.token] = ix.id

    def new_token(self) -> str:
        return "fake-" + secrets.token_urlsafe(48)

    # ------------------------------------------------------------------ gateway

    def guild_payload(self, guild: Optional[FakeGuild] = None, *, include_members: bool) -> dict[str, Any]:
        w = self.world
        g = guild or w.guild()
        everyone = w.guild_members(g)
        members = everyone if include_members else [w.bot]
        return guild_create_json(
            guild_id=g.id, name=g.name, owner_id=g.owner_id, roles=g.roles.values(),
            channels=g.channels.values(), members=members, member_count=len(everyone), joined_at=self.joined_at,
            member_roles={u.id: w.member_roles(u, g) or () for u in members},
        )

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await ws.prepare(request)
        self._sockets.add(ws)
        session = GatewaySession(ws, zlib_stream=request.query.get("compress") == "zlib-stream")
        self.recorder.add_gateway({"op": "connect", "query": dict(request.query)})
        try:
            await session.send({"op": 10, "d": {"heartbeat_interval": self.options.heartbeat_interval_ms, "_trace": ["fake"]}})
            async for msg in ws:
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    break
                frame = json.loads(msg.data)
                await self._gateway_frame(session, frame)
        finally:
            self._sockets.discard(ws)
            with self.lock:
                if self.active is session:
                    self.active = None
                if self.shard_sessions.get(session.shard[0]) is session:
                    del self.shard_sessions[session.shard[0]]
            self.recorder.add_gateway({"op": "disconnect", "code": ws.close_code})
        return ws

    async def _gateway_frame(self, session: GatewaySession, frame: dict[str, Any]) -> None:
        op = frame.get("op")
        d = frame.get("d")
        logged = copy.deepcopy(frame)
        if isinstance(logged.get("d"), dict):
            logged["d"].pop("token", None)
        if op != 1:
            self.recorder.add_gateway(logged)
        if op == 1:
            await session.send({"op": 11})
        elif op == 2:
            await self._identify(session, d or {})
        elif op == 6:
            await self._resume(session, d or {})
        elif op == 8:
            await self._request_members(session, d or {})

    async def _identify(self, session: GatewaySession, d: dict[str, Any]) -> None:
        if self.options.token is not None and d.get("token") != self.options.token:
            await session.ws.close(code=4004, message=b"Authentication failed.")
            return
        intents = int(d.get("intents", 0))
        if intents & PRIVILEGED_INTENTS & ~self.options.allowed_privileged_intents:
            await session.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        shard_id, shard_count = d.get("shard") or (0, 1)
        if not 0 <= shard_id < shard_count:
            await session.ws.close(code=4010, message=b"Invalid shard.")
            return
        with self.lock:
            other = next(iter(self.shard_sessions.values()), None)
        if other is not None and other.shard[1] != shard_count and other is not session:
            await session.ws.close(code=4011, message=b"Sharding required.")  # every shard must agree on the count
            return
        session.shard = (shard_id, shard_count)
        session.intents = intents
        session.session_id = secrets.token_hex(16)
        with self.lock:
            self.identifies.append({k: v for k, v in d.items() if k != "token"})
        w = self.world
        guilds = [g for g in w.guilds(joined_only=True) if (g.id >> 22) % shard_count == shard_id]
        ready = {
            "v": 10,
            "user": user_json(w.bot, full=True),
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(w.application_id), "flags": (1 << 15) | (1 << 19)},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "user_settings": {},
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "shard": [shard_id, shard_count],
            "_trace": ["fake"],
        }
        await session.dispatch("READY", ready)
        for guild in guilds:
            await session.dispatch("GUILD_CREATE", self.guild_payload(guild, include_members=bool(intents & INTENT_GUILD_MEMBERS)))
        self._activate(session)

    async def _resume(self, session: GatewaySession, d: dict[str, Any]) -> None:
        with self.lock:
            old = self.sessions.get(str(d.get("session_id")))
        if old is None:
            await session.send({"op": 9, "d": False})
            return
        session.session_id, session.intents, session.seq, session.shard = old.session_id, old.intents, old.seq, old.shard
        await session.dispatch("RESUMED", {"_trace": ["fake"]})
        self._activate(session)

    def _activate(self, session: GatewaySession) -> None:
        with self.lock:
            assert session.session_id is not None
            self.sessions[session.session_id] = session
            self.active = session
            self.shard_sessions[session.shard[0]] = session
            session.active = True
            self.ready_count += 1
        self.recorder.notify()

    async def _request_members(self, session: GatewaySession, d: dict[str, Any]) -> None:
        query = str(d.get("query") or "").lower()
        ids = {int(x) for x in d.get("user_ids") or []}
        guild = self.world.guild(int(d.get("guild_id") or self.world.guild_id))
        members = [
            member_json(u, role_ids=self.world.member_roles(u, guild) or ()) for u in self.world.guild_members(guild)
            if (not ids or u.id in ids) and u.username.lower().startswith(query)
        ]
        chunk: dict[str, Any] = {"guild_id": str(guild.id), "members": members, "chunk_index": 0, "chunk_count": 1, "not_found": []}
        if d.get("nonce"):
            chunk["nonce"] = d["nonce"]
        await session.dispatch("GUILD_MEMBERS_CHUNK", chunk)
