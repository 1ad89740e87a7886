"""Shared fixtures: the shipped knowledge, loaded once, and helpers to write broken copies."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator, NoReturn

import numpy as np
import pytest
from filelock import FileLock

from bot.knowledge import KnowledgeBase, load_knowledge
from bot.matching import Matcher
from bot.matching.cache import IndexCache
from bot.matching.semantic import Embedder, ModelUnavailable, load_embedder
from bot.service import KnowledgeService
from tests.postgres_server import PostgresUnavailable, ThrowawayPostgres

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
# The team's shared folder sits beside the main checkout, or two levels up from a helper's worktree.
SHARED = next((p / "shared" for p in (ROOT.parent, ROOT.parent.parent) if (p / "shared").is_dir()), ROOT.parent / "shared")
# A topic the bundled knowledge does not cover, so adding it is a real change.
VALUE_STREAMS = """\
intents:
  - id: value-stream-mapping
    category: practice
    title: What is value stream mapping?
    source: general
    phrasings:
      - what is value stream mapping
      - value stream maps explained
      - how does value stream mapping work
    answer: Drawing every step from a request to its delivery, to see where work waits.
    follow_ups: []
"""
_SCRATCH_VAR = "PMBOT_TESTS_SCRATCH"


def new_intent(intent_id: str, subject: str) -> bytes:
    """A knowledge file with one intent answering "what are SUBJECT"."""
    phrasings = "".join(f"      - {p}\n" for p in (f"what are {subject}", f"explain {subject}", f"how do {subject} work"))
    return (
        f"intents:\n  - id: {intent_id}\n    category: practice\n    title: What are {subject}?\n"
        f"    source: general\n    phrasings:\n{phrasings}    answer: An answer.\n    follow_ups: []\n"
    ).encode()


def _scratch() -> Path:
    """The run's scratch folder, one for every process of the run, removed by the process that made it.

    Passed on in the environment because this file is imported twice in a run (as ``conftest`` by
    pytest and as ``tests.conftest`` by test modules), and pytest-xdist's workers inherit the
    environment of the process that starts them: all of them then read the one warm index cache.
    """
    if existing := os.environ.get(_SCRATCH_VAR):
        return Path(existing)
    folder = tempfile.mkdtemp(prefix="pmbot-tests-")
    os.environ[_SCRATCH_VAR] = folder
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return Path(folder)


SCRATCH = _scratch()
CACHE_DIR = SCRATCH / "cache"  # the run's index cache: warmed once, read by every matcher and bot
# Each xdist worker (gw0, gw1…) records its subprocesses' unanswered questions in a file of its own.
_DATABASE = SCRATCH / f"pmbot-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.sqlite3"


def clean_env(**overrides: str) -> dict[str, str]:
    """For a pmbot subprocess: the runner's environment minus any pmbot/Discord settings, plus ``overrides``.

    The console and CLI record unanswered questions and cache the index they build; by default both
    go to a throwaway folder, so a test run never writes into the checkout's data/ or ~/.cache.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMBOT_", "DISCORD_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["PYTHONUNBUFFERED"] = "1"
    env["PMBOT_DATABASE"] = str(_DATABASE)
    if "PMBOT_CACHE_DIR" not in overrides:
        env["PMBOT_CACHE_DIR"] = str(warm_cache_copy())  # never the user's own index cache
    env.update(overrides)
    return env


def warm_cache_copy() -> Path:
    """A new cache folder holding the run's warm entries, as hard links (instant, no space).

    Every process gets its own: the cache keeps only the newest entries of a kind, so processes
    indexing changed knowledge in one shared folder would soon push the shipped knowledge's out, and
    the next bot would embed every phrasing again. Writes replace files, so the warm ones stay intact.
    """
    folder = Path(tempfile.mkdtemp(prefix="cache-", dir=SCRATCH))
    # Every file: the .npz entries and the prepared model's folder (66 MB and 6 s of CPU each process would spend again).
    for entry in (e for e in CACHE_DIR.rglob("*") if e.is_file()):
        (folder / entry.parent.relative_to(CACHE_DIR)).mkdir(parents=True, exist_ok=True)
        os.link(entry, folder / entry.relative_to(CACHE_DIR))
    return folder


def warm_service(folder: Path) -> KnowledgeService:
    """The core serving `folder` from a copy of the run's warm cache: the shipped knowledge's index, or a copy's, is
    read in milliseconds instead of built (about 3 s of CPU each), exactly as a bot's second start reads it."""
    return KnowledgeService(folder, IndexCache(warm_cache_copy()))


def unavailable(required_by: str, reason: str) -> NoReturn:
    """Skips the test for want of a program, with the reason shown; fails it instead where the environment
    variable `required_by` is "required", as CI sets it, so that there a missing program cannot pass unseen."""
    if os.environ.get(required_by, "").lower() == "required":
        pytest.fail(f"{required_by}=required, but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres() -> Iterator[ThrowawayPostgres]:
    """One real PostgreSQL server for the whole run (tests take a fresh database each).

    Skipped, with the reason shown, when no server can be had here; CI sets
    PMBOT_TEST_POSTGRES=required, so there a missing server fails the run instead.
    """
    try:
        server = ThrowawayPostgres.start()
    except PostgresUnavailable as exc:
        unavailable("PMBOT_TEST_POSTGRES", f"no PostgreSQL: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres: ThrowawayPostgres) -> str:
    """A new, empty database on the session's server."""
    return postgres.new_database()


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge(KNOWLEDGE)


@pytest.fixture(scope="session")
def matcher(kb: KnowledgeBase) -> Matcher:
    return Matcher(kb, cache=IndexCache(CACHE_DIR))


def pytest_sessionstart(session: pytest.Session) -> None:
    """Embeds the shipped phrasings into the run's on-disk cache before any test runs (outside their timeout).

    On a fresh machine that takes the better part of a minute, once per run: under pytest-xdist the
    first worker to take the lock embeds while the other waits, then reads the vectors in milliseconds,
    as does every bot and CLI process a test starts. xdist's controller runs no tests and skips this.
    """
    if session.config.getoption("numprocesses", None) and not hasattr(session.config, "workerinput"):
        return
    with FileLock(str(SCRATCH / "cache.lock")):
        cache = IndexCache(CACHE_DIR)
        try:  # every core: the other worker waits for this, and nothing else runs yet
            embedder: Embedder | None = Embedder(None, cache, threads=os.cpu_count() or 1)
        except ModelUnavailable:
            embedder = None
        Matcher(load_knowledge(KNOWLEDGE), embedder=embedder, cache=cache)
    if embedder is not None:
        _SHIPPED_VECTORS.update(embedder._last)


_SHIPPED_VECTORS: dict[bytes, np.ndarray] = {}  # the shipped phrasings' vectors, by text digest


@pytest.fixture(autouse=True)
def _shipped_vectors_known() -> None:
    """Lets a test's matcher without a cache (``KnowledgeService(folder)``) reuse the shipped phrasings' vectors.

    The embedder remembers only the last set it embedded, so which test ran before would otherwise decide
    whether such a matcher takes milliseconds or embeds thousands of phrasings (minutes on a busy machine).
    """
    if (embedder := load_embedder(None, IndexCache(CACHE_DIR))) is not None:  # the model as the warm-up prepared it
        embedder._last = {**_SHIPPED_VECTORS, **embedder._last}


@pytest.fixture
def knowledge_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped knowledge, for tests that break or change it."""
    target = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, target)
    return target
