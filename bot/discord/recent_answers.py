"""What the bot answered lately, so that it can take an answer back when its question is deleted, or edited into
one the bot would not answer."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Awaitable, Callable, Iterable

import discord
from cachetools import TTLCache

from bot.discord.permissions import may_read_history

log = logging.getLogger("pmbot.questions")

Delete = Callable[[], Awaitable[None]]


# A message deleted this recently whose answer was not yet sent still takes it back once sent: far longer than
# an answer takes to leave, and short, since most deleted messages were never asked of pmbot.
IN_FLIGHT = timedelta(minutes=1)


class RecentAnswers:
    """A question's message id → how to delete the bot's answer to it (a reply, an interaction's response), for
    `window` after the answer.

    In memory rather than read back from the channel, as an edit's reply is: deletions are frequent where moderation
    bots purge spam, and each would cost a history request. A server's events all reach one process; after a
    restart, a moderator deletes the answer. `capacity` bounds the memory: far more than a process sends in the
    window. A moderation bot deletes spam within moments, often while pmbot's answer is on its way: such a message
    is kept as gone for IN_FLIGHT, and its answer taken back as soon as it is sent.
    """

    def __init__(self, window: timedelta, capacity: int = 20_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._deletes: TTLCache[int, Delete] = TTLCache(capacity, window.total_seconds(), timer=clock)
        self._gone: TTLCache[int, bool] = TTLCache(capacity, IN_FLIGHT.total_seconds(), timer=clock)

    async def remember(self, message_id: int, delete: Delete) -> None:
        if self._gone.pop(message_id, False):  # deleted while its answer was being sent
            await _deleted(message_id, delete)
        else:
            self._deletes[message_id] = delete

    async def take_back(self, message_ids: Iterable[int], *, deleted: bool = False) -> None:
        """Deletes the answers to these messages that are still remembered; each is deleted once. `deleted`: the
        messages are gone (not edited into no question), so an answer to one still on its way goes once sent."""
        for message_id in message_ids:
            if (delete := self._deletes.pop(message_id, None)) is not None:
                await _deleted(message_id, delete)
            elif deleted:
                self._gone[message_id] = True


async def _deleted(message_id: int, delete: Delete) -> None:
    try:
        await delete()
    except discord.NotFound:
        pass  # deleted with its question (a purge), or by a moderator first
    except discord.HTTPException as error:
        log.info("could not delete the answer to message %s: %s", message_id, error)


async def take_back_in_thread(thread: discord.Thread | None, answer: discord.PartialMessage, *, lookback: int) -> None:
    """An answer pmbot gave in a thread it started on the question (a help channel's threads setting), taken back
    with the thread where pmbot may delete threads and nobody else wrote in it: emptied, a thread named after an
    answer to nothing would stay in the channel's thread list for days. Elsewhere the answer alone, as a reply goes:
    a member's words in the thread are theirs, and without Manage Threads Discord refuses (which counts towards its
    invalid request limit). `lookback`: a thread with this many messages is not read further, and kept."""
    if thread is not None and await _only_ours(thread, lookback):
        await thread.delete(reason="the question pmbot answered here was deleted, or edited into no question")
    else:
        await answer.delete()


async def _only_ours(thread: discord.Thread, lookback: int) -> bool:
    """Whether pmbot started the thread, may delete it, and wrote every message in it (Discord's copy of the question
    that started it aside). Without Read Message History, Discord's empty page would pass for an empty thread."""
    me = thread.guild.me
    if me is None or thread.owner_id != me.id:
        return False
    if not (thread.permissions_for(me).manage_threads and may_read_history(thread)):
        return False
    read = 0
    try:
        async for message in thread.history(limit=lookback):
            read += 1
            if message.author.id != me.id and message.type is not discord.MessageType.thread_starter_message:
                return False
    except discord.HTTPException as error:
        log.info("could not read thread %s to delete it: %s", thread.id, error)
        return False
    return read < lookback
