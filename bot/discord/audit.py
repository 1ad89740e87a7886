"""The audit trail: who changed what, in the moderator log channels and in the log.

A knowledge change (reload, upload, rollback, teach, an edit on disk) changes
every server's answers, so it goes to every server's moderator log. A
``/config`` change, a dismissed gap or a proposal concerns one server, so it goes
to that server's log only (and a proposal's notice, unquoted, to the host's).

A server's moderator log is the channel it set with ``/config mod-log``, else
PMBOT_MOD_LOG_CHANNEL, but only if that channel is *in* the server: the
host's default channel lives in one server, and another server's settings
changes must never be posted there. The weekly digest (bot.discord.cogs.digest)
is posted the same way.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from bot import limits
from bot.discord.permissions import missing_to_post
from bot.discord.render import LOG_CUT_SHORT, NO_PINGS, fitted, to_embed
from bot.replies import Reply

if TYPE_CHECKING:
    from bot.discord.app import PMBot

log = logging.getLogger("pmbot.audit")


def mod_log_channel(bot: PMBot, guild: discord.Guild) -> discord.abc.Messageable | None:
    """The server's moderator log channel, if it has one the bot can see in that server."""
    channel_id = bot.guild_settings.effective(guild.id).mod_log_channel
    if channel_id is None:
        return None
    channel = guild.get_channel_or_thread(channel_id)
    return channel if isinstance(channel, discord.abc.Messageable) else None


async def knowledge_changed(bot: PMBot, text: str, reply: Reply | None = None) -> None:
    """Logs a knowledge change and posts it to every server's moderator log (and the host's default one)."""
    log.info("knowledge change: %s", text)
    targets: dict[int, discord.abc.Messageable] = {}
    for guild in bot.guilds:
        channel = mod_log_channel(bot, guild)
        if channel is not None:
            targets[channel.id] = channel  # type: ignore[attr-defined]
    default = bot.settings.mod_log_channel_id
    if default is not None and default not in targets and bot.get_channel(default) is None:
        # Not in any server the bot has seen (yet): the host named it, so post there anyway.
        targets[default] = bot.get_partial_messageable(default)
    for channel in targets.values():
        await post(channel, text, reply)


async def server_changed(bot: PMBot, guild: discord.Guild, text: str) -> None:
    """Logs a change to one server's settings or records and posts it to that server's moderator log."""
    log.info("change in server %s: %s", guild.id, text)
    channel = mod_log_channel(bot, guild)
    if channel is not None:
        await post(channel, text)


async def proposal_made(bot: PMBot, guild: discord.Guild) -> None:
    """Tells pmbot's owners, in the host's moderator log (PMBOT_MOD_LOG_CHANNEL), that a server proposed a question.
    Not quoted: that channel's readers are not all owners."""
    default = bot.settings.mod_log_channel_id
    if default is None or guild.get_channel_or_thread(default) is not None:
        return  # no such channel, or it is this server's own, which heard of the proposal already
    await post(bot.get_partial_messageable(default),
                f"The moderators of {discord.utils.escape_markdown(guild.name)} proposed a question for pmbot's owners to teach: `/kb proposals`.")


async def post(channel: discord.abc.Messageable, text: str, reply: Reply | None = None) -> bool:
    """True once posted. Never raises: a missing permission in one log channel must not undo a change or stop the
    others. ``text`` empty: the embed alone."""
    channel_id = getattr(channel, "id", "?")
    if missing := missing_to_post(channel):
        log.warning("could not post to the moderator log channel %s: pmbot lacks %s there", channel_id, missing)
        return False
    content = limits.clip(text, limits.MESSAGE_CONTENT)
    try:
        # As text where pmbot lacks Embed Links: a log that keeps link previews out still hears of every change.
        sent = {"content": content or None, "embed": to_embed(reply) if reply else None}
        await channel.send(**fitted(sent, channel, LOG_CUT_SHORT), allowed_mentions=NO_PINGS)
    except discord.HTTPException as exc:
        log.warning("could not post to the moderator log channel %s: %s", channel_id, exc)
        return False
    return True
