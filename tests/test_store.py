"""The store against a real SQLite file and a real PostgreSQL server: restarts,
concurrency, votes, privacy, servers, migrations and a SIGKILLed writer.

Every behaviour test takes ``backend`` and runs once per database; what only
one of them has (SQLite's pragmas and file, PostgreSQL's concurrent start-ups)
is tested on that one. No mocks: what is tested is what ships."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import textwrap
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import asyncpg
import pytest

from bot.postgres_store import PG_MIGRATIONS, PostgresStore

from bot.store import (
    ANSWER_NOTE_LIMIT,
    EVERY_ANSWER,
    EVERYWHERE,
    MIGRATIONS,
    SCHEMA_VERSION,
    FeedbackSummary,
    GuildSettings,
    PersonalRecords,
    Purged,
    ReplyCount,
    SchemaTooNewError,
    Scope,
    SqliteStore,
    Store,
    StoreClosedError,
    UnansweredQuestion,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)

# Schema version 1 exactly as it shipped. Deliberately a copy, not an import:
# the migration test must notice if someone edits a released step.
V1_SCHEMA = """
CREATE TABLE unanswered_questions (
    id          INTEGER PRIMARY KEY,
    asked_at    TEXT    NOT NULL,
    guild_id    INTEGER,
    channel_id  INTEGER,
    user_id     INTEGER,
    text        TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('suggest', 'fallback')),
    best_intent TEXT,
    score       REAL    NOT NULL
);
CREATE INDEX unanswered_questions_asked_at ON unanswered_questions (asked_at);
PRAGMA user_version = 1;
"""


# Version 2 added the votes table; its rows have no guild_id.
V2_SCHEMA = V1_SCHEMA.replace("PRAGMA user_version = 1;", """
CREATE TABLE feedback_votes (
    message_id INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    intent_id  TEXT    NOT NULL,
    vote       INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    voted_at   TEXT    NOT NULL,
    PRIMARY KEY (message_id, user_id)
);
CREATE INDEX feedback_votes_voted_at ON feedback_votes (voted_at);
PRAGMA user_version = 2;
""")

GUILD_A, GUILD_B = 111, 222


def question(text: str = "what is a product owner", *, at: datetime = T0, user_id: int | None = 42,
             kind: str = "fallback", guild_id: int | None = GUILD_A, follows: str | None = None,
             message_id: int | None = None) -> UnansweredQuestion:
    return UnansweredQuestion(
        asked_at=at,
        guild_id=guild_id,
        channel_id=222,
        text=text,
        kind=kind,  # type: ignore[arg-type]
        best_intent="product-owner" if kind == "suggest" else None,
        score=61.5,
        user_id=user_id,
        follows=follows,
        message_id=message_id,
    )


def raw(db: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Reads the file with the stdlib driver, independent of the store."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "pmbot.sqlite3"


@dataclass
class Backend:
    """One database, either kind: ``make()`` builds a new store on it (as a restarted process would),
    ``count(sql)`` reads a number with a driver of its own, independent of the store."""

    name: str
    make: Callable[..., Any]
    count: Callable[[str], int]


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, db: Path) -> Backend:
    if request.param == "sqlite":
        return Backend("sqlite", lambda **kw: SqliteStore(db, **kw), lambda sql: int(raw(db, sql)[0][0]))  # type: ignore[arg-type]
    url = request.getfixturevalue("postgres_url")
    server = request.getfixturevalue("postgres")
    return Backend("postgres", lambda **kw: PostgresStore(url, **kw), lambda sql: int(server.sql(sql, url)))


# -- lifecycle and pragmas ---------------------------------------------------


async def test_both_stores_satisfy_protocol(backend: Backend) -> None:
    assert isinstance(backend.make(), Store)


async def test_open_sets_durability_pragmas_and_schema(db: Path) -> None:
    async with SqliteStore(db, busy_timeout_ms=1234) as store:
        conn = store._conn
        assert conn is not None
        pragmas = {
            name: (await conn.execute_fetchall(f"PRAGMA {name}"))[0][0]  # type: ignore[index]
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout", "user_version")
        }
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 1,  # NORMAL
        "foreign_keys": 1,
        "busy_timeout": 1234,
        "user_version": SCHEMA_VERSION,
    }
    assert raw(db, "PRAGMA journal_mode") == [("wal",)]  # persistent in the file


async def test_use_before_open_and_after_close_is_refused(backend: Backend) -> None:
    store = backend.make()
    with pytest.raises(StoreClosedError):
        await store.unanswered(EPOCH, EVERYWHERE)
    await store.open()
    await store.close()
    await store.close()  # twice is fine
    with pytest.raises(StoreClosedError):
        await store.record_unanswered(question())
    with pytest.raises(StoreClosedError):
        await store.record_vote(1, 2, "x", 1)


async def test_creates_missing_parent_directory(tmp_path: Path) -> None:
    path = tmp_path / "data" / "nested" / "pmbot.sqlite3"
    async with SqliteStore(path) as store:
        await store.record_unanswered(question())
    assert path.exists()


# -- restart -------------------------------------------------------------------


async def test_data_survives_close_and_reopen(backend: Backend) -> None:
    first = question("what is a product owner", at=T0, kind="fallback")
    second = question("and for project managers", at=T0 + timedelta(minutes=5), kind="suggest", follows="mvp")
    async with backend.make(store_user_ids=True) as store:
        await store.record_unanswered(first)
        await store.record_unanswered(second)
        await store.record_vote(message_id=10, user_id=1, intent_id="roadmap", vote=-1)

    # A new process would build a new store object from the same path.
    async with backend.make(store_user_ids=True) as reopened:
        assert await reopened.unanswered(EPOCH, EVERYWHERE) == [first, second]
        assert await reopened.feedback_summary(EPOCH, EVERYWHERE) == [FeedbackSummary("roadmap", up=0, down=1)]
        # And votes keep upserting across the restart.
        await reopened.record_vote(message_id=10, user_id=1, intent_id="roadmap", vote=1)
        assert await reopened.feedback_summary(EPOCH, EVERYWHERE) == [FeedbackSummary("roadmap", up=1, down=0)]


async def test_times_round_trip_as_utc_and_since_is_inclusive(backend: Backend) -> None:
    plus_two = timezone(timedelta(hours=2))
    local = datetime(2024, 5, 1, 14, 0, 0, 123456, tzinfo=plus_two)  # == T0 + 123456us
    async with backend.make() as store:
        await store.record_unanswered(question("old", at=T0 - timedelta(days=1)))
        await store.record_unanswered(question("local", at=local))
        await store.record_unanswered(question("new", at=T0 + timedelta(days=1)))
        recent = await store.unanswered(local, EVERYWHERE)
    assert [q.text for q in recent] == ["local", "new"]
    assert recent[0].asked_at == local
    assert recent[0].asked_at.tzinfo == timezone.utc
    assert recent[0].asked_at.microsecond == 123456


# -- concurrency -----------------------------------------------------------------


async def test_concurrent_writes_lose_nothing(backend: Backend) -> None:
    async with backend.make() as store:
        questions = [question(f"question {i}", at=T0 + timedelta(seconds=i)) for i in range(1000)]
        # 400 voters, each once, on 4 intents; odd users vote down.
        votes = [
            store.record_vote(message_id=1000 + u % 4, user_id=u, intent_id=f"intent-{u % 4}", vote=-1 if u % 2 else 1)
            for u in range(400)
        ]
        await asyncio.gather(*(store.record_unanswered(q) for q in questions), *votes)

        stored = await store.unanswered(EPOCH, EVERYWHERE)
        summary = await store.feedback_summary(EPOCH, EVERYWHERE)

    assert len(stored) == 1000
    assert {q.text for q in stored} == {f"question {i}" for i in range(1000)}
    # Intents 0 and 2 get even users (all up), 1 and 3 odd users (all down).
    assert sorted(summary, key=lambda s: s.intent_id) == [
        FeedbackSummary("intent-0", up=100, down=0),
        FeedbackSummary("intent-1", up=0, down=100),
        FeedbackSummary("intent-2", up=100, down=0),
        FeedbackSummary("intent-3", up=0, down=100),
    ]
    assert backend.count("SELECT COUNT(*) FROM unanswered_questions") == 1000
    assert backend.count("SELECT COUNT(*) FROM feedback_votes") == 400


async def test_two_stores_on_one_database_wait_for_each_other(backend: Backend) -> None:
    """Two stores (as two processes would have) write at once; neither loses a row."""
    async with backend.make() as a, backend.make() as b:
        await asyncio.gather(
            *(a.record_unanswered(question(f"a{i}")) for i in range(200)),
            *(b.record_unanswered(question(f"b{i}")) for i in range(200)),
        )
        assert len(await a.unanswered(EPOCH, EVERYWHERE)) == 400
        assert len(await b.unanswered(EPOCH, EVERYWHERE)) == 400


async def test_cancelled_writes_leave_the_connection_usable(backend: Backend) -> None:
    async with backend.make() as store:
        tasks = [asyncio.create_task(store.record_unanswered(question(f"q{i}"))) for i in range(50)]
        await asyncio.sleep(0)
        for task in tasks[::2]:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(r is None or isinstance(r, asyncio.CancelledError) for r in results)

        await store.record_unanswered(question("after"))  # no transaction left open to block or swallow it
        texts = [q.text for q in await store.unanswered(EPOCH, EVERYWHERE)]
    completed = sum(r is None for r in results)
    assert completed <= len(texts) - 1 <= 50
    # Not necessarily last: on PostgreSQL a shielded write may still be running on another pooled connection.
    assert "after" in texts
    assert len(set(texts)) == len(texts)


# -- feedback --------------------------------------------------------------------


async def test_second_vote_replaces_the_first(backend: Backend) -> None:
    async with backend.make() as store:
        await store.record_vote(message_id=1, user_id=7, intent_id="pm-vs-pjm", vote=1)
        await store.record_vote(message_id=1, user_id=7, intent_id="pm-vs-pjm", vote=-1)
        assert await store.feedback_summary(EPOCH, EVERYWHERE) == [FeedbackSummary("pm-vs-pjm", up=0, down=1)]

        await store.record_vote(message_id=1, user_id=8, intent_id="pm-vs-pjm", vote=1)  # another user
        await store.record_vote(message_id=2, user_id=7, intent_id="pm-vs-pjm", vote=1)  # another message
        [summary] = await store.feedback_summary(EPOCH, EVERYWHERE)
    assert (summary.up, summary.down, summary.total) == (2, 1, 3)
    assert summary.down_share == pytest.approx(1 / 3)
    assert backend.count("SELECT COUNT(*) FROM feedback_votes") == 3


async def test_feedback_summary_sorts_worst_first_and_honours_since(backend: Backend) -> None:
    now = [T0]
    async with backend.make(clock=lambda: now[0]) as store:
        await store.record_vote(900, 1, "ancient", -1)  # before the window
        now[0] = T0 + timedelta(days=1)
        message = iter(range(10_000))
        for intent, ups, downs in [("a", 1, 3), ("b", 0, 1), ("c", 0, 2), ("d", 5, 0)]:
            for vote, n in ((1, ups), (-1, downs)):
                for _ in range(n):
                    await store.record_vote(next(message), 1, intent, vote)
        summary = await store.feedback_summary(T0 + timedelta(hours=1), EVERYWHERE)
        everything = await store.feedback_summary(EPOCH, EVERYWHERE)

    assert [(s.intent_id, s.up, s.down) for s in summary] == [
        ("c", 0, 2),  # down_share 1.0, more downs
        ("b", 0, 1),  # down_share 1.0
        ("a", 1, 3),  # 0.75
        ("d", 5, 0),  # 0.0
    ]
    assert [s.down_share for s in summary] == [1.0, 1.0, 0.75, 0.0]
    assert {s.intent_id for s in everything} == {"a", "b", "c", "d", "ancient"}


async def test_feedback_summary_of_nothing(backend: Backend) -> None:
    async with backend.make() as store:
        assert await store.feedback_summary(EPOCH, EVERYWHERE) == []
    assert FeedbackSummary("x", 0, 0).down_share == 0.0


# -- privacy -----------------------------------------------------------------------


async def test_user_ids_are_dropped_by_default(backend: Backend) -> None:
    async with backend.make() as store:
        await store.record_unanswered(question(user_id=424242))
        [stored] = await store.unanswered(EPOCH, EVERYWHERE)
    assert stored.user_id is None
    assert backend.count("SELECT COUNT(*) FROM unanswered_questions WHERE user_id IS NULL") == 1


async def test_user_ids_are_kept_when_enabled(backend: Backend) -> None:
    async with backend.make(store_user_ids=True) as store:
        await store.record_unanswered(question(user_id=424242))
        [stored] = await store.unanswered(EPOCH, EVERYWHERE)
    assert stored.user_id == 424242
    assert backend.count("SELECT user_id FROM unanswered_questions") == 424242


# -- validation ------------------------------------------------------------------------


def test_question_validation() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        question(at=datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="kind"):
        question(kind="shrug")
    with pytest.raises(ValueError, match="finite"):
        UnansweredQuestion(T0, None, None, "q", "fallback", None, float("nan"))
    assert question(at=datetime(2024, 1, 1, 3, tzinfo=timezone(timedelta(hours=3)))).asked_at.hour == 0


async def test_vote_validation(backend: Backend) -> None:
    async with backend.make() as store:
        for bad in (0, 2, True):
            with pytest.raises(ValueError, match="vote"):
                await store.record_vote(1, 1, "x", bad)
        with pytest.raises(ValueError, match="intent_id"):
            await store.record_vote(1, 1, "", 1)
        with pytest.raises(ValueError, match="timezone-aware"):
            await store.unanswered(datetime(2024, 1, 1), EVERYWHERE)
        assert await store.feedback_summary(EPOCH, EVERYWHERE) == []


# -- migrations -----------------------------------------------------------------------


def _tables(db: Path) -> set[str]:
    return {name for (name,) in raw(db, "SELECT name FROM sqlite_master WHERE type = 'table'")}  # type: ignore[misc]


async def test_empty_file_is_migrated_to_current(db: Path) -> None:
    db.touch()  # zero bytes: a valid, empty SQLite database
    async with SqliteStore(db):
        pass
    assert raw(db, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert {"unanswered_questions", "feedback_votes"} <= _tables(db)


async def test_version_1_database_is_migrated_keeping_its_data(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.executescript(V1_SCHEMA)
    conn.execute(
        "INSERT INTO unanswered_questions (asked_at, guild_id, channel_id, user_id, text, kind, best_intent, score)"
        " VALUES ('2024-05-01T12:00:00.000000Z', 1, 2, NULL, 'legacy question', 'suggest', 'roadmap', 70.0)"
    )
    conn.commit()
    conn.close()
    assert "feedback_votes" not in _tables(db)

    async with SqliteStore(db) as store:
        [legacy] = await store.unanswered(EPOCH, EVERYWHERE)
        await store.record_vote(1, 1, "roadmap", -1)
        summary = await store.feedback_summary(EPOCH, EVERYWHERE)

    assert legacy == UnansweredQuestion(T0, 1, 2, "legacy question", "suggest", "roadmap", 70.0, None)
    assert summary == [FeedbackSummary("roadmap", 0, 1)]
    assert raw(db, "PRAGMA user_version") == [(SCHEMA_VERSION,)]


async def test_failed_migration_leaves_the_file_as_it_was(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.executescript(V1_SCHEMA)
    conn.execute("CREATE TABLE feedback_votes (squatter INTEGER)")  # step 2 will collide
    conn.commit()
    conn.close()

    with pytest.raises(sqlite3.OperationalError, match="already exists"):
        await SqliteStore(db).open()
    assert raw(db, "PRAGMA user_version") == [(1,)]
    assert raw(db, "SELECT name FROM sqlite_master WHERE name = 'feedback_votes_voted_at'") == []


async def test_database_from_newer_pmbot_is_refused(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE from_the_future (x)")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()

    store = SqliteStore(db)
    with pytest.raises(SchemaTooNewError, match="upgrade pmbot") as info:
        await store.open()
    assert (info.value.found, info.value.supported) == (SCHEMA_VERSION + 1, SCHEMA_VERSION)
    assert str(SCHEMA_VERSION + 1) in str(info.value)
    # Untouched: no tables added, journal mode not switched, store not open.
    assert raw(db, "PRAGMA user_version") == [(SCHEMA_VERSION + 1,)]
    assert _tables(db) == {"from_the_future"}
    assert raw(db, "PRAGMA journal_mode") == [("delete",)]
    with pytest.raises(StoreClosedError):
        await store.unanswered(EPOCH, EVERYWHERE)


# -- a question's message -----------------------------------------------------------


async def test_an_edited_question_replaces_its_row_and_a_deleted_one_goes(backend: Backend) -> None:
    async with backend.make() as store:
        await store.record_unanswered(question("what is a prodct owner", message_id=501))
        await store.record_unanswered(question("what is a po in safe", at=T0 + timedelta(minutes=1), message_id=502))
        await store.record_unanswered(question("asked with /ask"))
        await store.record_unanswered(question("asked with /ask"))  # no message: each ask is its own row
        # The member edits 501; the bot reads it again and still cannot answer it.
        await store.record_unanswered(question("what is a product owner role in safe", kind="suggest",
                                               at=T0 + timedelta(minutes=3), message_id=501))
        rows = await store.unanswered(EPOCH, EVERYWHERE)
        assert [(q.text, q.kind, q.message_id) for q in rows] == [
            ("what is a product owner role in safe", "suggest", 501),  # still at the time it was asked
            ("asked with /ask", "fallback", None),
            ("asked with /ask", "fallback", None),
            ("what is a po in safe", "fallback", 502),
        ]
        assert rows[0].asked_at == T0

        assert await store.forget_questions({502, 999}) == 1  # 999: a message that asked nothing we kept
        assert await store.forget_questions(()) == 0
        assert [q.message_id for q in await store.unanswered(EPOCH, EVERYWHERE)] == [501, None, None]
        assert await store.forget_questions([501]) == 1
    assert backend.count("SELECT COUNT(*) FROM unanswered_questions WHERE message_id IS NOT NULL") == 0
    assert backend.count("SELECT COUNT(*) FROM unanswered_questions") == 2


# -- many servers ---------------------------------------------------------------------


async def fill_two_servers_and_dms(store: Store) -> None:
    for message_id, (guild, tag) in enumerate(((GUILD_A, "a"), (GUILD_B, "b"), (None, "dm"))):
        await store.record_unanswered(question(f"{tag} question", guild_id=guild))
        await store.record_vote(message_id, 1, f"{tag}-intent", -1, guild_id=guild)


async def test_a_server_reads_only_its_own_questions_and_votes(backend: Backend) -> None:
    async with backend.make() as store:
        await fill_two_servers_and_dms(store)

        async def seen(scope: Scope) -> tuple[set[str], set[str]]:
            questions = {q.text for q in await store.unanswered(EPOCH, scope)}
            votes = {s.intent_id for s in await store.feedback_summary(EPOCH, scope)}
            return questions, votes

        assert await seen(Scope.guild(GUILD_A)) == ({"a question"}, {"a-intent"})
        assert await seen(Scope.guild(GUILD_B)) == ({"b question"}, {"b-intent"})
        # DMs only with the owners' scope, never a server's.
        assert await seen(Scope.guild(GUILD_B, direct_messages=True)) == (
            {"b question", "dm question"}, {"b-intent", "dm-intent"})
        assert await seen(Scope(frozenset(), direct_messages=True)) == ({"dm question"}, {"dm-intent"})
        assert await seen(Scope(None)) == ({"a question", "b question"}, {"a-intent", "b-intent"})
        assert await seen(EVERYWHERE) == (
            {"a question", "b question", "dm question"}, {"a-intent", "b-intent", "dm-intent"})
        assert await seen(Scope(frozenset())) == (set(), set())
        assert await seen(Scope(frozenset({GUILD_A, GUILD_B}))) == (
            {"a question", "b question"}, {"a-intent", "b-intent"})


async def test_a_dismissed_gap_leaves_that_scope_only_and_is_not_recorded_there_again(backend: Backend) -> None:
    async with backend.make() as store:
        for guild in (GUILD_A, GUILD_A, GUILD_B, None):
            await store.record_unanswered(question("lol what", guild_id=guild))
            await store.record_unanswered(question("what is a gantt chart", guild_id=guild))
        await store.record_unanswered(question("lol what?!", guild_id=GUILD_A))

        assert await store.dismiss_questions({"lol what", "lol what?!"}, Scope.guild(GUILD_A)) == 3
        assert await store.dismiss_questions((), Scope.guild(GUILD_A)) == 0
        assert await store.dismiss_questions({"lol what"}, Scope(frozenset())) == 0, "an empty scope deletes nothing"

        async def texts(scope: Scope) -> list[str]:
            return sorted(q.text for q in await store.unanswered(EPOCH, scope))

        assert await texts(Scope.guild(GUILD_A)) == ["what is a gantt chart"] * 2
        assert await texts(Scope.guild(GUILD_B)) == ["lol what", "what is a gantt chart"], "another server keeps its own"
        assert await texts(Scope(frozenset(), direct_messages=True)) == ["lol what", "what is a gantt chart"]
        assert await store.dismiss_questions({"lol what"}, Scope.guild(GUILD_B, direct_messages=True)) == 2
        assert await texts(EVERYWHERE) == ["what is a gantt chart"] * 4

        await store.record_unanswered(question("lol what", guild_id=GUILD_A, at=T0 + timedelta(days=1)))
        await store.record_unanswered(question("what is scope creep", guild_id=GUILD_A, message_id=801))
        await store.record_unanswered(question("lol what?!", guild_id=GUILD_A, message_id=801))  # edited into chat
        assert await texts(Scope.guild(GUILD_A)) == ["what is a gantt chart"] * 2, "dismissed words stay out"
        await store.dismiss_questions({"what is a gantt chart"}, Scope.guild(GUILD_B))
        await store.record_unanswered(question("what is a gantt chart", guild_id=GUILD_A, at=T0 + timedelta(days=1)))
        assert await texts(Scope.guild(GUILD_A)) == ["what is a gantt chart"] * 3, "dismissed in server B only"


async def test_a_proposal_marks_a_servers_questions_for_the_owners_until_withdrawn(backend: Backend) -> None:
    async with backend.make() as store:
        await store.record_unanswered(question("who owns the roadmap", guild_id=GUILD_A, message_id=701))
        await store.record_unanswered(question("who owns the roadmap?", guild_id=GUILD_A, at=T0 + timedelta(minutes=1)))
        await store.record_unanswered(question("who owns the roadmap", guild_id=GUILD_B))
        await store.record_unanswered(question("who owns the roadmap", guild_id=None))
        assert await store.proposals() == []

        texts = {"who owns the roadmap", "who owns the roadmap?"}
        assert await store.propose(texts, Scope.guild(GUILD_A), "roadmap-owner") == 2
        proposed = await store.proposals()
        assert [(q.guild_id, q.text, q.proposed_intent) for q in proposed] == [
            (GUILD_A, "who owns the roadmap", "roadmap-owner"), (GUILD_A, "who owns the roadmap?", "roadmap-owner")]
        assert [q.proposed_intent for q in await store.unanswered(EPOCH, Scope.guild(GUILD_B))] == [None]
        assert await store.propose(texts, Scope(frozenset(), direct_messages=True), "x") == 1  # a DM is no server's
        assert len(await store.proposals()) == 2, "the owners review servers' proposals; a DM they can teach at once"

        await store.record_unanswered(question("who owns the roadmap", guild_id=GUILD_A, message_id=701))
        assert len(await store.proposals()) == 2, "the same words read again keep their proposal"
        # An edit is a new question: its proposal goes. So does a deleted message's, with its row.
        await store.record_unanswered(question("who owns the backlog", guild_id=GUILD_A, message_id=701))
        assert [q.text for q in await store.proposals()] == ["who owns the roadmap?"]
        assert await store.propose(texts, Scope.guild(GUILD_A), None) == 1
        assert await store.proposals() == []


async def test_a_downvoted_answer_is_kept_as_a_gap_with_the_answer_it_was_given(backend: Backend) -> None:
    downvoted = replace(question("who owns the roadmap", user_id=None, message_id=702), kind="downvoted",
                        best_intent="roadmap")
    unanswered = question("what is a gantt chart", user_id=None)
    async with backend.make() as store:
        await store.record_unanswered(downvoted)
        await store.record_unanswered(unanswered)
        assert await store.unanswered(EPOCH, Scope.guild(GUILD_A)) == [downvoted, unanswered]
        assert await store.unanswered(EPOCH, Scope.guild(GUILD_B)) == []
        assert await store.forget_questions({702}) == 1, "its question deleted, it goes like any other"


async def test_reply_counts_add_up_across_processes_and_days_per_server(backend: Backend) -> None:
    day = T0.date()
    async with backend.make() as first, backend.make() as second:  # two shard processes on one database
        await first.add_reply_counts([ReplyCount(GUILD_A, day, "answer", "scrum", 2),
                                      ReplyCount(GUILD_A, day, "fallback", "", 1)])
        await second.add_reply_counts([ReplyCount(GUILD_A, day, "answer", "scrum", 3),
                                       ReplyCount(GUILD_A, day - timedelta(days=1), "answer", "scrum", 4),
                                       ReplyCount(GUILD_B, day, "suggest", "", 7)])
        await second.add_reply_counts([])

        assert await first.reply_totals(day - timedelta(days=1), Scope.guild(GUILD_A)) == Counter(
            {("answer", "scrum"): 9, ("fallback", ""): 1})
        assert await first.reply_totals(day, Scope.guild(GUILD_A)) == Counter({("answer", "scrum"): 5, ("fallback", ""): 1})
        assert await second.reply_totals(day, Scope.guild(GUILD_B)) == Counter({("suggest", ""): 7})
        assert await second.reply_totals(day, Scope(frozenset(), direct_messages=True)) == Counter()

        purged = await first.purge_before(datetime.combine(day, datetime.min.time(), timezone.utc) + timedelta(hours=5))
        assert purged.reply_counts == 1, "the day before the cutoff's goes; the cutoff's own day stays"
        assert (await first.forget_guild(GUILD_B)).reply_counts == 1
        assert await first.reply_totals(EPOCH.date(), Scope(None)) == Counter({("answer", "scrum"): 5, ("fallback", ""): 1})
        with pytest.raises((sqlite3.IntegrityError, asyncpg.CheckViolationError)):  # a count is never zero or negative: a tally only adds what it saw
            await first.add_reply_counts([ReplyCount(GUILD_A, day, "answer", "scrum", 0)])


async def test_a_servers_digest_is_claimed_once_a_week_by_one_process(backend: Backend) -> None:
    week = timedelta(days=7)
    async with backend.make() as first, backend.make() as second:  # two processes, as while shards move
        claims = await asyncio.gather(*(s.claim_digest(GUILD_A, T0, week) for s in (first, second, first, second)))
        assert sorted(claims) == [False, False, False, True]
        assert await second.claim_digest(GUILD_B, T0 + timedelta(hours=1), week), "each server has its own week"
        assert not await first.claim_digest(GUILD_A, T0 + week - timedelta(seconds=1), week)
        assert await second.claim_digest(GUILD_A, T0 + week, week)
        assert not await first.claim_digest(GUILD_A, T0 + week + timedelta(days=1), week), "counted from the last"


async def test_a_digest_that_could_not_be_posted_gives_its_week_back(backend: Backend) -> None:
    week = timedelta(days=7)
    async with backend.make() as store:
        assert await store.claim_digest(GUILD_A, T0, week) and await store.claim_digest(GUILD_B, T0, week)
        later = T0 + week + timedelta(hours=2)
        assert await store.claim_digest(GUILD_A, later, week)
        await store.release_digest(GUILD_A, later)
        assert await store.claim_digest(GUILD_A, later + timedelta(hours=1), week), "due again at the next check"
        await store.release_digest(GUILD_A, later)  # the claim taken back already: the newer one is not it
        await store.release_digest(GUILD_B, later)  # nor server B's
        assert not await store.claim_digest(GUILD_A, later + timedelta(hours=2), week), "the newer claim stands"
        assert not await store.claim_digest(GUILD_B, T0 + timedelta(hours=1), week), "another server's claim stands"


async def test_a_downvoted_gap_is_withdrawn_only_when_no_downvote_is_left_on_its_answer(backend: Backend) -> None:
    answer_id = 900
    mention = replace(question("who owns the roadmap", message_id=31), kind="downvoted", best_intent="roadmap")
    asked = replace(question("who owns the backlog", guild_id=None), kind="downvoted", best_intent="backlog")  # /ask, DM
    async with backend.make() as store:
        for gap in (mention, asked, replace(mention, message_id=32, asked_at=T0 + timedelta(seconds=1))):
            await store.record_unanswered(gap)
        await store.record_vote(answer_id, 1, "roadmap", -1, guild_id=GUILD_A)
        await store.record_vote(answer_id, 2, "roadmap", -1, guild_id=GUILD_A)
        await store.record_vote(answer_id, 1, "roadmap", 1, guild_id=GUILD_A)
        assert not await store.withdraw_downvoted(mention, answer_id), "member 2's 👎 still stands"
        await store.record_vote(answer_id, 2, "roadmap", 1, guild_id=GUILD_A)
        read_again = replace(mention, asked_at=T0 + timedelta(hours=3))  # after a restart, from its message
        assert await store.withdraw_downvoted(read_again, answer_id), "found by the message that asked"
        assert await store.withdraw_downvoted(asked, 901), "a DM's, no server to match"
        assert [(q.text, q.message_id) for q in await store.unanswered(EPOCH, EVERYWHERE)] == [
            ("who owns the roadmap", 32)], "the same words asked in another message stay"
        assert not await store.withdraw_downvoted(mention, answer_id), "gone already"


async def test_forgetting_a_person_deletes_what_names_them_everywhere_and_nothing_else(backend: Backend) -> None:
    async with backend.make(store_user_ids=True) as store:
        await fill_two_servers_and_dms(store)  # user 1 voted in both servers and a DM; user 42 asked each question
        await store.record_vote(7, 2, "a-intent", 1, guild_id=GUILD_A)
        await store.record_unanswered(question("someone else's", user_id=43))
        await store.record_unanswered(question("nobody's", user_id=None))
        voted = await store.personal_records(1)
        assert [(v.guild_id, v.intent_id, v.vote) for v in voted.votes] == [
            (GUILD_A, "a-intent", -1), (GUILD_B, "b-intent", -1), (None, "dm-intent", -1)] and voted.questions == ()
        assert all(v.voted_at.tzinfo is not None for v in voted.votes)
        asked = await store.personal_records(42)
        assert asked.votes == () and [q.text for q in asked.questions] == ["a question", "b question", "dm question"]

        assert await store.forget_person(1) == Purged(votes=3)
        assert await store.forget_person(42) == Purged(questions=3)
        assert await store.personal_records(1) == await store.personal_records(42) == PersonalRecords()
        assert {q.text for q in await store.unanswered(EPOCH, EVERYWHERE)} == {"someone else's", "nobody's"}
        assert [s.intent_id for s in await store.feedback_summary(EPOCH, EVERYWHERE)] == ["a-intent"]
        assert await store.forget_person(1) == Purged(), "twice: nothing left"


async def test_forget_guild_deletes_that_server_only(backend: Backend) -> None:
    async with backend.make() as store:
        await fill_two_servers_and_dms(store)
        await store.save_guild_settings(GuildSettings(GUILD_A, help_channels=frozenset({5})))
        await store.save_guild_settings(GuildSettings(GUILD_B, cooldown_rate=2))
        for guild in (GUILD_A, GUILD_B):
            assert await store.claim_digest(guild, T0, timedelta(days=7))
            await store.record_unanswered(question("lol", guild_id=guild))
            await store.dismiss_questions({"lol"}, Scope.guild(guild))

        purged = await store.forget_guild(GUILD_A)
        assert purged == Purged(questions=1, votes=1, settings=1, dismissed=1)
        assert {q.text for q in await store.unanswered(EPOCH, EVERYWHERE)} == {"b question", "dm question"}
        assert {s.intent_id for s in await store.feedback_summary(EPOCH, EVERYWHERE)} == {"b-intent", "dm-intent"}
        assert await store.all_guild_settings() == [GuildSettings(GUILD_B, cooldown_rate=2)]
        assert await store.forget_guild(GUILD_A) == Purged()  # twice: nothing left
    assert backend.count(f"SELECT COUNT(*) FROM unanswered_questions WHERE guild_id = {GUILD_A}") == 0
    assert backend.count(f"SELECT COUNT(*) FROM feedback_votes WHERE guild_id = {GUILD_A}") == 0
    assert backend.count("SELECT COUNT(*) FROM digests") == 1, "server B's last digest date stays"
    assert backend.count("SELECT COUNT(*) FROM dismissed_questions") == 1, "and what server B dismissed"


async def test_purge_before_deletes_old_questions_and_votes_only(backend: Backend) -> None:
    now = [T0 - timedelta(days=100)]
    async with backend.make(clock=lambda: now[0]) as store:
        await store.record_unanswered(question("old", at=T0 - timedelta(days=100)))
        await store.record_vote(1, 1, "old-vote", 1)
        await store.record_vote(3, 1, "revoted", 1)
        await store.record_unanswered(question("lol", at=T0 - timedelta(days=100)))
        await store.dismiss_questions({"lol"}, EVERYWHERE)
        now[0] = T0
        await store.record_unanswered(question("edge", at=T0 - timedelta(days=90)))
        await store.record_unanswered(question("new", at=T0))
        await store.record_vote(2, 1, "new-vote", -1)
        await store.record_vote(3, 1, "revoted", -1)  # changed recently: kept
        await store.save_guild_settings(GuildSettings(GUILD_A, mod_log_channel=9))

        purged = await store.purge_before(T0 - timedelta(days=90))
        assert purged == Purged(questions=1, votes=1, dismissed=1)
        await store.record_unanswered(question("lol", at=T0))  # a dismissal lasts as long as questions are kept
        assert [q.text for q in await store.unanswered(EPOCH, EVERYWHERE)] == ["edge", "new", "lol"]
        assert {s.intent_id for s in await store.feedback_summary(EPOCH, EVERYWHERE)} == {"new-vote", "revoted"}
        assert await store.all_guild_settings() == [GuildSettings(GUILD_A, mod_log_channel=9)]  # settings never expire
        assert await store.purge_before(T0 - timedelta(days=90)) == Purged()
        with pytest.raises(ValueError, match="timezone-aware"):
            await store.purge_before(datetime(2024, 1, 1))


async def test_guild_settings_survive_a_restart_and_clear(backend: Backend) -> None:
    a = GuildSettings(GUILD_A, help_channels=frozenset({10, 11}), moderator_roles=frozenset(),
                      mod_log_channel=12, cooldown_rate=3, cooldown_seconds=30, help_channel_suggestions=False,
                      help_channel_threads=True, weekly_digest=False,
                      answer_notes=(("what-is-a-pm", 'Ask in <#10>, "our" PM café ☕'), (EVERY_ANSWER, "More: <#11>")))
    b = GuildSettings(GUILD_B, help_channels=frozenset(), help_channel_suggestions=True,  # empty: a choice, not "unset"
                      help_channel_threads=False, weekly_digest=True)
    async with backend.make() as store:
        assert await store.all_guild_settings() == []
        await store.save_guild_settings(GuildSettings(GUILD_A, cooldown_rate=9))
        await store.save_guild_settings(a)  # replaces
        await store.save_guild_settings(b)
    async with backend.make() as reopened:
        assert await reopened.all_guild_settings() == [a, b]
        [stored_a, _] = await reopened.all_guild_settings()
        assert stored_a.notes_under("what-is-a-pm") == ('Ask in <#10>, "our" PM café ☕', "More: <#11>")
        await reopened.save_guild_settings(GuildSettings(GUILD_B))  # everything back to the defaults
        assert await reopened.all_guild_settings() == [a]
    assert backend.count(f"SELECT COUNT(*) FROM guild_settings WHERE guild_id = {GUILD_A}") == 1
    assert backend.count("SELECT COUNT(*) FROM guild_settings") == 1


def test_guild_settings_validation() -> None:
    with pytest.raises(ValueError, match="cooldown_rate"):
        GuildSettings(1, cooldown_rate=0)
    with pytest.raises(ValueError, match="cooldown_seconds"):
        GuildSettings(1, cooldown_seconds=0)
    with pytest.raises(ValueError, match="cooldown_seconds"):
        GuildSettings(1, cooldown_seconds=float("inf"))
    assert GuildSettings(1, help_channels=[3, 3, 4]).help_channels == frozenset({3, 4})  # type: ignore[arg-type]
    assert GuildSettings(1).is_empty and not GuildSettings(1, moderator_roles=frozenset()).is_empty
    for note in ("", "   ", "x" * (ANSWER_NOTE_LIMIT + 1)):
        with pytest.raises(ValueError, match="answer note"):
            GuildSettings(1, answer_notes=(("roadmap", note),))
    noted = GuildSettings(1, answer_notes=(("roadmap", "a"), (EVERY_ANSWER, "b")))
    assert noted.notes_under("roadmap") == ("a", "b") and noted.notes_under("okrs") == ("b",)
    assert GuildSettings(1, answer_notes=noted.with_note("roadmap", None)).notes_under("roadmap") == ("b",)
    assert GuildSettings(1, answer_notes=noted.with_note(EVERY_ANSWER, None)).notes_under("okrs") == ()


async def test_version_2_database_is_migrated_keeping_votes_as_owner_only(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.executescript(V2_SCHEMA)
    conn.execute("INSERT INTO feedback_votes VALUES (1, 2, 'roadmap', -1, '2024-05-01T12:00:00.000000Z')")
    conn.commit()
    conn.close()

    async with SqliteStore(db) as store:
        # A vote from before servers were told apart could be anyone's: owners only, like a DM.
        assert await store.feedback_summary(EPOCH, Scope.guild(GUILD_A)) == []
        assert await store.feedback_summary(EPOCH, Scope(frozenset(), True)) == [FeedbackSummary("roadmap", 0, 1)]
        await store.save_guild_settings(GuildSettings(GUILD_A, cooldown_rate=2))
    assert raw(db, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert "guild_settings" in _tables(db)


async def test_version_10_database_is_rebuilt_for_downvotes_keeping_rows_and_indexes(db: Path) -> None:
    conn = sqlite3.connect(db)
    for step in MIGRATIONS[:10]:
        for sql in step:
            conn.execute(sql)
    conn.execute(
        "INSERT INTO unanswered_questions (id, asked_at, guild_id, channel_id, text, kind, best_intent, score,"
        " original_text, message_id, proposed_intent) VALUES (5, '2024-05-01T12:00:00.000000Z', 111, 222,"
        " 'who owns the roadmap', 'suggest', 'roadmap', 61.5, 'Who owns the roadmap?', 701, 'roadmap')"
    )
    conn.execute("PRAGMA user_version = 10")
    conn.commit()
    conn.close()
    indexes = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'unanswered_questions'"
    before = set(raw(db, indexes))

    async with SqliteStore(db) as store:
        [kept] = await store.unanswered(EPOCH, EVERYWHERE)
        assert (kept.text, kept.original_text, kept.message_id, kept.proposed_intent) == (
            "who owns the roadmap", "Who owns the roadmap?", 701, "roadmap")
        await store.record_unanswered(replace(kept, text="who owns the backlog"))  # message 701 read again
        await store.record_unanswered(replace(question("what is a gantt chart"), kind="downvoted", best_intent="x"))
        assert [q.text for q in await store.unanswered(EPOCH, EVERYWHERE)] == [
            "who owns the backlog", "what is a gantt chart"]
    later = {(name, sql) for name, sql in raw(db, indexes) if name == "unanswered_questions_user"}  # step 13's
    assert set(raw(db, indexes)) == before | later and len(later) == 1
    assert raw(db, "SELECT id FROM unanswered_questions WHERE message_id = 701") == [(5,)]
    assert raw(db, "PRAGMA user_version") == [(SCHEMA_VERSION,)]


async def test_postgres_version_10_database_takes_downvotes(postgres: Any, postgres_url: str) -> None:
    async with PostgresStore(postgres_url) as store:
        await store.record_unanswered(question("who owns the roadmap"))
    postgres.sql("ALTER TABLE unanswered_questions DROP CONSTRAINT unanswered_questions_kind_check;"
                 " ALTER TABLE unanswered_questions ADD CONSTRAINT unanswered_questions_kind_check"
                 " CHECK (kind IN ('suggest', 'fallback')); DROP TABLE digests; DROP TABLE dismissed_questions;"
                 " ALTER TABLE guild_settings DROP COLUMN weekly_digest, DROP COLUMN answer_notes; DROP INDEX feedback_votes_user, unanswered_questions_user;"
                 " UPDATE pmbot_schema SET version = 10", postgres_url)
    async with PostgresStore(postgres_url) as store:
        await store.record_unanswered(replace(question("what is a gantt chart"), kind="downvoted", best_intent="x"))
        assert [q.kind for q in await store.unanswered(EPOCH, EVERYWHERE)] == ["fallback", "downvoted"]
    assert postgres.sql("SELECT version FROM pmbot_schema", postgres_url) == str(SCHEMA_VERSION)


# -- PostgreSQL's migrations ------------------------------------------------------------------


def _sqlite_columns(db: Path) -> dict[str, set[str]]:
    return {table: {row[1] for row in raw(db, f"PRAGMA table_info({table})")} for table in _tables(db)}  # type: ignore[misc]


def _postgres_columns(postgres: Any, url: str) -> dict[str, set[str]]:
    listing = postgres.sql(
        "SELECT table_name || '.' || column_name FROM information_schema.columns WHERE table_schema = 'public'", url
    )
    columns: dict[str, set[str]] = {}
    for line in listing.splitlines():
        table, column = line.split(".")
        columns.setdefault(table, set()).add(column)
    return columns


async def test_postgres_has_the_same_schema_as_sqlite(db: Path, postgres: Any, postgres_url: str) -> None:
    assert len(PG_MIGRATIONS) == len(MIGRATIONS) == SCHEMA_VERSION
    async with SqliteStore(db), PostgresStore(postgres_url):
        pass
    pg = _postgres_columns(postgres, postgres_url)
    assert pg.pop("pmbot_schema") == {"version"}  # PostgreSQL's user_version
    assert pg == _sqlite_columns(db)
    assert postgres.sql("SELECT version FROM pmbot_schema", postgres_url) == str(SCHEMA_VERSION)


async def test_postgres_processes_starting_together_migrate_once(postgres: Any, postgres_url: str) -> None:
    stores = [PostgresStore(postgres_url) for _ in range(6)]
    await asyncio.gather(*(s.open() for s in stores))
    try:
        await asyncio.gather(*(s.record_unanswered(question(f"from {i}")) for i, s in enumerate(stores)))
        assert len(await stores[0].unanswered(EPOCH, EVERYWHERE)) == 6
    finally:
        await asyncio.gather(*(s.close() for s in stores))
    assert postgres.sql("SELECT count(*) || ' ' || max(version) FROM pmbot_schema", postgres_url) == f"1 {SCHEMA_VERSION}"


async def test_postgres_database_from_newer_pmbot_is_refused(postgres: Any, postgres_url: str) -> None:
    postgres.sql(f"CREATE TABLE pmbot_schema (version INTEGER NOT NULL); INSERT INTO pmbot_schema VALUES ({SCHEMA_VERSION + 1})",
                 postgres_url)
    store = PostgresStore(postgres_url)
    with pytest.raises(SchemaTooNewError, match="upgrade pmbot"):
        await store.open()
    assert postgres.sql("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'", postgres_url) == "1"
    with pytest.raises(StoreClosedError):
        await store.unanswered(EPOCH, EVERYWHERE)


async def test_postgres_failed_migration_leaves_the_database_as_it_was(postgres: Any, postgres_url: str) -> None:
    async with PostgresStore(postgres_url):
        pass
    postgres.sql("DROP TABLE guild_settings; DROP INDEX feedback_votes_guild; DROP INDEX unanswered_questions_guild;"
                 " ALTER TABLE feedback_votes DROP COLUMN guild_id; UPDATE pmbot_schema SET version = 2;"
                 " CREATE TABLE guild_settings (squatter INTEGER)", postgres_url)  # step 3 will collide
    with pytest.raises(asyncpg.DuplicateTableError):
        await PostgresStore(postgres_url).open()
    assert postgres.sql("SELECT version FROM pmbot_schema", postgres_url) == "2"
    assert postgres.sql("SELECT count(*) FROM information_schema.columns WHERE column_name = 'guild_id'"
                        " AND table_name = 'feedback_votes'", postgres_url) == "0"


async def test_postgres_password_never_appears_in_errors(postgres: Any) -> None:
    url = postgres.url.replace("pmbot@", "pmbot:s3cret@").replace("/postgres", "/no_such_database")
    store = PostgresStore(url)
    with pytest.raises(Exception) as info:
        await store.open()
    assert "s3cret" not in str(info.value)
    with pytest.raises(StoreClosedError) as closed:
        await store.unanswered(EPOCH, EVERYWHERE)
    assert "s3cret" not in str(closed.value) and "***" in str(closed.value)


# -- crash safety -------------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from datetime import datetime, timezone
    from bot.store import SqliteStore, UnansweredQuestion

    async def writer(store, worker):
        i = 0
        while True:
            marker = f"w{worker}-{i}"
            await store.record_unanswered(UnansweredQuestion(
                asked_at=datetime.now(timezone.utc), guild_id=1, channel_id=2,
                text=marker, kind="fallback", best_intent=None, score=0.0))
            await store.record_vote(message_id=worker * 10**9 + i, user_id=7, intent_id=marker, vote=1)
            # Both writes returned, so both are committed: only now say so.
            sys.stdout.write(marker + "\\n")
            sys.stdout.flush()
            i += 1

    async def main():
        store = SqliteStore(sys.argv[1])
        await store.open()
        await asyncio.gather(*(writer(store, w) for w in range(4)))

    asyncio.run(main())
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
async def test_sigkilled_writer_loses_no_committed_row(tmp_path: Path, db: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(script), str(db),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    reported: list[str] = []
    try:
        while len(reported) < 60:
            line = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
            if not line:
                err = await proc.stderr.read()
                pytest.fail(f"writer exited early: {err.decode(errors='replace')}")
            reported.append(line.decode().strip())
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGKILL)
        await proc.wait()
    assert proc.returncode == -signal.SIGKILL

    # Whatever else reached the pipe before the kill was committed too; a
    # torn last line (no newline) was not yet reported.
    tail = (await proc.stdout.read()).decode()
    reported += [line for line in tail.split("\n")[:-1] if line]
    assert len(reported) >= 60

    assert raw(db, "PRAGMA integrity_check") == [("ok",)]
    texts = {t for (t,) in raw(db, "SELECT text FROM unanswered_questions")}
    voted = {t for (t,) in raw(db, "SELECT intent_id FROM feedback_votes")}
    assert set(reported) <= texts
    assert set(reported) <= voted

    async with SqliteStore(db) as store:  # and the bot can carry on
        assert {q.text for q in await store.unanswered(EPOCH, EVERYWHERE)} == texts
        await store.record_unanswered(question("after the crash"))
