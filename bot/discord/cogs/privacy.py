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
* A member's own: ``/privacy show`` says what pmbot keeps that names them, and ``/privacy forget`` deletes it, in
  every server and DM (Discord's developer policy asks that a user may have their data deleted). Anyone may, for
  themselves only: the command acts on whoever invoked it, never on a user it is given.
"""

from __future__ import annotations

import io
import logging
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot import reports
from bot.discord.cogs.moderation import respond
from bot.store import PersonalRecords, Purged

if TYPE_CHECKING:
    from bot.discord.app import PMBot

log = logging.getLogger("pmbot.privacy")

PURGE_EVERY_HOURS = 6


class Privacy(commands.Cog):
    privacy = app_commands.Group(name="privacy", description="What pmbot keeps about you, and deleting it")

    def __init__(self, bot: PMBot) -> None:
        self.bot = bot

    @privacy.command(name="show", description="What pmbot keeps that names you, in every server and DM, with a copy")
    async def show(self, interaction: discord.Interaction) -> None:
        store = self.bot.store
        records = await store.personal_records(interaction.user.id) if store is not None else PersonalRecords()
        lines = [
            "**What pmbot keeps that names you**, in every server and DM:",
            f"- 👍/👎 votes on answers: **{len(records.votes)}**, each with the answer and the server, so that each "
            "person has one vote on an answer.",
            f"- Questions pmbot could not answer, kept with your user id: **{len(records.questions)}**."
            if self.bot.settings.store_user_ids else
            "- Questions pmbot could not answer are kept for the moderators without who asked them.",
            f"Each is deleted after {self.bot.settings.retention_days} days, and a question as soon as its message is "
            "deleted. `/privacy forget` deletes what names you now.",
        ]
        copy = None
        if records.votes or records.questions:
            data = reports.personal_data_json(records)
            if len(data) <= interaction.filesize_limit:
                lines.append("A copy of all of it is attached.")
                copy = discord.File(io.BytesIO(data), filename="pmbot-data-about-you.json")
            else:
                lines.append("A copy would be more than Discord lets me attach here: ask whoever runs pmbot for it (`pmbot user-data`).")
        await respond(interaction, content="\n".join(lines), file=copy)

    @privacy.command(name="forget", description="Delete what pmbot keeps that names you, in every server and DM")
    async def forget(self, interaction: discord.Interaction) -> None:
        store, user_id = self.bot.store, interaction.user.id
        self.bot.answered.forget_person(user_id)
        deleted = await store.forget_person(user_id) if store is not None else Purged()
        log.info("deleted what names user %s at their request: %d vote(s), %d question(s)",
                 user_id, deleted.votes, deleted.questions)
        await respond(interaction, content=(
            f"Deleted what pmbot kept that names you: {deleted.votes} 👍/👎 vote(s) and {deleted.questions} "
            "question(s), in every server and DM. A vote or question from now on is kept as before, until "
            f"{self.bot.settings.retention_days} days have passed."
            if deleted.total else "pmbot keeps nothing that names you."
        ))

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
            "retention (PMBOT_RETENTION_DAYS=%d): deleted %d question(s), %d vote(s), %d daily reply count(s) and %d"
            " dismissal(s) older than that",
            days, purged.questions, purged.votes, purged.reply_counts, purged.dismissed,
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
            "removed from server %s (%s): deleted its %d question(s), %d vote(s), %d daily reply count(s),"
            " %d dismissal(s) and its settings",
            guild.id, guild.name, purged.questions, purged.votes, purged.reply_counts, purged.dismissed,
        )


async def setup(bot: PMBot) -> None:
    await bot.add_cog(Privacy(bot))
