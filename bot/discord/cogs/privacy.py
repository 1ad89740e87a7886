"""Privacy: stored questions and votes expire, and a server that removes pmbot leaves nothing behind.

* Retention: unanswered questions, votes and reply counts older than PMBOT_RETENTION_DAYS
  (default 90) are deleted at start and then every few hours. Finding gaps
  in the knowledge needs recent questions, not an archive of what people asked.
* Deleting: a question kept for the gaps list goes when its message is
  deleted, by its author or a moderator (one by one, or a purge), whenever
  that is: a member who deletes a message expects its words gone.
* Leaving: when pmbot is removed from a server (``on_guild_remove``), that
  server's questions, votes, reply counts, /config settings and last digest date are deleted at once.
  A server that is only *unavailable* (a Discord outage) keeps its data:
  discord.py does not call ``on_guild_remove`` for that.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import discord
from discord.ext import commands, tasks

if TYPE_CHECKING:
    from bot.discord.app import PMBot

log = logging.getLogger("pmbot.privacy")

PURGE_EVERY_HOURS = 6


class Privacy(commands.Cog):
    def __init__(self, bot: PMBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        if self.bot.store is not None:  # `python -m bot sync` runs without a store, and needs no purge
            self.purge_expired.start()

    async def cog_unload(self) -> None:
        self.purge_expired.cancel()

    @tasks.loop(hours=PURGE_EVERY_HOURS)
    async def purge_expired(self) -> None:
        """The first run is at start, so a bot that was down for months does not serve expired data."""
        assert self.bot.store is not None
        days = self.bot.settings.retention_days
        try:
            purged = await self.bot.store.purge_before(datetime.now(timezone.utc) - timedelta(days=days))
        except Exception:  # noqa: BLE001 - an error would end the loop; a busy database must not end retention
            log.exception("retention purge failed; trying again in %d hours", PURGE_EVERY_HOURS)
            return
        log.info(
            "retention (PMBOT_RETENTION_DAYS=%d): deleted %d question(s), %d vote(s) and %d daily reply count(s)"
            " older than that",
            days, purged.questions, purged.votes, purged.reply_counts,
        )

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        """Raw: the message is seldom still in the cache, and its id is all the store needs."""
        await self.bot.forget_questions({payload.message_id})

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        await self.bot.forget_questions(payload.message_ids)

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        self.bot.guild_settings.forget(guild.id)
        self.bot.cooldowns.forget(guild.id)
        if self.bot.store is None:
            return
        purged = await self.bot.store.forget_guild(guild.id)
        log.info(
            "removed from server %s (%s): deleted its %d question(s), %d vote(s), %d daily reply count(s) and its"
            " settings",
            guild.id, guild.name, purged.questions, purged.votes, purged.reply_counts,
        )


async def setup(bot: PMBot) -> None:
    await bot.add_cog(Privacy(bot))
