"""What pmbot remembers between restarts: unanswered questions, feedback votes,
each server's settings, and how many replies it sent there.

The rest of the bot talks to the :class:`Store` protocol, never to SQLite, so a
server database can replace :class:`SqliteStore` later without touching the
front ends. SQLite is the default because a single file next to the bot needs
no operator and survives restarts, which is all one bot process needs.

Durability choices, and why:

* WAL journal: readers never block the writer and a crash never leaves a
  half-written page behind, the journal is replayed on the next open.
* ``synchronous=NORMAL``: in WAL mode a committed transaction survives a
  killed or crashed *process*; only a power loss or OS crash may drop the last
  few commits (the file stays consistent either way). Losing a few analytics
  rows on power loss is a fair price for not fsyncing on every click.
* One connection per store, every write under an :class:`asyncio.Lock` and in
  its own ``BEGIN IMMEDIATE ... COMMIT``: a write that returned is committed,
  and concurrent coroutines can never interleave statements of two
  transactions on the shared connection.
* ``busy_timeout``: another process (a backup, a second bot, an operator's
  ``sqlite3`` shell) holding the write lock makes us wait instead of failing.

The schema is owned by the store: ``PRAGMA user_version`` records how many
steps of :data:`MIGRATIONS` have been applied, opening an older file applies
the missing steps in one transaction, and a file written by a newer pmbot is
refused rather than silently misread.

Many servers share one store, so every read of questions or votes takes a
:class:`Scope` naming whose rows it may see: a server's moderators read their
own server only, and questions asked in DMs (``guild_id`` NULL) are shown only
to the bot's owners.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import TracebackType
from typing import Any, Callable, Collection, Final, Literal, Protocol, Self, Sequence, runtime_checkable

import aiosqlite

__all__ = [
    "ANSWER_NOTE_LIMIT",
    "EVERY_ANSWER",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "EVERYWHERE",
    "FeedbackSummary",
    "GuildSettings",
    "Purged",
    "QuestionKind",
    "ReplyCount",
    "ReplyKind",
    "SchemaTooNewError",
    "Scope",
    "SqliteStore",
    "Store",
    "StoreClosedError",
    "UnansweredQuestion",
]

log = logging.getLogger(__name__)

#: "downvoted": an answer a member voted 👎, its question a gap too (``best_intent`` is the answer given).
QuestionKind = Literal["suggest", "fallback", "downvoted"]
_KINDS: Final[frozenset[str]] = frozenset({"suggest", "fallback", "downvoted"})
ReplyKind = Literal["answer", "suggest", "fallback"]

#: Ordered schema steps. Step ``n`` (1-based) moves a database from
#: ``user_version = n - 1`` to ``n``. Append only: a released step must never
#: be edited, because databases in the field already ran it.
MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    # 1: questions the bot could not answer confidently.
    (
        """
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
        )
        """,
        "CREATE INDEX unanswered_questions_asked_at ON unanswered_questions (asked_at)",
    ),
    # 2: thumbs up / down on answers, one vote per user per message.
    (
        """
        CREATE TABLE feedback_votes (
            message_id INTEGER NOT NULL,
            user_id    INTEGER NOT NULL,
            intent_id  TEXT    NOT NULL,
            vote       INTEGER NOT NULL CHECK (vote IN (-1, 1)),
            voted_at   TEXT    NOT NULL,
            PRIMARY KEY (message_id, user_id)
        )
        """,
        "CREATE INDEX feedback_votes_voted_at ON feedback_votes (voted_at)",
    ),
    # 3: many servers. Votes remember their server (NULL: a DM, or cast before
    # this step), reads by server get indexes, and each server's settings a row.
    (
        "ALTER TABLE feedback_votes ADD COLUMN guild_id INTEGER",
        "CREATE INDEX unanswered_questions_guild ON unanswered_questions (guild_id, asked_at)",
        "CREATE INDEX feedback_votes_guild ON feedback_votes (guild_id, voted_at)",
        """
        CREATE TABLE guild_settings (
            guild_id         INTEGER PRIMARY KEY,
            help_channels    TEXT,
            moderator_roles  TEXT,
            mod_log_channel  INTEGER,
            cooldown_rate    INTEGER CHECK (cooldown_rate >= 1),
            cooldown_seconds REAL    CHECK (cooldown_seconds > 0),
            updated_at       TEXT    NOT NULL
        )
        """,
    ),
    # 4: the question as the user wrote it, so moderators read their words, not the
    # normalised text the matcher used. NULL in rows recorded before this step.
    ("ALTER TABLE unanswered_questions ADD COLUMN original_text TEXT",),
    # 5: the answer a follow-up followed ("what about project managers?" after the answer on product management's
    # demand): read alone, such a question says nothing of what it asks. NULL for a question asked on its own, and
    # in rows recorded before this step.
    ("ALTER TABLE unanswered_questions ADD COLUMN follows TEXT",),
    # 6: the Discord message a question was asked in, so that an edit replaces its row and a deletion removes it
    # (a member who deletes a message expects its words gone). NULL for /ask, the CLI, and rows from before this step.
    (
        "ALTER TABLE unanswered_questions ADD COLUMN message_id INTEGER",
        "CREATE UNIQUE INDEX unanswered_questions_message ON unanswered_questions (message_id)",
    ),
    # 7: whether a server's help channels hear "Did you mean…" (1) or only answers (0); NULL: the host's default.
    (
        "ALTER TABLE guild_settings ADD COLUMN help_channel_suggestions INTEGER"
        " CHECK (help_channel_suggestions IN (0, 1))",
    ),
    # 8: how many replies of each kind pmbot sent in a server each (UTC) day, answers by intent ('' for the
    # others): counts only, no question and no person, for /kb stats. DMs are not counted.
    (
        """
        CREATE TABLE reply_counts (
            guild_id  INTEGER NOT NULL,
            day       TEXT    NOT NULL,
            kind      TEXT    NOT NULL CHECK (kind IN ('answer', 'suggest', 'fallback')),
            intent_id TEXT    NOT NULL,
            count     INTEGER NOT NULL CHECK (count > 0),
            PRIMARY KEY (guild_id, day, kind, intent_id)
        )
        """,
        "CREATE INDEX reply_counts_day ON reply_counts (day)",
    ),
    # 9: the intent a server's moderator proposed for a question to pmbot's owners, who alone may teach it (the
    # moderator's choice to show them the question); NULL: not proposed. It goes with its question's row.
    (
        "ALTER TABLE unanswered_questions ADD COLUMN proposed_intent TEXT",
        "CREATE INDEX unanswered_questions_proposed ON unanswered_questions (proposed_intent)"
        " WHERE proposed_intent IS NOT NULL",
    ),
    # 10: whether a server's help channel answers go in a thread started on the question (1) or reply in the
    # channel (0); NULL: the host's default.
    ("ALTER TABLE guild_settings ADD COLUMN help_channel_threads INTEGER CHECK (help_channel_threads IN (0, 1))",),
    # 11: an answer a member voted 👎 is a gap too: kind 'downvoted', its best_intent the answer given. SQLite cannot
    # change a CHECK in place, so the table is rebuilt, its rows and ids copied and its indexes made again.
    (
        """
        CREATE TABLE unanswered_questions_11 (
            id              INTEGER PRIMARY KEY,
            asked_at        TEXT    NOT NULL,
            guild_id        INTEGER,
            channel_id      INTEGER,
            user_id         INTEGER,
            text            TEXT    NOT NULL,
            kind            TEXT    NOT NULL CHECK (kind IN ('suggest', 'fallback', 'downvoted')),
            best_intent     TEXT,
            score           REAL    NOT NULL,
            original_text   TEXT,
            follows         TEXT,
            message_id      INTEGER,
            proposed_intent TEXT
        )
        """,
        "INSERT INTO unanswered_questions_11 SELECT id, asked_at, guild_id, channel_id, user_id, text, kind,"
        " best_intent, score, original_text, follows, message_id, proposed_intent FROM unanswered_questions",
        "DROP TABLE unanswered_questions",
        "ALTER TABLE unanswered_questions_11 RENAME TO unanswered_questions",
        "CREATE INDEX unanswered_questions_asked_at ON unanswered_questions (asked_at)",
        "CREATE INDEX unanswered_questions_guild ON unanswered_questions (guild_id, asked_at)",
        "CREATE UNIQUE INDEX unanswered_questions_message ON unanswered_questions (message_id)",
        "CREATE INDEX unanswered_questions_proposed ON unanswered_questions (proposed_intent)"
        " WHERE proposed_intent IS NOT NULL",
    ),
    # 12: whether a server's moderator log gets a weekly digest (1) or not (0); NULL: the host's default. And when
    # each server's last digest went out, so that a restart, or another process, does not send it twice.
    (
        "ALTER TABLE guild_settings ADD COLUMN weekly_digest INTEGER CHECK (weekly_digest IN (0, 1))",
        "CREATE TABLE digests (guild_id INTEGER PRIMARY KEY, sent_at TEXT NOT NULL)",
    ),
    # 13: what names one person, found without reading every row: a member's /privacy, a host's forget-user.
    (
        "CREATE INDEX feedback_votes_user ON feedback_votes (user_id)",
        "CREATE INDEX unanswered_questions_user ON unanswered_questions (user_id) WHERE user_id IS NOT NULL",
    ),
    # 14: a server's own notes under answers (its channels, its resources), a JSON object from an intent id, or "*"
    # for every answer, to the note; NULL: none.
    ("ALTER TABLE guild_settings ADD COLUMN answer_notes TEXT",),
    # 15: the normalised questions a server's moderators dismissed from its gaps list (guild_id NULL: an owner's, from
    # the DMs), so that the same words asked there again are not recorded again; kept as long as questions are.
    (
        "CREATE TABLE dismissed_questions (guild_id INTEGER, text TEXT NOT NULL, dismissed_at TEXT NOT NULL)",
        "CREATE INDEX dismissed_questions_text ON dismissed_questions (text, guild_id)",
        "CREATE INDEX dismissed_questions_at ON dismissed_questions (dismissed_at)",
    ),
)

#: What a message's later reading of its question replaces (its time stays the message's, for retention). A
#: proposal was for the words before an edit: it is withdrawn when the words changed, and kept when the same words
#: are read again (a 👎 after a restart stores its gap again).
REREAD: Final[str] = (
    "text = excluded.text, kind = excluded.kind, best_intent = excluded.best_intent, score = excluded.score,"
    " original_text = excluded.original_text, follows = excluded.follows,"
    " proposed_intent = CASE WHEN unanswered_questions.text = excluded.text THEN unanswered_questions.proposed_intent END"
)

#: Longest original question kept: a Discord message can hold 4,000 characters; a gap report needs far fewer.
ORIGINAL_TEXT_LIMIT: Final[int] = 1000

#: The key of a server's note under every answer; any other key of ``GuildSettings.answer_notes`` is an intent id.
EVERY_ANSWER: Final[str] = "*"

#: Longest answer note: it is a field of the answer's embed (1,024 characters at most), under an answer that should
#: stay the larger part.
ANSWER_NOTE_LIMIT: Final[int] = 500

#: The schema version this code writes and understands.
SCHEMA_VERSION: Final[int] = len(MIGRATIONS)


class SchemaTooNewError(RuntimeError):
    """The database was written by a newer pmbot than the one running.

    Raised instead of opening the file, because older code could misread or
    damage tables it does not know about.
    """

    def __init__(self, path: str, found: int, supported: int) -> None:
        self.path = path
        self.found = found
        self.supported = supported
        super().__init__(
            f"database {path!r} has schema version {found}, but this pmbot only "
            f"supports up to version {supported}; upgrade pmbot to open it"
        )


class StoreClosedError(RuntimeError):
    """A store was used before :meth:`open` or after :meth:`close`."""


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _require_aware(value: datetime, name: str) -> datetime:
    """Returns ``value`` in UTC; naive datetimes are refused.

    A naive datetime is ambiguous (local time? UTC?), and guessing wrong would
    shift every report by the server's offset, so the caller must say.
    """
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got naive {value!r}")
    return value.astimezone(timezone.utc)


def _marks(count: int) -> str:
    """``count`` parameter marks for an ``IN (…)`` list: "?, ?, ?"."""
    return ", ".join("?" * count)


def _encode_time(value: datetime, name: str) -> str:
    """Fixed-width UTC ISO-8601, so text order equals time order in SQL."""
    utc = _require_aware(value, name).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds") + "Z"


def _decode_time(value: str) -> datetime:
    return datetime.fromisoformat(value.removesuffix("Z")).replace(tzinfo=timezone.utc)


@dataclass(frozen=True, slots=True)
class UnansweredQuestion:
    """A question the bot could only guess at ("suggest") or not answer ("fallback"), or whose answer a member voted
    👎 ("downvoted", ``best_intent`` the answer given).

    Kept so maintainers can see which questions the knowledge base is missing.
    ``text`` is the normalised question text (what near-duplicates are grouped by);
    ``original_text`` is what the user wrote (what moderators read), None in rows
    recorded before pmbot kept it, clipped to :data:`ORIGINAL_TEXT_LIMIT`. ``follows`` is
    the intent of the answer a follow-up replied to, None for a question asked on its own. ``message_id`` is the
    Discord message it was asked in: one row per message, the latest reading of an edited one. ``proposed_intent``
    is what the server's moderators proposed to pmbot's owners to teach it as. ``asked_at`` must be
    timezone-aware and is converted to UTC. ``user_id`` is only persisted by a
    store created with ``store_user_ids=True``; see :class:`SqliteStore`.
    """

    asked_at: datetime
    guild_id: int | None
    channel_id: int | None
    text: str
    kind: QuestionKind
    best_intent: str | None
    score: float
    user_id: int | None = None
    original_text: str | None = None
    follows: str | None = None
    message_id: int | None = None
    proposed_intent: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "asked_at", _require_aware(self.asked_at, "asked_at"))
        if self.original_text is not None:
            object.__setattr__(self, "original_text", self.original_text[:ORIGINAL_TEXT_LIMIT])
        if self.kind not in _KINDS:
            raise ValueError(f"kind must be one of {sorted(_KINDS)}, got {self.kind!r}")
        score = float(self.score)
        if not math.isfinite(score):
            raise ValueError(f"score must be finite, got {self.score!r}")
        object.__setattr__(self, "score", score)


@dataclass(frozen=True, slots=True)
class ReplyCount:
    """Replies of one kind that pmbot sent in one server on one UTC day; ``intent_id`` is the answer's intent, ""
    for "Did you mean…" and fallback replies. What /kb stats adds up: a count, never a question or a person."""

    guild_id: int
    day: date
    kind: ReplyKind
    intent_id: str
    count: int


@dataclass(frozen=True, slots=True)
class FeedbackSummary:
    """Votes on one intent's answers; a high ``down_share`` marks an answer to rewrite."""

    intent_id: str
    up: int
    down: int

    @property
    def total(self) -> int:
        return self.up + self.down

    @property
    def down_share(self) -> float:
        """Fraction of votes that were 👎, 0.0 when there are no votes."""
        return self.down / self.total if self.total else 0.0


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose questions and votes a reader may see.

    ``guild_ids`` names the servers (``None``: every server, for the host's
    CLI); ``direct_messages`` adds rows asked or voted in DMs, which only the
    bot's owners may read. ``Scope.guild(id)`` is what a server's moderators get.
    """

    guild_ids: frozenset[int] | None
    direct_messages: bool = False

    @classmethod
    def guild(cls, guild_id: int, *, direct_messages: bool = False) -> Scope:
        return cls(frozenset({guild_id}), direct_messages)


#: Every server and every DM: the host's own view (``python -m bot gaps``).
EVERYWHERE: Final[Scope] = Scope(None, direct_messages=True)


@dataclass(frozen=True, slots=True)
class GuildSettings:
    """What one server's moderators set with ``/config``.

    ``None`` means "not set here": the bot then uses its environment defaults
    (PMBOT_LISTEN_CHANNELS, PMBOT_MODERATOR_ROLES, PMBOT_MOD_LOG_CHANNEL,
    PMBOT_COOLDOWN_*, PMBOT_HELP_CHANNEL_SUGGESTIONS, PMBOT_HELP_CHANNEL_THREADS, PMBOT_WEEKLY_DIGEST), so a
    server that never ran ``/config`` behaves as before.
    An empty set is a choice ("no help channels"), unlike ``None``.

    ``answer_notes`` has no default: it is what the server adds under answers (a channel, a reading list of its
    own), as (topic, note) pairs in topic order, a topic being an intent id or :data:`EVERY_ANSWER`. A note on an
    intent the knowledge no longer has is kept, and shown nowhere, until it is back or removed.
    """

    guild_id: int
    help_channels: frozenset[int] | None = None
    moderator_roles: frozenset[int] | None = None
    mod_log_channel: int | None = None
    cooldown_rate: int | None = None
    cooldown_seconds: float | None = None
    help_channel_suggestions: bool | None = None
    help_channel_threads: bool | None = None
    weekly_digest: bool | None = None
    answer_notes: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        for name in ("help_channels", "moderator_roles"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, frozenset(int(v) for v in value))
        if self.cooldown_rate is not None and (isinstance(self.cooldown_rate, bool) or self.cooldown_rate < 1):
            raise ValueError(f"cooldown_rate must be a whole number >= 1, got {self.cooldown_rate!r}")
        if self.cooldown_seconds is not None:
            seconds = float(self.cooldown_seconds)
            if not (math.isfinite(seconds) and seconds > 0):
                raise ValueError(f"cooldown_seconds must be > 0, got {self.cooldown_seconds!r}")
            object.__setattr__(self, "cooldown_seconds", seconds)
        notes = dict(self.answer_notes)
        for topic, note in notes.items():
            if not topic or not note.strip() or len(note) > ANSWER_NOTE_LIMIT:
                raise ValueError(f"an answer note needs a topic and 1 to {ANSWER_NOTE_LIMIT} characters, got {topic!r}: "
                                 f"{len(note)} characters")
        object.__setattr__(self, "answer_notes", tuple(sorted(notes.items())))

    def notes_under(self, intent_id: str) -> tuple[str, ...]:
        """The notes an answer to ``intent_id`` carries in this server: its own, then the one under every answer."""
        notes = dict(self.answer_notes)
        return tuple(note for note in (notes.get(intent_id), notes.get(EVERY_ANSWER)) if note)

    def with_note(self, topic: str, note: str | None) -> tuple[tuple[str, str], ...]:
        """The server's notes with ``topic``'s set to ``note``, or removed (``None``)."""
        notes = dict(self.answer_notes)
        if note is None:
            notes.pop(topic, None)
        else:
            notes[topic] = note
        return tuple(notes.items())

    @property
    def is_empty(self) -> bool:
        """True when nothing is set, so the row can go."""
        return self == GuildSettings(self.guild_id)


@dataclass(frozen=True, slots=True)
class PersonalVote:
    """One 👍 (+1) or 👎 (-1) of a person's, on the answer that is message ``message_id`` (``guild_id`` None: a DM)."""

    message_id: int
    guild_id: int | None
    intent_id: str
    vote: int
    voted_at: datetime


