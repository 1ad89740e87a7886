"""What the bot answered lately, so that it can take an answer back when its question is deleted, or edited into
one the bot would not answer."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Awaitable, Callable, Iterable

import discord
from cachetools import TTLCache

log = logging.getLogger("pmbot.questions")

Delete = Callable[[], Awaitable[None]]


class RecentAnswers:
    """A question's message id → how to delete the bot's answer to it (a reply, an interaction's response), for
    `window` after the answer.

    In memory rather than read back from the channel, as an edit's reply is: deletions are frequent where moderation
    bots purge spam, and each would cost a history request. A server's events all reach one process; after a
    restart, a moderator deletes the answer. `capacity` bounds the memory: far more than a process sends in the
    window.
    """

    def __init__(self, window: timedelta, capacity: int = 20_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._deletes: TTLCache[int, Delete] = TTLCache(capacity, window.total_seconds(), timer=clock)

    def remember(self, message_id: int, delete: Delete) -> None:
        self._deletes[message_id] = delete

    async def take_back(self, message_ids: Iterable[int]) -> None:
        """Deletes the answers to these messages that are still remembered; each is deleted once."""
        for message_id in message_ids:
            if (delete := self._deletes.pop(message_id, None)) is None:
                continue
            try:
                await delete()
            except discord.NotFound:
                pass  # deleted with its question (a purge), or by a moderator first
            except discord.HTTPException as error:
                log.info("could not delete the answer to message %s: %s", message_id, error)
