"""Built indexes kept on disk, so a start on unchanged knowledge costs a file read, not a rebuild.

Entries are plain NumPy arrays in .npz files read with allow_pickle=False: a
cache file is data, never code, so a tampered one can at worst be refused.
The cache is only ever an optimisation: a file that cannot be read, written
or parsed is logged and the caller builds from scratch as if it were absent.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np
from filelock import FileLock

log = logging.getLogger("pmbot.cache")

KEEP_PER_KIND = 8  # older entries of a kind are removed: each knowledge edit makes a new key
KEEP_FOLDERS_PER_KIND = 2  # folder entries are large (the prepared model is 66 MB) and change only on upgrades
# How long a process waits for another to fill a folder entry (preparing the model takes ~6 s of CPU) before
# it carries on without the cache, as on a full disk: a lock left by a crash on a filesystem without real
# locks (filelock falls back to a lock file there) must not stop a start.
LOCK_TIMEOUT = 300.0
# Entries are readable by every user, not mkstemp's and mkdtemp's 0600 and 0700: a cache one user fills is read by
# another, as an image's (built by root) is by its runtime user through PMBOT_READONLY_CACHE_DIR.
SHARED_FILE, SHARED_FOLDER = 0o644, 0o755
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_KEY = re.compile(r"^[0-9a-f]{16,128}$")
_SOURCES = Path(__file__).resolve().parent


def code_version() -> str:
    """A hash of the matching code: an index built by other code is never loaded.

    Hashing the sources themselves, instead of a version number someone must remember
    to bump, means any edit to normalisation, scoring or training invalidates the cache.
    """
    digest = hashlib.sha256()
    for source in sorted(_SOURCES.glob("*.py")):
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()


def cache_key(*parts: str) -> str:
    """One hex sha256 of several strings, each length-prefixed so no two lists give the same key."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode()
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


