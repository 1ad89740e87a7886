"""Synchronous, thread-safe test driver around the fake Discord server.

The server runs on its own event loop in a daemon thread so that plain (non-async)
pytest tests can start a real bot subprocess, poke it through the fake gateway and
block on the REST calls it makes back.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import re
import threading
import time
from typing import Any, Callable, Coroutine, Mapping, Optional, Sequence, TypeVar, Union

from .interactions import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    Resolved,
    build_command_data,
    build_interaction,
    find_component,
    modal_submit_components,
)
from .limits import SELECT_TYPES, MentionPolicy
from .models import (
    DM,
    FLAG_LOADING,
    MENTION_EVERYONE,
    PUBLIC_THREAD,
    FakeAttachment,
    FakeChannel,
    FakeRole,
    FakeUser,
    channel_json,
    iso_now,
    member_json,
    user_json,
)
from .records import MESSAGE_KINDS, Recorder, RecordedRequest, Violation
from .server import (
    Hold,
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MESSAGES,
    INTENT_MESSAGE_CONTENT,
    PRIVILEGED_INTENTS,
    FakeDiscordServer,
    InteractionState,
    ServerOptions,
    StoredMessage,
)
from .world import DEFAULT_BOT_ID, DEFAULT_CHANNELS, DEFAULT_GUILD_ID, FakeGuild, UserRef, World, default_world

T = TypeVar("T")
ChannelRef = Union[FakeChannel, int, str, None]
MessageRef = Union[Mapping[str, Any], RecordedRequest, "InteractionHandle", int, str]
_USER_MENTION_RE = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION_RE = re.compile(r"<@&(\d+)>")


class InteractionHandle:
    """One dispatched interaction; lets a test wait for and inspect the bot's answers."""

    def __init__(self, fake: "FakeDiscord", state: InteractionState) -> None:
        self._fake = fake
        self._state = state

    @property
    def id(self) -> int:
        return self._state.id

    @property
    def token(self) -> str:
        return self._state.token

    @property
    def type(self) -> int:
        return self._state.type

    @property
    def payload(self) -> dict[str, Any]:
        """The INTERACTION_CREATE ``d`` that was sent to the bot."""
        return copy.deepcopy(self._state.payload)

    @property
    def acked(self) -> bool:
        return self._state.acked

    @property
    def response_type(self) -> Optional[int]:
        return self._state.response_type

    @property
    def message(self) -> Optional[dict[str, Any]]:
        """Current state of the original response message (None before one exists)."""
        return self._fake._message_copy(self._state.original_message_id)

    def responses(self) -> list[RecordedRequest]:
        """Every request tied to this interaction (callback, follow-ups, edits), in order."""
        return self._fake.interaction_responses(self.id)

    def wait_for(self, predicate: Optional[Callable[[RecordedRequest], bool]] = None, *, kind: Optional[str] = None, timeout: Optional[float] = None) -> RecordedRequest:
        def match(r: RecordedRequest) -> bool:
            return r.interaction_id == self.id and (kind is None or r.kind == kind) and (predicate is None or predicate(r))

        return self._fake.wait_for(match, timeout=timeout, since=0, describe=f"{kind or 'request'} for interaction {self.id}")

    def wait_response(self, timeout: Optional[float] = None) -> RecordedRequest:
        """The interaction callback request (whatever its outcome)."""
        return self.wait_for(kind="interaction.callback", timeout=timeout)

    def wait_followup(self, index: int = 0, timeout: Optional[float] = None) -> RecordedRequest:
        """The ``index``-th successful follow-up (POST /webhooks/{app}/{token})."""
        seen: list[int] = []

        def match(r: RecordedRequest) -> bool:
            if r.kind != "webhook.create" or not r.ok:
                return False
            seen.append(r.index)
            return len(seen) > index

        return self.wait_for(match, timeout=timeout)

    def wait_message(self, timeout: Optional[float] = None) -> dict[str, Any]:
        """The visible answer: the original response once it is not a "thinking" placeholder."""

        def check() -> Optional[dict[str, Any]]:
            msg = self._fake._message_copy(self._state.original_message_id)
            if msg is not None and not msg["flags"] & FLAG_LOADING and self._state.response_type in (4, 5, 7):
                return msg
            return None

        return self._fake.recorder.wait_until(check, timeout=self._fake._timeout(timeout), describe=f"message answering interaction {self.id}")

    def wait_choices(self, timeout: Optional[float] = None) -> list[dict[str, Any]]:
        """Autocomplete choices the bot returned."""
        self.wait_for(lambda r: r.ok, kind="interaction.callback", timeout=timeout)
        return copy.deepcopy(self._state.choices or [])

    def wait_modal(self, timeout: Optional[float] = None) -> dict[str, Any]:
        """The modal (response type 9) the bot opened."""
        self.wait_for(lambda r: r.ok and r.response_type == 9, kind="interaction.callback", timeout=timeout)
        return copy.deepcopy(self._state.modal or {})

    def __repr__(self) -> str:
        return f"<InteractionHandle id={self.id} type={self.type} acked={self.acked} response_type={self.response_type}>"


