"""The one path by which the served knowledge changes: /kb reload, upload, teach, rollback and the file watcher.

Every change validates the complete knowledge and builds its matcher before
anything is served (KnowledgeService swaps one reference), and one lock makes
changes that land together run one after the other: two moderators at once,
or an upload and the watcher noticing the file that upload just wrote. Each
then reports its own diff, and none can swap in knowledge older than what
another has just installed.

Where several processes serve one bot, ``on_change`` hears of every change
made here (to tell the others), and :meth:`follow` is how a process takes
up a change another one announced, without announcing it again.

Nothing here touches Discord, so it lives beside the service; the blocking
parts (reading, parsing, indexing, writing files) run in a thread so the bot
keeps answering meanwhile.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Awaitable, Callable

from bot.knowledge import KnowledgeBase, KnowledgeDiff, KnowledgeError, Problem
from bot.background import in_background_thread
from bot.knowledge.files import Backup, KnowledgeFiles
from bot.knowledge.teach import Lesson, plan, refuse_shared_wording
from bot.matching import Matcher
from bot.service import KnowledgeService


@dataclass(frozen=True)
class Preview:
    """What an upload would change, checked and indexed as the upload would be, but neither written nor served."""

    replaces: bool  # a file of that name is there (else the upload adds one)
    diff: KnowledgeDiff
    matcher: Matcher  # the knowledge it would give, to read questions against


class KnowledgeKeeper:
    def __init__(
        self,
        service: KnowledgeService,
        *,
        keep: int,
        max_bytes: int,
        on_change: Callable[[KnowledgeBase], Awaitable[None]] | None = None,
    ) -> None:
        self.service = service
        self.files = KnowledgeFiles(service.path, keep, max_bytes)
        self.on_change = on_change
        self._lock = asyncio.Lock()

    async def reload(self) -> KnowledgeDiff:
        """Re-reads the files and serves them; KnowledgeError (the old knowledge keeps serving) if broken."""
        return await self.reload_if_changed() or KnowledgeDiff.between(self.service.kb, self.service.kb)

    async def reload_if_changed(self, *, announce: bool = True) -> KnowledgeDiff | None:
        """Like :meth:`reload`, but None when the files hold exactly what is served (e.g. an upload we wrote).

        The file hashes are compared before anything is parsed or built: the watcher's look at start,
        and every save that changes nothing, cost a read of the files, not a new matcher.
        """
        async with self._lock:
            if await self._unchanged():
                return None
            return await self._serve(await self._check(), announce=announce)

    async def follow(self) -> KnowledgeDiff | None:
        """Takes up a change another process announced: like :meth:`reload_if_changed`, but tells nobody."""
        return await self.reload_if_changed(announce=False)

    async def upload(self, name: str, data: bytes) -> tuple[Backup, KnowledgeDiff]:
        """Validates `data` as the file `name` together with the rest, then writes and serves it.

        The matcher is built from the validated text *before* the file is written, so a refusal
        (KnowledgeError) leaves the disk untouched and what is served is exactly what was checked.
        Returns what `/kb rollback` would undo (the replaced file, or a note that it is new) and what changed.
        """
        self._need_folder(name)
        async with self._lock:
            text, kb = await in_background_thread(self.files.check_upload, name, data)
            matcher = await in_background_thread(self.service.index, kb)
            backup = await asyncio.to_thread(self.files.install, name, text)  # a write is always finished
            return backup, await self._serve(matcher)

    async def preview(self, name: str, data: bytes) -> Preview:
        """What :meth:`upload` would change, with nothing written or served: an owner sees a change's effect on the
        questions people asked before members see the change. KnowledgeError as the upload would raise it."""
        self._need_folder(name)
        _, kb = await in_background_thread(self.files.check_upload, name, data)
        matcher = await in_background_thread(self.service.index, kb)
        return Preview((self.files.folder / name).is_file(), KnowledgeDiff.between(self.service.kb, kb), matcher)

    async def teach(self, question: str, intent_id: str) -> tuple[Lesson, Backup, KnowledgeDiff]:
        """Adds `question` as a phrasing of `intent_id` in that intent's file and serves it at once.

        Like :meth:`upload`: checked in full and indexed before the file is written, so a refusal
        (TeachRefused, KnowledgeError) changes nothing, and `/kb rollback` undoes it.
        """
        async with self._lock:
            lesson = await in_background_thread(plan, self.files.folder, question, intent_id, self.service.kb)
            await in_background_thread(refuse_shared_wording, lesson, self.service.cache)
            matcher = await in_background_thread(self.service.index, lesson.kb)
            backup = await asyncio.to_thread(self.files.install, lesson.file, lesson.text)
            return lesson, backup, await self._serve(matcher)

    async def rollback(self) -> tuple[Backup, KnowledgeDiff]:
        """Restores the newest backup and serves the result.

        FileNotFoundError when there is nothing to roll back; KnowledgeError when the restored
        knowledge would be broken (the served knowledge does not change either way).
        """
        async with self._lock:
            backup = await asyncio.to_thread(self.files.rollback)
            return backup, await self._serve(await self._check())

    def _need_folder(self, name: str) -> None:
        if not self.service.path.is_dir():
            raise KnowledgeError([Problem(name, 1, "uploads need PMBOT_KNOWLEDGE to be a folder, not a single file")])

    async def _serve(self, matcher: Matcher, *, announce: bool = True) -> KnowledgeDiff:
        diff = self.service.swap(matcher)
        if announce and self.on_change is not None:
            await self.on_change(matcher.kb)
        return diff

    async def _unchanged(self) -> bool:
        return await in_background_thread(self.service.unchanged)

    async def _check(self) -> Matcher:
        return await in_background_thread(self.service.check)  # a shutdown does not wait for it
