"""Each server's own settings: what ``/config`` stored, over the host's environment defaults.

Read on every message (is this a help channel?) and every command (is this a
moderator?), so they are served from memory; each change is written to the
store first and cached only once it is saved, so a restart loses nothing and
the cache never claims a setting the database does not have. Where several
processes share the database, ``on_change`` tells the others after each
saved change, and they :meth:`reload`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Awaitable, Callable

from bot.config import Settings
from bot.store import GuildSettings, Store


@dataclass(frozen=True)
class EffectiveSettings:
    """What applies in one server: its own settings where it has any, the defaults elsewhere."""

    help_channels: frozenset[int]
    moderator_roles: frozenset[int]
    mod_log_channel: int | None
    cooldown_rate: int
    cooldown_seconds: float
    help_channel_suggestions: bool
    help_channel_threads: bool
    weekly_digest: bool


class GuildSettingsCache:
    """Every server's stored settings in memory, loaded once at start, changed through the store."""

    def __init__(self, store: Store | None, defaults: Settings) -> None:
        self._store = store
        self._defaults = defaults
        self._stored: dict[int, GuildSettings] = {}
        self.on_change: Callable[[int], Awaitable[None]] | None = None
        # One change at a time: two moderators adding a channel at once must both be kept.
        self._lock = asyncio.Lock()

    async def load(self) -> int:
        """Reads every server's settings from the store; returns how many servers have some."""
        if self._store is not None:
            self._stored = {s.guild_id: s for s in await self._store.all_guild_settings()}
        return len(self._stored)

    async def reload(self) -> None:
        """Re-reads every server's settings after another process changed some (waits for changes made here)."""
        async with self._lock:
            await self.load()

    def stored(self, guild_id: int) -> GuildSettings:
        """What the server set itself (all ``None`` when it set nothing)."""
        return self._stored.get(guild_id) or GuildSettings(guild_id)

    def effective(self, guild_id: int | None) -> EffectiveSettings:
        """The settings in force in a server; ``None`` (a DM) gets the defaults."""
        d = self._defaults
        own = self.stored(guild_id) if guild_id is not None else GuildSettings(0)
        return EffectiveSettings(
            help_channels=d.listen_channel_ids if own.help_channels is None else own.help_channels,
            moderator_roles=d.moderator_role_ids if own.moderator_roles is None else own.moderator_roles,
            mod_log_channel=d.mod_log_channel_id if own.mod_log_channel is None else own.mod_log_channel,
            cooldown_rate=d.cooldown_rate if own.cooldown_rate is None else own.cooldown_rate,
            cooldown_seconds=d.cooldown_seconds if own.cooldown_seconds is None else own.cooldown_seconds,
            help_channel_suggestions=(d.help_channel_suggestions if own.help_channel_suggestions is None
                                      else own.help_channel_suggestions),
            help_channel_threads=d.help_channel_threads if own.help_channel_threads is None else own.help_channel_threads,
            weekly_digest=d.weekly_digest if own.weekly_digest is None else own.weekly_digest,
        )

    async def update(self, guild_id: int, change: Callable[[GuildSettings], GuildSettings]) -> GuildSettings:
        """Applies ``change`` to the server's stored settings, saves, then caches; returns the new settings."""
        async with self._lock:
            new = change(self.stored(guild_id))
            if self._store is not None:
                await self._store.save_guild_settings(new)
            if new.is_empty:
                self._stored.pop(guild_id, None)
            else:
                self._stored[guild_id] = new
        if self.on_change is not None:
            await self.on_change(guild_id)
        return new

    def forget(self, guild_id: int) -> None:
        """Drops a server from memory (the store's rows are deleted by ``Store.forget_guild``)."""
        self._stored.pop(guild_id, None)

    def guild_ids(self) -> list[int]:
        return sorted(self._stored)
