"""The weekly digest: a server that asks for it (``/config weekly-digest``) gets, in its moderator log, what pmbot
did there in the week and the questions it could not answer most often.

Moderators look at ``/kb gaps`` and ``/kb stats`` when they think of it; a digest in the channel they already read
brings the gaps to them. The store records when a server's last digest went out (``Store.claim_digest``), so a
restart or a second process never sends one twice in a week. The Digest cog checks every hour; ``/config`` sends the
first at once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import discord

from bot import reports
from bot.discord import audit, kb_replies
from bot.store import Scope

if TYPE_CHECKING:
    from bot.discord.app import PMBot

log = logging.getLogger("pmbot.digest")

DIGEST_EVERY = timedelta(days=7)
DIGEST_GAPS = 5  # the gaps a digest lists; /kb gaps has the rest


async def send_if_due(bot: PMBot, guild: discord.Guild) -> bool:
    """Posts the server's digest if it asked for one, has a moderator log, and had none this week; True if it was
    due (an empty week is due, and sends nothing)."""
    store = bot.store
    if store is None or not bot.guild_settings.effective(guild.id).weekly_digest:
        return False
    channel = audit.mod_log_channel(bot, guild)
    if channel is None or not await store.claim_digest(guild.id, datetime.now(timezone.utc), DIGEST_EVERY):
        return False
    await bot.tally.flush(store)  # this process's latest replies count too, as in /kb stats
    days, scope = DIGEST_EVERY.days, Scope.guild(guild.id)
    usage = await reports.usage(store, days, scope)
    gaps = await reports.gaps(store, days, DIGEST_GAPS, scope, bot.service.matcher)
    reply = kb_replies.digest_reply(usage, gaps, bot.service.kb, days)
    if reply is not None:
        await audit.post(channel, "", reply)
        log.info("sent the weekly digest of server %s", guild.id)
    return True
