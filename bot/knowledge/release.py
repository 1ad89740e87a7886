"""A release's knowledge brought into a knowledge folder that began as a copy of an earlier release's.

A Docker volume on /app/knowledge is seeded with the image's bundled knowledge once, when it is created,
so a later image's knowledge (new phrasings, corrected answers) would never reach it. At each `pmbot run`,
each bundled file that nobody edited in the folder is replaced by this release's version, as dpkg upgrades a
configuration file: "nobody edited" means that the file is as pmbot last brought it there (recorded in
RECORD, in the folder), or, for a file it has no record of, as some release shipped it. A file edited here
(or rolled back with `/kb rollback`) is kept, and the log says that the release changed it too. A file the
folder lacks is left out (a moderator may have removed it), and one the release no longer ships stays, as
dpkg keeps an obsolete configuration file. The update is validated with the rest of the
folder first and refused whole if it would break it, and each replaced version is backed up, so
`/kb rollback` undoes it one file at a time.

`released.json` holds the sha256 of every committed version of every bundled file;
`bench/released_knowledge.py` writes it from the repository's history (`make released-knowledge`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from bot.knowledge.files import KnowledgeFiles, write_atomically
from bot.knowledge.loader import KnowledgeError, knowledge_files, load_knowledge

RELEASED = Path(__file__).with_name("released.json")
RECORD = ".pmbot-release.json"  # in the folder, from its first update on: each bundled file's sha256 as pmbot left it
LOCK_TIMEOUT = 60.0  # shards starting together: the first updates, the others then find nothing to do
log = logging.getLogger("pmbot.knowledge")


@dataclass(frozen=True)
class ReleaseUpdate:
    updated: tuple[str, ...]  # replaced by this release's version (the one before is backed up)
    kept: tuple[str, ...]  # edited here and changed by this release too: the folder's version stays


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def released_versions() -> dict[str, set[str]]:
    """Every bundled file's name, with the sha256 of each version of it ever committed."""
    return {name: set(digests) for name, digests in json.loads(RELEASED.read_text(encoding="utf-8")).items()}


def update_from_release(files: KnowledgeFiles, bundled: Path) -> ReleaseUpdate:
    """Brings `bundled`'s changes into `files`' folder where nobody edited the file; raises KnowledgeError (and
    changes nothing) when the folder with them would not validate or cannot be written."""
    updates, kept, _ = _changes(files.folder, bundled)
    if updates:  # a folder with nothing to update is not written to, not even a lock file
        with FileLock(files.folder / f"{RECORD}.lock", timeout=LOCK_TIMEOUT):
            updates, kept, record = _changes(files.folder, bundled)  # another shard may have brought them meanwhile
            load_knowledge(files.folder, overrides=updates)  # raises, naming the file and line, before any write
            _install_all(files, updates)
            try:
                write_atomically(files.folder / RECORD, json.dumps(record, indent=1, sort_keys=True) + "\n")
            except OSError as exc:  # the files are in; only a later rollback of them may be taken for no edit
                log.warning("cannot record this release's files in %s (%s)", files.folder, exc)
    return ReleaseUpdate(tuple(updates), tuple(kept))


def _install_all(files: KnowledgeFiles, texts: dict[str, str]) -> None:
    """Installs every file or none: a folder left with some of a release's files could fail to load at all."""
    installed = []
    try:
        for name, text in texts.items():
            installed.append(files.install(name, text))
    except KnowledgeError:
        for backup in reversed(installed):
            write_atomically(files.folder / backup.name, backup.path.read_text(encoding="utf-8"))
            backup.path.unlink()
        raise


def _changes(folder: Path, bundled: Path) -> tuple[dict[str, str], list[str], dict[str, str]]:
    """The release's text of each file nobody edited in the folder, the edited files the release changes, and the
    record once the release's texts are in."""
    released, record = released_versions(), _record(folder)
    updates: dict[str, str] = {}
    kept = []
    for source in knowledge_files(bundled):
        target = folder / source.name
        if not target.is_file():
            continue
        here, new = digest(target.read_bytes()), source.read_bytes()
        if here != (release := digest(new)):
            if not (record[source.name] == here if source.name in record else here in released.get(source.name, ())):
                kept.append(source.name)  # edited here
                continue
            updates[source.name] = new.decode("utf-8")
        record[source.name] = release
    return updates, kept, record


def _record(folder: Path) -> dict[str, str]:
    try:
        record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # none yet, or damaged: then released.json judges every file
        return {}
    return {k: v for k, v in record.items() if isinstance(k, str) and isinstance(v, str)} if isinstance(record, dict) else {}


def bring_release_knowledge(folder: Path, bundled: Path, keep: int) -> None:
    """`pmbot run`'s step before loading the knowledge: logs what changed, and never stops the start."""
    if not folder.is_dir() or folder.resolve() == bundled.resolve():
        return
    try:
        update = update_from_release(KnowledgeFiles(folder, keep), bundled)
    except (KnowledgeError, OSError, Timeout) as exc:
        problems = "; ".join(map(str, exc.problems)) if isinstance(exc, KnowledgeError) else str(exc)
        log.warning("this release's knowledge was not brought into %s, which is served as it was: %s. "
                    "Compare it with %s and copy over what you want (`pmbot preview FILE` shows what a file changes).",
                    folder, problems, bundled)
        return
    if update.updated:
        log.info("brought this release's version of %s into %s; the versions before are kept for /kb rollback",
                 ", ".join(update.updated), folder)
    if update.kept:
        log.info("kept %s in %s as edited there; this release changes %s too: `pmbot preview %s` shows how",
                 ", ".join(update.kept), folder, "them" if len(update.kept) > 1 else "it", bundled / update.kept[0])
