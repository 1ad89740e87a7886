"""The weekly digest: a server that asks for it (``/config weekly-digest``) gets, in its moderator log, what pmbot
did there in the week and the questions it could not answer most often.

Moderators look at ``/kb gaps`` and ``/kb stats`` when they think of it; a digest in the channel they already read
brings the gaps to them. The store records when a server's last digest went out (``Store.claim_digest``), so a
restart or a second process never sends one twice in a week. The Digest cog checks every hour; ``/config`` sends the
first at once.
"""

from __future__ import annotations

import enum
import logging
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import discord

from bot import reports
from bot.discord import audit, kb_replies
from bot.discord.permissions import missing_to_post, unanswerable_help_channels
from bot.replies import Reply
from bot.store import Scope

if TYPE_CHECKING:
    from bot.discord.app import PMBot

log = logging.getLogger("pmbot.digest")

DIGEST_EVERY = timedelta(days=7)
DIGEST_GAPS = 5  # the gaps a digest lists; /kb gaps has the rest


class Outcome(enum.Enum):
    NOT_DUE = "not due"  # off, no moderator log, or the week's digest went out already
    SENT = "sent"
    QUIET = "quiet"  # due, but the week had nothing to tell: nothing posted, and the next is a week away
    UNPOSTABLE = "unpostable"  # pmbot may not post in the log, or Discord refused: due again at the next check


async def send_if_due(bot: PMBot, guild: discord.Guild) -> Outcome:
    """Posts the server's digest if it asked for one, has a moderator log pmbot may post in, and had none this week.

    The week is claimed before the digest is composed, so that two processes never both compose it; a digest that
    could not be posted gives its claim back."""
    store = bot.store
    if store is None or not bot.guild_settings.effective(guild.id).weekly_digest:
        return Outcome.NOT_DUE
    channel = audit.mod_log_channel(bot, guild)
    if channel is None:
        return Outcome.NOT_DUE
    if missing_to_post(channel):
        return Outcome.UNPOSTABLE  # not claimed: sent at the first check after a moderator grants them
    now = datetime.now(timezone.utc)
    if not await store.claim_digest(guild.id, now, DIGEST_EVERY):
        return Outcome.NOT_DUE
    done = False
    try:
        reply = await _compose(bot, guild)
        done = reply is None or await audit.post(channel, "", reply)
    finally:
        if not done:
            await store.release_digest(guild.id, now)
    if reply is None:
        return Outcome.QUIET
    if not done:
        return Outcome.UNPOSTABLE
    log.info("sent the weekly digest of server %s", guild.id)
    return Outcome.SENT


async def _compose(bot: PMBot, guild: discord.Guild) -> Reply | None:
    """None: a week with no reply, no gap and no help channel pmbot may not answer in."""
    store = bot.store
    assert store is not None
    await bot.tally.flush(store)  # this process's latest replies count too, as in /kb stats
    days, scope = DIGEST_EVERY.days, Scope.guild(guild.id)
    usage = await reports.usage(store, days, scope)
    gaps = await reports.gaps(store, days, DIGEST_GAPS, scope, bot.service.matcher)
    unpostable = [f"<#{c.id}>: {missing}"
                  for c, missing in unanswerable_help_channels(guild, bot.guild_settings.effective(guild.id))]
    return kb_replies.digest_reply(usage, gaps, bot.service.kb, days, unpostable)