class FakeDiscord:
    """A fake Discord (REST + gateway) on 127.0.0.1 for end-to-end bot tests.

    ``fake = FakeDiscord(); fake.start(); ...; fake.stop()`` (or use as a context manager).
    Point the bot at it with ``discord.http.Route.BASE = fake.api_base`` and
    ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)``.

    Knobs: ``token`` (None accepts any; else 401 / close 4004 on mismatch),
    ``mention_policy`` (see ``limits.MentionPolicy``), ``ack_timeout`` (Discord's 3 s
    interaction deadline; None disables), ``echo_bot_messages`` (gateway MESSAGE_CREATE/
    UPDATE/DELETE for the bot's own messages, as Discord does),
    ``emulate_message_content_intent`` (blank content without intent 1<<15),
    ``allowed_privileged_intents`` (others -> close 4014), ``strict_commands`` (refuse
    to send commands the bot never registered), ``attachment_size_limit`` (413 above),
    ``recommended_shards`` (GET /gateway/bot; each shard's IDENTIFY gets only its own
    guilds, and each guild's events go to shard ``(guild_id >> 22) % count``, DMs to 0),
    ``default_timeout`` for every wait.
    """

    def __init__(
        self,
        *,
        bot_id: int = DEFAULT_BOT_ID,
        bot_name: str = "pmbot",
        application_id: Optional[int] = None,
        guild_id: int = DEFAULT_GUILD_ID,
        guild_name: str = "PM Test Guild",
        channel_names: Sequence[str] = DEFAULT_CHANNELS,
        token: Optional[str] = None,
        heartbeat_interval_ms: int = 41250,
        mention_policy: MentionPolicy = "detect",
        ack_timeout: Optional[float] = 3.0,
        echo_bot_messages: bool = True,
        emulate_message_content_intent: bool = True,
        allowed_privileged_intents: int = PRIVILEGED_INTENTS,
        strict_commands: bool = False,
        attachment_size_limit: int = 10 * 1024 * 1024,
        recommended_shards: int = 1,
        default_timeout: float = 5.0,
    ) -> None:
        self.world: World = default_world(
            bot_id=bot_id, bot_name=bot_name, application_id=application_id,
            guild_id=guild_id, guild_name=guild_name, channel_names=channel_names,
        )
        self.options = ServerOptions(
            heartbeat_interval_ms=heartbeat_interval_ms, mention_policy=mention_policy, ack_timeout=ack_timeout,
            echo_bot_messages=echo_bot_messages, emulate_message_content_intent=emulate_message_content_intent,
            allowed_privileged_intents=allowed_privileged_intents, token=token,
            attachment_size_limit=attachment_size_limit, recommended_shards=recommended_shards,
        )
        self.strict_commands = strict_commands
        self.default_timeout = default_timeout
        self.recorder = Recorder()
        self._server = FakeDiscordServer(self.world, self.options, self.recorder)
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._action_cursor = 0

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> "FakeDiscord":
        """Bind an OS-chosen port and serve from a daemon thread."""
        if self._loop is not None:
            raise RuntimeError("FakeDiscord already started")
        loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, args=(loop,), name="fake-discord", daemon=True)
        self._loop = loop
        self._thread.start()
        self._call(self._server.start(), timeout=10)
        return self

    @staticmethod
    def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        loop.run_forever()

    def stop(self) -> None:
        """Close sockets, stop the loop and join the thread (idempotent)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            self._call(self._shutdown(), timeout=10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            if not loop.is_running():
                loop.close()
            self._loop = self._thread = None

    async def _shutdown(self) -> None:
        await self._server.stop()
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def __enter__(self) -> "FakeDiscord":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _timeout(self, timeout: Optional[float]) -> float:
        return self.default_timeout if timeout is None else timeout

    def _call(self, coro: Coroutine[Any, Any, T], timeout: Optional[float] = None) -> T:
        if self._loop is None:
            coro.close()
            raise RuntimeError("FakeDiscord is not started")
        fut = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return fut.result(self._timeout(timeout))
        except TimeoutError:
            fut.cancel()
            raise

    # ------------------------------------------------------------------ addresses

    @property
    def base_url(self) -> str:
        return self._server.base_url

    @property
    def api_base(self) -> str:
        """Value for ``discord.http.Route.BASE``."""
        return self._server.base_url + "/api/v10"

    @property
    def gateway_url(self) -> str:
        """Value for ``DiscordWebSocket.DEFAULT_GATEWAY`` (wrap in ``yarl.URL``)."""
        return self._server.gateway_url

    # ------------------------------------------------------------------ world accessors

    @property
    def bot_user(self) -> FakeUser:
        return self.world.bot

    @property
    def bot_id(self) -> int:
        return self.world.bot.id

    @property
    def application_id(self) -> int:
        return self.world.application_id

    @property
    def guild_id(self) -> int:
        return self.world.guild_id

    @property
    def users(self) -> dict[str, FakeUser]:
        return dict(self.world.users)

    @property
    def normal_user(self) -> FakeUser:
        return self.world.users["user"]

    @property
    def moderator(self) -> FakeUser:
        """Member whose "Staff" role grants Manage Server (0x20)."""
        return self.world.users["moderator"]

    @property
    def role_moderator(self) -> FakeUser:
        """Member with the "Moderators" role but no extra permissions."""
        return self.world.users["role_moderator"]

    @property
    def owner(self) -> FakeUser:
        """First guild's owner and, unless ``set_application_owner`` says otherwise, the application owner."""
        return self.world.users["owner"]

    @property
    def application_owner(self) -> FakeUser:
        """Who the application info names as owner (``Bot.is_owner`` is true for them)."""
        return self.world.resolve_user(self.world.application_owner_id)

    def set_application_owner(self, user: UserRef) -> None:
        """Call before the bot starts: discord.py caches the application info."""
        self.world.app_owner_id = self.world.resolve_user(user).id

    # ------------------------------------------------------------------ more guilds

    def add_user(self, key: str, username: str, *, in_first_guild: bool = False, role_ids: tuple[int, ...] = ()) -> FakeUser:
        """A new user (with a DM channel) under ``users[key]``; by default a member of no guild yet."""
        if key in self.world.users:
            raise ValueError(f"fake user {key!r} already exists")
        uid = self._server.snowflakes.next()
        user = FakeUser(id=uid, username=username, global_name=username.title(), in_guild=in_first_guild, role_ids=role_ids)
        self.world.users[key] = user
        self.world.dm_channels[uid] = FakeChannel(id=uid + 1, name=f"dm-{username}", type=DM, recipient_id=uid)
        return user

    def add_guild(
        self,
        name: str,
        *,
        guild_id: int,
        owner: UserRef,
        members: Optional[Mapping[UserRef, Sequence[str]]] = None,
        channel_names: Sequence[str] = (),
        roles: Optional[dict[str, int]] = None,
    ) -> FakeGuild:
        """Another guild the bot is in, with its own owner, roles, channels and members.

        ``members`` maps each member (user, key or id) to role names in this guild
        ("Staff" has Manage Server, "Moderators" nothing, unless ``roles`` says otherwise).
        Call before the bot connects, as a real bot learns its guilds at IDENTIFY.
        """
        resolved = {self.world.resolve_user(u): tuple(r) for u, r in (members or {}).items()}
        return self.world.add_guild(
            guild_id=guild_id, name=name, owner=self.world.resolve_user(owner), members=resolved,
            channel_names=channel_names, roles=roles,
        )

    def guild(self, guild_id: Optional[int] = None) -> FakeGuild:
        return self.world.guild(guild_id)

    def remove_bot_from_guild(self, guild_id: int, timeout: Optional[float] = None) -> bool:
        """The bot is kicked (or the guild deleted): GUILD_DELETE without ``unavailable``, as Discord sends."""
        self.world.guild(guild_id)  # must exist
        self.world.left_guild_ids.add(guild_id)
        return self.dispatch("GUILD_DELETE", {"id": str(guild_id)}, timeout=timeout)

    def commands_in_guild(self, guild_id: int) -> list[dict[str, Any]]:
        with self._server.lock:
            return copy.deepcopy(self._server.guild_commands.get(guild_id, []))

    @property
    def stranger(self) -> FakeUser:
        """Not a guild member; can only DM the bot."""
        return self.world.users["stranger"]

    @property
    def roles(self) -> dict[str, FakeRole]:
        return dict(self.world.roles)

    def role(self, name: str) -> FakeRole:
        return self.world.roles[name]

    @property
    def channels(self) -> dict[str, FakeChannel]:
        return dict(self.world.channels)

    def channel(self, ref: ChannelRef = None) -> FakeChannel:
        """Channel by FakeChannel, id or name; None means the first guild channel."""
        if isinstance(ref, FakeChannel):
            return ref
        if ref is None:
            return next(iter(self.world.channels.values()))
        if isinstance(ref, str):
            for guild in self.world.guilds():
                if ref in guild.channels:
                    return guild.channels[ref]
            raise KeyError(f"unknown fake channel {ref!r}")
        found = self.world.channel_by_id(int(ref))
        if found is None:
            raise KeyError(f"unknown fake channel {ref}")
        return found

    def channel_id(self, ref: ChannelRef = None) -> int:
        return self.channel(ref).id

    def dm_channel(self, user: UserRef = "user") -> FakeChannel:
        return self.world.dm_channel_for(self.world.resolve_user(user))

    def dm_channel_id(self, user: UserRef = "user") -> int:
        return self.dm_channel(user).id

    def user(self, ref: UserRef) -> FakeUser:
        return self.world.resolve_user(ref)

    # ------------------------------------------------------------------ records

    @property
    def sent(self) -> list[RecordedRequest]:
        """Every request the bot made (REST and CDN downloads), oldest first."""
        with self.recorder.cond:
            return list(self.recorder.requests)

    @property
    def violations(self) -> list[Violation]:
        """Rejected payloads and protocol misuse; assert ``== []`` at the end of a session."""
        with self.recorder.cond:
            return list(self.recorder.violations)

    @property
    def unknown_routes(self) -> list[RecordedRequest]:
        with self.recorder.cond:
            return list(self.recorder.unknown_routes)

    @property
    def dropped_events(self) -> list[tuple[str, str]]:
        """Gateway events not delivered (no session, or the bot lacks the intent)."""
        with self.recorder.cond:
            return list(self.recorder.dropped_events)

    @property
    def server_errors(self) -> list[str]:
        """Tracebacks of exceptions inside the fake's handlers (should stay empty)."""
        with self.recorder.cond:
            return list(self.recorder.server_errors)

    @property
    def gateway_received(self) -> list[dict[str, Any]]:
        """Gateway frames from the bot (minus heartbeats; tokens removed)."""
        with self.recorder.cond:
            return copy.deepcopy(self.recorder.gateway_received)

    @property
    def identifies(self) -> list[dict[str, Any]]:
        with self._server.lock:
            return copy.deepcopy(self._server.identifies)

    @property
    def intents(self) -> Optional[int]:
        """Intents of the latest IDENTIFY (None before the bot identified)."""
        ids = self.identifies
        return int(ids[-1].get("intents", 0)) if ids else None

    @property
    def global_commands(self) -> list[dict[str, Any]]:
        with self._server.lock:
            return copy.deepcopy(self._server.global_commands)

    @property
    def guild_commands(self) -> list[dict[str, Any]]:
        with self._server.lock:
            return copy.deepcopy(self._server.guild_commands.get(self.guild_id, []))

    def interaction_responses(self, interaction_id: int) -> list[RecordedRequest]:
        return [r for r in self.sent if r.interaction_id == interaction_id]

    def messages_in(self, channel_id: ChannelRef = None, *, include_ephemeral: bool = False) -> list[dict[str, Any]]:
        """Current (non-deleted) messages of a channel, oldest first, from users and the bot."""
        cid = self.channel(channel_id).id
        with self._server.lock:
            msgs = [m.data for m in self._server.messages.values() if m.channel_id == cid and (include_ephemeral or not m.ephemeral)]
            return copy.deepcopy(sorted(msgs, key=lambda d: int(d["id"])))

    def get_message(self, message_id: int) -> Optional[dict[str, Any]]:
        return self._message_copy(message_id)

    def _message_copy(self, message_id: Optional[int]) -> Optional[dict[str, Any]]:
        if message_id is None:
            return None
        with self._server.lock:
            stored = self._server.messages.get(int(message_id))
            return copy.deepcopy(stored.data) if stored else None

    def cursor(self) -> int:
        """Index of the next request; pass as ``since=`` to ignore older requests."""
        return self.recorder.next_index()

    def clear(self) -> None:
        """Forget recorded requests/violations (world, messages and commands stay)."""
        self.recorder.clear()
        self._action_cursor = 0

    # ------------------------------------------------------------------ waiting

    def wait_for(
        self,
        predicate: Callable[[RecordedRequest], bool],
        timeout: Optional[float] = None,
        *,
        since: Optional[int] = 0,
        describe: str = "matching request",
    ) -> RecordedRequest:
        """First recorded request (index >= since) satisfying ``predicate``."""
        return self.recorder.wait_for(predicate, timeout=self._timeout(timeout), since=since or 0, describe=describe)

    def wait_for_message(
        self,
        channel_id: ChannelRef = None,
        *,
        content: Optional[str] = None,
        predicate: Optional[Callable[[RecordedRequest], bool]] = None,
        timeout: Optional[float] = None,
        since: Optional[int] = None,
        include_failed: bool = False,
    ) -> RecordedRequest:
        """Next bot message (channel send, interaction reply, follow-up or original edit).

        ``channel_id`` (id, name or FakeChannel; None = any channel). ``content`` is a substring check.
        ``since`` defaults to the moment of the latest test action (send_message,
        send_slash_command, click_button, ...), so earlier replies are not matched.
        """
        cid = None if channel_id is None else self.channel(channel_id).id

        def match(r: RecordedRequest) -> bool:
            if r.kind not in MESSAGE_KINDS and r.kind != "webhook.edit":
                return False
            if r.kind == "interaction.callback" and r.response_type != 4:
                return False
            if not include_failed and not r.ok:
                return False
            if cid is not None and r.channel_id != cid:
                return False
            text = (r.message or {}).get("content") if r.ok else r.content
            if content is not None and content not in (text or ""):
                return False
            return predicate is None or predicate(r)

        start = self._action_cursor if since is None else since
        return self.wait_for(match, timeout, since=start, describe=f"bot message in channel {cid} (content~{content!r})")

    def wait_for_violation(self, predicate: Optional[Callable[[Violation], bool]] = None, timeout: Optional[float] = None) -> Violation:
        def check() -> Optional[Violation]:
            return next((v for v in self.recorder.violations if predicate is None or predicate(v)), None)

        return self.recorder.wait_until(check, timeout=self._timeout(timeout), describe="a violation")

    def wait_until_connected(self, timeout: float = 15.0) -> dict[str, Any]:
        """Block until the bot has IDENTIFIED/RESUMED and received READY + GUILD_CREATE.

        discord.py fires ``on_ready`` only after ``guild_ready_timeout`` (2 s by default)
        more, but events sent before that are already processed normally.
        """

        def check() -> Optional[dict[str, Any]]:
            with self._server.lock:
                if self._server.active is not None and self._server.identifies:
                    return copy.deepcopy(self._server.identifies[-1])
            return None

        return self.recorder.wait_until(check, timeout=timeout, describe="gateway IDENTIFY/READY")

    def wait_until_shards_connected(self, shard_count: int, timeout: float = 15.0) -> None:
        """Block until every shard 0…shard_count-1 has IDENTIFIED and received its READY and guilds."""

        def check() -> Optional[bool]:
            with self._server.lock:
                sessions = self._server.shard_sessions
                return len(sessions) == shard_count and all(s.shard[1] == shard_count for s in sessions.values()) or None

        self.recorder.wait_until(check, timeout=timeout, describe=f"{shard_count} shards IDENTIFIED/READY")

    def shard_of(self, guild_id: Optional[int], shard_count: int) -> int:
        """The shard Discord routes a guild's events to (DMs: 0)."""
        return 0 if guild_id is None else (guild_id >> 22) % shard_count

    def wait_for_commands(self, names: Sequence[str] = (), timeout: float = 15.0) -> list[dict[str, Any]]:
        """Block until commands (all of ``names``, or any) are registered, global or guild."""

        def check() -> Optional[list[dict[str, Any]]]:
            cmds = self.global_commands + self.guild_commands
            have = {c["name"] for c in cmds}
            if cmds and all(n in have for n in names):
                return cmds
            return None

        return self.recorder.wait_until(check, timeout=timeout, describe=f"command registration {list(names)}")

    # ------------------------------------------------------------------ gateway controls

    def dispatch(self, event: str, data: Any, *, intent: Optional[int] = None, timeout: Optional[float] = None) -> bool:
        """Send a raw DISPATCH event to the bot (escape hatch for events not modelled here)."""
        self.wait_until_connected(self._timeout(timeout))
        return self._call(self._server.dispatch(event, data, intent=intent), timeout)

    def request_reconnect(self) -> None:
        """Send op 7 RECONNECT; discord.py reconnects and RESUMEs."""
        self.wait_until_connected()
        session = self._server.active
        if session is not None:
            self._call(session.send({"op": 7, "d": None}))

    def hold(self, method: str, path: str) -> Hold:
        """From now on, REST requests ``method`` to a path matching the regex ``path`` (after /api/v10) wait
        until :meth:`release`; ``hold.arrived`` is set when the first one does."""
        hold = Hold(method, re.compile(path))
        self._server.holds.append(hold)
        return hold

    def release(self, hold: Hold) -> None:
        self._server.holds.remove(hold)
        assert self._loop is not None
        self._loop.call_soon_threadsafe(hold.released.set)

    def disconnect(self, code: int = 4000) -> None:
        """Close the bot's websocket with ``code`` (4000 -> discord.py resumes; 4004/4014 are fatal)."""
        session = self._server.active
        if session is not None:
            self._call(session.ws.close(code=code))

    # ------------------------------------------------------------------ user actions

    def attach_file(self, filename: str, data: bytes, content_type: Optional[str] = None, description: Optional[str] = None) -> FakeAttachment:
        """Make a file downloadable from the fake CDN, for attachment options or user messages."""
        if self._loop is None:
            raise RuntimeError("start() the fake first: attachment URLs need the port")
        return self._server.store_file(filename, data, content_type, description)

    def send_message(
        self,
        channel_id: ChannelRef = None,
        content: str = "",
        *,
        author: UserRef = "user",
        mentions_bot: bool = False,
        mentions: Sequence[UserRef] = (),
        attachments: Sequence[Union[FakeAttachment, tuple[str, bytes]]] = (),
        reply_to: Optional[MessageRef] = None,
        reply_ping: bool = True,
        timeout: Optional[float] = None,
        message_id: Optional[int] = None,
    ) -> dict[str, Any]:
        """Dispatch MESSAGE_CREATE from a user and return the full message dict.

        ``mentions_bot`` prefixes ``<@bot_id>``; ``mentions`` prefixes other users' mention
        tokens. ``mentions``/``mention_roles`` arrays are derived from the final content, as
        Discord does. Without the MESSAGE_CONTENT intent the bot receives empty content for
        guild messages that do not mention it (like real Discord). ``message_id``: None for a
        new snowflake (a forum post's first message takes its thread's, ``open_forum_post``).
        """
        ch, user = self._poster(channel_id, author)
        prefix = [self.world.resolve_user(m).mention for m in mentions]
        if mentions_bot and self.bot_user.mention not in content and f"<@!{self.bot_id}>" not in content:
            prefix.insert(0, self.bot_user.mention)
        text = " ".join([*prefix, content]).strip() if prefix else content
        self.wait_until_connected(self._timeout(timeout))
        atts = [a if isinstance(a, FakeAttachment) else self.attach_file(a[0], a[1]) for a in attachments]
        msg = self._user_message(ch, user, text, atts, reply_to, reply_ping, message_id)
        self._action_cursor = self.cursor()
        self._call(self._deliver_user_message(ch, msg), timeout)
        return copy.deepcopy(msg)

    def open_forum_post(
        self, forum: ChannelRef, title: str, content: str = "", *, author: UserRef = "user", timeout: Optional[float] = None
    ) -> dict[str, Any]:
        """A member opens a post in a forum channel, as Discord does it: THREAD_CREATE for the post (a thread named
        by its title), then MESSAGE_CREATE for its first message, which shares the thread's id. Returns that message;
        the post is ``channel(message["channel_id"])`` from then on."""
        parent = self.channel(forum)
        user = self.world.resolve_user(author)
        guild = self.world.guild_of(parent)
        if guild is None or self.world.member_roles(user, guild) is None:
            raise ValueError(f"{user.username} cannot post in #{parent.name}")
        self.wait_until_connected(self._timeout(timeout))
        post = FakeChannel(
            id=self._server.snowflakes.next(), name=title, type=PUBLIC_THREAD, parent_id=parent.id, owner_id=user.id,
        )  # no overwrites of its own: a thread's permissions are its parent's (world.permissions)

        async def create() -> bool:
            # On the server's loop, so that no request handler is reading the channels while one is added.
            guild.channels[f"post-{post.id}"] = post
            created = {**channel_json(post, guild_id=guild.id), "newly_created": True}
            return await self._server.dispatch("THREAD_CREATE", created)

        self._call(create(), timeout)
        return self.send_message(post, content, author=user, timeout=timeout, message_id=post.id)

    def set_overwrites(
        self, ref: ChannelRef, overwrites: Sequence[Mapping[str, Any]], *, timeout: Optional[float] = None
    ) -> FakeChannel:
        """A moderator changes a guild channel's permission overwrites, as Discord sends it: CHANNEL_UPDATE with the
        whole channel. Its threads follow it, having none of their own. Returns the channel as it is now."""
        old = self.channel(ref)
        guild = self.world.guild_of(old)
        if guild is None or old.is_thread:
            raise ValueError(f"#{old.name} has no overwrites of its own to change")
        new = dataclasses.replace(old, overwrites=tuple(overwrites))
        self.wait_until_connected(self._timeout(timeout))

        async def update() -> bool:
            # On the server's loop, so that no request handler is reading the channels meanwhile.
            for key, channel in guild.channels.items():
                if channel.id == new.id:
                    guild.channels[key] = new
            return await self._server.dispatch("CHANNEL_UPDATE", channel_json(new, guild_id=guild.id))

        self._call(update(), timeout)
        return new

    def forward_message(
        self, ref: MessageRef, channel_id: ChannelRef, *, author: UserRef = "user", timeout: Optional[float] = None
    ) -> dict[str, Any]:
        """A member forwards a message to a channel or DM, as Discord sends it: a message of the member's own with no
        content, whose ``message_reference`` (type 1, a forward) points at the original and whose
        ``message_snapshots`` hold a copy of it without its author. Without the Message Content intent the copy's
        content is blanked too (``_deliver_user_message``)."""
        original = copy.deepcopy(self._resolve_message(ref).data)
        ch, user = self._poster(channel_id, author)
        self.wait_until_connected(self._timeout(timeout))
        msg = self._user_message(ch, user, "", [], None, False)
        msg["message_reference"] = {"type": 1, "message_id": original["id"], "channel_id": original["channel_id"]}
        if original.get("guild_id"):
            msg["message_reference"]["guild_id"] = original["guild_id"]
        kept = ("type", "content", "embeds", "attachments", "timestamp", "edited_timestamp", "flags", "mentions",
                "mention_roles", "components")
        msg["message_snapshots"] = [{"message": {key: original[key] for key in kept}}]
        self._action_cursor = self.cursor()
        self._call(self._deliver_user_message(ch, msg), timeout)
        return copy.deepcopy(msg)

    def _poster(self, channel_id: ChannelRef, author: UserRef) -> tuple[FakeChannel, FakeUser]:
        """The channel and the user posting in it, who must be a member of its guild (a DM has none)."""
        ch = self.channel(channel_id)
        user = self.world.resolve_user(author)
        guild = self.world.guild_of(ch)
        if guild is not None and self.world.member_roles(user, guild) is None:
            raise ValueError(f"{user.username} is not in {guild.name} and cannot post in #{ch.name}")
        return ch, user

    def send_dm(self, content: str, *, author: UserRef = "user", **kwargs: Any) -> dict[str, Any]:
        """``send_message`` in the author's DM channel with the bot."""
        return self.send_message(self.dm_channel(author), content, author=author, **kwargs)

    def edit_message(self, ref: MessageRef, content: str, *, timeout: Optional[float] = None) -> dict[str, Any]:
        """A member edits their message, as Discord sends it: MESSAGE_UPDATE with the whole message (its mentions
        worked out from the new text, its reply and attachments kept, ``edited_timestamp`` set), the content
        blanked without the Message Content intent as for MESSAGE_CREATE. Returns the edited message."""
        old = copy.deepcopy(self._resolve_message(ref).data)
        ch = self.channel(int(old["channel_id"]))
        user = self.world.resolve_user(int(old["author"]["id"]))
        reference = old.get("message_reference")
        replied_author = (old.get("referenced_message") or {}).get("author", {}).get("id")
        pinged = any(m["id"] == replied_author for m in old["mentions"])
        self.wait_until_connected(self._timeout(timeout))
        msg = self._user_message(ch, user, content, [], reference and int(reference["message_id"]), pinged, int(old["id"]))
        msg.update(timestamp=old["timestamp"], edited_timestamp=iso_now(), attachments=old["attachments"])
        self._action_cursor = self.cursor()
        self._call(self._deliver_user_message(ch, msg, "MESSAGE_UPDATE"), timeout)
        return copy.deepcopy(msg)

    def delete_messages(self, *refs: MessageRef, timeout: Optional[float] = None) -> None:
        """Messages of one channel deleted by their authors or a moderator, as Discord sends it: MESSAGE_DELETE for
        one, MESSAGE_DELETE_BULK for several (a purge). Only ids reach the bot, as on Discord."""
        stored = [self._resolve_message(ref) for ref in refs]
        channels = {m.channel_id for m in stored}
        if len(channels) != 1:
            raise ValueError("one channel's messages at a time, as Discord deletes them")
        ch = self.channel(channels.pop())
        with self._server.lock:
            for m in stored:
                self._server.messages.pop(int(m.data["id"]), None)
        ids = [m.data["id"] for m in stored]
        d: dict[str, Any] = {"id": ids[0]} if len(ids) == 1 else {"ids": ids}
        d["channel_id"] = str(ch.id)
        if (guild := self.world.guild_of(ch)) is not None:
            d["guild_id"] = str(guild.id)
        event = "MESSAGE_DELETE" if len(ids) == 1 else "MESSAGE_DELETE_BULK"
        self.wait_until_connected(self._timeout(timeout))
        self._action_cursor = self.cursor()
        intent = INTENT_DIRECT_MESSAGES if ch.is_dm else INTENT_GUILD_MESSAGES
        self._call(self._server.dispatch(event, d, intent=intent), timeout)

    def _user_message(
        self, ch: FakeChannel, user: FakeUser, text: str, atts: Sequence[FakeAttachment],
        reply_to: Optional[MessageRef], reply_ping: bool, message_id: Optional[int] = None,
    ) -> dict[str, Any]:
        w = self.world
        guild = w.guild_of(ch)
        mentioned: list[FakeUser] = []
        for uid in dict.fromkeys(int(x) for x in _USER_MENTION_RE.findall(text)):
            try:
                mentioned.append(w.resolve_user(uid))
            except KeyError:
                pass
        guild_roles = guild.roles_by_id() if guild is not None else {}
        role_ids = [rid for rid in dict.fromkeys(_ROLE_MENTION_RE.findall(text)) if int(rid) in guild_roles]
        mid = self._server.snowflakes.next() if message_id is None else message_id
        msg: dict[str, Any] = {
            "id": str(mid), "channel_id": str(ch.id), "author": user_json(user), "content": text,
            "timestamp": iso_now(), "edited_timestamp": None, "tts": False,
            "mention_everyone": ("@everyone" in text or "@here" in text)
            and (ch.is_dm is False and bool(w.permissions(user, ch) & MENTION_EVERYONE)),
            "mentions": [], "mention_roles": role_ids, "attachments": [a.to_json() for a in atts],
            "embeds": [], "components": [], "pinned": False, "type": 0, "flags": 0, "nonce": str(mid),
        }
        if reply_to is not None:
            ref = self._resolve_message(reply_to)
            msg["type"] = 19
            msg["message_reference"] = {"type": 0, "message_id": ref.data["id"], "channel_id": str(ref.channel_id)}
            if guild is not None:
                msg["message_reference"]["guild_id"] = str(guild.id)
            msg["referenced_message"] = copy.deepcopy(ref.data)
            if reply_ping:
                ref_author = w.resolve_user(int(ref.data["author"]["id"]))
                if ref_author not in mentioned:
                    mentioned.append(ref_author)
        for m in mentioned:
            entry = user_json(m)
            m_roles = w.member_roles(m, guild) if guild is not None else None
            if m_roles is not None:
                entry["member"] = member_json(m, include_user=False, role_ids=m_roles)
            msg["mentions"].append(entry)
        if guild is not None:
            msg["guild_id"] = str(guild.id)
            msg["member"] = member_json(user, include_user=False, role_ids=w.member_roles(user, guild))
        with self._server.lock:
            self._server.messages[mid] = StoredMessage(data=msg, channel_id=ch.id)
        return msg

    async def _deliver_user_message(self, ch: FakeChannel, msg: dict[str, Any], event: str = "MESSAGE_CREATE") -> bool:
        session = self._server.session_for(int(msg["guild_id"]) if msg.get("guild_id") else None)
        d = copy.deepcopy(msg)
        mentions_bot = any(int(m["id"]) == self.bot_id for m in d["mentions"])
        if (
            self.options.emulate_message_content_intent and not ch.is_dm and not mentions_bot
            and session is not None and not session.intents & INTENT_MESSAGE_CONTENT
        ):
            d.update(content="", embeds=[], attachments=[], components=[])
            for snapshot in d.get("message_snapshots", ()):
                snapshot["message"].update(content="", embeds=[], attachments=[], components=[])
        return await self._server.dispatch(event, d, intent=INTENT_DIRECT_MESSAGES if ch.is_dm else INTENT_GUILD_MESSAGES)

    # ------------------------------------------------------------------ interactions

    def _resolve_message(self, ref: MessageRef) -> StoredMessage:
        if isinstance(ref, InteractionHandle):
            mid: Any = ref._state.original_message_id
        elif isinstance(ref, RecordedRequest):
            mid = ref.message_id or (ref.message or {}).get("id")
        elif isinstance(ref, Mapping):
            mid = ref.get("id")
        else:
            mid = ref
        with self._server.lock:
            stored = self._server.messages.get(int(mid)) if mid is not None else None
        if stored is None:
            raise LookupError(f"no such message {mid!r} (deleted, or never created)")
        return stored

    def _dispatch_interaction(
        self, itype: int, data: Mapping[str, Any], user: FakeUser, ch: FakeChannel, *,
        message: Optional[StoredMessage] = None, locale: str = "en-US", timeout: Optional[float] = None,
    ) -> InteractionHandle:
        self.wait_until_connected(self._timeout(timeout))
        iid = self._server.snowflakes.next()
        token = self._server.new_token()
        payload = build_interaction(
            self.world, interaction_id=iid, token=token, itype=itype, data=data, user=user, channel=ch,
            locale=locale, attachment_size_limit=self.options.attachment_size_limit,
            message=copy.deepcopy(message.data) if message else None,
        )
        state = InteractionState(
            id=iid, token=token, type=itype, payload=payload, channel=ch, user=user,
            source_message_id=int(message.data["id"]) if message else None,
        )
        self._server.register_interaction(state)
        self._action_cursor = self.cursor()
        state.created = time.monotonic()
        self._call(self._server.dispatch("INTERACTION_CREATE", copy.deepcopy(payload)), timeout)
        return InteractionHandle(self, state)

    def _command(
        self, name: str, ch: FakeChannel, user: FakeUser, bypass_permissions: bool, ctype: int = 1
    ) -> Optional[dict[str, Any]]:
        guild = self.world.guild_of(ch)
        cmd = self._server.find_registered_command(name, guild_id=guild.id if guild else None, ctype=ctype)
        if cmd is None:
            if self.strict_commands:
                known = [c["name"] for c in self.global_commands + self.guild_commands]
                raise LookupError(f"/{name} is not registered with the fake (registered: {known}); did the bot sync its tree?")
            return None
        if ch.is_dm and (cmd.get("dm_permission") is False or (cmd.get("contexts") is not None and 1 not in cmd["contexts"])):
            raise LookupError(f"/{name} is not available in DMs (contexts={cmd.get('contexts')}, dm_permission={cmd.get('dm_permission')})")
        need = cmd.get("default_member_permissions")
        if need is not None and not bypass_permissions and not ch.is_dm:
            need_i = int(need)
            if self.world.permissions(user, ch) & need_i != need_i:
                raise PermissionError(f"Discord hides /{name} from {user.username} (needs permissions {need_i:#x}); pass bypass_permissions=True to send anyway")
        return cmd

    @staticmethod
    def _split_name(name: str, group: Optional[str], sub: Optional[str]) -> tuple[str, Optional[str], Optional[str]]:
        parts = name.split()
        if len(parts) == 2 and sub is None:
            return parts[0], group, parts[1]
        if len(parts) == 3 and group is None and sub is None:
            return parts[0], parts[1], parts[2]
        return name, group, sub

    def send_slash_command(
        self,
        name: str,
        options: Union[Mapping[str, Any], Sequence[Mapping[str, Any]], None] = None,
        *,
        subcommand_group: Optional[str] = None,
        subcommand: Optional[str] = None,
        user: UserRef = "user",
        channel_id: ChannelRef = None,
        locale: str = "en-US",
        bypass_permissions: bool = False,
        timeout: Optional[float] = None,
    ) -> InteractionHandle:
        """Dispatch a chat-input command. ``name`` may be "cmd", "cmd sub" or "cmd group sub".

        ``options`` maps option name -> value (str/int/float/bool, FakeUser, FakeRole,
        FakeChannel, or a FakeAttachment from ``attach_file``), or is a list of
        ``{"name", "value"}`` dicts; types and choices come from (and are checked against)
        the registered command when the bot has synced it, else are inferred.
        """
        base, group, sub = self._split_name(name, subcommand_group, subcommand)
        u, ch = self.world.resolve_user(user), self.channel(channel_id)
        cmd = self._command(base, ch, u, bypass_permissions)
        data = build_command_data(
            command=cmd, name=base, command_id=int(cmd["id"]) if cmd else self._server.snowflakes.next(),
            subcommand_group=group, subcommand=sub, options=options, resolved=Resolved(self.world, ch),
        )
        return self._dispatch_interaction(APPLICATION_COMMAND, data, u, ch, locale=locale, timeout=timeout)

    def send_message_command(
        self, name: str, message: MessageRef, *, user: UserRef = "user", timeout: Optional[float] = None
    ) -> InteractionHandle:
        """Dispatch a message command (a message's Apps menu) on ``message``, in its channel: the message travels
        with the interaction, whole, as Discord sends it whatever the bot's intents."""
        stored = self._resolve_message(message)
        u, ch = self.world.resolve_user(user), self.channel(stored.channel_id)
        cmd = self._command(name, ch, u, bypass_permissions=False, ctype=3)
        data = {
            "id": cmd["id"] if cmd else str(self._server.snowflakes.next()), "name": name, "type": 3,
            "target_id": stored.data["id"], "resolved": {"messages": {stored.data["id"]: copy.deepcopy(stored.data)}},
        }
        return self._dispatch_interaction(APPLICATION_COMMAND, data, u, ch, timeout=timeout)

    def send_autocomplete(
        self,
        name: str,
        options: Union[Mapping[str, Any], Sequence[Mapping[str, Any]], None],
        focused: str,
        *,
        subcommand_group: Optional[str] = None,
        subcommand: Optional[str] = None,
        user: UserRef = "user",
        channel_id: ChannelRef = None,
        locale: str = "en-US",
        timeout: Optional[float] = None,
    ) -> InteractionHandle:
        """Dispatch an autocomplete interaction; ``focused`` names the option being typed.
        Read the answer with ``handle.wait_choices()``."""
        base, group, sub = self._split_name(name, subcommand_group, subcommand)
        u, ch = self.world.resolve_user(user), self.channel(channel_id)
        cmd = self._command(base, ch, u, bypass_permissions=True)
        data = build_command_data(
            command=cmd, name=base, command_id=int(cmd["id"]) if cmd else self._server.snowflakes.next(),
            subcommand_group=group, subcommand=sub, options=options, resolved=Resolved(self.world, ch), focused=focused,
        )
        return self._dispatch_interaction(AUTOCOMPLETE, data, u, ch, locale=locale, timeout=timeout)

    def _component_target(self, message: MessageRef, custom_id: str, settle: float) -> tuple[StoredMessage, Mapping[str, Any]]:
        stored = self._resolve_message(message)
        comp = find_component(stored.data.get("components") or [], custom_id)
        if comp is None:
            ids = sorted(_custom_ids(stored.data.get("components") or []))
            raise LookupError(f"message {stored.data['id']} has no component {custom_id!r}; has {ids}")
        if comp.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled; a user cannot use it")
        # discord.py stores a view only after it has read the HTTP response that created the
        # message, so a click that arrives too soon is silently dropped. Give it a moment.
        delay = stored.updated + settle - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        return stored, comp

    def click_button(self, message: MessageRef, custom_id: str, *, user: UserRef = "user", settle: float = 0.5, timeout: Optional[float] = None) -> InteractionHandle:
        """Click a button on a bot message (dict, RecordedRequest, InteractionHandle or id)."""
        stored, comp = self._component_target(message, custom_id, settle)
        if comp.get("type") != 2:
            raise ValueError(f"component {custom_id!r} is type {comp.get('type')}, not a button")
        ch = self.channel(stored.channel_id)
        data = {"custom_id": custom_id, "component_type": 2}
        return self._dispatch_interaction(MESSAGE_COMPONENT, data, self.world.resolve_user(user), ch, message=stored, timeout=timeout)

    def select(
        self, message: MessageRef, custom_id: str, values: Sequence[Any], *, user: UserRef = "user",
        settle: float = 0.5, timeout: Optional[float] = None,
    ) -> InteractionHandle:
        """Choose ``values`` in a select menu. String selects take option values; user/role/
        channel/mentionable selects take FakeUser/FakeRole/FakeChannel objects."""
        stored, comp = self._component_target(message, custom_id, settle)
        ctype = comp.get("type")
        if ctype not in SELECT_TYPES:
            raise ValueError(f"component {custom_id!r} is type {ctype}, not a select")
        lo, hi = comp.get("min_values", 1), comp.get("max_values", 1)
        if not lo <= len(values) <= hi:
            raise ValueError(f"select {custom_id!r} takes {lo}..{hi} values, got {len(values)}")
        ch = self.channel(stored.channel_id)
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": ctype}
        if ctype == 3:
            allowed = [o["value"] for o in comp.get("options") or []]
            bad = [v for v in values if v not in allowed]
            if bad:
                raise ValueError(f"{bad} not among select options {allowed}")
            data["values"] = [str(v) for v in values]
        else:
            resolved = Resolved(self.world, ch)
            for v in values:
                if isinstance(v, FakeUser):
                    resolved.user(v)
                elif isinstance(v, FakeRole):
                    resolved.role(v)
                elif isinstance(v, FakeChannel):
                    resolved.channel_(v)
                else:
                    raise TypeError(f"select {custom_id!r} needs FakeUser/FakeRole/FakeChannel values, got {v!r}")
            data["values"] = [str(v.id) for v in values]
            data["resolved"] = resolved.data
        return self._dispatch_interaction(MESSAGE_COMPONENT, data, self.world.resolve_user(user), ch, message=stored, timeout=timeout)

    def submit_modal(
        self, origin: InteractionHandle, values: Mapping[str, Union[str, Sequence[str]]], *,
        user: Optional[UserRef] = None, timeout: Optional[float] = None,
    ) -> InteractionHandle:
        """Submit the modal the bot opened in answer to ``origin`` (values by input custom_id)."""
        modal = origin.wait_modal(timeout)
        u = self.world.resolve_user(user) if user is not None else origin._state.user
        data = {"custom_id": modal["custom_id"], "components": modal_submit_components(modal, values)}
        src = origin._state.source_message_id
        message = None
        if src is not None:
            with self._server.lock:
                message = self._server.messages.get(src)
        return self._dispatch_interaction(MODAL_SUBMIT, data, u, origin._state.channel, message=message, timeout=timeout)


def _custom_ids(components: Sequence[Mapping[str, Any]]) -> set[str]:
    out: set[str] = set()
    for c in components:
        if isinstance(c.get("custom_id"), str):
            out.add(c["custom_id"])
        out |= _custom_ids(c.get("components") or [])
        for key in ("accessory", "component"):
            if isinstance(c.get(key), Mapping):
                out |= _custom_ids([c[key]])
    return out
