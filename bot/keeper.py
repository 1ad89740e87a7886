"""The one path by which the served knowledge changes: /kb reload, upload, teach, rollback and the file watcher.

Every change validates the complete knowledge and builds its matcher before
anything is served (KnowledgeService swaps one reference), and one lock makes
changes that land together run one after the other: two moderators at once,
or an upload and the watcher noticing the file that upload just wrote. Each
then reports its own diff, and none can swap in knowledge older than what
another has just installed.

Nothing here touches Discord, so it lives beside the service; the blocking
parts (reading, parsing, indexing, writing files) run in a thread so the bot
keeps answering meanwhile.
"""

from __future__ import annotations

import asyncio

from bot.knowledge import KnowledgeDiff, KnowledgeError, Problem
from bot.knowledge.files import Backup, KnowledgeFiles
from bot.knowledge.teach import Lesson, plan
from bot.matching import Matcher
from bot.service import KnowledgeService


class KnowledgeKeeper:
    def __init__(self, service: KnowledgeService, *, keep: int, max_bytes: int) -> None:
        self.service = service
        self.files = KnowledgeFiles(service.path, keep, max_bytes)
        self._lock = asyncio.Lock()

    async def reload(self) -> KnowledgeDiff:
        """Re-reads the files and serves them; KnowledgeError (the old knowledge keeps serving) if broken."""
        async with self._lock:
            return self.service.swap(await self._check())

    async def reload_if_changed(self) -> KnowledgeDiff | None:
        """Like :meth:`reload`, but None when the files hold exactly what is served (e.g. an upload we wrote)."""
        async with self._lock:
            matcher = await self._check()
            if matcher.kb.sources == self.service.kb.sources:
                return None
            return self.service.swap(matcher)

    async def upload(self, name: str, data: bytes) -> tuple[Backup, KnowledgeDiff]:
        """Validates `data` as the file `name` together with the rest, then writes and serves it.

        The matcher is built from the validated text *before* the file is written, so a refusal
        (KnowledgeError) leaves the disk untouched and what is served is exactly what was checked.
        Returns what `/kb rollback` would undo (the replaced file, or a note that it is new) and what changed.
        """
        if not self.service.path.is_dir():
            raise KnowledgeError([Problem(name, 1, "uploads need PMBOT_KNOWLEDGE to be a folder, not a single file")])
        async with self._lock:
            text, kb = await asyncio.to_thread(self.files.check_upload, name, data)
            matcher = await asyncio.to_thread(Matcher, kb)
            backup = await asyncio.to_thread(self.files.install, name, text)
            return backup, self.service.swap(matcher)

    async def teach(self, question: str, intent_id: str) -> tuple[Lesson, Backup, KnowledgeDiff]:
        """Adds `question` as a phrasing of `intent_id` in that intent's file and serves it at once.

        Like :meth:`upload`: checked in full and indexed before the file is written, so a refusal
        (TeachRefused, KnowledgeError) changes nothing, and `/kb rollback` undoes it.
        """
        async with self._lock:
            lesson = await asyncio.to_thread(plan, self.files.folder, question, intent_id, self.service.kb)
            matcher = await asyncio.to_thread(Matcher, lesson.kb)
            backup = await asyncio.to_thread(self.files.install, lesson.file, lesson.text)
            return lesson, backup, self.service.swap(matcher)

    async def rollback(self) -> tuple[Backup, KnowledgeDiff]:
        """Restores the newest backup and serves the result.

        FileNotFoundError when there is nothing to roll back; KnowledgeError when the restored
        knowledge would be broken (the served knowledge does not change either way).
        """
        async with self._lock:
            backup = await asyncio.to_thread(self.files.rollback)
            return backup, self.service.swap(await self._check())

    async def _check(self) -> Matcher:
        return await asyncio.to_thread(self.service.check)
