"""How the bot's processes hear of each other: what one changes, every other one follows.

A bot that outgrows one process runs shard ranges in several processes, on
several hosts, over one PostgreSQL database. They share the knowledge folder
and the database, but each keeps the knowledge and each server's settings in
memory; so when an owner uploads a file through one process, or a moderator
changes ``/config`` through one, the others must hear of it within seconds.

* :class:`PostgresFleet`: ``NOTIFY`` on the shared database announces a
  change, ``LISTEN`` delivers it to every other process; a table of live
  processes (refreshed every few seconds) lets ``/kb status`` show each
  process's shards and knowledge version, so a process that did not follow
  is seen, not silent. A dropped listening connection is re-opened and then
  treated as "something may have changed" (notifications sent meanwhile are
  lost), so nothing is missed for good.
* :class:`LocalFleet`: one process with its SQLite file has nobody to tell.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable, Final, Protocol

import asyncpg

from bot.postgres_store import PostgresStore

log = logging.getLogger("pmbot.fleet")

CHANNEL: Final[str] = "pmbot_events"
HEARTBEAT_SECONDS: Final[float] = 10.0
#: A process not heard of for this long is left out of /kb status (it stopped, or lost the database).
GONE_AFTER: Final[timedelta] = timedelta(seconds=45)
RECONNECT_SECONDS: Final[float] = 2.0
#: Telling the others must never hold up the change itself (an upload waits for it) on a slow database.
DATABASE_TIMEOUT: Final[float] = 5.0

#: An event: {"kind": "knowledge", "version": …} or {"kind": "settings", "guild_id": …}, plus "from".
#: ``None`` means "the connection was lost and is back: re-check everything".
Event = dict[str, Any]
EventHandler = Callable[[Event | None], Awaitable[None]]


@dataclass(frozen=True)
class ProcessInfo:
    """One bot process, as /kb status shows it."""

    name: str
    shard_ids: tuple[int, ...]
    shard_count: int | None
    knowledge_version: str
    started_at: datetime
    seen_at: datetime

    @classmethod
    def here(cls, shard_ids: tuple[int, ...], shard_count: int | None, knowledge_version: str) -> ProcessInfo:
        now = datetime.now(timezone.utc)
        return cls(f"{socket.gethostname()}:{os.getpid()}", shard_ids, shard_count, knowledge_version, now, now)


class Fleet(Protocol):
    async def start(self, me: ProcessInfo, on_event: EventHandler) -> None: ...

    async def stop(self) -> None: ...

    async def announce(self, event: Event) -> None: ...

    async def update(self, me: ProcessInfo) -> None: ...

    async def members(self) -> list[ProcessInfo]: ...


class LocalFleet:
    """A fleet of one: nothing to announce to, and /kb status lists this process alone."""

    def __init__(self) -> None:
        self._me: ProcessInfo | None = None

    async def start(self, me: ProcessInfo, on_event: EventHandler) -> None:
        self._me = me

    async def stop(self) -> None:
        self._me = None

    async def announce(self, event: Event) -> None:
        return None

    async def update(self, me: ProcessInfo) -> None:
        self._me = me

    async def members(self) -> list[ProcessInfo]:
        return [self._me] if self._me else []


class PostgresFleet:
    """Processes sharing one PostgreSQL database: LISTEN/NOTIFY plus a table of who is alive.

    The ``pmbot_processes`` table holds only who is running now, rewritten
    every few seconds, so it is created if missing and kept out of the data
    migrations (and out of backups and ``migrate-store``: it is UNLOGGED).
    """

    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        self._me: ProcessInfo | None = None
        self._on_event: EventHandler | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._handling: set[asyncio.Task[None]] = set()  # strong references, so none is collected mid-way
        self._writing = asyncio.Lock()

    async def start(self, me: ProcessInfo, on_event: EventHandler) -> None:
        async with self._store.pool().acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('pmbot_processes'))")
            await conn.execute(
                "CREATE UNLOGGED TABLE IF NOT EXISTS pmbot_processes ("
                " name TEXT PRIMARY KEY, shard_ids INTEGER[] NOT NULL, shard_count INTEGER,"
                " knowledge_version TEXT NOT NULL, started_at TIMESTAMPTZ NOT NULL, seen_at TIMESTAMPTZ NOT NULL)"
            )
        self._me, self._on_event = me, on_event
        await self.update(me)
        connected = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self._listen(connected), name="pmbot-fleet-listen"),
            asyncio.create_task(self._heartbeat(), name="pmbot-fleet-heartbeat"),
        ]
        await connected.wait()  # from here on, no announcement is missed

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._me is not None:
            with contextlib.suppress(Exception):  # a database already gone just means the row ages out
                await self._store.pool().execute("DELETE FROM pmbot_processes WHERE name = $1", self._me.name)

    async def announce(self, event: Event) -> None:
        """Tells every other process; never raises (the change itself already happened here)."""
        assert self._me is not None, "start() first"
        payload = json.dumps({**event, "from": self._me.name}, separators=(",", ":"))
        try:
            await asyncio.wait_for(self._store.pool().execute("SELECT pg_notify($1, $2)", CHANNEL, payload),
                                   DATABASE_TIMEOUT)
        except Exception:  # noqa: BLE001 - the change happened here; /kb status shows who did not follow
            log.exception("could not tell the other processes about %s", event)

    async def update(self, me: ProcessInfo) -> None:
        """Records ``me``; writes one at a time, each the newest state, so an older one never lands last."""
        self._me = me
        async with self._writing:
            await asyncio.wait_for(self._write_row(self._me), DATABASE_TIMEOUT)

    async def _write_row(self, me: ProcessInfo) -> None:
        await self._store.pool().execute(
            "INSERT INTO pmbot_processes (name, shard_ids, shard_count, knowledge_version, started_at, seen_at)"
            " VALUES ($1, $2, $3, $4, $5, now()) ON CONFLICT (name) DO UPDATE SET shard_ids = excluded.shard_ids,"
            " shard_count = excluded.shard_count, knowledge_version = excluded.knowledge_version, seen_at = now()",
            me.name, list(me.shard_ids), me.shard_count, me.knowledge_version, me.started_at,
        )

    async def members(self) -> list[ProcessInfo]:
        rows = await self._store.pool().fetch(
            "SELECT name, shard_ids, shard_count, knowledge_version, started_at, seen_at FROM pmbot_processes"
            " WHERE seen_at > now() - $1::interval ORDER BY shard_ids, name",
            GONE_AFTER,
        )
        return [
            ProcessInfo(r["name"], tuple(r["shard_ids"]), r["shard_count"], r["knowledge_version"],
                        r["started_at"], r["seen_at"])
            for r in rows
        ]

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                assert self._me is not None
                await self.update(self._me)
            except Exception:  # noqa: BLE001 - keep beating; the database may come back
                log.warning("could not refresh this process's row in pmbot_processes", exc_info=True)

    async def _listen(self, connected: asyncio.Event) -> None:
        """Holds one connection LISTENing; when it drops, reconnects and asks for a full re-check."""
        first = True
        while True:
            lost = asyncio.Event()
            try:
                conn = await asyncpg.connect(self._store.url)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("cannot listen for other processes' changes (%s); retrying in %.0fs", exc, RECONNECT_SECONDS)
                await asyncio.sleep(RECONNECT_SECONDS)
                continue
            try:
                conn.add_termination_listener(lambda _conn: lost.set())
                await conn.add_listener(CHANNEL, self._heard)
                connected.set()
                if not first:
                    log.info("listening for other processes' changes again; re-checking everything")
                    await self._deliver(None)
                first = False
                while not lost.is_set():  # a silent network cut shows up only when we talk
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(lost.wait(), HEARTBEAT_SECONDS)
                    if not lost.is_set():
                        try:
                            await asyncio.wait_for(conn.execute("SELECT 1"), HEARTBEAT_SECONDS)
                        except (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                            lost.set()
                log.warning("lost the connection that listens for other processes' changes; reconnecting")
            finally:
                with contextlib.suppress(Exception):
                    await conn.close(timeout=2)

    def _heard(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            event = json.loads(payload)
        except ValueError:
            log.warning("ignored a malformed notification on %s: %r", CHANNEL, payload[:200])
            return
        if not isinstance(event, dict) or self._me is None or event.get("from") == self._me.name:
            return  # our own announcement comes back to us too
        task = asyncio.get_running_loop().create_task(self._deliver(event))
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)

    async def _deliver(self, event: Event | None) -> None:
        if self._on_event is None:
            return
        try:
            await self._on_event(event)
        except Exception:  # noqa: BLE001 - one failed follow-up must not stop listening
            log.exception("handling another process's change %s failed", event)


def fleet_for(store: object) -> Fleet:
    """PostgreSQL's processes can hear each other; anything else runs alone."""
    return PostgresFleet(store) if isinstance(store, PostgresStore) else LocalFleet()
