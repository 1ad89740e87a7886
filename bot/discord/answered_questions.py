"""The questions behind the bot's recent answers, so that a 👎 on an answer puts its question in the gaps list."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

import discord
from cachetools import TTLCache

from bot.store import UnansweredQuestion

#: How long after an answer a 👎 on it still names its question: members vote as they read, which in a quiet
#: channel can be hours later.
VOTE_WINDOW = timedelta(days=1)


@dataclass(slots=True)
class _Kept:
    question: UnansweredQuestion
    stored: bool = False  # a 👎 put it in the gaps list


class AnsweredQuestions:
    """An answer's key (:func:`answer_key`) → its question as the gap a 👎 makes of it, for `window` after the answer.

    In memory, because an answer writes nothing to the database (the busiest path) and few answers are voted on.
    A server's interactions all reach the process that answered it. After a restart an answer's question is read
    again from its message, or the question an `/ask` answer quotes (:func:`bot.discord.reading.read_again`).
    `capacity` bounds the memory: 5,000 questions of 80 characters take about 3 MB, of 4,000 (the longest message)
    28 MB (tracemalloc, 7 December 2026); past it, the least recently answered go first.
    """

    def __init__(
        self, window: timedelta = VOTE_WINDOW, capacity: int = 5_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._kept: TTLCache[int, _Kept] = TTLCache(capacity, window.total_seconds(), timer=clock)

    def remember(self, key: int, question: UnansweredQuestion | None) -> None:
        """`question` None: the answer no longer answers one (its question was edited into another kind of reply)."""
        if question is None:
            self._kept.pop(key, None)
        else:
            self._kept[key] = _Kept(question)

    def knows(self, answer: discord.Message) -> bool:
        return answer_key(answer) in self._kept

    def question(self, answer: discord.Message) -> UnansweredQuestion | None:
        """The answer's question, whether or not a 👎 stored it."""
        kept = self._kept.get(answer_key(answer))
        return kept.question if kept is not None else None

    def forget_person(self, user_id: int) -> None:
        """Drops the questions kept with this person's id (kept only where the host stores who asked): they asked
        for what names them to be deleted, and a 👎 later must not store it again."""
        for key in [key for key, kept in self._kept.items() if kept.question.user_id == user_id]:
            self._kept.pop(key, None)

    def take(self, answer: discord.Message) -> UnansweredQuestion | None:
        """The answer's question for its first 👎: a second 👎 on the same answer adds no second gap."""
        kept = self._kept.get(answer_key(answer))
        if kept is None or kept.stored:
            return None
        kept.stored = True  # in place: the answer's day is not restarted
        return kept.question

    def stored(self, answer: discord.Message) -> UnansweredQuestion | None:
        """The question a 👎 on the answer put in the gaps list, for a 👍 that may take it out again."""
        kept = self._kept.get(answer_key(answer))
        return kept.question if kept is not None and kept.stored else None

    def give_back(self, answer: discord.Message) -> None:
        """Its gap was withdrawn: the next 👎 on the answer stores it again."""
        if (kept := self._kept.get(answer_key(answer))) is not None:
            kept.stored = False


def answer_key(answer: discord.Message) -> int:
    """An interaction's response is known by the interaction's id, since sending it does not tell the bot the
    message's id; any other answer by its message id."""
    meta = answer.interaction_metadata
    return meta.id if meta is not None else answer.id
