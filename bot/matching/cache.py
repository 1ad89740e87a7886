"""Arrays worth keeping between starts (phrasing embeddings), on disk, keyed by what they were built from.

A stand-in with the API agreed in PLAN.md (the "index" branch owns the full version):
the caller builds the key from the knowledge's content hash and the code or model
version, so a stale entry is never read, only left behind.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import numpy as np

log = logging.getLogger("pmbot.cache")


def default_cache_dir() -> Path:
    """$PMBOT_CACHE_DIR, else $XDG_CACHE_HOME/pmbot, else ~/.cache/pmbot."""
    if configured := os.environ.get("PMBOT_CACHE_DIR", "").strip():
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".cache") / "pmbot"


class IndexCache:
    def __init__(self, root: Path | None) -> None:
        self.root = root  # None: caching off

    def _path(self, kind: str, key: str) -> Path:
        assert self.root is not None
        return self.root / f"{kind}-{key}.npz"

    def load(self, kind: str, key: str) -> dict[str, np.ndarray] | None:
        if self.root is None:
            return None
        try:
            with np.load(self._path(kind, key), allow_pickle=False) as data:
                return {name: data[name] for name in data.files}
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:  # a torn or foreign file: rebuild rather than fail
            log.warning("ignoring unreadable cache file %s (%s)", self._path(kind, key), exc)
            return None

    def save(self, kind: str, key: str, arrays: dict[str, np.ndarray]) -> None:
        if self.root is None:
            return
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root, suffix=".tmp", delete=False) as handle:
                np.savez(handle, **arrays)
            os.replace(handle.name, self._path(kind, key))
        except OSError as exc:
            log.warning("could not write the cache in %s (%s); carrying on without it", self.root, exc)
