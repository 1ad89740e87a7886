"""Each server's settings over the environment defaults, against a real SQLite store."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from bot.config import Settings
from bot.guild_settings import EffectiveSettings, GuildSettingsCache
from bot.store import GuildSettings, SqliteStore, StoreClosedError

A, B = 111, 222
DEFAULTS = Settings(
    listen_channel_ids=frozenset({1}), moderator_role_ids=frozenset({2}), mod_log_channel_id=3,
    cooldown_rate=5, cooldown_seconds=60.0,
)
AS_DEFAULT = EffectiveSettings(frozenset({1}), frozenset({2}), 3, 5, 60.0, True, False, False)


def add(field: str, value: int):  # type: ignore[no-untyped-def]
    def change(own: GuildSettings) -> GuildSettings:
        return dataclasses.replace(own, **{field: (getattr(own, field) or frozenset()) | {value}})
    return change


async def test_a_server_that_set_nothing_and_dms_get_the_defaults() -> None:
    cache = GuildSettingsCache(None, DEFAULTS)
    assert await cache.load() == 0
    assert cache.effective(A) == AS_DEFAULT
    assert cache.effective(None) == AS_DEFAULT


async def test_own_settings_replace_the_defaults_in_that_server_only(tmp_path: Path) -> None:
    async with SqliteStore(tmp_path / "db.sqlite3") as store:
        cache = GuildSettingsCache(store, DEFAULTS)
        await cache.update(A, lambda own: dataclasses.replace(own, help_channels=frozenset(), cooldown_rate=1,
                                                                help_channel_suggestions=False))
        assert cache.effective(A) == EffectiveSettings(frozenset(), frozenset({2}), 3, 1, 60.0, False, False, False), (
            "no help channels is a choice")
        assert cache.effective(B) == AS_DEFAULT
        quiet_host = GuildSettingsCache(store, dataclasses.replace(DEFAULTS, help_channel_suggestions=False))
        await quiet_host.load()
        await quiet_host.update(B, lambda own: dataclasses.replace(own, help_channel_suggestions=True))
        assert [quiet_host.effective(g).help_channel_suggestions for g in (A, B, None)] == [False, True, False]
        await quiet_host.update(A, lambda own: dataclasses.replace(own, help_channel_threads=True))
        assert [quiet_host.effective(g).help_channel_threads for g in (A, B, None)] == [True, False, False]
        digesting_host = GuildSettingsCache(store, dataclasses.replace(DEFAULTS, weekly_digest=True))
        await digesting_host.load()
        await digesting_host.update(B, lambda own: dataclasses.replace(own, weekly_digest=False))
        assert [digesting_host.effective(g).weekly_digest for g in (A, B, None)] == [True, False, True]


async def test_settings_survive_a_restart_and_reset_removes_them(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    async with SqliteStore(path) as store:
        cache = GuildSettingsCache(store, DEFAULTS)
        await cache.update(A, lambda own: dataclasses.replace(own, mod_log_channel=9, moderator_roles=frozenset({8})))
    async with SqliteStore(path) as store:
        restarted = GuildSettingsCache(store, DEFAULTS)
        assert await restarted.load() == 1
        assert restarted.effective(A) == EffectiveSettings(frozenset({1}), frozenset({8}), 9, 5, 60.0, True, False, False)
        await restarted.update(A, lambda own: GuildSettings(own.guild_id))  # /config reset everything
        assert restarted.guild_ids() == [] and await store.all_guild_settings() == []


async def test_concurrent_changes_are_all_kept(tmp_path: Path) -> None:
    async with SqliteStore(tmp_path / "db.sqlite3") as store:
        cache = GuildSettingsCache(store, DEFAULTS)
        await asyncio.gather(*(cache.update(A, add("help_channels", c)) for c in range(10, 30)))
        assert cache.stored(A).help_channels == frozenset(range(10, 30))
        assert (await store.all_guild_settings())[0].help_channels == frozenset(range(10, 30))


async def test_a_change_the_store_refuses_is_not_cached(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "db.sqlite3")  # never opened
    cache = GuildSettingsCache(store, DEFAULTS)
    with pytest.raises(StoreClosedError):
        await cache.update(A, add("help_channels", 5))
    assert cache.effective(A) == AS_DEFAULT


async def test_forget_drops_a_server_from_memory() -> None:
    cache = GuildSettingsCache(None, DEFAULTS)
    await cache.update(A, add("moderator_roles", 7))
    cache.forget(A)
    assert cache.effective(A) == AS_DEFAULT
