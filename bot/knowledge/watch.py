"""Notices edits to the knowledge files and asks for a reload once they settle.

Polling file sizes and modification times is plain and dependable on every
filesystem, Docker volumes and network mounts included, and for a handful of
small files it costs nothing. An editor saving in several steps, or a
moderator saving three files in a row, triggers one reload, not several.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Awaitable, Callable

from bot.knowledge.loader import knowledge_files

log = logging.getLogger("pmbot.watch")

Snapshot = tuple[tuple[str, int, int], ...]


def snapshot(folder: Path) -> Snapshot:
    entries = []
    for path in knowledge_files(folder) if folder.exists() else []:
        try:
            stat = path.stat()
        except FileNotFoundError:  # removed between listing and stat
            continue
        entries.append((path.name, stat.st_mtime_ns, stat.st_size))
    return tuple(entries)


async def watch_knowledge(
    folder: Path,
    on_change: Callable[[], Awaitable[None]],
    settle: float = 1.0,
    poll: float | None = None,
    check_first: bool = False,
) -> None:
    """Runs until cancelled; calls `on_change` after the files changed and then stayed still for `settle` s.

    `check_first` also calls it once right after the first look, for edits made between
    loading the knowledge and starting to watch, which no later look would notice.
    """
    poll = poll or max(0.1, settle / 4)
    seen = snapshot(folder)
    if check_first:
        await _call(on_change)
    while True:
        await asyncio.sleep(poll)
        current = snapshot(folder)
        if current == seen:
            continue
        while True:  # debounce: wait until a whole settle period passes without further changes
            await asyncio.sleep(settle)
            latest = snapshot(folder)
            if latest == current:
                break
            current = latest
        seen = current
        await _call(on_change)


async def _call(on_change: Callable[[], Awaitable[None]]) -> None:
    try:
        await on_change()
    except Exception:  # the watcher must outlive any one failed reload
        log.exception("reloading the knowledge after a change on disk failed")
