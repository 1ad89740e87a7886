"""Bot processes on one PostgreSQL hear each other's changes, even after losing the connection."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any, AsyncIterator

import pytest

from bot.fleet import LocalFleet, PostgresFleet, ProcessInfo
from bot.postgres_store import PostgresStore

WAIT = 30.0  # generous: a busy CI machine; the tests await events, they never sleep


def process(name: str, shards: tuple[int, ...], version: str) -> ProcessInfo:
    now = datetime.now(timezone.utc)
    return ProcessInfo(name, shards, 2, version, now, now)


class Member:
    def __init__(self, store: PostgresStore, me: ProcessInfo) -> None:
        self.fleet = PostgresFleet(store)
        self.me = me
        self.heard: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    async def start(self) -> None:
        await self.fleet.start(self.me, self._on_event)

    async def _on_event(self, event: dict[str, Any] | None) -> None:
        await self.heard.put(event)

    async def next_event(self) -> dict[str, Any] | None:
        return await asyncio.wait_for(self.heard.get(), WAIT)


@pytest.fixture
async def pair(postgres_url: str) -> AsyncIterator[tuple[Member, Member]]:
    async with PostgresStore(postgres_url) as store_a, PostgresStore(postgres_url) as store_b:
        a, b = Member(store_a, process("host-a:1", (0,), "v1")), Member(store_b, process("host-b:2", (1,), "v1"))
        await a.start()
        await b.start()
        try:
            yield a, b
        finally:
            await a.fleet.stop()
            await b.fleet.stop()


async def test_an_announcement_reaches_the_other_process_only(pair: tuple[Member, Member]) -> None:
    a, b = pair
    await a.fleet.announce({"kind": "knowledge", "version": "v2"})
    assert await b.next_event() == {"kind": "knowledge", "version": "v2", "from": "host-a:1"}
    await b.fleet.announce({"kind": "settings", "guild_id": 5})
    assert await a.next_event() == {"kind": "settings", "guild_id": 5, "from": "host-b:2"}
    assert a.heard.empty() and b.heard.empty()  # nobody hears its own


async def test_members_show_each_process_shards_and_version(pair: tuple[Member, Member]) -> None:
    a, b = pair
    await b.fleet.update(process("host-b:2", (1,), "v2"))
    members = await a.fleet.members()
    assert [(m.name, m.shard_ids, m.shard_count, m.knowledge_version) for m in members] == [
        ("host-a:1", (0,), 2, "v1"),
        ("host-b:2", (1,), 2, "v2"),
    ]
    await b.fleet.stop()  # a clean stop leaves the list at once
    assert [m.name for m in await a.fleet.members()] == ["host-a:1"]


async def test_a_dropped_connection_comes_back_and_asks_for_a_recheck(pair: tuple[Member, Member], postgres: Any,
                                                                       postgres_url: str) -> None:
    a, b = pair
    # The database ends both listening connections (a restart, a failover, a cut network would too).
    killed = postgres.sql(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE query LIKE 'LISTEN%' AND datname = current_database()",
        postgres_url,
    )
    assert killed == "2"
    # "You may have missed something: re-check everything."
    assert await a.next_event() is None
    assert await b.next_event() is None
    await a.fleet.announce({"kind": "knowledge", "version": "v3"})
    assert await b.next_event() == {"kind": "knowledge", "version": "v3", "from": "host-a:1"}


async def test_a_lone_process_lists_itself() -> None:
    fleet = LocalFleet()
    me = process("solo:1", (), "v1")
    await fleet.start(me, lambda event: asyncio.sleep(0))
    await fleet.announce({"kind": "knowledge", "version": "v2"})  # nobody to tell, and no error
    assert await fleet.members() == [me]
