"""What pmbot may do in a channel, read from the permissions discord.py keeps, before Discord is asked."""

from __future__ import annotations

from typing import Any

import discord

from bot.guild_settings import EffectiveSettings


def missing_to_post(channel: discord.abc.Messageable) -> str | None:
    """The permission, as Discord's settings name it, that pmbot lacks to post in a server's channel (without Embed
    Links its embeds go as text: see :func:`may_embed`); None when it has them all, or for a channel whose server
    this process does not hold (the host's default log, posted to blind). Only the first lacking: without View
    Channel, Discord denies Send Messages too.

    Checked before posting, because every refused request counts towards Discord's invalid request limit (10,000 in
    10 minutes, past which it locks the bot's address out for a while): help channels and moderator logs locked by
    mistake in many servers, posted to at every question or every hourly digest check, would add up."""
    if not isinstance(channel, discord.abc.GuildChannel | discord.Thread) or channel.guild.me is None:
        return None
    allowed = channel.permissions_for(channel.guild.me)
    if isinstance(channel, discord.Thread | discord.ForumChannel):
        # A forum's messages are all in its posts, which need Send Messages in Threads, not the channel's Send
        # Messages (a forum's Create Posts).
        needed = {"View Channel": allowed.view_channel, "Send Messages in Threads": allowed.send_messages_in_threads}
    else:
        needed = {"View Channel": allowed.view_channel, "Send Messages": allowed.send_messages}
    return next((name for name, ok in needed.items() if not ok), None)


def may_embed(channel: discord.abc.Messageable) -> bool:
    """Whether pmbot's messages may carry embeds in the channel (Embed Links); True in a DM and in a channel whose
    server this process does not hold. Without it Discord refuses a message of embeds alone, and servers deny it to
    everyone in chat channels to keep link previews out, so an answer goes there as text instead (render.fitted).
    discord.py takes Embed Links away with the right to post (Send Messages, in a thread Send Messages in Threads),
    which then says nothing of it: a help channel answered in threads may deny Send Messages, and its threads, which
    read their parent's overwrites, are read when pmbot posts in them. The moderator log's posts go as text too."""
    if not isinstance(channel, discord.abc.GuildChannel | discord.Thread) or channel.guild.me is None:
        return True
    allowed = channel.permissions_for(channel.guild.me)
    posts = allowed.send_messages_in_threads if isinstance(channel, discord.Thread) else allowed.send_messages
    return allowed.embed_links or not posts


def may_read_history(channel: object) -> bool:
    """Whether pmbot may read the channel's earlier messages (View Channel and Read Message History); True in a DM
    and in a channel whose server this process does not hold. Without it Discord returns an empty history, which
    would pass for "no earlier answer here", and refuses a message asked for by id, which counts towards the invalid
    request limit."""
    if not isinstance(channel, discord.abc.GuildChannel | discord.Thread) or channel.guild.me is None:
        return True
    allowed = channel.permissions_for(channel.guild.me)
    return allowed.view_channel and allowed.read_message_history


def addressed(message: discord.Message, kwargs: dict[str, Any]) -> dict[str, Any]:
    """A send's arguments as a reply to the message, where pmbot may read the channel's history: Discord refuses a
    reply without Read Message History. There, the message names its asker instead (pmbot's sends ping nobody), so
    that the channel still sees whom it answers."""
    if may_read_history(message.channel):
        return {**kwargs, "reference": message.to_reference(fail_if_not_exists=False), "mention_author": False}
    text = kwargs.get("content")
    return {**kwargs, "content": f"{message.author.mention} {text}" if text else message.author.mention}


def missing_to_answer(channel: discord.abc.Messageable, *, in_threads: bool) -> str | None:
    """As :func:`missing_to_post`, for answers: a help channel whose answers go in threads (``in_threads``, the
    server's setting) needs no Send Messages of its own, only leave to start threads and post in them."""
    if not (in_threads and isinstance(channel, discord.TextChannel)) or channel.guild.me is None:
        return missing_to_post(channel)
    allowed = channel.permissions_for(channel.guild.me)
    needed = {"View Channel": allowed.view_channel, "Create Public Threads": allowed.create_public_threads,
              "Send Messages in Threads": allowed.send_messages_in_threads}
    return next((name for name, ok in needed.items() if not ok), None)


def unanswerable_help_channels(guild: discord.Guild, here: EffectiveSettings) -> list[tuple[discord.abc.GuildChannel | discord.Thread, str]]:
    """The server's help channels pmbot may not answer in, by id, each with the first permission it lacks there (by
    the server's threads setting); a listed channel of another server, or one deleted, is not the server's to fix."""
    found = []
    for channel_id in sorted(here.help_channels):
        channel = guild.get_channel_or_thread(channel_id)
        if channel is not None and (missing := missing_to_answer(channel, in_threads=here.help_channel_threads)):
            found.append((channel, missing))
    return found