class IndexCache:
    """Arrays by (kind, key) under one folder; `root=None` turns caching off.

    `read_only`: a cache filled beforehand (`pmbot warm-cache`, run when a container image is built), read where
    `root` lacks an entry and never written, touched or pruned, as Gradle's read-only dependency cache is. A new
    container then starts on the bundled knowledge in under a second, where an empty cache costs ~35 s of CPU and a
    ~650 MB peak; what it builds beyond (a teach, an edit) goes to `root`.
    """

    def __init__(self, root: Path | None, read_only: Path | None = None) -> None:
        self.root = root
        self.read_only = read_only

    def _path(self, kind: str, key: str) -> Path | None:
        """Where (kind, key) is written."""
        return None if self.root is None else _entry(self.root, kind, key)

    def _roots(self) -> list[Path]:
        """Where entries are read, in order: the written cache first."""
        return [root for root in (self.root, self.read_only) if root is not None]

    def _found(self, kind: str, key: str) -> Path | None:
        """The entry's file, written or read-only; None when neither cache holds it."""
        return next((path for root in self._roots() if (path := _entry(root, kind, key)).is_file()), None)

    def has(self, kind: str, key: str) -> bool:
        return self._found(kind, key) is not None

    def load(self, kind: str, key: str) -> dict[str, np.ndarray] | None:
        """The arrays saved under (kind, key), or None when absent or unreadable."""
        path = self._found(kind, key)
        if path is None or (arrays := _read(path)) is None:
            return None
        if path == self._path(kind, key):
            os.utime(path)  # recently used entries are the ones pruning keeps
        return arrays

    def newest(self, kind: str) -> dict[str, np.ndarray] | None:
        """The arrays of the entry of `kind` last saved or read, whatever its key: after an upgrade or an edit, what the
        process before built for nearly the same knowledge. None when there is none, or it cannot be read."""
        entries = []
        for root in self._roots():
            try:
                for path in _entry(root, kind, "0" * 16).parent.glob("*.npz"):
                    entries.append((path.stat().st_mtime_ns, path))
            except OSError:  # no such folder, or an entry pruned by another process meanwhile: what was listed will do
                pass
        return _read(max(entries)[1]) if entries else None

    def save(self, kind: str, key: str, arrays: dict[str, np.ndarray]) -> None:
        """Writes atomically (a reader sees the old entry or the whole new one); a refusing disk is logged, not raised."""
        path = self._path(kind, key)
        if path is None:
            return
        temp: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{key[:16]}.", suffix=".tmp")
            os.fchmod(fd, SHARED_FILE)
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, **arrays)
            os.replace(temp, path)
            temp = None
            self._prune(path.parent)
        except OSError as exc:
            log.warning("cannot write the index cache at %s (%s); carrying on without it (set PMBOT_CACHE_DIR "
                        "to a writable folder to start faster)", path.parent, exc)
        finally:
            if temp is not None:
                Path(temp).unlink(missing_ok=True)

    def folder(self, kind: str, key: str) -> Path | None:
        """Where the folder entry (kind, key) is or would be: files some library reads by path, not arrays.

        None when caching is off. The folder is complete when it exists: `save_folder` moves it in whole.
        """
        if found := next((entry for root in self._roots() if (entry := _entry(root, kind, key).with_suffix("")).is_dir()), None):
            return found
        path = self._path(kind, key)
        return None if path is None else path.with_suffix("")

    def save_folder(self, kind: str, key: str, write: Callable[[Path], None]) -> Path | None:
        """The folder entry filled by `write(empty folder)` and moved into place at once; None if the disk refuses.

        Processes sharing the cache fill an entry once: while one writes, the others wait for it
        and then use it. A fleet of shards starting on an empty cache (after an upgrade) prepares
        the model once instead of once per shard, each preparation peaking near 550 MB. The lock is
        the operating system's (filelock), so a process that dies holding it releases it.
        """
        if (path := self._path(kind, key)) is None:
            return None
        target = path.with_suffix("")
        temp: Path | None = None
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with FileLock(target.parent / f".{key[:16]}.lock", timeout=LOCK_TIMEOUT):
                if target.is_dir():  # written by another process while this one waited
                    return target
                temp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{key[:16]}.", suffix=".tmp"))
                temp.chmod(SHARED_FOLDER)
                write(temp)
                try:
                    temp.rename(target)
                    temp = None
                except OSError:
                    if not target.is_dir():  # else a writer that takes no lock (an older pmbot) came first
                        raise
            self._prune_folders(target.parent)
            return target
        except OSError as exc:
            log.warning("cannot write the index cache at %s (%s); carrying on without it (set PMBOT_CACHE_DIR "
                        "to a writable folder to start faster)", target.parent, exc)
            return None
        finally:
            if temp is not None:
                shutil.rmtree(temp, ignore_errors=True)

    def remove_folder(self, kind: str, key: str) -> None:
        """Drops a folder entry found damaged, so the next start writes it anew (a read-only cache's stays)."""
        if (path := self._path(kind, key)) is not None:
            shutil.rmtree(path.with_suffix(""), ignore_errors=True)

    @staticmethod
    def _prune_folders(parent: Path) -> None:
        entries = sorted((p for p in parent.iterdir() if p.is_dir() and not p.name.startswith(".")),
                         key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in entries[KEEP_FOLDERS_PER_KIND:]:
            shutil.rmtree(old, ignore_errors=True)

    @staticmethod
    def _prune(folder: Path) -> None:
        entries = sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in entries[KEEP_PER_KIND:]:
            old.unlink(missing_ok=True)


def _entry(root: Path, kind: str, key: str) -> Path:
    if not _NAME.match(kind) or not _KEY.match(key):
        raise ValueError(f"cache kind must be a short lowercase name and key a hex digest, got {kind!r}, {key!r}")
    return root / kind / f"{key}.npz"


def _read(path: Path) -> dict[str, np.ndarray] | None:
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {name: stored[name] for name in stored.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        log.warning("ignoring the unreadable cache file %s (%s); rebuilding", path, exc)
        return None


class Marks:
    """Keys remembered between starts under one kind of the cache (e.g. knowledge that passed its schema check)."""

    def __init__(self, cache: IndexCache, kind: str) -> None:
        self.cache = cache
        self.kind = kind

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.cache.has(self.kind, key)

    def add(self, key: str) -> None:
        self.cache.save(self.kind, key, {})


_SEPARATOR = b"\xff"  # a byte UTF-8 never uses


def pack_strings(strings: list[str]) -> np.ndarray:
    """Strings as one byte array: NumPy's fixed-width text arrays would pad every string to the longest."""
    return np.frombuffer(b"".join(_SEPARATOR + s.encode() for s in strings), dtype=np.uint8)


def unpack_strings(packed: np.ndarray) -> list[str]:
    return [part.decode() for part in packed.tobytes().split(_SEPARATOR)[1:]]