@dataclass(frozen=True, slots=True)
class PersonalRecords:
    """What the store holds that names one person, across every server and DM: their 👍/👎 votes, and the questions
    recorded with their user id (only when the host stores them: PMBOT_STORE_USER_IDS). Oldest first."""

    votes: tuple[PersonalVote, ...] = ()
    questions: tuple[UnansweredQuestion, ...] = ()


@dataclass(frozen=True, slots=True)
class Purged:
    """How many rows a purge deleted, for the log."""

    questions: int = 0
    votes: int = 0
    settings: int = 0
    reply_counts: int = 0
    dismissed: int = 0  # questions dismissed from a gaps list

    @property
    def total(self) -> int:
        return self.questions + self.votes + self.settings + self.reply_counts + self.dismissed


@runtime_checkable
class Store(Protocol):
    """Everything pmbot persists. Implementations must be safe for concurrent coroutines."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    # Implementations subclass Store to inherit these two: `async with store:` opens and closes it.
    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def record_unanswered(self, q: UnansweredQuestion) -> None: ...

    async def unanswered(self, since: datetime, scope: Scope) -> list[UnansweredQuestion]: ...

    async def forget_questions(self, message_ids: Collection[int]) -> int: ...

    async def dismiss_questions(self, texts: Collection[str], scope: Scope) -> int: ...

    async def propose(self, texts: Collection[str], scope: Scope, intent_id: str | None) -> int: ...

    async def proposals(self) -> list[UnansweredQuestion]: ...

    async def record_vote(
        self, message_id: int, user_id: int, intent_id: str, vote: int, *, guild_id: int | None = None
    ) -> None: ...

    async def withdraw_downvoted(self, question: UnansweredQuestion, answer_id: int) -> bool: ...

    async def feedback_summary(self, since: datetime, scope: Scope) -> list[FeedbackSummary]: ...

    async def add_reply_counts(self, counts: Collection[ReplyCount]) -> None: ...

    async def reply_totals(self, since: date, scope: Scope) -> Counter[tuple[ReplyKind, str]]: ...

    async def all_guild_settings(self) -> list[GuildSettings]: ...

    async def save_guild_settings(self, settings: GuildSettings) -> None: ...

    async def claim_digest(self, guild_id: int, now: datetime, every: timedelta) -> bool: ...

    async def release_digest(self, guild_id: int, claimed_at: datetime) -> None: ...

    async def personal_records(self, user_id: int) -> PersonalRecords: ...

    async def forget_person(self, user_id: int) -> Purged: ...

    async def forget_guild(self, guild_id: int) -> Purged: ...

    async def purge_before(self, cutoff: datetime) -> Purged: ...


class SqliteStore(Store):
    """The :class:`Store` backed by one SQLite file, through aiosqlite.

    Privacy: an unanswered question's ``user_id`` is dropped (stored as NULL
    and read back as ``None``) unless the store is created with
    ``store_user_ids=True``. Finding knowledge gaps needs the questions, not
    who asked them, so by default nothing ties a logged question to a person.

    Feedback votes, however, always store the voter's user id: it is the only
    way to enforce one vote per user per message (a second click replaces the
    first instead of counting twice). ``store_user_ids`` does not apply there.

    ``clock`` supplies the vote timestamps; tests replace it.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        store_user_ids: bool = False,
        busy_timeout_ms: int = 5_000,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        if busy_timeout_ms < 0:
            raise ValueError("busy_timeout_ms must be >= 0")
        self._path = os.fspath(path)
        self._store_user_ids = store_user_ids
        self._busy_timeout_ms = int(busy_timeout_ms)
        self._clock = clock
        self._conn: aiosqlite.Connection | None = None
        # Serialises every use of the one connection: SQLite transactions are
        # per connection, so two coroutines must never interleave statements.
        self._lock = asyncio.Lock()

    @property
    def path(self) -> str:
        return self._path

    @property
    def store_user_ids(self) -> bool:
        return self._store_user_ids

    # -- lifecycle -----------------------------------------------------------

    async def open(self) -> None:
        """Connects, applies the durability pragmas and migrates the schema.

        Raises :class:`SchemaTooNewError` (leaving the file untouched) when
        the database comes from a newer pmbot.
        """
        if self._conn is not None:
            raise RuntimeError("store is already open")
        if self._path != ":memory:" and not self._path.startswith("file:"):
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: the store issues BEGIN/COMMIT itself, so the
        # sqlite3 module never opens implicit transactions behind our back.
        conn = await aiosqlite.connect(self._path, isolation_level=None)
        try:
            await conn.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            # Check before anything writes to the file (journal_mode=WAL does).
            found = await _user_version(conn)
            if found > SCHEMA_VERSION:
                raise SchemaTooNewError(self._path, found, SCHEMA_VERSION)
            rows = await conn.execute_fetchall("PRAGMA journal_mode = WAL")
            mode = str(next(iter(rows))[0]).lower()
            if mode != "wal" and self._path != ":memory:":
                log.warning("SQLite refused WAL mode for %s (got %r)", self._path, mode)
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            await self._migrate(conn)
        except BaseException:
            await conn.close()
            raise
        self._conn = conn

    async def close(self) -> None:
        """Waits for in-flight operations, then closes. Safe to call twice."""
        async with self._lock:
            conn, self._conn = self._conn, None
            if conn is None:
                return
            try:
                # Cheap, and keeps query plans good on a long-lived file.
                await conn.execute("PRAGMA optimize")
            finally:
                await conn.close()

    async def _migrate(self, conn: aiosqlite.Connection) -> None:
        """Brings the schema to :data:`SCHEMA_VERSION` in one transaction.

        The version is re-read under ``BEGIN IMMEDIATE`` so two processes
        opening the same old file cannot both run a step; DDL and
        ``user_version`` are transactional in SQLite, so a failed migration
        leaves the file exactly as it was.
        """
        if await _user_version(conn) == SCHEMA_VERSION:
            return
        await conn.execute("BEGIN IMMEDIATE")
        try:
            current = await _user_version(conn)
            if current > SCHEMA_VERSION:
                raise SchemaTooNewError(self._path, current, SCHEMA_VERSION)
            for number, steps in enumerate(MIGRATIONS[current:], start=current + 1):
                log.info("migrating %s to schema version %d", self._path, number)
                for sql in steps:
                    await conn.execute(sql)
            # PRAGMA cannot take a bound parameter; the value is our own int.
            await conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
            await conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            raise

    # -- plumbing ------------------------------------------------------------

    def _connection(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise StoreClosedError(f"store {self._path!r} is not open")
        return self._conn

    async def _write(self, sql: str, params: Sequence[Any]) -> None:
        """Runs one statement as its own committed transaction."""
        await self._write_all([(sql, params)])

    async def _write_all(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[int]:
        """Runs the statements in one committed transaction; returns each one's row count.

        Shielded: if the calling task is cancelled mid-write, the transaction
        still finishes (commit or rollback) instead of leaving the shared
        connection inside an open transaction.
        """
        self._connection()  # fail fast, before queueing behind the lock
        return await asyncio.shield(self._write_locked(statements))

    async def _write_locked(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[int]:
        async with self._lock:
            conn = self._connection()  # may have been closed while we waited
            await conn.execute("BEGIN IMMEDIATE")
            try:
                counts = []
                for sql, params in statements:
                    cursor = await conn.execute(sql, params)
                    counts.append(cursor.rowcount)
                await conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    await conn.execute("ROLLBACK")
                raise
            return counts

    async def _read(self, sql: str, params: Sequence[Any]) -> list[Any]:
        # Reads take the lock too, so they never see another coroutine's
        # transaction half way through on the shared connection.
        async with self._lock:
            return list(await self._connection().execute_fetchall(sql, params))

    # -- unanswered questions -------------------------------------------------

    async def record_unanswered(self, q: UnansweredQuestion) -> None:
        """Logs a question the bot could not answer; the user id only if enabled. A message's later reading (an
        edit) replaces its earlier one. Words the server's moderators dismissed are not logged, and a message edited
        into them loses its earlier reading."""
        user_id = q.user_id if self._store_user_ids else None
        dismissed = "EXISTS (SELECT 1 FROM dismissed_questions WHERE guild_id IS ? AND text = ?)"
        statements: list[tuple[str, Sequence[Any]]] = [(
            "INSERT INTO unanswered_questions (asked_at, guild_id, channel_id, user_id, text, kind, best_intent,"
            f" score, original_text, follows, message_id) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE NOT {dismissed}"
            f" ON CONFLICT (message_id) DO UPDATE SET {REREAD}",
            (_encode_time(q.asked_at, "asked_at"), q.guild_id, q.channel_id, user_id, q.text, q.kind, q.best_intent,
             q.score, q.original_text, q.follows, q.message_id, q.guild_id, q.text),
        )]
        if q.message_id is not None:
            statements.insert(0, (f"DELETE FROM unanswered_questions WHERE message_id = ? AND {dismissed}",
                                  (q.message_id, q.guild_id, q.text)))
        await self._write_all(statements)

    async def unanswered(self, since: datetime, scope: Scope) -> list[UnansweredQuestion]:
        """Questions asked at or after ``since`` (aware datetime) within ``scope``, oldest first."""
        where, params = _scope_sql(scope)
        rows = await self._read(
            f"SELECT {QUESTION_COLUMNS} FROM unanswered_questions WHERE asked_at >= ? AND {where} ORDER BY asked_at, id",
            (_encode_time(since, "since"), *params),
        )
        return [_question(row) for row in rows]

    async def forget_questions(self, message_ids: Collection[int]) -> int:
        """Deletes the questions asked in these messages, which their authors or moderators deleted."""
        if not message_ids:
            return 0
        ids = sorted(message_ids)
        (deleted,) = await self._write_all(
            [(f"DELETE FROM unanswered_questions WHERE message_id IN ({_marks(len(ids))})", ids)]
        )
        return deleted

    async def dismiss_questions(self, texts: Collection[str], scope: Scope) -> int:
        """Deletes the questions within ``scope`` whose normalised text is one of ``texts``, gaps a moderator took
        off the list as not pmbot's to answer, and keeps those texts, each for the server it was asked in, so that
        they are not logged there again."""
        if not texts:
            return 0
        where, params = _scope_sql(scope)
        wanted = sorted(texts)
        chosen = f"text IN ({_marks(len(wanted))}) AND {where}"
        _, deleted = await self._write_all([
            ("INSERT INTO dismissed_questions (guild_id, text, dismissed_at)"
             f" SELECT DISTINCT guild_id, text, ? FROM unanswered_questions WHERE {chosen}",
             [_encode_time(self._clock(), "clock()"), *wanted, *params]),
            (f"DELETE FROM unanswered_questions WHERE {chosen}", [*wanted, *params]),
        ])
        return deleted

    async def propose(self, texts: Collection[str], scope: Scope, intent_id: str | None) -> int:
        """Proposes the questions within ``scope`` whose normalised text is one of ``texts`` to pmbot's owners, to be
        taught as ``intent_id``; None withdraws the proposal (taught, or turned down)."""
        if not texts:
            return 0
        where, params = _scope_sql(scope)
        wanted = sorted(texts)
        (changed,) = await self._write_all([(
            f"UPDATE unanswered_questions SET proposed_intent = ? WHERE text IN ({_marks(len(wanted))})"
            f" AND {where}",
            [intent_id, *wanted, *params],
        )])
        return changed

    async def proposals(self) -> list[UnansweredQuestion]:
        """Every server's proposed questions, oldest first: the owners' review list, whichever server they are in."""
        rows = await self._read(
            f"SELECT {QUESTION_COLUMNS} FROM unanswered_questions WHERE proposed_intent IS NOT NULL"
            " AND guild_id IS NOT NULL ORDER BY asked_at, id",
            (),
        )
        return [_question(row) for row in rows]

    # -- feedback --------------------------------------------------------------

    async def record_vote(
        self, message_id: int, user_id: int, intent_id: str, vote: int, *, guild_id: int | None = None
    ) -> None:
        """Records a 👍 (+1) or 👎 (-1); a user's later vote on a message replaces the earlier one.

        The user id is stored because (message, user) is what makes a vote
        unique; without it a user could vote any number of times. ``guild_id``
        is the server the answer was posted in (``None`` in DMs), so each
        server's moderators see only their own server's votes.
        """
        if isinstance(vote, bool) or vote not in (1, -1):
            raise ValueError(f"vote must be +1 or -1, got {vote!r}")
        if not intent_id:
            raise ValueError("intent_id must not be empty")
        await self._write(
            "INSERT INTO feedback_votes (message_id, user_id, intent_id, vote, voted_at, guild_id)"
            " VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (message_id, user_id) DO UPDATE SET intent_id = excluded.intent_id,"
            " vote = excluded.vote, voted_at = excluded.voted_at, guild_id = excluded.guild_id",
            (message_id, user_id, intent_id, vote, _encode_time(self._clock(), "clock()"), guild_id),
        )

    async def withdraw_downvoted(self, question: UnansweredQuestion, answer_id: int) -> bool:
        """Deletes the gap a 👎 on the answer (message ``answer_id``) made of ``question``, unless a 👎 is still on that
        answer: True if it went. One statement, so a 👎 cast meanwhile is never overlooked. The gap is found by the
        message that asked, which has one row at most; an /ask question, which has none, by its text and time."""
        if question.message_id is not None:
            which, params = "message_id = ?", [question.message_id]
        else:
            which = "message_id IS NULL AND text = ? AND asked_at = ? AND guild_id IS ? AND channel_id IS ?"
            params = [question.text, _encode_time(question.asked_at, "asked_at"), question.guild_id,
                      question.channel_id]
        (deleted,) = await self._write_all([(
            f"DELETE FROM unanswered_questions WHERE kind = 'downvoted' AND {which}"
            " AND NOT EXISTS (SELECT 1 FROM feedback_votes WHERE message_id = ? AND vote = -1)",
            [*params, answer_id],
        )])
        return deleted > 0

    async def feedback_summary(self, since: datetime, scope: Scope) -> list[FeedbackSummary]:
        """Per-intent vote counts for votes cast (or last changed) at or after ``since``, within ``scope``.

        Worst answers first: sorted by ``down_share`` descending, then by
        ``down`` descending (ten 👎 outrank one), then by intent id for a
        stable order.
        """
        where, params = _scope_sql(scope)
        rows = await self._read(
            "SELECT intent_id, SUM(vote = 1), SUM(vote = -1) FROM feedback_votes"
            f" WHERE voted_at >= ? AND {where} GROUP BY intent_id",
            (_encode_time(since, "since"), *params),
        )
        summaries = [FeedbackSummary(intent_id, int(up), int(down)) for intent_id, up, down in rows]
        summaries.sort(key=lambda s: (-s.down_share, -s.down, s.intent_id))
        return summaries

    # -- reply counts ------------------------------------------------------------

    async def add_reply_counts(self, counts: Collection[ReplyCount]) -> None:
        """Adds each count to its server's, day's, kind's and intent's: several processes add to the same rows."""
        if not counts:
            return
        await self._write_all([
            ("INSERT INTO reply_counts (guild_id, day, kind, intent_id, count) VALUES (?, ?, ?, ?, ?)"
             " ON CONFLICT (guild_id, day, kind, intent_id) DO UPDATE SET count = reply_counts.count + excluded.count",
             (c.guild_id, c.day.isoformat(), c.kind, c.intent_id, c.count))
            for c in counts
        ])

    async def reply_totals(self, since: date, scope: Scope) -> Counter[tuple[ReplyKind, str]]:
        """Replies sent on ``since`` and after within ``scope``, by kind and intent."""
        where, params = _scope_sql(scope)
        rows = await self._read(
            f"SELECT kind, intent_id, SUM(count) FROM reply_counts WHERE day >= ? AND {where} GROUP BY kind, intent_id",
            (since.isoformat(), *params),
        )
        return Counter({(kind, intent_id): int(total) for kind, intent_id, total in rows})

    # -- servers -----------------------------------------------------------------

    async def all_guild_settings(self) -> list[GuildSettings]:
        """Every server's stored settings, by guild id; read once at start into the bot's cache."""
        rows = await self._read(
            "SELECT guild_id, help_channels, moderator_roles, mod_log_channel, cooldown_rate, cooldown_seconds,"
            " help_channel_suggestions, help_channel_threads, weekly_digest, answer_notes FROM guild_settings"
            " ORDER BY guild_id",
            (),
        )
        return [
            GuildSettings(guild_id, _decode_ids(help_channels), _decode_ids(roles), mod_log, rate, seconds,
                          _decode_flag(suggestions), _decode_flag(threads), _decode_flag(digest), decode_notes(notes))
            for guild_id, help_channels, roles, mod_log, rate, seconds, suggestions, threads, digest, notes in rows
        ]

    async def save_guild_settings(self, settings: GuildSettings) -> None:
        """Replaces a server's settings; settings with nothing set delete its row."""
        if settings.is_empty:
            await self._write("DELETE FROM guild_settings WHERE guild_id = ?", (settings.guild_id,))
            return
        await self._write(
            "INSERT INTO guild_settings (guild_id, help_channels, moderator_roles, mod_log_channel,"
            " cooldown_rate, cooldown_seconds, help_channel_suggestions, help_channel_threads, weekly_digest,"
            " answer_notes, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (guild_id) DO UPDATE SET help_channels = excluded.help_channels,"
            " moderator_roles = excluded.moderator_roles, mod_log_channel = excluded.mod_log_channel,"
            " cooldown_rate = excluded.cooldown_rate, cooldown_seconds = excluded.cooldown_seconds,"
            " help_channel_suggestions = excluded.help_channel_suggestions,"
            " help_channel_threads = excluded.help_channel_threads, weekly_digest = excluded.weekly_digest,"
            " answer_notes = excluded.answer_notes, updated_at = excluded.updated_at",
            (
                settings.guild_id,
                _encode_ids(settings.help_channels),
                _encode_ids(settings.moderator_roles),
                settings.mod_log_channel,
                settings.cooldown_rate,
                settings.cooldown_seconds,
                settings.help_channel_suggestions,
                settings.help_channel_threads,
                settings.weekly_digest,
                encode_notes(settings.answer_notes),
                _encode_time(self._clock(), "clock()"),
            ),
        )

    async def claim_digest(self, guild_id: int, now: datetime, every: timedelta) -> bool:
        """Records a digest for the server as sent at ``now``, unless one went out less than ``every`` before: True
        when this caller is the one to send it. One statement, so two processes never both claim it."""
        [claimed] = await self._write_all([(
            "INSERT INTO digests (guild_id, sent_at) VALUES (?, ?)"
            " ON CONFLICT (guild_id) DO UPDATE SET sent_at = excluded.sent_at WHERE digests.sent_at <= ?",
            (guild_id, _encode_time(now, "now"), _encode_time(now - every, "now")),
        )])
        return claimed == 1

    async def release_digest(self, guild_id: int, claimed_at: datetime) -> None:
        """Takes back the claim made at ``claimed_at`` when its digest could not be posted, so that the next check
        sends it. Deleting the row does: the claim replaced a digest date a week old or more, or none."""
        await self._write_all([(
            "DELETE FROM digests WHERE guild_id = ? AND sent_at = ?", (guild_id, _encode_time(claimed_at, "claimed_at")),
        )])

    async def personal_records(self, user_id: int) -> PersonalRecords:
        votes = await self._read(
            "SELECT message_id, guild_id, intent_id, vote, voted_at FROM feedback_votes WHERE user_id = ?"
            " ORDER BY voted_at, message_id", (user_id,),
        )
        questions = await self._read(
            f"SELECT {QUESTION_COLUMNS} FROM unanswered_questions WHERE user_id = ? ORDER BY asked_at, id", (user_id,)
        )
        return PersonalRecords(
            tuple(PersonalVote(*row[:4], _decode_time(row[4])) for row in votes), tuple(map(_question, questions))
        )

    async def forget_person(self, user_id: int) -> Purged:
        """Deletes the votes and questions that name the person, in every server and DM: a member's right to have
        what pmbot keeps about them erased, asked with /privacy forget or through the host. One transaction."""
        votes, questions = await self._write_all([
            ("DELETE FROM feedback_votes WHERE user_id = ?", (user_id,)),
            ("DELETE FROM unanswered_questions WHERE user_id = ?", (user_id,)),
        ])
        return Purged(questions=questions, votes=votes)

    async def forget_guild(self, guild_id: int) -> Purged:
        """Deletes everything stored about one server: its questions, votes, settings, reply counts, when its last
        digest went out and what its moderators dismissed.

        Called when the bot is removed from the server; one transaction, so a
        crash never leaves half a server behind.
        """
        questions, votes, settings, counts, _, dismissed = await self._write_all(
            [
                ("DELETE FROM unanswered_questions WHERE guild_id = ?", (guild_id,)),
                ("DELETE FROM feedback_votes WHERE guild_id = ?", (guild_id,)),
                ("DELETE FROM guild_settings WHERE guild_id = ?", (guild_id,)),
                ("DELETE FROM reply_counts WHERE guild_id = ?", (guild_id,)),
                ("DELETE FROM digests WHERE guild_id = ?", (guild_id,)),
                ("DELETE FROM dismissed_questions WHERE guild_id = ?", (guild_id,)),
            ]
        )
        return Purged(questions, votes, settings, counts, dismissed)

    async def purge_before(self, cutoff: datetime) -> Purged:
        """Deletes questions asked, votes cast (or last changed), replies counted and questions dismissed before
        ``cutoff``'s day and time: the retention limit."""
        at = _encode_time(cutoff, "cutoff")
        questions, votes, counts, dismissed = await self._write_all(
            [
                ("DELETE FROM unanswered_questions WHERE asked_at < ?", (at,)),
                ("DELETE FROM feedback_votes WHERE voted_at < ?", (at,)),
                ("DELETE FROM reply_counts WHERE day < ?", (cutoff.astimezone(timezone.utc).date().isoformat(),)),
                ("DELETE FROM dismissed_questions WHERE dismissed_at < ?", (at,)),
            ]
        )
        return Purged(questions, votes, reply_counts=counts, dismissed=dismissed)


QUESTION_COLUMNS: Final[str] = (
    "asked_at, guild_id, channel_id, text, kind, best_intent, score, user_id, original_text, follows, message_id,"
    " proposed_intent"
)


def _question(row: Sequence[Any]) -> UnansweredQuestion:
    """A row of :data:`QUESTION_COLUMNS`."""
    return UnansweredQuestion(_decode_time(row[0]), *row[1:])


def _scope_sql(scope: Scope) -> tuple[str, list[int]]:
    """An SQL condition on a ``guild_id`` column, with its parameters; an empty scope matches nothing."""
    parts: list[str] = []
    params: list[int] = []
    if scope.guild_ids is None:
        parts.append("guild_id IS NOT NULL")
    elif scope.guild_ids:
        parts.append(f"guild_id IN ({_marks(len(scope.guild_ids))})")
        params.extend(sorted(scope.guild_ids))
    if scope.direct_messages:
        parts.append("guild_id IS NULL")
    return ("(" + " OR ".join(parts) + ")" if parts else "0"), params


def _encode_ids(ids: frozenset[int] | None) -> str | None:
    """A JSON array in id order: readable in an operator's sqlite3 shell, and NULL stays "not set"."""
    return None if ids is None else json.dumps(sorted(ids))


def _decode_flag(raw: int | None) -> bool | None:
    """SQLite's 0/1 for a yes/no setting; NULL stays "not set"."""
    return None if raw is None else bool(raw)


def _decode_ids(raw: str | None) -> frozenset[int] | None:
    return None if raw is None else frozenset(int(v) for v in json.loads(raw))


def encode_notes(notes: tuple[tuple[str, str], ...]) -> str | None:
    """A server's answer notes as one JSON object by topic (both databases); NULL when it has none."""
    return json.dumps(dict(notes), ensure_ascii=False, sort_keys=True) if notes else None


def decode_notes(raw: str | None) -> tuple[tuple[str, str], ...]:
    return () if raw is None else tuple(json.loads(raw).items())


async def _user_version(conn: aiosqlite.Connection) -> int:
    rows = await conn.execute_fetchall("PRAGMA user_version")
    return int(next(iter(rows))[0])
