"""Replies counted in memory and added to the store in batches, for each server's ``/kb stats``.

A database write per reply would put one on every answer, the busiest path, which otherwise
writes nothing, to keep numbers a moderator reads now and then. So each process counts in
memory, by server, UTC day, kind and intent, and adds its counts to the store's every
:data:`FLUSH_EVERY_SECONDS` and when it shuts down; the store adds up every process's. A crash
loses at most that interval's counts. Replies in DMs are not counted: the numbers are each
server's own.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import date, datetime, timezone
from typing import Callable

from bot.store import ReplyCount, ReplyKind, Store

log = logging.getLogger(__name__)

FLUSH_EVERY_SECONDS = 60

Key = tuple[int, date, ReplyKind, str]


class ReplyTally:
    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self._clock = clock
        self._counts: Counter[Key] = Counter()

    def count(self, guild_id: int | None, kind: ReplyKind, intent_id: str | None) -> None:
        """One reply sent in a server; an answer is counted under its intent."""
        if guild_id is not None:
            self._counts[guild_id, self._clock().date(), kind, (intent_id or "") if kind == "answer" else ""] += 1

    async def flush(self, store: Store) -> None:
        """Adds the counts so far to the store's; kept for the next flush if the store cannot take them now."""
        counts, self._counts = self._counts, Counter()
        try:
            await store.add_reply_counts([ReplyCount(*key, n) for key, n in counts.items()])
        except Exception:  # noqa: BLE001 - a busy database must not lose the counts or stop the loop
            log.warning("could not add %d reply count(s) to the store; trying again later", len(counts), exc_info=True)
            self._counts.update(counts)
