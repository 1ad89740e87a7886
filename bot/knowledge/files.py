"""Changing knowledge files safely: validate first, write atomically, keep what was there.

Moderators upload files from Discord without shell access, so a bad upload
must change nothing, a good one must never leave a half-written file behind
(temp file + os.replace, as RoboDanny's config does), and the version it
replaced must be recoverable with one command.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from bot.knowledge.loader import KnowledgeError, Problem, load_knowledge
from bot.knowledge.model import KnowledgeBase

HISTORY_DIR = ".history"
_FILE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,60}\.ya?ml$")


NEW_FILE_SUFFIX = ".new"  # a history entry saying "this file did not exist before that upload"


@dataclass(frozen=True)
class Backup:
    name: str  # the knowledge file it belongs to
    path: Path
    taken_at: str

    @property
    def existed(self) -> bool:
        """False when the upload created the file: rolling it back removes the file."""
        return self.path.suffix != NEW_FILE_SUFFIX


class KnowledgeFiles:
    def __init__(self, folder: Path, keep: int = 5, max_bytes: int = 256_000) -> None:
        self.folder = folder
        self.keep = keep
        self.max_bytes = max_bytes
        self.history = folder / HISTORY_DIR

    def check_upload(self, name: str, data: bytes) -> tuple[str, KnowledgeBase]:
        """The upload's text and the knowledge it would give; KnowledgeError if it must be refused."""
        if not _FILE_NAME.match(name):
            raise KnowledgeError([Problem(name, 1, "file name must be lowercase letters, digits, '-' or '_', ending in .yaml")])
        if len(data) > self.max_bytes:
            raise KnowledgeError([Problem(name, 1, f"file is {len(data)} bytes; the limit is {self.max_bytes}")])
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise KnowledgeError([Problem(name, 1, f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) from exc
        return text, load_knowledge(self.folder, overrides={name: text})

    def install(self, name: str, text: str) -> Backup:
        """Backs up the current file (or notes that there was none) and atomically replaces it with `text`."""
        target = self.folder / name
        backup: Backup | None = None
        try:
            backup = self._backup(target)
            write_atomically(target, text)
        except OSError as exc:
            if backup is not None:
                backup.path.unlink(missing_ok=True)
            raise KnowledgeError([Problem(name, 1, cannot_write(exc))]) from exc
        self._prune(name)
        return backup

    def backups(self, name: str | None = None) -> list[Backup]:
        """Newest first."""
        if not self.history.is_dir():
            return []
        found = []
        for path in self.history.iterdir():
            stem, _, stamp = path.name.rpartition(".")[0].rpartition("@")
            if stem and (name is None or stem == name):
                found.append(Backup(stem, path, stamp))
        return sorted(found, key=lambda b: b.taken_at, reverse=True)

    def rollback(self) -> Backup:
        """Undoes the newest upload, restoring or removing its file, and drops it from the history."""
        backups = self.backups()
        if not backups:
            raise FileNotFoundError("there is no previous version to roll back to")
        newest = backups[0]
        target = self.folder / newest.name
        try:
            if newest.existed:
                text = newest.path.read_text(encoding="utf-8")
                load_knowledge(self.folder, overrides={newest.name: text})  # never restore into a broken state
                write_atomically(target, text)
            else:
                load_knowledge(self.folder, overrides={newest.name: None})
                target.unlink(missing_ok=True)
            newest.path.unlink()
        except OSError as exc:
            raise KnowledgeError([Problem(newest.name, 1, cannot_write(exc))]) from exc
        return newest

    def _backup(self, target: Path) -> Backup:
        self.history.mkdir(exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        if not target.exists():
            path = self.history / f"{target.name}@{stamp}{NEW_FILE_SUFFIX}"
            path.touch()
            return Backup(target.name, path, stamp)
        path = self.history / f"{target.name}@{stamp}.bak"
        write_atomically(path, target.read_text(encoding="utf-8"))
        return Backup(target.name, path, stamp)

    def _prune(self, name: str) -> None:
        for old in self.backups(name)[self.keep :]:
            old.path.unlink(missing_ok=True)


def cannot_write(exc: OSError) -> str:
    """Why a change could not be saved, without the server's paths (this text is shown on Discord)."""
    return (
        f"cannot write to the knowledge folder ({exc.strerror or type(exc).__name__}); nothing was changed. "
        "Give the bot write access to it (in Docker: a writable volume on /app/knowledge), or edit the files on disk."
    )


def write_atomically(target: Path, text: str) -> None:
    """`text` in `target` whole or not at all, with the file's permissions (mkstemp's own are 0600): a host who
    edits a bind-mounted folder as another user must still read a file pmbot replaced. A new file gets 0644."""
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, target.stat().st_mode & 0o7777 if target.exists() else 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
